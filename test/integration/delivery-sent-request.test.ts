/**
 * A delivery's "what was sent" (GET /admin/api/deliveries/{id}/sent, outbox/sent-request.ts) against what a real
 * receiver got, on every dialect: the body byte for byte and every header the agent sets, in order, for the first and
 * a later attempt (only X-SuperOffice-Retry and the Standard Webhooks timestamp and signature differ); the signature verifies with the secret, which appears nowhere in
 * the answer; a webhook saved after the attempt is said to be; a deleted one, or an unknown delivery, is a 404.
 */
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startApp, startReceiver, type Receiver, type TestApp } from '../helpers/app.js';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { setSignatureScheme } from '../../src/store/webhook-settings.js';

interface Sent {
  attemptNo: number; method: string; url: string; body: string; bodyBytes: number; webhookChangedAfter: number | null;
  headers: Array<{ name: string; value: string; own: boolean; hidden?: true }>;
}

for (const dialect of testDialects) {
  describe(`what was sent (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let rx: Receiver;
    let hookId: number;
    const admin = (method: string, path: string, body?: unknown) => fetch(`${app.baseUrl}/admin/api${path}`, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { Authorization: `SOTicket ${app.ticket}`, 'Content-Type': 'application/json' },
    });
    const until = async (fn: () => Promise<boolean>, what: string) => {
      const end = Date.now() + 20_000;
      while (!(await fn())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const deliveries = async () => ((await (await admin('GET', `/webhooks/${hookId}/deliveries`)).json()) as {
      deliveries: Array<{ deliveryId: number; status: string; attempts: number }>;
    }).deliveries;

    before(async () => {
      app = await startApp(dialect, { startWorker: true, env: { POLL_INTERVAL_MS: '50' } });
      rx = await startReceiver(200);
      const r = await admin('POST', '/webhooks', {
        Name: 'Sent check', TargetUrl: rx.url, Events: ['contact.changed'], Secret: 'hmac-secret-never-shown',
        Headers: { 'X-Api-Key': 'credential-value', 'X-Tenant': 'north' }, Properties: { region: 'eu', nested: { list: [1, 2.5, null] } },
      });
      assert.equal(r.status, 200, await r.clone().text());
      hookId = ((await r.json()) as { webhookId: number }).webhookId;
      // Both schemes: the Standard Webhooks signature covers the attempt's time, which the rebuild must take from the attempt.
      await setSignatureScheme(app.db.knex, hookId, 'both', Date.now());
      rx.requests.length = 0;
    });
    after(async () => {
      await rx?.close();
      await app?.close();
    });

    test('body and headers equal what the receiver got, first and later attempts; the secret nowhere', async () => {
      rx.status = 500;
      const signal = await fetch(`${app.baseUrl}/api/v1/Webhook/contact.changed/42`, {
        method: 'POST', body: JSON.stringify({ name: 'Ærlig Kåre', tags: ['a', 'b'], when: '2026-01-02T03:04:05Z' }),
        headers: { Authorization: `SOTicket ${app.ticket}`, 'Content-Type': 'application/json' },
      });
      assert.equal(signal.status, 204, await signal.text());
      await until(async () => rx.requests.length >= 2, 'two attempts (now, +1 s)');
      rx.status = 200;
      await until(async () => (await deliveries())[0]?.status === 'succeeded', 'the delivery to succeed');
      const [d] = await deliveries();
      const got = rx.requests;
      const answer = await admin('GET', `/deliveries/${d.deliveryId}/sent`);
      const text = await answer.text();
      assert.equal(answer.status, 200, text);
      assert.doesNotMatch(text, /hmac-secret-never-shown/);
      const sent = JSON.parse(text) as Sent;
      assert.equal(sent.attemptNo, d.attempts);
      assert.equal(sent.method, 'POST');
      assert.equal(sent.url, rx.url);
      const last = got[got.length - 1];
      assert.equal(sent.body, last.body.toString('utf8'), 'the body, byte for byte');
      assert.equal(sent.bodyBytes, last.body.length);
      for (const h of sent.headers) assert.equal(last.headers[h.name.toLowerCase()], h.value, h.name);
      // Nothing the receiver got is missing from the list (the HTTP client's own headers included).
      assert.deepEqual(Object.keys(last.headers).sort(), sent.headers.map((h) => h.name.toLowerCase()).sort());
      assert.deepEqual(sent.headers.map((h) => [h.name, h.own]), [['Content-Type', false], ['User-Agent', false], ['X-SuperOffice-Event', false],
        ['X-SuperOffice-EventId', false], ['X-SuperOffice-Retry', false], ['X-SuperOffice-Signature', false], ['webhook-id', false],
        ['webhook-timestamp', false], ['webhook-signature', false], ['X-Api-Key', true], ['X-Tenant', true],
        ['Accept-Encoding', false], ['Host', false], ['Content-Length', false], ['Connection', false]]);
      const signature = sent.headers.find((h) => h.name === 'X-SuperOffice-Signature')?.value;
      assert.equal(signature, createHmac('sha256', 'hmac-secret-never-shown').update(last.body).digest('base64'));
      assert.equal(sent.webhookChangedAfter, null);
      // Every earlier attempt sent the same body and NetServer signature; X-SuperOffice-Retry counted up.
      for (const [i, earlier] of got.slice(0, -1).entries()) {
        assert.equal(earlier.body.toString('utf8'), sent.body);
        assert.equal(earlier.headers['x-superoffice-retry'], String(i));
        assert.equal(earlier.headers['x-superoffice-signature'], signature);
      }
      assert.match(text, /"webhook-timestamp","value":"\d+"/);
    });

    test('a webhook saved after the attempt is said to be; deleted, or an unknown delivery: 404', async () => {
      const [d] = await deliveries();
      await new Promise((r) => setTimeout(r, 1100)); // the updated column may keep whole seconds only
      assert.equal((await admin('PUT', `/webhooks/${hookId}`, { Name: 'Sent check, renamed' })).status, 200);
      const sent = (await (await admin('GET', `/deliveries/${d.deliveryId}/sent`)).json()) as Sent;
      assert.ok(sent.webhookChangedAfter !== null, 'flagged as changed after the attempt');
      assert.match(sent.body, /"WebhookName":"Sent check, renamed"/, 'and rebuilt as it would go out now');
      assert.equal((await admin('GET', '/deliveries/99999/sent')).status, 404);
      assert.equal((await admin('GET', '/deliveries/abc/sent')).status, 400);
      assert.equal((await admin('DELETE', `/webhooks/${hookId}`)).status, 200);
      const gone = await admin('GET', `/deliveries/${d.deliveryId}/sent`);
      assert.equal(gone.status, 404);
      assert.match(((await gone.json()) as { error: { message: string } }).error.message, /was deleted: its request cannot be rebuilt/);
    });
  });
}
