/**
 * What the service answered, read the way a client reads it, and the rules every answer must keep: no internals
 * on the wire, faults are SOAP 1.1, business errors are Succeeded=false with an ExceptionInfo. Well-formedness is
 * judged by xmllint (libxml2), not by our own code.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { HttpResult } from './http-client.js';
import { decodeEntities } from './xml-tree.js';

export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

/** Traces of a stack or of the source tree; none may appear in any response. */
export const leakMarkers = ['    at ', '.ts:', 'node_modules'];

export function leaksIn(text: string): string[] {
  return leakMarkers.filter((m) => text.includes(m));
}

export interface SoapAnswer {
  fault: { code: string; reason: string } | null;
  /** The Succeeded response header, null when absent. */
  succeeded: boolean | null;
  /** ExceptionInfo/Message, null when ExceptionInfo is nil or absent. */
  exceptionMessage: string | null;
}

function elementText(xml: string, local: string): string | null {
  const m = new RegExp(`<(?:[\\w.-]+:)?${local}(?:\\s[^>]*)?>([^<]*)</(?:[\\w.-]+:)?${local}>`).exec(xml);
  return m ? decodeEntities(m[1]) : null;
}

export function readAnswer(text: string): SoapAnswer {
  const faultBlock = /<(?:[\w.-]+:)?Fault[\s>][\s\S]*<\/(?:[\w.-]+:)?Fault>/.exec(text)?.[0];
  const fault = faultBlock
    ? { code: elementText(faultBlock, 'faultcode') ?? '', reason: elementText(faultBlock, 'faultstring') ?? '' }
    : null;
  const s = elementText(text, 'Succeeded');
  const info = /<(?:[\w.-]+:)?ExceptionInfo(?:\s[^>]*)?>([\s\S]*?)<\/(?:[\w.-]+:)?ExceptionInfo>/.exec(text)?.[1];
  return {
    fault,
    succeeded: s === null ? null : s.trim() === 'true',
    exceptionMessage: info ? elementText(info, 'Message') : null,
  };
}

export function assertNoLeak(res: Pick<HttpResult, 'text'>, what = 'response'): void {
  const found = leaksIn(res.text);
  assert.deepEqual(found, [], `${what} leaks internals (${found.join(', ')}): ${res.text.slice(0, 600)}`);
}

/** A SOAP 1.1 fault (HTTP 500/413/415, or 400 for an unreadable body) with a faultcode and a reason. */
export function isSoap11Fault(res: HttpResult): boolean {
  const a = readAnswer(res.text);
  return [400, 413, 415, 500].includes(res.status) && res.text.includes(SOAP11_NS) && a.fault !== null &&
    /^\w+:(Client|Server|VersionMismatch|MustUnderstand)/.test(a.fault.code) && a.fault.reason.length > 0;
}

/** HTTP 200, Succeeded=false, ExceptionInfo with a message. */
export function isExceptionInfo(res: HttpResult): boolean {
  const a = readAnswer(res.text);
  return res.status === 200 && a.succeeded === false && !!a.exceptionMessage;
}

/** The hostile-input rule: a clear fault or a clear ExceptionInfo, never internals. */
export function assertClearRefusal(res: HttpResult, what: string): SoapAnswer {
  assertNoLeak(res, what);
  const a = readAnswer(res.text);
  assert.ok(isSoap11Fault(res) || isExceptionInfo(res),
    `${what}: expected a SOAP 1.1 fault (500/413/415) or Succeeded=false with ExceptionInfo, got HTTP ${res.status}: ${res.text.slice(0, 800)}`);
  if (res.status !== 200 || a.fault) {
    assert.match(String(res.headers['content-type']), /^text\/xml/, `${what}: fault Content-Type`);
  }
  return a;
}

export function assertSucceeded(res: HttpResult, what: string): void {
  assertNoLeak(res, what);
  const a = readAnswer(res.text);
  assert.ok(res.status === 200 && a.succeeded === true,
    `${what}: expected HTTP 200 Succeeded=true, got ${res.status}: ${a.exceptionMessage ?? a.fault?.reason ?? res.text.slice(0, 800)}`);
}

function xmllint(input: string): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('xmllint', ['--noout', '--huge', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ ok: code === 0, stderr }));
    p.stdin.end(input);
  });
}

const stripDecl = (doc: string) => doc.replace(/^\uFEFF?<\?xml[^>]*\?>/, '');

/**
 * The documents that are not well-formed XML 1.0 (xmllint). Checked in batches wrapped in one root element;
 * a failing batch is split until the culprits are found.
 */
export async function malformedDocuments(docs: string[], batch = 500): Promise<Array<{ doc: string; error: string }>> {
  const bad: Array<{ doc: string; error: string }> = [];
  async function check(group: string[]): Promise<void> {
    if (group.length === 0) return;
    const r = await xmllint(`<batch>${group.map(stripDecl).join('')}</batch>`);
    if (r.ok) return;
    if (group.length === 1) {
      bad.push({ doc: group[0], error: r.stderr.split('\n').slice(0, 3).join(' ') });
      return;
    }
    const mid = Math.floor(group.length / 2);
    await check(group.slice(0, mid));
    if (bad.length < 20) await check(group.slice(mid));
  }
  for (let i = 0; i < docs.length && bad.length < 20; i += batch) await check(docs.slice(i, i + batch));
  return bad;
}

export async function assertWellFormed(doc: string, what: string): Promise<void> {
  const bad = await malformedDocuments([doc]);
  assert.equal(bad.length, 0, `${what}: not well-formed XML (${bad[0]?.error}): ${doc.slice(0, 800)}`);
}
