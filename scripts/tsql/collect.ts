/**
 * Every statement the service can send to SQL Server, collected through the store on a recording mssql client
 * (recording-mssql.ts): the migrations through the migrator, then every repository, outbox, history and import
 * function, each called twice: once answered with no rows (the not-found paths) and once with one row of plausible
 * values (the paths that go on to write). A call that fails on the made-up answers still leaves the statements it
 * sent before; its failure is only listed (`notes`), since the point is the SQL, not the answers.
 * The per-dialect builders that the store runs only in some states (the claim's skip list and runs) are called
 * with those states, and the NetServer source's reads run against the same client (an import reads a CRM database
 * on SQL Server).
 */
import { migrateLatest } from '../../src/store/db.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
import * as webhooks from '../../src/store/webhook-repository.js';
import * as associates from '../../src/store/associate-repository.js';
import * as tickets from '../../src/store/ticket-repository.js';
import { reencryptSecrets } from '../../src/store/reencrypt-secrets.js';
import * as settings from '../../src/store/webhook-settings.js';
import { readTargetState, writeImport, type ImportAudit } from '../../src/store/netserver-import-writer.js';
import { sourceQueries } from '../../src/store/netserver-source.js';
import { enqueueEvent, cancelDeliveriesFor, cancelDeliveriesOfDeletedWebhooks } from '../../src/outbox/outbox-repository.js';
import { mssqlBackend } from '../../src/outbox/backends/mssql-backend.js';
import { enqueueSignalledEvent } from '../../src/outbox/enqueue-signalled.js';
import { enqueueIdempotent, pruneIdempotencyKeys } from '../../src/outbox/enqueue-idempotent.js';
import { claimAndLoad, claimDeliveries, extendRuns, holdBlockedDeliveries } from '../../src/outbox/claim-deliveries.js';
import { errorNotice, webhookStateFacts } from '../../src/outbox/outbox-record.js';
import { recordAttempt, recordAttempts } from '../../src/outbox/record-attempt.js';
import { expireStaleDeliveries, pruneOutbox, releaseLeases, deferLeases } from '../../src/outbox/outbox-maintenance.js';
import { acquireWorkerLock, heartbeatWorkerLock, releaseWorkerLock } from '../../src/outbox/outbox-worker-lock.js';
import { fireStateEvent } from '../../src/outbox/state-event.js';
import * as history from '../../src/outbox/delivery-history.js';
import { createDeliveryHistory } from '../../src/agent/delivery-history.js';
import type { WebhookInput } from '../../src/webhooks/types.js';
import { mssqlCrmSql } from '../../src/crm/mssql-crm-sql.js';
import { mssqlSetupStatements } from '../../src/crm/crm-setup.js';
import { enqueueCrmBatch } from '../../src/crm/crm-enqueue.js';
import { readCrmCursor } from '../../src/store/crm-cursor.js';
import { recordingMssqlDatabase, respondEmpty, selectedColumns, type RecordingDatabase, type Responder } from './recording-mssql.js';

export interface Collected {
  /** Statements sent, in order (with repeats). */
  sent: number;
  /** Distinct statement texts, in first-sent order. */
  statements: string[];
  /** Calls that failed on the made-up answers (their earlier statements are collected). */
  notes: string[];
}

const NOW = Date.UTC(2024, 0, 1, 12, 34, 56, 789);
const TOKEN = '6f1c1d0e-3c1e-4d0c-9a59-0a3c2d1e4f5a';

/** A plausible value for a column, by its name. */
function valueFor(name: string): unknown {
  const n = name.toLowerCase();
  if (/^(events|error_emails|error_associate_ids|notify_via|notify_when)$/.test(n)) return '[]';
  if (/^(headers|properties|data)$/.test(n)) return '{}';
  if (/(^|_)(created|registered|updated|expires_at|last_used|timestamp)$/.test(n)) return new Date(NOW);
  if (/(_at|_until)$/.test(n)) return NOW;
  if (n === 'lease_token' || n === 'owner_token') return TOKEN;
  if (n === 'event_uuid') return '018cc251-f400-7000-8000-000000000000';
  if (n === 'status') return 'pending';
  if (n === 'outcome') return 'failure';
  if (n === 'type') return 'webhook';
  if (/(name|url|email|secret|error|excerpt|host|class|hash|token|key|recipient)/.test(n)) return n.includes('url') ? 'https://example.com/hook' : 'x';
  return 1;
}

