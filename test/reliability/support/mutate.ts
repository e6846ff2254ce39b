/**
 * A seeded mutation engine over the documented envelopes (fuzzing, issue 4 part 7). Most mutations are
 * structure-aware (they keep the XML well-formed so that requests get past the parser into the normaliser,
 * validators and handlers); some damage the bytes. The same seed gives the same requests.
 */
import {
  allElements, childElements, clone, localName, prefixOf, serialize, setAttr, type XmlElement, type XmlNode,
} from './xml-tree.js';

/** mulberry32: small, fast, good enough to drive mutations reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Mutator {
  constructor(private readonly rnd: () => number) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  chance(p: number): boolean {
    return this.rnd() < p;
  }

  /** Interesting text values: boundaries, wrong types, markup, encodings, sizes. */
  value(): string {
    const v = this.pick(interestingValues);
    return typeof v === 'function' ? v(this) : v;
  }

  /**
   * 1-3 structural mutations of a copy of `env`; `protect` names elements whose text must keep its value (e.g. the
   * user name in logins, so that the fuzz does not turn into a password-hashing benchmark).
   */
  mutateTree(env: XmlElement, protect: ReadonlySet<string> = new Set()): XmlElement {
    const root = clone(env);
    const n = 1 + this.int(3);
    for (let i = 0; i < n; i++) this.mutateOnce(root, protect);
    return root;
  }

  private mutateOnce(root: XmlElement, protect: ReadonlySet<string>): void {
    const nodes = allElements(root).filter((x) => x.parent !== null);
    if (nodes.length === 0) return;
    const { el, parent } = this.pick(nodes);
    const p = parent!;
    const kids = () => p.children;
    switch (this.int(12)) {
      case 0: // delete
        p.children = kids().filter((c) => c !== el);
        break;
      case 1: // duplicate
        p.children.splice(p.children.indexOf(el), 0, clone(el));
        break;
      case 2: { // swap with a sibling
        const sibs = childElements(p);
        const other = this.pick(sibs);
        const i = p.children.indexOf(el);
        const j = p.children.indexOf(other);
        [p.children[i], p.children[j]] = [p.children[j], p.children[i]];
        break;
      }
      case 3:
      case 4: // new text on a leaf (or on any element)
        if (protect.has(localName(el.name)) && this.chance(0.9)) break;
        el.children = [{ text: this.value() }];
        break;
      case 5: // an attribute
        setAttr(el, ...this.pick(interestingAttributes)(this));
        break;
      case 6: // rename
        el.name = (prefixOf(el.name) ? `${prefixOf(el.name)}:` : '') + this.pick(elementNames);
        break;
      case 7: // another or an undeclared prefix
        el.name = `${this.pick(['', 'Webhook:', 'SoPrincipal:', 'NetServerServices882:', 'xsd:', 'SOAP-ENV:', 'zz:', 'xsi:'])}${localName(el.name)}`;
        break;
      case 8: { // insert a new element
        const child: XmlElement = { name: `${prefixOf(el.name) ? `${prefixOf(el.name)}:` : ''}${this.pick(elementNames)}`, attrs: [], children: [{ text: this.value() }] };
        el.children.splice(this.int(el.children.length + 1), 0, child);
        break;
      }
      case 9: // text as CDATA
        el.children = el.children.map((c): XmlNode => ('text' in c ? { raw: `<![CDATA[${c.text.replace(/]]>/g, ']]]]><![CDATA[>')}]]>` } : c));
        break;
      case 10: // wrap in another element
        p.children[p.children.indexOf(el)] = { name: el.name, attrs: [], children: [el] };
        break;
      case 11: // many copies
        p.children.splice(p.children.indexOf(el), 0, ...Array.from({ length: 2 + this.int(200) }, () => clone(el)));
        break;
    }
  }

  /** Byte-level damage to the serialized request. */
  mutateText(xml: string): string {
    switch (this.int(7)) {
      case 0: { // flip characters
        const chars = [...xml];
        for (let k = 0; k < 1 + this.int(4); k++) chars[this.int(chars.length)] = String.fromCharCode(this.int(256));
        return chars.join('');
      }
      case 1: // truncate
        return xml.slice(0, this.int(xml.length));
      case 2: { // delete a slice
        const i = this.int(xml.length);
        return xml.slice(0, i) + xml.slice(i + 1 + this.int(40));
      }
      case 3: { // duplicate a slice
        const i = this.int(xml.length);
        const j = Math.min(xml.length, i + 1 + this.int(200));
        return xml.slice(0, j) + xml.slice(i, j) + xml.slice(j);
      }
      case 4: // a DOCTYPE in front
        return xml.replace(/^(<\?xml[^>]*\?>)?/, `$1${this.pick(doctypes)}`);
      case 5: { // an entity or character reference somewhere in text
        const i = xml.indexOf('>', this.int(xml.length));
        return i < 0 ? xml : xml.slice(0, i + 1) + this.pick(['&x;', '&#0;', '&#xD800;', '&amp', '&#99999999;', '&lt;', '&nbsp;', '&#x1F600;']) + xml.slice(i + 1);
      }
      default: // a control or non-character
        {
          const i = this.int(xml.length);
          return xml.slice(0, i) + this.pick(['\u0000', '\u0001', '\ufffe', '\ud800', '\u001b', '\r']) + xml.slice(i);
        }
    }
  }

  /** One fuzzed request text from a template: mostly structural, sometimes byte-level on top. */
  request(env: XmlElement, protect?: ReadonlySet<string>): string {
    let xml = `<?xml version="1.0" encoding="utf-8"?>${serialize(this.mutateTree(env, protect))}`;
    if (this.chance(0.15)) xml = this.mutateText(xml);
    return xml;
  }
}

