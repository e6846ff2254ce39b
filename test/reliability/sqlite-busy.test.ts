/**
 * SQLite held by another process (issue 8, item 4): an operator's shell keeps BEGIN IMMEDIATE open. The service must
 * keep answering /healthz and reads, and a write must get a clear "database is busy" answer within
 * SQLITE_BUSY_WAIT_MS, not hang for as long as the lock is held. Checked as orderings (every answer arrives while the
 * lock is still held), so a slow machine cannot make the test pass or fail; the times are recorded for the summary.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { ADMIN_PASSWORD, envelope, login, NS88, soapPost, startService, ticketHeaders, type RunningService } from '../helpers/service.js';
import { recordMetric } from './support/harness.js';
import { openSqlite } from './support/sqlite.js';
import { webhookXml } from '../helpers/app.js';

const HOLD_MS = 10_000;
const WAIT_MS = 3_000;
const WEBHOOK = '/Remote/Services88/Webhook.svc';

describe('SQLite locked by another process', { timeout: 120_000 }, () => {
  let svc: RunningService;
  let file: string;
  let ticket: string;
  let tried = 0;
  let passed = 0;
  let note = '';
  let burstNote = '';

  before(async () => {
    file = join(mkdtempSync(join(tmpdir(), 'wa-busy-')), 'wa.sqlite');
    svc = await startService({ DATABASE_URL: `sqlite:${file}`, SQLITE_BUSY_WAIT_MS: String(WAIT_MS), TICKET_CACHE_MS: '60000', PING_ON_SAVE: 'false' });
    ticket = await login(svc.baseUrl);
    // A subscriber, so that SignalEvent writes (an event without subscribers stores nothing).
    const saved = await soapPost(`${svc.baseUrl}${WEBHOOK}`, `${NS88}/Webhook/SaveWebhook`, envelope(
      `<SaveWebhook xmlns="${NS88}" xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">` +
      `${webhookXml({ id: 0, name: 'busy', events: ['busy.probe'], targetUrl: 'http://127.0.0.1:9/busy' })}</SaveWebhook>`, ticketHeaders(ticket)));
    assert.match(saved.text, /<(?:\w+:)?Succeeded[^>]*>true</, saved.text);
  });

  after(async () => {
    recordMetric({ suite: 'sqlite-busy', label: `SQLite locked by another process (${HOLD_MS / 1000} s)`, cases: tried, passed, note: [note, burstNote && `burst (worst per kind): ${burstNote}`].filter(Boolean).join('; ') });
    await svc?.stop();
  });

  const signal = (pk: number) => soapPost(`${svc.baseUrl}${WEBHOOK}`, `${NS88}/Webhook/SignalEvent`,
    envelope(`<SignalEvent xmlns="${NS88}"><EventName>busy.probe</EventName><PrimaryKey>${pk}</PrimaryKey></SignalEvent>`, ticketHeaders(ticket)));
  const getAll = () => soapPost(`${svc.baseUrl}${WEBHOOK}`, `${NS88}/Webhook/GetAllWebhooks`,
    envelope(`<GetAllWebhooks xmlns="${NS88}"/>`, ticketHeaders(ticket)));
  const timed = async <T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; at: number }> => {
    const t0 = performance.now();
    const value = await fn();
    return { value, ms: performance.now() - t0, at: performance.now() };
  };

  test('a burst while the lock is held: every request, logins included, is answered within SQLITE_BUSY_WAIT_MS of being sent', async () => {
    tried += 1;
    const login = (pw: string) => soapPost(`${svc.baseUrl}/Remote/Services88/SoPrincipal.svc`, `${NS88}/SoPrincipal/AuthenticateUsernamePassword`,
      envelope(`<AuthenticateUsernamePassword xmlns="${NS88}"><UserName>admin</UserName><Password>${pw}</Password></AuthenticateUsernamePassword>`,
        `<ApplicationToken xmlns="${NS88}">test</ApplicationToken>`));
    const adminLogin = () => fetch(`${svc.baseUrl}/admin/api/session`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ userName: 'admin', password: ADMIN_PASSWORD }),
    }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const save = (n: number) => soapPost(`${svc.baseUrl}${WEBHOOK}`, `${NS88}/Webhook/SaveWebhook`, envelope(
      `<SaveWebhook xmlns="${NS88}" xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">` +
      `${webhookXml({ id: 0, name: `burst ${n}`, events: ['busy.probe'], targetUrl: 'http://127.0.0.1:9/busy' })}</SaveWebhook>`, ticketHeaders(ticket)));
    const shell = openSqlite(file);
    shell.exec('BEGIN IMMEDIATE');
    const lockedAt = performance.now();
    let released: number;
    const kinds: Array<[string, () => Promise<{ status: number; text: string }>]> = [
      ...[0, 1, 2, 3, 4, 5].map((i): [string, () => Promise<{ status: number; text: string }>] => ['SignalEvent', () => signal(100 + i)]),
      ['SaveWebhook', () => save(1)], ['SaveWebhook', () => save(2)],
      ['login', () => login(ADMIN_PASSWORD)], ['login', () => login(ADMIN_PASSWORD)], ['login', () => login('wrong password')],
      ['admin sign-in', adminLogin],
      ['GetAllWebhooks', getAll],
    ];
    try {
      const results = await Promise.all(kinds.map(async ([kind, fn]) => ({ kind, ...(await timed(fn)) })));
      await new Promise((r) => setTimeout(r, Math.max(0, HOLD_MS - (performance.now() - lockedAt))));
      shell.exec('ROLLBACK');
      released = performance.now();
      const worst = new Map<string, number>();
      for (const r of results) worst.set(r.kind, Math.max(worst.get(r.kind) ?? 0, r.ms));
      burstNote = [...worst].map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join(', ');
      for (const r of results) {
        // Before the fix a request queued behind another's wait waited for the connection and then SQLITE_BUSY_WAIT_MS
        // more: two waits in a row (and more with more writes: 8.7-19.6 s were seen). One wait plus the rest of the
        // work (scrypt on a loaded machine) stays under one and a half.
        assert.ok(r.ms < WAIT_MS * 1.5 + 1_000, `${r.kind} took ${r.ms.toFixed(0)} ms with SQLITE_BUSY_WAIT_MS=${WAIT_MS} (load ${loadavg()[0].toFixed(1)})`);
        assert.ok(r.at < released);
        assert.ok(r.value.status < 500 || /busy/.test(r.value.text), `${r.kind}: ${r.value.status} ${r.value.text.slice(0, 300)}`);
        if (r.kind !== 'GetAllWebhooks' && !/Succeeded[^>]*>true|"ticket"/.test(r.value.text)) assert.match(r.value.text, /database is busy/i, `${r.kind}: ${r.value.text.slice(0, 300)}`);
      }
      assert.match(results.find((r) => r.kind === 'GetAllWebhooks')!.value.text, /<(?:\w+:)?Succeeded[^>]*>true</, 'a read does not need the write lock');
    } finally {
      if (shell.inTransaction) shell.exec('ROLLBACK');
      shell.close();
    }
    assert.match((await signal(200)).text, /<(?:\w+:)?Succeeded[^>]*>true</, 'writes work again once the lock is released');
    passed += 1;
  });

  test('while another process holds the write lock: /healthz and reads answer, a write is refused as busy, then works', async () => {
    tried += 1;
    assert.match((await signal(1)).text, /<(?:\w+:)?Succeeded[^>]*>true</, 'a write works before the lock is taken');
    const shell = openSqlite(file);
    shell.exec('BEGIN IMMEDIATE');
    const lockedAt = performance.now();
    let released: number;
    try {
      const health = await timed(() => fetch(`${svc.baseUrl}/healthz`).then((r) => r.status));
      const read = await timed(getAll);
      // /healthz asked while the write waits for the lock must not wait behind it.
      // Before the fix the write's wait blocked the event loop (busy_timeout 5 s), so /healthz answered only after it.
      const writeStart = performance.now();
      const writing = timed(() => signal(2));
      await new Promise((r) => setTimeout(r, 100));
      const health2 = await timed(() => fetch(`${svc.baseUrl}/healthz`).then((r) => r.status));
      const write = await writing;
      assert.ok(health2.at < writeStart + WAIT_MS, `/healthz (${health2.ms.toFixed(0)} ms) was held up by the write waiting for the lock`);
      assert.ok(write.at < writeStart + WAIT_MS + 2_000, `the write was answered within SQLITE_BUSY_WAIT_MS (${write.ms.toFixed(0)} ms)`);
      // Hold the lock for the rest of HOLD_MS, then let go.
      await new Promise((r) => setTimeout(r, Math.max(0, HOLD_MS - (performance.now() - lockedAt))));
      shell.exec('ROLLBACK');
      released = performance.now();

      note = `/healthz ${health.ms.toFixed(0)} and ${health2.ms.toFixed(0)} ms, read ${read.ms.toFixed(0)} ms, write refused after ${write.ms.toFixed(0)} ms (wait ${WAIT_MS} ms, lock held ${HOLD_MS} ms)`;
      assert.equal(health.value, 200);
      assert.equal(health2.value, 200);
      assert.match(read.value.text, /<(?:\w+:)?Succeeded[^>]*>true</, 'a read does not need the write lock (WAL)');
      assert.equal(write.value.status, 200);
      assert.match(write.value.text, /<(?:\w+:)?Succeeded[^>]*>false</);
      assert.match(write.value.text, /The database is busy: another process holds its write lock; nothing was changed/);
      for (const r of [health, read, write, health2]) assert.ok(r.at < released, 'every answer came while the lock was still held');
    } finally {
      if (shell.inTransaction) shell.exec('ROLLBACK');
      shell.close();
    }
    const after = await signal(3);
    assert.match(after.text, /<(?:\w+:)?Succeeded[^>]*>true</, 'writes work again once the lock is released');
    passed += 1;
  });
});
