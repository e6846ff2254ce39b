/**
 * "What was sent" for a delivery: the request of its last attempt (or of the first, when none was made yet), rebuilt
 * rather than stored. Every input of the request is in the database already: the event as signalled (wa_event: name,
 * primary key, data, changed-by, timestamp, body parts), the delivery's EventId and attempt count, and the webhook's
 * name, properties, headers and secret. The rebuild reads them with the worker's own mapping (toClaimedDelivery) and
 * builds the body and headers with the sender's own function (requestOf), so the bytes are the ones sent, unless the
 * webhook was saved after that attempt (webhookChangedAfter says when), or the configuration's USER_AGENT or
 * CONTEXT_IDENTIFIER changed since. Storing each attempt's body instead would cost a copy of every payload per
 * attempt in wa_attempt, the table that grows fastest, for the rare look at one.
 */
import type { SecretCodec } from '../store/secret-codec.js';
import { knexOf, toDate, toInt, type Queryable } from '../store/row-mapping.js';
import { claimedColumns, toClaimedDelivery } from './claimed-delivery.js';
import { ACCEPT_ENCODING, requestOf, type SenderConfig } from './send/sender.js';

export interface RebuiltRequest {
  deliveryId: number;
  webhookId: number;
  /** The attempt whose request this is: the last one made, or 1 when none was made yet. */
  attemptNo: number;
  method: 'POST';
  url: string;
  /**
   * The agent's headers in the order sent, then the HTTP client's (Accept-Encoding, Host, Content-Length, Connection).
   * `own`: one of the webhook's own Headers.
   */
  headers: Array<{ name: string; value: string; own: boolean }>;
  /** The body as UTF-8 text (the bytes are compact JSON). */
  body: string;
  bodyBytes: number;
  /** Epoch ms the webhook was saved after that attempt started, when it was: then this is the request as it would go out now. */
  webhookChangedAfter: number | null;
  /** Set when the secret cannot be read (a missing key): there is no signature to show, and none was sent. */
  secretError?: string;
}

export type RebuildResult = { found: false } | { found: true; webhookDeleted: true; webhookId: number } | ({ found: true; webhookDeleted?: false } & RebuiltRequest);

export async function rebuildSentRequest(db: Queryable, deliveryId: number,
  opts: { secrets: SecretCodec; config: Pick<SenderConfig, 'userAgent' | 'contextIdentifier'> }): Promise<RebuildResult> {
  const k = knexOf(db);
  const row = (await k('wa_delivery as d').join('wa_event as e', 'e.event_id', 'd.event_id')
    .leftJoin('webhook as w', 'w.webhook_id', 'd.webhook_id')
    .leftJoin('wa_webhook_setting as s', 's.webhook_id', 'd.webhook_id')
    .where('d.delivery_id', deliveryId)
    .first(...claimedColumns, 'w.webhook_id as hook_id', 'w.updated as hook_updated')) as Record<string, unknown> | undefined;
  if (!row) return { found: false };
  if (row.hook_id === null || row.hook_id === undefined) return { found: true, webhookDeleted: true, webhookId: toInt(row.webhook_id) };
  const last = (await k('wa_attempt').where('delivery_id', deliveryId).orderBy('attempt_no', 'desc').orderBy('attempt_id', 'desc')
    .first('attempt_no', 'started_at')) as { attempt_no: unknown; started_at: unknown } | undefined;
  const c = toClaimedDelivery(row, opts.secrets);
  const attemptNo = last ? toInt(last.attempt_no) : 1;
  // The signatures' time (webhook-timestamp, a rotation's overlap) is the attempt's recorded start, as the worker passes it.
  const at = last ? toInt(last.started_at) : Date.now();
  const { body, headers } = requestOf({ ...c, attemptNo }, opts.config, at);
  const own = new Set(Object.keys(c.hook.headers ?? {}).map((n) => n.toLowerCase()));
  const updated = toDate(row.hook_updated)?.getTime() ?? null;
  const rebuilt: RebuiltRequest = {
    deliveryId: c.deliveryId, webhookId: c.webhookId, attemptNo, method: 'POST', url: c.hook.targetUrl,
    headers: [
      ...Object.entries(headers).map(([name, value]) => ({ name, value, own: own.has(name.toLowerCase()) })),
      ...Object.entries(transportHeaders(c.hook.targetUrl, body.length)).map(([name, value]) => ({ name, value, own: false })),
    ],
    body: body.toString('utf8'), bodyBytes: body.length,
    webhookChangedAfter: last && updated !== null && updated > toInt(last.started_at) ? updated : null,
  };
  if (c.secretError !== undefined) rebuilt.secretError = c.secretError;
  return { found: true, ...rebuilt };
}

/** What the HTTP client adds to the agent's headers (keep-alive agents: Connection keep-alive). */
function transportHeaders(url: string, bodyBytes: number): Record<string, string> {
  let host = '';
  try {
    host = new URL(url).host;
  } catch {
    // A stored URL that does not parse is refused before sending; there is no Host to show.
  }
  return { 'Accept-Encoding': ACCEPT_ENCODING, Host: host, 'Content-Length': String(bodyBytes), Connection: 'keep-alive' };
}
