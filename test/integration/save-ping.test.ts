/**
 * When a save pings (issue 15, bug a): only when the saved hook will be Active and it is new, becomes Active, or
 * its target, secret or headers change. Stopping a hook whose target answers 500 or is down must work through
 * every face (SOAP SaveWebhook, REST PUT /api/v1/Webhook/{id}, the admin page's state API), without a request to
 * the target; a save that leaves a hook Stopped or TooManyErrors never pings. Real app, real loopback receivers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { startApp, startReceiver, textAt, webhookXml, TEST_ADMIN, TEST_ADMIN_PASSWORD, type Receiver, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/service.js';
import { basic, jsonClient, type JsonClient } from '../rest/support.js';
import { createWebhookAgent } from '../../src/agent/webhook-agent.js';
import { secretCodecFor } from '../../src/store/secret-codec.js';
import type { AssociateSummary } from '../../src/webhooks/types.js';

const V = 88;
const STATE_CODE = { Active: 1, Stopped: 2, TooManyErrors: 3 } as const;

for (const dialect of testDialects) {
  describe(`the save-time ping is sent only when deliveries will depend on it (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let rx: Receiver;
    let rest: JsonClient;
    let closedUrl: string;

    before(async () => {
      app = await startApp(dialect);
      rx = await startReceiver(200);
      rest = jsonClient(app.baseUrl, basic(TEST_ADMIN, TEST_ADMIN_PASSWORD));
      closedUrl = `http://127.0.0.1:${await freePort()}/hook`;
    });
    after(async () => {
      await rx?.close();
      await app?.close();
    });

    const pings = () => rx.requests.filter((q) => q.headers['x-hook-test'] === 'true').length;

    /** An Active hook on the receiver (created while it answers 200), then pointed at `target` in the database. */
    async function activeHook(name: string, target: 'answers 500' | 'closed port'): Promise<number> {
      rx.status = 200;
      const r = await app.call(V, 'SaveWebhook', webhookXml({ id: 0, name, events: ['contact.created'], targetUrl: rx.url, secret: 's' }));
      assert.equal(r.succeeded, true, r.exception?.message ?? r.text.slice(0, 300));
      const id = Number(textAt(r.response, 'WebhookId'));
      if (target === 'answers 500') rx.status = 500;
      else await app.db.knex('webhook').where('webhook_id', id).update({ target_url: closedUrl });
      return id;
    }

    const storedState = async (id: number) =>
      Number(((await app.db.knex('webhook').where('webhook_id', id).first('state')) as { state: unknown }).state);

    const stops: Record<string, (id: number) => Promise<void>> = {
      SOAP: async (id) => {
        const r = await app.call(V, 'SaveWebhook', webhookXml({ id, name: `hook ${id}`, events: ['contact.created'], state: 'Stopped' }));
        assert.equal(r.succeeded, true, r.exception?.message ?? r.text.slice(0, 300));
        assert.equal(textAt(r.response, 'State'), 'Stopped');
      },
      REST: async (id) => {
        const r = await rest('PUT', `/api/v1/Webhook/${id}`, { State: 'Stopped' });
        assert.equal(r.status, 200, r.text.slice(0, 300));
        assert.equal(r.json.State, 'Stopped');
      },
      admin: async (id) => {
        const r = await fetch(`${app.baseUrl}/admin/api/webhooks/${id}/state`, {
          method: 'POST', body: JSON.stringify({ state: 'Stopped' }),
          headers: { Authorization: `SOTicket ${app.ticket}`, 'Content-Type': 'application/json' },
        });
        assert.equal(r.status, 200, await r.clone().text());
        assert.equal(((await r.json()) as { state: string }).state, 'Stopped');
      },
    };

    for (const [face, stop] of Object.entries(stops)) {
      for (const target of ['answers 500', 'closed port'] as const) {
        test(`${face}: Stop of an Active hook whose target ${target} is saved, without a ping`, async () => {
          const id = await activeHook(`stop ${face} ${target}`, target);
          const before = pings();
          await stop(id);
          assert.equal(await storedState(id), STATE_CODE.Stopped);
          assert.equal(pings(), before, 'a save that leaves the hook Stopped sends no test event');
        });
      }
    }

    test('REST: a TooManyErrors hook renamed or stopped keeps its target unpinged', async () => {
      const id = await activeHook('tme', 'answers 500');
      await app.db.knex('webhook').where('webhook_id', id).update({ state: STATE_CODE.TooManyErrors });
      const before = pings();
      const renamed = await rest('PUT', `/api/v1/Webhook/${id}`, { Name: 'tme renamed', Headers: { 'X-New': '1' } });
      assert.equal(renamed.status, 200, renamed.text.slice(0, 300));
      assert.equal(renamed.json.State, 'TooManyErrors');
      assert.equal(pings(), before);
      const stopped = await rest('PUT', `/api/v1/Webhook/${id}`, { State: 'Stopped' });
      assert.equal(stopped.status, 200, stopped.text.slice(0, 300));
      assert.equal(await storedState(id), STATE_CODE.Stopped);
      assert.equal(pings(), before);
    });

    test('the ping is still sent and still refuses: re-activation, a changed target, secret or header set', async () => {
      const id = await activeHook('still pinged', 'answers 500');
      await stops.SOAP(id);
      const refused = async (xml: string, what: string) => {
        const before = pings();
        const r = await app.call(V, 'SaveWebhook', xml);
        assert.equal(r.succeeded, false, what);
        assert.equal(r.exception?.parameters.code, 'target_refused', what);
        assert.equal(pings(), before + 1, `${what}: one ping`);
      };
      const base = { id, name: `hook ${id}`, events: ['contact.created'] };
      await refused(webhookXml({ ...base, state: 'Active' }), 'Stopped -> Active');
      assert.equal(await storedState(id), STATE_CODE.Stopped, 'the refused re-activation changed nothing');

      // Active again (the receiver answers 200 for it), then each delivery-relevant change pings the 500 target.
      rx.status = 200;
      const back = await app.call(V, 'SaveWebhook', webhookXml({ ...base, state: 'Active' }));
      assert.equal(back.succeeded, true, back.exception?.message ?? undefined);
      rx.status = 500;
      await refused(webhookXml({ ...base, targetUrl: `${rx.url}?moved` }), 'target changed');
      await refused(webhookXml({ ...base, secret: 'other secret' }), 'secret changed');
      await refused(webhookXml({ ...base, headers: { 'X-Added': 'v' } }), 'headers changed');

      // A change deliveries do not depend on (the name, the events) does not ping.
      const before = pings();
      const renamed = await app.call(V, 'SaveWebhook', webhookXml({ ...base, name: 'renamed', events: ['contact.created', 'sale.created'] }));
      assert.equal(renamed.succeeded, true, renamed.exception?.message ?? undefined);
      assert.equal(pings(), before);
    });

    test('a save that read the hook Stopped but finds it made Active by another save pings before it writes', async () => {
      const id = await activeHook('made active meanwhile', 'answers 500');
      await stops.SOAP(id);
      rx.status = 200;
      // Between this save's read and its write, another writer makes the hook Active (deterministically: in the
      // save's own URL check, which runs after the read). The save changes the target of what is now an Active
      // hook, so the ping is due: the save reads again, pings the new target, then writes.
      let interleaved = false;
      const target = {
        checkTargetUrl: async (url: string) => {
          if (!interleaved) {
            interleaved = true;
            await app.db.knex('webhook').where('webhook_id', id).update({ state: STATE_CODE.Active });
          }
          return app.delivery.target.checkTargetUrl(url);
        },
        sendTestEvent: app.delivery.target.sendTestEvent,
      };
      const agent = createWebhookAgent({ db: app.db, config: app.config, target, secrets: secretCodecFor(app.config) });
      const admin = (await app.db.knex('associate').where('name', TEST_ADMIN).first('associate_id')) as { associate_id: unknown };
      const by: AssociateSummary = { associateId: Number(admin.associate_id), name: TEST_ADMIN, fullName: '', userName: TEST_ADMIN, personId: 0, deleted: false };
      const before = rx.requests.length;
      const saved = await agent.saveWebhook({ webhookId: id, targetUrl: `${rx.url}?new` }, by);
      assert.equal(saved.state, 'Active');
      assert.equal(saved.targetUrl, `${rx.url}?new`);
      const sent = rx.requests.slice(before);
      assert.equal(sent.length, 1, 'one ping, after the second read');
      assert.equal(sent[0].url, '/hook?new');
    });
  });
}
