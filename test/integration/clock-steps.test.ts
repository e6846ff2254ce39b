/**
 * Steps of this process's wall clock (issue 18, item 8), injected as the worker's process clock; the machine's
 * clock is never touched. Lease and retry times come from the database's clock on PostgreSQL and from a monotonic
 * clock within the process on SQLite (src/outbox/worker/outbox-clock.ts), so neither step below moves them.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshDatabase, dialectAvailability, testDialects, type TestDatabase } from '../helpers/db.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { createWorker, type Worker } from '../../src/outbox/worker.js';
import type { ConfigInput } from '../../src/config.js';
import { createHook, resetDeliveryState, silentLogger, startReceiver, testConfig, type Receiver } from './delivery-support.js';

const HOUR = 3_600_000;

/** A wall clock that runs with the real one and can be stepped. */
function steppedWall() {
  let offset = 0;
  const wall = () => Date.now() + offset;
  return { wall, step: (ms: number) => { offset += ms; } };
}

const event = (primaryKey: number, at: number) => ({
  eventName: 'contact.created', primaryKey, data: { contact_id: primaryKey }, changedByAssociateId: 7, timestamp: new Date(at),
});

for (const dialect of testDialects) {
  describe(`clock steps (${dialect})`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    let rx: Receiver;
    const workers: Worker[] = [];
    let clock = steppedWall();

    const worker = (config: ConfigInput = {}) => {
      const w = createWorker({
        db, config: testConfig(config), logger: silentLogger, random: () => 0.5, mailer: null,
        processClock: { wall: clock.wall, monotonic: () => performance.now() },
      });
      workers.push(w);
      return w;
    };
    const statuses = async () => (await db.knex('wa_delivery').orderBy('delivery_id').select('status')).map((r: { status: string }) => r.status);
    const attempts = async () => Number((await db.knex('wa_attempt').count({ n: '*' }))[0].n);

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
      clock = steppedWall();
    });

    test('a step back of 1 h does not delay a pending retry by 1 h, nor hold back what is signalled after it', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      rx.respond((_r, i) => (i === 0 ? { status: 500, body: 'down' } : { status: 200, body: 'ok' }));
      const w = worker();
      await enqueueEvent(db.knex, event(1, clock.wall()), [hook], { now: clock.wall() });
      assert.equal(await w.drain(), 1, 'the first attempt fails; the retry is due 1 s later');
      clock.step(-HOUR);
      await sleep(1_300);
      assert.equal(await w.drain(), 1, 'the retry went out about 1 s after the failure, not 1 h');
      await enqueueEvent(db.knex, event(2, clock.wall()), [hook], { now: clock.wall() });
      assert.equal(await w.drain(), 1, 'an event stamped with the stepped-back clock is due at once');
      assert.equal(rx.requests.length, 3);
      assert.deepEqual(await statuses(), ['succeeded', 'succeeded']);
    });

    test('a step forward of 2 min while a delivery is in flight does not send it twice', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url });
      rx.respond(() => ({ status: 200, body: 'ok', delayMs: 1_500 }));
      const w = worker({ leaseMs: 30_000, pollIntervalMs: 50 });
      await w.start();
      await enqueueEvent(db.knex, event(1, clock.wall()), [hook], { now: clock.wall() });
      w.wake([hook]);
      await rx.waitFor(1);
      clock.step(2 * 60_000); // past the 30 s lease of the attempt in flight
      // The worker keeps claiming every 50 ms while the receiver holds the answer for 1.5 s.
      for (let i = 0; i < 60 && (await statuses())[0] !== 'succeeded'; i++) await sleep(50);
      await sleep(500);
      assert.equal(rx.requests.length, 1, 'sent once');
      assert.deepEqual(await statuses(), ['succeeded']);
      assert.equal(await attempts(), 1);
      assert.equal(w.stats().stale, 0, 'its outcome was recorded under its lease');
      if (dialect === 'sqlite') {
        // SQLite's clock follows a step forward (the lease in flight is safe because no worker claims a webhook it is
        // sending to): an event stamped with the stepped clock does not wait 2 min. On PostgreSQL the database's clock
        // decides, and a host whose clock runs ahead of it stamps events in its future (docs/delivery.md).
        await enqueueEvent(db.knex, event(2, clock.wall()), [hook], { now: clock.wall() });
        w.wake([hook]);
        await rx.waitFor(2);
      }
    });
  });
}
