/**
 * Webhooks in NetServer's tables (`webhook`, `webhook_usage`, `webhook_notify`) plus our `webhook_event` rows, the
 * index behind SignalEvent and the Event filter. The `events` comma list is written as well, so NetServer itself
 * (or anything reading its schema) still sees the subscriptions.
 *
 * Stored formats: headers and properties are plain JSON objects (NetServer's "JSON blob"); a Date inside properties
 * is stored as its ISO string and read back as that string. ErrorEmails rows have email_recipient, ErrorAssociates
 * rows have associate_id, each read back in the order saved; no rows read back as [] (not null). The secret goes
 * through the caller's SecretCodec (encrypted when a key is configured; plaintext without a codec).
 */
import type { Knex } from 'knex';
import { invalidArgument } from '../errors.js';
import {
  flagsFromInt,
  flagsToInt,
  notifyViaFlags,
  notifyWhenFlags,
  stateFromInt,
  stateToInt,
  type AssociateSummary,
  type PropertyValue,
  type Webhook,
  type WebhookFilter,
  type WebhookInput,
} from '../webhooks/types.js';
import {
  insertInChunks,
  isUniqueViolation,
  knexOf,
  toDate,
  toInt,
  toRequiredDate,
  withTransaction,
  type Queryable,
} from './row-mapping.js';
import { createSecretCodec, type SecretCodec } from './secret-codec.js';

/** How `webhook.secret` is stored (secret-codec.ts); without one, as plaintext. */
export interface SecretOptions {
  secrets?: SecretCodec;
}

const plaintextSecrets = createSecretCodec();

/** The input with its secret in stored form. */
function storedForm(input: WebhookInput, opts: SecretOptions): WebhookInput {
  return { ...input, secret: (opts.secrets ?? plaintextSecrets).encode(input.secret) };
}

/** Column limits from NetServer's schema (and ours for event_name). */
const EVENTS_COLUMN_MAX = 4000;
const EVENT_NAME_MAX = 400;

/**
 * Events as stored: trimmed, empty entries dropped, duplicates removed (first occurrence wins, keeping the order).
 * The same rule reads NetServer's comma list, so writing and backfilling agree.
 */
export function normalizeEvents(events: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of events) {
    const e = raw.trim();
    if (e === '' || seen.has(e)) continue;
    seen.add(e);
    out.push(e);
  }
  return out;
}

/** NetServer's `events` column: "Comma separated list of event names". */
export function parseEventsColumn(value: string | null | undefined): string[] {
  return normalizeEvents((value ?? '').split(','));
}

function checkedEvents(events: readonly string[]): string[] {
  const list = normalizeEvents(events);
  for (const e of list) {
    if (e.includes(',')) throw invalidArgument('Events', `event name '${e}' must not contain a comma`);
    if (e.length > EVENT_NAME_MAX) throw invalidArgument('Events', `event names are at most ${EVENT_NAME_MAX} characters`);
  }
  if (list.join(',').length > EVENTS_COLUMN_MAX) {
    throw invalidArgument('Events', `the comma-separated event list is at most ${EVENTS_COLUMN_MAX} characters`);
  }
  return list;
}

function serializeHeaders(headers: Record<string, string> | null): string | null {
  return headers === null ? null : JSON.stringify(headers);
}

function serializeProperties(properties: Record<string, PropertyValue> | null): string | null {
  // JSON.stringify writes a Date as its ISO string (Date.prototype.toJSON).
  return properties === null ? null : JSON.stringify(properties);
}

function parseJsonObject(text: unknown): Record<string, unknown> | null {
  if (typeof text !== 'string' || text.trim() === '') return null;
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    // A corrupt blob must not make the whole list unreadable.
    return null;
  }
}

export function parseHeaders(text: unknown): Record<string, string> | null {
  const obj = parseJsonObject(text);
  if (obj === null) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = typeof v === 'string' ? v : v === null ? '' : JSON.stringify(v);
  return out;
}

/**
 * Values outside PropertyValue (nested objects, arrays of non-strings; possible in rows written by other tools)
 * become strings, so the domain type holds.
 */