const elementNames = [
  'WebhookId', 'Name', 'Events', 'TargetUrl', 'Secret', 'State', 'Type', 'Headers', 'Properties', 'Registered',
  'Updated', 'ErrorsEmail', 'ErrorEmails', 'ErrorAssociates', 'Description', 'NotifyVia', 'NotifyWhen', 'TotalCalls',
  'LastError', 'Key', 'Value', 'StringKeyValuePair', 'StringObjectKeyValuePair', 'MDOListItem', 'Id', 'string',
  'EventName', 'PrimaryKey', 'Data', 'NameFilter', 'EventFilter', 'StatusFilter', 'UserName', 'Password', 'Ticket',
  'Credentials', 'ApplicationToken', 'TimeZone', 'SoTimeZoneId', 'Body', 'Header', 'Envelope', 'Webhook', 'Fault',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'x',
];

type Gen = (m: Mutator) => string;

const interestingValues: Array<string | Gen> = [
  '', ' ', '0', '-1', '1', '2147483647', '2147483648', '-2147483649', '99999999999999999999', '1e308', '-0', 'NaN',
  'Infinity', '0x10', '١٢', 'true', 'false', 'TRUE', 'null', 'undefined', 'Active', 'Stopped', 'TooManyErrors', 'Unknown',
  'Email InApp', 'Email Email', 'FirstFailure Bogus', 'webhook', 'crmscript', 'contact.created', 'a.b', 'a..b', '.',
  'http://127.0.0.1:1/x', 'https://169.254.169.254/', 'file:///etc/passwd', 'javascript:alert(1)',
  '0001-01-01T00:00:00', '9999-12-31T23:59:59.9999999', '2024-02-30T00:00:00', '2024-01-01T00:00:00+14:00', 'not-a-date',
  '7T:AAAA', '7T:', `7T:${'A'.repeat(600)}`, 'admin', "' OR 1=1 --", '"; DROP TABLE webhook; --', '${jndi:ldap://x}',
  '{{7*7}}', '%s%s%s%n', '../../../../etc/passwd', '\u202e', '😀', '\u0000', '\ufeff', '<', '>', '&', ']]>',
  '__proto__', 'constructor', 'x'.repeat(4001), 'é'.repeat(300), ' padded ',
  (m) => String(m.int(100_000) - 50_000),
  (m) => 'x'.repeat(m.int(10_000)),
  (m) => Array.from({ length: 1 + m.int(40) }, () => String.fromCharCode(32 + m.int(95))).join(''),
];

const interestingAttributes: Array<(m: Mutator) => [string, string]> = [
  (m) => ['xsi:type', m.pick(['xsd:string', 'xsd:int', 'xsd:boolean', 'xsd:dateTime', 'xsd:double', 'xsd:anyType', 'xsd:base64Binary',
    'Webhook:Webhook', 'Webhook:Associate', 'NetServerServices882:ArrayOfstring', 'nope:int', 'int', ':', 'xsd:'])],
  () => ['xsi:nil', 'true'],
  (m) => ['xsi:nil', m.pick(['1', 'false', 'yes', ''])],
  (m) => ['id', m.pick(['__proto__', 'constructor', 'prototype', 'ref1', ''])],
  (m) => ['href', m.pick(['#__proto__', '#constructor', '#prototype', '#ref1', '#'])],
  () => ['SOAP-ENV:mustUnderstand', '1'],
  () => ['xmlns', 'urn:other'],
  (m) => ['xmlns:Webhook', m.pick(['urn:other', '', 'http://www.superoffice.net/ws/crm/NetServer/Services85'])],
  () => ['SOAP-ENV:encodingStyle', 'http://schemas.xmlsoap.org/soap/encoding/'],
];

const doctypes = [
  '<!DOCTYPE x>',
  '<!DOCTYPE x [<!ENTITY x "y">]>',
  '<!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
  '<!DOCTYPE x SYSTEM "http://127.0.0.1:1/dtd">',
];
