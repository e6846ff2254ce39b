/**
 * Authentication under attack (issue 4, part 2): every Webhook operation refuses a missing, nil, empty, malformed,
 * forged, expired or deleted-associate ticket without doing anything (no hook saved or deleted, no event queued,
 * no test POST, no data in the answer); failed logins slow that user name down from that address only; and no ticket ever
 * reaches the service's log, even at LOG_LEVEL=debug.
 *
 * The service runs with a small login window (3 failures per 4 s); the expiry test has a service of its own with
 * TICKET_TTL_MS=1500.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { login } from '../helpers/service.js';
import { buildRequest, requestTree, fromTree, webhookOperations, type RequestInput, type WebhookOperation } from './support/envelopes.js';
import { freshSqliteUrl, openSession, recordMetric, runCli, type Session } from './support/harness.js';
import { createClient, type HttpResult, type SoapClient } from './support/http-client.js';
import { startReceiver, waitFor, type Receiver } from './support/receiver.js';
import { assertClearRefusal, assertSucceeded, readAnswer } from './support/wire.js';
import { findFirst, mustFind, setAttr } from './support/xml-tree.js';
import { openSqlite } from './support/sqlite.js';
import { requires } from '../helpers/requires.js';

const relReqs = await requires('xmllint');

const TTL_MS = 1500;
/** How long the service trusts a validated ticket before asking the database again (revocations by another
 * process, like the SQL below, take effect within it). */
const CACHE_MS = 1000;
const FAILURES = 3;
const WINDOW_MS = 4000;

