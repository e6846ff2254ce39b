/**
 * Load (issue 4, part 5): 100 concurrent SOAP clients over keep-alive, each with its own ticket, for LOAD_SECONDS
 * (default 60) of mixed GetWebhook / GetAllWebhooks / SaveWebhook / SignalEvent against the real service, on
 * SQLite and on PostgreSQL (a fresh database on PG_URL, dropped afterwards). PING_ON_SAVE stays on: every save
 * POSTs a test event to a loopback receiver, which also receives the deliveries of the signalled events.
 *
 * Prints per backend and operation: requests, failures, p50/p99/max latency; RSS (MiB) of the service at the
 * start (settled), peak, and end (settled); and how many of the deliveries owed were received within the drain
 * window. A failure is anything but HTTP 200 with Succeeded=true (or no answer within 30 s). Exits 1 when any
 * request failed.
 *
 *   node --disable-proto=delete --import tsx bench/load.ts [--json out.json]
 *   env: LOAD_SECONDS (60), LOAD_CLIENTS (100), LOAD_BACKENDS (sqlite,pg), PG_URL, LOAD_DRAIN_SECONDS (120)
 */
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { login } from '../test/helpers/service.js';
import { buildRequest, type RequestInput } from '../test/reliability/support/envelopes.js';
import { startGuardedService, type GuardedService } from '../test/reliability/support/harness.js';
import { createClient, type SoapClient } from '../test/reliability/support/http-client.js';
import { rssMiB, settledRssMiB } from '../test/reliability/support/proc.js';
import { startReceiver, type Receiver } from '../test/reliability/support/receiver.js';
import { readAnswer } from '../test/reliability/support/wire.js';

const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const CLIENTS = Number(process.env.LOAD_CLIENTS ?? 100);
const DRAIN_SECONDS = Number(process.env.LOAD_DRAIN_SECONDS ?? 120);
const BACKENDS = (process.env.LOAD_BACKENDS ?? 'sqlite,pg').split(',').map((b) => b.trim()).filter(Boolean);
const PG_URL = process.env.PG_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
const HOOKS = 20;
const SUBSCRIBERS = 3;
const EVENT = 'load.event';

type LoadOp = 'GetWebhook' | 'GetAllWebhooks' | 'SaveWebhook' | 'SignalEvent';
/** The mix, in percent. */
const MIX: Array<[LoadOp, number]> = [['GetWebhook', 40], ['SignalEvent', 30], ['GetAllWebhooks', 20], ['SaveWebhook', 10]];

