/**
 * The delivery worker: claim due deliveries, send them in parallel, record each attempt, reschedule.
 *
 * Loop: claim up to min(free slots, claimBatchSize) webhooks' heads, each extended into a run of up to RUN_LENGTH
 * of that webhook's due deliveries (outbox/claim-deliveries.ts; a short transaction, with a lease and a fencing
 * token), start each run at once, and claim again as soon as a slot frees up, wake() is called (SignalEvent
 * committed, a hook was made Active), or pollIntervalMs passes. A run holds one slot and sends its deliveries one
 * after another, the next as soon as the one before succeeded; each outcome is recorded in its own short
 * transaction fenced by the lease token (outbox/outbox-record.ts), in order, while the run goes on sending. The rest
 * of a run is given back unsent (lease released, attempt not counted) when an attempt fails, when the worker stops,
 * when a recording found its lease gone, or when the lease would not outlast another attempt. Measured under sustained SignalEvent load (README "Sustained load"): one claim round per delivery of a
 * busy webhook, each waiting its turn on the event loop, could not keep pace; a run pays it once. No transaction is
 * open during an HTTP call.
 *
 * Outcomes (outbox/send/outcome.ts) map to:
 *   success         delivery succeeded; webhook_usage total_calls + 1, consecutive_errors = 0
 *   gone (410)      delivery failed_permanent; an error; the webhook becomes TooManyErrors at once
 *   retry_after     an error; next attempt after max(schedule, Retry-After)
 *   failure         an error; next attempt per outbox/send/retry-policy.ts (now, +1 s, +4 s, then backoff), or
 *   refused_target  expired (recorded) once the retry window is over
 *   (type not 'webhook', e.g. crmscript: failed_permanent, not counted as a call: this agent runs no CRMScript)
 * An error is one failed attempt in consecutive_errors; at maxConsecutiveErrors the webhook becomes
 * TooManyErrors, `webhook{id}.errors` is enqueued in the same transaction, and the Disabling e-mail goes out. The
 * attempt that takes consecutive_errors from 0 to 1 sends the FirstFailure e-mail when the hook asks for it
 * (outbox/error-mailer.ts has the rules).
 * Deliveries of a hook that is not Active stay pending and are not claimed ("parked"), then drain in order.
 * A hook whose stored secret the configured keys cannot decrypt (store/secret-codec.ts) is not sent to at all:
 * the attempt is recorded as secret_unreadable (not a call, not the hook's error) and retried on the usual
 * schedule, so deliveries resume once the operator configures the key.
 *
 * Crash safety: a worker that dies mid-send leaves its claims leased; after leaseMs they are due again and are
 * sent again with the same EventId (at-least-once; receivers deduplicate by EventId). stop() is the SIGTERM
 * path: no new claims, in-flight attempts get graceMs to finish, the rest are aborted and their leases released.
 *
 * Wake-ups from other processes: on PostgreSQL the worker holds one LISTEN connection of its own (not from the
 * pool) and claims when `NOTIFY wa_outbox` arrives, i.e. when another process's SignalEvent or state event commits
 * (outbox/outbox-notify.ts). It reconnects with backoff when that connection drops, and polling covers the gap.
 * SQLite (one worker process, woken in process) and SQL Server (no LISTEN/NOTIFY) rely on wake() and polling.
 *
 * Housekeeping (every housekeepingIntervalMs): retention expiry of old pending deliveries and pruning of old
 * attempts / finished deliveries / events, in small batches. On SQLite the worker holds the single-worker lock.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import { claimAndLoad } from './claim-deliveries.js';
import type { ClaimedDelivery } from './claimed-delivery.js';
import { cancelOrphanedDeliveries } from './outbox-repository.js';
import { errorNotice, type AttemptRecord, type DeliveryTransition, type RecordResult } from './outbox-record.js';
import { recordAttempts } from './record-attempt.js';
import { deferLeases, expireStaleDeliveries, pruneOutbox, releaseLeases, type PruneResult } from './outbox-maintenance.js';
import { createTargetGate, targetHost } from './send/target-gate.js';
import { acquireWorkerLock, heartbeatWorkerLock, releaseWorkerLock } from './outbox-worker-lock.js';
import { isDatabaseUnavailable, isTransactionConflict } from '../errors.js';
import { createSender, type Sender, type SenderConfig } from './send/sender.js';
import { nextAttempt } from './send/retry-policy.js';
import { createErrorMailer, firstFailureError, type ErrorMailer } from './error-mailer.js';
import { fireStateEvent } from './state-event.js';
import type { DeliveryOutcome } from './send/outcome.js';
import type { Resolve } from './send/target-guard.js';
import { firstLine, logAttempt, type AttemptObserver, type AttemptReport } from './attempt-report.js';
import { secretCodecFor, type SecretCodec } from '../store/secret-codec.js';
import { listenForOutbox, type OutboxListener } from './outbox-notify.js';
import { listenConnectionOf, outboxBackend } from './outbox-backend.js';

export type Clock = () => number;

export type WorkerConfig = SenderConfig & Pick<Config,
  'workerConcurrency' | 'hostConcurrency' | 'slowAttemptMs' | 'maxSlowInFlight' | 'circuitTimeouts' | 'circuitCooldownMs' |
  'claimBatchSize' | 'leaseMs' | 'pollIntervalMs' | 'maxConsecutiveErrors' | 'retryBaseMs' |
  'retryMaxDelayMs' | 'retryMaxAgeMs' | 'retentionMs' | 'shutdownGraceMs' | 'smtpUrl' | 'smtpFrom' | 'secretKey' | 'secretOldKeys'>;

export type WorkerLogger = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;

export interface WorkerOptions {
  db: Database;
  config: WorkerConfig;
  logger: WorkerLogger;
  /** Epoch ms; tests pass a controllable clock to check the retry schedule. */
  clock?: Clock;
  /** Target name resolution (the SSRF guard checks what it returns). */
  lookup?: Resolve;
  /** [0, 1) for backoff jitter. */
  random?: () => number;
  /** How webhook secrets are stored; default: built from config.secretKey / secretOldKeys. */
  secrets?: SecretCodec;
  /** Overrides the SMTP mailer built from smtpUrl (null: no e-mail). */
  mailer?: ErrorMailer | null;
  housekeepingIntervalMs?: number;
  /** SQLite single-worker lock timing. */
  sqliteLock?: { staleMs?: number; heartbeatMs?: number };
  /**
   * PostgreSQL only: LISTEN for `NOTIFY wa_outbox` on a dedicated connection (default true; false: poll only).
   * The object form sets the reconnect backoff and the liveness probe interval.
   */
  listen?: boolean | { retryMinMs?: number; retryMaxMs?: number; probeIntervalMs?: number };
  /** Told of every recorded attempt (metrics); the log lines are written anyway. */
  onAttempt?: AttemptObserver;
}

