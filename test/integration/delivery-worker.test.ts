/**
 * The worker against real databases (SQLite, PostgreSQL) and loopback receivers. The retry schedule is driven by
 * an injected clock and worker.drain(), so no test waits for real backoff delays.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, dialectAvailability, testDialects, type TestDatabase } from '../helpers/db.js';
import { openDatabase } from '../../src/store/db.js';
import { enqueueEvent, cancelDeliveriesFor, cancelOrphanedDeliveries } from '../../src/outbox/outbox-repository.js';
import { claimDeliveries, extendRuns, holdBlockedDeliveries } from '../../src/outbox/claim-deliveries.js';
import type { AttemptRecord } from '../../src/outbox/outbox-record.js';
import { recordAttempt } from '../../src/outbox/record-attempt.js';
import { acquireWorkerLock, heartbeatWorkerLock } from '../../src/outbox/outbox-worker-lock.js';
import { createWorker, type Worker, type WorkerOptions } from '../../src/outbox/worker.js';
import type { ConfigInput } from '../../src/config.js';
import {
  createHook, resetDeliveryState, silentLogger, startReceiver, startSmtpSink, testClock, testConfig, type Receiver,
  type TestClock,
} from './delivery-support.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

const event = (primaryKey: number, eventName = 'contact.created') => ({
  eventName, primaryKey, data: { contact_id: primaryKey }, changedByAssociateId: 7, timestamp: new Date(T0),
});

for (const dialect of testDialects) {
  describe(`delivery worker on ${dialect}`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    let rx: Receiver;
    let clock: TestClock;
    const workers: Worker[] = [];

    const worker = (config: ConfigInput = {}, extra: Partial<WorkerOptions> = {}) => {
      const w = createWorker({ db, config: testConfig(config), logger: silentLogger, clock, random: () => 0.5, mailer: null, ...extra });
      workers.push(w);
      return w;
    };
    const deliveries = async () => (await db.knex('wa_delivery').orderBy('delivery_id').select()).map((r: Record<string, unknown>) => ({
      id: Number(r.delivery_id), status: r.status as string, attempts: Number(r.attempt_count), next: Number(r.next_attempt_at),
      leaseToken: r.lease_token as string | null, lastError: r.last_error as string | null, finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    }));
    const usage = async (id: number) => {
      const u = await db.knex('webhook_usage').where('webhook_usage_id', id).first();
      return { totalCalls: Number(u.total_calls), totalErrors: Number(u.total_errors), consecutive: Number(u.consecutive_errors), lastError: u.last_error as string | null };
    };
    const state = async (id: number) => Number((await db.knex('webhook').where('webhook_id', id).first('state')).state);

    before(async () => {
      db = await freshDatabase(dialect);
      rx = await startReceiver();
    });
    after(async () => {
      for (const w of workers) await w.stop({ graceMs: 0 });
      await rx.close();
      await db.drop();
    });
    beforeEach(async () => {
      await resetDeliveryState(db, rx, workers);
      clock = testClock(T0);
    });

    test('enqueueEvent writes in the caller\'s transaction: rolled back, nothing is owed', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      await assert.rejects(db.knex.transaction(async (trx) => {
        await enqueueEvent(trx, event(1), [hook, hook], { now: T0 });
        throw new Error('handler failed after enqueue');
      }));
      assert.equal((await deliveries()).length, 0);
      const r = await db.knex.transaction((trx) => enqueueEvent(trx, event(2), [hook, hook], { now: T0 }));
      assert.equal(r.deliveries, 1);
      assert.equal(typeof r.eventId, 'number');
      assert.deepEqual(await enqueueEvent(db.knex, event(3), []), { eventId: null, deliveries: 0 });
      const rows = await deliveries();
      assert.equal(rows.length, 1);
      assert.equal(rows[0].status, 'pending');
      assert.equal(rows[0].next, T0);
    });

    test('retry timing: now, +1 s, +4 s, then backoff from retryBaseMs; one EventId; success resets consecutive_errors', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      rx.respond(() => ({ status: 500, body: 'down' }));
      const w = worker({ retryBaseMs: 60_000, retryMaxDelayMs: 600_000 });
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });

      const expectAttemptAt = async (at: number, attemptNo: number) => {
        clock.set(at - 1);
        assert.equal(await w.drain(), 0, `attempt ${attemptNo} must not start before ${at - T0} ms`);
        clock.set(at);
        assert.equal(await w.drain(), 1, `attempt ${attemptNo} at ${at - T0} ms`);
        assert.equal(rx.requests.length, attemptNo);
        assert.equal(rx.requests[attemptNo - 1].headers['x-superoffice-retry'], String(attemptNo - 1));
      };
      assert.equal(await w.drain(), 1);
      assert.equal(rx.requests[0].headers['x-superoffice-retry'], '0');
      assert.equal((await deliveries())[0].next, T0 + 1000);
      await expectAttemptAt(T0 + 1000, 2);
      await expectAttemptAt(T0 + 5000, 3);
      await expectAttemptAt(T0 + 65_000, 4);
      await expectAttemptAt(T0 + 185_000, 5);
      assert.equal((await deliveries())[0].next, T0 + 425_000);
      assert.deepEqual(await usage(hook), { totalCalls: 5, totalErrors: 5, consecutive: 5, lastError: (await usage(hook)).lastError });
      assert.match((await usage(hook)).lastError ?? '', /^HTTP\/1\.1 500 Internal Server Error\r\n[\s\S]*\r\n\r\ndown$/);

      rx.respond(() => ({ status: 200, body: 'ok' }));
      await expectAttemptAt(T0 + 425_000, 6);
      const ids = new Set(rx.requests.map((r) => r.headers['x-superoffice-eventid']));
      assert.equal(ids.size, 1);
      assert.equal([...ids][0], (await db.knex('wa_delivery').first('event_uuid')).event_uuid);
      const [d] = await deliveries();
      assert.equal(d.status, 'succeeded');
      assert.equal(d.finishedAt, T0 + 425_000);
      assert.equal(d.lastError, null);
      const u = await usage(hook);
      assert.deepEqual([u.totalCalls, u.totalErrors, u.consecutive], [6, 5, 0]);
      const attempts = await db.knex('wa_attempt').orderBy('attempt_no').select('attempt_no', 'http_status', 'outcome', 'error_class', 'started_at');
      assert.deepEqual(attempts.map((a: Record<string, unknown>) => [Number(a.attempt_no), Number(a.http_status), a.outcome, a.error_class]), [
        [1, 500, 'failure', 'http'], [2, 500, 'failure', 'http'], [3, 500, 'failure', 'http'], [4, 500, 'failure', 'http'],
        [5, 500, 'failure', 'http'], [6, 200, 'success', null],
      ]);
    });

    test('Retry-After on 429 / 503 moves the next attempt out (seconds and HTTP-date)', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      const w = worker({ retryAfterCapMs: 3_600_000 });
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      rx.respond(() => ({ status: 429, headers: { 'Retry-After': '120' } }));
      await w.drain();
      assert.equal((await deliveries())[0].next, T0 + 120_000);
      clock.set(T0 + 120_000);
      rx.respond(() => ({ status: 503, headers: { 'Retry-After': new Date(T0 + 420_000).toUTCString() } }));
      await w.drain();
      assert.equal((await deliveries())[0].next, T0 + 420_000);
      const outcomes = await db.knex('wa_attempt').orderBy('attempt_no').pluck('outcome');
      assert.deepEqual(outcomes, ['retry_after', 'retry_after']);
    });

    test('410 Gone: TooManyErrors at once, the delivery failed_permanent, the other deliveries parked', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      for (let i = 0; i < 3; i++) await enqueueEvent(db.knex, event(i), [hook], { now: T0 });
      rx.respond(() => ({ status: 410, body: 'gone' }));
      const w = worker();
      assert.equal(await w.drain(), 1);
      assert.equal(await state(hook), 3);
      clock.advance(3_600_000);
      assert.equal(await w.drain(), 0);
      const rows = await deliveries();
      assert.deepEqual(rows.map((r) => [r.status, r.attempts]), [['failed_permanent', 1], ['pending', 0], ['pending', 0]]);
      assert.match(rows[0].lastError ?? '', /410 Gone/);
      assert.equal((await usage(hook)).consecutive, 1);
    });

    test('nine failed attempts in a row: TooManyErrors, webhook{id}.errors to its subscribers, and the error e-mail', async () => {
      const smtp = await startSmtpSink();
      const mails = smtp.mails;
      const watcher = await startReceiver();
      try {
        const failing = await createHook(db.knex, {
          name: 'Failing hook', targetUrl: rx.url, errorsEmail: 'ops@example.com', errorEmails: ['dev@example.com', 'OPS@example.com'],
        });
        const listener = await createHook(db.knex, { name: 'Watcher', targetUrl: watcher.url, events: [`webhook${failing}.errors`] });
        for (let i = 0; i < 3; i++) await enqueueEvent(db.knex, event(i), [failing], { now: T0 });
        rx.respond(() => ({ status: 500, body: 'still down' }));
        const w = createWorker({
          db, config: testConfig({ maxConsecutiveErrors: 9, smtpUrl: smtp.url, smtpFrom: 'agent@example.com' }),
          logger: silentLogger, clock, random: () => 0.5,
        });
        workers.push(w);
        for (let step = 0; step < 20 && (await state(failing)) === 1; step++) {
          await w.drain();
          clock.advance(10 * 60_000);
        }
        assert.equal(rx.requests.length, 9, 'exactly nine attempts before the hook is turned off');
        assert.equal(await state(failing), 3);
        assert.equal((await usage(failing)).consecutive, 9);
        const parked = await db.knex('wa_delivery').where('webhook_id', failing).orderBy('delivery_id').select('status', 'attempt_count');
        assert.deepEqual(parked.map((d: Record<string, unknown>) => [d.status, Number(d.attempt_count)]), [['pending', 3], ['pending', 3], ['pending', 3]]);

        await w.drain();
        assert.equal(watcher.requests.length, 1);
        const r = watcher.requests[0];
        assert.equal(r.headers['x-superoffice-event'], `webhook${failing}.errors`);
        assert.equal(r.json.Event, 'webhook.errors');
        assert.equal(r.json.PrimaryKey, failing);
        assert.equal('Entity' in r.json, false);
        assert.equal(r.json.ChangedByAssociateId, 0);
        assert.equal(r.json.WebhookName, 'Watcher');
        const fv = r.json.FieldValues as Record<string, unknown>;
        assert.deepEqual([fv.state, fv.events, fv.registered_associate_id, fv.updated], [3, 9, 1, '0001-01-01T00:00:00']);
        assert.deepEqual(await db.knex('wa_delivery').where('webhook_id', listener).pluck('status'), ['succeeded']);

        assert.equal(mails.length, 1);
        assert.deepEqual(mails[0].to.sort(), ['dev@example.com', 'ops@example.com']);
        const mail = mails[0];
        assert.equal(mail.subject, `Webhook "Failing hook" (id ${failing}) was turned off: TooManyErrors`);
        assert.match(mail.body, /because 9 delivery attempts in a row failed/);
        assert.match(mail.body, /HTTP\/1\.1 500 Internal Server Error\r\n[\s\S]*still down/);
      } finally {
        await watcher.close();
        await smtp.close();
      }
    });

    test('parked deliveries drain in event order once the webhook is Active again (running loop, wake)', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url, state: 'Stopped' });
      for (let i = 0; i < 6; i++) await enqueueEvent(db.knex, event(i), [hook], { now: T0 });
      const w = worker({ workerConcurrency: 8, claimBatchSize: 8 }, { clock: undefined });
      await w.start();
      assert.equal(await w.drain(), 0, 'a Stopped hook keeps its deliveries parked');
      await db.knex('webhook').where('webhook_id', hook).update({ state: 1 });
      w.wake();
      await rx.waitFor(6);
      assert.deepEqual(rx.requests.map((r) => r.json.PrimaryKey), [0, 1, 2, 3, 4, 5]);
      await w.stop();
      assert.deepEqual((await deliveries()).map((d) => d.status), Array(6).fill('succeeded'));
    });

    test('wake(webhookIds) skips the claim only while each of those webhooks has a delivery in flight here', async () => {
      const a = await createHook(db.knex, { targetUrl: `${rx.url}?h=a` });
      const b = await createHook(db.knex, { targetUrl: `${rx.url}?h=b` });
      rx.respond((r) => (r.url.endsWith('h=a') && r.json.PrimaryKey === 0 ? { status: 200, delayMs: 600 } : { status: 200 }));
      await enqueueEvent(db.knex, event(0), [a], { now: T0 });
      // No LISTEN: enqueueEvent's NOTIFY would wake it from outside (the other processes' path).
      const w = worker({ workerConcurrency: 8, claimBatchSize: 8, pollIntervalMs: 60_000 }, { listen: false });
      await w.start();
      await rx.waitFor(1);
      await new Promise((r) => setTimeout(r, 50));
      const rounds = w.stats().claimRounds;
      await enqueueEvent(db.knex, event(1), [a], { now: T0 });
      w.wake([a]);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(w.stats().claimRounds, rounds, 'nothing of webhook a can pass its delivery in flight: no claim round');
      assert.equal(w.stats().claimed, 1);
      await enqueueEvent(db.knex, event(2), [a, b], { now: T0 });
      w.wake([a, b]);
      await rx.waitFor(2);
      assert.equal(rx.requests[1].url.endsWith('h=b'), true, 'webhook b has nothing in flight: claimed at once');
      await rx.waitFor(4, 5000);
      assert.deepEqual(rx.requests.filter((r) => r.url.endsWith('h=a')).map((r) => r.json.PrimaryKey), [0, 1, 2],
        'finishing the in-flight delivery claims the next ones of webhook a, in order');
    });

    test('per-webhook order with several webhooks: one claim round takes a run of each, sent one at a time, in event order', async () => {
      const hooks = [await createHook(db.knex, { targetUrl: `${rx.url}?h=a` }), await createHook(db.knex, { targetUrl: `${rx.url}?h=b` })];
      for (let i = 0; i < 5; i++) await enqueueEvent(db.knex, event(i), hooks, { now: T0 });
      rx.respond(() => ({ status: 200, delayMs: 20 }));
      const w = worker({ workerConcurrency: 10, claimBatchSize: 10 });
      assert.equal(await w.runOnce(), 10, 'the first claim takes each webhook\'s deliveries as one run');
      assert.equal(w.stats().claimRounds, 1);
      assert.equal(await w.drain(), 0);
      for (const h of ['a', 'b']) {
        const got = rx.requests.filter((r) => r.url.endsWith(`h=${h}`));
        assert.deepEqual(got.map((r) => r.json.PrimaryKey), [0, 1, 2, 3, 4]);
        // Each answer takes 20 ms: a delivery that went out before the one ahead of it was answered would arrive sooner.
        for (let i = 1; i < got.length; i++) assert.ok(got[i].at - got[i - 1].at >= 15, `webhook ${h}: delivery ${i} went out before ${i - 1} was answered`);
      }
      assert.deepEqual(new Set((await deliveries()).map((d) => [d.status, d.attempts, d.leaseToken].join())), new Set(['succeeded,1,']));
    });

    test('a burst to one webhook: a claim round per run, not per delivery (running loop)', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      for (let i = 0; i < 40; i++) await enqueueEvent(db.knex, event(i), [hook], { now: T0 });
      const w = worker({ pollIntervalMs: 60_000 }, { clock: undefined, listen: false });
      await w.start();
      await rx.waitFor(40);
      await w.stop();
      assert.deepEqual(rx.requests.map((r) => r.json.PrimaryKey), Array.from({ length: 40 }, (_, i) => i));
      const { claimRounds, claimed, succeeded } = w.stats();
      assert.deepEqual([claimed, succeeded], [40, 40]);
      // One round per delivery before runs; now each round takes up to 16 (a few more rounds find nothing).
      assert.ok(claimRounds <= 6, `${claimRounds} claim rounds for 40 deliveries of one webhook`);
    });

    test('a failure in a run: the rest goes back unsent and uncounted, and goes out next, in order; the failed one at its retry', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      for (let i = 0; i < 5; i++) await enqueueEvent(db.knex, event(i), [hook], { now: T0 });
      let failed = false;
      rx.respond((r) => (r.json.PrimaryKey === 1 && !failed ? ((failed = true), { status: 503 }) : { status: 200 }));
      const w = worker();
      assert.equal(await w.runOnce(), 2, 'the run stops at the failure');
      let rows = await deliveries();
      assert.deepEqual(rows.map((d) => [d.status, d.attempts, d.leaseToken]), [
        ['succeeded', 1, null], ['pending', 1, null], ['pending', 0, null], ['pending', 0, null], ['pending', 0, null],
      ]);
      assert.equal(rows[1].next, T0 + 1000);
      assert.equal(await w.drain(), 3, 'the rest goes out while the failed one waits for its retry (NetServer: back of the queue)');
      clock.set(T0 + 1000);
      assert.equal(await w.drain(), 1);
      assert.deepEqual(rx.requests.map((r) => [r.json.PrimaryKey, r.headers['x-superoffice-retry']]),
        [[0, '0'], [1, '0'], [2, '0'], [3, '0'], [4, '0'], [1, '1']]);
      rows = await deliveries();
      assert.deepEqual(rows.map((d) => [d.status, d.attempts]), [['succeeded', 1], ['succeeded', 2], ['succeeded', 1], ['succeeded', 1], ['succeeded', 1]]);
    });

    test('a run does not outlast its lease: no attempt starts unless the delivery timeout and a margin are left', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      for (let i = 0; i < 3; i++) await enqueueEvent(db.knex, event(i), [hook], { now: T0 });
      // deliveryTimeoutMs 2,000 + a 5,000 margin: after a first attempt of 2,001 ms a 9,000 ms lease has no room left.
      rx.respond(() => {
        clock.advance(2_001);
        return { status: 200 };
      });
      const w = worker({ leaseMs: 9_000 });
      assert.equal(await w.runOnce(), 1);
      assert.deepEqual((await deliveries()).map((d) => [d.status, d.attempts, d.leaseToken]), [['succeeded', 1, null], ['pending', 0, null], ['pending', 0, null]]);
      assert.equal(await w.drain(), 2);
    });

    test('stop() during a run: the attempt in flight is released after the grace period, the unsent rest with it', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      for (let i = 0; i < 4; i++) await enqueueEvent(db.knex, event(i), [hook], { now: T0 });
      rx.respond((r) => (r.json.PrimaryKey === 1 ? 'hang' : { status: 200 }));
      const w = worker({}, { clock: undefined, listen: false });
      await w.start();
      await rx.waitFor(2);
      await w.stop({ graceMs: 50 });
      assert.deepEqual((await deliveries()).map((d) => [d.status, d.attempts, d.leaseToken]),
        [['succeeded', 1, null], ['pending', 0, null], ['pending', 0, null], ['pending', 0, null]]);
      assert.equal(rx.requests.length, 2, 'nothing after the delivery in flight was sent');
    });

    test('the claim leaves webhooks on the skip list to the others (per-dialect SQL)', async () => {
      const a = await createHook(db.knex, { targetUrl: rx.url });
      const b = await createHook(db.knex, { targetUrl: rx.url });
      await enqueueEvent(db.knex, event(1), [a, b], { now: T0 });
      const first = await claimDeliveries(db, { now: T0, leaseMs: 60_000, limit: 10, token: 'skip-a', skipWebhookIds: [a, 999_999] });
      const rows = await db.knex('wa_delivery').whereIn('delivery_id', first.map((c) => c.deliveryId)).select('webhook_id');
      assert.deepEqual(rows.map((r: Record<string, unknown>) => Number(r.webhook_id)), [b]);
      const second = await claimDeliveries(db, { now: T0, leaseMs: 60_000, limit: 10, token: 'no-skip', skipWebhookIds: [] });
      assert.equal(second.length, 1, 'without the skip list the other webhook is claimed');
    });

    test('a host at its in-flight cap and a host whose circuit is open hold no slots: their deliveries are put back unsent, uncounted', async () => {
      const slowRx = await startReceiver();
      slowRx.respond(() => 'hang');
      try {
        const slowHooks = [];
        for (let i = 0; i < 3; i++) slowHooks.push(await createHook(db.knex, { targetUrl: `${slowRx.url}?h=slow${i}` }));
        const ok = await createHook(db.knex, { targetUrl: rx.url });
        await enqueueEvent(db.knex, event(1), [...slowHooks, ok], { now: T0 });
        const w = worker({ hostConcurrency: 1, circuitTimeouts: 2, circuitCooldownMs: 1000, deliveryTimeoutMs: 300 });
        const attempts = async (id: number) => Number((await db.knex('wa_delivery').where('webhook_id', id).first('attempt_count')).attempt_count);

        await w.runOnce(); // slow0 admitted (and times out), slow1 and slow2 put back: the host is at its cap
        assert.equal(rx.requests.length, 1, 'the healthy hook was sent to meanwhile');
        assert.equal(slowRx.requests.length, 1, 'one attempt at a time to the slow host');
        assert.deepEqual([await attempts(slowHooks[1]), await attempts(slowHooks[2])], [0, 0], 'put back without counting an attempt');
        assert.equal(w.stats().deferred, 2);

        await w.runOnce(); // slow1 times out too: two in a row, the circuit opens
        assert.equal(slowRx.requests.length, 2);
        await w.runOnce();
        assert.equal(slowRx.requests.length, 2, 'nothing is sent to a host whose circuit is open');
        assert.equal(await attempts(slowHooks[2]), 0);

        clock.set(T0 + 10_000); // past the cooldown and the retries' due times: one probe only
        await w.runOnce();
        assert.equal(slowRx.requests.length, 3, 'half-open: a single probe');
        await w.runOnce();
        assert.equal(slowRx.requests.length, 3, 'the probe timed out: open again, for twice as long');
      } finally {
        await slowRx.close();
      }
    });

    test('a backlog behind an in-flight delivery is held out of the due range, still in order, and released one by one', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      for (let i = 0; i < 20; i++) await enqueueEvent(db.knex, event(i), [hook], { now: T0 });
      const [head] = await claimDeliveries(db, { now: T0, leaseMs: 60_000, limit: 10, token: 'head' });
      assert.equal(await holdBlockedDeliveries(db, { now: T0, holdUntil: T0 + 60_000, limit: 500 }), 19);
      const held = await db.knex('wa_delivery').where('held', 1).orderBy('delivery_id').select('next_attempt_at');
      assert.equal(held.length, 19);
      assert.ok(held.every((r: Record<string, unknown>) => Number(r.next_attempt_at) === T0 + 60_000));

      const success = (deliveryId: number, token: string, at: number): AttemptRecord => ({
        deliveryId, leaseToken: token, webhookId: hook, attemptNo: 1, startedAt: at, durationMs: 3, httpStatus: 200, outcome: 'success',
        errorClass: null, report: 'HTTP/1.1 200 OK', usage: 'success', transition: { status: 'succeeded' }, disableHook: false,
        maxConsecutiveErrors: 9, now: at,
      });
      await recordAttempt(db.knex, success(head.deliveryId, 'head', T0 + 10));
      const released = await db.knex('wa_delivery').where({ status: 'pending', held: 0 }).select('delivery_id', 'next_attempt_at');
      assert.deepEqual(released.map((r: Record<string, unknown>) => [Number(r.delivery_id), Number(r.next_attempt_at)]),
        [[head.deliveryId + 1, T0 + 10]], 'recording released exactly the oldest held delivery');

      // A release that never happens (the released delivery finished by other means; or, with several workers, a
      // release that ran just before another worker's hold committed): the held deliveries still keep a newer,
      // due one back...
      await db.knex('wa_delivery').where('delivery_id', head.deliveryId + 1).update({ status: 'succeeded', finished_at: T0 + 20 });
      await enqueueEvent(db.knex, event(20), [hook], { now: T0 + 20 });
      assert.deepEqual(await claimDeliveries(db, { now: T0 + 30, leaseMs: 60_000, limit: 10, token: 'x' }), []);
      // ...and the next hold round releases the oldest held one of a webhook left with nothing older due or in flight.
      await holdBlockedDeliveries(db, { now: T0 + 30, holdUntil: T0 + 60_000, limit: 500 });
      const after = await claimDeliveries(db, { now: T0 + 30, leaseMs: 60_000, limit: 10, token: 'y' });
      assert.deepEqual(after.map((c) => c.deliveryId), [head.deliveryId + 2]);
      await recordAttempt(db.knex, success(after[0].deliveryId, 'y', T0 + 40));

      clock.set(T0 + 40);
      await worker().drain();
      assert.deepEqual(rx.requests.map((r) => r.json.PrimaryKey), Array.from({ length: 18 }, (_, i) => i + 3));
      assert.deepEqual(new Set((await deliveries()).map((d) => d.status)), new Set(['succeeded']));
    });

    test('a run (per-dialect SQL): takes held deliveries and keeps them due, passes over one waiting for its retry, stops before one in flight', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      const other = await createHook(db.knex, { targetUrl: rx.url });
      for (let i = 0; i < 7; i++) await enqueueEvent(db.knex, event(i), [hook, other], { now: T0 });
      const ids = (await db.knex('wa_delivery').where('webhook_id', hook).orderBy('delivery_id').pluck('delivery_id')).map(Number);
      await db.knex('wa_delivery').whereIn('delivery_id', [ids[1], ids[2]]).update({ held: 1, next_attempt_at: T0 + 60_000 });
      await db.knex('wa_delivery').where('delivery_id', ids[3]).update({ next_attempt_at: T0 + 1000, attempt_count: 1 }); // waits for its retry
      await db.knex('wa_delivery').where('delivery_id', ids[5]).update({ lease_until: T0 + 60_000, lease_token: 'elsewhere', attempt_count: 1 });
      const heads = await claimDeliveries(db, { now: T0, leaseMs: 30_000, limit: 1, token: 'run', skipWebhookIds: [other] });
      assert.deepEqual(heads.map((c) => c.deliveryId), [ids[0]]);
      const run = await extendRuns(db, { now: T0, leaseMs: 30_000, token: 'run', heads: [ids[0]], tail: 15 });
      assert.deepEqual(run.map((c) => [c.deliveryId, c.attemptNo, c.leaseToken]), [[ids[1], 1, 'run'], [ids[2], 1, 'run'], [ids[4], 1, 'run']]);
      const rows = await db.knex('wa_delivery').whereIn('delivery_id', [ids[1], ids[2], ids[4]]).orderBy('delivery_id').select('held', 'next_attempt_at', 'lease_until');
      assert.deepEqual(rows.map((r: Record<string, unknown>) => [Number(r.held), Number(r.next_attempt_at), Number(r.lease_until)]), Array(3).fill([0, T0, T0 + 30_000]),
        'due, so they block younger deliveries as one in flight does');
      assert.deepEqual((await db.knex('wa_delivery').where('lease_token', 'run').pluck('webhook_id')).map(Number), Array(4).fill(hook), 'the other webhook untouched');
      assert.deepEqual(await extendRuns(db, { now: T0, leaseMs: 30_000, token: 'run', heads: [ids[0]], tail: 15 }), [], 'nothing twice');
      const limited = await claimDeliveries(db, { now: T0, leaseMs: 30_000, limit: 1, token: 'short' });
      assert.equal((await extendRuns(db, { now: T0, leaseMs: 30_000, token: 'short', heads: limited.map((c) => c.deliveryId), tail: 2 })).length, 2, 'at most tail after each head');
    });

    test('a stale lease token cannot record; the newer claim can', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      const first = await claimDeliveries(db, { now: T0, leaseMs: 1000, limit: 10, token: 'token-one' });
      assert.deepEqual(first.map((c) => [c.attemptNo, c.leaseToken]), [[1, 'token-one']]);
      assert.equal((await claimDeliveries(db, { now: T0 + 999, leaseMs: 1000, limit: 10, token: 'token-x' })).length, 0, 'lease is live');
      const second = await claimDeliveries(db, { now: T0 + 1000, leaseMs: 1000, limit: 10, token: 'token-two' });
      assert.deepEqual(second.map((c) => [c.attemptNo, c.leaseToken]), [[2, 'token-two']]);

      const rec = (token: string, attemptNo: number): AttemptRecord => ({
        deliveryId: first[0].deliveryId, leaseToken: token, webhookId: hook, attemptNo, startedAt: T0, durationMs: 5, httpStatus: 200,
        outcome: 'success', errorClass: null, report: 'HTTP/1.1 200 OK', usage: 'success', transition: { status: 'succeeded' },
        disableHook: false, maxConsecutiveErrors: 9, now: T0 + 1500,
      });
      assert.equal((await recordAttempt(db.knex, rec('token-one', 1))).recorded, false);
      // Inside a caller's transaction (the general path on every dialect, also SQLite's).
      assert.equal((await db.knex.transaction((trx) => recordAttempt(trx, rec('token-one', 1)))).recorded, false);
      let [d] = await deliveries();
      assert.deepEqual([d.status, d.leaseToken, d.attempts], ['pending', 'token-two', 2]);
      assert.equal((await db.knex('wa_attempt').count({ n: '*' }))[0].n, dialect === 'pg' ? '0' : 0);
      assert.equal((await usage(hook)).totalCalls, 0);

      assert.equal((await recordAttempt(db.knex, rec('token-two', 2))).recorded, true);
      [d] = await deliveries();
      assert.deepEqual([d.status, d.leaseToken], ['succeeded', null]);
      assert.equal((await usage(hook)).totalCalls, 1);
    });

    test('cancelDeliveriesFor: recorded as cancelled; an attempt in flight is recorded, then cancelOrphanedDeliveries ends it', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      await enqueueEvent(db.knex, event(2), [hook], { now: T0 });
      const [claim] = await claimDeliveries(db, { now: T0, leaseMs: 60_000, limit: 10, token: 'tok' });
      await db.knex.transaction(async (trx) => {
        await cancelDeliveriesFor(trx, hook, { now: T0 + 5 });
        await trx('webhook').where('webhook_id', hook).delete();
      });
      let rows = await deliveries();
      assert.deepEqual(rows.map((r) => [r.status, r.finishedAt]), [['pending', null], ['cancelled', T0 + 5]], 'the one in flight is left to its worker');
      const late = await recordAttempt(db.knex, {
        deliveryId: claim.deliveryId, leaseToken: 'tok', webhookId: hook, attemptNo: 1, startedAt: T0, durationMs: 1, httpStatus: 500,
        outcome: 'failure', errorClass: 'http', report: 'x', usage: 'error', transition: { status: 'pending', nextAttemptAt: T0 + 1000 },
        disableHook: false, maxConsecutiveErrors: 9, now: T0 + 10,
      });
      assert.equal(late.recorded, true, 'an outcome that reached the receiver is recorded');
      assert.equal(await cancelOrphanedDeliveries(db.knex, hook, T0 + 20), 1);
      rows = await deliveries();
      assert.deepEqual(rows.map((r) => [r.status, r.finishedAt]), [['cancelled', T0 + 20], ['cancelled', T0 + 5]]);
      assert.deepEqual((await db.knex('wa_attempt').where('delivery_id', claim.deliveryId).select('http_status')).map((r: { http_status: unknown }) => Number(r.http_status)), [500]);
      const kept = await createHook(db.knex, { targetUrl: rx.url });
      await enqueueEvent(db.knex, event(3), [kept], { now: T0 });
      assert.equal(await cancelOrphanedDeliveries(db.knex, kept, T0 + 20), 0, 'a webhook that exists keeps its deliveries');
    });

    test('a delete that raced with an enqueue: housekeeping cancels the deleted hook\'s delivery (recorded, counted)', async () => {
      const gone = await createHook(db.knex, { targetUrl: rx.url });
      const kept = await createHook(db.knex, { targetUrl: rx.url, state: 'Stopped' });
      const finished: Array<[string, number]> = [];
      const w = worker({}, { onFinished: (status, n) => finished.push([status, n]) });
      // The commits in the order of the race: DeleteWebhook (its cancel found nothing yet), then the enqueue that read
      // the subscriber before the delete.
      await db.knex.transaction(async (trx) => {
        await cancelDeliveriesFor(trx, gone, { now: T0 });
        await trx('webhook').where('webhook_id', gone).delete();
      });
      await enqueueEvent(db.knex, event(1), [gone, kept], { now: T0 });
      assert.equal(await w.drain(), 0, 'no claim takes a delivery of a webhook that is gone');
      clock.set(T0 + 60_000);
      const swept = await w.housekeeping();
      assert.deepEqual(swept, { expired: 0, cancelled: 1, attempts: 0, deliveries: 0, events: 0 });
      const rows = await deliveries();
      assert.deepEqual(rows.map((r) => [r.status, r.finishedAt, r.lastError]),
        [['cancelled', T0 + 60_000, 'cancelled: the webhook was deleted'], ['pending', null, null]], 'the parked one of a hook that exists stays');
      assert.deepEqual(finished, [['cancelled', 1]]);
      assert.equal((await w.housekeeping()).cancelled, 0);
      assert.equal(rx.requests.length, 0);
    });

    test('a delivery still failing after retryMaxAgeMs is expired, and that is recorded', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      rx.respond(() => ({ status: 502 }));
      const w = worker({ retryMaxAgeMs: 10_000, retryBaseMs: 60_000 });
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      await w.drain();
      clock.set(T0 + 1000);
      await w.drain();
      clock.set(T0 + 5000);
      await w.drain();
      const [d] = await deliveries();
      assert.equal(rx.requests.length, 3);
      assert.equal(d.status, 'expired');
      assert.equal(d.finishedAt, T0 + 5000);
      assert.match(d.lastError ?? '', /^expired: no attempt succeeded within the retry window/);
      clock.advance(86_400_000);
      assert.equal(await w.drain(), 0);
    });

    test('retention: old parked deliveries expire (recorded), old attempts and finished deliveries are pruned', async () => {
      const active = await createHook(db.knex, { targetUrl: rx.url });
      const stopped = await createHook(db.knex, { targetUrl: rx.url, state: 'Stopped' });
      const w = worker({ retentionMs: 3_600_000 });
      await enqueueEvent(db.knex, event(1), [active, stopped], { now: T0 });
      await w.drain();
      clock.set(T0 + 3_600_000 - 1);
      assert.deepEqual(await w.housekeeping(), { expired: 0, cancelled: 0, attempts: 0, deliveries: 0, events: 0 });
      clock.set(T0 + 3_600_001);
      const first = await w.housekeeping();
      assert.deepEqual(first, { expired: 1, cancelled: 0, attempts: 1, deliveries: 1, events: 0 });
      const rows = await deliveries();
      assert.deepEqual(rows.map((r) => r.status), ['expired']);
      assert.match(rows[0].lastError ?? '', /retention/);
      clock.advance(3_600_001);
      assert.deepEqual(await w.housekeeping(), { expired: 0, cancelled: 0, attempts: 0, deliveries: 1, events: 1 });
    });

    test('a webhook without its webhook_usage row (as NetServer may leave it) gets one on its first attempt', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      await db.knex('webhook_usage').where('webhook_usage_id', hook).delete();
      rx.respond(() => ({ status: 500, body: 'nope' }));
      const w = worker();
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      await w.drain();
      const u = await usage(hook);
      assert.deepEqual([u.totalCalls, u.totalErrors, u.consecutive], [1, 1, 1]);
      assert.match(u.lastError ?? '', /nope$/);
    });

    test('a crmscript webhook is not posted to: failed_permanent, not counted as a call', async () => {
      const hook = await createHook(db.knex, { targetUrl: 'MyScriptInclude', type: 'crmscript' });
      const w = worker();
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      assert.equal(await w.drain(), 1);
      assert.equal(rx.requests.length, 0);
      assert.equal((await deliveries())[0].status, 'failed_permanent');
      assert.equal((await usage(hook)).totalCalls, 0);
    });

    test('stop(): an attempt that finishes within the grace period is recorded; one that does not is released', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      rx.respond(() => 'hang');
      const w = worker({ deliveryTimeoutMs: 10_000 }, { clock: undefined });
      await enqueueEvent(db.knex, event(1), [hook]);
      await w.start();
      await rx.waitFor(1);
      await w.stop({ graceMs: 50 });
      let [d] = await deliveries();
      assert.deepEqual([d.status, d.leaseToken, d.attempts], ['pending', null, 0]);
      assert.equal((await db.knex('wa_attempt').select()).length, 0);

      rx.respond(() => ({ status: 200, body: 'late but fine', delayMs: 150 }));
      const w2 = worker({ deliveryTimeoutMs: 10_000 }, { clock: undefined });
      await w2.start();
      await rx.waitFor(2);
      await w2.stop({ graceMs: 5_000 });
      [d] = await deliveries();
      assert.deepEqual([d.status, d.leaseToken, d.attempts], ['succeeded', null, 1]);
      assert.equal((await db.knex('wa_attempt').select()).length, 1);
    });

    test('worker lock: a live holder refuses, a dead pid on this host or a stale heartbeat elsewhere gives way', async () => {
      const base = { staleMs: 30_000, host: 'host-a' };
      await acquireWorkerLock(db.knex, { ...base, owner: 'one', now: T0, pid: 111, isAlive: () => true });
      await assert.rejects(acquireWorkerLock(db.knex, { ...base, owner: 'two', now: T0 + 1000, pid: 222, isAlive: () => true }),
        /Another delivery worker is running on this SQLite database \(pid 111 on host-a\)/);
      await acquireWorkerLock(db.knex, { ...base, owner: 'two', now: T0 + 1000, pid: 222, isAlive: (pid) => pid !== 111 });
      assert.equal(await heartbeatWorkerLock(db.knex, 'one', T0 + 2000), false, 'the old holder learns it lost the lock');
      assert.equal(await heartbeatWorkerLock(db.knex, 'two', T0 + 2000), true);
      await assert.rejects(acquireWorkerLock(db.knex, { staleMs: 30_000, host: 'host-b', owner: 'three', now: T0 + 31_999, pid: 333 }));
      await acquireWorkerLock(db.knex, { staleMs: 30_000, host: 'host-b', owner: 'three', now: T0 + 32_000, pid: 333 });
      assert.equal((await db.knex('wa_worker_lock').first('owner_token')).owner_token, 'three');
    });

    if (dialect === 'sqlite') {
      test('SQLite: a second worker on the same file is refused with a clear error', async () => {
        const first = worker({}, { clock: undefined });
        await first.start();
        const other = openDatabase(db.url);
        try {
          const second = createWorker({ db: other, config: testConfig(), logger: silentLogger, mailer: null });
          await assert.rejects(second.start(), /Another delivery worker is running on this SQLite database/);
          await first.stop();
          await second.start();
          await second.stop();
        } finally {
          await other.close();
        }
      });
    }
  });
}