export function parseProperties(text: unknown): Record<string, PropertyValue> | null {
  const obj = parseJsonObject(text);
  if (obj === null) return null;
  const out: Record<string, PropertyValue> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
    else out[k] = JSON.stringify(v);
  }
  return out;
}

function webhookColumns(input: WebhookInput, events: string[]) {
  return {
    name: input.name,
    events: events.join(','),
    target_url: input.targetUrl,
    type: input.type,
    headers: serializeHeaders(input.headers),
    properties: serializeProperties(input.properties),
    secret: input.secret,
    state: stateToInt(input.state),
    errors_email: input.errorsEmail,
    description: input.description,
    notify_via: flagsToInt(notifyViaFlags, input.notifyVia),
    notify_when: flagsToInt(notifyWhenFlags, input.notifyWhen),
  };
}

async function insertEventRows(trx: Knex.Transaction, webhookId: number, events: string[]): Promise<void> {
  const rows = events.map((event_name, ordinal) => ({ webhook_id: webhookId, event_name, ordinal }));
  await insertInChunks(trx, 'webhook_event', rows);
}

async function insertNotifyRows(
  trx: Knex.Transaction,
  webhookId: number,
  input: WebhookInput,
  at: Date,
  associateId: number,
): Promise<void> {
  const audit = { registered: at, registered_associate_id: associateId, updated: null, updated_associate_id: 0, updatedCount: 0 };
  const rows = [
    ...(input.errorEmails ?? []).map((email) => ({ webhook_id: webhookId, associate_id: null, email_recipient: email, ...audit })),
    ...(input.errorAssociateIds ?? []).map((id) => ({ webhook_id: webhookId, associate_id: id, email_recipient: null, ...audit })),
  ];
  await insertInChunks(trx, 'webhook_notify', rows);
}

/** The INSERT of the `webhook` row, returning its id (RETURNING on pg/SQLite, OUTPUT inserted.* on SQL Server). */
export function webhookInsertQuery(k: Knex, input: WebhookInput, events: string[], at: Date, associateId: number): Knex.QueryBuilder {
  return k('webhook')
    .insert({
      ...webhookColumns(input, events),
      application_token: null,
      registered: at,
      registered_associate_id: associateId,
      updated: null,
      updated_associate_id: 0,
      updatedCount: 0,
    })
    .returning('webhook_id');
}

/** Inserts the webhook with its usage, event and notify rows in one transaction (the caller's, when given one). */
export async function createWebhook(
  db: Queryable,
  input: WebhookInput,
  at: Date,
  associateId: number,
  opts: SecretOptions = {},
): Promise<number> {
  const events = checkedEvents(input.events);
  const stored = storedForm(input, opts);
  return withTransaction(db, async (trx) => {
    const inserted = (await webhookInsertQuery(trx, stored, events, at, associateId)) as Array<{ webhook_id: unknown } | number>;
    const first = inserted[0];
    const webhookId = toInt(typeof first === 'object' ? first.webhook_id : first);
    await trx('webhook_usage').insert({
      webhook_usage_id: webhookId,
      total_calls: 0,
      total_errors: 0,
      consecutive_errors: 0,
      last_error: null,
      registered: at,
      registered_associate_id: associateId,
      updated: null,
      updated_associate_id: 0,
      updatedCount: 0,
    });
    await insertEventRows(trx, webhookId, events);
    await insertNotifyRows(trx, webhookId, input, at, associateId);
    return webhookId;
  });
}

/**
 * Replaces the webhook's fields, events and notify recipients; bumps updatedCount. Usage counters are left alone.
 * false when there is no such webhook.
 */
export async function updateWebhook(
  db: Queryable,
  webhookId: number,
  input: WebhookInput,
  at: Date,
  associateId: number,
  opts: SecretOptions = {},
): Promise<boolean> {
  const events = checkedEvents(input.events);
  const stored = storedForm(input, opts);
  return withTransaction(db, async (trx) => {
    const n = await trx('webhook')
      .where('webhook_id', webhookId)
      .update({
        ...webhookColumns(stored, events),
        updated: at,
        updated_associate_id: associateId,
        updatedCount: trx.raw('?? + 1', ['updatedCount']),
      });
    if (n === 0) return false;
    await trx('webhook_event').where('webhook_id', webhookId).delete();
    await insertEventRows(trx, webhookId, events);
    await trx('webhook_notify').where('webhook_id', webhookId).delete();
    await insertNotifyRows(trx, webhookId, input, at, associateId);
    return true;
  });
}

