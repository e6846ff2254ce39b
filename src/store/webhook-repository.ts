/**
 * Webhooks in NetServer's tables (`webhook`, `webhook_usage`, `webhook_notify`) plus our `webhook_event` rows, the
 * index behind SignalEvent and the Event filter. The `events` comma list is written as well, so NetServer itself
 * (or anything reading its schema) still sees the subscriptions.
 *
 * Stored formats: headers and properties are plain JSON objects (NetServer's "JSON blob", a text column on every
 * dialect, so nested values keep their key order); a Date inside properties is stored as its ISO string and read
 * back as that string. ErrorEmails rows have email_recipient, ErrorAssociates
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
  type WebhookState,
} from '../webhooks/types.js';
import type { Dialect } from './db.js';
import {
  dialectOfKnex,
  insertedXsIntId,
  insertInChunks,
  isUniqueViolation,
  knexOf,
  selectArrays,
  toDate,
  toInt,
  toRequiredDate,
  withTransaction,
  type Queryable,
} from './row-mapping.js';
import type { SecretCodec } from './secret-codec.js';
import { returningInto } from './mssql-output.js';
import { jsonSafeNumber, parseExact, stringifyExact } from '../webhooks/exact-json.js';
import { subscriptionKeys } from '../webhooks/event-match.js';

/**
 * How `webhook.secret` is stored (secret-codec.ts). Required: a default would store secrets as plaintext in a
 * process that has an encryption key configured.
 */
export interface SecretOptions {
  secrets: SecretCodec;
}

/** The input with its secret in stored form. */
function storedForm(input: WebhookInput, opts: SecretOptions): WebhookInput {
  return { ...input, secret: opts.secrets.encode(input.secret) };
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

export function serializeHeaders(headers: Record<string, string> | null): string | null {
  return headers === null ? null : JSON.stringify(headers);
}

export function serializeProperties(properties: Record<string, PropertyValue> | null): string | null {
  // A Date is written as its ISO string (Date.prototype.toJSON); longs and decimals with all their digits; NaN and
  // the infinities as NetServer's JSON writes them, strings.
  if (properties === null) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(properties)) {
    // defineProperty: a property named __proto__ stays a plain key.
    Object.defineProperty(out, k, { value: typeof v === 'number' ? jsonSafeNumber(v) : v, enumerable: true, writable: true, configurable: true });
  }
  return stringifyExact(out);
}

