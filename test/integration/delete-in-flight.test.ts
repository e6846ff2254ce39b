/**
 * A delivery in flight when its hook is deleted (issue 15, bug c): an outcome that reached the receiver is always
 * recorded (attempt row, delivery status, counted in the metrics), and then the hook's remaining deliveries are
 * cancelled, none left pending. Reproduced as reported: SignalEvent, then DeleteWebhook at once, the receiver
 * answering after 200 ms. Real app with its worker and metrics, real loopback receiver, SOAP calls.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { startApp, startReceiver, textAt, webhookXml, type Receiver, type TestApp } from '../helpers/app.js';
import { sample } from '../helpers/metrics-text.js';

/** Bounds every wait of this file (a loaded machine); the receiver answers in 200 ms. */
const WAIT_MS = 15_000;

interface DeliveryRow { delivery_id: unknown; status: string; last_status: unknown }
interface AttemptRow { delivery_id: unknown; http_status: unknown; outcome: string }

for (const dialect of testDialects) {
  describe(`a delivery in flight when its hook is deleted (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let rx: Receiver;

    before(async () => {
      app = await startApp(dialect, { startWorker: true, metrics: true, env: { METRICS_CACHE_MS: '0' } });
      rx = await startReceiver(200);
    });
    after(async () => {
      await rx?.close();
      await app?.close();
    });

    const deliveriesTo = () => rx.requests.filter((q) => q.headers['x-hook-test'] !== 'true');
    const attemptsCounted = async (outcome: string) =>
      sample(await (await fetch(`${app.baseUrl}/metrics`)).text(), 'webhook_agent_delivery_attempts_total', { outcome }) ?? 0;

    async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
      const start = Date.now();
      while (!(await check())) {
        if (Date.now() - start > WAIT_MS) assert.fail(`not within ${WAIT_MS} ms: ${what}`);
        await sleep(20);
      }
    }

    /** A hook, `events` signalled to it, and DeleteWebhook as soon as the first delivery reached the receiver. */
    async function deleteWhileInFlight(name: string, status: number, events: number): Promise<{ id: number; rows: () => Promise<DeliveryRow[]>; attempts: () => Promise<AttemptRow[]> }> {
      rx.status = 200;
      rx.delayMs = 0;
      const saved = await app.call(88, 'SaveWebhook', webhookXml({ id: 0, name, events: ['contact.created'], targetUrl: rx.url }));
      assert.equal(saved.succeeded, true, saved.exception?.message ?? undefined);
      const id = Number(textAt(saved.response, 'WebhookId'));
      rx.status = status;
      rx.delayMs = 200;
      const before = deliveriesTo().length;
      for (let pk = 1; pk <= events; pk++) {
        const r = await app.call(88, 'SignalEvent', `<EventName>contact.created</EventName><PrimaryKey>${pk}</PrimaryKey>`);
        assert.equal(r.succeeded, true, r.exception?.message ?? undefined);
      }
      await until('the first delivery reached the receiver', () => deliveriesTo().length > before);
      const del = await app.call(88, 'DeleteWebhook', `<WebhookId>${id}</WebhookId>`);
      assert.equal(del.succeeded, true, del.exception?.message ?? undefined);
      const rows = async () => (await app.db.knex('wa_delivery').where('webhook_id', id).orderBy('delivery_id')) as DeliveryRow[];
      const attempts = async () => (await app.db.knex('wa_attempt as a').join('wa_delivery as d', 'd.delivery_id', 'a.delivery_id')
        .where('d.webhook_id', id).orderBy('a.attempt_id').select('a.delivery_id', 'a.http_status', 'a.outcome')) as AttemptRow[];
      return { id, rows, attempts };
    }

    test('SignalEvent, DeleteWebhook at once, the receiver answers 200 after 200 ms: recorded as delivered and counted', async () => {
      const successes = await attemptsCounted('success');
      const { rows, attempts } = await deleteWhileInFlight('deleted while delivering', 200, 1);
      await until('the delivery is finished', async () => (await rows()).every((r) => r.status !== 'pending'));
      const [row] = await rows();
      assert.equal(row.status, 'succeeded', 'the receiver took it: delivered, not cancelled');
      assert.equal(Number(row.last_status), 200);
      const tried = await attempts();
      assert.equal(tried.length, 1, 'one attempt row');
      assert.equal(Number(tried[0].http_status), 200);
      assert.equal(tried[0].outcome, 'success');
      assert.equal(await attemptsCounted('success'), successes + 1, 'counted in the metrics');
    });

    test('a failed attempt in flight is recorded, then every remaining delivery of the deleted hook is cancelled', async () => {
      const { rows, attempts } = await deleteWhileInFlight('deleted while failing', 500, 3);
      await until('no delivery of the deleted hook is left pending', async () => (await rows()).every((r) => r.status !== 'pending'));
      const all = await rows();
      assert.deepEqual(all.map((r) => r.status), ['cancelled', 'cancelled', 'cancelled']);
      assert.equal(Number(all[0].last_status), 500, 'the outcome of the attempt in flight is kept');
      const tried = await attempts();
      assert.equal(tried.length, 1, 'the attempt in flight has its row; nothing else was sent');
      assert.equal(Number(tried[0].delivery_id), Number(all[0].delivery_id));
      assert.equal(Number(tried[0].http_status), 500);
    });
  });
}
