/**
 * Builds soapui/webhook-agent-soapui-project.xml, a SoapUI 5.x project, from the contract model (the schema model
 * node-soap loads from the rendered WSDLs, the one the serializer and request reader compile from): the Services88
 * Webhook and SoPrincipal interfaces as SoapUI imports them from our ?wsdl (the WSDL kept in the definition cache,
 * one operation per WSDL operation with a sample request whose body SoapUI-style `?` placeholders come from the
 * schema), and a TestSuite that logs in, moves the ticket into a project property and runs a webhook's life.
 *
 * Written by scripts/gen-soapui.ts; test/integration/soapui-project.test.ts fails when the file differs from this
 * output and runs the TestSuite against the started service. Ids are derived from names so regeneration is stable.
 */
import { createHash } from 'node:crypto';
import { ARRAYS, contractFor, setWsdlAddress, type Contract } from '../src/contract/index.js';
import { loadWsdlContract, type OperationInfo, type WsdlContract } from '../src/soap/wsdl-contract.js';
import type { Field } from '../src/soap/schema-model.js';

export const SOAPUI_PROJECT_FILE = 'soapui/webhook-agent-soapui-project.xml';
export const SOAPUI_VERSION = '5.7.2';
/** Where SoapUI would have imported the WSDLs from; requests use ${#Project#endpoint} instead. */
export const DEFINITION_BASE = 'http://localhost:8080';
export const TEST_SUITE = 'Webhook agent';
export const TEST_CASE = 'Webhook lifecycle';
export const WEBHOOK_NAME = 'SoapUI smoke test';

const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

