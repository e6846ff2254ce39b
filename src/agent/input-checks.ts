/**
 * Checks of the scalar inputs every face passes through unchanged (a path segment, a query value or a SOAP
 * element), so that all faces refuse the same values with the same message naming the field.
 */
import { invalidArgument } from '../errors.js';
import { webhookStates, type WebhookState } from '../webhooks/types.js';
import type { WebhookPageQuery } from '../store/webhook-page.js';

/** A stored webhook's id: a positive integer. */
export function requireWebhookId(v: unknown, field = 'WebhookId'): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > 2_147_483_647) {
    throw invalidArgument(field, 'must be a positive integer');
  }
  return v;
}

/** SignalEvent's PrimaryKey: any integer (0 when the caller leaves it out). */
export function requirePrimaryKey(v: unknown, field = 'PrimaryKey'): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArgument(field, 'must be an integer');
  return v;
}

/** A webhook list page as a face receives it (query-string text or typed values). */
export interface WebhookPageInput {
  search?: string;
  /** A state name; empty or Unknown = every state. */
  state?: string;
  offset?: number | string;
  limit?: number | string;
}

export const WEBHOOK_PAGE_MAX = 500;

function count(field: string, v: number | string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined || v === '') return fallback;
  const n = typeof v === 'number' ? v : /^\d{1,9}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw invalidArgument(field, `must be an integer from ${min} to ${max}`);
  return n;
}

export function checkWebhookPageQuery(q: WebhookPageInput): WebhookPageQuery {
  const search = (q.search ?? '').trim();
  if (search.length > 400) throw invalidArgument('search', 'is longer than 400 characters');
  let state: WebhookState | undefined;
  if (q.state !== undefined && q.state !== '') {
    state = webhookStates.find((s) => s.toLowerCase() === String(q.state).trim().toLowerCase());
    if (!state) throw invalidArgument('state', `'${String(q.state).slice(0, 40)}' is not one of ${webhookStates.join(', ')}`);
  }
  return {
    search: search || undefined,
    state: state === 'Unknown' ? undefined : state,
    offset: count('offset', q.offset, 0, 0, 2_147_483_647),
    limit: count('limit', q.limit, 50, 1, WEBHOOK_PAGE_MAX),
  };
}

/**
 * An Idempotency-Key header: 1 to 255 visible ASCII characters, as sent or as a quoted structured-field string
 * (`"abc"`, the IETF draft's form); null when none was sent.
 */
export function checkIdempotencyKey(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const quoted = /^"(.*)"$/.exec(raw.trim());
  const key = quoted ? quoted[1] : raw.trim();
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw invalidArgument('Idempotency-Key', '1 to 255 visible ASCII characters (a UUID, say)');
  }
  return key;
}
