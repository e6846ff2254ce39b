/**
 * Runs: one webhook's claimed deliveries (up to RUN_LENGTH, claim-deliveries.ts "Runs"), holding one slot, sent one
 * after another, the next only once the one before succeeded (per-webhook order). Each outcome is recorded in its
 * own short transaction fenced by the lease token (recording.ts), in order, while the run goes on sending. The rest
 * of a run is given back unsent (lease released, attempt not counted) when an attempt fails, when the worker stops,
 * when a recording found its lease gone, or when the lease would not outlast another attempt; it is deferred to the
 * host's retry time when its target host refuses admission (admission.ts). No transaction is open during an HTTP call.
 */
import type { Database } from '../../store/db.js';
import type { ClaimedDelivery } from '../claimed-delivery.js';
import { deferLeases, releaseLeases } from '../outbox-maintenance.js';
import { cancelOrphanedDeliveries } from '../outbox-repository.js';
import type { Sender } from '../send/sender.js';
import type { Admission } from './admission.js';
import type { DbRetry } from './db-retry.js';
import { attemptRecord, type AttemptOutcome, type QueuedRecord, type RecordBatch } from './recording.js';
import type { Clock, FinishedObserver, WorkerConfig, WorkerCounters, WorkerLogger } from './types.js';

/**
 * Deliveries of one webhook claimed in one round and sent one after another (claim-deliveries.ts, "Runs"). Bounded
 * so that a webhook's backlog comes back to the claim (and the other webhooks' turn) every so often; 16 cut the
 * claim rounds per delivery of a busy webhook to a small fraction (docs "Sustained load").
 */
const RUN_LENGTH = 16;
/** A run's next attempt starts only if deliveryTimeoutMs plus this much is left of the lease (as start() warns). */
const LEASE_MARGIN_MS = 5_000;

/** Runs only when the lease leaves room for at least two attempts that take the whole delivery timeout. */
export function runLengthFor(config: Pick<WorkerConfig, 'leaseMs' | 'deliveryTimeoutMs'>): number {
  return config.leaseMs - LEASE_MARGIN_MS >= 2 * config.deliveryTimeoutMs ? RUN_LENGTH : 1;
}

export interface Task {
  /** One webhook's claimed deliveries, oldest first (a run, claim-deliveries.ts); sent one after another. */
  run: ClaimedDelivery[];
  controller: AbortController;
  done: Promise<void>;
  /** Target host admitted by the gate ('' when nothing is sent: unreadable secret, not a webhook type). */
  host: string;
  /** When the run's lease ends (the worker's clock): no attempt of the run starts unless it can end well before. */
  leaseUntil: number;
  /** Attempts made (recorded or found stale). */
  attempted: number;
}

export interface Runs {
  /** Starts a run admitted to host; it holds a slot until it is done. */
  start(run: ClaimedDelivery[], host: string, leaseUntil: number): Task;
  /** Runs in flight. */
  count(): number;
  tasks(): Task[];
  /** Webhooks with a run in flight. */
  inFlightWebhooks(): number[];
  /** Each of these webhooks has a run in flight here, so nothing of theirs can be claimed now (false when none named). */
  allInFlight(webhookIds: readonly number[] | undefined): boolean;
}