export interface WorkerStats {
  /** Claim rounds run (each a database round trip), whether or not they found work. */
  claimRounds: number;
  claimed: number;
  succeeded: number;
  failed: number;
  /** Outcomes that found their lease gone (nothing recorded). */
  stale: number;
  inFlight: number;
  /** `NOTIFY wa_outbox` received on the LISTEN connection (PostgreSQL). */
  notifications: number;
  /** Wake-ups and notifications that started no claim: every webhook they named has a delivery in flight here. */
  wakesSkipped: number;
  /** Claimed deliveries given back unsent because their target host was at its cap or its circuit open. */
  deferred: number;
  /** Target hosts whose circuit is open (or half-open) in this worker. */
  circuitsOpen: number;
}

export interface Worker {
  /** Starts the loop (and, on SQLite, takes the single-worker lock or throws AppError 'conflict'). */
  start(): Promise<void>;
  /** Stops claiming; in-flight attempts get graceMs (default shutdownGraceMs), then are aborted and released. */
  stop(opts?: { graceMs?: number }): Promise<void>;
  /**
   * Claim now instead of at the next poll (after SignalEvent commits). With the webhooks that got the new
   * deliveries, nothing happens when each of them has a delivery in flight here: the claim rule lets no younger
   * delivery of a webhook pass an older one in flight, and finishing that one claims again. Under a steady stream
   * of SignalEvents to a few webhooks this spares a claim per event that could take nothing.
   */
  wake(webhookIds?: readonly number[]): void;
  /** Claims one batch (up to the free slots) and waits until its runs are done; returns the attempts made. For tests and tools. */
  runOnce(): Promise<number>;
  /** runOnce until nothing is due at the clock's current time. */
  drain(): Promise<number>;
  /** Retention: expire old pending deliveries, prune old attempts, finished deliveries and events. */
  housekeeping(): Promise<{ expired: number } & PruneResult>;
  stats(): WorkerStats;
}

