/**
 * Trusted proxies only (issue 18, item 3). The service trusts one proxy address (TRUST_PROXY=127.0.0.1); every
 * other loopback address stands for a client that reaches it directly. A direct client that forges
 * X-Forwarded-For, -Proto and -Host gets none of it believed: its guesses are counted under its own address (so
 * rotating forged addresses is throttled as soon as fixed ones are), forging a victim's address does not slow the
 * victim, the WSDL names the address actually called, and the admin origin check uses the real host. Through the
 * trusted proxy the rightmost X-Forwarded-For entry that is not the proxy is the client, and its Proto/Host count.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD } from '../helpers/service.js';
import { recordMetric, startGuardedService, type GuardedService } from './support/harness.js';
import { createClient, type SoapClient } from './support/http-client.js';

const FAILURES = 5;
const GUESSES = 60;
/** A slowed login waits at least 1 s (the first step of the doubling delay); a checked one takes one scrypt. */
const SLOWED_MS = 900;

let svc: GuardedService;
const clients: SoapClient[] = [];
let tried = 0;
let passed = 0;
const notes: string[] = [];
let figure = '';

function from(localAddress: string): SoapClient {
  const c = createClient(svc.baseUrl, { localAddress, maxSockets: 1 });
  clients.push(c);
  return c;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** One Basic-authenticated GET; its status and how long it took. */
async function guess(c: SoapClient, headers: Record<string, string>, password = 'wrong-password'): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const r = await c.request({ method: 'GET', path: '/api/v1/Webhook', headers: { Authorization: basic('admin', password), ...headers }, timeoutMs: 30_000 });
  return { status: r.status, ms: performance.now() - t0 };
}

/** Guesses until the first slowed one (bounded by GUESSES); returns how many went through unslowed. */
async function guessesUntilSlowed(c: SoapClient, forwardedFor: (i: number) => string): Promise<number> {
  for (let i = 0; i < GUESSES; i++) {
    const r = await guess(c, { 'X-Forwarded-For': forwardedFor(i) });
    assert.equal(r.status, 401, `guess ${i + 1} is refused`);
    if (r.ms >= SLOWED_MS) return i;
  }
  return GUESSES;
}

async function check(name: string, fn: () => Promise<void>): Promise<void> {
  tried += 1;
  await fn();
  passed += 1;
  notes.push(name);
}

describe('trusted proxies only (TRUST_PROXY=127.0.0.1)', { timeout: 300_000 }, () => {
  before(async () => {
    svc = await startGuardedService({
      TRUST_PROXY: '127.0.0.1', LOGIN_FAILURES_PER_WINDOW: String(FAILURES), LOGIN_WINDOW_MS: '600000', LOGIN_MAX_DELAY_MS: '1000',
      TICKET_CACHE_MS: '0',
    });
  });

  after(async () => {
    for (const c of clients) c.close();
    recordMetric({ suite: 'trusted-proxy', label: 'forged X-Forwarded-* (trusted proxies only)', cases: tried, passed, note: [figure, ...notes].filter(Boolean).join('; ') });
    await svc?.stop();
  });

  test(`${GUESSES} guesses from an untrusted peer with rotating forged X-Forwarded-For are throttled after ${FAILURES}`, async () => {
    await check('untrusted rotating XFF', async () => {
      const n = await guessesUntilSlowed(from('127.0.0.2'), (i) => `198.51.100.${i + 1}`);
      figure = `${GUESSES} guesses with rotating forged X-Forwarded-For slowed after ${n}`;
      assert.equal(n, FAILURES, `the forged addresses must not count: slowed after ${n} guesses`);
    });
    // The guesser forged 198.51.100.x; a real client at one of those addresses cannot be reached here, but the
    // victim whose address a guesser forges can: 127.0.0.3 logs in at once, with the right password.
    await check('victim of a forged address not slowed', async () => {
      for (let i = 0; i < FAILURES + 2; i++) await guess(from('127.0.0.4'), { 'X-Forwarded-For': '127.0.0.3' });
      const r = await guess(from('127.0.0.3'), {}, ADMIN_PASSWORD);
      assert.equal(r.status, 200);
      assert.ok(r.ms < SLOWED_MS, `the victim's own login took ${r.ms.toFixed(0)} ms`);
    });
  });

  test('through the trusted proxy the rightmost untrusted X-Forwarded-For entry is the client', async () => {
    const proxy = from('127.0.0.1');
    await check('trusted chain: rotating leftmost entries count as the one real client', async () => {
      const n = await guessesUntilSlowed(proxy, (i) => `203.0.113.${i + 1}, 127.0.0.9`);
      assert.equal(n, FAILURES, `slowed after ${n} guesses`);
    });
    await check('trusted chain: another client behind the proxy is not slowed', async () => {
      const r = await guess(proxy, { 'X-Forwarded-For': '127.0.0.9, 127.0.0.10' }, ADMIN_PASSWORD);
      assert.equal(r.status, 200);
      assert.ok(r.ms < SLOWED_MS, `took ${r.ms.toFixed(0)} ms`);
    });
    await check('logs name the forwarded client through the proxy, the peer otherwise', async () => {
      assert.match(svc.output(), /"client":"127\.0\.0\.9"/);
      assert.match(svc.output(), /"client":"127\.0\.0\.2"/);
      assert.doesNotMatch(svc.output(), /"client":"198\.51\.100\./, 'a forged address reached the log');
    });
  });

  test('X-Forwarded-Proto/Host count only from the trusted proxy (WSDL address, admin origin check)', async () => {
    const forged = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'public.example' };
    const wsdl = (c: SoapClient) => c.request({ method: 'GET', path: '/Remote/Services88/Webhook.svc?wsdl', headers: forged });
    await check('WSDL address', async () => {
      assert.match((await wsdl(from('127.0.0.2'))).text, new RegExp(`location="http://127\\.0\\.0\\.1:${svc.port}/Remote/Services88/Webhook\\.svc"`));
      assert.match((await wsdl(from('127.0.0.1'))).text, /location="https:\/\/public\.example\/Remote\/Services88\/Webhook\.svc"/);
    });
    await check('admin origin check', async () => {
      const signIn = (c: SoapClient) => c.request({
        method: 'POST', path: '/admin/api/session',
        headers: { ...forged, Origin: 'https://public.example', 'Content-Type': 'application/json' },
        body: JSON.stringify({ userName: 'admin', password: ADMIN_PASSWORD }),
      });
      assert.equal((await signIn(from('127.0.0.5'))).status, 401, 'a direct peer cannot make its forged host our origin');
      assert.equal((await signIn(from('127.0.0.1'))).status, 200, 'the proxy\'s forwarded host is our origin');
    });
  });
});
