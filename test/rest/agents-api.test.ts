/**
 * The Agents face (/api/v1/Agents/Webhook/<Operation>, all POST) through real HTTP against the real app on SQLite.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startReceiver, TEST_ADMIN, type Receiver, type TestApp } from '../helpers/app.js';
import { basic, jsonClient, until, type JsonClient } from './support.js';

describe('Agents API /api/v1/Agents/Webhook', () => {
  let app: TestApp;
  let rx: Receiver;
  let api: JsonClient;
  const agent = (op: string, body?: unknown, query = '') => api('POST', `/api/v1/Agents/Webhook/${op}${query}`, body);

  before(async () => {
    app = await startApp('sqlite', { startWorker: true });
    rx = await startReceiver(200);
    api = jsonClient(app.baseUrl, `SOTicket ${app.ticket}`);
  });
  after(async () => {
    await rx.close();
    await app.close();
  });

  test('every operation, and the same data through the RESTful face', async () => {
    const def = await agent('CreateDefaultWebhook');
    assert.equal(def.status, 200);
    assert.equal(def.json.State, 'Active');
    assert.deepEqual(def.json.Events, ['contact.created', 'contact.deleted']);

    const saved = await agent('SaveWebhook', { ...def.json, Name: 'agent hook', TargetUrl: rx.url, Events: ['person.created'] });
    assert.equal(saved.status, 200, saved.text);
    const id = saved.json.WebhookId;
    assert.ok(id > 0);
    assert.equal(saved.json._Links, undefined, 'the Agents face returns the plain carrier');
    assert.equal(saved.json.RegisteredAssociate.Name, TEST_ADMIN);

    const got = await agent('GetWebhook', undefined, `?webhookId=${id}`);
    assert.equal(got.status, 200);
    assert.equal(got.json.Name, 'agent hook');
    const viaRest = await api('GET', `/api/v1/Webhook/${id}`, undefined, { Authorization: basic(TEST_ADMIN, 'app-test-password') });
    assert.deepEqual({ ...viaRest.json, _Links: undefined }, { ...got.json, _Links: undefined });

    const missing = await agent('GetWebhook', undefined, '?WEBHOOKID=99999');
    assert.equal(missing.status, 200);
    assert.equal(missing.json, null, 'NetServer\'s Agents API answers a missing webhook with null');

    const all = await agent('GetAllWebhooks', { NameFilter: 'AGENT HOOK', EventFilter: 'person.created', StatusFilter: 'Active' });
    assert.deepEqual(all.json.map((h: { WebhookId: number }) => h.WebhookId), [id]);
    assert.equal((await agent('GetAllWebhooks', { StatusFilter: 'Stopped' })).json.length, 0);
    assert.equal((await agent('GetAllWebhooks', {})).json.length, 1);

    const tested = await agent('TestWebhook', { Webhook: { TargetUrl: rx.url, Name: 't' } });
    assert.equal(tested.json.Success, true);

    const sig = await agent('SignalEvent', { EventName: 'person.created', PrimaryKey: 7, Data: { firstname: 'Ann', age: 40 } });
    assert.equal(sig.status, 204);
    const hit = await until('delivery', () => rx.requests.find((q) => q.headers['x-superoffice-event'] === 'person.created'));
    assert.equal(JSON.parse(hit.body.toString('utf8')).PrimaryKey, 7);

    const last = await agent('GetLastError', { WebhookId: id });
    assert.equal(last.status, 200);
    assert.equal(last.json, '');

    assert.equal((await agent('DeleteWebhook', undefined, `?webhookId=${id}`)).status, 204);
    const again = await agent('DeleteWebhook', undefined, `?webhookId=${id}`);
    assert.equal(again.status, 404);
    assert.equal(again.json.ErrorType, 'SoNotFoundException');
  });

  test('errors: 401, 400 naming the field, 415', async () => {
    const anon = await api('POST', '/api/v1/Agents/Webhook/CreateDefaultWebhook', undefined, { Authorization: '' });
    assert.equal(anon.status, 401);
    assert.ok(anon.headers.get('www-authenticate'));
    const badId = await agent('GetLastError', { WebhookId: 'seven' });
    assert.equal(badId.status, 400);
    assert.equal(badId.json.ErrorField, 'WebhookId');
    const noId = await agent('DeleteWebhook');
    assert.equal(noId.status, 400);
    assert.equal(noId.json.ErrorField, 'webhookId');
    const badPk = await agent('SignalEvent', { EventName: 'a.b', PrimaryKey: 'x' });
    assert.equal(badPk.json.ErrorField, 'PrimaryKey');
    const noHook = await agent('SaveWebhook');
    assert.equal(noHook.status, 400);
    assert.equal(noHook.json.ErrorField, 'webhook');
    const crm = await agent('SaveWebhook', { Name: 'x', Events: ['a.b'], TargetUrl: rx.url, Type: 'crmscript' });
    assert.equal(crm.status, 400);
    assert.equal(crm.json.ErrorCode, 'not_supported');
    const form = await api('POST', '/api/v1/Agents/Webhook/SaveWebhook', 'Name=x', { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
  });

  test('cross-site writes: a bodiless POST needs Content-Type: application/json (415); a foreign Origin or Sec-Fetch-Site is refused (403)', async () => {
    const hook = await agent('SaveWebhook', { Name: 'csrf target', Events: ['csrf.probe'], TargetUrl: rx.url });
    assert.equal(hook.status, 200, hook.text);
    const id = hook.json.WebhookId;
    const del = (headers: Record<string, string>) => api('POST', `/api/v1/Agents/Webhook/DeleteWebhook?webhookId=${id}`, undefined, headers);

    // Before the fix a bodiless POST skipped the media-type check, and no Origin was looked at: each of these deleted.
    const untyped = await del({ 'Content-Type': '', 'Sec-Fetch-Site': 'same-origin' });
    assert.equal(untyped.status, 415, untyped.text);
    assert.match(untyped.json.ErrorMessage, /POST requests need Content-Type: application\/json \(also without a body\), not none/);
    const formTyped = await del({ 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(formTyped.status, 415);
    const textTyped = await del({ 'Content-Type': 'text/plain', Origin: app.baseUrl });
    assert.equal(textTyped.status, 415, 'a form from our own origin must declare JSON too');
    const foreign = await del({ Origin: 'http://127.0.0.1:1' });
    assert.equal(foreign.status, 403, foreign.text);
    assert.equal(foreign.json.ErrorType, 'CrossSiteRequestRefused');
    for (const site of ['same-site', 'cross-site']) {
      const r = await del({ 'Sec-Fetch-Site': site });
      assert.equal(r.status, 403, `Sec-Fetch-Site: ${site}`);
    }
    const restSignal = await api('POST', '/api/v1/Webhook/csrf.probe/1', undefined, { Origin: 'null', 'Content-Type': 'text/plain' });
    assert.equal(restSignal.status, 403);
    const restPut = await api('PUT', `/api/v1/Webhook/${id}`, { Name: 'x' }, { 'Sec-Fetch-Site': 'cross-site' });
    assert.equal(restPut.status, 403);
    assert.equal((await app.db.knex('wa_delivery').where({ webhook_id: id }).count({ n: '*' }).first())?.n, 0, 'nothing was signalled');

    // Reads stay open to any origin (they change nothing); the service's own origin and non-browser clients may change.
    const read = await agent('GetWebhook', undefined, `?webhookId=${id}`);
    assert.equal(read.json.Name, 'csrf target');
    assert.equal((await api('GET', `/api/v1/Webhook/${id}`, undefined, { Origin: 'http://127.0.0.1:1', Authorization: basic(TEST_ADMIN, 'app-test-password') })).status, 200);
    const own = await del({ Origin: app.baseUrl, 'Sec-Fetch-Site': 'same-origin' });
    assert.equal(own.status, 204, own.text);
    // A non-browser client's bodiless, untyped POST (what clients generated from NetServer's Swagger send) passes.
    assert.equal((await agent('CreateDefaultWebhook', undefined)).status, 200);
    assert.equal((await api('POST', '/api/v1/Agents/Webhook/CreateDefaultWebhook', undefined, { 'Content-Type': '' })).status, 200);
  });
});
