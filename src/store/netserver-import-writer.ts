/**
 * Writes imported NetServer webhooks and associates into the service's own database, keeping their ids, in one
 * transaction. Idempotent: rows whose id exists are updated in place; event and notify rows of an imported hook
 * are replaced; id sequences are moved past the imported ids so new hooks and associates get fresh ids.
 *
 * Dialect seams: explicit ids into an identity column need IDENTITY_INSERT on SQL Server (set in the same batch as
 * the INSERT, so it ends with the batch whatever happens), and each dialect moves its sequence its own way (SQL
 * Server's identity moves by itself with the explicit ids).
 */
import type { Knex } from 'knex';
import { flagsToInt, notifyViaFlags, notifyWhenFlags, stateToInt, type WebhookInput } from '../webhooks/types.js';
import type { Database, Dialect } from './db.js';
import { chunked, insertInChunks, toDate, toInt } from './row-mapping.js';
import type { SecretCodec } from './secret-codec.js';
import { loginNameKey } from './migrations/005-names.js';
import { serializeHeaders, serializeProperties } from './webhook-repository.js';

export interface ImportAudit {
  registered: Date;
  registeredAssociateId: number;
  updated: Date | null;
  updatedAssociateId: number;
  updatedCount: number;
}

/**
 * Widths of target columns (migrations 001 and 005) that a source row can exceed: NetServer's own are wider
 * (associate names), or a source that does not enforce them (SQLite) holds more than NetServer's column would.
 */
export const columnWidths = { associateName: 200, associateFullName: 400, associateUserName: 200, applicationToken: 200, lastError: 4000 } as const;

export interface ImportedAssociate {
  associateId: number;
  /** The login name: NetServer's `name`. */
  name: string;
  fullName: string;
  /** NetServer's `userName` ('' for none: then UserName reads as the login name). */
  userName: string;
  personId: number;
  deleted: boolean;
}

export interface ImportedWebhook {
  webhookId: number;
  /** Validated fields; the secret in plaintext (encoded here). */
  input: WebhookInput;
  applicationToken: string | null;
  audit: ImportAudit;
  usage: { totalCalls: number; totalErrors: number; consecutiveErrors: number; lastError: string | null; audit: ImportAudit } | null;
  /** webhook_notify rows in source order: an associate id (>0) or an e-mail address. */
  notify: Array<{ associateId: number | null; emailRecipient: string | null; audit: ImportAudit }>;
}

export interface ImportWriteResult {
  webhooksCreated: number;
  webhooksUpdated: number;
  associatesCreated: number;
  associatesUpdated: number;
  usageRows: number;
  eventRows: number;
  notifyRows: number;
}

/** What the target already holds, for the dry-run report and the conflict checks. */
export interface TargetState {
  webhookIds: Set<number>;
  /** When each existing hook was last updated here (null: never). */
  webhookUpdated: Map<number, Date | null>;
  associates: Array<{ associateId: number; name: string; hasPassword: boolean }>;
}

export async function readTargetState(k: Knex): Promise<TargetState> {
  const hooks = (await k('webhook').select('webhook_id', 'updated')) as Array<{ webhook_id: unknown; updated: unknown }>;
  const assoc = (await k('associate').select('associate_id', 'name', 'password_hash')) as Array<{ associate_id: unknown; name: string; password_hash: string }>;
  return {
    webhookIds: new Set(hooks.map((h) => toInt(h.webhook_id))),
    webhookUpdated: new Map(hooks.map((h) => [toInt(h.webhook_id), toDate(h.updated)])),
    associates: assoc.map((a) => ({ associateId: toInt(a.associate_id), name: a.name, hasPassword: a.password_hash !== '' })),
  };
}

function auditColumns(a: ImportAudit) {
  return {
    registered: a.registered,
    registered_associate_id: a.registeredAssociateId,
    updated: a.updated,
    updated_associate_id: a.updatedAssociateId,
    updatedCount: a.updatedCount,
  };
}

export function webhookImportColumns(h: ImportedWebhook, secrets: SecretCodec) {
  const i = h.input;
  return {
    name: i.name,
    events: i.events.join(','),
    target_url: i.targetUrl,
    type: i.type,
    application_token: h.applicationToken,
    headers: serializeHeaders(i.headers),
    properties: serializeProperties(i.properties),
    secret: secrets.encode(i.secret),
    state: stateToInt(i.state),
    ...auditColumns(h.audit),
    errors_email: i.errorsEmail,
    description: i.description,
    notify_via: flagsToInt(notifyViaFlags, i.notifyVia),
    notify_when: flagsToInt(notifyWhenFlags, i.notifyWhen),
  };
}

/** An INSERT with an explicit value for the table's identity column. */
export function insertWithIdQuery(k: Knex, dialect: Dialect, table: string, row: Record<string, unknown>): Knex.QueryBuilder | Knex.Raw {
  const insert = k(table).insert(row);
  if (dialect !== 'mssql') return insert;
  const q = insert.toSQL();
  // One batch: the setting is scoped to it, so it never outlives this statement on a pooled connection.
  return k.raw(`SET IDENTITY_INSERT ?? ON; ${q.sql}; SET IDENTITY_INSERT ?? OFF`, [table, ...q.bindings, table]);
}

