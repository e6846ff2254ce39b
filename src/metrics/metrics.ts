/**
 * Prometheus metrics of one process (prom-client enters the project here). One registry per process, built from
 * its dependencies (tests build as many as they like). What is counted:
 *
 *   webhook_agent_delivery_attempts_total{outcome}           attempts recorded by this process's worker
 *   webhook_agent_deliveries_finished_total{status}          deliveries this worker finished (succeeded, failed_permanent, expired)
 *   webhook_agent_delivery_attempt_duration_seconds{outcome} histogram of attempt durations
 *   webhook_agent_queue_deliveries{state}                    pending | due | parked, whole database
 *   webhook_agent_queue_oldest_pending_age_seconds           age of the oldest pending delivery (0 when none)
 *   webhook_agent_webhooks{state}                            Active | Stopped | TooManyErrors | Unknown
 *   webhook_agent_requests_total{face,operation,outcome}     SOAP calls (every POST, faults as protocol_fault), JSON and admin API calls; outcome ok or the error code
 *   webhook_agent_request_duration_seconds{face,operation}   their latency
 *   webhook_agent_logins_total{outcome}                      success | failure (wrong password, unknown name or throttled)
 *   webhook_agent_database_query_errors_total                queue/webhook figures that could not be read at a scrape
 *   process_* and nodejs_*                                   prom-client's default process metrics
 *
 * Queue and webhook figures are read at scrape time from two small queries (outbox/delivery-history.ts: one
 * statement on the status prefix of the claim index, one grouped count of webhook), cached for cacheMs so that
 * several scrapers or a fast scrape interval cost the database no more than one read per period.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queryable } from '../store/row-mapping.js';
import { queueFigures, webhooksByState, type QueueFigures } from '../outbox/delivery-history.js';
import { webhookStates } from '../webhooks/types.js';
import type { AttemptReport } from '../outbox/attempt-report.js';

export interface Metrics {
  readonly contentType: string;
  /** The exposition text (refreshing the cached database figures when they are older than cacheMs). */
  scrape(): Promise<string>;
  observeAttempt(r: AttemptReport): void;
  observeRequest(face: string, operation: string, outcome: string, seconds: number): void;
  observeLogin(outcome: 'success' | 'failure'): void;
}

export interface MetricsOptions {
  db: Queryable;
  /** How long queue and webhook figures are reused between scrapes (default 5000). */
  cacheMs?: number;
  /** prom-client's default process metrics (default true). */
  processMetrics?: boolean;
  now?: () => number;
  onError?: (err: unknown) => void;
}

const prefix = 'webhook_agent_';

export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  const now = opts.now ?? Date.now;
  const cacheMs = opts.cacheMs ?? 5000;
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const attempts = new Counter({ name: `${prefix}delivery_attempts_total`, help: 'Delivery attempts recorded by this process, by outcome', labelNames: ['outcome'], registers: [registry] });
  const finished = new Counter({ name: `${prefix}deliveries_finished_total`, help: 'Deliveries this process finished, by final status', labelNames: ['status'], registers: [registry] });
  const duration = new Histogram({
    name: `${prefix}delivery_attempt_duration_seconds`, help: 'Duration of delivery attempts (request sent to response read)', labelNames: ['outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
  });
  const requests = new Counter({ name: `${prefix}requests_total`, help: 'Operations served, by face, operation and outcome (ok or the error code)', labelNames: ['face', 'operation', 'outcome'], registers: [registry] });
  const latency = new Histogram({
    name: `${prefix}request_duration_seconds`, help: 'Operation latency, by face and operation', labelNames: ['face', 'operation'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry],
  });
  const logins = new Counter({ name: `${prefix}logins_total`, help: 'Logins with user name and password, by outcome', labelNames: ['outcome'], registers: [registry] });
  const queryErrors = new Counter({ name: `${prefix}database_query_errors_total`, help: 'Scrapes whose queue/webhook figures could not be read', registers: [registry] });
  for (const o of ['success', 'failure']) logins.inc({ outcome: o }, 0);

  let cached: { at: number; queue: QueueFigures; states: Map<number, number> } | null = null;
  let inFlight: Promise<void> | null = null;
  async function refresh(): Promise<void> {
    const at = now();
    if (cached && at - cached.at < cacheMs) return;
    inFlight ??= (async () => {
      try {
        const [queue, states] = await Promise.all([queueFigures(opts.db, at), webhooksByState(opts.db)]);
        cached = { at, queue, states };
      } catch (err) {
        queryErrors.inc();
        opts.onError?.(err);
      } finally {
        inFlight = null;
      }
    })();
    await inFlight;
  }

  const queue = new Gauge({ name: `${prefix}queue_deliveries`, help: 'Pending deliveries in the database: pending (all), due (claimable now), parked (webhook not Active)', labelNames: ['state'], registers: [registry] });
  const oldest = new Gauge({ name: `${prefix}queue_oldest_pending_age_seconds`, help: 'Age of the oldest pending delivery (0 when the queue is empty)', registers: [registry] });
  const hooks = new Gauge({ name: `${prefix}webhooks`, help: 'Webhooks by state', labelNames: ['state'], registers: [registry] });

  function publish(): void {
    if (!cached) return;
    const q = cached.queue;
    queue.set({ state: 'pending' }, q.pending);
    queue.set({ state: 'due' }, q.due);
    queue.set({ state: 'parked' }, q.parked);
    oldest.set(q.oldestQueuedAt === null ? 0 : Math.max(0, (now() - q.oldestQueuedAt) / 1000));
    webhookStates.forEach((name, n) => hooks.set({ state: name }, cached?.states.get(n) ?? 0));
  }

  return {
    contentType: registry.contentType,
    async scrape() {
      await refresh();
      publish();
      return registry.metrics();
    },
    observeAttempt(r) {
      attempts.inc({ outcome: r.outcome });
      duration.observe({ outcome: r.outcome }, r.durationMs / 1000);
      if (r.next !== 'pending') finished.inc({ status: r.next });
    },
    observeRequest(face, operation, outcome, seconds) {
      requests.inc({ face, operation, outcome });
      latency.observe({ face, operation }, seconds);
    },
    observeLogin(outcome) {
      logins.inc({ outcome });
    },
  };
}