interface Task {
  /** One webhook's claimed deliveries, oldest first (a run, claim-deliveries.ts); sent one after another. */
  run: ClaimedDelivery[];
  controller: AbortController;
  done: Promise<void>;
  /** Target host admitted by the gate ('' when nothing is sent: unreadable secret, not a webhook type). */
  host: string;
  slowTimer?: NodeJS.Timeout;
  /** When the run's lease ends (the worker's clock): no attempt of the run starts unless it can end well before. */
  leaseUntil: number;
  /** Attempts made (recorded or found stale). */
  attempted: number;
}

/** How often a claim round also holds blocked deliveries, and how many per round (claim-deliveries.ts). */
const HOLD_INTERVAL_MS = 200;
const HOLD_BATCH = 500;
/** Only deliveries blocked for longer than this are held (claim-deliveries.ts). */
const HOLD_AFTER_MS = 250;
/** Bounds of the noisy-neighbour bookkeeping: webhook -> host entries kept, webhook ids put in one claim's skip list. */
const MAX_KNOWN_WEBHOOKS = 10_000;
const MAX_SKIPPED_WEBHOOKS = 500;
/**
 * Deliveries of one webhook claimed in one round and sent one after another (claim-deliveries.ts, "Runs"). Bounded
 * so that a webhook's backlog comes back to the claim (and the other webhooks' turn) every so often; 16 cut the
 * claim rounds per delivery of a busy webhook to a small fraction (README "Sustained load").
 */