/** One row of plausible values for the statement's selected columns (or for the common ones on `select *`). */
const respondOneRow: Responder = (sql) => {
  const cols = selectedColumns(sql);
  if (cols?.every((c) => c.aggregate)) return respondEmpty(sql);
  const names = cols?.map((c) => c.name) ?? [
    'webhook_id', 'name', 'events', 'target_url', 'secret', 'state', 'type', 'headers', 'properties', 'registered', 'registered_associate_id',
    'updated', 'updated_associate_id', 'updatedCount', 'associate_id', 'full_name', 'person_id', 'deleted', 'password_hash', 'name_key',
  ];
  return [Object.fromEntries(names.map((n) => [n, valueFor(n)]))];
};

function sampleInput(): WebhookInput {
  return {
    name: 'hook', events: ['contact.created', 'sale.*'], targetUrl: 'https://example.com/hook', secret: 'shh', state: 'Active', type: 'webhook',
    headers: { 'X-A': '1' }, properties: { p: 1 }, errorsEmail: 'ops@example.com', errorEmails: ['ops@example.com'], errorAssociateIds: [3],
    description: 'd', notifyVia: [], notifyWhen: [],
  } as WebhookInput;
}

function calls(db: RecordingDatabase): Array<[string, () => Promise<unknown>]> {
  const secrets = createSecretCodec({ key: 'check-tsql: a key of at least 32 characters' });
  const opts = { secrets };
  const at = new Date(NOW);
  const event = { eventName: 'contact.created', primaryKey: 5, data: { a: 1 }, changedByAssociateId: 3, timestamp: at };
  const audit: ImportAudit = { registered: at, registeredAssociateId: 1, updated: null, updatedAssociateId: 0, updatedCount: 0 };
  const attempt = {
    deliveryId: 1, leaseToken: TOKEN, webhookId: 1, attemptNo: 1, startedAt: NOW, durationMs: 5, httpStatus: 500, outcome: 'failure',
    errorClass: 'http', report: 'HTTP/1.1 500', usage: 'error' as const, disableHook: false, maxConsecutiveErrors: 10, now: NOW,
  };
  const deliveries = createDeliveryHistory({ db, now: () => NOW, wake: () => {} });
  return [
    ['health check', () => db.knex.raw('select 1 as ok')],
    ['schema probe', async () => (await db.knex.schema.hasTable('webhook')) && db.knex.schema.hasColumn('associate', 'password_hash')],
    ['createWebhook', () => webhooks.createWebhook(db, sampleInput(), at, 3, opts)],
    ['updateWebhook', () => webhooks.updateWebhook(db, 1, sampleInput(), at, 3, opts)],
    ['getWebhook', () => webhooks.getWebhook(db, 1, opts)],
    ['listWebhooks', () => webhooks.listWebhooks(db, {}, opts)],
    ['listWebhooks filtered', () => webhooks.listWebhooks(db, { name: 'hook', event: 'contact.created', state: 'Active' }, opts)],
    ['deleteWebhook', () => webhooks.deleteWebhook(db, 1, (trx) => cancelDeliveriesFor(trx, 1, { now: NOW }))],
    ['lockWebhookState', () => db.knex.transaction((trx) => webhooks.lockWebhookState(trx, 1))],
    ['resetConsecutiveErrors', () => webhooks.resetConsecutiveErrors(db, 1)],
    ['getLastError', () => webhooks.getLastError(db, 1)],
    ['activeSubscriberIds', () => webhooks.activeSubscriberIds(db, 'contact.created')],
    ['backfillEventRows', () => webhooks.backfillEventRows(db)],
    ['createAssociate', () => associates.createAssociate(db, { name: 'Admin', fullName: 'A', personId: 2, passwordHash: 'h' }, at)],
    ['findAssociateByName', () => associates.findAssociateByName(db, 'admin')],
    ['getAssociate', () => associates.getAssociate(db, 1)],
    ['getAssociateSummaries', () => associates.getAssociateSummaries(db, [1, 2])],
    ['countAssociates', () => associates.countAssociates(db)],
    ['countAssociates active', () => associates.countAssociates(db, { activeOnly: true, withPassword: true })],
    ['setPassword', () => associates.setPassword(db, 1, 'h', at)],
    ['markDeleted', () => associates.markDeleted(db, 1, at)],
    ['insertTicket', () => tickets.insertTicket(db, { ticketHash: 'a'.repeat(64), associateId: 1, expiresAt: new Date(NOW + 60_000) })],
    ['touchTicket', () => tickets.touchTicket(db, 'a'.repeat(64), at, 60_000)],
    ['deleteTicketsFor', () => tickets.deleteTicketsFor(db, 1)],
    ['deleteTicket', () => tickets.deleteTicket(db, 'a'.repeat(64))],
    ['pruneExpired', () => tickets.pruneExpired(db, at)],
    ['reencryptSecrets', () => reencryptSecrets(db, secrets, { batchSize: 10 })],
    ['getWebhookSetting', () => settings.getWebhookSetting(db, 1, opts)],
    ['setSignatureScheme', () => settings.setSignatureScheme(db, 1, 'standard', NOW)],
    ['rotateWebhookSecret', () => settings.rotateWebhookSecret(db, 1, { secret: 'new', previousUntil: NOW + 1000, netserverOld: true }, at, opts)],
    ['enqueueEvent', () => enqueueEvent(db, event, [1, 2], { now: NOW })],
    ['enqueueSignalledEvent', () => enqueueSignalledEvent(db, event, { now: NOW })],
    ['enqueueIdempotent', () => enqueueIdempotent(db, event, 'key-1', { now: NOW, ttlMs: 86_400_000 })],
    ['pruneIdempotencyKeys', () => pruneIdempotencyKeys(db, { now: NOW, ttlMs: 86_400_000, maxBatches: 1 })],
    ['claimAndLoad with hold, skip list and runs', () => claimAndLoad(db, { now: NOW, leaseMs: 60_000, limit: 10, token: TOKEN, skipWebhookIds: [4, 5], runLength: 4 },
      { now: NOW, holdUntil: NOW + 60_000, limit: 500, dueBefore: NOW - 1000 }, opts)],
    ['claimDeliveries', () => claimDeliveries(db, { now: NOW, leaseMs: 60_000, limit: 10, token: TOKEN })],
    ['extendRuns', () => extendRuns(db, { now: NOW, leaseMs: 60_000, token: TOKEN, heads: [1, 2], tail: 3 })],
    ['holdBlockedDeliveries', () => holdBlockedDeliveries(db, { now: NOW, holdUntil: NOW + 60_000, limit: 500 })],
    ['recordAttempt retry', () => recordAttempt(db, { ...attempt, transition: { status: 'pending', nextAttemptAt: NOW + 1000 } })],
    ['recordAttempts', () => recordAttempts(db, [
      { ...attempt, outcome: 'success', httpStatus: 200, usage: 'success', transition: { status: 'succeeded' } },
      { ...attempt, deliveryId: 2, disableHook: true, httpStatus: 410, outcome: 'gone', transition: { status: 'failed_permanent', note: 'gone' } },
    ], async () => {})],
    ['errorNotice', () => errorNotice(db, 1)],
    ['webhookStateFacts', () => webhookStateFacts(db, 1)],
    ['releaseLeases', () => releaseLeases(db, [{ deliveryId: 1, leaseToken: TOKEN }])],
    ['deferLeases', () => deferLeases(db, [{ deliveryId: 1, leaseToken: TOKEN, until: NOW + 1000 }])],
    ['expireStaleDeliveries', () => expireStaleDeliveries(db, { now: NOW, retentionMs: 86_400_000, maxBatches: 1 })],
    ['cancelDeliveriesOfDeletedWebhooks', () => cancelDeliveriesOfDeletedWebhooks(db, { now: NOW, maxBatches: 1 })],
    ['databaseTime', () => mssqlBackend.databaseTime!(db.knex)],
    ['pruneOutbox', () => pruneOutbox(db, { now: NOW, retentionMs: 86_400_000, maxBatches: 1 })],
    ['acquireWorkerLock', () => acquireWorkerLock(db, { owner: TOKEN, now: NOW, staleMs: 30_000, host: 'h', pid: 1, isAlive: () => false })],
    ['heartbeatWorkerLock', () => heartbeatWorkerLock(db, TOKEN, NOW)],
    ['releaseWorkerLock', () => releaseWorkerLock(db, TOKEN)],
    ['fireStateEvent', () => fireStateEvent(db, 1, 'stopped', { now: NOW })],
    ['listDeliveries', () => history.listDeliveries(db, { webhookId: 1, statuses: ['pending', 'failed_permanent'], eventName: 'contact.created', since: NOW - 1000, until: NOW, before: 100, limit: 50 }, NOW)],
    ['getDelivery', () => history.getDelivery(db, 1, NOW)],
    ['redeliver', () => history.redeliver(db, [1, 2], NOW)],
    ['failedDeliveryIds', () => history.failedDeliveryIds(db, 1, NOW - 1000)],
    ['purgeDeliveries', () => history.purgeDeliveries(db, 1, { before: NOW, pending: true, now: NOW, reason: 'purged' })],
    ['attemptChart', () => history.attemptChart(db, 1, { now: NOW })],
    ['queueFigures', () => history.queueFigures(db, NOW)],
    ['webhooksByState', () => history.webhooksByState(db)],
    ['delivery history (admin and CLI)', async () => {
      await deliveries.list({ webhookId: 1 });
      await deliveries.show(1);
    }],
    ['import: target state', () => readTargetState(db.knex)],
    ['import: write', () => writeImport(db, {
      associates: [{ associateId: 7, name: 'SAL', fullName: 'S A L', userName: 'sal', personId: 3, deleted: false }, { associateId: 1, name: 'X', fullName: 'X', userName: '', personId: 0, deleted: true }],
      webhooks: [{ webhookId: 9, input: sampleInput(), applicationToken: null, audit,
        usage: { totalCalls: 1, totalErrors: 0, consecutiveErrors: 0, lastError: null, audit }, notify: [{ associateId: 3, emailRecipient: null, audit }] },
      { webhookId: 1, input: sampleInput(), applicationToken: 't', audit, usage: null, notify: [] }],
    }, secrets)],
    ['CRM events: crm-events setup (SQL Server)', async () => {
      for (const st of mssqlSetupStatements({ schema: 'crm7', database: 'SuperOffice', user: 'wa_reader', retentionDays: 7 })) await db.knex.raw(st.sql);
    }],
    ['CRM events: Change Tracking reads', async () => {
      const t = { schema: 'crm7', table: 'contact', primaryKey: 'contact_id' };
      await mssqlCrmSql.columns(db.knex, t);
      await mssqlCrmSql.current(db.knex);
      await mssqlCrmSql.minValid(db.knex, t);
      await mssqlCrmSql.changes(db.knex, t, ['contact_id', 'name', 'deleted'], '41', '57');
    }],
    ['CRM events: cursor and batch enqueue', async () => {
      await readCrmCursor(db.knex, 'mssql://sql/SuperOffice#change_tracking');
      await enqueueCrmBatch(db, 'mssql://sql/SuperOffice#change_tracking', [{ ...event, bodyParts: { changes: ['contact_id'], values: { contact_id: 5 } } }], '57', { now: NOW, expected: '41' });
      await enqueueCrmBatch(db, 'mssql://sql/SuperOffice#change_tracking', [event], '57', { now: NOW, expected: null });
    }],
    ['import: NetServer source reads', async () => {
      for (const q of [sourceQueries.webhooks(db.knex, 'crm7'), sourceQueries.usage(db.knex, 'crm7'), sourceQueries.notify(db.knex, 'crm7'),
        sourceQueries.associates(db.knex, 'crm7', [5, 7]), sourceQueries.persons(db.knex, 'crm7', [12]), sourceQueries.probe(db.knex, 'crm7', 'webhook_notify')]) await q;
    }],
  ];
}

/** Collects the statements; nothing connects anywhere. */
export async function collectMssqlStatements(): Promise<Collected> {
  const db = recordingMssqlDatabase();
  const notes: string[] = [];
  try {
    await migrateLatest(db);
    for (const [mode, responder] of [['no rows', respondEmpty], ['one row', respondOneRow]] as const) {
      db.respondWith(responder);
      for (const [name, call] of calls(db)) {
        try {
          await call();
        } catch (err) {
          notes.push(`${name} (${mode}): ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
  } finally {
    await db.close();
  }
  const distinct = [...new Set(db.statements.map((s) => s.sql.trim()))];
  return { sent: db.statements.length, statements: distinct, notes };
}
