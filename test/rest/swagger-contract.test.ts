/**
 * Contract: every request the JSON faces accepted and every response they sent in a scenario covering every
 * operation of both faces is validated against NetServer's published Swagger (openapi-support.ts: swagger2openapi
 * + openapi-backend), and against the documents this service serves at /api/v1/swagger, which must also match the
 * published ones member by member (paths, operation ids, parameters, status codes, definitions).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { OpenAPIBackend } from 'openapi-backend';
import { startApp, startReceiver, TEST_ADMIN, TEST_ADMIN_PASSWORD, type Receiver, type TestApp } from '../helpers/app.js';
import { basic, jsonClient, type Exchange, type JsonClient } from './support.js';
import { FACES, readReference, referenceDir, referenceMissing, validatorFor, type SwaggerFace } from './openapi-support.js';

const faceOf = (url: string): SwaggerFace => (url.toLowerCase().startsWith('/api/v1/agents/') ? 'WebhookAgent' : 'Webhook');

/** The scenario: every operation of both faces, with data in every member type. */
async function scenario(api: JsonClient, rx: Receiver): Promise<void> {
  const hook = {
    Name: 'contract hook', Events: ['contact.created', 'sale.changed'], TargetUrl: rx.url, Secret: 'abc', State: 'Active', Type: 'webhook',
    Headers: { 'X-A': '1' }, Properties: { s: 'x', n: 2, b: false, z: null }, ErrorEmails: ['a@example.com'], Description: 'd',
    NotifyVia: 'Email', NotifyWhen: 'FirstFailure', ErrorAssociates: [{ Id: 1 }],
  };
  const ok = (r: Exchange) => assert.ok(r.status < 300, `${r.method} ${r.url}: ${r.status} ${r.text.slice(0, 300)}`);
  // RESTful
  ok(await api('GET', '/api/v1/Webhook/default', undefined, { 'SO-Language': 'en', 'SO-TimeZone': 'UTC' }));
  const created = await api('POST', '/api/v1/Webhook', hook);
  ok(created);
  const id = created.json.WebhookId as number;
  ok(await api('GET', `/api/v1/Webhook/${id}`));
  ok(await api('GET', `/api/v1/Webhook/${id}?$select=Name,Events`));
  ok(await api('PUT', `/api/v1/Webhook/${id}`, { ...created.json, Name: 'contract hook 2', NotifyVia: 'Email, InApp', _Links: undefined }));
  ok(await api('GET', '/api/v1/Webhook'));
  ok(await api('GET', '/api/v1/Webhook?nameFilter=contract%20hook%202&eventFilter=sale.changed&statusFilter=Active'));
  ok(await api('POST', '/api/v1/Webhook/Test', { Name: 't', TargetUrl: rx.url, Events: ['a.b'] }));
  ok(await api('POST', '/api/v1/Webhook/sale.changed/5', { a: 1, b: 'two', c: true, d: null }));
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
  ok(await api('POST', '/api/v1/Agents/Webhook/TestWebhook', { Webhook: { Name: 't', TargetUrl: rx.url, Events: ['a.b'] } }));
  ok(await api('POST', '/api/v1/Agents/Webhook/SignalEvent', { EventName: 'contact.created', PrimaryKey: 3, Data: { x: 1 } }));
  ok(await api('POST', '/api/v1/Agents/Webhook/GetLastError', { WebhookId: aid }));
  ok(await api('POST', `/api/v1/Agents/Webhook/DeleteWebhook?webhookId=${aid}`));
  ok(await api('DELETE', `/api/v1/Webhook/${id}`));
  // Documented error statuses.
  assert.equal((await api('GET', `/api/v1/Webhook/${id}`)).status, 404);
  assert.equal((await api('PUT', `/api/v1/Webhook/${id}`)).status, 400);
}

function validate(v: OpenAPIBackend, ex: Exchange): string[] {
  const u = new URL(ex.url, 'http://x');
  const query: Record<string, string> = {};
  u.searchParams.forEach((val, key) => (query[key] = val));
  const headers = Object.fromEntries(Object.entries(ex.requestHeaders).map(([k, val]) => [k.toLowerCase(), val]));
  const req = { method: ex.method.toLowerCase(), path: u.pathname, query, headers, body: ex.requestBody };
  const op = v.matchOperation(req);
  if (!op) return [`${ex.method} ${u.pathname}: no operation in the document`];
  const problems: string[] = [];
  if (ex.status < 300) {
    const r = v.validateRequest(req, op);
    if (!r.valid) problems.push(`request ${op.operationId}: ${JSON.stringify(r.errors).slice(0, 600)}`);
  }
  const documented = Object.keys(op.responses ?? {});
  if (!documented.includes(String(ex.status))) problems.push(`${op.operationId}: status ${ex.status} is not documented (${documented})`);
  else if (ex.status === 200) {
    assert.match(ex.headers.get('content-type') ?? '', /^application\/json; charset=utf-8$/);
    const r = v.validateResponse(ex.json, op, ex.status);
    if (!r.valid) problems.push(`response ${op.operationId}: ${JSON.stringify(r.errors).slice(0, 600)}`);
  } else if (ex.status === 204) assert.equal(ex.text, '');
  return problems;
}

