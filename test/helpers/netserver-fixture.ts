/**
 * A NetServer-shaped database, built from the documented DDL (reference/webhook-docs/database__tables__webhook*,
 * netserver-contract.md for associate), with the edge cases the import must survive:
 *
 *   3   non-ASCII name, events with spaces after commas, secret, headers, properties, usage counters, notify rows
 *       (an e-mail, a live associate, a deleted associate); Registered/Updated by associates 5 and 7
 *   4   empty headers and properties, null secret, Stopped, registered by an associate id NetServer does not have
 *       (99), never updated (1900-01-01)
 *   17  TooManyErrors, http:// target, 600 webhook_notify rows
 *   20  type crmscript: invalid here (refused, or left out with --skip-invalid)
 *   40  a private address literal as target
 *
 * Times are written as UTC text without a zone, as NetServer's UtcDateTime columns hold them.
 * SQLite: the tables unprefixed in a file (the import attaches it under the schema name); PostgreSQL: schema crm7
 * in a database of its own; SQL Server: schema crm7 in MSSQL_URL's database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { mssqlConnection, type Dialect } from '../../src/store/db.js';
import { PG_URL } from './db.js';
import type { TestApp } from './app.js';
import { openNetServerSource } from '../../src/store/netserver-source.js';
import { importNetServer, type ImportOptions, type ImportOutcome } from '../../src/agent/netserver-import.js';
import { secretCodecFor } from '../../src/store/secret-codec.js';

export const FIXTURE_SCHEMA = 'crm7';

export interface NetServerFixture {
  url: string;
  schema: string;
  drop(): Promise<void>;
}

function ts(t: Knex.CreateTableBuilder, dialect: Dialect, name: string) {
  if (dialect === 'mssql') return t.specificType(name, 'datetime').notNullable();
  if (dialect === 'pg') return t.timestamp(name, { useTz: false }).notNullable();
  return t.text(name).notNullable();
}

function audit(t: Knex.CreateTableBuilder, dialect: Dialect) {
  ts(t, dialect, 'registered');
  t.integer('registered_associate_id').notNullable();
  ts(t, dialect, 'updated');
  t.integer('updated_associate_id').notNullable();
  t.integer('updatedCount').notNullable();
}

export async function createNetServerTables(k: Knex, dialect: Dialect, schema: string | null): Promise<void> {
  const s = schema ? k.schema.withSchema(schema) : k.schema;
  await s.createTable('webhook', (t) => {
    t.increments('webhook_id');
    t.string('name', 400).notNullable();
    t.string('events', 4000).notNullable();
    t.string('target_url', 4000).notNullable();
    t.string('type', 100).notNullable();
    t.string('application_token', 200).nullable();
    t.text('headers').nullable();
    t.text('properties').nullable();
    t.string('secret', 400).nullable();
    t.smallint('state').notNullable();
    audit(t, dialect);
    t.string('errors_email', 239).nullable();
    t.string('description', 4000).nullable();
    t.smallint('notify_via').notNullable();
    t.smallint('notify_when').notNullable();
  });
  await (schema ? k.schema.withSchema(schema) : k.schema).createTable('webhook_usage', (t) => {
    t.integer('webhook_usage_id').primary();
    t.integer('total_calls').notNullable();
    t.integer('total_errors').notNullable();
    t.integer('consecutive_errors').notNullable();
    t.string('last_error', 4000).nullable();
    audit(t, dialect);
  });
  await (schema ? k.schema.withSchema(schema) : k.schema).createTable('webhook_notify', (t) => {
    t.increments('webhook_notify_id');
    t.integer('webhook_id').notNullable().index();
    t.integer('associate_id').nullable().index();
    t.string('email_recipient', 239).nullable();
    audit(t, dialect);
  });
  await (schema ? k.schema.withSchema(schema) : k.schema).createTable('associate', (t) => {
    t.increments('associate_id');
    t.string('name', 40).notNullable();
    t.integer('person_id').notNullable();
    t.smallint('deleted').notNullable();
    t.smallint('type').notNullable();
    t.string('userName', 255).nullable();
  });
  await (schema ? k.schema.withSchema(schema) : k.schema).createTable('person', (t) => {
    t.increments('person_id');
    t.string('firstname', 99).notNullable();
    t.string('middleName', 99).nullable();
    t.string('lastname', 99).nullable();
  });
}

export const REGISTERED_3 = '2021-03-04 05:06:07.123';
export const UPDATED_3 = '2023-11-05 14:03:27.500';
const NEVER = '1900-01-01 00:00:00';

const auditRow = (registered: string, by: number, updated = NEVER, updatedBy = 0, count = 0) => ({
  registered, registered_associate_id: by, updated, updated_associate_id: updatedBy, updatedCount: count,
});

export const fixtureWebhooks = [
  {
    webhook_id: 3, name: 'Ørjan’s hook — 日本', events: 'contact.created, person.changed,  sale.sold',
    target_url: 'https://hooks.example.com/a', type: 'webhook', application_token: 'app-1',
    headers: '{"X-Api-Key":"k-123","X-Tenant":"Åse"}', properties: '{"tenant":"Åse","n":5,"flag":true}', secret: 's3cret',
    state: 1, ...auditRow(REGISTERED_3, 5, UPDATED_3, 7, 2), errors_email: 'ops@example.com', description: 'Beskrivelse æøå',
    notify_via: 1, notify_when: 3,
  },
  {
    webhook_id: 4, name: 'empty blobs', events: 'project.created', target_url: 'https://hooks.example.com/b', type: 'webhook',
    application_token: null, headers: '', properties: '{}', secret: null, state: 2, ...auditRow('2022-01-01 00:00:00', 99),
    errors_email: null, description: null, notify_via: 0, notify_when: 0,
  },
  {
    webhook_id: 17, name: 'many recipients', events: 'sale.created,sale.changed', target_url: 'http://receiver.example.com/x',
    type: 'webhook', application_token: null, headers: null, properties: null, secret: 'x', state: 3,
    ...auditRow('2022-06-01 12:00:00', 7, '2022-06-02 12:00:00', 5, 1), errors_email: null, description: null, notify_via: 1, notify_when: 2,
  },
  {
    webhook_id: 20, name: 'a script', events: 'contact.changed', target_url: '42', type: 'crmscript', application_token: null,
    headers: null, properties: null, secret: null, state: 1, ...auditRow('2022-06-01 12:00:00', 5), errors_email: null,
    description: null, notify_via: 0, notify_when: 0,
  },
  {
    webhook_id: 40, name: 'inside', events: 'appointment.created', target_url: 'https://10.1.2.3/hook', type: 'webhook',
    application_token: null, headers: null, properties: null, secret: null, state: 1, ...auditRow('2023-01-01 00:00:00', 5),
    errors_email: null, description: null, notify_via: 0, notify_when: 0,
  },
];

export const fixtureUsage = [
  { webhook_usage_id: 3, total_calls: 10, total_errors: 2, consecutive_errors: 1, last_error: 'HTTP 500 Internal Server Error', ...auditRow(REGISTERED_3, 5, UPDATED_3, 0, 4) },
  { webhook_usage_id: 17, total_calls: 9, total_errors: 9, consecutive_errors: 9, last_error: 'timeout', ...auditRow('2022-06-01 12:00:00', 7) },
  { webhook_usage_id: 40, total_calls: 0, total_errors: 0, consecutive_errors: 0, last_error: null, ...auditRow('2023-01-01 00:00:00', 5) },
];

export const MANY_NOTIFY = 600;

export function fixtureNotify() {
  const rows: Array<Record<string, unknown>> = [
    { webhook_id: 3, associate_id: 0, email_recipient: 'ops@example.com', ...auditRow(REGISTERED_3, 5) },
    { webhook_id: 3, associate_id: 7, email_recipient: null, ...auditRow(REGISTERED_3, 5) },
    { webhook_id: 3, associate_id: 8, email_recipient: null, ...auditRow(REGISTERED_3, 5) },
  ];
  for (let i = 0; i < MANY_NOTIFY; i++) {
    rows.push({ webhook_id: 17, associate_id: null, email_recipient: `n${i}@example.com`, ...auditRow('2022-06-01 12:00:00', 7) });
  }
  return rows;
}

export const fixtureAssociates = [
  { associate_id: 5, name: 'SAL', person_id: 12, deleted: 0, type: 1, userName: 'sal' },
  { associate_id: 7, name: 'ÆRL', person_id: 13, deleted: 0, type: 1, userName: 'ærling' },
  { associate_id: 8, name: 'OLD', person_id: 0, deleted: 1, type: 1, userName: 'old' },
  { associate_id: 9, name: 'NOTUSED', person_id: 0, deleted: 0, type: 1, userName: 'x' },
];

export const fixturePersons = [
  { person_id: 12, firstname: 'Sally', lastname: 'Salesman' },
  { person_id: 13, firstname: 'Ærling', lastname: 'Østby' },
];

async function insertIdentity(k: Knex, dialect: Dialect, schema: string | null, table: string, rows: Array<Record<string, unknown>>) {
  const q = () => (schema ? k.withSchema(schema).table(table) : k.table(table));
  const size = 50;
  for (let i = 0; i < rows.length; i += size) {
    const part = rows.slice(i, i + size);
    // Explicit ids into identity columns (webhook_notify rows take theirs from the identity).
    if (dialect === 'mssql' && ['webhook', 'associate', 'person'].includes(table)) {
      const sql = q().insert(part).toSQL();
      await k.raw(`SET IDENTITY_INSERT ${schema}.${table} ON; ${sql.sql}; SET IDENTITY_INSERT ${schema}.${table} OFF`, sql.bindings);
    } else {
      await q().insert(part);
    }
  }
}

/** The rows of a NetServer-shaped database, table by table. */
export interface NetServerRows {
  webhook: Array<Record<string, unknown>>;
  webhook_usage: Array<Record<string, unknown>>;
  webhook_notify: Array<Record<string, unknown>>;
  associate: Array<Record<string, unknown>>;
  person: Array<Record<string, unknown>>;
}

