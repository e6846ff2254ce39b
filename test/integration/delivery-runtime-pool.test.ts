/**
 * The in-process worker has a pool of its own on PostgreSQL (store/db.ts separatePool, WORKER_DB_POOL_MAX): requests
 * holding every connection of the service's pool must not stall deliveries.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, dialectAvailability, type TestDatabase } from '../helpers/db.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { createDeliveryRuntime } from '../../src/agent/delivery-runtime.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { createHook, silentLogger, startReceiver, testConfig, type Receiver } from './delivery-support.js';

describe('delivery worker pool on pg', await dialectAvailability('pg'), () => {
  let created: TestDatabase;
  let db: Database;
  let rx: Receiver;

  before(async () => {
    created = await freshDatabase('pg');
    db = openDatabase(created.url, { poolMax: 1 });
    rx = await startReceiver();
  });
  after(async () => {
    await rx.close();
    await db.close();
    await created.drop();
  });

  test('deliveries flow while every connection of the request pool is held', async () => {
    const hook = await createHook(created.knex, { targetUrl: rx.url });
    const runtime = createDeliveryRuntime({ db, config: testConfig({ databaseUrl: created.url, pollIntervalMs: 50 }), logger: silentLogger });
    await runtime.startWorker();
    let release: () => void = () => {};
    const held = db.knex.transaction(async (trx) => {
      await trx.raw('select 1');
      await new Promise<void>((r) => { release = r; });
    });
    try {
      await new Promise((r) => setTimeout(r, 100));
      await enqueueEvent(created.knex, { eventName: 'contact.created', primaryKey: 1, data: {}, changedByAssociateId: 1, timestamp: new Date() }, [hook]);
      runtime.wake([hook]);
      await rx.waitFor(1, 5000);
    } finally {
      release();
      await held;
      await runtime.stop(1000);
    }
    const row = await created.knex('wa_delivery').first('status');
    assert.equal(row.status, 'succeeded');
  });
});