const RUN_LENGTH = 16;
/** A run's next attempt starts only if deliveryTimeoutMs plus this much is left of the lease (as start() warns). */
const LEASE_MARGIN_MS = 5_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createWorker(opts: WorkerOptions): Worker {
  const { db, config, logger } = opts;
  const now = opts.clock ?? Date.now;
  const random = opts.random ?? Math.random;
  const sender: Sender = createSender({ config, lookup: opts.lookup, now });
  const mailer = opts.mailer !== undefined ? opts.mailer : createErrorMailer(config);
  const secrets = opts.secrets ?? secretCodecFor(config);
  const owner = randomUUID();
  const housekeepingIntervalMs = opts.housekeepingIntervalMs ?? 60_000;
  const lockStaleMs = opts.sqliteLock?.staleMs ?? 30_000;
  const lockHeartbeatMs = opts.sqliteLock?.heartbeatMs ?? 5_000;

  let lastHoldAt = -Infinity;
  let holdPending = false;
  const refillAt = Math.max(1, Math.min(config.claimBatchSize, Math.floor(config.workerConcurrency / 4)));
  // Runs only when the lease leaves room for at least two attempts that take the whole delivery timeout.
  const runLength = config.leaseMs - LEASE_MARGIN_MS >= 2 * config.deliveryTimeoutMs ? RUN_LENGTH : 1;
  const inFlight = new Map<number, Task>();
  /** Deliveries in flight per webhook id. */
  const inFlightHooks = new Map<number, number>();
  // Noisy neighbours (target-gate.ts): attempts past slowAttemptMs stop holding a slot (up to maxSlowInFlight), a
  // host has at most hostConcurrency in flight, and a host that keeps timing out has its circuit opened. Webhooks
  // of blocked hosts are left out of the claim, so the claim's slots go to the others.
  const gate = createTargetGate({ hostConcurrency: config.hostConcurrency, circuitTimeouts: config.circuitTimeouts,
    circuitCooldownMs: config.circuitCooldownMs, now });
  const slow = new Set<number>();
  const hostOfWebhook = new Map<number, string>();
  let lastClaimed = 0;
  const freeSlots = () => config.workerConcurrency - (inFlight.size - Math.min(slow.size, config.maxSlowInFlight));
  const stats: Omit<WorkerStats, 'circuitsOpen'> = { claimRounds: 0, claimed: 0, succeeded: 0, failed: 0, stale: 0, inFlight: 0, notifications: 0, wakesSkipped: 0, deferred: 0 };
  let running = false;
  /** stop() was called: runs give their unsent rest back. */
  let stopping = false;
  let holdsLock = false;
  let listener: OutboxListener | null = null;
  let loopDone: Promise<void> = Promise.resolve();
  let signalled = false;
  let waiter: (() => void) | null = null;
  const timers: NodeJS.Timeout[] = [];

  /** Each of these webhooks has a run in flight here, so nothing of theirs can be claimed now (false when none named). */
  const allInFlight = (webhookIds: readonly number[] | undefined): boolean =>
    webhookIds !== undefined && webhookIds.length > 0 && webhookIds.every((id) => inFlightHooks.has(id));
  /** A wake-up (in-process, or a notification) with the webhooks that got deliveries: claim unless none could pass. */
  function wakeFor(webhookIds?: readonly number[]): void {
    if (allInFlight(webhookIds)) stats.wakesSkipped++;
    else poke();
  }

  function poke(): void {
    signalled = true;
    const w = waiter;
    waiter = null;
    w?.();
  }

  function waitForSignal(ms: number): Promise<void> {
    if (signalled) {
      signalled = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiter = null;
        resolve();
      }, ms);
      waiter = () => {
        clearTimeout(timer);
        signalled = false;
        resolve();
      };
    });
  }

  function recordFor(c: ClaimedDelivery, outcome: DeliveryOutcome | null | 'secret_unreadable', startedAt: number, at: number): AttemptRecord {
    const base = { deliveryId: c.deliveryId, leaseToken: c.leaseToken, webhookId: c.webhookId, attemptNo: c.attemptNo, startedAt,
      maxConsecutiveErrors: config.maxConsecutiveErrors, now: at };
    if (outcome === null) {
      return { ...base, durationMs: 0, httpStatus: null, outcome: 'unsupported', errorClass: 'other',
        report: `Webhook type '${c.hook.type}' is not delivered by this agent (only 'webhook')`, usage: 'none',
        transition: { status: 'failed_permanent' }, disableHook: false };
    }
    if (outcome === 'secret_unreadable') {
      const decision = nextAttempt({ attemptNo: c.attemptNo, nowMs: at, createdMs: c.created, config, random, retryAfterMs: null });
      return { ...base, durationMs: 0, httpStatus: null, outcome, errorClass: 'other', usage: 'none', disableHook: false,
        report: `Not sent: ${c.secretError ?? 'the webhook secret cannot be decrypted'}`,
        transition: decision.retry ? { status: 'pending', nextAttemptAt: decision.nextAttemptAt } : { status: 'expired', note: decision.reason } };
    }
    const httpStatus = 'status' in outcome && outcome.status !== undefined ? outcome.status : null;
    const common = { ...base, durationMs: outcome.durationMs, httpStatus, outcome: outcome.kind, report: outcome.report };
    if (outcome.kind === 'success') {
      return { ...common, errorClass: null, usage: 'success', transition: { status: 'succeeded' }, disableHook: false };
    }
    if (outcome.kind === 'gone') {
      return { ...common, errorClass: outcome.errorClass, usage: 'error', disableHook: true,
        transition: { status: 'failed_permanent', note: 'failed permanently: the target answered 410 Gone' } };
    }
    const decision = nextAttempt({
      attemptNo: c.attemptNo, nowMs: at, createdMs: c.created, config, random,
      retryAfterMs: outcome.kind === 'retry_after' ? outcome.retryAfterMs : null,
    });
    const transition: DeliveryTransition = decision.retry
      ? { status: 'pending', nextAttemptAt: decision.nextAttemptAt }
      : { status: 'expired', note: decision.reason };
    return { ...common, errorClass: outcome.errorClass, usage: 'error', transition, disableHook: false };
  }

  async function withDbRetry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        // A lost connection or a deadlock should not cost a whole lease period; other errors are bugs to surface.
        if (i >= 4 || !(isDatabaseUnavailable(err) || isTransactionConflict(err))) throw err;
        logger.warn({ err, attempt: i + 1 }, `${what}: transient database error, retrying`);
        await sleep(200 * 2 ** i);
      }
    }
  }

  /**
   * The FirstFailure and Disabling e-mails (rules in error-mailer.ts), after the attempt's transaction committed.
   * Best effort: a failure is logged, nothing is retried.
   */
  async function notifyFailure(c: ClaimedDelivery, record: AttemptRecord, becameTooManyErrors: boolean, firstFailure: boolean): Promise<void> {
    if (!mailer) return;
    try {
      const notice = await errorNotice(db, c.webhookId);
      if (!notice) return;
      const disabling = becameTooManyErrors ? notice.recipients : [];
      if (disabling.length > 0) {
        const reason = record.outcome === 'gone'
          ? 'the target answered 410 Gone'
          : `${notice.consecutiveErrors} delivery attempts in a row failed`;
        await mailer.sendErrorNotice(notice, reason);
        logger.info({ webhookId: c.webhookId, recipients: disabling.length }, 'error e-mail sent (TooManyErrors)');
      }
      const taken = new Set(disabling.map((a) => a.toLowerCase()));
      const first = firstFailure ? notice.firstFailureRecipients.filter((a) => !taken.has(a.toLowerCase())) : [];
      if (first.length > 0) {
        await mailer.sendFirstFailureNotice({
          webhookId: c.webhookId, name: notice.name, eventName: c.eventName, eventId: c.eventUuid, attemptNo: c.attemptNo,
          error: firstFailureError(record.httpStatus, record.errorClass, record.report),
          maxConsecutiveErrors: config.maxConsecutiveErrors, recipients: first,
        });
        logger.info({ webhookId: c.webhookId, recipients: first.length }, 'error e-mail sent (first failure)');
      }
    } catch (err) {
      logger.error({ err, webhookId: c.webhookId }, 'error e-mail could not be sent');
    }
  }

  /** The log line(s) of an attempt and the observer (metrics): outbox/attempt-report.ts. */
  function report(c: ClaimedDelivery, record: AttemptRecord, result: { consecutiveErrors: number; becameTooManyErrors: boolean }): void {
    const t = record.transition;
    const r: AttemptReport = {
      deliveryId: c.deliveryId, webhookId: c.webhookId, webhookName: c.hook.name, eventName: c.eventName, eventId: c.eventUuid,
      attemptNo: c.attemptNo, outcome: record.outcome, httpStatus: record.httpStatus, errorClass: record.errorClass,
      error: record.outcome === 'success' ? null : firstLine(record.report), durationMs: record.durationMs, next: t.status,
      nextAttemptAt: t.status === 'pending' ? t.nextAttemptAt : null, queuedAt: c.created, answeredAt: record.startedAt + record.durationMs, ...result,
    };
    logAttempt(logger, r);
    opts.onAttempt?.(r);
  }

  /** One attempt of c (the HTTP call, or nothing when it cannot be sent); null when stop() aborted it. */
  async function attempt(task: Task, c: ClaimedDelivery): Promise<{ outcome: DeliveryOutcome | null | 'secret_unreadable'; startedAt: number } | null> {
    const { controller, host } = task;
    const startedAt = now();
    let outcome: DeliveryOutcome | null | 'secret_unreadable' = null;
    if (c.secretError !== undefined) {
      // The reason names the missing key id, never the stored value.
      logger.error({ deliveryId: c.deliveryId, webhookId: c.webhookId, reason: c.secretError }, 'delivery not sent: webhook secret unreadable');
      outcome = 'secret_unreadable';
    } else if (c.hook.type.toLowerCase() === 'webhook') {
      const key = task.run[0].deliveryId;
      if (host) {
        task.slowTimer = setTimeout(() => {
          slow.add(key);
          if (slow.size <= config.maxSlowInFlight) poke(); // a slot was given back
        }, config.slowAttemptMs);
        task.slowTimer.unref();
      }
      let timedOut = false;
      try {
        outcome = await sender.deliver({
          hook: c.hook, eventUuid: c.eventUuid, attemptNo: c.attemptNo, eventName: c.eventName, primaryKey: c.primaryKey,
          data: c.data, changedByAssociateId: c.changedByAssociateId, timestamp: c.timestamp, signal: controller.signal,
        });
        timedOut = outcome.kind === 'failure' && outcome.errorClass === 'timeout';
      } finally {
        // A slow attempt gave its slot back while it lasted; the run's next attempt takes it again.
        clearTimeout(task.slowTimer);
        slow.delete(key);
        if (host) {
          const openBefore = gate.state(host).openUntil;
          gate.done(host, { timedOut: timedOut && !controller.signal.aborted });
          const openUntil = gate.state(host).openUntil;
          if (openUntil !== null && openUntil !== openBefore) {
            logger.warn({ host, webhookId: c.webhookId, retryAt: new Date(openUntil).toISOString() },
              'target keeps timing out: circuit open, its deliveries are held back until then');
          }
        }
      }
    }
    // Shutdown cut the attempt short: give the delivery back rather than count an attempt we abandoned.
    return controller.signal.aborted ? null : { outcome, startedAt };
  }

  /** After an attempt was recorded (or found its lease gone): stats, log line, observer, e-mails. false: lease gone. */
  async function recorded(c: ClaimedDelivery, record: AttemptRecord, result: RecordResult): Promise<boolean> {
    if (!result.recorded) {
      stats.stale++;
      logger.warn({ deliveryId: c.deliveryId, webhookId: c.webhookId }, 'lease lost before the outcome was recorded; not recorded');
      return false;
    }
    if (record.usage === 'success') stats.succeeded++;
    else stats.failed++;
    report(c, record, result);
    // consecutive_errors was incremented in the committed transaction: only one attempt sees it reach 1.
    const firstFailure = record.usage === 'error' && result.consecutiveErrors === 1;
    if (result.becameTooManyErrors || firstFailure) await notifyFailure(c, record, result.becameTooManyErrors, firstFailure);
    return true;
  }

  /**
   * Sends a run's deliveries one after another, each only once the one before succeeded (per-webhook order). The
   * recordings follow in order without holding the next send back: those that queue up while one commits are
   * recorded together in the next transaction. The unsent rest is given back after them.
   */
  async function processRun(task: Task): Promise<void> {
    const { run, host } = task;
    const queued: Array<{ c: ClaimedDelivery; record: AttemptRecord }> = [];
    let recording: Promise<void> | null = null;
    let lost = false;
    const recordQueued = async (): Promise<void> => {
      while (queued.length > 0) {
        const batch = queued.splice(0);
        try {
          const results = await withDbRetry('recording an attempt', () => recordAttempts(db, batch.map((b) => b.record), async (trx, webhookId) => {
            await fireStateEvent(trx, webhookId, 'errors', { now: now() });
          }));
          for (const [i, b] of batch.entries()) if (!(await recorded(b.c, b.record, results[i]))) lost = true;
        } catch (err) {
          lost = true;
          logger.error({ err, deliveryIds: batch.map((b) => b.c.deliveryId) }, 'delivery attempt could not be recorded; it is retried when its lease runs out');
        }
      }
      recording = null;
    };
    let deferUntil: number | null = null;
    let leftPending = false;
    let next = 0;
    while (next < run.length) {
      const c = run[next];
      if (next > 0) {
        if (stopping || task.controller.signal.aborted || lost || now() + config.deliveryTimeoutMs + LEASE_MARGIN_MS > task.leaseUntil) break;
        if (host) {
          const admission = gate.admit(host);
          if (!admission.ok) {
            deferUntil = admission.retryAt;
            break;
          }
        }
      }
      const sent = await attempt(task, c);
      if (sent === null) break; // given back below with the rest
      next++;
      task.attempted++;
      const record = recordFor(c, sent.outcome, sent.startedAt, now());
      queued.push({ c, record });
      if (record.transition.status === 'pending') leftPending = true;
      recording ??= recordQueued();
      // Only a success lets the next one go (a type this agent does not send says nothing about the target).
      if (record.transition.status !== 'succeeded' && record.outcome !== 'unsupported') break;
    }
    const rest = run.slice(next);
    while (recording) await recording;
    if (rest.length > 0) {
      if (deferUntil !== null) {
        const until = deferUntil;
        stats.deferred += rest.length;
        await withDbRetry('deferring deliveries of a blocked target', () => deferLeases(db, rest.map((c) => ({ deliveryId: c.deliveryId, leaseToken: c.leaseToken, until }))));
      } else {
        await withDbRetry('giving back the rest of a run', () => releaseLeases(db, rest));
      }
    }
    // A run that left something pending (a retry, an unsent rest) may belong to a hook deleted while it was in
    // flight: DeleteWebhook left these deliveries to this worker, which recorded what reached the receiver; what is
    // left pending is cancelled now, since no claim takes deliveries of a webhook that is gone.
    if (rest.length > 0 || leftPending) {
      const n = await withDbRetry('cancelling the deliveries of a deleted webhook', () => cancelOrphanedDeliveries(db, run[0].webhookId, now()));
      if (n > 0) logger.info({ webhookId: run[0].webhookId, cancelled: n }, 'webhook deleted while a delivery was in flight: its outcome was recorded, its remaining deliveries cancelled');
    }
  }

  function startTask(run: ClaimedDelivery[], host: string, leaseUntil: number): Task {
    const key = run[0].deliveryId;
    const webhookId = run[0].webhookId;
    const task: Task = { run, controller: new AbortController(), done: Promise.resolve(), host, leaseUntil, attempted: 0 };
    task.done = processRun(task)
      .catch((err) => logger.error({ err, deliveryId: key }, 'delivery run failed; its deliveries are retried when their lease runs out'))
      .finally(() => {
        clearTimeout(task.slowTimer);
        slow.delete(key);
        inFlight.delete(key);
        const n = (inFlightHooks.get(webhookId) ?? 1) - 1;
        if (n > 0) inFlightHooks.set(webhookId, n);
        else inFlightHooks.delete(webhookId);
        stats.inFlight = inFlight.size;
        // A free slot, and possibly the next delivery of the same webhook: claim again once a few slots are free
        // (one claim per completion would cost a claim round trip per run) or at once when idle.
        if (inFlight.size === 0 || freeSlots() >= refillAt) poke();
      });
    inFlight.set(key, task);
    inFlightHooks.set(webhookId, (inFlightHooks.get(webhookId) ?? 0) + 1);
    stats.inFlight = inFlight.size;
    return task;
  }

  async function claimAndStart(limit: number): Promise<Task[]> {
    const token = randomUUID();
    const at = now();
    // Hold blocked deliveries now and then (claim-deliveries.ts), at once again while a backlog is being held.
    const wall = performance.now();
    const hold = holdPending || wall - lastHoldAt >= HOLD_INTERVAL_MS
      ? { now: at, holdUntil: at + config.leaseMs, limit: HOLD_BATCH, dueBefore: at - HOLD_AFTER_MS }
      : undefined;
    if (hold) lastHoldAt = wall;
    const blockedHosts = gate.blocked();
    const skipWebhookIds: number[] = [];
    if (blockedHosts.size > 0) {
      for (const [webhookId, host] of hostOfWebhook) {
        if (blockedHosts.has(host)) skipWebhookIds.push(webhookId);
        if (skipWebhookIds.length >= MAX_SKIPPED_WEBHOOKS) break;
      }
    }
    const { deliveries, held } = await claimAndLoad(db, { now: at, leaseMs: config.leaseMs, limit, token, skipWebhookIds, runLength },
      hold, { secrets });
    holdPending = held >= HOLD_BATCH;
    stats.claimRounds++;
    stats.claimed += deliveries.length;
    // One run per webhook (a claim takes at most one head per webhook), oldest delivery first.
    const runs = new Map<number, ClaimedDelivery[]>();
    for (const c of deliveries) {
      const run = runs.get(c.webhookId);
      if (run) run.push(c);
      else runs.set(c.webhookId, [c]);
    }
    lastClaimed = runs.size;
    const started: Task[] = [];
    const deferred: Array<{ deliveryId: number; leaseToken: string; until: number }> = [];
    for (const run of runs.values()) {
      const c = run[0];
      const sends = c.secretError === undefined && c.hook.type.toLowerCase() === 'webhook';
      const host = sends ? targetHost(c.hook.targetUrl) : '';
      if (host) {
        if (hostOfWebhook.size >= MAX_KNOWN_WEBHOOKS && !hostOfWebhook.has(c.webhookId)) hostOfWebhook.clear();
        hostOfWebhook.set(c.webhookId, host);
        const admission = gate.admit(host);
        if (!admission.ok) {
          for (const d of run) deferred.push({ deliveryId: d.deliveryId, leaseToken: d.leaseToken, until: admission.retryAt });
          continue;
        }
      }
      started.push(startTask(run, host, at + config.leaseMs));
    }
    if (deferred.length > 0) {
      stats.deferred += deferred.length;
      await withDbRetry('deferring deliveries of a blocked target', () => deferLeases(db, deferred));
    }
    return started;
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (running) {
      const free = freeSlots();
      let limit = 0;
      let started = 0;
      if (free > 0) {
        limit = Math.min(free, config.claimBatchSize);
        try {
          await claimAndStart(limit);
          started = lastClaimed;
          failures = 0;
        } catch (err) {
          failures++;
          const delay = Math.min(30_000, config.pollIntervalMs * 2 ** Math.min(failures, 6));
          logger.error({ err, retryInMs: delay }, 'claiming deliveries failed');
          await waitForSignal(delay);
          continue;
        }
      }
      // A full batch means more may be due: claim again at once while there is room.
      if (running && started === limit && limit > 0 && freeSlots() > 0) continue;
      if (running) await waitForSignal(config.pollIntervalMs);
    }
  }

  async function runOnce(): Promise<number> {
    const free = freeSlots();
    if (free <= 0) return 0;
    const tasks = await claimAndStart(Math.min(free, config.claimBatchSize));
    await Promise.all(tasks.map((t) => t.done));
    return tasks.reduce((n, t) => n + t.attempted, 0);
  }

  async function housekeeping(): Promise<{ expired: number } & PruneResult> {
    const at = now();
    const expired = await expireStaleDeliveries(db, { now: at, retentionMs: config.retentionMs });
    const pruned = await pruneOutbox(db, { now: at, retentionMs: config.retentionMs });
    if (expired || pruned.attempts || pruned.deliveries || pruned.events) logger.info({ expired, ...pruned }, 'outbox housekeeping');
    return { expired, ...pruned };
  }

  return {
    async start() {
      if (running) return;
      if (config.leaseMs < config.deliveryTimeoutMs + 5_000) {
        logger.warn({ leaseMs: config.leaseMs, deliveryTimeoutMs: config.deliveryTimeoutMs },
          'leaseMs should exceed deliveryTimeoutMs by a margin, or a slow attempt may be sent twice');
      }
      if (outboxBackend(db).singleWorker) {
        // Wall-clock time, not the injectable clock: other processes compare the heartbeat with theirs.
        await acquireWorkerLock(db, { owner, now: Date.now(), staleMs: lockStaleMs });
        holdsLock = true;
        const hb = setInterval(() => {
          heartbeatWorkerLock(db, owner, Date.now()).then((ours) => {
            if (!ours && running) {
              logger.error('the SQLite worker lock was taken over by another process; this worker stops claiming');
              running = false;
              poke();
            }
          }, (err) => logger.warn({ err }, 'worker lock heartbeat failed'));
        }, lockHeartbeatMs);
        hb.unref();
        timers.push(hb);
      }
      const hk = setInterval(() => {
        housekeeping().catch((err) => logger.warn({ err }, 'outbox housekeeping failed'));
      }, housekeepingIntervalMs);
      hk.unref();
      timers.push(hk);
      const listenConnection = opts.listen === false ? null : listenConnectionOf(db);
      if (listenConnection) {
        const tuning = typeof opts.listen === 'object' ? opts.listen : {};
        listener = listenForOutbox({
          connection: listenConnection, logger, ...tuning,
          onNotify: (webhookIds) => {
            stats.notifications++;
            // Named webhooks that each have a delivery in flight here: no claim could take anything (see wake()).
            wakeFor(webhookIds);
          },
          onListening: poke,
        });
        // Listening before the first claim: nothing committed after that claim can be missed.
        await listener.ready;
      }
      running = true;
      stopping = false;
      signalled = true; // claim at once: work may have been waiting while no worker ran
      loopDone = loop();
      logger.info({ concurrency: config.workerConcurrency, dialect: db.dialect }, 'delivery worker started');
    },

    async stop(o = {}) {
      const wasRunning = running;
      running = false;
      stopping = true;
      poke();
      const closing = listener?.close();
      listener = null;
      await loopDone;
      await closing;
      const graceMs = o.graceMs ?? config.shutdownGraceMs;
      if (inFlight.size > 0) {
        const pending = [...inFlight.values()].map((t) => t.done);
        let graceTimer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.all(pending), new Promise<void>((r) => { graceTimer = setTimeout(r, graceMs); })]);
        clearTimeout(graceTimer);
      }
      const cut = [...inFlight.values()];
      for (const t of cut) t.controller.abort();
      await Promise.all(cut.map((t) => t.done));
      for (const t of timers.splice(0)) clearInterval(t);
      sender.close();
      mailer?.close();
      if (holdsLock) {
        holdsLock = false;
        await releaseWorkerLock(db, owner).catch((err) => logger.warn({ err }, 'could not release the SQLite worker lock'));
      }
      if (wasRunning) logger.info({ released: cut.length }, 'delivery worker stopped');
    },

    wake: wakeFor,
    runOnce,
    async drain() {
      let total = 0;
      for (;;) {
        const n = await runOnce();
        if (n === 0) return total;
        total += n;
      }
    },
    housekeeping,
    stats: () => ({ ...stats, circuitsOpen: gate.openCircuits() }),
  };
}
