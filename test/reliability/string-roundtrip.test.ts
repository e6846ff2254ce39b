/**
 * CDATA, markup and XML-illegal characters in every string field of SaveWebhook (issue 4, part 1).
 *
 * For each field and each kind of value the service either refuses the save clearly (a SOAP 1.1 fault, or
 * Succeeded=false with an ExceptionInfo; for a field with a format, naming the field), or saves it; then the
 * SaveWebhook answer and a GetWebhook of the hook must be well-formed XML (xmllint) and give back the value an XML
 * parser read from the request, minus the characters XML 1.0 cannot carry (and trimmed for the fields the service
 * trims). Free-text fields must accept markup, CDATA and any legal Unicode.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequest, type WebhookFields } from './support/envelopes.js';
import { openSession, recordMetric, type Session } from './support/harness.js';
import type { HttpResult } from './support/http-client.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { assertClearRefusal, assertNoLeak, assertSucceeded, assertWellFormed, readAnswer } from './support/wire.js';
import { childElements, escapeText, findFirst, findPath, getText, parseXml, type XmlElement } from './support/xml-tree.js';
import { requires } from '../helpers/requires.js';

const relReqs = await requires('xmllint');

let s: Session;
let receiver: Receiver;
let tried = 0;
let passed = 0;
const PLACEHOLDER = 'ZZPLACEHOLDERZZ';

interface Variant {
  name: string;
  /** Written into the request as is. */
  raw: string;
  /** What an XML parser reads from `raw` (before the service applies any rule). */
  parsed: string;
  /** Every character is legal XML 1.0. */
  legal: boolean;
}

const markup = `a <![CDATA[ b ]]> & <c/> "d" 'e' ]]> f`;
const cdataInner = '<x>&amp;</x> ]] > "q"';
const variants: Variant[] = [
  { name: 'markup and a CDATA-lookalike, escaped', raw: escapeText(markup), parsed: markup, legal: true },
  { name: 'a CDATA section', raw: `<![CDATA[${cdataInner}]]>`, parsed: cdataInner, legal: true },
  { name: 'two CDATA sections and text', raw: `x<![CDATA[<y>]]>&amp;<![CDATA[]]]]><![CDATA[>]]>`, parsed: 'x<y>&]]>', legal: true },
  { name: 'non-ASCII and separators', raw: 'æøå 😀 \u2028\u0085 €', parsed: 'æøå 😀 \u2028\u0085 €', legal: true },
  { name: 'CR LF tab as references', raw: 'a&#13;&#10;b&#9;c', parsed: 'a\r\nb\tc', legal: true },
  { name: 'raw C0 controls, U+FFFE and U+FFFF', raw: 'a\u0001b\u0008c\u000bd\u001fe\ufffef\uffffg', parsed: 'a\u0001b\u0008c\u000bd\u001fe\ufffef\uffffg', legal: false },
  { name: 'C0 controls as character references', raw: 'a&#1;b&#x8;c&#xB;d&#x1F;e&#xFFFE;f', parsed: 'a\u0001b\u0008c\u000bd\u001fe\ufffef', legal: false },
  { name: 'NUL as a character reference', raw: 'a&#0;b', parsed: 'a\u0000b', legal: false },
];

/** Characters XML 1.0 allows. */
const illegalXml = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

interface Field {
  /** The WSDL field the ExceptionInfo should name. */
  name: string;
  label?: string;
  /** Only free text: the service must accept every legal value. */
  free: boolean;
  trimmed: boolean;
  /** Puts the placeholder into the webhook. */
  set(w: WebhookFields): void;
  /** The field's value in a Response Webhook element. */
  read(resp: XmlElement): string | null;
  /** Prefix/suffix the service sees around the value (TargetUrl is a URL around it). */
  wrap?: (v: string) => string;
}

function text(resp: XmlElement, name: string): string | null {
  const el = findPath(resp, [name]);
  return el ? getText(el) : null;
}

function pairs(resp: XmlElement, dict: string): Array<{ key: string; value: string }> {
  const d = findPath(resp, [dict]);
  if (!d) return [];
  return childElements(d).map((p) => ({ key: text(p, 'Key') ?? '', value: text(p, 'Value') ?? '' }));
}

