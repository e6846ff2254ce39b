/**
 * Prometheus metrics of one process (prom-client enters the project here). One registry per process, built from
 * its dependencies (tests build as many as they like). What is counted:
 *
 *   webhook_agent_delivery_attempts_total{outcome}           attempts recorded by this process's worker
 *   webhook_agent_delivery_attempt_failures_total{class}     failed attempts by class (failureClass below)
 *   webhook_agent_deliveries_finished_total{status}          deliveries this worker finished (succeeded, failed_permanent, expired,
 *                                                            cancelled: the webhook was deleted)
 *   webhook_agent_delivery_attempt_duration_seconds{outcome} histogram of attempt durations
 *   webhook_agent_delivery_latency_seconds                   histogram: enqueued (SignalEvent's commit) to the receiver's 2xx
 *   webhook_agent_deliveries_in_flight                       attempts this process's worker has running
 *   webhook_agent_circuits_open                              target hosts whose circuit is open (or half-open) in this worker
 *   webhook_agent_webhooks_paused                            webhooks whose target asked (Retry-After) to wait, not yet over
 *   webhook_agent_queue_deliveries{state}                    pending | due | parked, whole database
 *   webhook_agent_queue_oldest_pending_age_seconds           age of the oldest pending delivery of an Active webhook (0 when none)
 *   webhook_agent_queue_oldest_parked_age_seconds            age of the oldest parked one (webhook Stopped or TooManyErrors; 0 when none)
 *   webhook_agent_webhooks{state}                            Active | Stopped | TooManyErrors | Unknown
 *   webhook_agent_requests_total{face,operation,outcome}     SOAP calls (every POST, faults as protocol_fault), JSON and admin API calls; outcome ok or the error code
 *   webhook_agent_request_duration_seconds{face,operation}   their latency
 *   webhook_agent_build_info{version,node}                   1
 *   webhook_agent_logins_total{outcome}                      success | failure (wrong password, unknown name or throttled)
 *   webhook_agent_database_query_errors_total                queue/webhook figures that could not be read at a scrape
 *   webhook_agent_crm_changes_read_total                     CRM row changes this process's CRM event source read (docs/crm-events.md)
 *   webhook_agent_crm_events_enqueued_total                  entity events it enqueued (those with at least one Active subscriber)
 *   webhook_agent_crm_source_running                         1 while it reads, 0 while it waits, reconnects or failed
 *   webhook_agent_crm_lag_seconds                            from the last enqueued change's commit to its enqueue (0 when caught up)
 *   webhook_agent_crm_lag_wal_bytes / _lag_versions          WAL the replication slot still holds (PostgreSQL); change versions behind (SQL Server)
 *   process_* and nodejs_*                                   prom-client's default process metrics
 *
 * Queue and webhook figures are read at scrape time from two small queries (outbox/delivery-history.ts: one
 * statement on the status prefix of the claim index, one grouped count of webhook), cached for cacheMs so that
 * several scrapers or a fast scrape interval cost the database no more than one read per period.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queryable } from '../store/row-mapping.js';
import { queueFigures, webhooksByState, type QueueFigures } from '../outbox/index.js';
import { webhookStates } from '../webhooks/types.js';
import type { AttemptReport } from '../outbox/index.js';
import { SERVICES } from '../contract/index.js';
import { packageInfo } from '../version.js';
import { setBounded } from '../bounded-map.js';

export interface Metrics {
  readonly contentType: string;
  /** The exposition text (refreshing the cached database figures when they are older than cacheMs). */
  scrape(): Promise<string>;
  observeAttempt(r: AttemptReport): void;
  /** Deliveries the worker finished without an attempt: expired by retention, cancelled (their webhook is gone). */
  observeFinished(status: 'expired' | 'cancelled', count: number): void;
  observeRequest(face: string, operation: string, outcome: string, seconds: number): void;
  observeLogin(outcome: 'success' | 'failure'): void;
  /** Where the in-flight and open-circuit figures come from (this process's worker; null while it is not running). */
  watchWorker(read: () => { inFlight: number; circuitsOpen: number } | null): void;
  /** Where the CRM event source's figures come from (none registered until this is called). */
  watchCrmEvents(read: () => CrmFigures): void;
}

