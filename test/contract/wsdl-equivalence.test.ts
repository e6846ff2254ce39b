// Our WSDLs describe the same contract as NetServer's: both documents are parsed, QName values
// resolved to {namespace}local, defaults made explicit, and the trees compared. Child order counts
// (sequences, parts, headers, enumerations) except among top-level definitions and schema
// components, which are matched by kind and name. Only soap:address/@location may differ.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseStringPromise } from 'xml2js';
import { PUBLISHED, wsdlFileName } from '../../src/contract/index.js';
import { referenceDir, requires } from '../helpers/requires.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const wsdlReferenceDir = path.join(referenceDir, 'wsdl');
const XMLNS = 'http://www.w3.org/2000/xmlns/';
const XSD = 'http://www.w3.org/2001/XMLSchema';
const WSDL = 'http://schemas.xmlsoap.org/wsdl/';

interface XNode {
  ns: string;
  local: string;
  attrs: Map<string, { uri: string; local: string; value: string }>;
  decls: Map<string, string>;
  children: XNode[];
  text: string;
  parent: XNode | null;
}

interface RawNode {
  $?: Record<string, { uri: string; local: string; prefix: string; value: string }>;
  $ns: { uri: string; local: string };
  $$?: RawNode[];
  _?: string;
}

function toNode(raw: RawNode, parent: XNode | null): XNode {
  const node: XNode = {
    ns: raw.$ns.uri, local: raw.$ns.local, attrs: new Map(), decls: new Map(), children: [], text: (raw._ ?? '').trim(), parent,
  };
  for (const a of Object.values(raw.$ ?? {})) {
    if (a.uri === XMLNS) node.decls.set(a.prefix === 'xmlns' ? a.local : '', a.value);
    else node.attrs.set(a.uri ? `{${a.uri}}${a.local}` : a.local, a);
  }
  node.children = (raw.$$ ?? []).map((c) => toNode(c, node));
  return node;
}

async function parseXml(xml: string): Promise<XNode> {
  const doc = await parseStringPromise(xml, { xmlns: true, explicitChildren: true, preserveChildrenOrder: true, charkey: '_' });
  return toNode(Object.values(doc)[0] as RawNode, null);
}

function resolvePrefix(node: XNode | null, prefix: string): string {
  for (let n = node; n; n = n.parent) {
    const uri = n.decls.get(prefix);
    if (uri !== undefined) return uri;
  }
  throw new Error(`unbound prefix ${prefix}`);
}

const QNAME_ATTRS = new Set(['type', 'base', 'itemType', 'element', 'message', 'binding', 'ref']);
const DEFAULTS: Record<string, Record<string, string>> = {
  [`{${XSD}}element`]: { minOccurs: '1', maxOccurs: '1', nillable: 'false' },
  [`{${XSD}}complexContent`]: { mixed: 'false' },
};
/** Containers whose children are a set of named definitions rather than a sequence. */
const UNORDERED = new Set([`{${WSDL}}definitions`, `{${WSDL}}types`, `{${XSD}}schema`]);

interface Canon {
  tag: string;
  attrs: Record<string, string>;
  text: string;
  children: Canon[] | Record<string, Canon>;
}

function canonical(node: XNode): Canon {
  const tag = `{${node.ns}}${node.local}`;
  const attrs: Record<string, string> = { ...DEFAULTS[tag] };
  for (const [key, a] of node.attrs) {
    let value = a.value;
    if (!a.uri && QNAME_ATTRS.has(key)) {
      const colon = value.indexOf(':');
      value = `{${resolvePrefix(node, colon < 0 ? '' : value.slice(0, colon))}}${value.slice(colon + 1)}`;
    }
    attrs[key] = value;
  }
  if (node.local === 'address') attrs.location = '(any)';
  const kids = node.children.map(canonical);
  if (!UNORDERED.has(tag)) return { tag, attrs, text: node.text, children: kids };
  const keyed: Record<string, Canon> = {};
  for (const k of kids) {
    const key = `${k.tag}[${k.attrs.name ?? k.attrs.namespace ?? k.attrs.targetNamespace ?? ''}]`;
    if (key in keyed) throw new Error(`duplicate definition ${key}`);
    keyed[key] = k;
  }
  return { tag, attrs, text: node.text, children: keyed };
}

const describeNode = (c: Canon): string =>
  `${c.tag.replace(/^\{[^}]*\}/, '')} ${c.attrs.name ?? c.attrs.value ?? c.attrs.part ?? ''}`.trim();

