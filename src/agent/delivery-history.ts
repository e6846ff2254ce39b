/**
 * Delivery history and replay, for every face (CLI, admin API and page): the delivery log of a webhook, one
 * delivery with its attempts, redelivery (one, or all that gave up since a time), purge, and the 24 h chart.
 * Inputs are checked here and refused with AppError('invalid_argument') naming the field; the SQL is in
 * outbox/delivery-history.ts (which also explains what a redelivery changes).
 */
import type { Database } from '../store/db.js';
import { AppError, invalidArgument, notFound } from '../errors.js';
import {
  attemptChart, deliveryStatusNames, failedDeliveryIds, failedStatuses, getDelivery, listDeliveries, purgeDeliveries, rebuildSentRequest, redeliver,
  type AttemptRow, type ChartBucket, type DeliveryRow, type DeliveryStatus, type PurgeResult, type RebuiltRequest,
} from '../outbox/index.js';
import { knexOf, toInt } from '../store/row-mapping.js';
import type { SecretCodec } from '../store/secret-codec.js';
import type { Config } from '../config.js';
import { STATE_CODE, stateFromInt, type WebhookState } from '../webhooks/types.js';

export type { AttemptRow, ChartBucket, DeliveryRow, DeliveryStatus, PurgeResult };

/** Filter values as a face receives them (strings from a query string or argv, or typed values). */
export interface DeliveryFilterInput {
  webhookId?: number | string;
  /** A stored status, or 'failed' (failed_permanent and expired); comma-separated for several. */
  status?: string | readonly string[];
  event?: string;
  /** Events signalled at or after: ISO 8601 text, epoch ms, or a Date. */
  since?: string | number | Date;
  until?: string | number | Date;
  /** The previous page's nextBefore. */
  before?: number | string;
  /** Page size, 1..500 (default 50). */
  limit?: number | string;
}

export interface RedeliverResult {
  /** Ids put back in the queue (or made due now). */
  redelivered: number[];
  /** The webhooks concerned that are not Active: their redeliveries wait, parked, until the hook is activated. */
  parkedWebhooks: Array<{ webhookId: number; state: WebhookState }>;
}

export const MAX_PAGE = 500;

/** A delivery's request as sent (outbox/sent-request.ts), as a caller may see it: `hidden` marks a header value left out. */
export type SentRequest = Omit<RebuiltRequest, 'headers'> & { headers: Array<{ name: string; value: string; own: boolean; hidden?: true }> };

function positiveInt(field: string, v: number | string | undefined, fallback?: number): number | undefined {
  if (v === undefined || v === '') return fallback;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw invalidArgument(field, `must be a positive integer, got '${String(v)}'`);
  return n;
}

/** ISO 8601 text (a date alone is UTC midnight), epoch ms, or a Date -> epoch ms. */
export function parseInstant(field: string, v: string | number | Date | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = v instanceof Date ? v.getTime() : typeof v === 'number' || /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw invalidArgument(field, `not a time: '${String(v)}' (use ISO 8601, e.g. 2026-01-31T14:00:00Z)`);
  return ms;
}

function parseStatuses(v: DeliveryFilterInput['status']): DeliveryStatus[] | undefined {
  if (v === undefined || v === '') return undefined;
  const names = (typeof v === 'string' ? v.split(',') : [...v]).map((s) => s.trim()).filter(Boolean);
  const out = new Set<DeliveryStatus>();
  for (const n of names) {
    if (n === 'failed') failedStatuses.forEach((s) => out.add(s));
    else if ((deliveryStatusNames as readonly string[]).includes(n)) out.add(n as DeliveryStatus);
    else throw invalidArgument('status', `unknown status '${n}' (one of failed, ${deliveryStatusNames.join(', ')})`);
  }
  return [...out];
}

export interface DeliveryHistoryDeps {
  db: Database;
  now?: () => number;
  wake?: () => void;
  /** What rebuilding a delivery's request needs (sent()): the secret codec and the sender's settings. */
  request?: { secrets: SecretCodec; config: Pick<Config, 'userAgent' | 'contextIdentifier'> };
}

