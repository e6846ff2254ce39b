/**
 * Idempotency-Key on SignalEvent (issue 21, item 5), SQLite and PostgreSQL: the RESTful and Agents faces over real
 * HTTP, repeats and concurrent repeats, a second connection pool on the same database standing in for another
 * process, the TTL, and the housekeeping that prunes old keys.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { startApp, TEST_ADMIN, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { basic, jsonClient, type JsonClient } from '../rest/support.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { createWebhookAgent } from '../../src/agent/webhook-agent.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
import { pruneIdempotencyKeys } from '../../src/outbox/enqueue-idempotent.js';
import { outboxHousekeeping } from '../../src/outbox/worker/housekeeping.js';
import { STATE_CODE } from '../../src/webhooks/types.js';
import { clearDeliveryTables, createHook, silentLogger } from './delivery-support.js';

for (const dialect of testDialects) {
  describe(`Idempotency-Key on SignalEvent, ${dialect}`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let api: JsonClient;
    let other: Database;
    const counts = async () => ({
      events: Number((await app.db.knex('wa_event').count({ n: '*' }))[0].n),
      deliveries: Number((await app.db.knex('wa_delivery').count({ n: '*' }))[0].n),
      keys: Number((await app.db.knex('wa_idempotency').count({ n: '*' }))[0].n),
    });
    const signal = (key: string | null, pk = 5, data: unknown = { a: 1 }) =>
      api('POST', `/api/v1/Webhook/contact.created/${pk}`, data, key === null ? {} : { 'Idempotency-Key': key });
    const agentsSignal = (key: string, pk = 5) => api('POST', '/api/v1/Agents/Webhook/SignalEvent',
      { EventName: 'contact.created', PrimaryKey: pk, Data: { a: 1 } }, { 'Idempotency-Key': key });

    before(async () => {
      app = await startApp(dialect);
      api = jsonClient(app.baseUrl, basic(TEST_ADMIN, TEST_ADMIN_PASSWORD));
      other = openDatabase(app.db.url, { poolMax: 4 });
    });
    after(async () => {
      await other.close();
      await app.close();
    });
    beforeEach(async () => {
      await clearDeliveryTables(app.db);
      // Active, so the event is owed; no worker runs in this app.
      await createHook(app.db.knex, { targetUrl: 'http://127.0.0.1:9/unused', state: 'Active', events: ['contact.created'] });
    });

    test('a repeat within the TTL enqueues nothing and answers as the first did (RESTful and Agents faces)', async () => {
      const first = await signal('order-1');
      assert.equal(first.status, 204, first.text);
      const again = await signal('order-1');
      assert.equal(again.status, 204, again.text);
      assert.equal(again.text, first.text);
      assert.deepEqual(await counts(), { events: 1, deliveries: 1, keys: 1 });
      // No key: every call enqueues, as before.
      await signal(null);
      await signal(null);
      assert.equal((await counts()).events, 3);
      // The Agents face, same rules (its own key).
      assert.equal((await agentsSignal('order-2')).status, 204);
      assert.equal((await agentsSignal('order-2')).status, 204);
      assert.deepEqual(await counts(), { events: 4, deliveries: 4, keys: 2 });
      // The quoted form of the IETF draft names the same key.
      assert.equal((await signal('"order-1"')).status, 204);
      assert.equal((await counts()).events, 4);
    });

    test('a key used again for another request is refused (409), naming the header; a bad key is a 400', async () => {
      assert.equal((await signal('k1', 5, { a: 1 })).status, 204);
      const other = await signal('k1', 5, { a: 2 });
      assert.equal(other.status, 409, other.text);
      assert.match(other.text, /Idempotency-Key: already used for a different request/);
      assert.equal((await signal('k1', 6, { a: 1 })).status, 409);
      const bad = await signal('x'.repeat(256));
      assert.equal(bad.status, 400);
      assert.match(bad.text, /Idempotency-Key: 1 to 255 visible ASCII characters/);
      assert.equal((await signal('')).status, 400);
      assert.deepEqual(await counts(), { events: 1, deliveries: 1, keys: 1 });
    });

    test('the answer is the first one\'s: a hook added after the first call does not get the repeat', async () => {
      await app.db.knex('webhook').update({ state: STATE_CODE.Stopped }); // the first call owes nothing
      assert.equal((await signal('late')).status, 204);
      assert.deepEqual(await counts(), { events: 0, deliveries: 0, keys: 1 });
      await app.db.knex('webhook').update({ state: STATE_CODE.Active });
      assert.equal((await signal('late')).status, 204);
      assert.deepEqual(await counts(), { events: 0, deliveries: 0, keys: 1 });
    });

    test('concurrent repeats over HTTP and from a second connection pool: one event', async () => {
      const by = { associateId: 1, name: TEST_ADMIN, fullName: '', personId: 0, deleted: false } as never;
      const agent = createWebhookAgent({ db: other, config: { allowInsecureTargets: true, pingOnSave: false, idempotencyKeyTtlMs: 86_400_000 },
        target: { checkTargetUrl: () => null, sendTestEvent: async () => ({ ok: true, message: '' }) }, secrets: createSecretCodec() });
      const admin = await app.db.knex('associate').where('name', TEST_ADMIN).first('associate_id');
      const asAdmin = { ...(by as object), associateId: Number(admin.associate_id) } as never;
      const results = await Promise.all([
        ...Array.from({ length: 8 }, () => signal('burst')),
        ...Array.from({ length: 8 }, () => agent.signalEvent('contact.created', 5, { a: 1 }, asAdmin, { idempotencyKey: 'burst' })),
      ]);
      for (const r of results.slice(0, 8)) assert.equal((r as { status: number }).status, 204);
      assert.deepEqual(results.slice(8), Array(8).fill(1));
      assert.deepEqual(await counts(), { events: 1, deliveries: 1, keys: 1 });
    });

    test('after the TTL the key counts afresh; the housekeeping prunes old keys', async () => {
      assert.equal((await signal('old')).status, 204);
      // Age the key past the TTL (24 h by default).
      await app.db.knex('wa_idempotency').update({ created: Date.now() - 86_400_000 - 1000 });
      assert.equal((await signal('old')).status, 204);
      assert.deepEqual(await counts(), { events: 2, deliveries: 2, keys: 1 });
      await app.db.knex('wa_idempotency').update({ created: Date.now() - 86_400_000 - 1000 });
      assert.equal((await signal('fresh')).status, 204);
      assert.equal(await pruneIdempotencyKeys(app.db, { now: Date.now(), ttlMs: 86_400_000, batchSize: 1 }), 1);
      assert.equal((await counts()).keys, 1);
      const hk = outboxHousekeeping({ db: app.db, config: { retentionMs: 7 * 86_400_000, idempotencyKeyTtlMs: 1000 }, logger: silentLogger,
        now: () => Date.now() + 5000 });
      await hk();
      assert.equal((await counts()).keys, 0);
    });
  });
}
