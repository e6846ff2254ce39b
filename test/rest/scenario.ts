/**
 * One scenario for every face, with one expectation table: hooks written through one face are read, listed,
 * signalled and deleted through the others, and every face must see exactly what the table says. The faces here are
 * SOAP (Services88) and hand-written JSON clients of the RESTful and Agents faces; generated-client.test.ts adds
 * clients generated from NetServer's Swagger.
 */
import assert from 'node:assert/strict';
import {
  child, childrenNamed, escapeXml, itemsAt, textAt, webhookXml, TEST_ADMIN, type Receiver, type TestApp, type XNode,
} from '../helpers/app.js';
import { until, type JsonClient } from './support.js';

export type FaceName = 'soap' | 'rest' | 'agents';

export interface Spec { name: string; events: string[]; state: 'Active' | 'Stopped'; headers: Record<string, string> | null }
export interface View extends Spec { targetUrl: string; registeredBy: string }
export interface Filter { name?: string; event?: string; state?: string }

export interface Face {
  create(s: Spec, targetUrl: string): Promise<number>;
  update(id: number, changes: Partial<Spec>): Promise<void>;
  get(id: number): Promise<View | 'not_found'>;
  list(f: Filter): Promise<number[]>;
  signal(event: string, pk: number, data: Record<string, string | number>): Promise<void>;
  lastError(id: number): Promise<string>;
  remove(id: number): Promise<void>;
}

type Step =
  | { what: string; op: 'create'; by: FaceName; hook: string; spec: Spec }
  | { what: string; op: 'update'; by: FaceName; hook: string; changes: Partial<Spec> }
  | { what: string; op: 'delete'; by: FaceName; hook: string }
  | { what: string; op: 'get'; hook: string; expect: Partial<View> | 'not_found' }
  | { what: string; op: 'list'; filter: Filter; expect: string[] }
  | { what: string; op: 'lastError'; hook: string; expect: string }
  | { what: string; op: 'signal'; event: string; expect: string[] };

const specA: Spec = { name: 'hook A', events: ['contact.created', 'sale.changed'], state: 'Active', headers: { 'X-Team': 'a' } };
const specB: Spec = { name: 'hook B', events: ['sale.changed'], state: 'Active', headers: null };
const specC: Spec = { name: 'hook C', events: ['person.created'], state: 'Active', headers: { 'X-Team': 'c', 'X-Env': 'test' } };

/** The shared expectation table: reads, lists, last errors and signals run through every face. */
const table: Step[] = [
  { what: 'A created over REST', op: 'create', by: 'rest', hook: 'A', spec: specA },
  { what: 'A read', op: 'get', hook: 'A', expect: { ...specA, registeredBy: TEST_ADMIN } },
  { what: 'B created over SOAP', op: 'create', by: 'soap', hook: 'B', spec: specB },
  { what: 'B read', op: 'get', hook: 'B', expect: { ...specB, registeredBy: TEST_ADMIN } },
  { what: 'C created over Agents', op: 'create', by: 'agents', hook: 'C', spec: specC },
  { what: 'C read', op: 'get', hook: 'C', expect: { ...specC, registeredBy: TEST_ADMIN } },
  { what: 'B renamed and stopped over Agents', op: 'update', by: 'agents', hook: 'B', changes: { name: 'hook B2', state: 'Stopped' } },
  { what: 'B read after update', op: 'get', hook: 'B', expect: { ...specB, name: 'hook B2', state: 'Stopped' } },
  { what: 'C events changed over SOAP', op: 'update', by: 'soap', hook: 'C', changes: { events: ['person.created', 'sale.changed'] } },
  { what: 'C read after update', op: 'get', hook: 'C', expect: { events: ['person.created', 'sale.changed'], headers: specC.headers } },
  { what: 'all hooks', op: 'list', filter: {}, expect: ['A', 'B', 'C'] },
  { what: 'active hooks', op: 'list', filter: { state: 'Active' }, expect: ['A', 'C'] },
  { what: 'stopped hooks', op: 'list', filter: { state: 'Stopped' }, expect: ['B'] },
  { what: 'hooks on sale.changed', op: 'list', filter: { event: 'sale.changed' }, expect: ['A', 'B', 'C'] },
  { what: 'hooks named HOOK b2', op: 'list', filter: { name: 'HOOK b2' }, expect: ['B'] },
  { what: 'sale.changed reaches the active subscribers', op: 'signal', event: 'sale.changed', expect: ['A', 'C'] },
  { what: 'person.created reaches C only', op: 'signal', event: 'person.created', expect: ['C'] },
  { what: 'A has no last error', op: 'lastError', hook: 'A', expect: '' },
  { what: 'A deleted over SOAP', op: 'delete', by: 'soap', hook: 'A' },
  { what: 'A is gone', op: 'get', hook: 'A', expect: 'not_found' },
  { what: 'B deleted over REST', op: 'delete', by: 'rest', hook: 'B' },
  { what: 'C deleted over Agents', op: 'delete', by: 'agents', hook: 'C' },
  { what: 'nothing left', op: 'list', filter: {}, expect: [] },
];

