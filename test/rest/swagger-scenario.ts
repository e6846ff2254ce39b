/**
 * The Swagger scenario: every operation of both JSON faces, with data in every member type (nested Properties and
 * Data, flag combinations, $select), and the error answers a client meets (401, 403, 400, 404, 413, 415). Each
 * exchange is then checked by a strict validating client (`problemsOf`): the status must be declared, the response
 * must match its schema, and, unless the request was deliberately malformed, the request must match too.
 */
import assert from 'node:assert/strict';
import type { OpenAPIBackend } from 'openapi-backend';
import type { Receiver } from '../helpers/app.js';
import { basic, type Exchange, type JsonClient } from './support.js';
import type { SwaggerFace } from './openapi-support.js';

export const faceOf = (url: string): SwaggerFace => (url.toLowerCase().startsWith('/api/v1/agents/') ? 'WebhookAgent' : 'Webhook');

/** Requests sent malformed on purpose (no body where one is required, not JSON): a strict client would not send them. */
export const malformed = new WeakSet<Exchange>();

/** `withErrors`: also the error answers (NetServer's published documents declare almost none of them). */
export async function swaggerScenario(api: JsonClient, rx: Receiver, opts: { withErrors: boolean; nested: boolean }): Promise<void> {
  const hook = {
    Name: 'contract hook', Events: ['contact.created', 'sale.changed'], TargetUrl: rx.url, Secret: 'abc', State: 'Active', Type: 'webhook',
    Headers: { 'X-A': '1' }, Properties: { s: 'x', n: 2, b: false, z: null, ...(opts.nested ? { deep: { list: [1, { a: 'b' }], o: {} } } : {}) },
    ErrorEmails: ['a@example.com'], Description: 'd', NotifyVia: 'Email', NotifyWhen: 'FirstFailure', ErrorAssociates: [{ Id: 1 }],
  };
  const data = { a: 1, b: 'two', c: true, d: null, ...(opts.nested ? { e: [{ f: 1 }, []] } : {}) };
  const ok = (r: Exchange) => assert.ok(r.status < 300, `${r.method} ${r.url}: ${r.status} ${r.text.slice(0, 300)}`);
  // RESTful
  ok(await api('GET', '/api/v1/Webhook/default', undefined, { 'SO-Language': 'en', 'SO-TimeZone': 'UTC' }));
  const created = await api('POST', '/api/v1/Webhook', hook);
  ok(created);
  const id = created.json.WebhookId as number;
  ok(await api('GET', `/api/v1/Webhook/${id}`));
  ok(await api('GET', `/api/v1/Webhook/${id}?$select=Name,Events`));
  ok(await api('PUT', `/api/v1/Webhook/${id}`, { ...created.json, Name: 'contract hook 2', NotifyVia: 'Email, InApp', NotifyWhen: 'FirstFailure, Disabling', _Links: undefined }));
  ok(await api('GET', '/api/v1/Webhook'));
  ok(await api('GET', '/api/v1/Webhook?nameFilter=contract%20hook%202&eventFilter=sale.changed&statusFilter=Active'));
  if (opts.withErrors) ok(await api('GET', '/api/v1/Webhook?$select=Name'));
  ok(await api('POST', '/api/v1/Webhook/Test', { Name: 't', TargetUrl: rx.url, Events: ['a.b'] }));
  ok(await api('POST', '/api/v1/Webhook/sale.changed/5', data));
  ok(await api('GET', `/api/v1/Webhook/${id}/LastError`));
  // Agents
  const def = await api('POST', '/api/v1/Agents/Webhook/CreateDefaultWebhook');
  ok(def);
  const saved = await api('POST', '/api/v1/Agents/Webhook/SaveWebhook', { ...def.json, ...hook, Name: 'agent contract hook' });
  ok(saved);
  const aid = saved.json.WebhookId as number;
  ok(await api('POST', `/api/v1/Agents/Webhook/GetWebhook?webhookId=${aid}`));
  ok(await api('POST', '/api/v1/Agents/Webhook/GetWebhook?webhookId=999999'));
  ok(await api('POST', '/api/v1/Agents/Webhook/GetAllWebhooks', { NameFilter: 'agent contract hook', EventFilter: null, StatusFilter: 'Unknown' }));
  if (opts.withErrors) ok(await api('POST', '/api/v1/Agents/Webhook/GetAllWebhooks?$select=Name,State', {}));
  ok(await api('POST', '/api/v1/Agents/Webhook/TestWebhook', { Webhook: { Name: 't', TargetUrl: rx.url, Events: ['a.b'] } }));
  ok(await api('POST', '/api/v1/Agents/Webhook/SignalEvent', { EventName: 'contact.created', PrimaryKey: 3, Data: { x: 1, ...(opts.nested ? { y: { z: [true] } } : {}) } }));
  ok(await api('POST', '/api/v1/Agents/Webhook/GetLastError', { WebhookId: aid }));
  ok(await api('POST', `/api/v1/Agents/Webhook/DeleteWebhook?webhookId=${aid}`));
  ok(await api('DELETE', `/api/v1/Webhook/${id}`));
  // Documented error statuses.
  assert.equal((await api('GET', `/api/v1/Webhook/${id}`)).status, 404);
  const noBody = await api('PUT', `/api/v1/Webhook/${id}`);
  malformed.add(noBody);
  assert.equal(noBody.status, 400);
  if (!opts.withErrors) return;

  const expect = async (status: number, r: Promise<Exchange>, bad = false) => {
    const ex = await r;
    if (bad) malformed.add(ex);
    assert.equal(ex.status, status, `${ex.method} ${ex.url}: ${ex.text.slice(0, 300)}`);
  };
  const wrong = { Authorization: basic('admin', 'not the password') };
  await expect(401, api('GET', '/api/v1/Webhook', undefined, wrong));
  await expect(401, api('POST', '/api/v1/Agents/Webhook/GetAllWebhooks', {}, wrong));
  await expect(401, api('DELETE', '/api/v1/Webhook/1', undefined, wrong));
  await expect(400, api('POST', '/api/v1/Webhook', { ...hook, Events: ['not an event name'] }));
  await expect(400, api('POST', '/api/v1/Agents/Webhook/SaveWebhook', { ...hook, TargetUrl: 'not a url' }));
  await expect(404, api('GET', '/api/v1/Webhook/999999/LastError'));
  await expect(404, api('POST', '/api/v1/Agents/Webhook/DeleteWebhook?webhookId=999999'));
  await expect(403, api('POST', '/api/v1/Agents/Webhook/GetAllWebhooks', {}, { Origin: 'https://elsewhere.example' }));
  await expect(415, api('POST', '/api/v1/Webhook/contact.created/1', 'a=1', { 'Content-Type': 'application/x-www-form-urlencoded' }), true);
  await expect(413, api('POST', '/api/v1/Agents/Webhook/SignalEvent', { EventName: 'a.b', PrimaryKey: 1, Data: { big: 'x'.repeat(300_000) } }));
  await expect(400, api('POST', '/api/v1/Agents/Webhook/SaveWebhook', '{"Name": ', { 'Content-Type': 'application/json' }), true);
}