/** The figures of a CRM event source (crm/crm-source.ts's state has them). */
export interface CrmFigures {
  engine: 'pg' | 'mssql';
  status: string;
  changesRead: number;
  eventsEnqueued: number;
  lagSeconds: number;
  lagUnits: number | null;
}

/**
 * The operation label, one spelling on every face: NetServer's operation name (SaveWebhook, whichever face was
 * called), 'unknown' for a path or SOAPAction that names no operation, and the faces' own operations in the same
 * PascalCase (the admin page's SetState).
 */
const netServerNames = new Map(Object.values(SERVICES).flatMap((s) => s.operations.map((o) => [o.name.toLowerCase(), o.name] as const)));
const aliases = new Map([['login', 'AuthenticateUsernamePassword'], ['signin', 'AuthenticateUsernamePassword'],
  ['listwebhooks', 'GetAllWebhooks'], ['notfound', 'unknown'], ['unknown', 'unknown']]);
export function operationLabel(name: string): string {
  const key = name.toLowerCase();
  return netServerNames.get(key) ?? aliases.get(key) ?? `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
}

/**
 * The class of a failed attempt, for alerts: timeout, connect (refused, reset, unreachable), dns, tls, http_4xx,
 * http_5xx, http_other (a redirect, which is not followed), refused_policy (the target policy refused the address;
 * nothing was sent), other (not sent: the secret cannot be read, a type this agent does not deliver). null for a success.
 */
export function failureClass(r: Pick<AttemptReport, 'outcome' | 'errorClass' | 'httpStatus'>): string | null {
  if (r.outcome === 'success') return null;
  if (r.outcome === 'refused_target' || r.errorClass === 'refused_target') return 'refused_policy';
  if (r.httpStatus !== null) return r.httpStatus >= 500 ? 'http_5xx' : r.httpStatus >= 400 ? 'http_4xx' : 'http_other';
  if (r.errorClass === 'timeout' || r.errorClass === 'connect' || r.errorClass === 'dns' || r.errorClass === 'tls') return r.errorClass;
  return 'other';
}
const failureClasses = ['timeout', 'connect', 'dns', 'tls', 'http_4xx', 'http_5xx', 'http_other', 'refused_policy', 'other'];
/** Retry-After pauses remembered at most (the oldest are forgotten first). */
const MAX_PAUSED = 10_000;

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
  const failures = new Counter({ name: `${prefix}delivery_attempt_failures_total`, help: 'Failed delivery attempts by class: timeout, connect, dns, tls, http_4xx, http_5xx, http_other, refused_policy, other', labelNames: ['class'], registers: [registry] });
  for (const c of failureClasses) failures.inc({ class: c }, 0);
  const latencyToReceiver = new Histogram({
    name: `${prefix}delivery_latency_seconds`, help: 'From the event\'s commit (delivery enqueued) to the receiver\'s 2xx, retries included',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600], registers: [registry],
  });
  let readWorker: () => { inFlight: number; circuitsOpen: number } | null = () => null;
  new Gauge({ name: `${prefix}deliveries_in_flight`, help: 'Delivery attempts this process\'s worker has running', registers: [registry],
    collect() { this.set(readWorker()?.inFlight ?? 0); } });
  new Gauge({ name: `${prefix}circuits_open`, help: 'Target hosts whose circuit is open or half-open in this process\'s worker (they keep timing out)', registers: [registry],
    collect() { this.set(readWorker()?.circuitsOpen ?? 0); } });
  /** webhook id -> epoch ms its target's Retry-After ends (the last attempt here said so). */
  const pausedUntil = new Map<number, number>();
  new Gauge({ name: `${prefix}webhooks_paused`, help: 'Webhooks whose target answered 429/503 with a Retry-After that has not passed yet (this process\'s worker)', registers: [registry],
    collect() {
      const at = now();
      for (const [id, until] of pausedUntil) if (until <= at) pausedUntil.delete(id);
      this.set(pausedUntil.size);
    } });
  const { version } = packageInfo();
  new Gauge({ name: `${prefix}build_info`, help: 'The running build: package version and Node.js version (always 1)', labelNames: ['version', 'node'], registers: [registry] })
    .set({ version, node: process.versions.node }, 1);
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
  const oldest = new Gauge({ name: `${prefix}queue_oldest_pending_age_seconds`, help: 'Age of the oldest pending delivery of an Active webhook, parked ones left out (0 when none)', registers: [registry] });
  const oldestParked = new Gauge({ name: `${prefix}queue_oldest_parked_age_seconds`, help: 'Age of the oldest parked delivery (webhook Stopped or TooManyErrors; 0 when none)', registers: [registry] });
  const hooks = new Gauge({ name: `${prefix}webhooks`, help: 'Webhooks by state', labelNames: ['state'], registers: [registry] });

  function publish(): void {
    if (!cached) return;
    const q = cached.queue;
    queue.set({ state: 'pending' }, q.pending);
    queue.set({ state: 'due' }, q.due);
    queue.set({ state: 'parked' }, q.parked);
    const age = (at: number | null) => (at === null ? 0 : Math.max(0, (now() - at) / 1000));
    oldest.set(age(q.oldestQueuedAt));
    oldestParked.set(age(q.oldestParkedAt));
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
      const failed = failureClass(r);
      if (failed) failures.inc({ class: failed });
      else latencyToReceiver.observe(Math.max(0, r.answeredAt - r.queuedAt) / 1000);
      if (r.outcome === 'retry_after' && r.nextAttemptAt !== null) setBounded(pausedUntil, r.webhookId, r.nextAttemptAt, MAX_PAUSED);
      else pausedUntil.delete(r.webhookId);
    },
    observeFinished(status, count) {
      finished.inc({ status }, count);
    },
    observeRequest(face, operation, outcome, seconds) {
      const op = operationLabel(operation);
      requests.inc({ face, operation: op, outcome });
      latency.observe({ face, operation: op }, seconds);
    },
    watchWorker(read) {
      readWorker = read;
    },
    watchCrmEvents(read) {
      // Running totals kept by the source: a Counter set to the total at each collect.
      const total = (name: string, help: string, pick: (f: CrmFigures) => number) => new Counter({ name, help, registers: [registry],
        collect() { this.reset(); this.inc(pick(read())); } });
      total(`${prefix}crm_changes_read_total`, 'CRM row changes read by this process\'s CRM event source', (f) => f.changesRead);
      total(`${prefix}crm_events_enqueued_total`, 'CRM entity events enqueued (with at least one Active subscriber)', (f) => f.eventsEnqueued);
      new Gauge({ name: `${prefix}crm_source_running`, help: 'Whether the CRM event source is reading (1) or waiting, reconnecting or failed (0)', registers: [registry],
        collect() { this.set(read().status === 'running' ? 1 : 0); } });
      new Gauge({ name: `${prefix}crm_lag_seconds`, help: 'From the last enqueued CRM change\'s commit to its enqueue (0 when caught up)', registers: [registry],
        collect() { this.set(read().lagSeconds); } });
      const units = read().engine === 'pg'
        ? { name: `${prefix}crm_lag_wal_bytes`, help: 'WAL bytes the CRM replication slot holds beyond its confirmed position' }
        : { name: `${prefix}crm_lag_versions`, help: 'Change Tracking versions the CRM source is behind the database' };
      new Gauge({ ...units, registers: [registry], collect() { this.set(read().lagUnits ?? 0); } });
    },
    observeLogin(outcome) {
      logins.inc({ outcome });
    },
  };
}