export function soapFace(app: TestApp): Face {
  const call = async (op: string, inner: string) => {
    const r = await app.call(88, op, inner);
    if (r.succeeded !== true) {
      if (r.exception?.exceptionType === 'SuperOffice.CRM.SoNotFoundException') throw new Error('not_found');
      throw new Error(`${op}: ${r.exception?.message ?? r.text.slice(0, 300)}`);
    }
    return r;
  };
  const headersOf = (n: XNode | null): Record<string, string> | null => {
    const h = child(n, 'Headers');
    if (!h || h.nil) return null;
    return Object.fromEntries(childrenNamed(h, 'StringKeyValuePair').map((p) => [textAt(p, 'Key') ?? '', textAt(p, 'Value') ?? '']));
  };
  return {
    async create(s, targetUrl) {
      const r = await call('SaveWebhook', webhookXml({ id: 0, name: s.name, events: s.events, targetUrl, state: s.state, type: 'webhook', headers: s.headers }));
      return Number(textAt(r.response, 'WebhookId'));
    },
    async update(id, c) {
      await call('SaveWebhook', webhookXml({ id, name: c.name, events: c.events, state: c.state, headers: c.headers }));
    },
    async get(id) {
      try {
        const h = (await call('GetWebhook', `<WebhookId>${id}</WebhookId>`)).response;
        return {
          name: textAt(h, 'Name') ?? '', events: itemsAt(h, 'Events') ?? [], targetUrl: textAt(h, 'TargetUrl') ?? '',
          state: textAt(h, 'State') as Spec['state'], headers: headersOf(h), registeredBy: textAt(h, 'RegisteredAssociate', 'Name') ?? '',
        };
      } catch (err) {
        if ((err as Error).message === 'not_found') return 'not_found';
        throw err;
      }
    },
    async list(f) {
      const el = (n: string, v?: string) => (v === undefined ? '' : `<${n}>${escapeXml(v)}</${n}>`);
      const r = await call('GetAllWebhooks', el('NameFilter', f.name) + el('EventFilter', f.event) + el('StatusFilter', f.state));
      return childrenNamed(r.response, 'Webhook').map((h) => Number(textAt(h, 'WebhookId')));
    },
    async signal(event, pk, data) {
      const pairs = Object.entries(data).map(([k, v]) => `<StringObjectKeyValuePair><Key>${escapeXml(k)}</Key>`
        + `<Value i:type="xs:${typeof v === 'number' ? 'int' : 'string'}">${escapeXml(String(v))}</Value></StringObjectKeyValuePair>`).join('');
      await call('SignalEvent', `<EventName>${escapeXml(event)}</EventName><PrimaryKey>${pk}</PrimaryKey><Data>${pairs}</Data>`);
    },
    async lastError(id) {
      return textAt((await call('GetLastError', `<WebhookId>${id}</WebhookId>`)).body, 'Response') ?? '';
    },
    async remove(id) {
      await call('DeleteWebhook', `<WebhookId>${id}</WebhookId>`);
    },
  };
}

export interface HookJson { WebhookId: number; Name: string; Events: string[]; TargetUrl: string; State: Spec['state']; Headers: Record<string, string> | null; RegisteredAssociate: { Name: string } }
export const viewOf = (h: HookJson): View => ({
  name: h.Name, events: h.Events, targetUrl: h.TargetUrl, state: h.State, headers: h.Headers, registeredBy: h.RegisteredAssociate?.Name ?? '',
});
export const specJson = (s: Partial<Spec>) => ({ Name: s.name, Events: s.events, State: s.state, Headers: s.headers });
export const ok = <T extends { status: number; text: string }>(r: T, what: string): T => {
  assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
  return r;
};

export function restFace(api: JsonClient): Face {
  return {
    async create(s, targetUrl) {
      return ok(await api('POST', '/api/v1/Webhook', { ...specJson(s), TargetUrl: targetUrl, Type: 'webhook' }), 'POST').json.WebhookId;
    },
    async update(id, c) {
      ok(await api('PUT', `/api/v1/Webhook/${id}`, specJson(c)), 'PUT');
    },
    async get(id) {
      const r = await api('GET', `/api/v1/Webhook/${id}`);
      return r.status === 404 ? 'not_found' : viewOf(ok(r, 'GET').json);
    },
    async list(f) {
      const q = new URLSearchParams();
      if (f.name !== undefined) q.set('nameFilter', f.name);
      if (f.event !== undefined) q.set('eventFilter', f.event);
      if (f.state !== undefined) q.set('statusFilter', f.state);
      return ok(await api('GET', `/api/v1/Webhook?${q}`), 'GET list').json.map((h: HookJson) => h.WebhookId);
    },
    async signal(event, pk, data) {
      ok(await api('POST', `/api/v1/Webhook/${encodeURIComponent(event)}/${pk}`, data), 'signal');
    },
    async lastError(id) {
      return ok(await api('GET', `/api/v1/Webhook/${id}/LastError`), 'LastError').json;
    },
    async remove(id) {
      ok(await api('DELETE', `/api/v1/Webhook/${id}`), 'DELETE');
    },
  };
}

