/**
 * Noisy neighbours (issue 8, item 1), on SQLite with the real worker in this process: 64 webhooks whose receivers
 * accept the connection and never answer, and one healthy webhook created last. BENCH_NOISY_EVENTS events
 * (default 5) go to all 65, then one event to the healthy hook only. Measured: commit -> arrival at the healthy
 * receiver for each of them, in three runs in the same process:
 *   alone     the healthy hook without the hung ones (the baseline)
 *   guarded   64 hung hooks, default settings (slow attempts give their slot back, per-host cap, circuit)
 *   unguarded 64 hung hooks with the guards off (MAX_SLOW_IN_FLIGHT=0, HOST_CONCURRENCY=1000, CIRCUIT_TIMEOUTS=1000),
 *             i.e. the behaviour before the fix; cut off after BENCH_NOISY_CAP_S (default 60) seconds
 * for two layouts: the 64 hung hooks on 64 receivers (64 hosts) and on one receiver (one host).
 * DELIVERY_TIMEOUT_MS is the default 15 s, as in the report.
 *
 *   node --disable-proto=delete --import tsx bench/noisy-neighbour.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, type ConfigInput } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { openDatabase, migrateLatest } from '../src/store/db.js';
import { activeSubscriberIds, createWebhook } from '../src/store/webhook-repository.js';
import { enqueueEvent } from '../src/outbox/outbox-repository.js';
import { createWorker } from '../src/outbox/worker.js';
import { createSecretCodec } from '../src/store/secret-codec.js';
import type { WebhookInput } from '../src/webhooks/types.js';
import { startBenchReceiver, type BenchReceiver } from './receiver.js';

const plain = { secrets: createSecretCodec() };
const EVENTS = Number(process.env.BENCH_NOISY_EVENTS ?? 5);
const CAP_MS = Number(process.env.BENCH_NOISY_CAP_S ?? 60) * 1000;


const hookInput = (name: string, targetUrl: string, events: string[]): WebhookInput => ({
  name, events, targetUrl, secret: null, state: 'Active', type: 'webhook', headers: null, properties: null, errorsEmail: null,
  errorEmails: null, errorAssociateIds: null, description: null, notifyVia: [], notifyWhen: [],
});

/** Latencies (ms) of the healthy hook's deliveries, in event order; Infinity for those not there within the cap. */
async function scenario(opts: { hung: number; hosts: 'many' | 'one'; guards: boolean }): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-noisy-'));
  const db = openDatabase(`sqlite:${join(dir, 'bench.sqlite')}`);
  await migrateLatest(db);
  const hungRx: BenchReceiver[] = [];
  const healthy = await startBenchReceiver();
  // When each event first reached the healthy receiver.
  const arrivals = new Map<number, number>();
  healthy.onBody = (body, at) => {
    const pk = body.PrimaryKey as number;
    if (!arrivals.has(pk)) arrivals.set(pk, at);
  };
  const overrides: ConfigInput = { databaseUrl: 'sqlite::memory:', allowInsecureTargets: true, logLevel: 'silent', maxConsecutiveErrors: 1000 };
  if (!opts.guards) Object.assign(overrides, { maxSlowInFlight: 0, hostConcurrency: 1000, circuitTimeouts: 1000 });
  const worker = createWorker({ db, config: loadConfig({ env: {}, overrides }), logger: createLogger('silent'), mailer: null });
  try {
    const shared = opts.hosts === 'one' && opts.hung > 0 ? await startBenchReceiver({ hang: true }) : null;
    if (shared) hungRx.push(shared);
    for (let i = 0; i < opts.hung; i++) {
      const rx = shared ?? (await startBenchReceiver({ hang: true }));
      if (!shared) hungRx.push(rx);
      await createWebhook(db.knex, hookInput(`hung ${i}`, `${rx.url}?h=${i}`, ['noisy.tick']), new Date(), 1, plain);
    }
    await createWebhook(db.knex, hookInput('healthy', healthy.url, ['noisy.tick', 'healthy.only']), new Date(), 1, plain);
    await worker.start();
    const committed = new Map<number, number>();
    for (let pk = 1; pk <= EVENTS + 1; pk++) {
      const name = pk === EVENTS + 1 ? 'healthy.only' : 'noisy.tick';
      await db.knex.transaction(async (trx) => {
        const ids = await activeSubscriberIds(trx, name);
        await enqueueEvent(trx, { eventName: name, primaryKey: pk, data: {}, changedByAssociateId: 1, timestamp: new Date() }, ids);
      });
      committed.set(pk, performance.now());
      worker.wake();
    }
    const deadline = performance.now() + CAP_MS;
    while (arrivals.size < EVENTS + 1 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return [...committed].map(([pk, at]) => (arrivals.has(pk) ? arrivals.get(pk)! - at : Infinity));
  } finally {
    await worker.stop({ graceMs: 0 });
    for (const rx of [...hungRx, healthy]) await rx.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (ms: number[]) => {
  const max = Math.max(...ms);
  const shown = ms.map((m) => (Number.isFinite(m) ? m.toFixed(0) : `>${CAP_MS / 1000}s`)).join(', ');
  return `max ${Number.isFinite(max) ? `${max.toFixed(0)} ms` : `> ${CAP_MS / 1000} s`} (${shown})`;
};

export async function runNoisyNeighbourBench(): Promise<void> {
  const alone = await scenario({ hung: 0, hosts: 'many', guards: true });
  console.log(`healthy hook alone (baseline)           ${fmt(alone)}`);
  for (const hosts of ['many', 'one'] as const) {
    const label = hosts === 'many' ? '64 hung hooks on 64 hosts' : '64 hung hooks on one host';
    const guarded = await scenario({ hung: 64, hosts, guards: true });
    console.log(`${label}, guarded     ${fmt(guarded)}; max / baseline max = ${(Math.max(...guarded) / Math.max(...alone)).toFixed(1)}`);
    const unguarded = await scenario({ hung: 64, hosts, guards: false });
    console.log(`${label}, unguarded   ${fmt(unguarded)}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await runNoisyNeighbourBench();
