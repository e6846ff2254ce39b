/** A claimed delivery as the worker sends it, and how it is read: the same columns and mapping on every dialect. */
import type { SecretCodec } from '../store/secret-codec.js';
import type { BodyParts } from '../webhooks/types.js';
import { parseExact } from '../webhooks/exact-json.js';
import { chunked, knexOf, toInt, type Queryable } from '../store/row-mapping.js';
import { parseHeaders, parseProperties } from '../store/webhook-repository.js';
import { settingColumns, settingFromRow, type WebhookSetting } from '../store/webhook-settings.js';

/** A claimed delivery with everything needed to send it. */
export interface ClaimedDelivery {
  deliveryId: number;
  webhookId: number;
  eventUuid: string;
  /** This attempt's number (1 = first). */
  attemptNo: number;
  leaseToken: string;
  created: number;
  eventName: string;
  primaryKey: number;
  data: Record<string, unknown>;
  changedByAssociateId: number;
  timestamp: Date;
  /** CRM entity events only (wa_event.body_parts). */
  bodyParts?: BodyParts;
  hook: {
    name: string;
    type: string;
    targetUrl: string;
    secret: string | null;
    headers: Record<string, string> | null;
    properties: Record<string, unknown> | null;
    /** wa_webhook_setting's row (defaults when none). */
    setting: WebhookSetting;
  };
  /**
   * Set when the stored secret could not be decrypted (a key missing from the configuration): why, without the
   * value. The delivery must not be sent then (unsigned or wrongly signed), and hook.secret is null.
   */
  secretError?: string;
}

function parseData(text: unknown): Record<string, unknown> {
  if (typeof text !== 'string') return {};
  try {
    const v: unknown = parseExact(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function parseBodyParts(text: unknown): BodyParts | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  const v = parseData(text);
  return Array.isArray(v.changes) ? (v as unknown as BodyParts) : undefined;
}

/** The columns a claimed delivery is sent with (wa_delivery d, wa_event e, webhook w, left join wa_webhook_setting s). */
export const claimedColumns = [
  'd.delivery_id', 'd.webhook_id', 'd.event_uuid', 'd.attempt_count', 'd.lease_token', 'd.created',
  'e.name as event_name', 'e.primary_key', 'e.data', 'e.changed_by_associate_id', 'e.timestamp', 'e.body_parts',
  'w.name as webhook_name', 'w.type', 'w.target_url', 'w.secret', 'w.headers', 'w.properties',
  ...settingColumns,
] as const;

/** Row -> ClaimedDelivery; the secret is decoded with `secrets`. */
export function toClaimedDelivery(r: Record<string, unknown>, secrets: SecretCodec): ClaimedDelivery {
  let secret: string | null = typeof r.secret === 'string' && r.secret !== '' ? r.secret : null;
  let secretError: string | undefined;
  let setting = settingFromRow({}, secrets);
  try {
    secret = secrets.decode(secret) || null;
    setting = settingFromRow(r, secrets);
  } catch (err) {
    // One unreadable row must not fail the whole claimed batch: the worker records it as not sent.
    secret = null;
    secretError = err instanceof Error ? err.message : String(err);
  }
  const claimed: ClaimedDelivery = {
    deliveryId: toInt(r.delivery_id),
    webhookId: toInt(r.webhook_id),
    eventUuid: String(r.event_uuid),
    attemptNo: toInt(r.attempt_count),
    leaseToken: String(r.lease_token),
    created: toInt(r.created),
    eventName: String(r.event_name),
    primaryKey: toInt(r.primary_key),
    data: parseData(r.data),
    changedByAssociateId: toInt(r.changed_by_associate_id),
    timestamp: new Date(toInt(r.timestamp)),
    hook: {
      name: String(r.webhook_name ?? ''),
      type: String(r.type ?? 'webhook'),
      targetUrl: String(r.target_url ?? ''),
      secret,
      headers: parseHeaders(r.headers),
      properties: parseProperties(r.properties),
      setting,
    },
  };
  if (secretError !== undefined) claimed.secretError = secretError;
  const parts = parseBodyParts(r.body_parts);
  if (parts) claimed.bodyParts = parts;
  return claimed;
}

/**
 * Loads event and webhook for claimed ids. Only rows still holding `leaseToken` come back (a delivery cancelled
 * in between is skipped). Rows whose webhook is gone are skipped too; their lease runs out and retention ends them.
 */
export async function loadClaimed(
  db: Queryable,
  claims: ReadonlyArray<{ deliveryId: number; leaseToken: string }>,
  opts: { secrets: SecretCodec },
): Promise<ClaimedDelivery[]> {
  if (claims.length === 0) return [];
  const k = knexOf(db);
  const tokens = new Map(claims.map((c) => [c.deliveryId, c.leaseToken]));
  const out: ClaimedDelivery[] = [];
  for (const part of chunked(claims.map((c) => c.deliveryId), 500)) {
    const rows = (await k('wa_delivery as d')
      .join('wa_event as e', 'e.event_id', 'd.event_id')
      .join('webhook as w', 'w.webhook_id', 'd.webhook_id')
      .leftJoin('wa_webhook_setting as s', 's.webhook_id', 'd.webhook_id')
      .whereIn('d.delivery_id', part)
      .select(...claimedColumns)) as Array<Record<string, unknown>>;
    for (const r of rows) {
      if (r.lease_token === tokens.get(toInt(r.delivery_id))) out.push(toClaimedDelivery(r, opts.secrets));
    }
  }
  const order = new Map(claims.map((c, i) => [c.deliveryId, i]));
  return out.sort((a, b) => (order.get(a.deliveryId) ?? 0) - (order.get(b.deliveryId) ?? 0));
}
