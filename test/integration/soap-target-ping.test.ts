/**
 * The target ping of SaveWebhook and TestWebhook through the real app, with real loopback receivers:
 * - SaveWebhook POSTs a signed `test` event (X-Hook-Test: true) and saves only when the target answers 2xx;
 * - TestWebhook reports the outcome in WebhookResult{Success, Message} and saves nothing;
 * - with ALLOW_INSECURE_TARGETS=false, http:// and loopback targets are refused naming TargetUrl before any
 *   connection is made.
 * The signature is recomputed here with node:crypto from the exact bytes the receiver got.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import {
  startApp, startReceiver, textAt, webhookXml, type Receiver, type SoapResult, type TestApp, type WebhookXml,
} from '../helpers/app.js';

const V = 88;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function webhookCount(app: TestApp): Promise<number> {
  const [row] = await app.db.knex('webhook').count({ n: '*' });
  return Number(row.n);
}

function result(r: SoapResult): { success: string | null | undefined; message: string | null | undefined } {
  assert.equal(r.status, 200);
  assert.equal(r.succeeded, true, `TestWebhook failed as a call: ${r.exception?.message ?? r.text.slice(0, 500)}`);
  return { success: textAt(r.response, 'Success'), message: textAt(r.response, 'Message') };
}

for (const dialect of testDialects) {
  describe(`SaveWebhook/TestWebhook target ping (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let ok: Receiver;
    let failing: Receiver;
    const hook = (over: WebhookXml): string => webhookXml({ id: 0, name: 'pinged', events: ['contact.created'], ...over });

    before(async () => {
      app = await startApp(dialect);
      ok = await startReceiver(200);
      failing = await startReceiver(500);
    });
    after(async () => {
      await ok?.close();
      await failing?.close();
      await app?.close();
    });

    test('a target answering 500 refuses the save; nothing is stored', async () => {
      const r = await app.call(V, 'SaveWebhook', hook({ targetUrl: failing.url, secret: 'k' }));
      assert.equal(r.status, 200);
      assert.equal(r.succeeded, false, r.text.slice(0, 500));
      assert.equal(r.response?.nil, true);
      assert.match(r.exception?.message ?? '', /^TargetUrl did not accept the test event, so the webhook was not saved: HTTP\/1\.1 500/);
      assert.equal(r.exception?.parameters.field, 'TargetUrl');
      assert.equal(r.exception?.parameters.code, 'target_refused');
      assert.equal(failing.requests.length, 1, 'exactly one ping');
      assert.equal(failing.requests[0].headers['x-hook-test'], 'true');
      assert.equal(await webhookCount(app), 0);
    });

    test('a target answering 200 gets a signed test event and the hook is saved', async () => {
      const secret = 'sh4red-sécret';
      const r = await app.call(V, 'SaveWebhook', hook({ name: 'pinged ok', targetUrl: ok.url, secret, headers: { 'X-Custom': 'v1' } }));
      assert.equal(r.succeeded, true, r.exception?.message ?? r.text.slice(0, 500));
      const id = Number(textAt(r.response, 'WebhookId'));
      assert.ok(id > 0);
      assert.equal(await webhookCount(app), 1);

      assert.equal(ok.requests.length, 1);
      const q = ok.requests[0];
      assert.equal(q.method, 'POST');
      assert.equal(q.url, '/hook');
      assert.equal(q.headers['x-hook-test'], 'true');
      assert.equal(q.headers['x-superoffice-event'], 'test');
      assert.equal(q.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(q.headers['x-custom'], 'v1');
      const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(q.body).digest('base64');
      assert.equal(q.headers['x-superoffice-signature'], expected);

      const body = JSON.parse(q.body.toString('utf8')) as Record<string, unknown>;
      assert.match(String(body.EventId), GUID);
      assert.equal(q.headers['x-superoffice-eventid'], body.EventId);
      assert.equal(body.Event, 'test');
      assert.equal(body.Entity, 'test');
      assert.equal(body.PrimaryKey, 0);
      assert.deepEqual(body.Changes, []);
      assert.equal(body.WebhookName, 'pinged ok');
      assert.equal(body.ChangedByAssociateId, 1);
      assert.equal(body.ContextIdentifier, 'Default');

      // The ping of a save is not a delivery: nothing queued.
      const [d] = await app.db.knex('wa_delivery').count({ n: '*' });
      assert.equal(Number(d.n), 0);
    });

    test('a hook without a secret is pinged unsigned', async () => {
      const before = ok.requests.length;
      const r = await app.call(V, 'SaveWebhook', hook({ name: 'no secret', targetUrl: ok.url }));
      assert.equal(r.succeeded, true, r.exception?.message ?? undefined);
      assert.equal(ok.requests.length, before + 1);
      assert.equal(ok.requests[before].headers['x-superoffice-signature'], undefined);
    });

    test('TestWebhook: 200 -> Success true with "200" in Message; nothing saved', async () => {
      const count = await webhookCount(app);
      const before = ok.requests.length;
      const r = await app.call(V, 'TestWebhook', hook({ name: 'probe', targetUrl: ok.url, secret: 'p' }));
      const res = result(r);
      assert.equal(res.success, 'true');
      assert.match(res.message ?? '', /200/);
      assert.match(res.message ?? '', /^HTTP\/1\.1 200 OK/);
      assert.equal(ok.requests.length, before + 1);
      const q = ok.requests[before];
      assert.equal(q.headers['x-hook-test'], 'true');
      assert.equal(q.headers['x-superoffice-signature'], createHmac('sha256', 'p').update(q.body).digest('base64'));
      assert.equal(JSON.parse(q.body.toString()).WebhookName, 'probe');
      assert.equal(await webhookCount(app), count);
    });

    test('TestWebhook: 500 -> Success false with the status in Message; nothing saved', async () => {
      const count = await webhookCount(app);
      const before = failing.requests.length;
      const res = result(await app.call(V, 'TestWebhook', hook({ name: 'probe', targetUrl: failing.url })));
      assert.equal(res.success, 'false');
      assert.match(res.message ?? '', /^HTTP\/1\.1 500 Internal Server Error/);
      assert.match(res.message ?? '', /receiver answered 500/, 'Message carries the response body');
      assert.equal(failing.requests.length, before + 1);
      assert.equal(await webhookCount(app), count);
    });

    test('TestWebhook of an existing hook id does not change the stored hook', async () => {
      const all = await app.call(V, 'GetAllWebhooks', '');
      const first = all.response!.children[0];
      const id = textAt(first, 'WebhookId');
      const res = result(await app.call(V, 'TestWebhook', hook({ id: Number(id), name: 'other name', targetUrl: failing.url })));
      assert.equal(res.success, 'false');
      const got = await app.call(V, 'GetWebhook', `<WebhookId>${id}</WebhookId>`);
      assert.equal(textAt(got.response, 'Name'), textAt(first, 'Name'));
      assert.equal(textAt(got.response, 'TargetUrl'), ok.url);
    });
  });

  describe(`ALLOW_INSECURE_TARGETS=false (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let receiver: Receiver;

    before(async () => {
      app = await startApp(dialect, { env: { ALLOW_INSECURE_TARGETS: 'false' } });
      receiver = await startReceiver(200);
    });
    after(async () => {
      await receiver?.close();
      await app?.close();
    });

    const port = () => new URL(receiver.url).port;
    const targets = () => [
      `http://127.0.0.1:${port()}/hook`,
      `https://127.0.0.1:${port()}/hook`,
      `https://localhost:${port()}/hook`,
      `http://example.com/hook`,
      `https://[::1]:${port()}/hook`,
    ];

    test('SaveWebhook refuses http:// and loopback targets naming TargetUrl, without connecting', async () => {
      for (const url of targets()) {
        const r = await app.call(V, 'SaveWebhook', webhookXml({ id: 0, name: 'x', events: ['contact.created'], targetUrl: url }));
        assert.equal(r.status, 200, url);
        assert.equal(r.succeeded, false, `${url}: ${r.text.slice(0, 400)}`);
        assert.match(r.exception?.message ?? '', /^TargetUrl: /, url);
        assert.equal(r.exception?.parameters.field, 'TargetUrl', url);
      }
      assert.equal(receiver.requests.length, 0, 'a refused target must not be contacted');
      assert.equal(await webhookCount(app), 0);
    });

    test('TestWebhook reports the same targets as refused, naming TargetUrl, without connecting', async () => {
      for (const url of targets()) {
        const r = await app.call(V, 'TestWebhook', webhookXml({ id: 0, name: 'x', events: ['contact.created'], targetUrl: url }));
        assert.equal(r.status, 200, url);
        if (r.succeeded === false) {
          assert.match(r.exception?.message ?? '', /TargetUrl/, url);
        } else {
          const res = result(r);
          assert.equal(res.success, 'false', url);
          assert.match(res.message ?? '', /TargetUrl/, url);
        }
      }
      assert.equal(receiver.requests.length, 0);
      assert.equal(await webhookCount(app), 0);
    });
  });
}
