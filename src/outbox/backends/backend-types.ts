/**
 * What the outbox needs from a database, written once per dialect (postgres-backend.ts, mssql-backend.ts,
 * sqlite-backend.ts) so no other outbox file branches on the dialect. The shared knex forms (claim-in-steps.ts,
 * outbox-record.ts's recordWithKnex, event-rows.ts) are what a backend composes when its dialect needs nothing
 * of its own. test/outbox/ holds the conformance suite every backend must pass.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../../store/db.js';
import type { Queryable } from '../../store/row-mapping.js';
import type { SecretCodec } from '../../store/secret-codec.js';
import type { SignalledEvent } from '../../webhooks/types.js';
import type { Claim, ClaimRequest, ClaimResult, HoldRequest, RunRequest } from '../claim-types.js';
import type { EnqueueResult } from '../event-rows.js';
import type { AttemptRecord, RecordResult, TooManyErrorsHook } from '../outbox-record.js';
import type { ListenConnection } from '../outbox-notify.js';

export interface OutboxBackend {
  readonly dialect: Dialect;
  /** Only one worker process may claim (SQLite's single writer): the worker holds outbox-worker-lock.ts's lock. */
  readonly singleWorker: boolean;
  /**
   * SignalEvent's write: the Active webhooks subscribed to the event's name and, when there are any, the event and
   * one delivery each, all or nothing, in the cheapest form the dialect has; other processes' workers are told.
   */
  enqueueSignalled(k: Knex, event: SignalledEvent, now: number): Promise<EnqueueResult>;
  /** Claims due deliveries (claim-deliveries.ts has the rules every dialect implements). */
  claim(k: Knex, req: ClaimRequest): Promise<Claim[]>;
  /** Extends claimed heads into runs; the deliveries added, oldest first. */
  extendRuns(k: Knex, req: RunRequest): Promise<Claim[]>;
  /** Holds blocked due deliveries and releases stranded ones; how many were held. */
  hold(k: Knex, req: HoldRequest): Promise<number>;
  /** Hold (when given), claim, runs and the load of what is needed to send, in the fewest round trips the dialect allows. */
  claimAndLoad(k: Knex, req: ClaimRequest, hold: HoldRequest | undefined, secrets: SecretCodec): Promise<ClaimResult>;
  /** Records attempts in order, each fenced by its lease token (outbox-record.ts); one result per record. */
  record(q: Queryable, records: readonly AttemptRecord[], onTooManyErrors?: TooManyErrorsHook): Promise<RecordResult[]>;
  /** Wakes other processes' workers when q's transaction commits (nothing where workers poll). */
  notify(q: Queryable): Promise<void>;
  /** Where a worker listens for notify (null: the dialect has no such channel, workers poll). */
  listenConnection(k: Knex): ListenConnection | null;
  /**
   * The database server's clock, epoch ms: the time every worker on this database takes its lease and retry times
   * from (worker/outbox-clock.ts), so no process's clock step moves them. null where the database has no clock of
   * its own (SQLite's 'now' is this process's wall clock): the worker keeps a monotonic one.
   */
  readonly databaseTime: ((k: Knex) => Promise<number>) | null;
}
