/**
 * The webhook list page (store/webhook-page.ts) on every dialect: a search text as a case-insensitive substring of
 * name, target or events, LIKE's wildcards taken literally, the state filter, offset paging by id and the total.
 */
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { dialectAvailability, freshDatabase, testDialects, type TestDatabase } from '../helpers/db.js';
import { createWebhook } from '../../src/store/webhook-repository.js';
import { webhookPage } from '../../src/store/webhook-page.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
import { sampleInput } from './store-checks.js';

const secrets = { secrets: createSecretCodec() };

for (const dialect of testDialects) {
  describe(`webhook page (${dialect})`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    const ids: number[] = [];
    before(async () => {
      db = await freshDatabase(dialect);
      const at = new Date('2024-05-06T07:08:09Z');
      for (let i = 0; i < 120; i++) {
        ids.push(await createWebhook(db, sampleInput({
          name: i === 7 ? 'Billing 100% sync' : i === 8 ? 'Billing_x' : `Hook ${String(i).padStart(3, '0')}`,
          targetUrl: i % 10 === 3 ? `https://erp.example.com/in/${i}` : `https://hooks.example.net/${i}`,
          events: i % 4 === 0 ? ['sale.changed', 'contact.created'] : ['contact.created'],
          state: i % 5 === 0 ? 'Stopped' : 'Active',
          headers: i === 0 ? { 'X-Key': 'v' } : null,
        }), at, 0, secrets));
      }
    });
    after(async () => {
      await db?.drop();
    });

    test('pages of every hook by id, the total, and an offset past the end', async () => {
      const first = await webhookPage(db, { offset: 0, limit: 50 }, secrets);
      assert.equal(first.total, 120);
      assert.deepEqual(first.webhooks.map((w) => w.webhookId), ids.slice(0, 50));
      assert.deepEqual(first.webhooks[0].headers, { 'X-Key': 'v' }, 'hooks read in full');
      const last = await webhookPage(db, { offset: 100, limit: 50 }, secrets);
      assert.deepEqual(last.webhooks.map((w) => w.webhookId), ids.slice(100));
      assert.deepEqual(await webhookPage(db, { offset: 500, limit: 50 }, secrets), { webhooks: [], total: 120 });
    });

    test('search by name, target or event, any case; wildcards are literal; with the state filter', async () => {
      const byName = await webhookPage(db, { search: 'hook 01', offset: 0, limit: 50 }, secrets);
      assert.deepEqual(byName.webhooks.map((w) => w.name), Array.from({ length: 10 }, (_, i) => `Hook 01${i}`));
      const byTarget = await webhookPage(db, { search: 'ERP.example', offset: 0, limit: 50 }, secrets);
      assert.equal(byTarget.total, 12);
      assert.ok(byTarget.webhooks.every((w) => w.targetUrl.includes('erp.example.com')));
      const byEvent = await webhookPage(db, { search: 'sale.changed', offset: 0, limit: 10 }, secrets);
      assert.equal(byEvent.total, 30);
      assert.equal(byEvent.webhooks.length, 10);
      assert.deepEqual((await webhookPage(db, { search: '100%', offset: 0, limit: 50 }, secrets)).webhooks.map((w) => w.name), ['Billing 100% sync']);
      assert.deepEqual((await webhookPage(db, { search: 'g_', offset: 0, limit: 50 }, secrets)).webhooks.map((w) => w.name), ['Billing_x'],
        '_ is not a wildcard');
      const stopped = await webhookPage(db, { state: 'Stopped', offset: 0, limit: 50 }, secrets);
      assert.equal(stopped.total, 24);
      assert.ok(stopped.webhooks.every((w) => w.state === 'Stopped'));
      const both = await webhookPage(db, { search: 'sale.', state: 'Stopped', offset: 0, limit: 50 }, secrets);
      assert.equal(both.total, 6, 'i % 20 === 0');
      assert.equal((await webhookPage(db, { search: 'nothing like it', offset: 0, limit: 50 }, secrets)).total, 0);
    });
  });
}
