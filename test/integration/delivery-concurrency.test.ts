/**
 * Scale-out on PostgreSQL: two workers (two connection pools, as two processes would have) claim from one outbox
 * while events keep arriving. Every attempt of a delivery carries its number in X-SuperOffice-Retry, so a claim
 * handed to two workers at once would show up as the same (EventId, Retry) pair twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { freshDatabase, dialectAvailability, type TestDatabase } from '../helpers/db.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { createWorker, type Worker } from '../../src/outbox/worker.js';
import { createHook, silentLogger, startReceiver, testConfig } from './delivery-support.js';

const EVENTS = 1000;
const HOOKS = 20;

test('two workers on PostgreSQL deliver 1,000 events: every one, no attempt sent twice, first attempts in order per webhook',
  await dialectAvailability('pg'), async () => {
    const db: TestDatabase = await freshDatabase('pg');
    const second: Database = openDatabase(db.url, { poolMax: 10 });
    const rx = await startReceiver();
    const workers: Worker[] = [];
    try {
      // About one delivery in twenty fails its first attempt, so retries run concurrently with first attempts.
      const failsFirst = (eventId: string) => createHash('sha1').update(eventId).digest()[0] % 20 === 0;
      rx.respond((r) => (r.headers['x-superoffice-retry'] === '0' && failsFirst(String(r.headers['x-superoffice-eventid'])))
        ? { status: 500, body: 'try again' }
        : { status: 200, body: 'ok' });
      const hooks: number[] = [];
      for (let i = 0; i < HOOKS; i++) hooks.push(await createHook(db.knex, { name: `h${i}`, targetUrl: `${rx.url}?h=${i}` }));

      const config = testConfig({ workerConcurrency: 16, claimBatchSize: 8, pollIntervalMs: 25, leaseMs: 30_000 });
      for (const handle of [db, second]) {
        const w = createWorker({ db: handle, config, logger: silentLogger, mailer: null });
        workers.push(w);
        await w.start();
      }
      // Events keep arriving while the workers run (20 per transaction, to keep the test quick).
      for (let i = 0; i < EVENTS; i += 20) {
        await db.knex.transaction(async (trx) => {
          for (let j = i; j < i + 20; j++) {
            await enqueueEvent(trx, { eventName: 'contact.created', primaryKey: j, data: { n: j }, changedByAssociateId: 1, timestamp: new Date() },
              [hooks[j % HOOKS]]);
          }
        });
        for (const w of workers) w.wake();
      }
      for (const w of workers) w.wake();

      const deadline = Date.now() + 60_000;
      for (;;) {
        const [{ n }] = await db.knex('wa_delivery').whereNot('status', 'succeeded').count({ n: '*' });
        if (Number(n) === 0) break;
        assert.ok(Date.now() < deadline, `${n} deliveries still not succeeded`);
        await new Promise((r) => setTimeout(r, 100));
      }

      const perAttempt = new Map<string, number>();
      for (const r of rx.requests) {
        const key = `${String(r.headers['x-superoffice-eventid'])}#${String(r.headers['x-superoffice-retry'])}`;
        perAttempt.set(key, (perAttempt.get(key) ?? 0) + 1);
      }
      const doubled = [...perAttempt].filter(([, n]) => n > 1);
      assert.deepEqual(doubled, [], 'an attempt was sent by two workers');

      const uuids = await db.knex('wa_delivery').pluck('event_uuid');
      assert.equal(uuids.length, EVENTS);
      const succeededIds = new Set(rx.requests.filter((r) => !(r.headers['x-superoffice-retry'] === '0' && failsFirst(String(r.headers['x-superoffice-eventid']))))
        .map((r) => String(r.headers['x-superoffice-eventid'])));
      for (const u of uuids) assert.ok(succeededIds.has(u), `EventId ${u} never answered 200`);
      const retried = rx.requests.filter((r) => r.headers['x-superoffice-retry'] === '1').length;
      assert.ok(retried > 0, 'some deliveries went through a retry');

      for (let h = 0; h < HOOKS; h++) {
        const firsts = rx.requests.filter((r) => r.url.endsWith(`?h=${h}`) && r.headers['x-superoffice-retry'] === '0').map((r) => r.json.PrimaryKey as number);
        assert.deepEqual(firsts, [...firsts].sort((a, b) => a - b), `first attempts of hook ${h} out of order`);
      }
      const stats = workers.map((w) => w.stats());
      assert.ok(stats.every((s) => s.claimed > 0), `both workers claimed: ${JSON.stringify(stats)}`);
      assert.equal(stats.reduce((n, s) => n + s.stale, 0), 0);
    } finally {
      for (const w of workers) await w.stop({ graceMs: 1000 });
      await rx.close();
      await second.close();
      await db.drop();
    }
  });
