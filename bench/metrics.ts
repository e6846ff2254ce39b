/**
 * What a /metrics scrape costs, and the delivery counters moving under load.
 *
 * 1. Scrape cost on SQLite and PostgreSQL with 0, 10,000 and 100,000 pending deliveries (100 webhooks, 10 of them
 *    stopped): a scrape that reads the database (cache miss), a cached scrape, and as baselines measured in the same
 *    run a `select 1` round trip and the queue statement alone.
 * 2. Under load: the real app with its worker and a loopback receiver, SignalEvent from 16 closed-loop clients for
 *    BENCH_SECONDS, /metrics scraped every second: attempts, finished deliveries and the queue as they move.
 *
 *   node --disable-proto=delete --import tsx bench/metrics.ts        (BENCH_SECONDS=5)
 */
import { randomUUID } from 'node:crypto';
import { freshDatabase, pgUnavailableReason, type TestDatabase } from '../test/helpers/db.js';
import { startApp, startReceiver, textAt, webhookXml } from '../test/helpers/app.js';
import { createHook } from '../test/integration/delivery-support.js';
import { sample } from '../test/helpers/metrics-text.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { queueFigures } from '../src/outbox/delivery-history.js';
import { closedLoop } from './http-load.js';
import type { Dialect } from '../src/store/db.js';

async function perCall(fn: () => Promise<unknown>, minMs = 400): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs || n < 5) {
    await fn();
    n++;
  }
  return (performance.now() - t0) / n;
}

async function fill(db: TestDatabase, pending: number, hooks: number[]): Promise<void> {
  const [{ event_id: eventId }] = (await db.knex('wa_event').insert({ name: 'contact.created', primary_key: 1, data: '{}', changed_by_associate_id: 1,
    timestamp: Date.now(), created: Date.now() }).returning('event_id')) as Array<{ event_id: number }>;
  const now = Date.now();
  for (let i = 0; i < pending; i += 500) {
    const rows = Array.from({ length: Math.min(500, pending - i) }, (_, j) => ({
      event_id: eventId, webhook_id: hooks[(i + j) % hooks.length], event_uuid: randomUUID(), status: 'pending', attempt_count: 0,
      next_attempt_at: now + ((i + j) % 3 === 0 ? 0 : 60_000), created: now - (i + j),
    }));
    await db.knex('wa_delivery').insert(rows);
  }
}

export async function runScrapeCost(): Promise<void> {
  const dialects: Dialect[] = ['sqlite'];
  const reason = await pgUnavailableReason();
  if (reason) console.log(`(PostgreSQL skipped: ${reason})`);
  else dialects.push('pg');
  console.log('| database | pending deliveries | select 1 (ms) | queue statement (ms) | scrape, database read (ms) | scrape, cached (ms) | uncached scrape / select 1 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const dialect of dialects) {
    const db = await freshDatabase(dialect);
    try {
      const hooks: number[] = [];
      for (let i = 0; i < 100; i++) hooks.push(await createHook(db.knex, { name: `h${i}`, targetUrl: 'https://example.invalid/x', state: i < 10 ? 'Stopped' : 'Active' }));
      let filled = 0;
      for (const pending of [0, 10_000, 100_000]) {
        await fill(db, pending - filled, hooks);
        filled = pending;
        if (dialect === 'pg') await db.knex.raw('analyze wa_delivery');
        const uncached = createMetrics({ db, cacheMs: 0 });
        const cached = createMetrics({ db, cacheMs: 3_600_000 });
        const select1 = await perCall(() => db.knex.raw('select 1'));
        const queue = await perCall(() => queueFigures(db, Date.now()));
        const miss = await perCall(() => uncached.scrape());
        const hit = await perCall(() => cached.scrape());
        console.log(`| ${dialect} | ${pending} | ${select1.toFixed(3)} | ${queue.toFixed(2)} | ${miss.toFixed(2)} | ${hit.toFixed(2)} | ${(miss / select1).toFixed(0)} |`);
      }
    } finally {
      await db.drop();
    }
  }
}

export async function runCountersUnderLoad(seconds = Number(process.env.BENCH_SECONDS ?? 5)): Promise<void> {
  const app = await startApp('sqlite', { metrics: true, startWorker: true, env: { POLL_INTERVAL_MS: '50', METRICS_CACHE_MS: '1000' } });
  const rx = await startReceiver(200);
  try {
    const saved = await app.call(88, 'SaveWebhook', webhookXml({ id: 0, name: 'load', events: ['contact.created'], targetUrl: rx.url }));
    if (!textAt(saved.response, 'WebhookId')) throw new Error(saved.text);
    const NS = 'http://www.superoffice.net/ws/crm/NetServer/Services88';
    const body = Buffer.from(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Credentials xmlns="${NS}"><Ticket>${app.ticket}</Ticket></Credentials></s:Header>` +
      `<s:Body><SignalEvent xmlns="${NS}"><EventName>contact.created</EventName><PrimaryKey>1</PrimaryKey></SignalEvent></s:Body></s:Envelope>`);
    const rows: string[] = [];
    const scrape = async (label: string) => {
      const t = await (await fetch(`${app.baseUrl}/metrics`)).text();
      const v = (name: string, labels: Record<string, string> = {}) => sample(t, name, labels) ?? 0;
      rows.push(`| ${label} | ${v('webhook_agent_requests_total', { face: 'soap', operation: 'SignalEvent', outcome: 'ok' })} | ` +
        `${v('webhook_agent_delivery_attempts_total', { outcome: 'success' })} | ${v('webhook_agent_deliveries_finished_total', { status: 'succeeded' })} | ` +
        `${v('webhook_agent_queue_deliveries', { state: 'pending' })} | ${v('webhook_agent_queue_oldest_pending_age_seconds').toFixed(2)} |`);
    };
    await scrape('before');
    const started = performance.now();
    const load = closedLoop({ url: `${app.baseUrl}/Remote/Services88/Webhook.svc`, headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/Webhook/SignalEvent"` },
      body, concurrency: 16, seconds });
    let done = false;
    void load.then(() => { done = true; });
    while (!done) {
      await new Promise((r) => setTimeout(r, 1000));
      await scrape(`${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    const r = await load;
    for (let i = 0; i < 30 && Number(await queueFigures(app.db, Date.now()).then((q) => q.pending)) > 0; i++) await new Promise((x) => setTimeout(x, 500));
    await new Promise((x) => setTimeout(x, 1100));
    await scrape('drained');
    console.log(`SignalEvent load: ${r.requests} requests in ${r.seconds.toFixed(1)} s (${r.perSecond.toFixed(0)}/s), ${r.failures} failures; receiver got ${rx.requests.length}`);
    console.log('| time | SignalEvent ok | attempts (success) | deliveries succeeded | queue pending | oldest pending (s) |');
    console.log('|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);
  } finally {
    await rx.close();
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log('== /metrics scrape cost (bench/metrics.ts)');
  await runScrapeCost();
  console.log('\n== /metrics counters under load');
  await runCountersUnderLoad();
}
