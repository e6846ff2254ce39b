/**
 * Wire (WSDL casing, dictionaries as Key/Value arrays) <-> domain (camelCase). The only place that knows both.
 */
import type { AssociateWire, KeyValueWire, WebhookWire } from '../../contract/wire-types.js';
import type { AssociateSummary, PropertyValue, Webhook, WebhookState } from '../../webhooks/types.js';
import { webhookStates, notifyViaFlags, notifyWhenFlags } from '../../webhooks/types.js';
import type { WebhookDraft } from '../../webhooks/validate.js';
import { invalidArgument } from '../../errors.js';
import { WCF_MIN_DATE_TIME } from '../wcf-date-time.js';
import { checkCount, limits } from '../../webhooks/validate.js';

export function dictionaryToRecord<V>(field: string, pairs: KeyValueWire<V>[] | null | undefined, max: number): Record<string, V> | null {
  if (pairs == null) return null;
  checkCount(field, pairs.length, max);
  const out: Record<string, V> = Object.create(null);
  for (const p of pairs) {
    if (p == null) continue;
    const key = p.Key ?? '';
    if (key === '') throw invalidArgument(field, 'a key is empty');
    if (Object.prototype.hasOwnProperty.call(out, key)) throw invalidArgument(field, `key '${key.slice(0, 80)}' appears twice`);
    out[key] = p.Value as V;
  }
  return { ...out };
}

export function recordToDictionary<V>(rec: Record<string, V> | null): KeyValueWire<V>[] | null {
  return rec == null ? null : Object.entries(rec).map(([Key, Value]) => ({ Key, Value }));
}

function flagsIn<T extends string>(field: string, all: readonly T[], v: readonly string[] | null | undefined): T[] {
  const out: T[] = [];
  for (const f of v ?? []) {
    if (!all.includes(f as T)) throw invalidArgument(field, `'${String(f).slice(0, 40)}' is not one of ${all.join(', ')}`);
    if (!out.includes(f as T)) out.push(f as T);
  }
  return out;
}

function stateIn(v: string | undefined | null): WebhookState | undefined {
  if (v == null || v === '') return undefined;
  if (!webhookStates.includes(v as WebhookState)) throw invalidArgument('State', `'${v.slice(0, 40)}' is not one of ${webhookStates.join(', ')}`);
  return v as WebhookState;
}

/** Absent elements stay undefined (an update keeps the stored value); nil ones become null (cleared). */
function opt<T, R>(v: T | null | undefined, f: (x: T) => R): R | null | undefined {
  return v === undefined ? undefined : v === null ? null : f(v);
}

export function draftFromWire(w: WebhookWire | null | undefined): WebhookDraft {
  if (!w) throw invalidArgument('Webhook', 'is required');
  const strings = (list: (string | null)[]) => list.filter((e): e is string => e != null);
  return {
    webhookId: w.WebhookId ?? 0,
    name: w.Name,
    events: opt(w.Events, strings),
    targetUrl: w.TargetUrl,
    secret: w.Secret,
    state: stateIn(w.State),
    type: w.Type,
    headers: opt(w.Headers, (h) => dictionaryToRecord('Headers', h, limits.headers)),
    properties: opt(w.Properties, (p) => dictionaryToRecord<PropertyValue>('Properties', p as KeyValueWire<PropertyValue>[], limits.properties)),
    errorsEmail: w.ErrorsEmail,
    errorEmails: opt(w.ErrorEmails, strings),
    errorAssociateIds: opt(w.ErrorAssociates, (list) => list.map((a) => a?.Id ?? 0).filter((id) => id > 0)),
    description: w.Description,
    notifyVia: opt(w.NotifyVia, (f) => flagsIn('NotifyVia', notifyViaFlags, f)),
    notifyWhen: opt(w.NotifyWhen, (f) => flagsIn('NotifyWhen', notifyWhenFlags, f)),
  };
}

function associateToWire(a: AssociateSummary | null): AssociateWire | null {
  if (!a) return null;
  return {
    TableRight: null,
    FieldProperties: null,
    AssociateId: a.associateId,
    Name: a.name,
    PersonId: a.personId,
    Rank: 0,
    Tooltip: a.fullName,
    Type: 'InternalAssociate',
    GroupIdx: 0,
    FullName: a.fullName,
    FormalName: a.fullName,
    Deleted: a.deleted,
    EjUserId: 0,
    UserName: a.userName,
    ExtraFields: null,
    CustomFields: null,
  };
}

/** Every member written, as WCF does; the serializer drops members the client's version does not have. */
export function webhookToWire(h: Webhook): WebhookWire {
  return {
    WebhookId: h.webhookId,
    Name: h.name || null,
    Events: h.events,
    TargetUrl: h.targetUrl || null,
    Secret: h.secret,
    State: h.state,
    Type: h.type,
    Headers: recordToDictionary(h.headers),
    Properties: recordToDictionary(h.properties),
    Registered: h.webhookId === 0 ? WCF_MIN_DATE_TIME : h.registered,
    RegisteredAssociate: associateToWire(h.registeredAssociate),
    Updated: h.updated ?? WCF_MIN_DATE_TIME,
    UpdatedAssociate: associateToWire(h.updatedAssociate),
    ErrorsEmail: h.errorsEmail,
    ErrorEmails: h.errorEmails,
    ErrorAssociates: h.errorAssociateIds?.map((id) => ({
      TableRight: null, FieldProperties: null, Id: id, Name: null, ToolTip: null, Deleted: false, Rank: 0, Type: null,
      ChildItems: null, IconHint: null, ColorBlock: 0, ExtraInfo: null, StyleHint: null, FullName: null,
    })) ?? null,
    Description: h.description,
    NotifyVia: h.notifyVia,
    NotifyWhen: h.notifyWhen,
    TotalCalls: h.totalCalls,
    TotalErrors: h.totalErrors,
    ConsecutiveErrors: h.consecutiveErrors,
    LastError: h.lastError,
  };
}
