/**
 * NetServer's JSON form of the Webhook carrier (SuperOffice.CRM.Services.Webhook in the Swagger) <-> the domain.
 * Members are PascalCase in the Swagger's order; enums are written by name; flag enums (NotifyVia, NotifyWhen) as
 * Json.NET writes them ("None", "Email", "Email, InApp"); dates in ISO 8601 UTC; Headers and Properties as JSON
 * objects. Reading is as lenient as ASP.NET's binder where that is harmless (member names and enum names in any
 * case, enums also as numbers, unknown members ignored) and strict where a wrong type would lose data: every
 * refusal is an invalid_argument naming the member.
 */
import { isExactNumber } from '../webhooks/exact-json.js';
import { invalidArgument } from '../errors.js';
import type { AssociateSummary, PropertyValue, Webhook, WebhookState } from '../webhooks/types.js';
import { flagsFromInt, notifyViaFlags, notifyWhenFlags, webhookStates } from '../webhooks/types.js';
import { checkCount, limits, type WebhookDraft } from '../webhooks/validate.js';

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** 0001-01-01T00:00:00Z: NetServer's "not set" date (DateTime.MinValue). */
const MIN_DATE = '0001-01-01T00:00:00Z';

function isoUtc(d: Date | null): string {
  if (!d || d.getTime() <= -62135596800000) return MIN_DATE;
  return d.toISOString();
}

function associateJson(a: AssociateSummary | null): Json {
  if (!a) return null;
  return {
    AssociateId: a.associateId, Name: a.name, PersonId: a.personId, Rank: 0, Tooltip: a.fullName, Type: 'InternalAssociate',
    GroupIdx: 0, FullName: a.fullName, FormalName: a.fullName, Deleted: a.deleted, EjUserId: 0, UserName: a.userName,
    ExtraFields: null, CustomFields: null, TableRight: null, FieldProperties: null,
  };
}

function flagsJson(flags: readonly string[]): string {
  return flags.length === 0 ? 'None' : flags.join(', ');
}

/** A Data or Properties value as JSON: nested values as they are, dates as ISO text, exact numbers as numbers. */
function propertyJson(v: PropertyValue): Json {
  if (v instanceof Date) return v.toISOString();
  // A long or decimal kept with all its digits (webhooks/exact-json.ts) goes out as a number here: the compiled
  // JSON writer has no raw-number form, so digits beyond a double's are not kept on this face.
  if (typeof v === 'bigint' || isExactNumber(v)) return Number(typeof v === 'bigint' ? v : v.value);
  if (Array.isArray(v)) return v.map(propertyJson);
  if (v !== null && typeof v === 'object') {
    const out: JsonObject = {};
    // defineProperty: a key named __proto__ stays a plain key.
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: propertyJson(x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

export function webhookJson(h: Webhook): JsonObject {
  const properties = h.properties ? propertyJson(h.properties) : null;
  return {
    WebhookId: h.webhookId,
    Name: h.name || null,
    Events: h.events,
    TargetUrl: h.targetUrl || null,
    Secret: h.secret,
    State: h.state,
    Type: h.type,
    Headers: h.headers,
    Properties: properties,
    Registered: h.webhookId === 0 ? MIN_DATE : isoUtc(h.registered),
    RegisteredAssociate: associateJson(h.registeredAssociate),
    Updated: isoUtc(h.updated),
    UpdatedAssociate: associateJson(h.updatedAssociate),
    ErrorsEmail: h.errorsEmail,
    ErrorEmails: h.errorEmails,
    ErrorAssociates: h.errorAssociateIds?.map((id) => ({
      Id: id, Name: null, ToolTip: null, Deleted: false, Rank: 0, Type: null, ChildItems: null, IconHint: null, ColorBlock: 0,
      ExtraInfo: null, StyleHint: null, FullName: null, TableRight: null, FieldProperties: null,
    })) ?? null,
    Description: h.description,
    NotifyVia: flagsJson(h.notifyVia),
    NotifyWhen: flagsJson(h.notifyWhen),
    TotalCalls: h.totalCalls,
    TotalErrors: h.totalErrors,
    ConsecutiveErrors: h.consecutiveErrors,
    LastError: h.lastError,
  } as JsonObject;
}

/** The members of a JSON object by lower-cased name (ASP.NET binds member names case-insensitively). */
export function membersOf(field: string, v: unknown): Map<string, unknown> {
  if (!isObject(v)) throw invalidArgument(field, 'must be a JSON object');
  const m = new Map<string, unknown>();
  for (const [k, val] of Object.entries(v)) m.set(k.toLowerCase(), val);
  return m;
}

/** A member's value: undefined when absent, null when null, else checked by `read`. */
function member<T>(m: Map<string, unknown>, name: string, read: (field: string, v: unknown) => T): T | null | undefined {
  const v = m.get(name.toLowerCase());
  return v === undefined ? undefined : v === null ? null : read(name, v);
}

export function str(field: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidArgument(field, 'must be a string');
  return v;
}

export function int32(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw invalidArgument(field, 'must be a 32-bit integer');
  }
  return v;
}

function strings(max: number) {
  return (field: string, v: unknown): string[] => {
    if (!Array.isArray(v)) throw invalidArgument(field, 'must be an array of strings');
    checkCount(field, v.length, max);
    return v.filter((e) => e !== null).map((e, i) => str(`${field}[${i}]`, e));
  };
}

/** An enum member by name (any case) or number, as Json.NET's StringEnumConverter reads it. */
export function enumName<T extends string>(field: string, names: readonly T[], v: unknown): T {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < names.length) return names[v] as T;
  if (typeof v === 'string') {
    const hit = names.find((n) => n.toLowerCase() === v.trim().toLowerCase());
    if (hit) return hit;
  }
  throw invalidArgument(field, `'${String(v).slice(0, 40)}' is not one of ${names.join(', ')}`);
}

export function stateOf(field: string, v: unknown): WebhookState {
  return enumName(field, webhookStates, v);
}

/** Flags as a bit value, "None", "Email, InApp", or an array of names. */
function flags<T extends string>(all: readonly T[]) {
  return (field: string, v: unknown): T[] => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v >= 1 << all.length) throw invalidArgument(field, `${v} is not a valid flag value`);
      return flagsFromInt(all, v);
    }
    const names = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : null;
    if (!names) throw invalidArgument(field, `must be a string of ${all.join(', ')} or None`);
    const out: T[] = [];
    for (const n of names) {
      const s = str(field, n).trim();
      if (s === '' || s.toLowerCase() === 'none') continue;
      const hit = enumName(field, all, s);
      if (!out.includes(hit)) out.push(hit);
    }
    return out;
  };
}