export interface OpFigures { requests: number; failures: number; p50Ms: number; p99Ms: number; maxMs: number }
export interface BackendFigures {
  backend: string;
  skipped?: string;
  seconds: number;
  clients: number;
  requests: number;
  failures: number;
  perSecond: number;
  p99Ms: number;
  ops: Record<string, OpFigures>;
  rssStartMiB: number;
  rssPeakMiB: number;
  rssEndMiB: number;
  deliveriesOwed: number;
  deliveriesReceived: number;
  drainSeconds: number;
  failureSamples: string[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function pickOp(r: number): LoadOp {
  let acc = 0;
  for (const [op, w] of MIX) {
    acc += w;
    if (r * 100 < acc) return op;
  }
  return MIX[0][0];
}

async function freshPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `wa_load_${randomBytes(5).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 5000 });
  try {
    await admin.raw(`create database ${name}`);
  } finally {
    await admin.destroy();
  }
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const a = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
      try {
        await a.raw(`drop database if exists ${name} with (force)`);
      } finally {
        await a.destroy();
      }
    },
  };
}

async function runBackend(backend: string): Promise<BackendFigures> {
  const empty = (skipped: string): BackendFigures => ({
    backend, skipped, seconds: 0, clients: CLIENTS, requests: 0, failures: 0, perSecond: 0, p99Ms: NaN, ops: {}, rssStartMiB: NaN,
    rssPeakMiB: NaN, rssEndMiB: NaN, deliveriesOwed: 0, deliveriesReceived: 0, drainSeconds: 0, failureSamples: [],
  });
  let pg: { url: string; drop: () => Promise<void> } | undefined;
  if (backend === 'pg') {
    try {
      pg = await freshPgDatabase();
    } catch (err) {
      const why = `PostgreSQL not usable at ${PG_URL.replace(/:[^:@/]*@/, ':***@')}: ${(err as Error).message}`;
      if (process.env.CI === 'true') throw new Error(why, { cause: err });
      return empty(why);
    }
  } else if (backend !== 'sqlite') {
    return empty(`unknown backend ${backend}`);
  }

  const receiver: Receiver = await startReceiver('ok');
  let svc: GuardedService | undefined;
  const clients: SoapClient[] = [];
  try {
    svc = await startGuardedService({
      PING_ON_SAVE: 'true', LOG_LEVEL: 'warn', DB_POOL_MAX: '20', DELIVERY_TIMEOUT_MS: '5000',
      ...(pg ? { DATABASE_URL: pg.url } : {}),
    });
    const setup = createClient(svc.baseUrl, { maxSockets: 4 });
    const adminTicket = await login(svc.baseUrl);
    const hookIds: number[] = [];
    for (let i = 0; i < HOOKS; i++) {
      const events = i < SUBSCRIBERS ? [EVENT, 'load.other'] : ['load.other'];
      const r = await setup.soap(buildRequest({ op: 'SaveWebhook', webhook: { name: `load-${i}`, events, targetUrl: `${receiver.url}/${i}` } }, adminTicket));
      const id = Number(/<(?:\w+:)?WebhookId>(\d+)</.exec(r.text)?.[1]);
      if (!(r.status === 200 && id > 0)) throw new Error(`setup SaveWebhook failed: ${r.status} ${r.text.slice(0, 400)}`);
      hookIds.push(id);
    }
    setup.close();

    // Each client: its own keep-alive connection and its own ticket. Logins go 4 at a time: the login throttle
    // counts logins in flight for one user name against LOGIN_FAILURES_PER_WINDOW (5).
    const tickets: string[] = [];
    for (let i = 0; i < CLIENTS; i += 4) {
      tickets.push(...(await Promise.all(Array.from({ length: Math.min(4, CLIENTS - i) }, () => login(svc!.baseUrl)))));
    }
    for (let i = 0; i < CLIENTS; i++) clients.push(createClient(svc.baseUrl, { maxSockets: 1 }));

    const pid = svc.proc.pid!;
    const rssStart = await settledRssMiB(pid);
    let rssPeak = rssStart;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(pid) ?? 0)), 250);

    const latencies: Record<LoadOp, number[]> = { GetWebhook: [], GetAllWebhooks: [], SaveWebhook: [], SignalEvent: [] };
    const failures: Record<LoadOp, number> = { GetWebhook: 0, GetAllWebhooks: 0, SaveWebhook: 0, SignalEvent: 0 };
    const failureSamples: string[] = [];
    let signalled = 0;
    let key = 0;
    const until = performance.now() + SECONDS * 1000;
    const started = performance.now();

    await Promise.all(clients.map(async (client, c) => {
      const ticket = tickets[c];
      let n = 0;
      while (performance.now() < until) {
        const op = pickOp(Math.random());
        const hookId = hookIds[(c + n++) % hookIds.length];
        let input: RequestInput;
        if (op === 'GetWebhook') input = { op, webhookId: hookId };
        else if (op === 'GetAllWebhooks') input = { op };
        else if (op === 'SignalEvent') input = { op, eventName: EVENT, primaryKey: ++key, data: { client: { type: 'int', value: String(c) }, note: { type: 'string', value: 'load' } } };
        else {
          const i = hookIds.indexOf(hookId);
          input = {
            op, webhook: {
              webhookId: hookId, name: `load-${i}`, events: i < SUBSCRIBERS ? [EVENT, 'load.other'] : ['load.other'],
              targetUrl: `${receiver.url}/${i}`, description: `saved by client ${c} at ${Date.now()}`,
            },
          };
        }
        const t0 = performance.now();
        let ok = false;
        let why = '';
        try {
          const r = await client.soap(buildRequest(input, ticket), { timeoutMs: 30_000 });
          ok = r.status === 200 && readAnswer(r.text).succeeded === true;
          if (!ok) why = `HTTP ${r.status}: ${readAnswer(r.text).exceptionMessage ?? r.text.slice(0, 200)}`;
        } catch (err) {
          why = (err as Error).message;
        }
        latencies[op].push(performance.now() - t0);
        if (ok) {
          if (op === 'SignalEvent') signalled += 1;
        } else {
          failures[op] += 1;
          if (failureSamples.length < 10) failureSamples.push(`${op}: ${why}`);
        }
      }
    }));
    const seconds = (performance.now() - started) / 1000;

    // Drain: every accepted event owes one delivery per subscriber.
    const owed = signalled * SUBSCRIBERS;
    const drainStart = performance.now();
    const received = () => receiver.deliveries.filter((d) => !d.test && d.event === EVENT).length;
    while (received() < owed && performance.now() - drainStart < DRAIN_SECONDS * 1000) await new Promise((r) => setTimeout(r, 250));
    const drainSeconds = (performance.now() - drainStart) / 1000;
    clearInterval(sampler);
    const rssEnd = await settledRssMiB(pid);

    const ops: Record<string, OpFigures> = {};
    const all: number[] = [];
    for (const [op, lat] of Object.entries(latencies) as Array<[LoadOp, number[]]>) {
      lat.sort((a, b) => a - b);
      all.push(...lat);
      ops[op] = { requests: lat.length, failures: failures[op], p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), maxMs: lat.at(-1) ?? NaN };
    }
    all.sort((a, b) => a - b);
    const requests = all.length;
    const failed = Object.values(failures).reduce((a, b) => a + b, 0);
    return {
      backend, seconds, clients: CLIENTS, requests, failures: failed, perSecond: requests / seconds, p99Ms: percentile(all, 99), ops,
      rssStartMiB: rssStart, rssPeakMiB: rssPeak, rssEndMiB: rssEnd, deliveriesOwed: owed,
      deliveriesReceived: new Set(receiver.deliveries.filter((d) => !d.test && d.event === EVENT).map((d) => d.eventId)).size,
      drainSeconds, failureSamples,
    };
  } finally {
    for (const c of clients) c.close();
    await svc?.stop();
    await receiver.close();
    await pg?.drop();
  }
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');

export function printFigures(results: BackendFigures[]): void {
  const lines: string[] = [];
  lines.push(`load: ${CLIENTS} keep-alive clients, ${SECONDS} s per backend, mix ${MIX.map(([o, w]) => `${o} ${w}%`).join(', ')}`);
  lines.push('backend   operation        requests  failed   p50 ms   p99 ms   max ms');
  for (const r of results) {
    if (r.skipped) {
      lines.push(`${r.backend.padEnd(9)} skipped: ${r.skipped}`);
      continue;
    }
    for (const [op, o] of Object.entries(r.ops)) {
      lines.push(`${r.backend.padEnd(9)} ${op.padEnd(16)} ${String(o.requests).padStart(8)} ${String(o.failures).padStart(7)} ${f1(o.p50Ms).padStart(8)} ${f1(o.p99Ms).padStart(8)} ${f1(o.maxMs).padStart(8)}`);
    }
    lines.push(`${r.backend.padEnd(9)} ${'all'.padEnd(16)} ${String(r.requests).padStart(8)} ${String(r.failures).padStart(7)} ${''.padStart(8)} ${f1(r.p99Ms).padStart(8)}   (${f1(r.perSecond)} req/s)`);
    lines.push(`${r.backend.padEnd(9)} RSS MiB start ${f1(r.rssStartMiB)} (settled), peak ${f1(r.rssPeakMiB)}, end ${f1(r.rssEndMiB)} (settled); ` +
      `deliveries received ${r.deliveriesReceived}/${r.deliveriesOwed} after ${f1(r.drainSeconds)} s of drain`);
    for (const s of r.failureSamples) lines.push(`${r.backend.padEnd(9)} failure: ${s}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const jsonAt = process.argv.indexOf('--json');
  const jsonOut = jsonAt > 0 ? process.argv[jsonAt + 1] : process.env.LOAD_JSON_OUT;
  const results: BackendFigures[] = [];
  for (const b of BACKENDS) results.push(await runBackend(b));
  printFigures(results);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
  const failed = results.reduce((n, r) => n + r.failures, 0);
  process.exit(failed > 0 ? 1 : 0);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(2);
  });
}