function parseJsonObject(text: unknown): Record<string, unknown> | null {
  if (typeof text !== 'string' || text.trim() === '') return null;
  try {
    const v: unknown = parseExact(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    // A corrupt blob must not make the whole list unreadable.
    return null;
  }
}

export function parseHeaders(text: unknown): Record<string, string> | null {
  const obj = parseJsonObject(text);
  if (obj === null) return null;
  // What we write holds only strings: then the parsed object is the answer as it is.
  if (Object.values(obj).every((v) => typeof v === 'string')) return obj as Record<string, string>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = typeof v === 'string' ? v : v === null ? '' : stringifyExact(v);
  return out;
}

/** Every JSON value is a PropertyValue: nested objects and arrays are read back as stored, keys in order. */
export function parseProperties(text: unknown): Record<string, PropertyValue> | null {
  return parseJsonObject(text) as Record<string, PropertyValue> | null;
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

/** The INSERT of the `webhook` row, returning its id (RETURNING on pg/SQLite, OUTPUT ... INTO on SQL Server). */
export function webhookInsertQuery(k: Knex, input: WebhookInput, events: string[], at: Date, associateId: number): Knex.QueryBuilder | Knex.Raw {
  return returningInto(k, k('webhook')
    .insert({
      ...webhookColumns(input, events),
      application_token: null,
      registered: at,
      registered_associate_id: associateId,
      updated: null,
      updated_associate_id: 0,
      updatedCount: 0,
    }), { webhook_id: 'int' });
}

/** Inserts the webhook with its usage, event and notify rows in one transaction (the caller's, when given one). */
export async function createWebhook(
  db: Queryable,
  input: WebhookInput,
  at: Date,
  associateId: number,
  opts: SecretOptions,
): Promise<number> {
  const events = checkedEvents(input.events);
  const stored = storedForm(input, opts);
  return withTransaction(db, async (trx) => {
    const webhookId = await insertedXsIntId('webhook', async () => {
      const inserted = (await webhookInsertQuery(trx, stored, events, at, associateId)) as Array<{ webhook_id: unknown } | number>;
      const first = inserted[0];
      return toInt(typeof first === 'object' ? first.webhook_id : first);
    });
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
  opts: SecretOptions,
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
  // The hooks that receive that event, wildcard subscriptions included (event-match.ts).
  if (filter.event) q.whereIn('w.webhook_id', k('webhook_event').select('webhook_id').whereIn('event_name', subscriptionKeys(filter.event)));
  if (filter.state && filter.state !== 'Unknown') q.where('w.state', stateToInt(filter.state));
  return q;
}

/**
 * What a webhook read selects, by the name each column is read back as (its position in the row is its place here).
 * The Registered/Updated associates are joined so that reading hooks needs no extra round trip, and so are the
 * webhook_notify rows: a hook comes back as one row per notify row (one row when it has none), consecutive, so one
 * statement reads everything.
 */
const readColumns = {
  webhook_id: 'w.webhook_id',
  name: 'w.name',
  events: 'w.events',
  target_url: 'w.target_url',
  type: 'w.type',
  headers: 'w.headers',
  properties: 'w.properties',
  secret: 'w.secret',
  state: 'w.state',
  registered: 'w.registered',
  registered_associate_id: 'w.registered_associate_id',
  updated: 'w.updated',
  updated_associate_id: 'w.updated_associate_id',
  errors_email: 'w.errors_email',
  description: 'w.description',
  notify_via: 'w.notify_via',
  notify_when: 'w.notify_when',
  total_calls: 'u.total_calls',
  total_errors: 'u.total_errors',
  consecutive_errors: 'u.consecutive_errors',
  last_error: 'u.last_error',
  ra_associate_id: 'ra.associate_id',
  ra_name: 'ra.name',
  ra_full_name: 'ra.full_name',
  ra_user_name: 'ra.user_name',
  ra_person_id: 'ra.person_id',
  ra_deleted: 'ra.deleted',
  ua_associate_id: 'ua.associate_id',
  ua_name: 'ua.name',
  ua_full_name: 'ua.full_name',
  ua_user_name: 'ua.user_name',
  ua_person_id: 'ua.person_id',
  ua_deleted: 'ua.deleted',
  notify_id: 'n.webhook_notify_id',
  notify_associate_id: 'n.associate_id',
  notify_email: 'n.email_recipient',
} as const;

type ReadColumn = keyof typeof readColumns;
const col = Object.fromEntries(Object.keys(readColumns).map((name, i) => [name, i])) as Record<ReadColumn, number>;

/** The statement behind getWebhook/listWebhooks: hooks with usage, associates and notify rows, by webhook_id. */
export function webhooksQuery(k: Knex, filter: WebhookFilter & { webhookId?: number }): Knex.QueryBuilder {
  const q = k('webhook as w')
    .leftJoin('webhook_usage as u', 'u.webhook_usage_id', 'w.webhook_id')
    .leftJoin('associate as ra', 'ra.associate_id', 'w.registered_associate_id')
    .leftJoin('associate as ua', 'ua.associate_id', 'w.updated_associate_id')
    .leftJoin('webhook_notify as n', 'n.webhook_id', 'w.webhook_id')
    .select(Object.entries(readColumns).map(([name, column]) => `${column} as ${name}`))
    .orderBy('w.webhook_id')
    .orderBy('n.webhook_notify_id');
  return applyWebhookFilter(k, q, filter);
}

/** Where the Registered (ra) and Updated (ua) associate's columns are in a read row. */
const associateColumns = {
  ra: { id: col.ra_associate_id, name: col.ra_name, fullName: col.ra_full_name, userName: col.ra_user_name, personId: col.ra_person_id, deleted: col.ra_deleted },
  ua: { id: col.ua_associate_id, name: col.ua_name, fullName: col.ua_full_name, userName: col.ua_user_name, personId: col.ua_person_id, deleted: col.ua_deleted },
};

function joinedAssociate(r: readonly unknown[], alias: 'ra' | 'ua', id: number): AssociateSummary | null {
  if (id <= 0) return null;
  const c = associateColumns[alias];
  if (r[c.id] == null) {
    // An id from an imported NetServer row may name an associate we do not have: keep the id, names unknown.
    return { associateId: id, name: '', fullName: '', userName: '', personId: 0, deleted: false };
  }
  const name = String(r[c.name] ?? '');
  return {
    associateId: id, name, fullName: String(r[c.fullName] ?? ''), userName: String(r[c.userName] || name),
    personId: toInt(r[c.personId]), deleted: toInt(r[c.deleted]) !== 0,
  };
}

/** The bindings applyWebhookFilter produces, in its order. */
function filterBindings(filter: WebhookFilter & { webhookId?: number }): Array<string | number> {
  const b: Array<string | number> = [];
  if (filter.webhookId !== undefined) b.push(filter.webhookId);
  if (filter.name) b.push(filter.name);
  if (filter.event) b.push(...subscriptionKeys(filter.event));
  if (filter.state && filter.state !== 'Unknown') b.push(stateToInt(filter.state));
  return b;
}

/**
 * The read statement compiled once per knex instance and filter shape: building it with knex costs more than
 * running it (a fifth of a GetWebhook request). A shape is only cached when knex's own bindings are the ones
 * filterBindings computes, so the cache can never run a statement with misplaced values.
 */
const readCache = new WeakMap<Knex, Map<string, string | null>>();

function compiledRead(k: Knex, filter: WebhookFilter & { webhookId?: number }): { sql: string; bindings: Array<string | number> } {
  const bindings = filterBindings(filter);
  const shape = [filter.webhookId !== undefined, !!filter.name, filter.event ? subscriptionKeys(filter.event).length : 0,
    !!filter.state && filter.state !== 'Unknown'].join();
  let perKnex = readCache.get(k);
  if (!perKnex) readCache.set(k, (perKnex = new Map()));
  let sql = perKnex.get(shape);
  if (sql === undefined) {
    const q = webhooksQuery(k, filter).toSQL();
    const same = q.bindings.length === bindings.length && q.bindings.every((v, i) => v === bindings[i]);
    sql = same ? q.sql : null;
    perKnex.set(shape, sql);
  }
  if (sql !== null) return { sql, bindings };
  const q = webhooksQuery(k, filter).toSQL();
  return { sql: q.sql, bindings: q.bindings as Array<string | number> };
}

/** One statement whatever the number of hooks (see readColumns). */
async function loadWebhooks(db: Queryable, filter: WebhookFilter & { webhookId?: number }, opts: SecretOptions): Promise<Webhook[]> {
  const k = knexOf(db);
  const read = compiledRead(k, filter);
  return hooksFromRows(await selectArrays(k, read.sql, read.bindings), opts);
}

/** Rows of webhooksQuery (one per notify row, consecutive per hook) -> hooks. */
function hooksFromRows(rows: readonly unknown[][], opts: SecretOptions): Webhook[] {
  const secrets = opts.secrets;
  const hooks: Webhook[] = [];
  let hook: Webhook | undefined;
  for (const r of rows) {
    const id = toInt(r[col.webhook_id]);
    if (hook === undefined || hook.webhookId !== id) {
      hook = webhookFromRow(r, id, secrets);
      hooks.push(hook);
    }
    if (r[col.notify_id] == null) continue;
    const associateId = toInt(r[col.notify_associate_id]);
    const email = r[col.notify_email];
    // NetServer: "If [associate_id is] set, email_recipient is ignored"; the e-mail is "Used when associate_id is 0".
    if (associateId > 0) hook.errorAssociateIds!.push(associateId);
    else if (typeof email === 'string' && email !== '') hook.errorEmails!.push(email);
  }
  return hooks;
}

function textAt(r: readonly unknown[], i: number): string | null {
  const v = r[i];
  return v == null ? null : typeof v === 'string' ? v : String(v);
}

/** The `state` column as a hook's state: 0 (Unknown) is not a state a hook can be saved in; such a row is not delivering. */
function storedState(value: unknown): Exclude<WebhookState, 'Unknown'> {
  const state = stateFromInt(toInt(value));
  return state === 'Unknown' ? 'Stopped' : state;
}

/** A hook from the first of its rows; errorEmails and errorAssociateIds start empty and are filled from the notify columns. */
function webhookFromRow(r: readonly unknown[], id: number, secrets: SecretCodec): Webhook {
  return {
    webhookId: id,
    name: textAt(r, col.name) ?? '',
    // The comma list is the source of truth (NetServer's column; webhook_event rows are its index, kept in step
    // on every write and by backfillEventRows for rows NetServer wrote).
    events: parseEventsColumn(textAt(r, col.events)),
    targetUrl: textAt(r, col.target_url) ?? '',
    secret: secrets.decode(textAt(r, col.secret)),
    state: storedState(r[col.state]),
    type: textAt(r, col.type) ?? '',
    headers: parseHeaders(r[col.headers]),
    properties: parseProperties(r[col.properties]),
    errorsEmail: textAt(r, col.errors_email),
    errorEmails: [],
    errorAssociateIds: [],
    description: textAt(r, col.description),
    notifyVia: flagsFromInt(notifyViaFlags, toInt(r[col.notify_via])),
    notifyWhen: flagsFromInt(notifyWhenFlags, toInt(r[col.notify_when])),
    registered: toRequiredDate(r[col.registered]),
    registeredAssociate: joinedAssociate(r, 'ra', toInt(r[col.registered_associate_id])),
    updated: toDate(r[col.updated]),
    updatedAssociate: joinedAssociate(r, 'ua', toInt(r[col.updated_associate_id])),
    totalCalls: toInt(r[col.total_calls]),
    totalErrors: toInt(r[col.total_errors]),
    consecutiveErrors: toInt(r[col.consecutive_errors]),
    lastError: textAt(r, col.last_error),
  };
}

/** The hooks with these ids, ordered by webhook_id (ids that do not exist are left out). */
export async function getWebhooksByIds(db: Queryable, webhookIds: readonly number[], opts: SecretOptions): Promise<Webhook[]> {
  if (webhookIds.length === 0) return [];
  const k = knexOf(db);
  // Not through compiledRead's cache: the statement's shape depends on the number of ids.
  const q = webhooksQuery(k, {}).whereIn('w.webhook_id', [...webhookIds]).toSQL();
  return hooksFromRows(await selectArrays(k, q.sql, q.bindings as Array<string | number>), opts);
}

export async function getWebhook(db: Queryable, webhookId: number, opts: SecretOptions): Promise<Webhook | null> {
  const [hook] = await loadWebhooks(db, { webhookId }, opts);
  return hook ?? null;
}

/**
 * name: exact, case-insensitive; event: hooks that receive that event (subscribed to it exactly or by a wildcard;
 * webhooks/event-match.ts); state: that state. Empty values
 * and Unknown mean no filter. Ordered by webhook_id.
 */
export async function listWebhooks(db: Queryable, filter: WebhookFilter, opts: SecretOptions): Promise<Webhook[]> {
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

/**
 * The statement of lockWebhookState, per dialect (one binding: the webhook id; one column: state).
 *   PostgreSQL  FOR UPDATE: a second locking read of the row waits until this transaction ends, then reads what it
 *               committed.
 *   SQL Server  UPDLOCK, held to the end of the transaction; update locks exclude each other (shared ones would not,
 *               and two saves converting them for their UPDATE would deadlock). ROWLOCK keeps it to the one row and
 *               READCOMMITTEDLOCK keeps it a locking read of the committed row under READ_COMMITTED_SNAPSHOT, as in
 *               the claim (claim-mssql.ts). No HOLDLOCK: a missing row is answered not found, so there is no key
 *               range to hold, and range locks only add deadlocks.
 *   SQLite      a write as the transaction's first statement, returning the state it leaves unchanged. knex begins
 *               every SQLite transaction with a plain (deferred) `BEGIN;` and has no option for IMMEDIATE;
 *               `BEGIN IMMEDIATE` cannot be sent inside knex's transaction (SQLite refuses a nested BEGIN), and
 *               better-sqlite3's own transaction().immediate() (the claims' way, claim-sqlite.ts) only takes
 *               synchronous work, which a save (repository calls, fireStateEvent) is not. SQLite starts a write
 *               transaction when the first statement after a deferred BEGIN is a write, which is what IMMEDIATE
 *               does: the write lock is taken before anything is read, waiting like any write (busy_timeout, then
 *               db.ts's asynchronous busy wait, then SQLITE_BUSY as "database is busy"), and no other connection can
 *               change the row until COMMIT. A SELECT first would start a read transaction on a snapshot that may be
 *               stale, and its later UPDATE would fail with SQLITE_BUSY_SNAPSHOT instead of waiting. (Within one
 *               process the single pooled connection already runs transactions one at a time; the lock is for other
 *               processes on the same file.)
 */
export function webhookStateLockSql(dialect: Dialect): string {
  switch (dialect) {
    case 'pg':
      return 'select state from webhook where webhook_id = ? for update';
    case 'mssql':
      return 'SELECT state FROM [webhook] WITH (UPDLOCK, ROWLOCK, READCOMMITTEDLOCK) WHERE webhook_id = ?';
    default:
      return 'update webhook set state = state where webhook_id = ? returning state';
  }
}

/**
 * The webhook's state read under a lock held until trx ends, so that concurrent writers of the row take turns and
 * each sees what the one before it committed. null when there is no such webhook.
 */
export async function lockWebhookState(trx: Knex.Transaction, webhookId: number): Promise<Exclude<WebhookState, 'Unknown'> | null> {
  const [row] = await selectArrays(trx, webhookStateLockSql(dialectOfKnex(trx)), [webhookId]);
  return row ? storedState(row[0]) : null;
}

/** A hook re-activated by its owner starts counting failures afresh (NetServer: the receiver resets the state). */
export async function resetConsecutiveErrors(db: Queryable, webhookId: number): Promise<void> {
  await knexOf(db)('webhook_usage').where('webhook_usage_id', webhookId).update({ consecutive_errors: 0 });
}

/** webhook_usage.last_error; null when none; undefined when there is no such webhook. */
export async function getLastError(db: Queryable, webhookId: number): Promise<string | null | undefined> {
  const row = (await knexOf(db)('webhook as w')
    .leftJoin('webhook_usage as u', 'u.webhook_usage_id', 'w.webhook_id')
    .where('w.webhook_id', webhookId)
    .first('w.webhook_id', 'u.last_error')) as { webhook_id: unknown; last_error: string | null } | undefined;
  if (!row) return undefined;
  return row.last_error ?? null;
}

/**
 * Active hooks subscribed to any of `keys` (subscriptionKeys of an event name: the name and the wildcards that
 * receive it), each once. One index seek per key on webhook_event(event_name, webhook_id).
 */
export function activeSubscribersQuery(k: Knex, keys: readonly string[]): Knex.QueryBuilder {
  return k('webhook_event as e')
    .join('webhook as w', 'w.webhook_id', 'e.webhook_id')
    .whereIn('e.event_name', keys)
    .andWhere('w.state', stateToInt('Active'))
    .distinct('e.webhook_id')
    .orderBy('e.webhook_id');
}

/** Ids of Active hooks that receive eventName (wildcards included), ascending. */
export async function activeSubscriberIds(db: Queryable, eventName: string): Promise<number[]> {
  const rows = (await activeSubscribersQuery(knexOf(db), subscriptionKeys(eventName))) as Array<{ webhook_id: unknown }>;
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
