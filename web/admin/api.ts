/** The admin API (src/admin/admin-api.ts) as the page calls it: JSON, the session cookie, the CSRF header. */

export interface Webhook {
  webhookId: number;
  name: string;
  state: 'Active' | 'Stopped' | 'TooManyErrors' | 'Unknown';
  type: string;
  targetUrl: string;
  events: string[];
  hasSecret: boolean;
  headers: string[];
  properties: Record<string, unknown> | null;
  description: string | null;
  errorsEmail: string | null;
  notifyVia: Array<'Email' | 'InApp'>;
  notifyWhen: Array<'FirstFailure' | 'Disabling'>;
  registered: string;
  registeredBy: string | null;
  updated: string | null;
  updatedBy: string | null;
  totalCalls: number;
  totalErrors: number;
  consecutiveErrors: number;
  lastError: string | null;
}

/** The delivery log's rows, as the server's store reads them (a type-only import: nothing of src/ is bundled). */
export type { DeliveryRow as Delivery, AttemptRow as Attempt, ChartBucket as Bucket } from '../../src/outbox/delivery-log-types.js';
/** A delivery's request as sent (src/outbox/sent-request.ts, rebuilt; hidden header values left out). */
export interface SentRequest {
  deliveryId: number;
  attemptNo: number;
  method: 'POST';
  url: string;
  headers: Array<{ name: string; value: string; own: boolean; hidden?: true }>;
  body: string;
  bodyBytes: number;
  webhookChangedAfter: number | null;
  secretError?: string;
}
export interface RedeliverResult { redelivered: number[]; parkedWebhooks: Array<{ webhookId: number; state: string }> }

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string) {
    super(message);
  }
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/admin/api${path}`, {
    method,
    credentials: 'same-origin',
    headers: { 'X-Admin-Request': '1', Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = (await res.json().catch(() => ({}))) as { error?: { message?: string; field?: string } };
  if (!res.ok) throw new ApiError(res.status, data.error?.message ?? `HTTP ${res.status}`, data.error?.field);
  return data as T;
}