/** Statements that move table's id sequence past its highest id, never backwards. */
export function moveSequenceQueries(k: Knex, dialect: Dialect, table: 'webhook' | 'associate', column: string): Knex.Raw[] {
  if (dialect === 'pg') {
    return [k.raw(
      'select setval(s.seq, greatest(coalesce((select max(??) from ??), 0), coalesce(pg_sequence_last_value(s.seq), 0), 1), true) ' +
        'from (select cast(pg_get_serial_sequence(?, ?) as regclass) as seq) s',
      [column, table, table, column],
    )];
  }
  if (dialect === 'mssql') {
    // Nothing to send: an explicit value inserted under IDENTITY_INSERT that is above the current identity becomes
    // the current identity. (DBCC CHECKIDENT would need db_owner or db_ddladmin on top of the ALTER permission
    // IDENTITY_INSERT already needs.)
    return [];
  }
  return [
    k.raw('insert into sqlite_sequence (name, seq) select ?, 0 where not exists (select 1 from sqlite_sequence where name = ?)', [table, table]),
    k.raw('update sqlite_sequence set seq = max(seq, (select coalesce(max(??), 0) from ??)) where name = ?', [column, table, table]),
  ];
}

export async function writeImport(
  db: Database,
  data: { associates: ImportedAssociate[]; webhooks: ImportedWebhook[] },
  secrets: SecretCodec,
): Promise<ImportWriteResult> {
  const { dialect } = db;
  return db.knex.transaction(async (trx) => {
    const before = await readTargetState(trx);
    const knownAssociates = new Set(before.associates.map((a) => a.associateId));
    const result: ImportWriteResult = {
      webhooksCreated: 0, webhooksUpdated: 0, associatesCreated: 0, associatesUpdated: 0, usageRows: 0, eventRows: 0, notifyRows: 0,
    };

    for (const a of data.associates) {
      const cols = {
        name: a.name, name_key: loginNameKey(a.name), full_name: a.fullName, user_name: a.userName === '' ? null : a.userName,
        person_id: a.personId, deleted: a.deleted ? 1 : 0,
      };
      if (knownAssociates.has(a.associateId)) {
        // The password (set here with `user password`) is kept.
        await trx('associate').where('associate_id', a.associateId).update(cols);
        result.associatesUpdated += 1;
      } else {
        // No password: NetServer's hashes are not readable; login is refused until one is set (auth-service).
        await insertWithIdQuery(trx, dialect, 'associate', {
          associate_id: a.associateId, ...cols, password_hash: '', registered: new Date(), updated: null,
        });
        result.associatesCreated += 1;
      }
    }

    const usageIds = new Set(((await trx('webhook_usage').select('webhook_usage_id')) as Array<{ webhook_usage_id: unknown }>)
      .map((r) => toInt(r.webhook_usage_id)));
    for (const h of data.webhooks) {
      const cols = webhookImportColumns(h, secrets);
      if (before.webhookIds.has(h.webhookId)) {
        await trx('webhook').where('webhook_id', h.webhookId).update(cols);
        result.webhooksUpdated += 1;
      } else {
        await insertWithIdQuery(trx, dialect, 'webhook', { webhook_id: h.webhookId, ...cols });
        result.webhooksCreated += 1;
      }
      const usage = h.usage
        ? { total_calls: h.usage.totalCalls, total_errors: h.usage.totalErrors, consecutive_errors: h.usage.consecutiveErrors,
          last_error: h.usage.lastError, ...auditColumns(h.usage.audit) }
        : null;
      if (usageIds.has(h.webhookId)) {
        if (usage) await trx('webhook_usage').where('webhook_usage_id', h.webhookId).update(usage);
      } else {
        await trx('webhook_usage').insert(usage ? { webhook_usage_id: h.webhookId, ...usage } : {
          webhook_usage_id: h.webhookId, total_calls: 0, total_errors: 0, consecutive_errors: 0, last_error: null, ...auditColumns(h.audit),
          updated: null, updated_associate_id: 0, updatedCount: 0,
        });
      }
      if (usage) result.usageRows += 1;
    }

    const ids = data.webhooks.map((h) => h.webhookId);
    for (const part of chunked(ids)) {
      await trx('webhook_event').whereIn('webhook_id', part).delete();
      await trx('webhook_notify').whereIn('webhook_id', part).delete();
    }
    const eventRows = data.webhooks.flatMap((h) => h.input.events.map((event_name, ordinal) => ({ webhook_id: h.webhookId, event_name, ordinal })));
    await insertInChunks(trx, 'webhook_event', eventRows);
    const notifyRows = data.webhooks.flatMap((h) => h.notify.map((n) => ({
      webhook_id: h.webhookId, associate_id: n.associateId, email_recipient: n.emailRecipient, ...auditColumns(n.audit),
    })));
    await insertInChunks(trx, 'webhook_notify', notifyRows);
    result.eventRows = eventRows.length;
    result.notifyRows = notifyRows.length;

    if (data.webhooks.length) for (const q of moveSequenceQueries(trx, dialect, 'webhook', 'webhook_id')) await q;
    if (data.associates.length) for (const q of moveSequenceQueries(trx, dialect, 'associate', 'associate_id')) await q;
    return result;
  });
}
