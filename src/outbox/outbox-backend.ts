/**
 * The one place that picks the outbox backend of a database (backends/backend-types.ts says what a backend does),
 * and the dialect-free entry points built on it that callers outside the claim and recording paths use.
 */
import type { Database } from '../store/db.js';
import { dialectOfKnex, knexOf, type Queryable } from '../store/row-mapping.js';
import type { OutboxBackend } from './backends/backend-types.js';
import { mssqlBackend } from './backends/mssql-backend.js';
import { postgresBackend } from './backends/postgres-backend.js';
import { sqliteBackend } from './backends/sqlite-backend.js';
import type { ListenConnection } from './outbox-notify.js';

export type { OutboxBackend } from './backends/backend-types.js';

const backends = { pg: postgresBackend, mssql: mssqlBackend, sqlite: sqliteBackend } as const;

/** The backend of an opened database, its knex or a transaction on it. */
export function outboxBackend(db: Pick<Database, 'dialect'> | Queryable): OutboxBackend {
  const dialect = typeof db === 'object' && 'dialect' in db ? db.dialect : dialectOfKnex(knexOf(db as Queryable));
  return backends[dialect];
}

/** Wakes other processes' workers when q's transaction commits (`NOTIFY wa_outbox` on PostgreSQL; nothing elsewhere). */
export function notifyOutbox(q: Queryable): Promise<void> {
  return outboxBackend(q).notify(q);
}

/** Where a worker on db listens for notifyOutbox; null where the dialect has no such channel (workers poll). */
export function listenConnectionOf(db: Database): ListenConnection | null {
  return outboxBackend(db).listenConnection(db.knex);
}