export function createDeliveryHistory(deps: DeliveryHistoryDeps) {
  const { db } = deps;
  const now = deps.now ?? Date.now;

  async function webhookStates(ids: readonly number[]): Promise<Map<number, number>> {
    const rows = (await knexOf(db)('webhook').whereIn('webhook_id', [...new Set(ids)]).select('webhook_id', 'state')) as
      Array<{ webhook_id: unknown; state: unknown }>;
    return new Map(rows.map((r) => [toInt(r.webhook_id), toInt(r.state)]));
  }

  async function requireWebhook(webhookId: number): Promise<number> {
    const state = (await webhookStates([webhookId])).get(webhookId);
    if (state === undefined) throw notFound(`Webhook ${webhookId}`);
    return state;
  }

  function parked(states: Map<number, number>): RedeliverResult['parkedWebhooks'] {
    return [...states].filter(([, s]) => s !== STATE_CODE.Active).map(([webhookId, s]) => ({ webhookId, state: stateFromInt(s) }));
  }

  return {
    /** Newest first, one page; pass nextBefore as `before` for the next one. */
    async list(filter: DeliveryFilterInput = {}): Promise<{ deliveries: DeliveryRow[]; nextBefore: number | null }> {
      const since = parseInstant('since', filter.since);
      const until = parseInstant('until', filter.until);
      if (since !== undefined && until !== undefined && until <= since) throw invalidArgument('until', 'must be later than since');
      const limit = positiveInt('limit', filter.limit, 50) as number;
      if (limit > MAX_PAGE) throw invalidArgument('limit', `at most ${MAX_PAGE}`);
      return listDeliveries(db, {
        webhookId: positiveInt('webhookId', filter.webhookId),
        statuses: parseStatuses(filter.status),
        eventName: filter.event?.trim() || undefined,
        since, until,
        before: positiveInt('before', filter.before),
        limit,
      }, now());
    },

    async show(deliveryId: number | string): Promise<DeliveryRow & { attemptLog: AttemptRow[] }> {
      const id = positiveInt('deliveryId', deliveryId) as number;
      const d = await getDelivery(db, id, now());
      if (!d) throw notFound(`Delivery ${id}`);
      return d;
    },

    /**
     * The request of the delivery's last attempt (or of its first, when none was made), body and headers, rebuilt from
     * the stored event and webhook (outbox/sent-request.ts says why and when it can differ). The secret is never in it
     * (only X-SuperOffice-Signature, the HMAC of the body); without `headerValues` the webhook's own header values are
     * left out too, since they often hold credentials.
     */
    async sent(deliveryId: number | string, opts: { headerValues: boolean }): Promise<SentRequest> {
      const id = positiveInt('deliveryId', deliveryId) as number;
      if (!deps.request) throw new AppError('not_supported', 'This process cannot rebuild requests (no sender settings)');
      const r = await rebuildSentRequest(db, id, deps.request);
      if (!r.found) throw notFound(`Delivery ${id}`);
      if (r.webhookDeleted) throw new AppError('not_found', `Webhook ${r.webhookId} of delivery ${id} was deleted: its request cannot be rebuilt`);
      const { found: _found, webhookDeleted: _deleted, ...request } = r;
      return {
        ...request,
        headers: request.headers.map((h) => (h.own && !opts.headerValues ? { ...h, value: '', hidden: true as const } : h)),
      };
    },

    /**
     * One delivery again, with its EventId and the retry count going on. A pending one no worker holds is made due
     * now; one in flight is refused (conflict).
     */
    async redeliver(deliveryId: number | string): Promise<RedeliverResult> {
      const d = await this.show(deliveryId);
      const states = await webhookStates([d.webhookId]);
      if (!states.has(d.webhookId)) throw new AppError('not_found', `Webhook ${d.webhookId} of delivery ${d.deliveryId} was deleted; it cannot be redelivered`);
      const changed = await redeliver(db, [d.deliveryId], now());
      if (changed.length === 0) throw new AppError('conflict', `Delivery ${d.deliveryId} is being sent right now; try again when this attempt is recorded`);
      deps.wake?.();
      return { redelivered: changed, parkedWebhooks: parked(states) };
    },

    /** Every delivery of the webhook that gave up (failed_permanent, expired) for events signalled since `since`. */
    async redeliverFailed(webhookId: number | string, since: string | number | Date): Promise<RedeliverResult> {
      const id = positiveInt('webhookId', webhookId) as number;
      const from = parseInstant('since', since);
      if (from === undefined) throw invalidArgument('since', 'is required (the earliest event time to redeliver)');
      const state = await requireWebhook(id);
      const changed = await redeliver(db, await failedDeliveryIds(db, id, from), now());
      if (changed.length) deps.wake?.();
      return { redelivered: changed, parkedWebhooks: parked(new Map([[id, state]])) };
    },

    /**
     * Deletes the webhook's finished deliveries (with attempts) finished before `before` (default: now); with
     * `pending`, first cancels its queued deliveries that no worker holds.
     */
    async purge(webhookId: number | string, opts: { before?: string | number | Date; pending?: boolean } = {}): Promise<PurgeResult> {
      const id = positiveInt('webhookId', webhookId) as number;
      const at = now();
      const before = parseInstant('before', opts.before) ?? at + 1;
      return purgeDeliveries(db, id, { before, pending: opts.pending === true, now: at, reason: 'cancelled: purged by an operator' });
    },

    /** Attempts per hour over the last 24 h (succeeded / failed). */
    async chart(webhookId: number | string): Promise<ChartBucket[]> {
      const id = positiveInt('webhookId', webhookId) as number;
      return attemptChart(db, id, { now: now() });
    },
  };
}

export type DeliveryHistory = ReturnType<typeof createDeliveryHistory>;