/** Applies a WebhookFilter (plus an optional id) to a query over `webhook as w`. */
export function applyWebhookFilter(
  k: Knex,
  q: Knex.QueryBuilder,
  filter: WebhookFilter & { webhookId?: number },
): Knex.QueryBuilder {
  if (filter.webhookId !== undefined) q.where('w.webhook_id', filter.webhookId);
  if (filter.name) q.whereRaw('lower(??) = lower(?)', ['w.name', filter.name]);
  if (filter.event) q.whereIn('w.webhook_id', k('webhook_event').select('webhook_id').where('event_name', filter.event));
  if (filter.state && filter.state !== 'Unknown') q.where('w.state', stateToInt(filter.state));
  return q;
}

const webhookSelect = [
  'w.webhook_id',
  'w.name',
  'w.events',
  'w.target_url',
  'w.type',
  'w.headers',
  'w.properties',
  'w.secret',
  'w.state',
  'w.registered',
  'w.registered_associate_id',
  'w.updated',
  'w.updated_associate_id',
  'w.errors_email',
  'w.description',
  'w.notify_via',
  'w.notify_when',
  'u.total_calls',
  'u.total_errors',
  'u.consecutive_errors',
  'u.last_error',
];

/** The Registered/Updated associate columns, joined so that reading hooks needs no extra round trip. */
function associateSelect(alias: 'ra' | 'ua'): string[] {
  return ['associate_id', 'name', 'full_name', 'person_id', 'deleted'].map((c) => `${alias}.${c} as ${alias}_${c}`);
}

function joinedAssociate(r: Record<string, unknown>, alias: 'ra' | 'ua', id: number): AssociateSummary | null {
  if (id <= 0) return null;
  if (r[`${alias}_associate_id`] == null) {
    // An id from an imported NetServer row may name an associate we do not have: keep the id, names unknown.
    return { associateId: id, name: '', fullName: '', userName: '', personId: 0, deleted: false };
  }
  const name = String(r[`${alias}_name`] ?? '');
  return {
    associateId: id, name, fullName: String(r[`${alias}_full_name`] ?? ''), userName: name,
    personId: toInt(r[`${alias}_person_id`]), deleted: toInt(r[`${alias}_deleted`]) !== 0,
  };
}

/** The first of the queries behind getWebhook/listWebhooks: hooks with their usage counters, by webhook_id. */
export function webhooksQuery(k: Knex, filter: WebhookFilter & { webhookId?: number }): Knex.QueryBuilder {
  const q = k('webhook as w')
    .leftJoin('webhook_usage as u', 'u.webhook_usage_id', 'w.webhook_id')
    .leftJoin('associate as ra', 'ra.associate_id', 'w.registered_associate_id')
    .leftJoin('associate as ua', 'ua.associate_id', 'w.updated_associate_id')
    .select([...webhookSelect, ...associateSelect('ra'), ...associateSelect('ua')])
    .orderBy('w.webhook_id');
  return applyWebhookFilter(k, q, filter);
}

/** Ids matched by the filter, as a subquery: the child queries repeat the filter instead of listing ids. */
function matchedIds(k: Knex, filter: WebhookFilter & { webhookId?: number }): Knex.QueryBuilder {
  return applyWebhookFilter(k, k('webhook as w').select('w.webhook_id'), filter);
}

interface WebhookRow {
  webhook_id: unknown;
  name: string | null;
  events: string | null;
  target_url: string | null;
  type: string | null;
  headers: unknown;
  properties: unknown;
  secret: string | null;
  state: unknown;
  registered: unknown;
  registered_associate_id: unknown;
  updated: unknown;
  updated_associate_id: unknown;
  errors_email: string | null;
  description: string | null;
  notify_via: unknown;
  notify_when: unknown;
  total_calls: unknown;
  total_errors: unknown;
  consecutive_errors: unknown;
  last_error: string | null;
}