describe('JSON faces against the Swagger', () => {
  if (referenceMissing && process.env.CI === 'true') {
    test('the reference Swagger is present under CI', () => assert.fail(`missing ${referenceDir}`));
    return;
  }
  const skip = referenceMissing ? `reference Swagger not found at ${referenceDir}` : false;
  let app: TestApp;
  let rx: Receiver;
  let api: JsonClient;
  const served = {} as Record<SwaggerFace, Record<string, any>>;

  before(async () => {
    if (skip) return;
    app = await startApp('sqlite');
    rx = await startReceiver(200);
    api = jsonClient(app.baseUrl, basic(TEST_ADMIN, TEST_ADMIN_PASSWORD));
    await scenario(api, rx);
    for (const face of FACES) served[face] = JSON.parse((await get(`${app.baseUrl}/api/v1/swagger/${face}.json`)).body);
  });
  after(async () => {
    await rx?.close();
    await app?.close();
  });

  test('every operation of both faces was exercised', { skip }, () => {
    const used = new Set(api.exchanges.map((e) => `${faceOf(e.url)} ${e.method} ${new URL(e.url, 'http://x').pathname}`));
    assert.ok(used.size >= 17, [...used].join('\n'));
  });

  for (const source of ['published', 'served'] as const) {
    test(`requests and responses match the ${source} Swagger`, { skip }, async () => {
      const validators = {} as Record<SwaggerFace, OpenAPIBackend>;
      for (const face of FACES) {
        const doc = source === 'published' ? readReference(face) : served[face];
        validators[face] = await validatorFor(doc);
      }
      const covered = new Set<string>();
      const problems: string[] = [];
      for (const ex of api.exchanges) {
        const v = validators[faceOf(ex.url)];
        problems.push(...validate(v, ex));
        covered.add(v.matchOperation({ method: ex.method.toLowerCase(), path: new URL(ex.url, 'http://x').pathname, headers: {}, query: {} })?.operationId ?? '');
      }
      assert.deepEqual(problems, []);
      const all = FACES.flatMap((f) => validators[f].getOperations().map((o) => o.operationId));
      assert.deepEqual(all.filter((o) => !covered.has(o ?? '')), [], 'operations the scenario did not reach');
    });
  }

  test('the served documents match the published ones member by member, with the caller\'s host and basePath', { skip }, async () => {
    for (const face of FACES) {
      const r = await get(`${app.baseUrl}/api/v1/swagger/${face}.json`, 'crm.example.com:8443');
      assert.equal(r.status, 200);
      assert.match(r.contentType, /^application\/json/);
      const doc = JSON.parse(r.body);
      assert.equal(doc.swagger, '2.0');
      assert.equal(doc.host, 'crm.example.com:8443');
      assert.equal(doc.basePath, '/');
      assert.deepEqual(doc.schemes, ['http']);
      assert.deepEqual(shape(doc), shape(readReference(face)), face);
    }
    const index = JSON.parse((await get(`${app.baseUrl}/api/v1/swagger`)).body);
    assert.deepEqual(index.documents.map((d: { name: string }) => d.name), ['Webhook', 'WebhookAgent']);
  });
});

/** A GET on a fresh connection, with the Host header given (fetch does not let a caller set it). */
function get(url: string, host?: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: host ? { Host: host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body }));
    });
    req.on('error', reject);
  });
}

/** Parameters the served documents add to NetServer's: $select on the RESTful list (docs/rest.md). */
const additions: Record<string, string[]> = { 'GET /api/v1/Webhook': ['$select'] };

/** What a client generator sees: operations, parameters, success and documented statuses, and the definitions' members. */
function shape(doc: Record<string, any>): unknown {
  const schema = (s: any): unknown => s && ({
    type: s.type, format: s.format, $ref: s.$ref, enum: s.enum, items: schema(s.items),
    additionalProperties: s.additionalProperties && schema(s.additionalProperties),
  });
  const paths: Record<string, unknown> = {};
  for (const [p, methods] of Object.entries<any>(doc.paths)) {
    for (const [m, op] of Object.entries<any>(methods)) {
      paths[`${m.toUpperCase()} ${p}`] = {
        operationId: op.operationId,
        parameters: op.parameters.filter((x: any) => !(additions[`${m.toUpperCase()} ${p}`] ?? []).includes(x.name)).map((x: any) => ({ name: x.name, in: x.in, required: x.required, type: x.type, format: x.format, enum: x.enum, schema: schema(x.schema) }))
          .sort((a: any, b: any) => a.name.localeCompare(b.name)),
        responses: Object.fromEntries(Object.entries<any>(op.responses).filter(([code]) => code !== '401').map(([code, r]) => [code, schema(r.schema) ?? null])),
      };
    }
  }
  const definitions = Object.fromEntries(Object.entries<any>(doc.definitions).map(([name, d]) =>
    [name, Object.fromEntries(Object.entries<any>(d.properties).map(([k, p]) => [k, schema(p)]))]));
  return JSON.parse(JSON.stringify({ paths, definitions }));
}
