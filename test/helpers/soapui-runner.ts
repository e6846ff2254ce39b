/**
 * Runs a SoapUI 5.x project's TestCase the way SoapUI's testrunner does, for the step and assertion kinds the
 * project uses: SOAP request steps (endpoint, SOAPAction from the interface's operation, the request text after
 * property expansion), property transfers from a response (XPath with `declare namespace`) into project or test-case
 * properties, and the assertions SOAP Response, Not SOAP Fault, SOAP Fault and XPath Match. Anything else in the
 * project is reported as a failure rather than skipped, so the runner never passes what it did not check.
 *
 * Property expansion: ${#Project#name}, ${#TestSuite#name}, ${#TestCase#name}; `properties` overrides project
 * properties as testrunner's -Pname=value does. XPath is 1.0 (the xpath package over @xmldom/xmldom).
 */
import { DOMParser } from '@xmldom/xmldom';
import xpath from 'xpath';

const CON = 'http://eviware.com/soapui/config';
const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';

export interface StepResult {
  name: string;
  type: string;
  ok: boolean;
  /** What failed (or, for a passing request step, nothing). */
  messages: string[];
  status?: number;
  response?: string;
}

type El = Element;

function kids(el: El | Document, name: string): El[] {
  const out: El[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as El).namespaceURI === CON && (n as El).localName === name) out.push(n as El);
  }
  return out;
}
const kid = (el: El | Document, name: string): El | undefined => kids(el, name)[0];
const textOf = (el: El | undefined): string => (el?.textContent ?? '');

function properties(el: El | undefined): Map<string, string> {
  const m = new Map<string, string>();
  const list = el ? kid(el, 'properties') : undefined;
  for (const p of list ? kids(list, 'property') : []) m.set(textOf(kid(p, 'name')), textOf(kid(p, 'value')));
  return m;
}

function parseXml(text: string): Document | null {
  let failed = false;
  const bad = () => {
    failed = true;
  };
  const doc = new DOMParser({ errorHandler: { error: bad, fatalError: bad, warning: () => {} } }).parseFromString(text, 'text/xml');
  return failed || !doc.documentElement ? null : (doc as unknown as Document);
}

/** SoapUI's `declare namespace p='uri';` prologue, then an XPath 1.0 expression. */
function evaluate(pathText: string, doc: Document): string | null {
  const ns: Record<string, string> = {};
  const expr = pathText.replace(/declare\s+namespace\s+([\w-]+)\s*=\s*['"]([^'"]*)['"]\s*;/g, (_m, p: string, uri: string) => {
    ns[p] = uri;
    return '';
  }).trim();
  const result = xpath.useNamespaces(ns)(expr, doc as unknown as Node);
  if (Array.isArray(result)) {
    const first = result[0] as Node | undefined;
    if (!first) return null;
    return first.nodeType === 2 ? (first as Attr).value : first.textContent ?? '';
  }
  return String(result);
}

export interface RunOptions {
  suite: string;
  testCase: string;
  /** Project property overrides (testrunner -P). */
  properties?: Record<string, string>;
}

