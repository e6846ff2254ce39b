/**
 * Claiming due deliveries: the dialect seam. knex cannot express a safe concurrent claim (its forUpdate is a
 * no-op on SQLite and only UPDLOCK on SQL Server, skipLocked throws there), so each dialect has its own SQL:
 *   PostgreSQL  claim-pg.ts      CTE ... FOR UPDATE SKIP LOCKED, then UPDATE ... RETURNING
 *   SQL Server  claim-mssql.ts   CTE WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK), UPDATE ... OUTPUT
 *   SQLite      claim-sqlite.ts  one UPDATE ... RETURNING inside BEGIN IMMEDIATE (single writer)
 *
 * What every dialect claims (the same predicate, written three times):
 * - status 'pending', due (next_attempt_at <= now), no live lease (lease_until null or past);
 * - the webhook is Active (state 1): deliveries of Stopped / TooManyErrors hooks stay parked, in place;
 * - per-webhook order: not while an older pending delivery of the same webhook is due, in flight or held (a
 *   claimed delivery keeps next_attempt_at <= now, so "due" covers "in flight"; held is explained below). So a
 *   webhook has at most one delivery in flight, and a webhook made Active again drains its parked deliveries
 *   oldest first. An older delivery that failed and waits for its retry does not hold the younger ones back
 *   (NetServer: "sent to the back of the queue").
 * - ordered by (next_attempt_at, delivery_id), the order of index ix_wa_delivery_claim.
 * The claim sets lease_until = now + leaseMs, a fresh lease_token (the fencing token every later write must
 * match) and counts the attempt (attempt_count + 1, which becomes this attempt's number). The transaction ends
 * with the statement: nothing stays open while the HTTP call runs.
 *
 * Holding, so a backlog does not make every claim slower: a delivery blocked by the order rule would otherwise
 * stay in the due range and be looked at (and passed over) by every claim; with 10,000 of them behind one
 * in-flight delivery a PostgreSQL claim took 80 ms. holdBlockedDeliveries moves such deliveries out of the due
 * range (next_attempt_at = holdUntil, held = 1; a held delivery still blocks the younger ones, so they are held
 * too), and recording an attempt releases the oldest held delivery of that
 * webhook (next_attempt_at = now, held = 0; outbox/outbox-record.ts), so a backlog drains one claim per delivery,
 * without rescans. Holding only changes when a delivery is looked at, never the order (the rule above decides
 * that). With several workers a release can miss a hold that commits just after it (the release's statement did
 * not see it), so every hold round also releases the oldest held delivery of each webhook that has nothing older
 * due, in flight or held ("stranded"); a release lost to a crash is repaired the same way, and at the latest the
 * hold period ends. The head of a parked (not Active) webhook is not blocked and is not held, so a webhook made
 * Active again starts draining at once. The worker holds only deliveries due for a while (HoldRequest.dueBefore):
 * one blocked for a moment behind a run in flight goes out with the next run anyway, and holding it raced with
 * that run's recordings on PostgreSQL (a hold committing just after the release it needed stranded the delivery
 * until the next repair, hundreds of ms later, for about 1 in 100 deliveries under sustained load).
 *
 * Runs, so a busy webhook does not pay a claim round per delivery: a claim round may extend each delivery it took
 * (the webhook's head) into a run, the webhook's next pending deliveries that are due or held, oldest first, up to
 * runLength in all, under the same lease token, each with its attempt counted (claim-*.ts RunSql). A run stops
 * before the first delivery of the webhook that is leased (in flight elsewhere), so nothing passes an older
 * delivery in flight. Its deliveries stay due (a held one gets next_attempt_at = now), so they block the younger
 * ones as an in-flight delivery does. The worker sends a run one delivery after another, each only after the one
 * before succeeded, and gives the rest back unsent when one fails (outbox/worker/runs.ts). Runs are bounded, and a
 * run takes one of the worker's slots like a single delivery, so one webhook's backlog does not crowd out the
 * others. After a crash the unsent rest of a run is due again when the lease runs out, like the delivery that
 * was in flight (its X-SuperOffice-Retry then counts that lease).
 */
import type { Database } from '../store/db.js';
import type { SecretCodec } from '../store/secret-codec.js';
import type { Claim, ClaimRequest, ClaimResult, HoldRequest, RunRequest } from './claim-types.js';
import { outboxBackend } from './outbox-backend.js';

export type { Claim, ClaimRequest, ClaimResult, ClaimSql, HoldRequest, RunRequest } from './claim-types.js';

export function claimDeliveries(db: Pick<Database, 'knex' | 'dialect'>, req: ClaimRequest): Promise<Claim[]> {
  if (req.limit <= 0) return Promise.resolve([]);
  return outboxBackend(db).claim(db.knex, req);
}

/** Extends claimed heads into runs (see above); returns the deliveries added, oldest first. */
export function extendRuns(db: Pick<Database, 'knex' | 'dialect'>, req: RunRequest): Promise<Claim[]> {
  if (req.tail <= 0 || req.heads.length === 0) return Promise.resolve([]);
  return outboxBackend(db).extendRuns(db.knex, req);
}

/** Holds up to `limit` blocked due deliveries (see above); returns how many. */
export function holdBlockedDeliveries(db: Pick<Database, 'knex' | 'dialect'>, req: HoldRequest): Promise<number> {
  if (req.limit <= 0) return Promise.resolve(0);
  return outboxBackend(db).hold(db.knex, req);
}

/**
 * Claims and loads everything needed to send (event, webhook), after holding blocked deliveries when `hold` is
 * given, and extends what it claimed into runs when req.runLength > 1. On SQLite all of it happens in one
 * transaction on the single connection (outbox-sqlite.ts); elsewhere it is the hold statement, the claim statement,
 * the run statement and one query (backends/claim-in-steps.ts). Webhook secrets are decoded with opts.secrets; a
 * delivery whose secret cannot be decoded comes back with secretError set.
 */
export function claimAndLoad(
  db: Pick<Database, 'knex' | 'dialect'>,
  req: ClaimRequest,
  hold: HoldRequest | undefined,
  opts: { secrets: SecretCodec },
): Promise<ClaimResult> {
  return outboxBackend(db).claimAndLoad(db.knex, req, hold, opts.secrets);
}
