/**
 * GET /metrics of the real app with its worker, against a loopback receiver: delivery counters and the duration
 * histogram move with attempts, queue depth and webhook states come from the database, SOAP operations (including
 * requests refused before a handler ran, and SOAP faults), logins and their outcomes are counted, process metrics are there; the queue figures are cached; the token and the separate
 * metrics app.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dialectAvailability, freshDatabase, testDialects } from '../helpers/db.js';
import { startApp, startReceiver, textAt, webhookXml } from '../helpers/app.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createMetricsApp } from '../../src/metrics/metrics-route.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { createHook, testClock } from './delivery-support.js';
import { sample } from '../helpers/metrics-text.js';
import { freePort } from '../helpers/service.js';
import { packageInfo } from '../../src/version.js';

async function until(fn: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const dialect of testDialects) {
  describe(`/metrics (${dialect})`, await dialectAvailability(dialect), () => {
    test('delivery counters, queue, webhooks, requests and logins move with what the service does', async () => {
      const app = await startApp(dialect, { metrics: true, startWorker: true, env: { POLL_INTERVAL_MS: '50', METRICS_CACHE_MS: '0' } });
      const rx = await startReceiver(200);
      try {
        const scrape = async () => {
          const r = await fetch(`${app.baseUrl}/metrics`);
          assert.equal(r.status, 200);
          assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
          return r.text();
        };
        const before = await scrape();
        assert.equal(sample(before, 'webhook_agent_delivery_attempts_total', { outcome: 'success' }), undefined);
        assert.equal(sample(before, 'webhook_agent_queue_deliveries', { state: 'pending' }), 0);
        assert.equal(sample(before, 'webhook_agent_webhooks', { state: 'Active' }), 0);
        assert.equal(sample(before, 'webhook_agent_logins_total', { outcome: 'success' }), 1, 'the helper logged in once');
        assert.ok((sample(before, 'process_cpu_user_seconds_total') ?? -1) >= 0, 'process metrics');
        assert.ok(sample(before, 'nodejs_eventloop_lag_seconds') !== undefined);

        const saved = await app.call(88, 'SaveWebhook', webhookXml({ id: 0, name: 'm', events: ['contact.created'], targetUrl: rx.url }));
        assert.equal(saved.succeeded, true, saved.text);
        const id = Number(textAt(saved.response, 'WebhookId'));
        const signal = (pk: number) => app.call(88, 'SignalEvent', `<EventName>contact.created</EventName><PrimaryKey>${pk}</PrimaryKey>`);
        for (let i = 0; i < 3; i++) assert.equal((await signal(i)).succeeded, true);
        await until(async () => sample(await scrape(), 'webhook_agent_delivery_attempts_total', { outcome: 'success' }) === 3, '3 successes');
        const delivered = await scrape();
        assert.equal(sample(delivered, 'webhook_agent_delivery_latency_seconds_count'), 3, 'commit-to-receiver latency of each success');
        assert.ok((sample(delivered, 'webhook_agent_delivery_latency_seconds_sum') ?? 0) > 0);
        assert.equal(sample(delivered, 'webhook_agent_delivery_latency_seconds_bucket', { le: '+Inf' }), 3);
        assert.equal(sample(delivered, 'webhook_agent_build_info', { version: packageInfo().version, node: process.versions.node }), 1);
        assert.equal(sample(delivered, 'webhook_agent_deliveries_in_flight'), 0);
        assert.equal(sample(delivered, 'webhook_agent_circuits_open'), 0);

        rx.status = 500;
        await signal(100);
        await signal(101);
        // The second event is not held back by the first one's pending retry; both fail once, then the hook is stopped.
        await until(async () => (sample(await scrape(), 'webhook_agent_delivery_attempts_total', { outcome: 'failure' }) ?? 0) >= 2, 'two failures');
        assert.ok((sample(await scrape(), 'webhook_agent_delivery_attempt_failures_total', { class: 'http_5xx' }) ?? 0) >= 2);
        await app.db.knex('webhook').where('webhook_id', id).update({ state: 2 });
        const text = await scrape();
        assert.equal(sample(text, 'webhook_agent_deliveries_finished_total', { status: 'succeeded' }), 3);
        assert.equal(sample(text, 'webhook_agent_delivery_attempt_duration_seconds_count', { outcome: 'success' }), 3);
        assert.ok((sample(text, 'webhook_agent_delivery_attempt_duration_seconds_sum', { outcome: 'success' }) ?? 0) > 0);
        assert.equal(sample(text, 'webhook_agent_queue_deliveries', { state: 'pending' }), 2);
        assert.equal(sample(text, 'webhook_agent_queue_deliveries', { state: 'parked' }), 2);
        assert.equal(sample(text, 'webhook_agent_queue_deliveries', { state: 'due' }), 0);
        // Both pending deliveries are parked now: they wait for somebody, not for the worker.
        assert.equal(sample(text, 'webhook_agent_queue_oldest_pending_age_seconds'), 0);
        assert.ok((sample(text, 'webhook_agent_queue_oldest_parked_age_seconds') ?? 0) > 0);
        assert.equal(sample(text, 'webhook_agent_webhooks', { state: 'Stopped' }), 1);
        assert.equal(sample(text, 'webhook_agent_webhooks', { state: 'Active' }), 0);
        assert.equal(sample(text, 'webhook_agent_requests_total', { face: 'soap', operation: 'SignalEvent', outcome: 'ok' }), 5);
        assert.equal(sample(text, 'webhook_agent_request_duration_seconds_count', { face: 'soap', operation: 'SignalEvent' }), 5);

        assert.equal((await app.login('admin', 'wrong password')).succeeded, true);
        assert.equal((await app.call(88, 'GetAllWebhooks', '', { ticket: 'not-a-ticket' })).succeeded, false);
        assert.equal((await app.call(88, 'GetWebhook', '<WebhookId>999999</WebhookId>')).succeeded, false);
        const rest = await fetch(`${app.baseUrl}/api/v1/Webhook`, { headers: { Authorization: `SOTicket ${app.ticket}` } });
        assert.equal(rest.status, 200);
        const after = await scrape();
        // One spelling of the operation on every face: NetServer's.
        assert.equal(sample(after, 'webhook_agent_requests_total', { face: 'rest', operation: 'GetAllWebhooks', outcome: 'ok' }), 1);
        assert.equal(sample(after, 'webhook_agent_requests_total', { face: 'soap', operation: 'SaveWebhook', outcome: 'ok' }), 1);
        const agentsGet = await fetch(`${app.baseUrl}/api/v1/Agents/Webhook/GetWebhook?webhookId=${id}`, { method: 'POST', headers: { Authorization: `SOTicket ${app.ticket}` } });
        assert.equal(agentsGet.status, 200, await agentsGet.text());
        const adminGet = await fetch(`${app.baseUrl}/admin/api/webhooks/${id}`, { headers: { Authorization: `SOTicket ${app.ticket}` } });
        assert.equal(adminGet.status, 200, await adminGet.text());
        for (const path of ['/api/v1/NoSuchThing', '/no/such/path', '/admin/api/no-such-route']) await (await fetch(`${app.baseUrl}${path}`)).text();
        const labels = await scrape();
        assert.equal(sample(labels, 'webhook_agent_requests_total', { face: 'rest', operation: 'GetWebhook', outcome: 'ok' }), 1);
        assert.equal(sample(labels, 'webhook_agent_requests_total', { face: 'admin', operation: 'GetWebhook', outcome: 'ok' }), 1);
        assert.equal(sample(labels, 'webhook_agent_requests_total', { face: 'rest', operation: 'unknown', outcome: 'not_found' }), 1);
        assert.equal(sample(labels, 'webhook_agent_requests_total', { face: 'http', operation: 'unknown', outcome: 'not_found' }), 1);
        assert.equal(sample(labels, 'webhook_agent_requests_total', { face: 'admin', operation: 'unknown', outcome: 'not_found' }), 1);
        const spelled = [...labels.matchAll(/^webhook_agent_requests_total\{[^}]*operation="([^"]+)"/gm)].map((m) => m[1]);
        assert.deepEqual(spelled.filter((op) => op !== 'unknown' && !/^[A-Z]/.test(op)), [], 'every operation label is PascalCase');
        assert.equal(sample(after, 'webhook_agent_logins_total', { outcome: 'failure' }), 1);
        assert.equal(sample(after, 'webhook_agent_requests_total', { face: 'soap', operation: 'GetAllWebhooks', outcome: 'unauthenticated' }), 1);
        assert.equal(sample(after, 'webhook_agent_requests_total', { face: 'soap', operation: 'GetWebhook', outcome: 'not_found' }), 1);

        // Refused before any handler ran: input the contract does not allow, and SOAP faults (unknown action, SOAP 1.2).
        const invalid = await app.call(88, 'GetAllWebhooks', '<NameFilter><z/></NameFilter>');
        assert.equal(invalid.succeeded, false, invalid.text);
        const ns = 'http://www.superoffice.net/ws/crm/NetServer/Services88';
        const envelope = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Nope xmlns="${ns}"/></s:Body></s:Envelope>`;
        const unknownAction = await fetch(`${app.baseUrl}/Remote/Services88/Webhook.svc`, {
          method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${ns}/Webhook/Nope"` }, body: envelope,
        });
        assert.equal(unknownAction.status, 500);
        assert.match(await unknownAction.text(), /ActionNotSupported/);
        const soap12 = await fetch(`${app.baseUrl}/Remote/Services88/Webhook.svc`, {
          method: 'POST', headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' }, body: envelope,
        });
        assert.ok(soap12.status >= 400);
        await soap12.text();
        const faults = await scrape();
        assert.equal(sample(faults, 'webhook_agent_requests_total', { face: 'soap', operation: 'GetAllWebhooks', outcome: 'invalid_argument' }), 1);
        assert.equal(sample(faults, 'webhook_agent_requests_total', { face: 'soap', operation: 'unknown', outcome: 'protocol_fault' }), 2);
        assert.equal(sample(faults, 'webhook_agent_request_duration_seconds_count', { face: 'soap', operation: 'unknown' }), 2);
      } finally {
        await rx.close();
        await app.close();
      }
    });
  });
}

describe('/metrics: what an operator alerts on, against real receivers (sqlite)', () => {
  test('failed attempts by class, deliveries in flight, open circuits, paused webhooks', async () => {
    const app = await startApp('sqlite', {
      metrics: true, startWorker: true,
      env: { POLL_INTERVAL_MS: '50', METRICS_CACHE_MS: '0', DELIVERY_TIMEOUT_MS: '1500', CIRCUIT_TIMEOUTS: '1', CIRCUIT_COOLDOWN_MS: '60000' },
    });
    const held: http.ServerResponse[] = [];
    const hang = http.createServer((_req, res) => { held.push(res); });
    const busy = http.createServer((_req, res) => { res.writeHead(429, { 'Retry-After': '120' }).end('slow down'); });
    const r4xx = await startReceiver(400);
    const r5xx = await startReceiver(502);
    for (const s of [hang, busy]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const portOf = (s: http.Server) => (s.address() as AddressInfo).port;
    const closed = await freePort();
    try {
      const scrape = async () => (await fetch(`${app.baseUrl}/metrics`)).text();
      const failures = async (cls: string) => sample(await scrape(), 'webhook_agent_delivery_attempt_failures_total', { class: cls }) ?? 0;
      const hooks: Array<[string, string]> = [
        ['hang', `http://127.0.0.1:${portOf(hang)}/x`], ['busy', `http://127.0.0.1:${portOf(busy)}/x`], ['client', r4xx.url],
        ['server', r5xx.url], ['closed', `http://127.0.0.1:${closed}/x`], ['tls', r4xx.url.replace('http:', 'https:')],
      ];
      for (const [entity, targetUrl] of hooks) await createHook(app.db.knex, { name: entity, events: [`${entity}.created`], targetUrl });
      const before = await scrape();
      for (const cls of ['timeout', 'connect', 'tls', 'http_4xx', 'http_5xx', 'refused_policy']) {
        assert.equal(sample(before, 'webhook_agent_delivery_attempt_failures_total', { class: cls }), 0, `${cls} is there from the start`);
      }
      assert.equal(sample(before, 'webhook_agent_webhooks_paused'), 0);
      const signal = (entity: string) => app.call(88, 'SignalEvent', `<EventName>${entity}.created</EventName><PrimaryKey>1</PrimaryKey>`);

      assert.equal((await signal('hang')).succeeded, true);
      await until(async () => sample(await scrape(), 'webhook_agent_deliveries_in_flight') === 1, 'one attempt in flight while the receiver holds it');
      await until(async () => (await failures('timeout')) >= 1, 'a timeout');
      await until(async () => sample(await scrape(), 'webhook_agent_circuits_open') === 1, 'the timed-out host has its circuit open');

      for (const entity of ['busy', 'client', 'server', 'closed', 'tls']) assert.equal((await signal(entity)).succeeded, true);
      await until(async () => (await failures('http_5xx')) >= 1 && (await failures('connect')) >= 1 && (await failures('tls')) >= 1 &&
        (await failures('http_4xx')) >= 2, 'a 5xx, a refused connection, a TLS failure, a 400 and a 429');
      const text = await scrape();
      assert.equal(sample(text, 'webhook_agent_webhooks_paused'), 1, 'the 429 with Retry-After pauses its webhook');
      assert.equal(sample(text, 'webhook_agent_delivery_latency_seconds_count'), 0, 'no success, no latency');
    } finally {
      for (const res of held) res.destroy();
      for (const s of [hang, busy]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
      await r4xx.close();
      await r5xx.close();
      await app.close();
    }
  });

  test('a target the policy refuses is counted as refused_policy, nothing sent', async () => {
    const app = await startApp('sqlite', { metrics: true, startWorker: true, env: { POLL_INTERVAL_MS: '50', METRICS_CACHE_MS: '0', ALLOW_INSECURE_TARGETS: 'false' } });
    const rx = await startReceiver(200);
    try {
      // Stored directly (a save would refuse it): plain http on loopback, which the policy refuses at delivery too.
      await createHook(app.db.knex, { targetUrl: rx.url });
      assert.equal((await app.call(88, 'SignalEvent', '<EventName>contact.created</EventName><PrimaryKey>1</PrimaryKey>')).succeeded, true);
      await until(async () => (sample(await (await fetch(`${app.baseUrl}/metrics`)).text(), 'webhook_agent_delivery_attempt_failures_total', { class: 'refused_policy' }) ?? 0) >= 1, 'refused_policy');
      assert.equal(rx.requests.length, 0);
    } finally {
      await rx.close();
      await app.close();
    }
  });
});

describe('/metrics caching, token and separate app', () => {
  test('queue figures are read once per cacheMs', async () => {
    const db = await freshDatabase('sqlite');
    try {
      const clock = testClock();
      const metrics = createMetrics({ db, cacheMs: 5000, now: clock, processMetrics: false });
      const pending = async () => sample(await metrics.scrape(), 'webhook_agent_queue_deliveries', { state: 'pending' });
      assert.equal(await pending(), 0);
      const hook = await createHook(db.knex, { targetUrl: 'http://127.0.0.1:9/x' });
      await enqueueEvent(db.knex, { eventName: 'contact.created', primaryKey: 1, data: {}, changedByAssociateId: 1, timestamp: new Date() }, [hook], { now: clock() });
      assert.equal(await pending(), 0, 'cached');
      clock.advance(4999);
      assert.equal(await pending(), 0, 'still cached');
      clock.advance(1);
      assert.equal(await pending(), 1, 'read again');
      clock.advance(10_000);
      assert.equal(sample(await metrics.scrape(), 'webhook_agent_queue_oldest_pending_age_seconds'), 15);
      await db.knex.schema.dropTable('wa_attempt');
      await db.knex.schema.dropTable('wa_delivery');
      clock.advance(10_000);
      const broken = await metrics.scrape();
      assert.equal(sample(broken, 'webhook_agent_database_query_errors_total'), 1, 'a failed read is counted, the scrape still answers');
      assert.equal(sample(broken, 'webhook_agent_queue_deliveries', { state: 'pending' }), 1, 'last known value kept');
    } finally {
      await db.drop();
    }
  });

  test('METRICS_TOKEN: 401 without the bearer token, 200 with it; the metrics-only app serves nothing else', async () => {
    const db = await freshDatabase('sqlite');
    const server = http.createServer(createMetricsApp(createMetrics({ db, processMetrics: false }), { token: 'a-token-of-16-chars-or-more' }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal((await fetch(`${base}/metrics`)).status, 401);
      assert.equal((await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer wrong-token-of-16-chars' } })).status, 401);
      const ok = await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer a-token-of-16-chars-or-more' } });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /webhook_agent_queue_deliveries\{state="pending"\} 0/);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/Remote/Services88/Webhook.svc?wsdl`)).status, 404);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await db.drop();
    }
  });
});
