/**
 * The outbox conformance suite: what every OutboxBackend (src/outbox/backends/) must do, checked through the
 * outbox's own entry points against a real database. outbox-backends.test.ts runs it on SQLite and PostgreSQL, and on
 * SQL Server when MSSQL_URL names a scratch database. The database may hold rows of other checks; claims take any due
 * delivery, so each check cancels every pending delivery when it ends, and checks that count look only at the
 * webhooks they created.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Database } from '../../src/store/db.js';
import { createWebhook } from '../../src/store/webhook-repository.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
import { toInt } from '../../src/store/row-mapping.js';
import { claimAndLoad, claimDeliveries, extendRuns, holdBlockedDeliveries, type Claim } from '../../src/outbox/claim-deliveries.js';
import { cancelDeliveriesOfDeletedWebhooks, enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { enqueueSignalledEvent } from '../../src/outbox/enqueue-signalled.js';
import { recordAttempt, recordAttempts } from '../../src/outbox/record-attempt.js';
import type { AttemptRecord } from '../../src/outbox/outbox-record.js';
import { deferLeases, expireStaleDeliveries, pruneOutbox, releaseLeases } from '../../src/outbox/outbox-maintenance.js';
import { attemptChart, failedDeliveryIds, getDelivery, listDeliveries, purgeDeliveries, queueFigures, redeliver } from '../../src/outbox/delivery-history.js';
import { listenConnectionOf, notifyOutbox, outboxBackend } from '../../src/outbox/outbox-backend.js';
import { OUTBOX_CHANNEL } from '../../src/outbox/outbox-notify.js';
import { sampleInput } from '../integration/store-checks.js';

const secrets = createSecretCodec();
const LEASE = 30_000;

/** A base time per check, far from the others' (and from the wall clock, so nothing real is due by accident). */
let clock = Date.now() + 86_400_000;
const base = () => (clock += 10_000_000);

