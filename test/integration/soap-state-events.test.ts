/**
 * State changes made through SaveWebhook: Stopped fires webhook{id}.stopped, Active fires webhook{id}.started
 * (to hooks subscribed to those names), and re-activation resets consecutive_errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { startApp, startReceiver, textAt, webhookXml, type Receiver, type TestApp } from '../helpers/app.js';

for (const dialect of testDialects) {
  describe(`SaveWebhook state transitions (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let receiver: Receiver;
    let hookId = 0;
    let watcherId = 0;

    before(async () => {
      app = await startApp(dialect);
      receiver = await startReceiver(200);
      const save = async (name: string, events: string[]) => {
        const r = await app.call(88, 'SaveWebhook', webhookXml({ id: 0, name, events, targetUrl: receiver.url }));
        assert.equal(r.succeeded, true, r.text);
        return Number(textAt(r.response, 'WebhookId'));
      };
      hookId = await save('watched', ['contact.created']);
      watcherId = await save('watcher', [`webhook${hookId}.stopped`, `webhook${hookId}.started`]);
    });
    after(async () => {
      await app?.close();
      await receiver?.close();
    });

    const stateEvents = async () => (await app.db.knex('wa_event').where('name', 'like', `webhook${hookId}.%`).orderBy('event_id')) as Array<{ name: string; primary_key: unknown }>;

    test('Stopped then Active fire .stopped and .started to the subscribed hook only', async () => {
      const stop = await app.call(88, 'SaveWebhook', webhookXml({ id: hookId, name: 'watched', events: ['contact.created'], targetUrl: receiver.url, state: 'Stopped' }));
      assert.equal(stop.succeeded, true, stop.text);
      assert.deepEqual((await stateEvents()).map((e) => e.name), [`webhook${hookId}.stopped`]);
      const deliveries = await app.db.knex('wa_delivery').whereIn('event_id', app.db.knex('wa_event').select('event_id').where('name', `webhook${hookId}.stopped`));
      assert.deepEqual(deliveries.map((d: { webhook_id: unknown }) => Number(d.webhook_id)), [watcherId]);

      // Saving again with the same state fires nothing new.
      await app.call(88, 'SaveWebhook', webhookXml({ id: hookId, name: 'watched', events: ['contact.created'], targetUrl: receiver.url, state: 'Stopped' }));
      assert.equal((await stateEvents()).length, 1);

      const start = await app.call(88, 'SaveWebhook', webhookXml({ id: hookId, name: 'watched', events: ['contact.created'], targetUrl: receiver.url, state: 'Active' }));
      assert.equal(start.succeeded, true, start.text);
      assert.deepEqual((await stateEvents()).map((e) => e.name), [`webhook${hookId}.stopped`, `webhook${hookId}.started`]);
      assert.equal(Number((await stateEvents())[1].primary_key), hookId);
    });

    test('re-activating a TooManyErrors hook resets consecutive_errors', async () => {
      await app.db.knex('webhook').where('webhook_id', hookId).update({ state: 3 });
      await app.db.knex('webhook_usage').where('webhook_usage_id', hookId).update({ consecutive_errors: 9, total_errors: 9 });
      const r = await app.call(88, 'SaveWebhook', webhookXml({ id: hookId, name: 'watched', events: ['contact.created'], targetUrl: receiver.url, state: 'Active' }));
      assert.equal(r.succeeded, true, r.text);
      assert.equal(textAt(r.response, 'State'), 'Active');
      assert.equal(textAt(r.response, 'ConsecutiveErrors'), '0');
      assert.equal(textAt(r.response, 'TotalErrors'), '9', 'history is kept');
    });
  });
}