function notifyQuery(k: Knex, filter: WebhookFilter & { webhookId?: number }): Knex.QueryBuilder {
  return k('webhook_notify')
    .select('webhook_id', 'associate_id', 'email_recipient')
    .whereIn('webhook_id', matchedIds(k, filter))
    .orderBy('webhook_notify_id');
}

/** The bindings applyWebhookFilter produces, in its order. */
function filterBindings(filter: WebhookFilter & { webhookId?: number }): Array<string | number> {
  const b: Array<string | number> = [];
  if (filter.webhookId !== undefined) b.push(filter.webhookId);
  if (filter.name) b.push(filter.name);
  if (filter.event) b.push(filter.event);
  if (filter.state && filter.state !== 'Unknown') b.push(stateToInt(filter.state));
  return b;
}

/**
 * The two read statements compiled once per knex instance and filter shape: building them with knex costs more
 * than running them (a fifth of a GetWebhook request). A shape is only cached when knex's own bindings are the
 * ones filterBindings computes, so the cache can never run a statement with misplaced values.
 */
const readCache = new WeakMap<Knex, Map<string, { hooks: string; notify: string } | null>>();

function compiledReads(k: Knex, filter: WebhookFilter & { webhookId?: number }) {
  const bindings = filterBindings(filter);
  const shape = [filter.webhookId !== undefined, !!filter.name, !!filter.event, !!filter.state && filter.state !== 'Unknown'].join();
  let perKnex = readCache.get(k);
  if (!perKnex) readCache.set(k, (perKnex = new Map()));
  let entry = perKnex.get(shape);
  if (entry === undefined) {
    const hooks = webhooksQuery(k, filter).toSQL();
    const notify = notifyQuery(k, filter).toSQL();
    const same = (b: readonly unknown[]) => b.length === bindings.length && b.every((v, i) => v === bindings[i]);
    entry = same(hooks.bindings) && same(notify.bindings) ? { hooks: hooks.sql, notify: notify.sql } : null;
    perKnex.set(shape, entry);
  }
  if (entry) return { hooks: entry.hooks, hooksBindings: bindings, notify: entry.notify, notifyBindings: bindings };
  const hooks = webhooksQuery(k, filter).toSQL();
  const notify = notifyQuery(k, filter).toSQL();
  return { hooks: hooks.sql, hooksBindings: hooks.bindings as Array<string | number>, notify: notify.sql,
    notifyBindings: notify.bindings as Array<string | number> };
}

/** Rows of a raw SELECT, whatever the driver's result shape (pg: {rows}; SQLite, SQL Server: an array). */
async function rawRows(k: Knex, sql: string, bindings: ReadonlyArray<string | number>): Promise<unknown[]> {
  const r = (await k.raw(sql, bindings as Array<string | number>)) as unknown;
  return Array.isArray(r) ? r : ((r as { rows?: unknown[] }).rows ?? []);
}

