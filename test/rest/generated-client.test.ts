/**
 * Clients generated from NetServer's published Swagger (../shared/reference/openapi, read at test time) by
 * swagger-typescript-api, into a temporary folder, drive the shared scenario (scenario.ts) end to end next to SOAP,
 * as the WCF proxy generated from the WSDL does for SOAP. Authentication goes through the generated clients'
 * securityWorker: Basic for the RESTful client, SOTicket for the Agents client.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateApi } from 'swagger-typescript-api';
import { startApp, startReceiver, TEST_ADMIN, TEST_ADMIN_PASSWORD, type Receiver, type TestApp } from '../helpers/app.js';
import { basic } from './support.js';
import { referenceDir, referenceMissing } from './openapi-support.js';
import { runTable, soapFace, viewOf, type Face, type HookJson, type Spec } from './scenario.js';

/** What the scenario uses of a generated client: `api.<operationId>(...)` returning fetch responses with `data`. */
type Generated = { api: Record<string, (...args: any[]) => Promise<{ status: number; data: any }>> };

async function generate(dir: string, face: 'Webhook' | 'WebhookAgent'): Promise<new (config: object) => Generated> {
  await generateApi({
    input: path.join(referenceDir, `Swagger-v1-${face}.json`), output: dir, fileName: `${face}.ts`, httpClientType: 'fetch', silent: true,
    patch: true,
  });
  return (await import(pathToFileURL(path.join(dir, `${face}.ts`)).href)).Api;
}

const json = (s: Partial<Spec>) => JSON.parse(JSON.stringify({ Name: s.name, Events: s.events, State: s.state, Headers: s.headers }));
const notFound = (err: unknown) => (err as { status?: number })?.status === 404;

function generatedRestFace(client: Generated): Face {
  const a = client.api;
  return {
    async create(s, targetUrl) {
      return (await a.v1WebhookPostWebhook({ ...json(s), TargetUrl: targetUrl, Type: 'webhook' })).data.WebhookId;
    },
    async update(id, c) {
      await a.v1WebhookPutWebhook(id, json(c));
    },
    async get(id) {
      try {
        return viewOf((await a.v1WebhookGetWebhook(id)).data as HookJson);
      } catch (err) {
        if (notFound(err)) return 'not_found';
        throw err;
      }
    },
    async list(f) {
      const r = await a.v1WebhookGetAllWebhooks({ nameFilter: f.name, eventFilter: f.event, statusFilter: f.state });
      return r.data.map((h: HookJson) => h.WebhookId);
    },
    async signal(event, pk, data) {
      assert.equal((await a.v1WebhookSignalEvent(event, pk, data)).status, 204);
    },
    async lastError(id) {
      return (await a.v1WebhookGetLastError(id)).data;
    },
    async remove(id) {
      assert.equal((await a.v1WebhookDeleteWebhook(id)).status, 204);
    },
  };
}

function generatedAgentsFace(client: Generated): Face {
  const a = client.api;
  return {
    async create(s, targetUrl) {
      const def = (await a.v1WebhookAgentCreateDefaultWebhook()).data;
      return (await a.v1WebhookAgentSaveWebhook({ ...def, ...json(s), TargetUrl: targetUrl })).data.WebhookId;
    },
    async update(id, c) {
      const cur = (await a.v1WebhookAgentGetWebhook({ webhookId: id })).data;
      await a.v1WebhookAgentSaveWebhook({ ...cur, ...json(c) });
    },
    async get(id) {
      const h = (await a.v1WebhookAgentGetWebhook({ webhookId: id })).data;
      return h === null ? 'not_found' : viewOf(h as HookJson);
    },
    async list(f) {
      const r = await a.v1WebhookAgentGetAllWebhooks({ NameFilter: f.name, EventFilter: f.event, StatusFilter: f.state });
      return r.data.map((h: HookJson) => h.WebhookId);
    },
    async signal(event, pk, data) {
      assert.equal((await a.v1WebhookAgentSignalEvent({ EventName: event, PrimaryKey: pk, Data: data })).status, 204);
    },
    async lastError(id) {
      return (await a.v1WebhookAgentGetLastError({ WebhookId: id })).data;
    },
    async remove(id) {
      assert.equal((await a.v1WebhookAgentDeleteWebhook({ webhookId: id })).status, 204);
    },
  };
}

describe('clients generated from NetServer\'s Swagger', () => {
  if (referenceMissing && process.env.CI === 'true') {
    test('the reference Swagger is present under CI', () => assert.fail(`missing ${referenceDir}`));
    return;
  }
  const skip = referenceMissing ? `reference Swagger not found at ${referenceDir}` : false;
  let app: TestApp;
  let rx: Receiver;
  let dir: string;

  before(async () => {
    if (skip) return;
    dir = mkdtempSync(path.join(tmpdir(), 'wa-generated-'));
    app = await startApp('sqlite', { startWorker: true });
    rx = await startReceiver(200);
  });
  after(async () => {
    await rx?.close();
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the generated RESTful and Agents clients drive the shared scenario with SOAP', { skip }, async () => {
    const Rest = await generate(dir, 'Webhook');
    const Agents = await generate(dir, 'WebhookAgent');
    const withAuth = (authorization: string) => ({
      baseUrl: app.baseUrl, securityWorker: () => ({ headers: { Authorization: authorization } }),
    });
    await runTable({
      soap: soapFace(app),
      rest: generatedRestFace(new Rest(withAuth(basic(TEST_ADMIN, TEST_ADMIN_PASSWORD)))),
      agents: generatedAgentsFace(new Agents(withAuth(`SOTicket ${app.ticket}`))),
    }, rx);
  });
});