const id = (...parts: string[]) => {
  const h = createHash('sha1').update(parts.join('/')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};
const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
const text = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cdata = (s: string) => `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;

interface Service {
  name: 'Webhook' | 'SoPrincipal';
  contract: Contract;
  iface: string;
  path: string;
}

const services: Service[] = (['Webhook', 'SoPrincipal'] as const).map((name) => ({
  name,
  contract: contractFor(name, 88),
  iface: `BasicHttpBinding_${name}`,
  path: `/Remote/Services88/${name}.svc`,
}));

const endpointOf = (s: Service) => `\${#Project#endpoint}${s.path}`;

/** The loaded WSDL of each service, set by buildSoapUiProject (node-soap loads asynchronously). */
const loaded = new Map<Service, WsdlContract>();
const modelOf = (s: Service): WsdlContract => loaded.get(s)!;
const operationsOf = (s: Service): OperationInfo[] => [...modelOf(s).operations.values()];

/** SoapUI's sample of an element: `?` for values, "Optional" and "Zero or more repetitions" comments, nesting cut at depth 4. */
function sample(el: Field, pad: string, depth: number, prefixes: Map<string, string>): string[] {
  const p = prefixes.get(el.ns)!;
  const lines: string[] = [];
  if (el.repeated) lines.push(`${pad}<!--Zero or more repetitions:-->`);
  else if (el.minOccurs === 0) lines.push(`${pad}<!--Optional:-->`);
  const type = el.type;
  if (type.kind !== 'complex') return [...lines, `${pad}<${p}:${el.name}>?</${p}:${el.name}>`];
  if (depth >= 4 || type.fields.length === 0) return [...lines, `${pad}<${p}:${el.name}/>`];
  lines.push(`${pad}<${p}:${el.name}>`);
  for (const child of type.fields) {
    if (!prefixes.has(child.ns)) prefixes.set(child.ns, child.ns === ARRAYS ? 'arr' : `ns${prefixes.size}`);
    lines.push(...sample(child, `${pad}   `, depth + 1, prefixes));
  }
  lines.push(`${pad}</${p}:${el.name}>`);
  return lines;
}

function envelope(tns: string, headers: string[], body: string[], extraNs: Map<string, string> = new Map()): string {
  const ns = [`xmlns:soapenv="${SOAP_ENV}"`, `xmlns:ser="${tns}"`, ...[...extraNs].filter(([u]) => u !== tns).map(([u, p]) => `xmlns:${p}="${u}"`)];
  return [
    `<soapenv:Envelope ${ns.join(' ')}>`,
    '   <soapenv:Header>', ...headers.map((h) => `      ${h}`), '   </soapenv:Header>',
    '   <soapenv:Body>', ...body.map((b) => `      ${b}`), '   </soapenv:Body>',
    '</soapenv:Envelope>',
  ].join('\n');
}

const requestHeaders = [
  '<ser:ApplicationToken>${#Project#applicationToken}</ser:ApplicationToken>',
  '<ser:Credentials>', '   <ser:Ticket>${#Project#ticket}</ser:Ticket>', '</ser:Credentials>',
];

function sampleRequest(s: Service, opName: string): string {
  const c = s.contract;
  const op = modelOf(s).operations.get(opName)!;
  const prefixes = new Map([[c.tns, 'ser']]);
  const body = sample(op.input, '', 0, prefixes);
  return envelope(c.tns, requestHeaders, body, prefixes);
}

/** The children of a SoapUI request element (a sample call or a test step's request). */
function requestConfig(action: string, endpoint: string, body: string, assertions: string[]): string {
  return [
    '<con:settings/>',
    '<con:encoding>UTF-8</con:encoding>',
    `<con:endpoint>${text(endpoint)}</con:endpoint>`,
    `<con:request>${cdata(body)}</con:request>`,
    ...assertions,
    '<con:credentials><con:authType>No Authorization</con:authType></con:credentials>',
    '<con:jmsConfig JMSDeliveryMode="PERSISTENT"/>',
    '<con:jmsPropertyConfig/>',
    `<con:wsaConfig mustUnderstand="NONE" version="200508" action="${attr(action)}"/>`,
    '<con:wsrmConfig version="1.2"/>',
  ].join('\n');
}

function iface(s: Service): string {
  const c = s.contract;
  const definition = `${DEFINITION_BASE}${s.path}?wsdl`;
  const wsdl = setWsdlAddress(c.wsdlXml, `${DEFINITION_BASE}${s.path}`);
  const ops = operationsOf(s).map((op) => [
    `<con:operation id="${id(s.iface, op.name)}" isOneWay="false" action="${attr(op.soapAction)}" name="${op.name}" bindingOperationName="${op.name}" `
      + 'type="Request-Response" inputName="" receivesAttachments="false" sendsAttachments="false" anonymous="optional">',
    '<con:settings/>',
    `<con:call id="${id(s.iface, op.name, 'Request 1')}" name="Request 1">`,
    requestConfig(op.soapAction, endpointOf(s), sampleRequest(s, op.name), []),
    '</con:call>',
    '</con:operation>',
  ].join('\n'));
  return [
    `<con:interface xsi:type="con:WsdlInterface" id="${id(s.iface)}" wsaVersion="NONE" name="${s.iface}" type="wsdl" `
      + `bindingName="{${c.tns}}${s.iface}" soapVersion="1_1" anonymous="optional" definition="${attr(definition)}" xmlns:xsi="${XSI_NS}">`,
    '<con:settings/>',
    `<con:definitionCache type="TEXT" rootPart="${attr(definition)}">`,
    `<con:part><con:url>${text(definition)}</con:url><con:content>${cdata(wsdl)}</con:content><con:type>http://schemas.xmlsoap.org/wsdl/</con:type></con:part>`,
    '</con:definitionCache>',
    `<con:endpoints><con:endpoint>${text(endpointOf(s))}</con:endpoint></con:endpoints>`,
    ...ops,
    '</con:interface>',
  ].join('\n');
}

const NS_DECL = (tns: string) => `declare namespace ns='${tns}';\n`;

function assertion(kind: 'SOAP Response' | 'Not SOAP Fault' | { name: string; path: string; expected: string }, step: string): string {
  if (kind === 'SOAP Response') return `<con:assertion type="SOAP Response" id="${id(step, kind)}" name="SOAP Response"/>`;
  if (kind === 'Not SOAP Fault') return `<con:assertion type="Not SOAP Fault Assertion" id="${id(step, kind)}" name="Not SOAP Fault"/>`;
  return `<con:assertion type="XPath Match" id="${id(step, kind.name)}" name="${attr(kind.name)}"><con:configuration>`
    + `<path>${text(kind.path)}</path><content>${text(kind.expected)}</content><allowWildcards>false</allowWildcards>`
    + '<ignoreNamspaceDifferences>false</ignoreNamspaceDifferences><ignoreComments>false</ignoreComments></con:configuration></con:assertion>';
}

interface RequestStepDef {
  kind: 'request';
  name: string;
  service: Service;
  op: string;
  headers: string[];
  body: string[];
  checks: Array<{ name: string; path: string; expected: string }>;
}
interface TransferStepDef {
  kind: 'transfer';
  name: string;
  from: string;
  path: string;
  target: '#Project#' | '#TestCase#';
  property: string;
}

function requestStep(d: RequestStepDef): string {
  const c = d.service.contract;
  const op = modelOf(d.service).operations.get(d.op)!;
  const assertions = [
    assertion('SOAP Response', d.name),
    assertion('Not SOAP Fault', d.name),
    ...d.checks.map((k) => assertion({ ...k, path: NS_DECL(c.tns) + k.path }, d.name)),
  ];
  return [
    `<con:testStep type="request" name="${attr(d.name)}" id="${id(TEST_CASE, d.name)}">`,
    '<con:settings/>',
    `<con:config xsi:type="con:RequestStep" xmlns:xsi="${XSI_NS}">`,
    `<con:interface>${d.service.iface}</con:interface>`,
    `<con:operation>${d.op}</con:operation>`,
    `<con:request name="${attr(d.name)}" id="${id(TEST_CASE, d.name, 'request')}">`,
    requestConfig(op.soapAction, endpointOf(d.service), envelope(c.tns, d.headers, d.body, new Map([[ARRAYS, 'arr']])), assertions),
    '</con:request>',
    '</con:config>',
    '</con:testStep>',
  ].join('\n');
}

function transferStep(d: TransferStepDef, tns: string): string {
  return [
    `<con:testStep type="transfer" name="${attr(d.name)}" id="${id(TEST_CASE, d.name)}">`,
    '<con:settings/>',
    `<con:config xsi:type="con:PropertyTransfersStep" xmlns:xsi="${XSI_NS}">`,
    '<con:transfers setNullOnMissingSource="true" transferTextContent="true" failOnError="true" ignoreEmpty="false" '
      + 'transferToAll="false" entitize="false" transferChildNodes="false">',
    `<con:name>${text(d.property)}</con:name>`,
    '<con:sourceType>Response</con:sourceType>',
    `<con:sourceStep>${text(d.from)}</con:sourceStep>`,
    `<con:sourcePath>${text(NS_DECL(tns) + d.path)}</con:sourcePath>`,
    `<con:targetType>${text(d.property)}</con:targetType>`,
    `<con:targetStep>${d.target}</con:targetStep>`,
    '</con:transfers>',
    '</con:config>',
    '</con:testStep>',
  ].join('\n');
}

function steps(): Array<RequestStepDef | TransferStepDef> {
  const [webhook, principal] = services;
  const succeeded = (v = 'true') => ({ name: `Succeeded is ${v}`, path: '//ns:Succeeded', expected: v });
  const hookXml = (idExpr: string) => [
    '<ser:Webhook>',
    `   <ser:WebhookId>${idExpr}</ser:WebhookId>`,
    `   <ser:Name>${WEBHOOK_NAME}</ser:Name>`,
    '   <ser:Events>', '      <arr:string>contact.created</arr:string>', '      <arr:string>sale.changed</arr:string>', '   </ser:Events>',
    '   <ser:TargetUrl>${#Project#targetUrl}</ser:TargetUrl>',
    '   <ser:Secret>soapui-secret</ser:Secret>',
    '   <ser:State>Active</ser:State>',
    '   <ser:Type>webhook</ser:Type>',
    '</ser:Webhook>',
  ];
  const req = (name: string, op: string, body: string[], checks: RequestStepDef['checks'], service = webhook): RequestStepDef =>
    ({ kind: 'request', name, service, op, headers: requestHeaders, body, checks });
  return [
    {
      kind: 'request', name: 'Log in', service: principal, op: 'AuthenticateUsernamePassword',
      headers: ['<ser:ApplicationToken>${#Project#applicationToken}</ser:ApplicationToken>'],
      body: ['<ser:AuthenticateUsernamePassword>', '   <ser:UserName>${#Project#username}</ser:UserName>',
        '   <ser:Password>${#Project#password}</ser:Password>', '</ser:AuthenticateUsernamePassword>'],
      checks: [{ name: 'AuthenticationSucceeded', path: '//ns:AuthenticationSucceeded', expected: 'true' }],
    },
    { kind: 'transfer', name: 'Ticket into project', from: 'Log in', path: '//ns:Credentials/ns:Ticket', target: '#Project#', property: 'ticket' },
    req('Create default webhook', 'CreateDefaultWebhook', ['<ser:CreateDefaultWebhook/>'], [
      succeeded(), { name: 'State is Active', path: '//ns:Response/ns:State', expected: 'Active' },
      { name: 'Type is webhook', path: '//ns:Response/ns:Type', expected: 'webhook' },
    ]),
    req('Save webhook', 'SaveWebhook', ['<ser:SaveWebhook>', ...hookXml('0').map((l) => `   ${l}`), '</ser:SaveWebhook>'], [
      succeeded(), { name: 'Name saved', path: '//ns:Response/ns:Name', expected: WEBHOOK_NAME },
      { name: 'Has an id', path: 'number(//ns:Response/ns:WebhookId) > 0', expected: 'true' },
    ]),
    { kind: 'transfer', name: 'Webhook id into test case', from: 'Save webhook', path: '//ns:Response/ns:WebhookId', target: '#TestCase#', property: 'webhookId' },
    req('Get webhook', 'GetWebhook', ['<ser:GetWebhook>', '   <ser:WebhookId>${#TestCase#webhookId}</ser:WebhookId>', '</ser:GetWebhook>'], [
      succeeded(), { name: 'Same id', path: '//ns:Response/ns:WebhookId', expected: '${#TestCase#webhookId}' },
      { name: 'Second event', path: '//ns:Response/ns:Events/*[2]', expected: 'sale.changed' },
      { name: 'Secret', path: '//ns:Response/ns:Secret', expected: 'soapui-secret' },
    ]),
    req('List with filters', 'GetAllWebhooks', ['<ser:GetAllWebhooks>', `   <ser:NameFilter>${WEBHOOK_NAME}</ser:NameFilter>`,
      '   <ser:EventFilter>sale.changed</ser:EventFilter>', '   <ser:StatusFilter>Active</ser:StatusFilter>', '</ser:GetAllWebhooks>'], [
      succeeded(), { name: 'Listed once', path: "count(//ns:Response/ns:Webhook[ns:WebhookId = '${#TestCase#webhookId}'])", expected: '1' },
      { name: 'Only matching hooks', path: "count(//ns:Response/ns:Webhook[ns:State != 'Active'])", expected: '0' },
    ]),
    req('Test webhook', 'TestWebhook', ['<ser:TestWebhook>', ...hookXml('${#TestCase#webhookId}').map((l) => `   ${l}`), '</ser:TestWebhook>'], [
      succeeded(), { name: 'Target answered', path: '//ns:Response/ns:Success', expected: 'true' },
    ]),
    req('Signal event', 'SignalEvent', ['<ser:SignalEvent>', '   <ser:EventName>contact.created</ser:EventName>',
      '   <ser:PrimaryKey>1</ser:PrimaryKey>', '</ser:SignalEvent>'], [succeeded()]),
    req('Delete webhook', 'DeleteWebhook', ['<ser:DeleteWebhook>', '   <ser:WebhookId>${#TestCase#webhookId}</ser:WebhookId>', '</ser:DeleteWebhook>'],
      [succeeded()]),
    req('Deleted webhook is gone', 'GetWebhook', ['<ser:GetWebhook>', '   <ser:WebhookId>${#TestCase#webhookId}</ser:WebhookId>', '</ser:GetWebhook>'],
      [succeeded('false')]),
  ];
}

const projectProperties: Array<[string, string]> = [
  ['endpoint', DEFINITION_BASE],
  ['username', 'admin'],
  ['password', ''],
  ['applicationToken', 'soapui'],
  ['targetUrl', 'https://receiver.example.com/webhook'],
  ['ticket', ''],
];

const props = (list: Array<[string, string]>) =>
  `<con:properties>${list.map(([n, v]) => `<con:property><con:name>${text(n)}</con:name><con:value>${text(v)}</con:value></con:property>`).join('')}</con:properties>`;

export async function buildSoapUiProject(): Promise<string> {
  for (const s of services) if (!loaded.has(s)) loaded.set(s, await loadWsdlContract(s.contract.wsdlXml));
  const tns = services[0].contract.tns;
  const testCase = [
    `<con:testCase id="${id(TEST_SUITE, TEST_CASE)}" failOnError="true" failTestCaseOnErrors="true" keepSession="false" maxResults="0" `
      + `name="${TEST_CASE}" searchProperties="true">`,
    '<con:settings/>',
    ...steps().map((s) => (s.kind === 'request' ? requestStep(s) : transferStep(s, tns))),
    props([['webhookId', '']]),
    '</con:testCase>',
  ].join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<con:soapui-project id="${id('project')}" activeEnvironment="Default" name="webhook-agent" resourceRoot="" soapui-version="${SOAPUI_VERSION}" `
      + 'abortOnError="false" runType="SEQUENTIAL" xmlns:con="http://eviware.com/soapui/config">',
    '<con:settings/>',
    ...services.map(iface),
    `<con:testSuite id="${id(TEST_SUITE)}" name="${TEST_SUITE}">`,
    '<con:settings/>',
    '<con:runType>SEQUENTIAL</con:runType>',
    testCase,
    '<con:properties/>',
    '</con:testSuite>',
    props(projectProperties),
    '<con:wssContainer/>',
    '<con:oAuth2ProfileContainer/>',
    '<con:oAuth1ProfileContainer/>',
    '</con:soapui-project>',
    '',
  ].join('\n');
}