export async function runSoapUiTestCase(projectXml: string, opts: RunOptions): Promise<StepResult[]> {
  const doc = parseXml(projectXml);
  if (!doc) throw new Error('the project is not well-formed XML');
  const project = doc.documentElement as El;
  if (project.namespaceURI !== CON || project.localName !== 'soapui-project') throw new Error('not a SoapUI project');
  const suite = kids(project, 'testSuite').find((s) => s.getAttribute('name') === opts.suite);
  if (!suite) throw new Error(`no TestSuite ${opts.suite}`);
  const tc = kids(suite, 'testCase').find((t) => t.getAttribute('name') === opts.testCase);
  if (!tc) throw new Error(`no TestCase ${opts.testCase}`);

  const scopes: Record<string, Map<string, string>> = {
    Project: properties(project),
    TestSuite: properties(suite),
    TestCase: properties(tc),
  };
  for (const [k, v] of Object.entries(opts.properties ?? {})) scopes.Project.set(k, v);
  const expand = (s: string) => s.replace(/\$\{#(Project|TestSuite|TestCase)#([^}]+)\}/g, (_m, scope: string, name: string) => scopes[scope].get(name) ?? '');

  const actions = new Map<string, string>();
  for (const iface of kids(project, 'interface')) {
    for (const op of kids(iface, 'operation')) actions.set(`${iface.getAttribute('name')}/${op.getAttribute('name')}`, op.getAttribute('action') ?? '');
  }

  const responses = new Map<string, Document | null>();
  const results: StepResult[] = [];
  for (const step of kids(tc, 'testStep')) {
    const name = step.getAttribute('name') ?? '';
    const type = step.getAttribute('type') ?? '';
    const config = kid(step, 'config');
    const r: StepResult = { name, type, ok: true, messages: [] };
    results.push(r);
    const fail = (m: string) => {
      r.ok = false;
      r.messages.push(m);
    };
    if (step.getAttribute('disabled') === 'true') continue;
    if (type === 'request' && config) {
      const request = kid(config, 'request')!;
      const key = `${textOf(kid(config, 'interface'))}/${textOf(kid(config, 'operation'))}`;
      if (!actions.has(key)) {
        fail(`no operation ${key} in the project's interfaces`);
        continue;
      }
      const res = await fetch(expand(textOf(kid(request, 'endpoint'))), {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml;charset=UTF-8', SOAPAction: `"${actions.get(key)}"` },
        body: expand(textOf(kid(request, 'request'))),
      });
      const body = await res.text();
      r.status = res.status;
      r.response = body;
      const rdoc = parseXml(body);
      responses.set(name, rdoc);
      const envelope = rdoc?.documentElement;
      const isEnvelope = !!envelope && envelope.namespaceURI === SOAP11 && envelope.localName === 'Envelope';
      const fault = isEnvelope && rdoc ? xpath.useNamespaces({ s: SOAP11 })('/s:Envelope/s:Body/s:Fault', rdoc as unknown as Node) : [];
      const hasFault = Array.isArray(fault) && fault.length > 0;
      for (const a of kids(request, 'assertion')) {
        const aType = a.getAttribute('type');
        const aName = a.getAttribute('name') ?? aType;
        if (aType === 'SOAP Response') {
          if (!isEnvelope) fail(`${aName}: not a SOAP 1.1 envelope (HTTP ${res.status})`);
        } else if (aType === 'Not SOAP Fault Assertion') {
          if (hasFault) fail(`${aName}: the response is a SOAP fault`);
        } else if (aType === 'SOAP Fault Assertion') {
          if (!hasFault) fail(`${aName}: the response is not a SOAP fault`);
        } else if (aType === 'XPath Match') {
          const cfg = kid(a, 'configuration');
          const field = (n: string) => {
            for (let c = cfg?.firstChild; c; c = c.nextSibling) if (c.nodeType === 1 && (c as El).localName === n) return c.textContent ?? '';
            return '';
          };
          if (field('allowWildcards') === 'true') {
            fail(`${aName}: wildcards are not supported by this runner`);
            continue;
          }
          const expected = expand(field('content'));
          let actual: string | null;
          try {
            actual = rdoc ? evaluate(expand(field('path')), rdoc) : null;
          } catch (err) {
            fail(`${aName}: XPath error ${(err as Error).message}`);
            continue;
          }
          if (actual !== expected) fail(`${aName}: expected '${expected}', got ${actual === null ? 'no match' : `'${actual}'`}`);
        } else {
          fail(`${aName}: assertion type ${aType} is not supported by this runner`);
        }
      }
    } else if (type === 'transfer' && config) {
      for (const t of kids(config, 'transfers')) {
        const tName = textOf(kid(t, 'name'));
        const src = textOf(kid(t, 'sourceStep'));
        const target = textOf(kid(t, 'targetStep')).replace(/^#|#$/g, '');
        if (textOf(kid(t, 'sourceType')) !== 'Response' || !scopes[target]) {
          fail(`${tName}: only Response -> #Project#/#TestSuite#/#TestCase# transfers are supported`);
          continue;
        }
        const sdoc = responses.get(src);
        const value = sdoc ? evaluate(expand(textOf(kid(t, 'sourcePath'))), sdoc) : null;
        if (value === null && t.getAttribute('failOnError') !== 'false') fail(`${tName}: nothing at the source path in ${src}'s response`);
        scopes[target].set(textOf(kid(t, 'targetType')), value ?? '');
      }
    } else {
      fail(`step type ${type} is not supported by this runner`);
    }
    if (!r.ok && tc.getAttribute('failOnError') !== 'false') break;
  }
  return results;
}