export function createRuns(deps: {
  db: Database; config: WorkerConfig; logger: WorkerLogger; now: Clock; random: () => number;
  sender: Sender; admission: Admission; record: RecordBatch; retry: DbRetry; stats: WorkerCounters;
  /** stop() was called: runs give their unsent rest back. */
  stopping: () => boolean;
  /** Slots came free: claim again. */
  onSlotsFreed: () => void;
  onFinished?: FinishedObserver;
}): Runs {
  const { db, config, logger, now, sender, admission, retry, stats } = deps;
  const inFlight = new Map<number, Task>();
  /** Deliveries in flight per webhook id. */
  const inFlightHooks = new Map<number, number>();
  const refillAt = Math.max(1, Math.min(config.claimBatchSize, Math.floor(config.workerConcurrency / 4)));
  const policy = { config, random: deps.random };

  /** One attempt of c (the HTTP call, or nothing when it cannot be sent); null when stop() aborted it. */
  async function attempt(task: Task, c: ClaimedDelivery): Promise<{ outcome: AttemptOutcome; startedAt: number } | null> {
    const { controller, host } = task;
    const startedAt = now();
    let outcome: AttemptOutcome = null;
    if (c.secretError !== undefined) {
      // The reason names the missing key id, never the stored value.
      logger.error({ deliveryId: c.deliveryId, webhookId: c.webhookId, reason: c.secretError }, 'delivery not sent: webhook secret unreadable');
      outcome = 'secret_unreadable';
    } else if (c.hook.type.toLowerCase() === 'webhook') {
      const key = task.run[0].deliveryId;
      if (host) admission.sending(key);
      let timedOut = false;
      try {
        outcome = await sender.deliver({
          hook: c.hook, eventUuid: c.eventUuid, attemptNo: c.attemptNo, eventName: c.eventName, primaryKey: c.primaryKey,
          data: c.data, changedByAssociateId: c.changedByAssociateId, timestamp: c.timestamp, bodyParts: c.bodyParts, attemptAt: startedAt,
          signal: controller.signal,
        });
        timedOut = outcome.kind === 'failure' && outcome.errorClass === 'timeout';
      } finally {
        admission.sent(key, host, c.webhookId, timedOut && !controller.signal.aborted);
      }
    }
    // Shutdown cut the attempt short: give the delivery back rather than count an attempt we abandoned.
    return controller.signal.aborted ? null : { outcome, startedAt };
  }

  /**
   * Sends a run's deliveries one after another, each only once the one before succeeded. The recordings follow in
   * order without holding the next send back: those that queue up while one commits are recorded together in the
   * next transaction. The unsent rest is given back after them.
   */
  async function processRun(task: Task): Promise<void> {
    const { run, host } = task;
    const queued: QueuedRecord[] = [];
    let recording: Promise<void> | null = null;
    let lost = false;
    const recordQueued = async (): Promise<void> => {
      while (queued.length > 0) {
        if (!(await deps.record(queued.splice(0)))) lost = true;
      }
      recording = null;
    };
    let deferUntil: number | null = null;
    let leftPending = false;
    let next = 0;
    while (next < run.length) {
      const c = run[next];
      if (next > 0) {
        if (deps.stopping() || task.controller.signal.aborted || lost || now() + config.deliveryTimeoutMs + LEASE_MARGIN_MS > task.leaseUntil) break;
        if (host) {
          const admitted = admission.admitNext(host);
          if (!admitted.ok) {
            deferUntil = admitted.retryAt;
            break;
          }
        }
      }
      const sent = await attempt(task, c);
      if (sent === null) break; // given back below with the rest
      next++;
      task.attempted++;
      const record = attemptRecord(c, sent.outcome, sent.startedAt, now(), policy);
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
        await retry('deferring deliveries of a blocked target', () => deferLeases(db, rest.map((c) => ({ deliveryId: c.deliveryId, leaseToken: c.leaseToken, until }))));
      } else {
        await retry('giving back the rest of a run', () => releaseLeases(db, rest));
      }
    }
    // A run that left something pending (a retry, an unsent rest) may belong to a hook deleted while it was in
    // flight: DeleteWebhook left these deliveries to this worker, which recorded what reached the receiver; what is
    // left pending is cancelled now, since no claim takes deliveries of a webhook that is gone.
    if (rest.length > 0 || leftPending) {
      const n = await retry('cancelling the deliveries of a deleted webhook', () => cancelOrphanedDeliveries(db, run[0].webhookId, now()));
      if (n > 0) {
        deps.onFinished?.('cancelled', n);
        logger.info({ webhookId: run[0].webhookId, cancelled: n }, 'webhook deleted while a delivery was in flight: its outcome was recorded, its remaining deliveries cancelled');
      }
    }
  }

  function start(run: ClaimedDelivery[], host: string, leaseUntil: number): Task {
    const key = run[0].deliveryId;
    const webhookId = run[0].webhookId;
    const task: Task = { run, controller: new AbortController(), done: Promise.resolve(), host, leaseUntil, attempted: 0 };
    task.done = processRun(task)
      .catch((err) => logger.error({ err, deliveryId: key }, 'delivery run failed; its deliveries are retried when their lease runs out'))
      .finally(() => {
        admission.ended(key);
        inFlight.delete(key);
        const n = (inFlightHooks.get(webhookId) ?? 1) - 1;
        if (n > 0) inFlightHooks.set(webhookId, n);
        else inFlightHooks.delete(webhookId);
        stats.inFlight = inFlight.size;
        // A free slot, and possibly the next delivery of the same webhook: claim again once a few slots are free
        // (one claim per completion would cost a claim round trip per run) or at once when idle.
        if (inFlight.size === 0 || admission.freeSlots(inFlight.size) >= refillAt) deps.onSlotsFreed();
      });
    inFlight.set(key, task);
    inFlightHooks.set(webhookId, (inFlightHooks.get(webhookId) ?? 0) + 1);
    stats.inFlight = inFlight.size;
    return task;
  }

  return {
    start,
    count: () => inFlight.size,
    tasks: () => [...inFlight.values()],
    inFlightWebhooks: () => [...inFlightHooks.keys()],
    allInFlight: (webhookIds) =>
      webhookIds !== undefined && webhookIds.length > 0 && webhookIds.every((id) => inFlightHooks.has(id)),
  };
}
