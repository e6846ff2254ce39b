/**
 * SaveWebhook input rules. Pure: no I/O. The target's reachability (the test ping) and address policy are
 * checked by the caller; here only the shape of every field.
 */
import { invalidArgument, AppError } from '../errors.js';
import type { NotifyVia, NotifyWhen, PropertyValue, WebhookInput, WebhookState } from './types.js';

/** A webhook as a caller sent it: every field optional, as SOAP's minOccurs=0 allows. */
export interface WebhookDraft {
  webhookId?: number;
  name?: string | null;
  events?: string[] | null;
  targetUrl?: string | null;
  secret?: string | null;
  state?: WebhookState | null;
  type?: string | null;
  headers?: Record<string, string> | null;
  properties?: Record<string, PropertyValue> | null;
  errorsEmail?: string | null;
  errorEmails?: string[] | null;
  errorAssociateIds?: number[] | null;
  description?: string | null;
  notifyVia?: NotifyVia[] | null;
  notifyWhen?: NotifyWhen[] | null;
  /**
   * Names in `headers` whose value is the stored one (an update only): a form that never showed the values (the admin
   * page) sends the names and this list. Resolved by the agent against the row it reads (agent/webhook-agent.ts).
   */
  keepHeaderValues?: readonly string[];
}

/**
 * `entity.verb`, with room for NetServer's longer forms: `list.category.created`, `list.110.changed`,
 * `webhook12.errors`, `y_table.deleted`, `chatsession.message`.
 */
export const eventNamePattern = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;
/**
 * What a hook's Events may hold besides event names (webhooks/event-match.ts): `*`, or a prefix of one or more
 * segments followed by `.*` (`contact.*`, `list.category.*`). No other place for `*`: not `contact*`, `*.created`,
 * `contact.*.x` or `**`. SignalEvent's EventName never takes these.
 */
export const wildcardPattern = /^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.\*)$/;
export const maxEventNameLength = 200;

/**
 * Bounds on list sizes, checked before any per-item work so that a huge list costs one comparison. NetServer's
 * own columns bound most of them (events String(4000)); the rest keep a hook's payload and row reasonable.
 */
export const limits = { events: 200, headers: 100, properties: 1000, errorEmails: 100, errorAssociates: 100, eventData: 1000 } as const;

export function checkCount(field: string, n: number | undefined, max: number): void {
  if (n !== undefined && n > max) throw invalidArgument(field, `has ${n} entries; at most ${max} are allowed`);
}

/** Headers that belong to the connection or to the delivery itself; a hook cannot set them. */
const reservedHeaders = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'trailers',
  'transfer-encoding', 'upgrade', 'host', 'content-length', 'content-type', 'expect',
]);
const headerToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII, space and tab; never CR, LF or other controls.
const headerValue = /^[\t\x20-\x7e\x80-\uffff]*$/;
// HTTP/1.1 carries header values as bytes and Node's http client sends Latin-1 only (obs-text 0x80-0xFF): a
// character above U+00FF cannot be sent as itself, so it is refused at save rather than dropped at delivery.
const beyondLatin1 = /[\u0100-\u{10ffff}]/u;
const emailPattern = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;

function text(field: string, v: string | null | undefined, max: number, required: boolean): string | null {
  const s = v == null ? '' : v.trim();
  if (s === '') {
    if (required) throw invalidArgument(field, 'is required');
    return null;
  }
  if (s.length > max) throw invalidArgument(field, `is longer than ${max} characters`);
  return s;
}

/** A required name of at most maxEventNameLength characters, trimmed; its form is checked by the caller. */
function requiredName(field: string, name: string | null | undefined): string {
  const s = (name ?? '').trim();
  if (!s) throw invalidArgument(field, 'is required');
  if (s.length > maxEventNameLength) throw invalidArgument(field, `is longer than ${maxEventNameLength} characters`);
  return s;
}

export function validateEventName(field: string, name: string | null | undefined): string {
  const s = requiredName(field, name);
  if (!eventNamePattern.test(s)) throw invalidArgument(field, `'${s.slice(0, 80)}' is not an event name of the form entity.verb`);
  return s;
}

/** One entry of a hook's Events: an event name or one of the wildcard forms. */
export function validateSubscription(field: string, name: string | null | undefined): string {
  const s = requiredName(field, name);
  if (!eventNamePattern.test(s) && !wildcardPattern.test(s)) {
    throw invalidArgument(field, `'${s.slice(0, 80)}' is not an event name of the form entity.verb, nor entity.* or *`);
  }
  return s;
}

export function validateEvents(events: string[] | null | undefined): string[] {
  if (!events || events.length === 0) throw invalidArgument('Events', 'must contain at least one event name');
  checkCount('Events', events.length, limits.events);
  const out = new Set<string>();
  events.forEach((e, i) => out.add(validateSubscription(`Events[${i}]`, e)));
  // NetServer keeps the list comma-separated in webhook.events String(4000).
  const list = [...out];
  if (list.join(',').length > 4000) throw invalidArgument('Events', 'the list is longer than 4000 characters');
  return list;
}