export const fixtureRows = (): NetServerRows => ({
  webhook: fixtureWebhooks, webhook_usage: fixtureUsage, webhook_notify: fixtureNotify(), associate: fixtureAssociates, person: fixturePersons,
});

/** A webhook row with every NOT NULL column filled, for tests that build their own source. */
export const sourceWebhookRow = (id: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  webhook_id: id, name: `hook ${id}`, events: 'contact.created', target_url: `https://hooks.example.com/${id}`, type: 'webhook',
  application_token: null, headers: null, properties: null, secret: null, state: 1, ...auditRow('2022-01-01 00:00:00', 0),
  errors_email: null, description: null, notify_via: 0, notify_when: 0, ...extra,
});

export const sourceUsageRow = (id: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  webhook_usage_id: id, total_calls: 1, total_errors: 0, consecutive_errors: 0, last_error: null, ...auditRow('2022-01-01 00:00:00', 0), ...extra,
});

export const sourceNotifyRow = (webhookId: number, associateId: number | null, email: string | null): Record<string, unknown> => ({
  webhook_id: webhookId, associate_id: associateId, email_recipient: email, ...auditRow('2022-01-01 00:00:00', 0),
});

export async function fillNetServerTables(k: Knex, dialect: Dialect, schema: string | null, rows: NetServerRows = fixtureRows()): Promise<void> {
  for (const table of ['webhook', 'webhook_usage', 'webhook_notify', 'associate', 'person'] as const) {
    await insertIdentity(k, dialect, schema, table, rows[table]);
  }
}