const fields: Field[] = [
  { name: 'Name', free: true, trimmed: true, set: (w) => (w.name = PLACEHOLDER), read: (r) => text(r, 'Name') },
  { name: 'Description', free: true, trimmed: true, set: (w) => (w.description = PLACEHOLDER), read: (r) => text(r, 'Description') },
  { name: 'Secret', free: true, trimmed: false, set: (w) => (w.secret = PLACEHOLDER), read: (r) => text(r, 'Secret') },
  {
    name: 'Properties', label: 'Properties value', free: true, trimmed: false, set: (w) => (w.properties = { prop: { type: 'string', value: PLACEHOLDER } }),
    read: (r) => pairs(r, 'Properties').find((p) => p.key === 'prop')?.value ?? null,
  },
  {
    name: 'Properties', label: 'Properties key', free: true, trimmed: false, set: (w) => (w.properties = { [PLACEHOLDER]: { type: 'string', value: 'v' } }),
    read: (r) => pairs(r, 'Properties')[0]?.key ?? null,
  },
  {
    name: 'Headers', label: 'Headers value', free: false, trimmed: false, set: (w) => (w.headers = { 'X-Test': PLACEHOLDER }),
    read: (r) => pairs(r, 'Headers').find((p) => p.key === 'X-Test')?.value ?? null,
  },
  {
    name: 'Headers', label: 'Headers key', free: false, trimmed: true, set: (w) => (w.headers = { [PLACEHOLDER]: 'v' }),
    read: (r) => pairs(r, 'Headers')[0]?.key ?? null,
  },
  {
    name: 'TargetUrl', free: false, trimmed: true, set: (w) => (w.targetUrl = `${receiver.url}?q=${PLACEHOLDER}`),
    read: (r) => text(r, 'TargetUrl'), wrap: (v) => `${receiver.url}?q=${v}`,
  },
  {
    name: 'Events', free: false, trimmed: true, set: (w) => (w.events = ['contact.created', PLACEHOLDER]),
    read: (r) => {
      const ev = findPath(r, ['Events']);
      return ev ? childElements(ev).map(getText)[1] ?? null : null;
    },
  },
  { name: 'Type', free: false, trimmed: true, set: (w) => (w.type = PLACEHOLDER), read: (r) => text(r, 'Type') },
  { name: 'ErrorsEmail', free: false, trimmed: true, set: (w) => (w.errorsEmail = PLACEHOLDER), read: (r) => text(r, 'ErrorsEmail') },
  {
    name: 'ErrorEmails', free: false, trimmed: true, set: (w) => (w.errorEmails = [PLACEHOLDER]),
    read: (r) => {
      const ev = findPath(r, ['ErrorEmails']);
      return ev ? childElements(ev).map(getText)[0] ?? null : null;
    },
  },
];

function responseWebhook(doc: string): XmlElement {
  const resp = findFirst(parseXml(doc), 'Response');
  assert.ok(resp, `no Response element in ${doc.slice(0, 500)}`);
  return resp;
}

function expectedValue(f: Field, v: Variant): string {
  let e = v.parsed.replace(illegalXml, '');
  if (f.wrap) e = f.wrap(e);
  return f.trimmed ? e.trim() : e;
}

describe('string fields of SaveWebhook round-trip', { ...relReqs, timeout: 240_000 }, () => {
  before(async () => {
    receiver = await startReceiver('ok');
    s = await openSession({ PING_ON_SAVE: 'false' });
  });

  after(async () => {
    recordMetric({ suite: 'string-roundtrip', cases: tried, passed });
    // Every hook saved above in one answer: still well-formed. The service is stopped whatever happens here: a
    // child process left running keeps the test file from ever ending.
    try {
      if (s) {
        const all = await s.client.soap(buildRequest({ op: 'GetAllWebhooks' }, s.ticket)).finally(() => s.close());
        await assertWellFormed(all.text, 'GetAllWebhooks after the round-trip saves');
      }
    } finally {
      await receiver?.close();
    }
  });

  for (const f of fields) {
    for (const v of variants) {
      test(`${f.label ?? f.name}: ${v.name}`, async () => {
        tried += 1;
        const w: WebhookFields = { name: 'roundtrip', events: ['contact.created'], targetUrl: receiver.url };
        f.set(w);
        const req = buildRequest({ op: 'SaveWebhook', webhook: w }, s.ticket);
        assert.ok(req.xml.includes(PLACEHOLDER));
        req.xml = req.xml.split(PLACEHOLDER).join(v.raw);
        const saved: HttpResult = await s.client.soap(req);
        assertNoLeak(saved);
        await assertWellFormed(saved.text, 'SaveWebhook answer');
        const a = readAnswer(saved.text);
        if (!(saved.status === 200 && a.succeeded === true)) {
          assertClearRefusal(saved, `SaveWebhook with ${f.name} = ${v.name}`);
          assert.ok(!(f.free && v.legal), `${f.name} is free text and '${v.name}' is legal XML, but the save was refused: ${a.exceptionMessage ?? a.fault?.reason}`);
          if (v.legal && a.exceptionMessage !== null) {
            assert.match(a.exceptionMessage, new RegExp(f.name), 'the ExceptionInfo names the field');
          }
        } else {
          const expected = expectedValue(f, v);
          const fromSave = f.read(responseWebhook(saved.text));
          assert.equal(fromSave, expected, `SaveWebhook answer: ${f.name}`);
          const id = Number(text(responseWebhook(saved.text), 'WebhookId'));
          const got = await s.client.soap(buildRequest({ op: 'GetWebhook', webhookId: id }, s.ticket));
          assertSucceeded(got, 'GetWebhook');
          await assertWellFormed(got.text, 'GetWebhook answer');
          assert.equal(f.read(responseWebhook(got.text)), expected, `GetWebhook: ${f.name}`);
        }
        const normal = await s.client.soap(buildRequest({ op: 'GetAllWebhooks', nameFilter: 'nothing-like-this' }, s.ticket));
        assertSucceeded(normal, 'normal request afterwards');
        passed += 1;
      });
    }
  }
});
