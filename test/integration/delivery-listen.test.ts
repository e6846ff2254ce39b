/**
 * Cross-process wake-up on PostgreSQL (outbox/outbox-notify.ts): enqueueing issues `NOTIFY wa_outbox` in its
 * transaction, and a worker LISTENs on a connection of its own. "Another process" is a second Database (its own
 * knex pool) on the same PostgreSQL database; the worker polls only every 60 s, so a delivery within seconds can
 * only come from the notification.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase, dialectAvailability, type TestDatabase } from '../helpers/db.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { LISTENER_APPLICATION_NAME, OUTBOX_CHANNEL } from '../../src/outbox/outbox-notify.js';
import { listenConnectionOf, notifyOutbox } from '../../src/outbox/outbox-backend.js';
import { fireStateEvent } from '../../src/outbox/state-event.js';
import { createWorker, type Worker, type WorkerOptions } from '../../src/outbox/worker.js';
import { createWebhookAgent } from '../../src/agent/webhook-agent.js';
import { createHook, resetDeliveryState, silentLogger, startReceiver, testConfig, type Receiver } from './delivery-support.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';

const by = { associateId: 1, name: 'admin', fullName: 'Admin', userName: 'admin', personId: 0, deleted: false };
const event = (primaryKey: number) => ({
  eventName: 'contact.created', primaryKey, data: { contact_id: primaryKey }, changedByAssociateId: 7, timestamp: new Date(),
});

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('outbox wake-up across processes (PostgreSQL LISTEN/NOTIFY)', await dialectAvailability('pg'), () => {
  let db: TestDatabase;
  /** The "other process": SignalEvent and test queries go through it. */
  let other: Database;
  let rx: Receiver;
  const workers: Worker[] = [];

  const worker = (extra: Partial<WorkerOptions> = {}) => {
    const w = createWorker({ db, config: testConfig({ pollIntervalMs: 60_000 }), logger: silentLogger, mailer: null, ...extra });
    workers.push(w);
    return w;
  };
  const agent = () => createWebhookAgent({
    db: other, config: { allowInsecureTargets: true, pingOnSave: false },
    target: { checkTargetUrl: () => null, sendTestEvent: async () => ({ ok: true, message: '' }) },
    secrets: createSecretCodec(),
  });
  /** Backends of LISTEN sessions on the test database that have finished their LISTEN. */
  const listeners = async () => (await other.knex.raw(
    `select pid, state, query from pg_stat_activity where datname = current_database() and application_name = ?`,
    [LISTENER_APPLICATION_NAME],
  )).rows as Array<{ pid: number; state: string; query: string }>;
  const readyListener = async () => (await listeners()).find((r) => r.state === 'idle' && /^listen /i.test(r.query));

  before(async () => {
    db = await freshDatabase('pg');
    other = openDatabase(db.url);
    rx = await startReceiver();
  });
  after(async () => {
    for (const w of workers) await w.stop({ graceMs: 0 });
    await rx.close();
    await other.close();
    await db.drop();
  });
  beforeEach(async () => {
    await resetDeliveryState(db, rx, workers);
  });

  test('NOTIFY wa_outbox is delivered on commit only, once per transaction, from every enqueue path', async () => {
    const hook = await createHook(db.knex, { targetUrl: rx.url });
    await createHook(db.knex, { name: 'Watcher', targetUrl: rx.url, events: [`webhook${hook}.stopped`] });
    const conn = listenConnectionOf(db);
    assert.ok(conn !== null && typeof conn === 'object');
    const client = new pg.Client(conn);
    await client.connect();
    assert.equal((await client.query('select current_database() as d')).rows[0].d, new URL(db.url).pathname.slice(1),
      'the listener reuses the pool\'s settings, password included');
    const seen: string[] = [];
    let marked: (() => void) | null = null;
    client.on('notification', (m) => {
      if (m.channel === 'wa_test_marker') marked?.();
      else seen.push(m.channel);
    });
    await client.query(`listen ${OUTBOX_CHANNEL}`);
    await client.query('listen wa_test_marker');
    // Notifications of different transactions arrive in commit order: once the marker is here, everything that was
    // committed before it has been seen.
    const outboxNotifications = async () => {
      const arrived = new Promise<void>((r) => { marked = r; });
      await other.knex.raw('notify wa_test_marker');
      await arrived;
      return seen.length;
    };
    try {
      await assert.rejects(other.knex.transaction(async (trx) => {
        await enqueueEvent(trx, event(1), [hook]);
        throw new Error('rolled back');
      }));
      assert.equal(await outboxNotifications(), 0, 'a rolled-back enqueue wakes nobody');

      const trx = await other.knex.transaction();
      await enqueueEvent(trx, event(2), [hook]);
      await enqueueEvent(trx, event(3), [hook]);
      assert.equal(await outboxNotifications(), 0, 'nothing before the commit');
      await trx.commit();
      assert.equal(await outboxNotifications(), 1, 'one notification for the committed transaction');

      assert.equal(await agent().signalEvent('contact.created', 4, { contact_id: 4 }, by), 1);
      // SignalEvent notifies after its commit, on whichever pooled connection is free (notifyOutboxAfterCommit), so
      // the marker may overtake it: wait for it to arrive, then check through the marker that it came once.
      await until('the SignalEvent notification', async () => seen.length >= 2, 5_000);
      assert.equal(await outboxNotifications(), 2, 'SignalEvent');

      await enqueueEvent(other.knex, event(5), []);
      assert.equal(await agent().signalEvent('sale.created', 5, {}, by), 0);
      assert.equal(await outboxNotifications(), 2, 'no subscriber, nothing stored, no notification');

      assert.equal((await fireStateEvent(other.knex, hook, 'stopped')).deliveries, 1);
      assert.equal(await outboxNotifications(), 3, 'a state event');

      await notifyOutbox(other.knex);
      assert.equal(await outboxNotifications(), 4);
      assert.ok(seen.every((c) => c === OUTBOX_CHANNEL));
    } finally {
      await client.end();
    }
  });

  test('a worker on another connection pool delivers at once, not at its 60 s poll', async () => {
    const hook = await createHook(other.knex, { name: 'Fast', targetUrl: rx.url });
    const w = worker();
    await w.start();
    assert.ok(await readyListener(), 'the worker holds a LISTEN session');
    assert.equal(await agent().signalEvent('contact.created', 42, { contact_id: 42 }, by), 1);
    await rx.waitFor(1, 10_000);
    assert.equal(rx.requests[0].json.PrimaryKey, 42);
    assert.equal(rx.requests[0].json.WebhookName, 'Fast');
    assert.ok(w.stats().notifications >= 1, 'woken by the notification');
    await until('the attempt to be recorded', async () =>
      (await other.knex('wa_delivery').where('webhook_id', hook).first('status'))?.status === 'succeeded');
  });

  test('a notification naming only webhooks in flight here costs no claim round; one naming another webhook does', async () => {
    await createHook(other.knex, { name: 'Busy', targetUrl: `${rx.url}?h=a` });
    const b = await createHook(other.knex, { name: 'Idle', targetUrl: `${rx.url}?h=b` });
    rx.respond((r) => (r.url.endsWith('h=a') && r.json.PrimaryKey === 1 ? { status: 200, delayMs: 2000 } : { status: 200 }));
    // No slow-attempt wake-up (it claims too) while a's attempt lasts.
    const w = createWorker({ db, config: testConfig({ pollIntervalMs: 60_000, slowAttemptMs: 10_000 }), logger: silentLogger, mailer: null });
    workers.push(w);
    await w.start();
    assert.ok(await readyListener());
    await other.knex('webhook').where('webhook_id', b).update({ state: 2 }); // Stopped: only a subscribes for now
    assert.equal(await agent().signalEvent('contact.created', 1, { contact_id: 1 }, by), 1);
    await rx.waitFor(1, 10_000); // a's delivery is in flight (answered after 2 s)
    // What the worker decided on hearing each notification (wakesSkipped), not a count of claim rounds: a claim
    // round begun before the notification may end after it, so counting rounds across it raced (1 run in 11).
    const heard = w.stats().notifications;
    const skipped = w.stats().wakesSkipped;
    assert.equal(await agent().signalEvent('contact.created', 2, { contact_id: 2 }, by), 1);
    await until('the notification', async () => w.stats().notifications > heard);
    assert.equal(w.stats().wakesSkipped, skipped + 1, 'it names webhook a only, which has its delivery in flight here: no claim round');
    await other.knex('webhook').where('webhook_id', b).update({ state: 1 });
    assert.equal(await agent().signalEvent('contact.created', 3, { contact_id: 3 }, by), 2);
    await until('webhook b\'s delivery', async () => rx.requests.some((r) => r.url.endsWith('h=b')));
    assert.equal(w.stats().wakesSkipped, skipped + 1, 'the notification naming webhook b too started a claim');
    assert.ok(rx.requests.filter((r) => r.url.endsWith('h=a')).length === 1, 'b went out while a was still in flight');
    await rx.waitFor(4, 10_000);
    assert.deepEqual(rx.requests.filter((r) => r.url.endsWith('h=a')).map((r) => r.json.PrimaryKey), [1, 2, 3]);
  });

  test('the worker keeps working after its LISTEN connection is killed, and catches up on what it missed', async () => {
    await createHook(other.knex, { targetUrl: rx.url });
    const w = worker({ listen: { retryMinMs: 2_000 } });
    await w.start();
    const first = await until('the LISTEN session', readyListener);

    // Killed: what is signalled while nobody listens is picked up once the listener is back.
    await other.knex.raw('select pg_terminate_backend(?)', [first.pid]);
    await until('the old session to end', async () => !(await listeners()).some((l) => l.pid === first.pid));
    const before = w.stats().notifications;
    await agent().signalEvent('contact.created', 1, { contact_id: 1 }, by);
    await rx.waitFor(1, 10_000);
    assert.equal(w.stats().notifications, before, 'delivered by the catch-up after reconnecting, not by a notification');
    const second = await until('a new LISTEN session', readyListener);
    assert.notEqual(second.pid, first.pid);

    // Restored: notifications wake the worker again.
    await agent().signalEvent('contact.created', 2, { contact_id: 2 }, by);
    await rx.waitFor(2, 10_000);
    assert.ok(w.stats().notifications > before, 'woken by a notification on the new session');
    assert.deepEqual(rx.requests.map((r) => r.json.PrimaryKey), [1, 2]);
  });

  test('stop() ends the LISTEN session; listen: false never opens one', async () => {
    const w = worker();
    await w.start();
    assert.equal((await listeners()).length, 1);
    await w.stop();
    await until('the LISTEN session to end', async () => (await listeners()).length === 0);

    const polling = worker({ listen: false });
    await polling.start();
    assert.equal((await listeners()).length, 0);
    await polling.stop();
  });
});