export function validateTargetUrl(raw: string | null | undefined, allowInsecure: boolean): string {
  const s = text('TargetUrl', raw, 4000, true)!;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw invalidArgument('TargetUrl', 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidArgument('TargetUrl', 'must be an http(s) URL');
  if (url.protocol === 'http:' && !allowInsecure) {
    throw invalidArgument('TargetUrl', 'must use https (set ALLOW_INSECURE_TARGETS=true for development)');
  }
  if (url.username || url.password) throw invalidArgument('TargetUrl', 'must not contain credentials; use Headers instead');
  return s;
}

export function validateHeaders(headers: Record<string, string> | null | undefined): Record<string, string> | null {
  if (!headers) return null;
  checkCount('Headers', Object.keys(headers).length, limits.headers);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.trim();
    if (!headerToken.test(name)) throw invalidArgument('Headers', `'${name.slice(0, 80)}' is not a valid header name`);
    const lower = name.toLowerCase();
    if (reservedHeaders.has(lower)) throw invalidArgument('Headers', `'${name}' cannot be set by a webhook`);
    if (lower.startsWith('x-superoffice-') || lower === 'x-hook-test') {
      throw invalidArgument('Headers', `'${name}' is set by the agent itself`);
    }
    const value = v ?? '';
    if (!headerValue.test(value)) throw invalidArgument('Headers', `the value of '${name}' contains CR, LF or control characters`);
    const wide = beyondLatin1.exec(value);
    if (wide) {
      const code = wide[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      throw invalidArgument('Headers', `the value of '${name}' contains '${wide[0]}' (U+${code}): header values are limited to ` +
        'Latin-1 (ISO-8859-1) characters; percent-encode or base64-encode other text');
    }
    if (value.length > 4000) throw invalidArgument('Headers', `the value of '${name}' is longer than 4000 characters`);
    out[name] = value;
  }
  return Object.keys(out).length ? out : null;
}

/** How deep a Data or Properties value may nest (objects and arrays inside a value); deeper is refused. */
export const VALUE_DEPTH_MAX = 32;

/**
 * Refuses a Data or Properties value nested deeper than VALUE_DEPTH_MAX, naming the member: writing it (JSON and XML
 * writers recurse) must not exhaust the stack. Iterative, so the check itself cannot.
 */
export function checkValueDepth(field: string, values: Record<string, unknown>): void {
  const stack: Array<[unknown, number]> = Object.values(values).map((v) => [v, 1]);
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [v, depth] = item;
    if (v === null || typeof v !== 'object' || v instanceof Date) continue;
    if (depth > VALUE_DEPTH_MAX) throw invalidArgument(field, `a value is nested more than ${VALUE_DEPTH_MAX} levels deep`);
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, depth + 1]);
  }
}

function validateProperties(props: Record<string, PropertyValue> | null | undefined): Record<string, PropertyValue> | null {
  if (!props) return null;
  const keys = Object.keys(props);
  checkCount('Properties', keys.length, limits.properties);
  for (const k of keys) if (k.trim() === '') throw invalidArgument('Properties', 'keys must not be empty');
  checkValueDepth('Properties', props);
  return keys.length ? props : null;
}

// The secret keys an HMAC: kept byte for byte (no trimming); empty means none.
function validateSecret(v: string | null | undefined): string | null {
  if (v == null || v === '') return null;
  if (v.length > 400) throw invalidArgument('Secret', 'is longer than 400 characters');
  return v;
}

export function validateEmail(field: string, v: string | null | undefined): string | null {
  const s = text(field, v, 239, false);
  if (s !== null && !emailPattern.test(s)) throw invalidArgument(field, `'${s.slice(0, 80)}' is not an e-mail address`);
  return s;
}

export interface ValidateOptions {
  allowInsecureTargets: boolean;
  /** The stored state, for an update: an omitted/Unknown State keeps it. */
  existingState?: WebhookState;
}

export function validateWebhook(d: WebhookDraft, opts: ValidateOptions): WebhookInput {
  const type = (d.type ?? '').trim() || 'webhook';
  if (type.toLowerCase() === 'crmscript') {
    throw new AppError('not_supported', "Type: 'crmscript' webhooks (CRMScript handlers) are not supported by this agent; use 'webhook'", { field: 'Type' });
  }
  if (type !== 'webhook') throw invalidArgument('Type', `'${type.slice(0, 80)}' is not supported; use 'webhook'`);

  let state = d.state ?? 'Unknown';
  if (state === 'Unknown') state = opts.existingState && opts.existingState !== 'Unknown' ? opts.existingState : 'Active';

  checkCount('ErrorEmails', d.errorEmails?.length, limits.errorEmails);
  checkCount('ErrorAssociates', d.errorAssociateIds?.length, limits.errorAssociates);
  const errorEmails = (d.errorEmails ?? []).map((e, i) => validateEmail(`ErrorEmails[${i}]`, e)).filter((e): e is string => e !== null);
  return {
    name: text('Name', d.name, 400, true)!,
    events: validateEvents(d.events),
    targetUrl: validateTargetUrl(d.targetUrl, opts.allowInsecureTargets),
    secret: validateSecret(d.secret),
    state: state as WebhookInput['state'],
    type,
    headers: validateHeaders(d.headers),
    properties: validateProperties(d.properties),
    errorsEmail: validateEmail('ErrorsEmail', d.errorsEmail),
    errorEmails: errorEmails.length ? errorEmails : null,
    errorAssociateIds: d.errorAssociateIds?.length ? d.errorAssociateIds : null,
    description: text('Description', d.description, 4000, false),
    notifyVia: d.notifyVia ?? [],
    notifyWhen: d.notifyWhen ?? [],
  };
}