export function outboxConformance(getDb: () => Database, dialect: Database['dialect']): void {
  const db = () => getDb();
  /** Checks that exist only where several transactions can hold row locks at once (not SQLite's single writer). */
  const rowLockTest = dialect === 'sqlite' ? (_name: string, _fn: () => Promise<void>) => undefined : test;

  afterEach(async () => {
    await db().knex('wa_delivery').where('status', 'pending')
      .update({ status: 'cancelled', lease_until: null, lease_token: null, finished_at: 0 });
  });

  async function hook(over: Parameters<typeof sampleInput>[0] = {}): Promise<number> {
    return createWebhook(db(), sampleInput(over), new Date(), 0, { secrets });
  }

  /** One event per call, a delivery for each hook, due at `now`; the delivery ids in hook order. */
  async function enqueue(hooks: readonly number[], now: number, name = 'contact.created'): Promise<number[]> {
    const r = await enqueueEvent(db(), { eventName: name, primaryKey: 7, changedByAssociateId: 1, timestamp: new Date(now), data: { a: 1 } },
      hooks, { now });
    const rows = (await db().knex('wa_delivery').where('event_id', r.eventId).select('delivery_id', 'webhook_id')) as Array<Record<string, unknown>>;
    return hooks.map((h) => toInt(rows.find((x) => toInt(x.webhook_id) === h)?.delivery_id));
  }

  const claim = (now: number, limit = 10, more: { skipWebhookIds?: number[]; leaseMs?: number } = {}) =>
    claimDeliveries(db(), { now, leaseMs: more.leaseMs ?? LEASE, limit, token: randomUUID(), skipWebhookIds: more.skipWebhookIds });

  /** The claims among the given delivery ids (the database may hold other checks' rows). */
  const ids = (claims: readonly Claim[]) => claims.map((c) => c.deliveryId);

  async function row(deliveryId: number): Promise<Record<string, unknown>> {
    return (await db().knex('wa_delivery').where('delivery_id', deliveryId).first()) as Record<string, unknown>;
  }

  async function usage(webhookId: number): Promise<Record<string, unknown> | undefined> {
    return (await db().knex('webhook_usage').where('webhook_usage_id', webhookId).first()) as Record<string, unknown> | undefined;
  }

  function success(c: Claim, webhookId: number, now: number): AttemptRecord {
    return { deliveryId: c.deliveryId, leaseToken: c.leaseToken, webhookId, attemptNo: c.attemptNo, startedAt: now, durationMs: 5,
      httpStatus: 200, outcome: 'success', errorClass: null, report: 'HTTP 200', usage: 'success', transition: { status: 'succeeded' },
      disableHook: false, maxConsecutiveErrors: 3, now };
  }

  function failure(c: Claim, webhookId: number, now: number, nextAttemptAt: number, over: Partial<AttemptRecord> = {}): AttemptRecord {
    return { ...success(c, webhookId, now), httpStatus: 500, outcome: 'failure', errorClass: 'http_5xx', report: 'HTTP 500 boom',
      usage: 'error', transition: { status: 'pending', nextAttemptAt }, ...over };
  }

  describe('claims', () => {
    test('take due deliveries of Active webhooks only, oldest first, up to the limit, each with a lease and its attempt counted', async () => {
      const T = base();
      const [a, b, c, stopped] = [await hook(), await hook(), await hook(), await hook({ state: 'Stopped' })];
      const [da] = await enqueue([a], T);
      const [db1, dStopped] = await enqueue([b, stopped], T + 1);
      const [dc] = await enqueue([c], T + 5_000); // not due yet
      assert.deepEqual(ids(await claim(T + 2, 1)), [da], 'the limit, oldest first');
      const second = await claim(T + 2);
      assert.deepEqual(ids(second), [db1], 'a parked (Stopped) hook and a delivery not yet due are not claimed');
      assert.equal(second[0].attemptNo, 1);
      const r = await row(db1);
      assert.equal(toInt(r.lease_until), T + 2 + LEASE);
      assert.equal(r.lease_token, second[0].leaseToken);
      assert.equal(toInt(r.attempt_count), 1);
      assert.equal(toInt((await row(dStopped)).attempt_count), 0);
      assert.deepEqual(ids(await claim(T + 5_000)), [dc]);
    });

    test('one delivery per webhook in flight, in event order; an older one waiting for its retry does not hold younger ones back', async () => {
      const T = base();
      const h = await hook();
      const [d1] = await enqueue([h], T);
      const [d2] = await enqueue([h], T + 1);
      const first = await claim(T + 2);
      assert.deepEqual(ids(first), [d1], 'only the oldest of the webhook');
      assert.deepEqual(ids(await claim(T + 3)), [], 'nothing younger while the older is in flight');
      const rec = await recordAttempt(db(), failure(first[0], h, T + 4, T + 60_000));
      assert.equal(rec.recorded, true);
      assert.deepEqual(ids(await claim(T + 5)), [d2], 'the failed one waits for its retry at the back of the queue');
    });

    test('the skip list leaves webhooks out of the claim', async () => {
      const T = base();
      const [a, b] = [await hook(), await hook()];
      const [da, dbb] = await enqueue([a, b], T);
      assert.deepEqual(ids(await claim(T + 1, 10, { skipWebhookIds: [a] })), [dbb]);
      assert.deepEqual(ids(await claim(T + 1)), [da]);
    });

    test('a lease that ran out lets another claim take the delivery again, and fences the first claim out of recording', async () => {
      const T = base();
      const h = await hook();
      const [d] = await enqueue([h], T);
      const [first] = await claim(T, 10, { leaseMs: 1_000 });
      assert.deepEqual(ids(await claim(T + 999)), [], 'not while the lease holds');
      const again = await claim(T + 1_000);
      assert.deepEqual(ids(again), [d]);
      assert.equal(again[0].attemptNo, 2, 'the lost lease counted as an attempt');
      assert.notEqual(again[0].leaseToken, first.leaseToken);
      assert.equal((await recordAttempt(db(), success(first, h, T + 1_001))).recorded, false, 'the stale token records nothing');
      assert.equal(await db().knex('wa_attempt').where('delivery_id', d).count({ n: '*' }).then((r) => toInt(r[0].n)), 0);
      assert.equal((await recordAttempt(db(), success(again[0], h, T + 1_002))).recorded, true);
      assert.equal((await row(d)).status, 'succeeded');
    });

    test('concurrent claims never take the same delivery twice, and together take all that are due', async () => {
      const T = base();
      const hooks: number[] = [];
      for (let i = 0; i < 12; i++) hooks.push(await hook());
      const expected = await enqueue(hooks, T);
      const rounds = await Promise.all(Array.from({ length: 4 }, () => claim(T + 1, 4)));
      const taken = rounds.flatMap(ids);
      assert.equal(new Set(taken).size, taken.length, 'no delivery claimed twice');
      const rest = ids(await claim(T + 1, 20));
      assert.deepEqual([...taken, ...rest].sort((x, y) => x - y), [...expected].sort((x, y) => x - y));
    });

    rowLockTest('a claim passes over a row another transaction has locked instead of waiting for it (skip-locked)', async () => {
      const T = base();
      const [a, b] = [await hook(), await hook()];
      const [da, dbb] = await enqueue([a, b], T);
      const lockSql = db().dialect === 'mssql'
        ? 'select delivery_id from wa_delivery with (updlock, rowlock) where delivery_id = ?'
        : 'select delivery_id from wa_delivery where delivery_id = ? for update';
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const lockTaken = new Promise<void>((r) => (locked = r));
      const holder = db().knex.transaction(async (trx) => {
        await trx.raw(lockSql, [da]);
        locked();
        await held;
      });
      await lockTaken;
      // A claim that waited for the lock would return only after this timer let it go (a bound, not a timing claim).
      let gaveUp = false;
      const timer = setTimeout(() => { gaveUp = true; release(); }, 10_000);
      try {
        const taken = ids(await claim(T + 1));
        assert.equal(gaveUp, false, 'the claim returned while the row was still locked');
        assert.deepEqual(taken, [dbb], 'the locked row is skipped, the other one taken');
      } finally {
        clearTimeout(timer);
        release();
        await holder;
      }
      assert.deepEqual(ids(await claim(T + 2)), [da]);
    });

    test('a run takes the webhook\'s next due or held deliveries in order, under the head\'s lease, and stops before one in flight', async () => {
      const T = base();
      const h = await hook();
      const ds: number[] = [];
      for (let i = 0; i < 4; i++) ds.push(...(await enqueue([h], T + i)));
      const token = randomUUID();
      const heads = await claimDeliveries(db(), { now: T + 10, leaseMs: LEASE, limit: 10, token });
      assert.deepEqual(ids(heads), [ds[0]]);
      const run = await extendRuns(db(), { now: T + 10, leaseMs: LEASE, token, heads: [ds[0]], tail: 2 });
      assert.deepEqual(ids(run), [ds[1], ds[2]], 'at most tail, oldest first');
      assert.ok(run.every((c) => c.leaseToken === token && c.attemptNo === 1));
      // The head is recorded, the run's first given back: a new run from it stops before ds[2], still leased.
      await recordAttempt(db(), success(heads[0], h, T + 11));
      await releaseLeases(db(), [run[0]]);
      const token2 = randomUUID();
      const heads2 = await claimDeliveries(db(), { now: T + 12, leaseMs: LEASE, limit: 10, token: token2 });
      assert.deepEqual(ids(heads2), [ds[1]], 'the oldest pending one; ds[3] waits behind ds[2] in flight');
      assert.deepEqual(ids(await extendRuns(db(), { now: T + 12, leaseMs: LEASE, token: token2, heads: [ds[1]], tail: 2 })), [],
        'nothing passes ds[2], which is in flight');
    });

    test('claimAndLoad returns what is needed to send, runs included, oldest first', async () => {
      const T = base();
      const h = await hook({ headers: { 'X-Tenant': 'a' } });
      const ds = [...(await enqueue([h], T)), ...(await enqueue([h], T + 1))];
      const { deliveries } = await claimAndLoad(db(), { now: T + 5, leaseMs: LEASE, limit: 5, token: randomUUID(), runLength: 4 }, undefined,
        { secrets });
      assert.deepEqual(deliveries.map((d) => d.deliveryId), ds);
      assert.equal(deliveries[0].eventName, 'contact.created');
      assert.equal(deliveries[0].primaryKey, 7);
      assert.deepEqual(deliveries[0].data, { a: 1 });
      assert.deepEqual(deliveries[0].hook.headers, { 'X-Tenant': 'a' });
      assert.equal(deliveries[1].attemptNo, 1);
    });
  });

  describe('holds', () => {
    test('blocked due deliveries are held out of the due range; recording releases the oldest held one', async () => {
      const T = base();
      const h = await hook();
      const ds: number[] = [];
      for (let i = 0; i < 3; i++) ds.push(...(await enqueue([h], T + i)));
      const [head] = await claim(T + 10);
      assert.equal(head.deliveryId, ds[0]);
      const held = await holdBlockedDeliveries(db(), { now: T + 1_000, holdUntil: T + 1_000 + LEASE, limit: 100, dueBefore: T + 500 });
      assert.equal(held, 2);
      for (const d of ds.slice(1)) {
        const r = await row(d);
        assert.equal(toInt(r.held), 1);
        assert.equal(toInt(r.next_attempt_at), T + 1_000 + LEASE);
      }
      assert.equal((await recordAttempt(db(), success(head, h, T + 1_100))).recorded, true);
      const released = await row(ds[1]);
      assert.equal(toInt(released.held), 0);
      assert.equal(toInt(released.next_attempt_at), T + 1_100, 'due at the recording');
      assert.equal(toInt((await row(ds[2])).held), 1, 'only the oldest is released');
      assert.deepEqual(ids(await claim(T + 1_200)), [ds[1]], 'held ones do not pass the released one');
    });

    test('not held while blocked only for a moment (dueBefore); a hold round also releases a stranded held delivery', async () => {
      const T = base();
      const h = await hook();
      const [d1] = await enqueue([h], T);
      const [d2] = await enqueue([h], T + 1);
      await claim(T + 2);
      assert.equal(await holdBlockedDeliveries(db(), { now: T + 100, holdUntil: T + LEASE, limit: 100, dueBefore: T }), 0);
      // d2 held with nothing older pending (the release was missed): the next hold round releases it.
      await db().knex('wa_delivery').where('delivery_id', d1).update({ status: 'succeeded', lease_until: null, lease_token: null, finished_at: T });
      await db().knex('wa_delivery').where('delivery_id', d2).update({ held: 1, next_attempt_at: T + LEASE });
      await holdBlockedDeliveries(db(), { now: T + 200, holdUntil: T + LEASE, limit: 100 });
      const r = await row(d2);
      assert.equal(toInt(r.held), 0);
      assert.equal(toInt(r.next_attempt_at), T + 200);
    });
  });

  describe('recording', () => {
    test('a success finishes the delivery, writes the attempt row and NetServer\'s usage counters', async () => {
      const T = base();
      const h = await hook();
      const [d] = await enqueue([h], T);
      const [c] = await claim(T);
      const r = await recordAttempt(db(), success(c, h, T + 10));
      assert.deepEqual(r, { recorded: true, consecutiveErrors: 0, becameTooManyErrors: false });
      const dr = await row(d);
      assert.equal(dr.status, 'succeeded');
      assert.equal(toInt(dr.finished_at), T + 10);
      assert.equal(dr.lease_token, null);
      const attempts = (await db().knex('wa_attempt').where('delivery_id', d)) as Array<Record<string, unknown>>;
      assert.equal(attempts.length, 1);
      assert.equal(toInt(attempts[0].http_status), 200);
      assert.equal(attempts[0].outcome, 'success');
      assert.equal(toInt((await usage(h))?.total_calls), 1);
    });

    test('failures reschedule and count in a row; at maxConsecutiveErrors the hook becomes TooManyErrors in the same transaction', async () => {
      const T = base();
      const h = await hook();
      const [d] = await enqueue([h], T);
      let at = T;
      let calls = 0;
      for (let i = 1; i <= 3; i++) {
        const [c] = await claim(at);
        assert.equal(c.deliveryId, d);
        const r = await recordAttempt(db(), failure(c, h, at + 1, at + 1_000), async (trx, webhookId) => {
          calls++;
          assert.equal(webhookId, h);
          assert.equal(toInt((await trx('webhook').where('webhook_id', h).first('state'))?.state), 3, 'seen inside the transaction');
        });
        assert.equal(r.consecutiveErrors, i);
        assert.equal(r.becameTooManyErrors, i === 3);
        at += 1_000;
      }
      assert.equal(calls, 1);
      const dr = await row(d);
      assert.equal(dr.status, 'pending');
      assert.equal(toInt(dr.next_attempt_at), T + 2_000 + 1_000);
      assert.match(String(dr.last_error), /HTTP 500 boom/);
      const u = await usage(h);
      assert.equal(toInt(u?.total_errors), 3);
      assert.equal(toInt(u?.consecutive_errors), 3);
      assert.equal(toInt((await db().knex('webhook').where('webhook_id', h).first('state'))?.state), 3);
      assert.deepEqual(ids(await claim(at + 10_000)), [], 'parked now');
    });

    test('410 Gone: failed permanently and TooManyErrors at once; a missing usage row is created', async () => {
      const T = base();
      const h = await hook();
      await db().knex('webhook_usage').where('webhook_usage_id', h).delete();
      const [d] = await enqueue([h], T);
      const [c] = await claim(T);
      const r = await recordAttempt(db(), failure(c, h, T + 1, 0, {
        httpStatus: 410, outcome: 'gone', disableHook: true, transition: { status: 'failed_permanent', note: 'gone' },
      }));
      assert.equal(r.becameTooManyErrors, true);
      assert.equal((await row(d)).status, 'failed_permanent');
      assert.equal(toInt((await usage(h))?.consecutive_errors), 1);
    });

    test('several attempts in one call, in order, and inside a caller\'s transaction', async () => {
      const T = base();
      const [a, b] = [await hook(), await hook()];
      const [da, dbb] = await enqueue([a, b], T);
      const cs = await claim(T);
      const ca = cs.find((c) => c.deliveryId === da)!;
      const cb = cs.find((c) => c.deliveryId === dbb)!;
      const results = await recordAttempts(db(), [success(ca, a, T + 1), failure(cb, b, T + 2, T + 5_000)]);
      assert.deepEqual(results.map((r) => [r.recorded, r.consecutiveErrors]), [[true, 0], [true, 1]]);
      const [again] = await claim(T + 5_000);
      await db().knex.transaction((trx) => recordAttempt(trx, success(again, b, T + 5_001)));
      assert.equal((await row(dbb)).status, 'succeeded');
    });
  });

  describe('notify', () => {
    test('enqueueSignalled writes the event and a delivery per Active subscriber, nothing when there is none', async () => {
      const T = base();
      const name = `conformance.${randomUUID().slice(0, 8)}`;
      const [a, b] = [await hook({ events: [name] }), await hook({ events: [name] })];
      await hook({ events: [name], state: 'Stopped' });
      const r = await enqueueSignalledEvent(db(), { eventName: name, primaryKey: 1, changedByAssociateId: 0, timestamp: new Date(T), data: {} },
        { now: T });
      assert.equal(r.deliveries, 2);
      assert.deepEqual([...(r.webhookIds ?? [])].sort(), [a, b].sort());
      const none = await enqueueSignalledEvent(db(), { eventName: `${name}.none`, primaryKey: 1, changedByAssociateId: 0, timestamp: new Date(T), data: {} });
      assert.deepEqual(none, { eventId: null, deliveries: 0 });
    });

    test('notify reaches a listener only when the enqueueing transaction commits (PostgreSQL); elsewhere workers poll', async () => {
      const backend = outboxBackend(db());
      const connection = listenConnectionOf(db() as Parameters<typeof listenConnectionOf>[0]);
      if (db().dialect !== 'pg') {
        assert.equal(connection, null);
        await db().knex.transaction((trx) => notifyOutbox(trx)); // a no-op that must not fail
        assert.equal(backend.singleWorker, db().dialect === 'sqlite');
        return;
      }
      assert.ok(connection);
      const client = new pg.Client(typeof connection === 'string' ? { connectionString: connection } : connection);
      await client.connect();
      const got: string[] = [];
      client.on('notification', (m) => { if (m.channel === OUTBOX_CHANNEL) got.push(m.payload ?? ''); });
      try {
        await client.query(`listen ${OUTBOX_CHANNEL}`);
        await db().knex.transaction(async (trx) => {
          await notifyOutbox(trx);
          throw new Error('roll back');
        }).catch(() => {});
        await db().knex.transaction((trx) => notifyOutbox(trx));
        const name = `conformance.${randomUUID().slice(0, 8)}`;
        const h = await hook({ events: [name] });
        await enqueueSignalledEvent(db(), { eventName: name, primaryKey: 1, changedByAssociateId: 0, timestamp: new Date(), data: {} });
        for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(got, ['', String(h)], 'the committed NOTIFY, then SignalEvent\'s naming its webhook; none for the rollback');
      } finally {
        await client.end();
      }
    });
  });

  describe('maintenance', () => {
    test('releaseLeases gives deliveries back unsent (attempt not counted); deferLeases makes them due later', async () => {
      const T = base();
      const [a, b] = [await hook(), await hook()];
      const [da, dbb] = await enqueue([a, b], T);
      const cs = await claim(T);
      assert.equal(await releaseLeases(db(), cs.filter((c) => c.deliveryId === da)), 1);
      const ra = await row(da);
      assert.equal(ra.lease_token, null);
      assert.equal(toInt(ra.attempt_count), 0);
      assert.equal(toInt(ra.next_attempt_at), T);
      const cb = cs.find((c) => c.deliveryId === dbb)!;
      assert.equal(await deferLeases(db(), [{ ...cb, until: T + 9_000 }]), 1);
      assert.equal(toInt((await row(dbb)).next_attempt_at), T + 9_000);
      assert.equal(await releaseLeases(db(), [cb]), 0, 'fenced: the token is gone');
      assert.deepEqual(ids(await claim(T + 1)), [da]);
    });

    test('retention expires old pending deliveries (not one in flight) and prunes what is finished', async () => {
      const T = base();
      const [a, b] = [await hook(), await hook()];
      const [da, dbb] = await enqueue([a, b], T);
      const cs = await claim(T);
      const cb = cs.find((c) => c.deliveryId === dbb)!;
      await releaseLeases(db(), cs.filter((c) => c.deliveryId === da));
      const expired = await expireStaleDeliveries(db(), { now: T + 1_000, retentionMs: 500 });
      assert.ok(expired >= 1);
      assert.equal((await row(da)).status, 'expired');
      assert.equal((await row(dbb)).status, 'pending', 'in flight: left alone');
      await recordAttempt(db(), success(cb, b, T + 1_001));
      const pruned = await pruneOutbox(db(), { now: T + 10_000_000 - 1, retentionMs: 1_000 });
      assert.ok(pruned.deliveries >= 2 && pruned.attempts >= 1 && pruned.events >= 1);
      assert.equal(await row(da), undefined);
      assert.equal(await row(dbb), undefined);
    });

    test('the sweep cancels pending deliveries of webhooks that are gone, leaving those in flight until their lease ends', async () => {
      const T = base();
      const [a, b, c] = [await hook(), await hook(), await hook()];
      const [da, dbb, dc] = await enqueue([a, b, c], T);
      assert.deepEqual(ids(await claim(T, 10, { skipWebhookIds: [a, b] })), [dc]);
      await db().knex('webhook').whereIn('webhook_id', [a, c]).delete();
      assert.equal(await cancelDeliveriesOfDeletedWebhooks(db(), { now: T + 1 }), 1);
      const ra = await row(da);
      assert.deepEqual([ra.status, toInt(ra.finished_at), ra.last_error], ['cancelled', T + 1, 'cancelled: the webhook was deleted']);
      assert.equal((await row(dbb)).status, 'pending', 'its webhook exists');
      assert.equal((await row(dc)).status, 'pending', 'in flight: left to its worker');
      assert.equal(await cancelDeliveriesOfDeletedWebhooks(db(), { now: T + LEASE + 1 }), 1, 'its lease ran out');
      assert.equal((await row(dc)).status, 'cancelled');
      assert.equal(await cancelDeliveriesOfDeletedWebhooks(db(), { now: T + LEASE + 2 }), 0);
    });
  });

  describe('clock', () => {
    test('databaseTime is the server\'s clock in epoch ms (PostgreSQL, SQL Server); SQLite has none', async () => {
      const time = outboxBackend(db()).databaseTime;
      if (dialect === 'sqlite') {
        assert.equal(time, null);
        return;
      }
      assert.ok(time);
      const ms = await time(db().knex);
      assert.ok(Number.isSafeInteger(ms), String(ms));
      assert.ok(Math.abs(ms - Date.now()) < 60_000, 'the test database runs on this machine');
    });
  });

  describe('history', () => {
    test('list, read with its attempts, redeliver, failed ids, chart, queue figures and purge', async () => {
      const T = base();
      const h = await hook();
      const [d1] = await enqueue([h], T, 'contact.changed');
      const [d2] = await enqueue([h], T + 1);
      const [c1] = await claim(T + 2);
      await recordAttempt(db(), failure(c1, h, T + 3, 0, { transition: { status: 'expired', note: 'window over' } }));
      const page = await listDeliveries(db(), { webhookId: h, limit: 1 }, T + 4);
      assert.deepEqual(page.deliveries.map((d) => d.deliveryId), [d2], 'newest first');
      assert.equal(page.nextBefore, d2);
      const next = await listDeliveries(db(), { webhookId: h, limit: 5, before: page.nextBefore! }, T + 4);
      assert.deepEqual(next.deliveries.map((d) => [d.deliveryId, d.status, d.eventName]), [[d1, 'expired', 'contact.changed']]);
      assert.deepEqual((await listDeliveries(db(), { webhookId: h, statuses: ['expired'], limit: 5 }, T + 4)).deliveries.map((d) => d.deliveryId), [d1]);
      const one = await getDelivery(db(), d1, T + 4);
      assert.equal(one?.attemptLog.length, 1);
      assert.equal(one?.attemptLog[0].httpStatus, 500);
      assert.deepEqual(await failedDeliveryIds(db(), h, T), [d1]);
      const chart = await attemptChart(db(), h, { now: T + 3_600_000, bucketMs: 3_600_000, buckets: 2 });
      assert.equal(chart.reduce((n, b) => n + b.failed, 0), 1);
      assert.deepEqual(await redeliver(db(), [d1], T + 10), [d1]);
      const back = await row(d1);
      assert.equal(back.status, 'pending');
      assert.equal(toInt(back.next_attempt_at), T + 10);
      const q = await queueFigures(db(), T + 10);
      assert.ok(q.pending >= 2 && q.due >= 2);
      const purged = await purgeDeliveries(db(), h, { before: T + 1_000_000, pending: true, now: T + 20, reason: 'conformance' });
      assert.deepEqual(purged, { cancelled: 2, deleted: 2 }, 'the queue emptied first, then both deleted');
      assert.equal((await listDeliveries(db(), { webhookId: h, limit: 5 }, T + 30)).deliveries.length, 0);
    });
  });
}
