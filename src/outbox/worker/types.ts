/** The worker's public types (worker.ts builds it) and what its parts share. */
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Database } from '../../store/db.js';
import type { SecretCodec } from '../../store/secret-codec.js';
import type { AttemptObserver } from '../attempt-report.js';
import type { ErrorMailer } from '../error-mailer.js';
import type { SenderConfig } from '../send/sender.js';
import type { Resolve } from '../send/target-guard.js';

export type Clock = () => number;

/** This process's clocks: wall (epoch ms, Date.now) and monotonic (ms from any origin, performance.now). */
export interface ProcessClock {
  wall: () => number;
  monotonic: () => number;
}

export type WorkerConfig = SenderConfig & Pick<Config,
  'workerConcurrency' | 'hostConcurrency' | 'slowAttemptMs' | 'maxSlowInFlight' | 'circuitTimeouts' | 'circuitCooldownMs' |
  'claimBatchSize' | 'leaseMs' | 'pollIntervalMs' | 'maxConsecutiveErrors' | 'retryBaseMs' |
  'retryMaxDelayMs' | 'retryMaxAgeMs' | 'retentionMs' | 'idempotencyKeyTtlMs' | 'shutdownGraceMs' | 'smtpUrl' | 'smtpFrom' | 'secretKey' | 'secretOldKeys'>;

export type WorkerLogger = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;

export interface WorkerOptions {
  db: Database;
  config: WorkerConfig;
  logger: WorkerLogger;
  /**
   * Epoch ms for lease and retry times, replacing the outbox clock (outbox-clock.ts: the database's clock, or a
   * monotonic one on SQLite) and the sender's; tests pass a controllable clock to drive the retry schedule.
   */
  clock?: Clock;
  /** This process's wall and monotonic clocks, which the outbox clock is built from (tests step the wall clock). */
  processClock?: ProcessClock;
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
  /** Told of deliveries finished without an attempt (metrics): expired by retention, cancelled (their webhook is gone). */
  onFinished?: FinishedObserver;
}

export type FinishedObserver = (status: 'expired' | 'cancelled', count: number) => void;

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

/** The counters the parts keep (circuitsOpen is read from the gate when stats() is asked). */
export type WorkerCounters = Omit<WorkerStats, 'circuitsOpen'>;

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
  /**
   * Maintenance: expire old pending deliveries, cancel pending deliveries of deleted webhooks, prune old attempts,
   * finished deliveries and events.
   */
  housekeeping(): Promise<{ expired: number; cancelled: number; attempts: number; deliveries: number; events: number }>;
  stats(): WorkerStats;
}
