/**
 * A strict Swagger client built from the documents this service serves at /api/v1/swagger, and from nothing else
 * (no ../shared, no relaxation): the documents are valid Swagger 2.0 (@apidevtools/swagger-parser, which checks
 * them against the Swagger 2.0 schema and the spec's rules), and a validator compiled from them (swagger2openapi +
 * openapi-backend, Ajv) accepts every request and response of the whole scenario on both faces, errors included,
 * while refusing undeclared statuses and nulls where the documents do not allow them.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIBackend } from 'openapi-backend';
import { OpenAPIBackend as Backend } from 'openapi-backend';
import converter from 'swagger2openapi';
import { startApp, startReceiver, TEST_ADMIN, TEST_ADMIN_PASSWORD, type Receiver, type TestApp } from '../helpers/app.js';
import { basic, jsonClient, type Exchange, type JsonClient } from './support.js';
import { FACES, type SwaggerFace } from './openapi-support.js';
import { faceOf, problemsOf, swaggerScenario } from './swagger-scenario.js';

/**
 * swagger2openapi (7.0.8) deletes every null it finds in the document it converts, array members included ("this
 * saves so much grief later"), so the null of a nullable enum (State: [..., null]) becomes a hole, which
 * openapi-backend then drops: the enum no longer allows the null the document declares. Put the nulls back, in
 * the holes they left and nowhere else (nothing but a deleted null leaves a hole in parsed JSON).
 */
function refillNulls(v: unknown): void {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v)) v[i] = null;
    v.forEach(refillNulls);
  } else if (v && typeof v === 'object') Object.values(v).forEach(refillNulls);
}

/** The validator as a strict client builds it: the document converted as it is, Ajv's strict checks of the values. */
async function strictValidator(swagger: Record<string, any>): Promise<OpenAPIBackend> {
  const converted = await (converter.convertObj(structuredClone(swagger) as never, { patch: false, warnOnly: false }) as unknown as Promise<{ openapi: any }>);
  refillNulls(converted.openapi);
  const api = new Backend({
    definition: converted.openapi, strict: true, quick: false, validate: true,
    // RFC 3339 date-time (Ajv knows only the formats it is given; openapi-backend adds the int32-style ones).
    customizeAjv: (ajv) => ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/),
  });
  await api.init();
  return api;
}

function withoutNullable(v: any): any {
  if (Array.isArray(v)) return v.map(withoutNullable);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'x-nullable').map(([k, x]) => [k, withoutNullable(x)]));
}

describe('a strict client built from the served Swagger documents', () => {
  let app: TestApp;
  let rx: Receiver;
  let api: JsonClient;
  const served = {} as Record<SwaggerFace, Record<string, any>>;
  const validators = {} as Record<SwaggerFace, OpenAPIBackend>;

  before(async () => {
    app = await startApp('sqlite', { env: { BODY_LIMIT_BYTES: '65536' } });
    rx = await startReceiver(200);
    api = jsonClient(app.baseUrl, basic(TEST_ADMIN, TEST_ADMIN_PASSWORD));
    for (const face of FACES) {
      const r = await fetch(`${app.baseUrl}/api/v1/swagger/${face}.json`);
      assert.equal(r.status, 200);
      served[face] = (await r.json()) as Record<string, any>;
    }
    await swaggerScenario(api, rx, { withErrors: true, nested: true });
    // Compiled after the requests: compiling blocks the event loop for seconds under load, long enough for the
    // server to close fetch's idle keep-alive socket just as the next request takes it (ECONNRESET).
    for (const face of FACES) validators[face] = await strictValidator(served[face]);
  });
  after(async () => {
    await rx?.close();
    await app?.close();
  });

  test('the served documents are valid Swagger 2.0', async () => {
    for (const face of FACES) {
      const doc = structuredClone(served[face]);
      await SwaggerParser.validate(doc as never);
      assert.equal(doc.swagger, '2.0');
    }
  });

  test('every request and response of the scenario, errors included, passes on both faces', (t) => {
    const problems = api.exchanges.flatMap((ex) => problemsOf(validators[faceOf(ex.url)], ex, { errorBodies: true }));
    assert.deepEqual(problems, []);
    t.diagnostic(`the strict client accepted all ${api.exchanges.length} responses (and their requests)`);
    const statuses = new Set(api.exchanges.map((e) => e.status));
    for (const s of [200, 204, 400, 401, 403, 404, 413, 415]) assert.ok(statuses.has(s), `the scenario met status ${s}`);
    const covered = new Set(api.exchanges.map((ex) => validators[faceOf(ex.url)].matchOperation({
      method: ex.method.toLowerCase(), path: new URL(ex.url, 'http://x').pathname, headers: {}, query: {},
    })?.operationId));
    const all = FACES.flatMap((f) => validators[f].getOperations().map((o) => o.operationId));
    assert.deepEqual(all.filter((o) => !covered.has(o)), [], 'operations the scenario did not reach');
    assert.ok(api.exchanges.some((e) => e.text.includes('"deep":{"list":[1,{"a":"b"}]')), 'nested Properties came back as sent');
  });

  test('the client is strict: it refuses an undeclared status, a null the documents do not allow, a wrong flag', async () => {
    const sample = api.exchanges.find((e) => e.method === 'GET' && /^\/api\/v1\/Webhook\/\d+$/.test(e.url) && e.status === 200) as Exchange;
    assert.ok(sample);
    assert.match(problemsOf(validators.Webhook, { ...sample, status: 418 }, { errorBodies: true }).join(), /status 418 is not documented/);
    const bad = (json: unknown) => problemsOf(validators.Webhook, { ...sample, json }, { errorBodies: true });
    assert.notDeepEqual(bad({ ...sample.json, Events: 'a.b' }), []);
    assert.notDeepEqual(bad({ ...sample.json, NotifyVia: 'Email, Pigeon' }), []);
    // State is an enum that allows null ($select), and nothing else outside its names.
    assert.deepEqual(bad({ ...sample.json, State: null }), []);
    assert.notDeepEqual(bad({ ...sample.json, State: 'Paused' }), []);
    assert.notDeepEqual(bad({ ...sample.json, RegisteredAssociate: { ...sample.json.RegisteredAssociate, AssociateId: null } }), []);
    // Without x-nullable the same documents refuse the scenario: the nulls this service sends need it.
    const plain = { Webhook: await strictValidator(withoutNullable(served.Webhook)), WebhookAgent: await strictValidator(withoutNullable(served.WebhookAgent)) };
    const refused = api.exchanges.flatMap((ex) => problemsOf(plain[faceOf(ex.url)], ex, { errorBodies: true }));
    assert.ok(refused.length > 10, `without x-nullable: ${refused.length} problems`);
    assert.ok(refused.some((p) => p.includes('"keyword":"type"')), refused.join('\n').slice(0, 500));
  });
});
