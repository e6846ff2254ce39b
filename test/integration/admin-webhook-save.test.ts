/**
 * The admin API's create and edit (POST /admin/api/webhooks, PUT /admin/api/webhooks/{id}): every member lands as the
 * other faces read it back, refusals carry the REST face's message and member name, and an edit keeps the secret and
 * the header values the page never sees unless it replaces them.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startReceiver, type Receiver, type TestApp } from '../helpers/app.js';

describe('admin API: create and edit a webhook', () => {
  let app: TestApp;
  let rx: Receiver;
  const call = (method: string, path: string, body?: unknown) => fetch(`${app.baseUrl}${path}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { Authorization: `SOTicket ${app.ticket}`, 'Content-Type': 'application/json' },
  });
  const rest = async (id: number) => (await (await call('GET', `/api/v1/Webhook/${id}`)).json()) as Record<string, unknown>;

  before(async () => {
    app = await startApp('sqlite');
    rx = await startReceiver(200);
  });
  after(async () => {
    await rx.close();
    await app.close();
  });

  test('create with every member: the REST face reads them back; the answer has no secret and no header value', async () => {
    const r = await call('POST', '/admin/api/webhooks', {
      Name: 'From the form', TargetUrl: rx.url, Events: ['contact.created', 'sale.*'], State: 'Active', Secret: 's3cret-form',
      Headers: { 'X-Api-Key': 'key-from-form', 'X-Tenant': 't1' }, Properties: { region: 'north', nested: { a: [1, 2] } },
      Description: 'made in the admin page', ErrorsEmail: 'ops@example.com', NotifyVia: ['Email'], NotifyWhen: ['FirstFailure', 'Disabling'],
    });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    assert.doesNotMatch(text, /s3cret-form|key-from-form/);
    const view = JSON.parse(text) as { webhookId: number; hasSecret: boolean; headers: string[]; state: string };
    assert.equal(view.hasSecret, true);
    assert.deepEqual(view.headers, ['X-Api-Key', 'X-Tenant']);
    assert.equal(rx.requests.length, 1, 'an Active hook is pinged on create');
    const stored = await rest(view.webhookId);
    assert.deepEqual({
      Name: stored.Name, TargetUrl: stored.TargetUrl, Events: stored.Events, State: stored.State, Secret: stored.Secret, Headers: stored.Headers,
      Properties: stored.Properties, Description: stored.Description, ErrorsEmail: stored.ErrorsEmail, NotifyVia: stored.NotifyVia, NotifyWhen: stored.NotifyWhen,
    }, {
      Name: 'From the form', TargetUrl: rx.url, Events: ['contact.created', 'sale.*'], State: 'Active', Secret: 's3cret-form',
      Headers: { 'X-Api-Key': 'key-from-form', 'X-Tenant': 't1' }, Properties: { region: 'north', nested: { a: [1, 2] } },
      Description: 'made in the admin page', ErrorsEmail: 'ops@example.com', NotifyVia: 'Email', NotifyWhen: 'FirstFailure, Disabling',
    });
  });

  test('refusals: the same message and member as the REST face, 400 with the field; nothing saved', async () => {
    const bad = [
      { Name: '', TargetUrl: rx.url, Events: ['contact.created'] },
      { Name: 'x', TargetUrl: 'ftp://example.com/in', Events: ['contact.created'] },
      { Name: 'x', TargetUrl: rx.url, Events: ['contact.created', 'not an event'] },
      { Name: 'x', TargetUrl: rx.url, Events: ['contact.created'], Headers: { 'Content-Type': 'text/plain' } },
      { Name: 'x', TargetUrl: rx.url, Events: ['contact.created'], ErrorsEmail: 'nobody' },
      { Name: 'x', TargetUrl: rx.url, Events: ['contact.created'], NotifyVia: ['Pigeon'] },
      { Name: 'x', TargetUrl: rx.url, Events: ['contact.created'], Properties: 'a string' },
    ];
    const before = (await app.db.knex('webhook').count({ n: '*' }).first())?.n;
    for (const body of bad) {
      const admin = await call('POST', '/admin/api/webhooks', body);
      const restAnswer = await call('POST', '/api/v1/Webhook', body);
      assert.equal(admin.status, 400, JSON.stringify(body));
      const a = ((await admin.json()) as { error: { code: string; message: string; field: string } }).error;
      const r = (await restAnswer.json()) as { ErrorMessage: string; ErrorField?: string };
      assert.equal(a.code, 'invalid_argument');
      assert.equal(a.message, r.ErrorMessage, JSON.stringify(body));
      assert.ok(a.field, `a field for ${JSON.stringify(body)}`);
    }
    assert.equal((await app.db.knex('webhook').count({ n: '*' }).first())?.n, before);
    const refused = await call('POST', '/admin/api/webhooks', { Name: 'x', TargetUrl: `${rx.url}?x`, Events: ['contact.created'] });
    assert.equal(refused.status, 200, 'the receiver answers 200 to the ping');
    rx.status = 500;
    const pingFailed = await call('POST', '/admin/api/webhooks', { Name: 'y', TargetUrl: `${rx.url}?y`, Events: ['contact.created'] });
    rx.status = 200;
    assert.equal(pingFailed.status, 422);
    assert.equal(((await pingFailed.json()) as { error: { field: string } }).error.field, 'TargetUrl');
  });

  test('edit: omitted secret and null header values keep the stored ones; new values replace them; Secret null removes it', async () => {
    const created = (await (await call('POST', '/admin/api/webhooks', {
      Name: 'to edit', TargetUrl: rx.url, Events: ['contact.created'], State: 'Stopped', Secret: 'keep-me', Headers: { 'X-Api-Key': 'kept-value', 'X-Old': 'o' },
    })).json()) as { webhookId: number };
    const id = created.webhookId;
    const edit = await call('PUT', `/admin/api/webhooks/${id}`, {
      Name: 'edited', TargetUrl: rx.url, Events: ['person.created'], Headers: { 'X-Api-Key': null, 'X-New': 'n' }, Properties: null,
      Description: '', ErrorsEmail: '', NotifyVia: [], NotifyWhen: [],
    });
    assert.equal(edit.status, 200, await edit.clone().text());
    let stored = await rest(id);
    assert.equal(stored.Name, 'edited');
    assert.deepEqual(stored.Events, ['person.created']);
    assert.equal(stored.State, 'Stopped', 'no State: kept');
    assert.equal(stored.Secret, 'keep-me');
    assert.deepEqual(stored.Headers, { 'X-Api-Key': 'kept-value', 'X-New': 'n' }, 'X-Old removed, X-Api-Key kept');
    assert.equal((await call('PUT', `/admin/api/webhooks/${id}`, { Secret: 'replaced', Headers: { 'X-Api-Key': 'new-value' } })).status, 200);
    stored = await rest(id);
    assert.equal(stored.Secret, 'replaced');
    assert.deepEqual(stored.Headers, { 'X-Api-Key': 'new-value' });
    assert.equal((await call('PUT', `/admin/api/webhooks/${id}`, { Secret: null })).status, 200);
    assert.equal((await rest(id)).Secret, null);

    const unknownKept = await call('PUT', `/admin/api/webhooks/${id}`, { Headers: { 'X-Never-Stored': null } });
    assert.equal(unknownKept.status, 400);
    assert.deepEqual(((await unknownKept.json()) as { error: { field: string; message: string } }).error,
      { code: 'invalid_argument', field: 'Headers', message: "Headers: 'X-Never-Stored' has no stored value to keep; give its value" });
    const keptOnCreate = await call('POST', '/admin/api/webhooks', { Name: 'n', TargetUrl: rx.url, Events: ['contact.created'], Headers: { A: null } });
    assert.equal(keptOnCreate.status, 400);
    assert.equal((await call('PUT', '/admin/api/webhooks/99999', { Name: 'n' })).status, 404);
    assert.equal((await call('PUT', '/admin/api/webhooks/abc', { Name: 'n' })).status, 400);
  });
});
