/**
 * The RESTful face (/api/v1/Webhook...) through real HTTP against the real app on SQLite: every operation, every
 * way to authenticate, status codes, JSON error bodies, and a real delivery after a signalled event.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startReceiver, TEST_ADMIN, TEST_ADMIN_PASSWORD, type Receiver, type TestApp } from '../helpers/app.js';
import { basic, jsonClient, until, type JsonClient } from './support.js';

const JSON_UTF8 = 'application/json; charset=utf-8';

describe('RESTful API /api/v1/Webhook', () => {
  let app: TestApp;
  let rx: Receiver;
  let api: JsonClient;

  before(async () => {
    app = await startApp('sqlite', { startWorker: true, env: { BODY_LIMIT_BYTES: '4096', LOGIN_FAILURES_PER_WINDOW: '3' } });
    rx = await startReceiver(200);
    api = jsonClient(app.baseUrl, basic(TEST_ADMIN, TEST_ADMIN_PASSWORD));
  });
  after(async () => {
    await rx.close();
    await app.close();
  });

  test('authentication: Basic, SOTicket, the unencoded ticket and a ticket as Basic user; 401 with WWW-Authenticate otherwise', async () => {
    const ok = [basic(TEST_ADMIN, TEST_ADMIN_PASSWORD), `SOTicket ${app.ticket}`, app.ticket, `Basic ${app.ticket}`, basic(app.ticket, '')];
    for (const a of ok) {
      const r = await api('GET', '/api/v1/Webhook/default', undefined, { Authorization: a, 'SO-AppToken': 'some-app-token' });
      assert.equal(r.status, 200, a.slice(0, 12));
      assert.equal(r.headers.get('content-type'), JSON_UTF8);
    }
    const bad = ['', basic(TEST_ADMIN, 'wrong'), 'SOTicket 7T:unknown', 'Bearer 8A:Cust1.abc', 'Negotiate xyz', 'Basic !!!'];
    for (const a of bad) {
      const r = await api('GET', '/api/v1/Webhook', undefined, { Authorization: a });
      assert.equal(r.status, 401, a || '(none)');
      assert.match(r.headers.get('www-authenticate') ?? '', /Basic realm=.*SOTicket/);
      assert.equal(r.json.Error, true);
      assert.equal(r.json.ErrorCode, 'unauthenticated');
      assert.equal(typeof r.json.ErrorMessage, 'string');
    }
  });

  test('Basic logins count against the same throttle as SoPrincipal logins (slowed, never locked out)', async () => {
    await app.auth.addAssociate('carol', 'carol-password');
    const carol = (pw: string) => api('GET', '/api/v1/Webhook', undefined, { Authorization: basic('carol', pw) });
    assert.equal((await carol('carol-password')).status, 200);
    // Credentials that proved right skip the throttle's queue (auth-service.ts); a new password has not proved right.
    assert.ok(await app.auth.changePassword('carol', 'carol-password-2'));
    for (let i = 0; i < 3; i++) assert.equal((await carol('guess')).status, 401);
    // Past the limit the next check waits (login-throttle.ts), then the right password still gets in: no lockout.
    const t0 = performance.now();
    assert.equal((await carol('carol-password-2')).status, 200, 'slowed down, not refused');
    assert.ok(performance.now() - t0 >= 900, 'the Basic failures made this check wait');
    assert.ok(await app.auth.login('carol', 'carol-password-2'), 'SoPrincipal logins are not locked out either');
  });

  test('GET default: NetServer defaults in NetServer JSON', async () => {
    const r = await api('GET', '/api/v1/webhook/DEFAULT');
    assert.equal(r.status, 200);
    assert.deepEqual(
      { id: r.json.WebhookId, name: r.json.Name, events: r.json.Events, state: r.json.State, type: r.json.Type, reg: r.json.Registered,
        via: r.json.NotifyVia, headers: r.json.Headers },
      { id: 0, name: null, events: ['contact.created', 'contact.deleted'], state: 'Active', type: 'webhook', reg: '0001-01-01T00:00:00Z',
        via: 'None', headers: null },
    );
  });

  test('create, read, update, list, test, signal, last error and delete', async () => {
    const created = await api('POST', '/api/v1/Webhook', {
      Name: 'rest hook', Events: ['contact.created', 'sale.changed'], TargetUrl: rx.url, Secret: 's3cret', State: 'Active', Type: 'webhook',
      Headers: { 'X-Extra': 'yes' }, Properties: { n: 1.5, s: 'text', b: true, z: null }, NotifyVia: 'Email', NotifyWhen: 'Disabling',
      ErrorEmails: ['ops@example.com'],
    });
    assert.equal(created.status, 200, created.text);
    const id = created.json.WebhookId;
    assert.ok(id > 0);
    assert.equal(created.json._Links.Self, `${app.baseUrl}/api/v1/Webhook/${id}`);
    assert.deepEqual(created.json.Headers, { 'X-Extra': 'yes' });
    assert.deepEqual(created.json.Properties, { n: 1.5, s: 'text', b: true, z: null });
    assert.equal(created.json.NotifyVia, 'Email');
    assert.match(created.json.Registered, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(created.json.RegisteredAssociate.Name, TEST_ADMIN);
    assert.equal(rx.requests.length, 1, 'the save pinged the target');

    const got = await api('GET', `/api/v1/Webhook/${id}`);
    assert.equal(got.status, 200);
    assert.deepEqual({ ...got.json, Updated: null, UpdatedAssociate: null }, { ...created.json, Updated: null, UpdatedAssociate: null });

    const selected = await api('GET', `/api/v1/Webhook/${id}?$select=Name,State`);
    assert.equal(selected.json.Name, 'rest hook');
    assert.equal(selected.json.State, 'Active');
    assert.equal(selected.json.TargetUrl, null);

    const put = await api('PUT', `/api/v1/Webhook/${id}`, { WebhookId: 999, Name: 'renamed', NotifyVia: 'Email, InApp' });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.WebhookId, id, 'the path id wins');
    assert.equal(put.json.Name, 'renamed');
    assert.equal(put.json.NotifyVia, 'Email, InApp');
    assert.deepEqual(put.json.Events, ['contact.created', 'sale.changed'], 'omitted members keep their value');

    const list = await api('GET', '/api/v1/Webhook?NAMEFILTER=Renamed&eventfilter=sale.changed&StatusFilter=Active');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.map((h: { WebhookId: number }) => h.WebhookId), [id]);
    assert.equal(list.json[0]._Links, undefined, 'the list returns plain Webhook carriers');
    assert.deepEqual((await api('GET', '/api/v1/Webhook?statusFilter=Stopped')).json, []);

    const tested = await api('POST', '/api/v1/Webhook/Test', { Name: 't', TargetUrl: rx.url, Events: ['x.y'] });
    assert.equal(tested.status, 200);
    assert.equal(tested.json.Success, true);
    assert.match(tested.json.Message, /200/);

    const before = rx.requests.length;
    const sig = await api('POST', '/api/v1/Webhook/sale.changed/42', { amount: 10, who: 'ann', won: true });
    assert.equal(sig.status, 204);
    assert.equal(sig.text, '');
    const delivered = await until('the signalled event', () => rx.requests.slice(before).find((q) => q.headers['x-superoffice-event'] === 'sale.changed'));
    const payload = JSON.parse(delivered.body.toString('utf8'));
    assert.equal(payload.PrimaryKey, 42);

    const last = await api('GET', `/api/v1/Webhook/${id}/LastError`);
    assert.equal(last.status, 200);
    assert.equal(last.json, '');

    const del = await api('DELETE', `/api/v1/Webhook/${id}`);
    assert.equal(del.status, 204);
    const gone = await api('GET', `/api/v1/Webhook/${id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.ErrorType, 'SoNotFoundException');
    assert.equal(gone.json.ErrorCode, 'not_found');
    assert.equal((await api('DELETE', `/api/v1/Webhook/${id}`)).status, 404);
  });

  test('bad requests: 400 naming the field, 404, 413, 415; the server keeps serving', async () => {
    const noBody = await api('PUT', '/api/v1/Webhook/1');
    assert.equal(noBody.status, 400);
    assert.match(noBody.json.ErrorMessage, /Entity to save is not in request body/);
    const badJson = await api('POST', '/api/v1/Webhook', '{"Name": ', { 'Content-Type': 'application/json' });
    assert.equal(badJson.status, 400);
    assert.equal(badJson.json.ErrorField, 'body');
    const wrongType = await api('POST', '/api/v1/Webhook', { Name: 5, Events: ['a.b'], TargetUrl: rx.url });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.json.ErrorField, 'Name');
    const badState = await api('POST', '/api/v1/Webhook', { Name: 'x', Events: ['a.b'], TargetUrl: rx.url, State: 'Sleeping' });
    assert.equal(badState.status, 400);
    assert.equal(badState.json.ErrorField, 'State');
    const badHeader = await api('POST', '/api/v1/Webhook', { Name: 'x', Events: ['a.b'], TargetUrl: rx.url, Headers: { A: 1 } });
    assert.equal(badHeader.json.ErrorField, 'Headers.A');
    const badId = await api('GET', '/api/v1/Webhook/abc/LastError');
    assert.equal(badId.status, 400);
    assert.equal(badId.json.ErrorField, 'webhookId');
    const badPk = await api('POST', '/api/v1/Webhook/contact.created/1.5', {});
    assert.equal(badPk.status, 400);
    assert.equal(badPk.json.ErrorField, 'PrimaryKey');
    const badEvent = await api('POST', '/api/v1/Webhook/not-an-event/1', {});
    assert.equal(badEvent.status, 400);
    assert.equal(badEvent.json.ErrorField, 'EventName');
    const badData = await api('POST', '/api/v1/Webhook/contact.created/1', [{ not: 'an object' }]);
    assert.equal(badData.status, 400);
    assert.equal(badData.json.ErrorField, 'data');
    const xml = await api('POST', '/api/v1/Webhook', '<Webhook/>', { 'Content-Type': 'application/xml' });
    assert.equal(xml.status, 415);
    assert.equal(xml.json.Error, true);
    const big = await api('POST', '/api/v1/Webhook', { Name: 'x'.repeat(8000) });
    assert.equal(big.status, 413);
    assert.equal(big.json.ErrorType, 'RequestEntityTooLarge');
    const nowhere = await api('GET', '/api/v1/Nothing/here');
    assert.equal(nowhere.status, 404);
    assert.equal(nowhere.headers.get('content-type'), JSON_UTF8);
    for (const r of [noBody, badJson, wrongType, xml, big, nowhere]) assert.equal(r.json.StackTrace, undefined);
    assert.equal((await api('GET', '/api/v1/Webhook/default')).status, 200);
  });
});

describe('RESTful API when the database is gone', () => {
  for (const debug of [false, true]) {
    test(`500 with ${debug ? 'the error and its stack trace (DEBUG_ERRORS)' : 'a generic message and no stack trace'}`, async () => {
      const app = await startApp('sqlite', { env: { DEBUG_ERRORS: String(debug) } });
      try {
        await app.db.knex.destroy();
        const r = await jsonClient(app.baseUrl, `SOTicket ${app.ticket}`)('GET', '/api/v1/Webhook');
        assert.equal(r.status, 500);
        assert.equal(r.headers.get('content-type'), JSON_UTF8);
        assert.equal(r.json.Error, true);
        assert.equal(r.json.ErrorCode, 'internal');
        if (debug) {
          assert.notEqual(r.json.ErrorMessage, 'An internal error occurred. The error has been logged.');
          assert.match(r.json.StackTrace, /\n\s+at /);
        } else {
          assert.equal(r.json.ErrorMessage, 'An internal error occurred. The error has been logged.');
          assert.equal(r.json.StackTrace, undefined);
        }
      } finally {
        await app.close().catch(() => {});
      }
    });
  }
});
