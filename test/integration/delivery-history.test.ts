/**
 * Delivery history and replay (agent/delivery-history.ts) against real databases, a real worker and a loopback
 * receiver: the log with its filters and paging, one delivery with its attempts, redelivery with the same EventId and
 * X-SuperOffice-Retry counting on, purge, the 24 h chart, and refusals of bad input.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, dialectAvailability, testDialects, type TestDatabase } from '../helpers/db.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { createWorker, type Worker } from '../../src/outbox/worker.js';
import { createDeliveryHistory, type DeliveryHistory } from '../../src/agent/delivery-history.js';
import { queueFigures, webhooksByState } from '../../src/outbox/delivery-history.js';
import { AppError } from '../../src/errors.js';
import { createHook, resetDeliveryState, silentLogger, startReceiver, testClock, testConfig, type Receiver, type TestClock } from './delivery-support.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

const event = (primaryKey: number, eventName = 'contact.created') => ({
  eventName, primaryKey, data: { contact_id: primaryKey }, changedByAssociateId: 7, timestamp: new Date(T0),
});

async function rejectsWith(p: Promise<unknown>, code: string, field?: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code);
    if (field) assert.equal(err.field, field);
    return true;
  });
}

for (const dialect of testDialects) {
  describe(`delivery history on ${dialect}`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    let rx: Receiver;
    let clock: TestClock;
    let history: DeliveryHistory;
    const workers: Worker[] = [];
    let woken = 0;

    // A 1 s retry window: attempt 1 at T0, attempt 2 at T0 + 1 s, then expired (the next would be at + 4 s).
    const worker = () => {
      const w = createWorker({ db, config: testConfig({ retryMaxAgeMs: 1000 }), logger: silentLogger, clock, random: () => 0.5, mailer: null });
      workers.push(w);
      return w;
    };
    const failTwice = async (w: Worker) => {
      await w.drain();
      clock.advance(1000);
      await w.drain();
    };

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
      woken = 0;
      history = createDeliveryHistory({ db, now: clock, wake: () => { woken++; } });
    });

    test('a failing hook\'s log, one delivery with its attempts, then redelivery of all that gave up succeeds with the same EventId', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url, name: 'crm sync' });
      const other = await createHook(db.knex, { targetUrl: rx.url, name: 'other' });
      rx.respond(() => ({ status: 500, body: 'receiver down' }));
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      await enqueueEvent(db.knex, event(2, 'contact.changed'), [hook, other], { now: T0 });
      const w = worker();
      await failTwice(w);

      const log = await history.list({ webhookId: hook });
      assert.deepEqual(log.deliveries.map((d) => [d.eventName, d.status, d.attempts]),
        [['contact.changed', 'expired', 2], ['contact.created', 'expired', 2]]);
      assert.equal(log.nextBefore, null);
      assert.equal(log.deliveries[0].lastStatus, 500);
      assert.equal(log.deliveries[0].signalledAt, T0);

      const one = await history.show(log.deliveries[1].deliveryId);
      assert.deepEqual(one.attemptLog.map((a) => [a.attemptNo, a.httpStatus, a.outcome, a.errorClass]),
        [[1, 500, 'failure', 'http'], [2, 500, 'failure', 'http']]);
      assert.match(one.attemptLog[0].responseExcerpt ?? '', /receiver down/);
      assert.equal(one.attemptLog[1].startedAt, T0 + 1000);
      assert.ok(one.attemptLog.every((a) => a.durationMs >= 0));
      const firstIds = rx.requests.filter((r) => r.json.PrimaryKey === 1).map((r) => r.headers['x-superoffice-eventid']);
      assert.equal(firstIds.length, 2);

      rx.requests.length = 0;
      rx.respond(() => ({ status: 200, body: 'ok' }));
      clock.advance(60_000);
      const r = await history.redeliverFailed(hook, new Date(T0));
      assert.equal(r.redelivered.length, 2);
      assert.deepEqual(r.parkedWebhooks, []);
      assert.equal(woken, 1);
      assert.equal((await history.list({ webhookId: other })).deliveries[0].status, 'expired', 'the other hook is left alone');
      await w.drain();
      assert.equal(rx.requests.length, 2);
      const replay = rx.requests.find((q) => q.json.PrimaryKey === 1);
      assert.equal(replay?.headers['x-superoffice-eventid'], firstIds[0], 'same EventId as the failed attempts');
      assert.equal(replay?.headers['x-superoffice-retry'], '2', 'the retry count goes on');
      const after = await history.show(one.deliveryId);
      assert.equal(after.status, 'succeeded');
      assert.deepEqual(after.attemptLog.map((a) => a.httpStatus), [500, 500, 200]);
      assert.equal(after.signalledAt, T0, 'the event time is kept');
      assert.equal(after.queuedAt, T0 + 61_000);
    });

    test('filters (status, event, time), newest first, keyset paging', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      for (let i = 1; i <= 5; i++) await enqueueEvent(db.knex, event(i, i % 2 ? 'contact.created' : 'sale.changed'), [hook], { now: T0 + i * 60_000 });
      const page1 = await history.list({ webhookId: String(hook), limit: '2' });
      assert.deepEqual(page1.deliveries.map((d) => d.primaryKey), [5, 4]);
      const page2 = await history.list({ webhookId: hook, limit: 2, before: page1.nextBefore ?? undefined });
      assert.deepEqual(page2.deliveries.map((d) => d.primaryKey), [3, 2]);
      const page3 = await history.list({ webhookId: hook, limit: 2, before: page2.nextBefore ?? undefined });
      assert.deepEqual(page3.deliveries.map((d) => d.primaryKey), [1]);
      assert.equal(page3.nextBefore, null);
      assert.deepEqual((await history.list({ event: 'sale.changed' })).deliveries.map((d) => d.primaryKey), [4, 2]);
      assert.deepEqual((await history.list({ since: new Date(T0 + 2 * 60_000).toISOString(), until: T0 + 4 * 60_000 }))
        .deliveries.map((d) => d.primaryKey), [3, 2]);
      assert.equal((await history.list({ status: 'pending' })).deliveries.length, 5);
      assert.equal((await history.list({ status: 'failed,succeeded' })).deliveries.length, 0);
      clock.advance(600_000);
      await worker().drain();
      assert.equal((await history.list({ status: ['succeeded'] })).deliveries.length, 5);
    });

    test('redeliver one: a succeeded delivery is sent again; parked while its hook is stopped; a deleted hook is refused', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      await enqueueEvent(db.knex, event(9), [hook], { now: T0 });
      const w = worker();
      await w.drain();
      const [d] = (await history.list({ webhookId: hook })).deliveries;
      assert.equal(d.status, 'succeeded');
      await db.knex('webhook').where('webhook_id', hook).update({ state: 2 });
      const r = await history.redeliver(d.deliveryId);
      assert.deepEqual(r, { redelivered: [d.deliveryId], parkedWebhooks: [{ webhookId: hook, state: 'Stopped' }] });
      assert.equal(await w.drain(), 0, 'parked while Stopped');
      assert.deepEqual(await queueFigures(db, clock()), { pending: 1, due: 0, parked: 1, oldestQueuedAt: null, oldestParkedAt: T0 });
      await db.knex('webhook').where('webhook_id', hook).update({ state: 1 });
      assert.deepEqual(await queueFigures(db, clock()), { pending: 1, due: 1, parked: 0, oldestQueuedAt: T0, oldestParkedAt: null });
      await w.drain();
      assert.equal(rx.requests.length, 2);
      assert.equal(rx.requests[1].headers['x-superoffice-retry'], '1');
      assert.equal(rx.requests[1].headers['x-superoffice-eventid'], rx.requests[0].headers['x-superoffice-eventid']);
      assert.deepEqual(await queueFigures(db, clock()), { pending: 0, due: 0, parked: 0, oldestQueuedAt: null, oldestParkedAt: null });
      assert.deepEqual([...(await webhooksByState(db))], [[1, 1]]);

      await db.knex('webhook').where('webhook_id', hook).delete();
      await rejectsWith(history.redeliver(d.deliveryId), 'not_found');
      await rejectsWith(history.redeliver(999_999), 'not_found');
      await rejectsWith(history.redeliverFailed(hook, T0), 'not_found');
    });

    test('a delivery a worker holds is not touched; a pending one waiting for its retry is made due now', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      const [d] = (await history.list()).deliveries;
      await db.knex('wa_delivery').where('delivery_id', d.deliveryId).update({ lease_until: T0 + 30_000, lease_token: 'x' });
      assert.equal((await history.show(d.deliveryId)).inFlight, true);
      await rejectsWith(history.redeliver(d.deliveryId), 'conflict');
      await db.knex('wa_delivery').where('delivery_id', d.deliveryId).update({ lease_until: null, lease_token: null, next_attempt_at: T0 + 600_000 });
      assert.equal(await worker().drain(), 0);
      await history.redeliver(d.deliveryId);
      assert.equal((await history.show(d.deliveryId)).nextAttemptAt, T0);
      assert.equal(await worker().drain(), 1);
    });

    test('purge deletes finished history; with pending it empties the queue first', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      const other = await createHook(db.knex, { targetUrl: rx.url });
      await enqueueEvent(db.knex, event(1), [hook, other], { now: T0 });
      await worker().drain();
      await enqueueEvent(db.knex, event(2), [hook], { now: T0 });
      assert.deepEqual(await history.purge(hook), { cancelled: 0, deleted: 1 });
      assert.deepEqual((await history.list({ webhookId: hook })).deliveries.map((d) => d.status), ['pending']);
      assert.deepEqual(await history.purge(hook, { pending: true }), { cancelled: 1, deleted: 1 });
      assert.equal((await history.list({ webhookId: hook })).deliveries.length, 0);
      assert.equal(await db.knex('wa_attempt').count({ n: '*' }).first().then((r) => Number(r?.n)), 1, 'the other hook keeps its attempt');
      assert.equal((await history.list({ webhookId: other })).deliveries.length, 1);
    });

    test('chart: attempts per hour over the last 24 h', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      rx.respond((_r, i) => ({ status: i === 0 ? 503 : 200 }));
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      const w = worker();
      await w.drain();
      clock.advance(3600_000);
      await w.drain();
      const chart = await history.chart(hook);
      assert.equal(chart.length, 24);
      assert.equal(chart[23].start + 3600_000 > clock(), true);
      assert.deepEqual(chart.slice(-2).map((b) => [b.succeeded, b.failed]), [[0, 1], [1, 0]]);
      assert.equal(chart.slice(0, -2).every((b) => b.succeeded === 0 && b.failed === 0), true);
    });

    test('bad input is refused naming the field', async () => {
      await rejectsWith(history.list({ status: 'bogus' }), 'invalid_argument', 'status');
      await rejectsWith(history.list({ since: 'yesterday' }), 'invalid_argument', 'since');
      await rejectsWith(history.list({ since: T0, until: T0 }), 'invalid_argument', 'until');
      await rejectsWith(history.list({ limit: 0 }), 'invalid_argument', 'limit');
      await rejectsWith(history.list({ limit: 501 }), 'invalid_argument', 'limit');
      await rejectsWith(history.list({ webhookId: '1; drop table webhook' }), 'invalid_argument', 'webhookId');
      await rejectsWith(history.show('x'), 'invalid_argument', 'deliveryId');
      await rejectsWith(history.redeliverFailed(1, ''), 'invalid_argument', 'since');
      await rejectsWith(history.purge(1, { before: 'soon' }), 'invalid_argument', 'before');
    });
  });
}