function pushTo<T>(map: Map<number, T[]>, key: number, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Two queries whatever the number of hooks: hooks (with usage and associates joined), notify rows. */
async function loadWebhooks(db: Queryable, filter: WebhookFilter & { webhookId?: number }, opts: SecretOptions): Promise<Webhook[]> {
  const secrets = opts.secrets ?? plaintextSecrets;
  const k = knexOf(db);
  const compiled = compiledReads(k, filter);
  const rows = (await rawRows(k, compiled.hooks, compiled.hooksBindings)) as WebhookRow[];
  if (rows.length === 0) return [];

  const notifyRows = (await rawRows(k, compiled.notify, compiled.notifyBindings)) as Array<{
    webhook_id: unknown; associate_id: unknown; email_recipient: string | null;
  }>;
  const emailsById = new Map<number, string[]>();
  const associatesById = new Map<number, number[]>();
  for (const r of notifyRows) {
    const id = toInt(r.webhook_id);
    const associateId = toInt(r.associate_id);
    // NetServer: "If [associate_id is] set, email_recipient is ignored"; the e-mail is "Used when associate_id is 0".
    if (associateId > 0) {
      pushTo(associatesById, id, associateId);
    } else if (r.email_recipient) {
      pushTo(emailsById, id, r.email_recipient);
    }
  }

  return rows.map((r) => {
    const id = toInt(r.webhook_id);
    const state = stateFromInt(toInt(r.state));
    return {
      webhookId: id,
      name: r.name ?? '',
      // The comma list is the source of truth (NetServer's column; webhook_event rows are its index, kept in step
      // on every write and by backfillEventRows for rows NetServer wrote).
      events: parseEventsColumn(r.events),
      targetUrl: r.target_url ?? '',
      secret: secrets.decode(r.secret),
      // 0 (Unknown) is not a state a hook can be saved in; treat such a row as not delivering.
      state: state === 'Unknown' ? 'Stopped' : state,
      type: r.type ?? '',
      headers: parseHeaders(r.headers),
      properties: parseProperties(r.properties),
      errorsEmail: r.errors_email,
      errorEmails: emailsById.get(id) ?? [],
      errorAssociateIds: associatesById.get(id) ?? [],
      description: r.description,
      notifyVia: flagsFromInt(notifyViaFlags, toInt(r.notify_via)),
      notifyWhen: flagsFromInt(notifyWhenFlags, toInt(r.notify_when)),
      registered: toRequiredDate(r.registered),
      registeredAssociate: joinedAssociate(r as unknown as Record<string, unknown>, 'ra', toInt(r.registered_associate_id)),
      updated: toDate(r.updated),
      updatedAssociate: joinedAssociate(r as unknown as Record<string, unknown>, 'ua', toInt(r.updated_associate_id)),
      totalCalls: toInt(r.total_calls),
      totalErrors: toInt(r.total_errors),
      consecutiveErrors: toInt(r.consecutive_errors),
      lastError: r.last_error ?? null,
    };
  });
}

export async function getWebhook(db: Queryable, webhookId: number, opts: SecretOptions = {}): Promise<Webhook | null> {
  const [hook] = await loadWebhooks(db, { webhookId }, opts);
  return hook ?? null;
}

/**
 * name: exact, case-insensitive; event: hooks subscribed to exactly that event; state: that state. Empty values
 * and Unknown mean no filter. Ordered by webhook_id.
 */
export async function listWebhooks(db: Queryable, filter: WebhookFilter = {}, opts: SecretOptions = {}): Promise<Webhook[]> {
  return loadWebhooks(db, { name: filter.name, event: filter.event, state: filter.state }, opts);
}

/**
 * Deletes the webhook and its usage, event and notify rows in one transaction. beforeDelete runs first, inside
 * that transaction, only when the webhook exists (the outbox uses it to cancel pending deliveries).
 * false when there is no such webhook.
 */
export async function deleteWebhook(
  db: Queryable,
  webhookId: number,
  beforeDelete?: (trx: Knex.Transaction, webhookId: number) => Promise<void>,
): Promise<boolean> {
  return withTransaction(db, async (trx) => {
    const exists = await trx('webhook').where('webhook_id', webhookId).first('webhook_id');
    if (!exists) return false;
    if (beforeDelete) await beforeDelete(trx, webhookId);
    await trx('webhook_event').where('webhook_id', webhookId).delete();
    await trx('webhook_notify').where('webhook_id', webhookId).delete();
    await trx('webhook_usage').where('webhook_usage_id', webhookId).delete();
    return (await trx('webhook').where('webhook_id', webhookId).delete()) > 0;
  });
}

/** webhook_usage.last_error; null when none; undefined when there is no such webhook. */
/** A hook re-activated by its owner starts counting failures afresh (NetServer: the receiver resets the state). */
export async function resetConsecutiveErrors(db: Queryable, webhookId: number): Promise<void> {
  await knexOf(db)('webhook_usage').where('webhook_usage_id', webhookId).update({ consecutive_errors: 0 });
}

export async function getLastError(db: Queryable, webhookId: number): Promise<string | null | undefined> {
  const row = (await knexOf(db)('webhook as w')
    .leftJoin('webhook_usage as u', 'u.webhook_usage_id', 'w.webhook_id')
    .where('w.webhook_id', webhookId)
    .first('w.webhook_id', 'u.last_error')) as { webhook_id: unknown; last_error: string | null } | undefined;
  if (!row) return undefined;
  return row.last_error ?? null;
}

export function activeSubscribersQuery(k: Knex, eventName: string): Knex.QueryBuilder {
  return k('webhook_event as e')
    .join('webhook as w', 'w.webhook_id', 'e.webhook_id')
    .where('e.event_name', eventName)
    .andWhere('w.state', stateToInt('Active'))
    .select('e.webhook_id')
    .orderBy('e.webhook_id');
}

/** Ids of Active hooks subscribed to eventName, ascending (an index range on webhook_event(event_name)). */
export async function activeSubscriberIds(db: Queryable, eventName: string): Promise<number[]> {
  const rows = (await activeSubscribersQuery(knexOf(db), eventName)) as Array<{ webhook_id: unknown }>;
  return rows.map((r) => toInt(r.webhook_id));
}

export interface BackfillResult {
  /** Webhooks whose webhook_event rows were rewritten from their `events` column. */
  webhooksFixed: number;
  eventRowsWritten: number;
  /** webhook_usage rows created for webhooks that had none. */
  usageRowsCreated: number;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function backfillOnce(db: Queryable): Promise<BackfillResult> {
  const k = knexOf(db);
  const hooks = (await k('webhook').select('webhook_id', 'events', 'registered', 'registered_associate_id').orderBy('webhook_id')) as Array<{
    webhook_id: unknown;
    events: string | null;
    registered: unknown;
    registered_associate_id: unknown;
  }>;
  const eventRows = (await k('webhook_event')
    .select('webhook_id', 'event_name')
    .orderBy([{ column: 'webhook_id' }, { column: 'ordinal' }])) as Array<{ webhook_id: unknown; event_name: string }>;
  const usageIds = new Set(((await k('webhook_usage').select('webhook_usage_id')) as Array<{ webhook_usage_id: unknown }>).map((r) => toInt(r.webhook_usage_id)));

  const stored = new Map<number, string[]>();
  for (const r of eventRows) {
    const id = toInt(r.webhook_id);
    stored.set(id, [...(stored.get(id) ?? []), r.event_name]);
  }

  const fixes: Array<{ id: number; events: string[] }> = [];
  const missingUsage: Array<{ id: number; registered: Date; associateId: number }> = [];
  for (const h of hooks) {
    const id = toInt(h.webhook_id);
    // Names that cannot be stored as rows are left out; they could never be matched by a saved hook either.
    const expected = parseEventsColumn(h.events).filter((e) => e.length <= EVENT_NAME_MAX);
    if (!sameList(expected, stored.get(id) ?? [])) fixes.push({ id, events: expected });
    if (!usageIds.has(id)) {
      missingUsage.push({ id, registered: toRequiredDate(h.registered), associateId: toInt(h.registered_associate_id) });
    }
  }
  if (fixes.length === 0 && missingUsage.length === 0) return { webhooksFixed: 0, eventRowsWritten: 0, usageRowsCreated: 0 };

  return withTransaction(db, async (trx) => {
    let eventRowsWritten = 0;
    for (const f of fixes) {
      await trx('webhook_event').where('webhook_id', f.id).delete();
      await insertEventRows(trx, f.id, f.events);
      eventRowsWritten += f.events.length;
    }
    const usageRows = missingUsage.map((m) => ({
      webhook_usage_id: m.id,
      total_calls: 0,
      total_errors: 0,
      consecutive_errors: 0,
      last_error: null,
      registered: m.registered,
      registered_associate_id: m.associateId,
      updated: null,
      updated_associate_id: 0,
      updatedCount: 0,
    }));
    await insertInChunks(trx, 'webhook_usage', usageRows);
    return { webhooksFixed: fixes.length, eventRowsWritten, usageRowsCreated: usageRows.length };
  });
}

/**
 * Makes rows written by NetServer itself (a migrated NetServer database) usable: rewrites webhook_event rows of
 * every webhook whose `events` column disagrees with them (missing rows included) and creates missing
 * webhook_usage rows. Our own writes keep both in step, so on our rows this changes nothing: idempotent, cheap
 * (three reads when there is nothing to do). Run it after migrateLatest at startup. Two processes starting at once
 * may race on the same rows; the loser sees a unique violation and simply re-reads.
 */
export async function backfillEventRows(db: Queryable): Promise<BackfillResult> {
  try {
    return await backfillOnce(db);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    return backfillOnce(db);
  }
}
