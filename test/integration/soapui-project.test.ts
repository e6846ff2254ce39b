/**
 * The shipped SoapUI project (soapui/webhook-agent-soapui-project.xml): fresh from scripts/soapui-project.ts, in the
 * shape SoapUI 5.x saves, its interfaces carrying our ?wsdl and one sample request per operation with the
 * ApplicationToken and Credentials/Ticket headers, and its TestSuite run by test/helpers/soapui-runner.ts against
 * the started service (SoapUI itself does not run here).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import { startApp, startReceiver, TEST_ADMIN, TEST_ADMIN_PASSWORD, type Receiver, type TestApp } from '../helpers/app.js';
import { repoRoot } from '../helpers/service.js';
import { runSoapUiTestCase, type StepResult } from '../helpers/soapui-runner.js';
import { buildSoapUiProject, SOAPUI_PROJECT_FILE, TEST_CASE, TEST_SUITE } from '../../scripts/soapui-project.js';
import { contractFor } from '../../src/contract/index.js';
import { loadWsdlContract } from '../../src/soap/wsdl-contract.js';

const CON = 'http://eviware.com/soapui/config';
const projectXml = readFileSync(join(repoRoot, SOAPUI_PROJECT_FILE), 'utf8');

const conKids = (el: Element | Document, name: string) => Array.from(el.childNodes as unknown as Node[])
  .filter((n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === CON && (n as Element).localName === name);

const failures = (results: StepResult[]) => results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.messages.join('; ')} ${r.response?.slice(0, 300) ?? ''}`);

test('the project file is what scripts/gen-soapui.ts writes (run it after changing the contract)', async () => {
  assert.equal(projectXml, await buildSoapUiProject());
});

test('SoapUI 5.x project shape: Services88 Webhook and SoPrincipal interfaces from our WSDL, one sample request per operation', async () => {
  const doc = new DOMParser().parseFromString(projectXml, 'text/xml') as unknown as Document;
  const root = doc.documentElement;
  assert.equal(root.namespaceURI, CON);
  assert.equal(root.localName, 'soapui-project');
  assert.match(root.getAttribute('soapui-version') ?? '', /^5\.\d+\.\d+$/);
  const props = Object.fromEntries(conKids(conKids(root, 'properties')[0], 'property')
    .map((p) => [conKids(p, 'name')[0].textContent, conKids(p, 'value')[0].textContent]));
  assert.ok('endpoint' in props && 'ticket' in props);

  const ifaces = conKids(root, 'interface');
  assert.deepEqual(ifaces.map((i) => i.getAttribute('name')), ['BasicHttpBinding_Webhook', 'BasicHttpBinding_SoPrincipal']);
  for (const [i, service] of [[ifaces[0], 'Webhook'], [ifaces[1], 'SoPrincipal']] as const) {
    const contract = contractFor(service, 88);
    const model = await loadWsdlContract(contract.wsdlXml);
    assert.equal(i.getAttribute('soapVersion'), '1_1');
    assert.equal(i.getAttribute('bindingName'), `{${contract.tns}}BasicHttpBinding_${service}`);
    // The definition cache holds the WSDL as the service serves it at the definition URL.
    const part = conKids(conKids(i, 'definitionCache')[0], 'part')[0];
    const url = conKids(part, 'url')[0].textContent!;
    assert.equal(url, i.getAttribute('definition'));
    assert.equal(conKids(part, 'content')[0].textContent, contract.wsdlXml.replace(/location="[^"]*"/, `location="${url.replace(/\?wsdl$/, '')}"`));
    const ops = conKids(i, 'operation');
    assert.deepEqual(ops.map((o) => o.getAttribute('name')), contract.operations);
    for (const op of ops) {
      const info = model.operations.get(op.getAttribute('name')!)!;
      assert.equal(op.getAttribute('action'), info.soapAction);
      const calls = conKids(op, 'call');
      assert.equal(calls.length, 1, `${info.name}: one sample request`);
      const body = conKids(calls[0], 'request')[0].textContent!;
      const req = new DOMParser().parseFromString(body, 'text/xml') as unknown as Document;
      const header = req.getElementsByTagNameNS('http://schemas.xmlsoap.org/soap/envelope/', 'Header')[0];
      assert.ok(header.getElementsByTagNameNS(contract.tns, 'ApplicationToken').length === 1, `${info.name}: ApplicationToken`);
      assert.ok(header.getElementsByTagNameNS(contract.tns, 'Ticket').length === 1, `${info.name}: Credentials/Ticket`);
      assert.equal(req.getElementsByTagNameNS(contract.tns, info.input.name).length, 1, `${info.name}: body element`);
      assert.equal(conKids(calls[0], 'endpoint')[0].textContent, `\${#Project#endpoint}/Remote/Services88/${service}.svc`);
    }
  }
});

describe('the SoapUI TestSuite against the running service', () => {
  let app: TestApp;
  let receiver: Receiver;
  const properties = () => ({ endpoint: app.baseUrl, username: TEST_ADMIN, password: TEST_ADMIN_PASSWORD, targetUrl: receiver.url });

  before(async () => {
    app = await startApp('sqlite', { startWorker: true });
    receiver = await startReceiver(200);
  });
  after(async () => {
    await receiver?.close();
    await app?.close();
  });

  test('log in, ticket transfer, create, save, get, list with filters, test, signal, delete: every assertion passes', async () => {
    const results = await runSoapUiTestCase(projectXml, { suite: TEST_SUITE, testCase: TEST_CASE, properties: properties() });
    assert.deepEqual(failures(results), []);
    assert.deepEqual(results.map((r) => r.name), [
      'Log in', 'Ticket into project', 'Create default webhook', 'Save webhook', 'Webhook id into test case', 'Get webhook',
      'List with filters', 'Test webhook', 'Signal event', 'Delete webhook', 'Deleted webhook is gone',
    ]);
    // The receiver saw the save ping, the TestWebhook call and (through the worker) the signalled event.
    const deadline = Date.now() + 20_000;
    while (!receiver.requests.some((r) => r.headers['x-superoffice-event'] === 'contact.created') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(receiver.requests.some((r) => r.headers['x-superoffice-event'] === 'contact.created'), 'the signalled event was delivered');
  });

  test("the interfaces' cached WSDLs are what the service serves on ?wsdl (apart from the address)", async () => {
    const doc = new DOMParser().parseFromString(projectXml, 'text/xml') as unknown as Document;
    for (const iface of conKids(doc.documentElement, 'interface')) {
      const part = conKids(conKids(iface, 'definitionCache')[0], 'part')[0];
      const url = new URL(conKids(part, 'url')[0].textContent!);
      const served = await (await fetch(`${app.baseUrl}${url.pathname}?wsdl`)).text();
      const cached = conKids(part, 'content')[0].textContent!;
      assert.equal(cached, served.split(app.baseUrl).join(url.origin), iface.getAttribute('name') ?? '');
    }
  });

  test('the runner fails a step whose assertion does not hold, and a wrong password stops the run at the login', async () => {
    const tampered = projectXml.replace('<content>Active</content>', '<content>Stopped</content>');
    assert.notEqual(tampered, projectXml);
    const r1 = await runSoapUiTestCase(tampered, { suite: TEST_SUITE, testCase: TEST_CASE, properties: properties() });
    assert.deepEqual(failures(r1).map((f) => f.split(':')[0]), ['Create default webhook']);
    assert.match(r1.find((r) => !r.ok)!.messages[0], /State is Active: expected 'Stopped', got 'Active'/);
    const r2 = await runSoapUiTestCase(projectXml, { suite: TEST_SUITE, testCase: TEST_CASE, properties: { ...properties(), password: 'wrong' } });
    assert.equal(r2.length, 1);
    assert.match(r2[0].messages[0], /AuthenticationSucceeded: expected 'true', got 'false'/);
  });
});