/** A strict client's verdict on one exchange: undeclared statuses, responses and requests that do not match. */
export function problemsOf(v: OpenAPIBackend, ex: Exchange, opts: { errorBodies: boolean }): string[] {
  const u = new URL(ex.url, 'http://x');
  const query: Record<string, string> = {};
  u.searchParams.forEach((val, key) => (query[key] = val));
  const headers = Object.fromEntries(Object.entries(ex.requestHeaders).map(([k, val]) => [k.toLowerCase(), val]));
  const req = { method: ex.method.toLowerCase(), path: u.pathname, query, headers, body: ex.requestBody };
  const op = v.matchOperation(req);
  if (!op) return [`${ex.method} ${u.pathname}: no operation in the document`];
  const problems: string[] = [];
  if (!malformed.has(ex)) {
    const r = v.validateRequest(req, op);
    if (!r.valid) problems.push(`request ${op.operationId} (${ex.status}): ${JSON.stringify(r.errors).slice(0, 600)}`);
  }
  const documented = Object.keys(op.responses ?? {});
  if (!documented.includes(String(ex.status))) return [...problems, `${op.operationId}: status ${ex.status} is not documented (${documented})`];
  if (ex.status === 204) assert.equal(ex.text, '');
  else {
    assert.match(ex.headers.get('content-type') ?? '', /^application\/json; charset=utf-8$/);
    const r = v.validateResponse(ex.json, op, ex.status);
    if (!r.valid) problems.push(`response ${op.operationId} ${ex.status}: ${JSON.stringify(r.errors).slice(0, 600)}`);
    // A response schema the validator does not know of is no check at all.
    if (opts.errorBodies && ex.status >= 400 && !(op.responses as Record<string, { content?: unknown }>)[String(ex.status)]?.content) {
      problems.push(`${op.operationId}: status ${ex.status} has no body schema`);
    }
  }
  return problems;
}