/**
 * A fresh NetServer-shaped database on the dialect (SQL Server: schema crm7 in mssqlUrl's database, replaced), holding
 * `rows` (default: the fixture above).
 */
export async function netServerFixture(dialect: Dialect, mssqlUrl = process.env.MSSQL_URL, rows: NetServerRows = fixtureRows()): Promise<NetServerFixture> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'wa-netserver-'));
    const file = join(dir, 'netserver.sqlite');
    const k = knexFactory({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true });
    try {
      await createNetServerTables(k, dialect, null);
      await fillNetServerTables(k, dialect, null, rows);
    } finally {
      await k.destroy();
    }
    return { url: `sqlite:${file}`, schema: FIXTURE_SCHEMA, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (dialect === 'pg') {
    const name = `wa_netserver_${randomBytes(6).toString('hex')}`;
    const admin = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
    await admin.raw(`create database ${name}`);
    await admin.destroy();
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    const k = knexFactory({ client: 'pg', connection: u.toString(), pool: { min: 0, max: 1 } });
    try {
      await k.raw(`create schema ${FIXTURE_SCHEMA}`);
      await createNetServerTables(k, dialect, FIXTURE_SCHEMA);
      await fillNetServerTables(k, dialect, FIXTURE_SCHEMA, rows);
    } finally {
      await k.destroy();
    }
    return {
      url: u.toString(),
      schema: FIXTURE_SCHEMA,
      drop: async () => {
        const a = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
        await a.raw(`drop database if exists ${name} with (force)`);
        await a.destroy();
      },
    };
  }
  const url = mssqlUrl;
  if (!url) throw new Error('MSSQL_URL is not set');
  const k = knexFactory({ client: 'mssql', connection: mssqlConnection(url), pool: { min: 0, max: 1 } });
  const dropAll = async () => {
    for (const t of ['person', 'associate', 'webhook_notify', 'webhook_usage', 'webhook']) await k.schema.withSchema(FIXTURE_SCHEMA).dropTableIfExists(t);
  };
  try {
    await k.raw(`IF SCHEMA_ID('${FIXTURE_SCHEMA}') IS NULL EXEC('CREATE SCHEMA ${FIXTURE_SCHEMA}')`);
    await dropAll();
    await createNetServerTables(k, dialect, FIXTURE_SCHEMA);
    await fillNetServerTables(k, dialect, FIXTURE_SCHEMA, rows);
  } catch (err) {
    await k.destroy();
    throw err;
  }
  return {
    url,
    schema: FIXTURE_SCHEMA,
    drop: async () => {
      await dropAll();
      await k.destroy();
    },
  };
}

/** One `import netserver` run from the fixture into the app's database, under the app's address policy (pageRows: source rows per read). */
export async function importInto(app: TestApp, fixture: NetServerFixture, opts: ImportOptions, pageRows?: number): Promise<ImportOutcome> {
  const source = openNetServerSource(fixture.url, fixture.schema, { pageRows });
  try {
    return await importNetServer({ source, target: app.db, policy: app.config, secrets: secretCodecFor(app.config) }, opts);
  } finally {
    await source.close();
  }
}