let s: Session;
let receiver: Receiver;
let dbFile = '';
let victimId = 0;
const seenTickets: string[] = [];
let tried = 0;
let passed = 0;
/** The login-throttle cases (issue 8 item 2) get a row of their own in the reliability table. */
const throttle = { tried: 0, passed: 0 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inputFor(op: WebhookOperation): RequestInput {
  switch (op) {
    case 'CreateDefaultWebhook':
      return { op };
    case 'SaveWebhook':
      return { op, webhook: { name: 'intruder-hook', events: ['auth.probe'], targetUrl: receiver.url } };
    case 'TestWebhook':
      return { op, webhook: { name: 'intruder-test', events: ['auth.probe'], targetUrl: receiver.url } };
    case 'SignalEvent':
      return { op, eventName: 'auth.probe', primaryKey: 7 };
    case 'GetAllWebhooks':
      return { op };
    case 'DeleteWebhook':
    case 'GetWebhook':
    case 'GetLastError':
      return { op, webhookId: victimId };
  }
}

/** The side effects a refused call must not have had. */
async function assertNothingHappened(what: string): Promise<void> {
  const all = await s.client.soap(buildRequest({ op: 'GetAllWebhooks' }, s.ticket));
  assertSucceeded(all, 'GetAllWebhooks with the admin ticket');
  assert.match(all.text, /auth-victim/, `${what}: the victim hook is still there`);
  assert.doesNotMatch(all.text, /intruder-hook/, `${what}: no hook was saved`);
  await sleep(150);
  assert.equal(receiver.deliveries.length, 0, `${what}: nothing reached the receiver (${JSON.stringify(receiver.deliveries.map((d) => d.event))})`);
}

function assertRefused(r: HttpResult, what: string): void {
  assertClearRefusal(r, what);
  const a = readAnswer(r.text);
  assert.notEqual(a.succeeded, true, `${what}: Succeeded must not be true`);
  assert.doesNotMatch(r.text, /auth-victim/, `${what}: the answer carries webhook data`);
  assert.doesNotMatch(r.text, /contact\.created/, `${what}: the answer carries default webhook data`);
}

type TicketCase = { name: string; apply: (op: WebhookOperation) => Promise<string> | string };

describe('authentication', { ...relReqs, timeout: 180_000 }, () => {
  before(async () => {
    receiver = await startReceiver('ok');
    const db = freshSqliteUrl();
    dbFile = db.file;
    s = await openSession({
      DATABASE_URL: db.url, PING_ON_SAVE: 'false', LOG_LEVEL: 'debug', TICKET_CACHE_MS: String(CACHE_MS),
      LOGIN_FAILURES_PER_WINDOW: String(FAILURES), LOGIN_WINDOW_MS: String(WINDOW_MS), LOGIN_MAX_DELAY_MS: '300',
    });
    seenTickets.push(s.ticket);
    const saved = await s.client.soap(buildRequest({ op: 'SaveWebhook', webhook: { name: 'auth-victim', events: ['auth.probe'], targetUrl: receiver.url } }, s.ticket));
    assertSucceeded(saved, 'victim SaveWebhook');
    victimId = Number(/<(?:\w+:)?WebhookId>(\d+)</.exec(saved.text)?.[1]);
    await runCli(['user', 'add', 'bob', '--password', 'bob-password-1'], { DATABASE_URL: db.url });
    await runCli(['user', 'add', 'carol', '--password', 'carol-password-1'], { DATABASE_URL: db.url });
    await runCli(['user', 'add', 'dave', '--password', 'dave-password-1'], { DATABASE_URL: db.url });
  });

  after(async () => {
    recordMetric({ suite: 'auth', cases: tried, passed });
    recordMetric({
      suite: 'auth-throttle', label: 'login throttle (user name + address)', cases: throttle.tried, passed: throttle.passed,
      note: `slowed after ${FAILURES} failures per ${WINDOW_MS / 1000} s window, not refused; the owner from another address unaffected; a parallel burst cannot outrun it`,
    });
    await s?.close();
    await receiver?.close();
  });

  const cases: TicketCase[] = [
    { name: 'missing Credentials header', apply: () => '' },
    { name: 'empty ticket', apply: () => '' },
    { name: 'whitespace ticket', apply: () => '   ' },
    { name: 'malformed ticket (no 7T: prefix)', apply: () => randomBytes(32).toString('base64') },
    { name: 'malformed ticket (SQL)', apply: () => "7T:' OR '1'='1" },
    { name: 'malformed ticket (far too long)', apply: () => `7T:${'A'.repeat(100_000)}` },
    {
      name: 'forged well-formed ticket', apply: () => {
        const t = `7T:${randomBytes(32).toString('base64')}`;
        seenTickets.push(t);
        return t;
      },
    },
    { name: 'admin ticket with one character changed', apply: () => s.ticket.slice(0, -3) + (s.ticket.at(-3) === 'A' ? 'B' : 'A') + s.ticket.slice(-2) },
    { name: 'admin ticket with a case change', apply: () => s.ticket.replace(/[a-z]/, (c) => c.toUpperCase()) },
  ];

  for (const c of cases) {
    describe(c.name, () => {
      for (const op of webhookOperations) {
        test(op, async () => {
          tried += 1;
          const ticket = await c.apply(op);
          const env = requestTree(inputFor(op), ticket);
          if (c.name === 'missing Credentials header') {
            const header = mustFind(env, ['Header']);
            header.children = header.children.filter((n) => !('name' in n && n.name.endsWith('Credentials')));
          }
          const r = await s.client.soap(fromTree(op, env));
          assertRefused(r, `${op} with ${c.name}`);
          await assertNothingHappened(`${op} with ${c.name}`);
          passed += 1;
        });
      }
    });
  }

  test('nil Credentials and nil Ticket are refused', async () => {
    tried += 1;
    for (const target of ['Credentials', 'Ticket']) {
      const env = requestTree(inputFor('SaveWebhook'), 'x');
      const el = findFirst(mustFind(env, ['Header']), target)!;
      el.children = [];
      setAttr(el, 'xsi:nil', 'true');
      const r = await s.client.soap(fromTree('SaveWebhook', env));
      assertRefused(r, `nil ${target}`);
    }
    await assertNothingHappened('nil credentials');
    passed += 1;
  });

  test('a ticket in the body instead of the header is not a credential', async () => {
    tried += 1;
    const env = requestTree(inputFor('GetAllWebhooks'), null);
    const body = mustFind(env, ['Body']);
    body.children.unshift({ raw: `<Credentials xmlns="http://www.superoffice.net/ws/crm/NetServer/Services88"><Ticket>${s.ticket}</Ticket></Credentials>` });
    const r = await s.client.soap(fromTree('GetAllWebhooks', env));
    // Either the extra body element is a protocol fault or the call is unauthenticated; never the data.
    assertRefused(r, 'ticket in the body');
    passed += 1;
  });

  test('an expired ticket is refused for every operation; a ticket in use slides', async () => {
    tried += 1;
    // A service of its own with a short ticket lifetime (the other tests need tickets that last).
    const short = await openSession({ PING_ON_SAVE: 'false', LOG_LEVEL: 'debug', TICKET_TTL_MS: String(TTL_MS), TICKET_CACHE_MS: '0' });
    try {
      seenTickets.push(short.ticket);
      const victim = await short.client.soap(buildRequest({ op: 'SaveWebhook', webhook: { name: 'auth-victim', events: ['auth.probe'], targetUrl: receiver.url } }, short.ticket));
      assertSucceeded(victim, 'victim on the short-lived service');
      const id = Number(/<(?:\w+:)?WebhookId>(\d+)</.exec(victim.text)?.[1]);
      const expiring = await login(short.service.baseUrl);
      const sliding = await login(short.service.baseUrl);
      seenTickets.push(expiring, sliding);
      assertSucceeded(await short.client.soap(buildRequest({ op: 'GetWebhook', webhookId: id }, expiring)), 'fresh ticket works');
      // `sliding` is used every TTL/3 while `expiring` sits unused for twice its lifetime.
      for (let i = 0; i < 6; i++) {
        await sleep(TTL_MS / 3);
        assertSucceeded(await short.client.soap(buildRequest({ op: 'GetWebhook', webhookId: id }, sliding)), `use #${i} of a sliding ticket`);
      }
      for (const op of webhookOperations) {
        const input = op === 'DeleteWebhook' || op === 'GetWebhook' || op === 'GetLastError' ? { op, webhookId: id } : inputFor(op);
        const r = await short.client.soap(buildRequest(input, expiring));
        assertRefused(r, `${op} with an expired ticket`);
      }
      const fresh = await login(short.service.baseUrl);
      seenTickets.push(fresh);
      const all = await short.client.soap(buildRequest({ op: 'GetAllWebhooks' }, fresh));
      assertSucceeded(all, 'GetAllWebhooks');
      assert.match(all.text, /auth-victim/, 'DeleteWebhook with an expired ticket deleted the hook');
      assert.doesNotMatch(all.text, /intruder-hook/, 'SaveWebhook with an expired ticket saved a hook');
      const log = short.service.output();
      for (const t of seenTickets) assert.ok(!log.includes(t.slice(3, 30)), 'a ticket appears in the short-lived service\'s log');
      passed += 1;
    } finally {
      await short.close();
    }
  });

  test('a ticket in continuous use does not expire when TICKET_TTL_MS <= TICKET_CACHE_MS', async () => {
    tried += 1;
    // Default TICKET_CACHE_MS (5 s) with a ticket lifetime shorter than it.
    const short = await openSession({ PING_ON_SAVE: 'false', TICKET_TTL_MS: String(TTL_MS) });
    try {
      const ticket = await login(short.service.baseUrl);
      seenTickets.push(ticket);
      for (let i = 0; i < 8; i++) {
        assertSucceeded(await short.client.soap(buildRequest({ op: 'GetAllWebhooks' }, ticket)), `use #${i} (every ${TTL_MS / 3} ms) of a ticket with a ${TTL_MS} ms lifetime`);
        await sleep(TTL_MS / 3);
      }
      passed += 1;
    } finally {
      await short.close();
    }
  });

  test('a deleted associate\'s ticket is refused', async () => {
    tried += 1;
    const ticket = await login(s.service.baseUrl, 'dave', 'dave-password-1');
    seenTickets.push(ticket);
    assertSucceeded(await s.client.soap(buildRequest({ op: 'GetWebhook', webhookId: victimId }, ticket)), 'dave before deletion');
    // No CLI command deletes an associate; NetServer marks the row, so do what it does.
    const db = openSqlite(dbFile);
    try {
      assert.equal(db.prepare('UPDATE associate SET deleted = 1 WHERE lower(name) = ?').run('dave').changes, 1);
    } finally {
      db.close();
    }
    await sleep(CACHE_MS + 500);
    for (const op of webhookOperations) {
      const r = await s.client.soap(buildRequest(inputFor(op), ticket));
      assertRefused(r, `${op} with a deleted associate's ticket`);
    }
    await assertNothingHappened('deleted associate');
    // And the deleted associate cannot log in again.
    const again = await s.client.soap(buildRequest({ op: 'AuthenticateUsernamePassword', userName: 'dave', password: 'dave-password-1' }, null));
    assert.doesNotMatch(again.text, /<(?:\w+:)?Ticket>7T:/, 'a deleted associate got a ticket');
    passed += 1;
  });

  /** The service's JSON log lines with this message. */
  const logLines = (msg: string) => s.service.output().split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o.msg === msg);

  test('failed logins slow that name down from that address only: the owner elsewhere gets in at once', async () => {
    throttle.tried += 1;
    const from = (address: string) => createClient(s.service.baseUrl, { localAddress: address, maxSockets: 1 });
    const attacker = from('127.0.0.2');
    const owner = from('127.0.0.1');
    try {
      const attempt = (c: SoapClient, userName: string, password: string) =>
        c.soap(buildRequest({ op: 'AuthenticateUsernamePassword', userName, password }, null));
      const gotTicket = (r: HttpResult) => {
        const t = /<(?:\w+:)?Ticket>(7T:[^<]+)</.exec(r.text)?.[1];
        if (t) seenTickets.push(t);
        return t !== undefined && /<(?:\w+:)?AuthenticationSucceeded>true</.test(r.text);
      };
      // Every spelling the lookup treats as bob counts against one key.
      for (const spelling of ['bob', 'BOB', ' bob ', 'Bob\u00a0', '\ufeffbob']) {
        const r = await attempt(attacker, spelling, 'wrong');
        assert.ok(!gotTicket(r), 'a wrong password gives no ticket');
        assert.match(r.text, /<(?:\w+:)?AuthenticationSucceeded>false</);
      }
      // Log lines reach us through a pipe, after the answers: wait for all five.
      const attackerFailures = () => logLines('login failed').filter((o) => o.userName !== undefined && String(o.client).endsWith('127.0.0.2'));
      await waitFor(() => attackerFailures().length >= 5, 10_000, 'five failed-login log lines');
      // Past the limit, each check came at least LOGIN_MAX_DELAY_MS after the previous failure (a lower bound:
      // a slow machine only widens the gaps), whatever the spelling.
      const times = attackerFailures().map((o) => Number(o.time));
      for (let i = FAILURES; i < times.length; i++) {
        assert.ok(times[i] - times[i - 1] >= 300, `failure ${i + 1} came ${times[i] - times[i - 1]} ms after the previous one`);
      }
      // The owner, from his own address, is neither refused nor slowed.
      assert.ok(gotTicket(await attempt(owner, 'bob', 'bob-password-1')), 'bob logs in from his address');
      assert.equal(logLines('login slowed down after repeated failures').filter((o) => String(o.client).endsWith('127.0.0.1')).length, 0,
        'the owner was not slowed');
      // From the attacker's address the right password still works, only later (slowed, not locked out).
      assert.ok(gotTicket(await attempt(attacker, 'bob', 'bob-password-1')), 'slowed, not refused');
      assert.ok(logLines('login failed').some((o) => o.userName === 'bob' && String(o.client).endsWith('127.0.0.2')),
        'failed logins are logged at warn with user name and client address');
    } finally {
      attacker.close();
      owner.close();
    }
    throttle.passed += 1;
  });

  test('a burst of parallel guesses cannot outrun the throttle', async () => {
    throttle.tried += 1;
    await runCli(['user', 'add', 'erin', '--password', 'erin-password-1'], { DATABASE_URL: `sqlite:${dbFile}` });
    const burstClient = createClient(s.service.baseUrl, { localAddress: '127.0.0.3', maxSockets: 30 });
    try {
      const guesses = await Promise.all(Array.from({ length: 30 }, (_, i) =>
        burstClient.soap(buildRequest({ op: 'AuthenticateUsernamePassword', userName: 'erin', password: `guess-${i}` }, null), { timeoutMs: 120_000 })));
      for (const g of guesses) assertSucceeded(g, 'login answer');
    } finally {
      burstClient.close();
    }
    const mine = (o: Record<string, unknown>) => o.userName === 'erin' && String(o.client).endsWith('127.0.0.3');
    const uncheckedMsg = 'login refused unchecked: too many attempts for this user name from this address are waiting';
    await waitFor(() => logLines('login failed').filter(mine).length + logLines(uncheckedMsg).filter(mine).length >= 30, 10_000,
      'a log line for each of the 30 guesses');
    const failures = logLines('login failed').filter(mine);
    const checked = failures.length;
    const times = failures.map((o) => Number(o.time));
    for (let i = FAILURES; i < times.length; i++) {
      assert.ok(times[i] - times[i - 1] >= 300, `check ${i + 1} came ${times[i] - times[i - 1]} ms after the previous failure`);
    }
    const unchecked = logLines(uncheckedMsg).filter(mine).length;
    assert.equal(checked + unchecked, 30, 'every guess is accounted for');
    assert.ok(unchecked > 0, 'attempts beyond the per-key queue were answered at once, unchecked');
    throttle.passed += 1;
  });

  test('no ticket appears in the service log (LOG_LEVEL=debug)', () => {
    tried += 1;
    const log = s.service.output();
    assert.ok(log.length > 0, 'the service logged something at debug level');
    for (const t of seenTickets) {
      assert.ok(!log.includes(t), `a ticket appears in the log: ${t.slice(0, 8)}...`);
      assert.ok(!log.includes(t.slice(3, 30)), 'the base64 part of a ticket appears in the log');
      assert.ok(!log.includes(encodeURIComponent(t).slice(0, 30)), 'a URL-encoded ticket appears in the log');
    }
    passed += 1;
  });
});