export function agentsFace(api: JsonClient): Face {
  const op = (name: string, body?: unknown, query = '') => api('POST', `/api/v1/Agents/Webhook/${name}${query}`, body);
  return {
    async create(s, targetUrl) {
      const def = ok(await op('CreateDefaultWebhook'), 'default').json;
      return ok(await op('SaveWebhook', { ...def, ...specJson(s), TargetUrl: targetUrl }), 'save').json.WebhookId;
    },
    async update(id, c) {
      const cur = ok(await op('GetWebhook', undefined, `?webhookId=${id}`), 'get').json;
      ok(await op('SaveWebhook', { ...cur, ...JSON.parse(JSON.stringify(specJson(c))) }), 'save');
    },
    async get(id) {
      const r = ok(await op('GetWebhook', undefined, `?webhookId=${id}`), 'get');
      return r.json === null ? 'not_found' : viewOf(r.json);
    },
    async list(f) {
      return ok(await op('GetAllWebhooks', { NameFilter: f.name, EventFilter: f.event, StatusFilter: f.state }), 'list').json
        .map((h: HookJson) => h.WebhookId);
    },
    async signal(event, pk, data) {
      ok(await op('SignalEvent', { EventName: event, PrimaryKey: pk, Data: data }), 'signal');
    },
    async lastError(id) {
      return ok(await op('GetLastError', { WebhookId: id }), 'last error').json;
    },
    async remove(id) {
      ok(await op('DeleteWebhook', undefined, `?webhookId=${id}`), 'delete');
    },
  };
}

/** Runs the table: writes through the face each step names, reads through every face given. */
export async function runTable(faces: Record<FaceName, Face>, rx: Receiver): Promise<void> {
  const FACES = Object.keys(faces) as FaceName[];
  const ids = new Map<string, number>();
  const idOf = (hook: string) => ids.get(hook) ?? assert.fail(`hook ${hook} was not created`);
  const nameOf = (id: number) => [...ids].find(([, v]) => v === id)?.[0] ?? `#${id}`;
  let pk = 100;
  for (const s of table) {
    switch (s.op) {
      case 'create':
        ids.set(s.hook, await faces[s.by].create(s.spec, `${rx.url}?hook=${s.hook}`));
        break;
      case 'update':
        await faces[s.by].update(idOf(s.hook), s.changes);
        break;
      case 'delete':
        await faces[s.by].remove(idOf(s.hook));
        break;
      case 'get':
        for (const f of FACES) {
          const v = await faces[f].get(idOf(s.hook));
          if (s.expect === 'not_found') assert.equal(v, 'not_found', `${s.what} (${f})`);
          else {
            assert.notEqual(v, 'not_found', `${s.what} (${f})`);
            const picked: Record<string, unknown> = Object.fromEntries(Object.keys(s.expect).map((k) => [k, (v as unknown as Record<string, unknown>)[k]]));
            assert.deepEqual(picked, s.expect, `${s.what} (${f})`);
            assert.equal((v as View).targetUrl, `${rx.url}?hook=${s.hook}`, `${s.what} (${f})`);
          }
        }
        break;
      case 'list':
        for (const f of FACES) assert.deepEqual((await faces[f].list(s.filter)).map(nameOf), s.expect, `${s.what} (${f})`);
        break;
      case 'lastError':
        for (const f of FACES) assert.equal(await faces[f].lastError(idOf(s.hook)), s.expect, `${s.what} (${f})`);
        break;
      case 'signal':
        for (const f of FACES) {
          const key = ++pk;
          await faces[f].signal(s.event, key, { face: f, n: key });
          const got = (): Array<string | null> => rx.requests.filter((q) => q.headers['x-superoffice-event'] === s.event
            && JSON.parse(q.body.toString('utf8')).PrimaryKey === key).map((q) => new URL(q.url, 'http://x').searchParams.get('hook')).sort();
          await until(`${s.what} (${f})`, () => got().length >= s.expect.length);
          await new Promise((r) => setTimeout(r, 200)); // a delivery beyond the expected ones would show up by now
          assert.deepEqual(got(), s.expect, `${s.what} (${f})`);
        }
        break;
    }
  }
}