function stringRecord(max: number) {
  return (field: string, v: unknown): Record<string, string> => {
    if (!isObject(v)) throw invalidArgument(field, 'must be a JSON object of strings');
    const entries = Object.entries(v);
    checkCount(field, entries.length, max);
    // Null prototype: a key named __proto__ stays a key; the spread copies it as an own property.
    const out: Record<string, string> = Object.create(null);
    for (const [k, val] of entries) {
      if (k === '') throw invalidArgument(field, 'a key is empty');
      out[k] = str(`${field}.${k.slice(0, 80)}`, val);
    }
    return { ...out };
  };
}

/**
 * A StringObjectDictionary (Properties, SignalEvent Data): a JSON object whose values are any JSON (C#'s `object`),
 * nested objects and arrays kept as sent, in their order.
 */
export function propertyRecord(max: number) {
  return (field: string, v: unknown): Record<string, PropertyValue> => {
    if (!isObject(v)) throw invalidArgument(field, 'must be a JSON object');
    const entries = Object.entries(v);
    checkCount(field, entries.length, max);
    for (const [k] of entries) if (k === '') throw invalidArgument(field, 'a key is empty');
    return v as Record<string, PropertyValue>;
  };
}

function associateIds(field: string, v: unknown): number[] {
  if (!Array.isArray(v)) throw invalidArgument(field, 'must be an array of MDOListItem');
  checkCount(field, v.length, limits.errorAssociates);
  return v.map((item, i) => member(membersOf(`${field}[${i}]`, item), 'Id', int32) ?? 0).filter((id) => id > 0);
}

/** A JSON Webhook as a draft: absent members stay undefined (an update keeps them), null ones clear them. */
export function draftFromJson(v: unknown, field = 'Webhook'): WebhookDraft {
  if (v === undefined || v === null) throw invalidArgument(field, 'is required');
  const m = membersOf(field, v);
  return {
    webhookId: member(m, 'WebhookId', int32) ?? 0,
    name: member(m, 'Name', str),
    events: member(m, 'Events', strings(limits.events)),
    targetUrl: member(m, 'TargetUrl', str),
    secret: member(m, 'Secret', str),
    state: member(m, 'State', stateOf) ?? undefined,
    type: member(m, 'Type', str),
    headers: member(m, 'Headers', stringRecord(limits.headers)),
    properties: member(m, 'Properties', propertyRecord(limits.properties)),
    errorsEmail: member(m, 'ErrorsEmail', str),
    errorEmails: member(m, 'ErrorEmails', strings(limits.errorEmails)),
    errorAssociateIds: member(m, 'ErrorAssociates', associateIds),
    description: member(m, 'Description', str),
    notifyVia: member(m, 'NotifyVia', flags(notifyViaFlags)),
    notifyWhen: member(m, 'NotifyWhen', flags(notifyWhenFlags)),
  };
}

export { member };

/** `$select`: only the listed members keep their values; the others are nulled out, as NetServer does. */
export function applySelect(obj: JsonObject, select: string | undefined): JsonObject {
  if (!select || !select.trim()) return obj;
  const keep = new Set(select.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) out[k] = keep.has(k.toLowerCase()) || k === '_Links' ? v : null;
  return out;
}