/** Every difference between two canonical trees, as "path: detail" lines; (i) is a position among ordered children. */
function differences(a: Canon, b: Canon, where = '', out: string[] = [], position?: number): string[] {
  const name = a.attrs.name ? `[${a.attrs.name}]` : '';
  const here = `${where}/${a.tag.replace(/^\{[^}]*\}/, '')}${name}${position === undefined ? '' : `(${position})`}`;
  if (a.tag !== b.tag) return [...out, `${here}: element ${a.tag} vs ${b.tag}`];
  for (const key of new Set([...Object.keys(a.attrs), ...Object.keys(b.attrs)])) {
    if (a.attrs[key] !== b.attrs[key]) out.push(`${here}/@${key}: ${a.attrs[key]} vs ${b.attrs[key]}`);
  }
  if (a.text !== b.text) out.push(`${here}: text ${JSON.stringify(a.text)} vs ${JSON.stringify(b.text)}`);
  if (Array.isArray(a.children) && Array.isArray(b.children)) {
    const n = Math.max(a.children.length, b.children.length);
    for (let i = 0; i < n; i++) {
      const [x, y] = [a.children[i], b.children[i]];
      if (x && y) differences(x, y, here, out, i);
      else out.push(`${here}/(${i}): only in ${x ? 'ours' : 'reference'}: ${describeNode((x ?? y)!)}`);
    }
  } else if (!Array.isArray(a.children) && !Array.isArray(b.children)) {
    const [ka, kb] = [a.children, b.children];
    for (const key of new Set([...Object.keys(ka), ...Object.keys(kb)])) {
      if (ka[key] && kb[key]) differences(ka[key], kb[key], here, out);
      else out.push(`${here}: ${key} only in ${ka[key] ? 'ours' : 'reference'}`);
    }
  }
  return out;
}

const ourFile = (name: string) => path.join(repoRoot, 'wsdl', name);

function search(node: XNode, pred: (n: XNode) => boolean): XNode | undefined {
  if (pred(node)) return node;
  for (const c of node.children) {
    const hit = search(c, pred);
    if (hit) return hit;
  }
  return undefined;
}

function find(node: XNode, pred: (n: XNode) => boolean): XNode {
  const hit = search(node, pred);
  if (!hit) throw new Error('node not found');
  return hit;
}

describe('our WSDLs are contract-equivalent to NetServer\'s', await requires('reference'), () => {
  for (const { service, version } of PUBLISHED) {
    const name = wsdlFileName(service, version);
    test(name, async () => {
      const ours = canonical(await parseXml(readFileSync(ourFile(name), 'utf8')));
      const reference = canonical(await parseXml(readFileSync(path.join(wsdlReferenceDir, name), 'utf8')));
      assert.deepEqual(differences(ours, reference), []);
    });
  }
});

describe('the WSDL comparer can fail', () => {
  const load = async () => parseXml(readFileSync(ourFile('Services88-Webhook.wsdl'), 'utf8'));
  const webhookSequence = (root: XNode) => find(root, (n) => n.local === 'complexType' && n.attrs.get('name')?.value === 'Webhook')
    .children[0];

  test('reports two swapped sequence elements', async () => {
    const [base, mutated] = [await load(), await load()];
    const seq = webhookSequence(mutated);
    [seq.children[0], seq.children[1]] = [seq.children[1], seq.children[0]];
    const diffs = differences(canonical(mutated), canonical(base));
    assert.ok(diffs.some((d) => d.includes('complexType[Webhook]') && d.includes('@name: Name vs WebhookId')), diffs.join('\n'));
  });

  test('reports a flipped nillable', async () => {
    const [base, mutated] = [await load(), await load()];
    webhookSequence(mutated).children[1].attrs.get('nillable')!.value = 'false';
    const diffs = differences(canonical(mutated), canonical(base));
    assert.deepEqual(diffs,
      ['/definitions[WcfWebhookService]/types/schema/complexType[Webhook]/sequence(0)/element[Name](1)/@nillable: false vs true']);
  });

  test('reports a type in another namespace, a changed SOAPAction and a missing enumeration', async () => {
    const [base, mutated] = [await load(), await load()];
    const events = webhookSequence(mutated).children[2];
    events.decls.set('q1', 'urn:elsewhere');
    find(mutated, (n) => n.local === 'operation' && n.attrs.has('soapAction')).attrs.get('soapAction')!.value += 'X';
    const state = find(mutated, (n) => n.local === 'simpleType' && n.attrs.get('name')?.value === 'WebhookState');
    state.children[1].children.pop();
    const text = differences(canonical(mutated), canonical(base)).join('\n');
    assert.match(text, /element\[Events\]\(2\)\/@type: \{urn:elsewhere\}ArrayOfstring vs/);
    assert.match(text, /@soapAction: .*CreateDefaultWebhookX vs/);
    assert.match(text, /simpleType\[WebhookState\]\/restriction\(1\)\/\(3\): only in reference: enumeration TooManyErrors/);
  });

  test('ignores prefixes, attribute defaults and the order of top-level definitions', async () => {
    const base = await load();
    const xml = readFileSync(ourFile('Services88-Webhook.wsdl'), 'utf8')
      .replaceAll('xs:', 'xsd2:').replaceAll('xmlns:xs=', 'xmlns:xsd2=')
      .replace('<xsd2:element minOccurs="0" name="WebhookId" type="xsd2:int"/>',
        '<xsd2:element maxOccurs="1" minOccurs="0" name="WebhookId" type="xsd2:int"/>');
    const reordered = await parseXml(xml);
    const schema = find(reordered, (n) => n.local === 'schema');
    schema.children.reverse();
    assert.deepEqual(differences(canonical(reordered), canonical(base)), []);
  });
});
