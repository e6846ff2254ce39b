/**
 * The NetServer `WebhookPayload` body, byte for byte what we sign and send.
 *
 * Key order is NetServer's (notes/netserver-contract.md 3.2): EventId, Timestamp, Changes, Event, PrimaryKey,
 * Entity, ContextIdentifier, ChangedByAssociateId, WebhookName, FieldValues. Then the hook's Properties.
 *
 * Properties rule (NetServer says only "additional data that should be added to payload"): each property becomes
 * an additional top-level key after the standard keys, in the hook's own order. A property whose name equals a
 * standard key, compared without regard to case (the .NET deserialisers receivers use are case-insensitive), is
 * left out: Properties can add to the payload, never change what the payload says.
 *
 * State events (`webhook{id}.started|stopped|errors`) follow reference/state-events.md: the body's Event is
 * `webhook.<verb>` while the X-SuperOffice-Event header keeps the subscribed name, and there is no Entity.
 * The `test` event has Changes [], PrimaryKey 0, Entity "test" and no FieldValues (reference/test-event.mdx).
 * CRM entity events (src/crm/) bring their own Changes, Values (deletes) and FieldValues presence (BodyParts);
 * Values sits right after Changes, as in reference/index.md's and contact-events.md's delete examples.
 */
import type { BodyParts, PropertyValue } from '../../webhooks/types.js';
import { isExactNumber, jsonSafeNumber, stringifyExact } from '../../webhooks/exact-json.js';

export const standardKeys = [
  'EventId', 'Timestamp', 'Changes', 'Event', 'PrimaryKey', 'Entity', 'ContextIdentifier', 'ChangedByAssociateId',
  'WebhookName', 'FieldValues',
] as const;
const standardLower = new Set<string>(standardKeys.map((k) => k.toLowerCase()));

export interface PayloadInput {
  eventUuid: string;
  eventName: string;
  primaryKey: number;
  /** The event data: FieldValues, and its keys are Changes. Dates are formatted like Timestamp. */
  data: Record<string, unknown>;
  changedByAssociateId: number;
  timestamp: Date;
  webhookName: string;
  contextIdentifier: string;
  properties?: Record<string, unknown> | null;
  /** CRM entity events: Changes, Values and whether FieldValues is sent (webhooks/types.ts). */
  bodyParts?: BodyParts | null;
}

export const testEventName = 'test';
const stateEventPattern = /^webhook\d+\.(started|stopped|errors)$/;

/**
 * .NET round-trip UTC form as Newtonsoft writes it (`yyyy-MM-ddTHH:mm:ss.FFFFFFFZ`): up to 7 fractional digits,
 * trailing zeros dropped, no dot when the fraction is zero. A JS Date carries milliseconds, so at most 3 digits.
 */
export function formatNetTimestamp(d: Date): string {
  const iso = d.toISOString(); // 2018-04-24T07:50:50.680Z
  const [whole, frac] = iso.slice(0, -1).split('.');
  const trimmed = (frac ?? '').replace(/0+$/, '');
  return trimmed ? `${whole}.${trimmed}Z` : `${whole}Z`;
}

/**
 * Replaces Dates by their NetServer text form and non-finite numbers by NetServer's strings ("NaN", "Infinity",
 * "-Infinity"), so the stored JSON is what is sent. bigint and ExactNumber values stay: they are written with all
 * their digits (exact-json.ts).
 */
export function toJsonValue(v: PropertyValue | unknown): unknown {
  if (v instanceof Date) return formatNetTimestamp(v);
  if (typeof v === 'number') return jsonSafeNumber(v);
  if (isExactNumber(v)) return v;
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toJsonValue(x)]));
  }
  return v;
}

export function entityOf(eventName: string): string {
  const dot = eventName.indexOf('.');
  return dot < 0 ? eventName : eventName.slice(0, dot);
}

/** The body object, keys in wire order. */
export function buildPayload(p: PayloadInput): Record<string, unknown> {
  const isTest = p.eventName === testEventName;
  const state = stateEventPattern.exec(p.eventName);
  const data = toJsonValue(p.data ?? {}) as Record<string, unknown>;
  const body: Record<string, unknown> = {
    EventId: p.eventUuid,
    Timestamp: formatNetTimestamp(p.timestamp),
    Changes: isTest || state ? [] : p.bodyParts ? p.bodyParts.changes : Object.keys(data),
  };
  if (p.bodyParts?.values) body.Values = p.bodyParts.values;
  body.Event = state ? `webhook.${state[1]}` : p.eventName;
  body.PrimaryKey = isTest ? 0 : p.primaryKey;
  if (!state) body.Entity = isTest ? 'test' : entityOf(p.eventName);
  body.ContextIdentifier = p.contextIdentifier;
  body.ChangedByAssociateId = p.changedByAssociateId;
  body.WebhookName = p.webhookName;
  if (!isTest && p.bodyParts?.fieldValues !== false) body.FieldValues = data;
  for (const [key, value] of Object.entries(p.properties ?? {})) {
    if (standardLower.has(key.toLowerCase())) continue;
    // defineProperty: a property named __proto__ stays a plain key.
    Object.defineProperty(body, key, { value: toJsonValue(value), enumerable: true, writable: true, configurable: true });
  }
  return body;
}

/** The exact bytes of the body (compact JSON, UTF-8; longs and decimals with all their digits). */
export function payloadBytes(p: PayloadInput): Buffer {
  return Buffer.from(stringifyExact(buildPayload(p)), 'utf8');
}
