/**
 * Delivery benchmark on SQLite (the default deployment), against a loopback receiver in this process.
 *
 * 1. Latency: SignalEvent's transaction (subscriber lookup + enqueueEvent) commits, wake() is called, and the
 *    receiver notes the arrival. Events are signalled at a steady BENCH_RATE per second (default 200) for
 *    BENCH_DURATION_S seconds (default 20); p50 / p90 / p99 / max of commit -> arrival.
 * 2. Throughput: BENCH_FANOUT_EVENTS events (default 50), each fanned out to 100 webhooks, delivered by the worker,
 *    against a ceiling measured in the same run: a plain axios loop posting the same signed payloads to the same
 *    receiver with as many requests in flight as the worker may have toward that one host (HOST_CONCURRENCY, 16,
 *    below WORKER_CONCURRENCY). Prints deliveries/s of both and the ratio.
 * 3. Backlog: the time of one claim round while BENCH_BACKLOG deliveries (default 10,000) wait behind one in-flight
 *    delivery of their webhook, before and after they are held (outbox/claim-deliveries.ts, "Holding").
 * RSS is printed before and after the first two parts.
 *
 *   node --disable-proto=delete --import tsx bench/delivery.ts
 *   BENCH_DURATION_S=5 BENCH_RATE=500 node --disable-proto=delete --import tsx bench/delivery.ts
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import axios from 'axios';
import { startBenchReceiver } from './receiver.js';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { openDatabase, migrateLatest, type Database } from '../src/store/db.js';
import { createWebhook, activeSubscriberIds } from '../src/store/webhook-repository.js';
import { enqueueEvent } from '../src/outbox/outbox-repository.js';
import { claimAndLoad, holdBlockedDeliveries } from '../src/outbox/claim-deliveries.js';
import { createWorker } from '../src/outbox/worker.js';
import { payloadBytes } from '../src/outbox/send/payload.js';
import { requestHeaders } from '../src/outbox/send/sender.js';
import type { WebhookInput } from '../src/webhooks/types.js';
import { createSecretCodec } from '../src/store/secret-codec.js';
const plain = { secrets: createSecretCodec() };



const hookInput = (name: string, targetUrl: string, events: string[]): WebhookInput => ({
  name, events, targetUrl, secret: 'bench-secret', state: 'Active', type: 'webhook', headers: { 'X-Bench': '1' },
  properties: null, errorsEmail: null, errorEmails: null, errorAssociateIds: null, description: null, notifyVia: [], notifyWhen: [],
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const rss = () => process.memoryUsage().rss;

async function freshSqlite(): Promise<{ db: Database; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-'));
  const db = openDatabase(`sqlite:${join(dir, 'bench.sqlite')}`);
  await migrateLatest(db);
  return { db, cleanup: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

function benchConfig(): Config {
  return loadConfig({ env: {}, overrides: { databaseUrl: 'sqlite::memory:', allowInsecureTargets: true, logLevel: 'silent' } });
}

export async function latencyBench(opts: { rate: number; durationS: number }) {
  const { db, cleanup } = await freshSqlite();
  const rx = await startBenchReceiver({ keepAliveMs: 30_000 });
  const config = benchConfig();
  const worker = createWorker({ db, config, logger: createLogger('silent'), mailer: null });
  try {
    await createWebhook(db, hookInput('latency', rx.url, ['contact.changed']), new Date(), 1, plain);
    const committed = new Map<number, number>();
    const latencies: number[] = [];
    rx.onBody = (body, at) => {
      const t = committed.get(body.PrimaryKey as number);
      if (t !== undefined) {
        latencies.push(at - t);
        committed.delete(body.PrimaryKey as number);
      }
    };
    await worker.start();
    const rssBefore = rss();
    // The receiver, the producer and the worker share this event loop: its stalls show up in the latencies.
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const total = Math.round(opts.rate * opts.durationS);
    const interval = 1000 / opts.rate;
    const start = performance.now();
    let behind = 0;
    // RSS every 10 s, to tell a flat run from a leak over long runs (BENCH_DURATION_S=300).
    const rssSamples: number[] = [];
    const sampler = setInterval(() => rssSamples.push(rss()), 10_000);
    for (let i = 0; i < total; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -interval) behind++;
      await db.knex.transaction(async (trx) => {
        const ids = await activeSubscriberIds(trx, 'contact.changed');
        await enqueueEvent(trx, { eventName: 'contact.changed', primaryKey: i, data: { contact_id: i, name: `Company ${i}` },
          changedByAssociateId: 1, timestamp: new Date() }, ids);
      });
      committed.set(i, performance.now());
      worker.wake();
    }
    const producedIn = (performance.now() - start) / 1000;
    clearInterval(sampler);
    loopDelay.disable();
    const deadline = performance.now() + 30_000;
    while (latencies.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      events: total,
      delivered: latencies.length,
      achievedRate: total / producedIn,
      lateTicks: behind,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1],
      loopDelayP99: loopDelay.percentile(99) / 1e6,
      loopDelayMax: loopDelay.max / 1e6,
      rssBefore,
      rssAfter: rss(),
      rssSamples,
    };
  } finally {
    await worker.stop({ graceMs: 1000 });
    await rx.close();
    await cleanup();
  }
}

export async function fanoutBench(opts: { events: number; hooks: number }) {
  const { db, cleanup } = await freshSqlite();
  const rx = await startBenchReceiver({ keepAliveMs: 30_000 });
  const config = benchConfig();
  // Every hook here posts to one receiver, i.e. one target host, and the worker keeps at most HOST_CONCURRENCY
  // attempts in flight per host (noisy-neighbour guard): the ceiling gets the same number of connections, so the ratio
  // measures what claiming, sending and recording cost, not the per-host cap.
  const concurrency = Math.min(config.workerConcurrency, config.hostConcurrency);
  try {
    const hookIds: number[] = [];
    for (let i = 0; i < opts.hooks; i++) hookIds.push(await createWebhook(db, hookInput(`fanout ${i}`, rx.url, ['contact.created']), new Date(), 1, plain));
    const expected = opts.events * opts.hooks;

    // Ceiling: the same signed payloads, plain axios, the same concurrency toward this one host, same receiver.
    const jobs = Array.from({ length: expected }, (_, n) => {
      const i = Math.floor(n / opts.hooks);
      const job = {
        hook: { name: `fanout ${n % opts.hooks}`, targetUrl: rx.url, secret: 'bench-secret', headers: { 'X-Bench': '1' }, properties: null },
        eventUuid: randomUUID(), attemptNo: 1, eventName: 'contact.created', primaryKey: i, data: { contact_id: i, name: `Company ${i}` },
        changedByAssociateId: 1, timestamp: new Date(),
      };
      const body = payloadBytes({ ...job, webhookName: job.hook.name, contextIdentifier: config.contextIdentifier, properties: null });
      return { body, headers: requestHeaders(job, body, config.userAgent) };
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const client = axios.create({ httpAgent: agent, proxy: false, maxRedirects: 0 });
    const rssBaseline0 = rss();
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const j = jobs[next++];
        await client.post(rx.url, j.body, { headers: j.headers, validateStatus: () => true });
      }
    }));
    const axiosSeconds = (performance.now() - t0) / 1000;
    agent.destroy();
    const rssBaseline1 = rss();

    // The worker: events committed (each fanned out to every hook), then delivered.
    const worker = createWorker({ db, config, logger: createLogger('silent'), mailer: null });
    const before = rx.count;
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => { done = r; });
    rx.onBody = () => { if (rx.count - before >= expected) done(); };
    const rssWorker0 = rss();
    const t1 = performance.now();
    for (let i = 0; i < opts.events; i++) {
      await db.knex.transaction(async (trx) => {
        const ids = await activeSubscriberIds(trx, 'contact.created');
        await enqueueEvent(trx, { eventName: 'contact.created', primaryKey: i, data: { contact_id: i, name: `Company ${i}` },
          changedByAssociateId: 1, timestamp: new Date() }, ids);
      });
    }
    await worker.start();
    await finished;
    const workerSeconds = (performance.now() - t1) / 1000;
    const rssWorker1 = rss();
    await worker.stop({ graceMs: 1000 });
    return {
      deliveries: expected,
      concurrency,
      axiosPerSecond: expected / axiosSeconds,
      workerPerSecond: expected / workerSeconds,
      rss: { axiosBefore: rssBaseline0, axiosAfter: rssBaseline1, workerBefore: rssWorker0, workerAfter: rssWorker1 },
    };
  } finally {
    await rx.close();
    await cleanup();
  }
}

export async function backlogBench(opts: { backlog: number; rounds: number }) {
  const { db, cleanup } = await freshSqlite();
  try {
    const busy = await createWebhook(db, hookInput('busy', 'http://127.0.0.1:9/', ['contact.created']), new Date(), 1, plain);
    const other = await createWebhook(db, hookInput('other', 'http://127.0.0.1:9/', ['contact.changed']), new Date(), 1, plain);
    const now = Date.now();
    await db.knex.transaction(async (trx) => {
      for (let i = 0; i < opts.backlog; i++) {
        await enqueueEvent(trx, { eventName: 'contact.created', primaryKey: i, data: {}, changedByAssociateId: 1, timestamp: new Date(now) }, [busy], { now });
      }
    });
    await claimAndLoad(db, { now, leaseMs: 3_600_000, limit: 1, token: 'in-flight' }, undefined, plain);
    const round = async (label: string) => {
      let ms = 0;
      for (let i = 0; i < opts.rounds; i++) {
        // One fresh delivery of another webhook per round: it must be found behind the backlog.
        await enqueueEvent(db, { eventName: 'contact.changed', primaryKey: i, data: {}, changedByAssociateId: 1, timestamp: new Date(now) }, [other], { now });
        const t0 = performance.now();
        const { deliveries } = await claimAndLoad(db, { now: now + 1, leaseMs: 3_600_000, limit: 8, token: `${label}${i}` }, undefined, plain);
        ms += performance.now() - t0;
        if (deliveries.length !== 1) throw new Error(`expected the other webhook's delivery, got ${deliveries.length}`);
        await db.knex('wa_delivery').where('delivery_id', deliveries[0].deliveryId).update({ status: 'succeeded', lease_token: null });
      }
      return ms / opts.rounds;
    };
    const before = await round('a');
    let held = 0;
    for (;;) {
      const n = await holdBlockedDeliveries(db, { now: now + 1, holdUntil: now + 3_600_000, limit: 500 });
      held += n;
      if (n < 500) break;
    }
    const after = await round('b');
    return { backlog: opts.backlog, held, msPerClaimBefore: before, msPerClaimAfter: after };
  } finally {
    await cleanup();
  }
}

export async function runDeliveryBench(): Promise<void> {
  const rate = Number(process.env.BENCH_RATE ?? 200);
  const durationS = Number(process.env.BENCH_DURATION_S ?? 20);
  const fanoutEvents = Number(process.env.BENCH_FANOUT_EVENTS ?? 50);
  const hooks = Number(process.env.BENCH_FANOUT_HOOKS ?? 100);

  process.stdout.write(`delivery latency: ${rate} events/s for ${durationS} s, SQLite, 1 webhook, loopback receiver\n`);
  const lat = await latencyBench({ rate, durationS });
  process.stdout.write(
    `  events ${lat.events}, delivered ${lat.delivered}, signalled at ${lat.achievedRate.toFixed(0)}/s (late ticks ${lat.lateTicks})\n` +
    `  commit -> arrival: p50 ${lat.p50.toFixed(2)} ms, p90 ${lat.p90.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms, max ${lat.max.toFixed(2)} ms\n` +
    `  event-loop delay of this process (shared by producer, worker, receiver): p99 ${lat.loopDelayP99.toFixed(2)} ms, max ${lat.loopDelayMax.toFixed(2)} ms\n` +
    `  RSS ${mb(lat.rssBefore)} -> ${mb(lat.rssAfter)}; every 10 s: ${lat.rssSamples.map((n) => (n / 1024 / 1024).toFixed(0)).join(' ')} MB\n`);

  process.stdout.write(`delivery throughput: ${fanoutEvents} events x ${hooks} webhooks, SQLite, loopback receiver\n`);
  const fan = await fanoutBench({ events: fanoutEvents, hooks });
  process.stdout.write(
    `  ${fan.deliveries} deliveries, ${fan.concurrency} in flight toward the one receiver host (min of WORKER_CONCURRENCY and HOST_CONCURRENCY)\n` +
    `  plain axios loop (ceiling): ${fan.axiosPerSecond.toFixed(0)} deliveries/s   RSS ${mb(fan.rss.axiosBefore)} -> ${mb(fan.rss.axiosAfter)}\n` +
    `  worker (claim, send, record): ${fan.workerPerSecond.toFixed(0)} deliveries/s   RSS ${mb(fan.rss.workerBefore)} -> ${mb(fan.rss.workerAfter)}\n` +
    `  ratio worker / ceiling: ${(fan.workerPerSecond / fan.axiosPerSecond).toFixed(2)}\n`);

  const backlog = Number(process.env.BENCH_BACKLOG ?? 10_000);
  process.stdout.write(`claim with a backlog: ${backlog} deliveries behind one in flight, SQLite\n`);
  const b = await backlogBench({ backlog, rounds: 50 });
  process.stdout.write(
    `  claim + load round: ${b.msPerClaimBefore.toFixed(3)} ms while they are due, ${b.msPerClaimAfter.toFixed(3)} ms once held ` +
    `(${b.held} held); ratio ${(b.msPerClaimBefore / b.msPerClaimAfter).toFixed(1)}x\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runDeliveryBench().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
