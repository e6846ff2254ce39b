/**
 * The outcome of one attempt, as data (the worker decides what it means for the delivery and the webhook).
 *
 * - success: any 2xx.
 * - gone: 410; NetServer turns the hook to TooManyErrors at once.
 * - retry_after: 429 or 503 with a usable Retry-After (delta-seconds or HTTP-date), capped at retryAfterCapMs.
 * - failure: anything else: another status (redirects are not followed, so 3xx too), timeout, DNS, connect, TLS.
 *   413 is classed too_large (the target refused the size of our body).
 * - refused_target: the SSRF guard refused the URL or every address it resolved to; no connection was made.
 */
export type ErrorClass = 'http' | 'timeout' | 'dns' | 'connect' | 'tls' | 'refused_target' | 'too_large' | 'other';

interface OutcomeBase {
  durationMs: number;
  /** Status line + response headers + body (or the error), capped at 4000 characters: last_error and Message. */
  report: string;
}

export type DeliveryOutcome =
  | (OutcomeBase & { kind: 'success'; status: number })
  | (OutcomeBase & { kind: 'gone'; status: 410; errorClass: 'http' })
  | (OutcomeBase & { kind: 'retry_after'; status: number; retryAfterMs: number; errorClass: 'http' })
  | (OutcomeBase & { kind: 'failure'; status?: number; errorClass: Exclude<ErrorClass, 'refused_target'> })
  | (OutcomeBase & { kind: 'refused_target'; errorClass: 'refused_target' });

export type OutcomeKind = DeliveryOutcome['kind'];

export const reportCapChars = 4000;

export function capReport(text: string): string {
  return text.length <= reportCapChars ? text : text.slice(0, reportCapChars);
}

/**
 * Retry-After in milliseconds from now: delta-seconds ("120") or an HTTP-date. null when absent or unusable.
 * A date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | undefined | null, nowMs: number): number | null {
  if (value === undefined || value === null) return null;
  const v = value.trim();
  if (v === '') return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // HTTP-date forms (IMF-fixdate, RFC 850, asctime) all carry a weekday name; Date.parse reads them as GMT.
  if (!/^[A-Za-z]{3}/.test(v)) return null;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

/** What a status code means; `retryAfterMs` is the parsed header (already capped) when present. */
export function classifyStatus(status: number, retryAfterMs: number | null):
  | { kind: 'success' }
  | { kind: 'gone' }
  | { kind: 'retry_after'; retryAfterMs: number }
  | { kind: 'failure'; errorClass: 'http' | 'too_large' } {
  if (status >= 200 && status < 300) return { kind: 'success' };
  if (status === 410) return { kind: 'gone' };
  if ((status === 429 || status === 503) && retryAfterMs !== null) return { kind: 'retry_after', retryAfterMs };
  if (status === 413) return { kind: 'failure', errorClass: 'too_large' };
  return { kind: 'failure', errorClass: 'http' };
}

const dnsCodes = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'ENODATA', 'ESERVFAIL', 'ENONAME']);
const connectCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EHOSTDOWN',
  'ENETDOWN', 'EADDRNOTAVAIL', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'ECONNABORTED_BY_PEER', 'HPE_INVALID_CONSTANT',
  'ERR_STREAM_PREMATURE_CLOSE']);
const timeoutCodes = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Error class of a transport error (no HTTP response). */
export function classifyTransportError(code: string | undefined, message: string): Exclude<ErrorClass, 'http' | 'too_large'> {
  if (code === 'ERR_TARGET_REFUSED') return 'refused_target';
  if (code && dnsCodes.has(code)) return 'dns';
  if (code && timeoutCodes.has(code)) return 'timeout';
  if (code && (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'EPROTO')) return 'tls';
  if (/certificate|ssl|tls/i.test(message)) return 'tls';
  if (code && connectCodes.has(code)) return 'connect';
  if (/socket hang up/i.test(message)) return 'connect';
  return 'other';
}
