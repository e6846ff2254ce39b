/**
 * Contract with NetServer's published Swagger (../shared/reference, read at test time): every request and response
 * of a scenario covering every operation of both faces is validated against it (openapi-support.ts: swagger2openapi
 * + openapi-backend, with its declared relaxations), and the documents this service serves at /api/v1/swagger must
 * match it member by member (paths, operation ids, parameters, status codes, definitions), but for the declared
 * differences below. strict-swagger-client.test.ts validates strictly against the served documents alone.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { OpenAPIBackend } from 'openapi-backend';
import { startApp, startReceiver, TEST_ADMIN, TEST_ADMIN_PASSWORD, type Receiver, type TestApp } from '../helpers/app.js';
import { basic, jsonClient, type JsonClient } from './support.js';
import { FACES, readReference, referenceDir, referenceMissing, validatorFor, type SwaggerFace } from './openapi-support.js';
import { faceOf, problemsOf, swaggerScenario } from './swagger-scenario.js';

describe('JSON faces against the Swagger', () => {
  if (referenceMissing && process.env.CI === 'true') {
    test('the reference Swagger is present under CI', () => assert.fail(`missing ${referenceDir}`));
    return;
  }
  const skip = referenceMissing ? `reference Swagger not found at ${referenceDir}` : false;
  let app: TestApp;
  let rx: Receiver;
  let api: JsonClient;

  before(async () => {
    if (skip) return;
    app = await startApp('sqlite');
    rx = await startReceiver(200);
    api = jsonClient(app.baseUrl, basic(TEST_ADMIN, TEST_ADMIN_PASSWORD));
    await swaggerScenario(api, rx, { withErrors: false, nested: true });
  });
  after(async () => {
    await rx?.close();
    await app?.close();
  });

  test('every operation of both faces was exercised', { skip }, () => {
    const used = new Set(api.exchanges.map((e) => `${faceOf(e.url)} ${e.method} ${new URL(e.url, 'http://x').pathname}`));
    assert.ok(used.size >= 17, [...used].join('\n'));
  });

  test('requests and responses match the published Swagger, with its declared relaxations', { skip }, async () => {
    const validators = {} as Record<SwaggerFace, OpenAPIBackend>;
    for (const face of FACES) validators[face] = await validatorFor(readReference(face));
    const covered = new Set<string>();
    const problems: string[] = [];
    for (const ex of api.exchanges) {
      const v = validators[faceOf(ex.url)];
      problems.push(...problemsOf(v, ex, { errorBodies: false }));
      covered.add(v.matchOperation({ method: ex.method.toLowerCase(), path: new URL(ex.url, 'http://x').pathname, headers: {}, query: {} })?.operationId ?? '');
    }
    assert.deepEqual(problems, []);
    const all = FACES.flatMap((f) => validators[f].getOperations().map((o) => o.operationId));
    assert.deepEqual(all.filter((o) => !covered.has(o ?? '')), [], 'operations the scenario did not reach');
  });

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
      const ours = statuses(doc);
      for (const [op, codes] of Object.entries(statuses(readReference(face)))) {
        assert.deepEqual(codes.filter((c) => !ours[op]?.includes(c)), [], `${face} ${op}: every status NetServer declares`);
      }
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

/**
 * What the served documents declare beyond NetServer's, on purpose (docs/rest.md): $select on the RESTful list, the
 * error statuses with their body (WebhookAgent.ErrorResponse), the [Flags] members as comma-list patterns instead of
 * enums of single names, and Properties / Data values as any JSON (`{}`) instead of `{type: object}`. x-nullable, and
 * the null a nullable enum lists with it, are not part of the shape.
 */
const additions: Record<string, string[]> = { 'GET /api/v1/Webhook': ['$select'] };
const FLAG_MEMBERS = new Set(['NotifyVia', 'NotifyWhen']);
const ERROR_DEFINITION = 'WebhookAgent.ErrorResponse';

/** What a client generator sees: operations, parameters, success statuses, and the definitions' members. */
function shape(doc: Record<string, any>): unknown {
  const schema = (s: any): unknown => s && ({
    type: s.type ?? (s.additionalProperties === undefined && Object.keys(s).length === 0 ? 'object' : undefined), format: s.format, $ref: s.$ref,
    enum: s.enum?.filter((e: unknown) => e !== null), items: schema(s.items),
    additionalProperties: s.additionalProperties && schema(s.additionalProperties),
  });
  const member = (name: string, p: any) => (FLAG_MEMBERS.has(name) ? { type: p.type } : schema(p));
  const paths: Record<string, unknown> = {};
  for (const [p, methods] of Object.entries<any>(doc.paths)) {
    for (const [m, op] of Object.entries<any>(methods)) {
      paths[`${m.toUpperCase()} ${p}`] = {
        operationId: op.operationId,
        parameters: op.parameters.filter((x: any) => !(additions[`${m.toUpperCase()} ${p}`] ?? []).includes(x.name)).map((x: any) => ({
          name: x.name, in: x.in, required: x.required, type: x.type, format: x.format, enum: x.enum, schema: schema(x.schema),
        })).sort((a: any, b: any) => a.name.localeCompare(b.name)),
        responses: Object.fromEntries(Object.entries<any>(op.responses).filter(([code]) => code < '300').map(([code, r]) => [code, schema(r.schema) ?? null])),
      };
    }
  }
  const definitions = Object.fromEntries(Object.entries<any>(doc.definitions).filter(([name]) => name !== ERROR_DEFINITION).map(([name, d]) =>
    [name, Object.fromEntries(Object.entries<any>(d.properties).map(([k, p]) => [k, member(k, p)]))]));
  return JSON.parse(JSON.stringify({ paths, definitions }));
}

/** Every status NetServer's documents declare for an operation, by operation. */
function statuses(doc: Record<string, any>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const methods of Object.values<any>(doc.paths)) for (const op of Object.values<any>(methods)) out[op.operationId] = Object.keys(op.responses);
  return out;
}
