/**
 * Opens the database named by DATABASE_URL and runs migrations. The only place knex is configured; the dialect
 * differences live next to the queries that need them (claim-*.ts, ticket-repository.ts, row-mapping.ts
 * selectArrays).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { migrations } from './migrations/index.js';
import { redactUrl } from '../config.js';
import { setBounded } from '../bounded-map.js';
import { createStorageWatch, type StorageFullReport, type StorageWatch } from './storage-watch.js';

import { ARRAY_ROWS_MARK, type Database, type Dialect } from './database.js';

export type { Database, Dialect } from './database.js';

export function dialectOf(url: string): Dialect {
  if (/^(sqlite|file):/i.test(url)) return 'sqlite';
  if (/^postgres(ql)?:/i.test(url)) return 'pg';
  if (/^(mssql|sqlserver):/i.test(url)) return 'mssql';
  throw new Error(`DATABASE_URL must start with sqlite:, postgres:// or mssql:// (got ${redactUrl(url)})`);
}

/** sqlite:./data/x.sqlite, sqlite:/abs/x.sqlite, sqlite::memory: */
export function sqliteFile(url: string): string {
  const rest = url.replace(/^(sqlite|file):(\/\/)?/i, '');
  return rest === ':memory:' ? rest : resolve(rest);
}

/** mssql://user:pass@host:1433/db?encrypt=true&trustServerCertificate=true */
export function mssqlConnection(url: string): Knex.MsSqlConnectionConfig {
  const u = new URL(url.replace(/^sqlserver:/i, 'mssql:'));
  const q = u.searchParams;
  const flag = (name: string, dflt: boolean) => (q.has(name) ? q.get(name) === 'true' : dflt);
  return {
    server: u.hostname,
    port: u.port ? Number(u.port) : 1433,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    options: {
      encrypt: flag('encrypt', true),
      trustServerCertificate: flag('trustServerCertificate', false),
      mapBinding: mssqlDateBinding,
    },
  } as Knex.MsSqlConnectionConfig;
}

/**
 * knex binds a JS Date as legacy `datetime` (1/300 s steps), so milliseconds would not round-trip and comparisons
 * with datetime2 columns would be off by up to 3 ms; bind it as datetime2 instead. tedious is loaded lazily (it is
 * knex's own mssql driver) so SQLite/PostgreSQL users never load it.
 */
function mssqlDateBinding(value: unknown): { value: unknown; type: unknown } | undefined {
  if (!(value instanceof Date)) return undefined;
  const tedious = createRequire(import.meta.url)('tedious') as { TYPES: { DateTime2: unknown } };
  return { value, type: tedious.TYPES.DateTime2 };
}

interface SqliteStatement {
  readonly reader: boolean;
  raw(on: boolean): unknown;
  run(...params: unknown[]): unknown;
}

type SqliteTransaction = ((...args: unknown[]) => unknown) & Record<'deferred' | 'immediate' | 'exclusive', (...args: unknown[]) => unknown>;

interface SqliteConnection {
  readonly inTransaction: boolean;
  pragma(s: string): unknown;
  prepare(sql: string): SqliteStatement;
  transaction(fn: (...args: unknown[]) => unknown): SqliteTransaction;
  function(name: string, opts: { deterministic: boolean }, fn: (v: unknown) => unknown): unknown;
}

/**
 * Tells the storage watch about every write on the connection, knex's and the outbox's direct ones alike: a failure
 * (storage full?) and a write that is committed (outside a transaction, or the transaction itself).
 */
function watchWrites(conn: SqliteConnection, watch: StorageWatch): void {
  const watched = <F extends (...args: unknown[]) => unknown>(f: F): F => ((...args: unknown[]) => {
    try {
      const r = f(...args);
      if (!conn.inTransaction) watch.wrote();
      return r;
    } catch (err) {
      watch.failed(err);
      throw err;
    }
  }) as F;
  const prepare = conn.prepare.bind(conn);
  conn.prepare = (sql: string) => {
    const st = prepare(sql);
    if (!st.reader) st.run = watched(st.run.bind(st));
    return st;
  };
  const transaction = conn.transaction.bind(conn);
  conn.transaction = (fn) => {
    const t = transaction(fn);
    return Object.assign(watched(t), { deferred: watched(t.deferred), immediate: watched(t.immediate), exclusive: watched(t.exclusive) });
  };
}

/**
 * knex prepares every query anew; better-sqlite3 statements are reusable, and preparing was ~9 % of a GetWebhook
 * request's CPU. Keep the most recently used statements per connection (knex's SQL text repeats per query shape).
 */
function cachePreparedStatements(conn: SqliteConnection, max = 256): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, SqliteStatement>();
  conn.prepare = (sql: string) => {
    let st = cache.get(sql);
    if (st === undefined) {
      st = prepare(sql);
      // selectArrays' statements: rows as arrays (better-sqlite3's raw mode), which knex cannot ask for.
      if (st.reader && sql.startsWith(ARRAY_ROWS_MARK)) st.raw(true);
    }
    setBounded(cache, sql, st, max);
    return st;
  };
}

/**
 * SQLite held by another process (an operator's sqlite3 shell, a CLI command): better-sqlite3 waits for the lock
 * synchronously, for busy_timeout, on the event loop. A service must not freeze that long, so `serve`/`worker` open
 * the file with a short busy_timeout and wait the rest asynchronously (busyWaitMs, retrying with backoff), then fail
 * with SQLITE_BUSY, which coerceError (errors.ts) turns into a clear "database is busy" answer. CLI commands keep a
 * plain 5 s busy_timeout (nothing else runs in them).
 */
export interface SqliteBusyOptions {
  /** busy_timeout: the longest synchronous wait of one statement (ms). */
  busyTimeoutMs?: number;
  /** Total asynchronous wait for the lock per statement before SQLITE_BUSY reaches the caller (ms). */
  busyWaitMs?: number;
}

export function knexConfig(url: string, poolMax = 10, busyTimeoutMs = 5000, storage?: StorageWatch): Knex.Config {
  const dialect = dialectOf(url);
  const migrationsConfig = { migrationSource: migrations, tableName: 'wa_migrations' };
  if (dialect === 'sqlite') {
    const filename = sqliteFile(url);
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    return {
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      // One connection: SQLite has one writer; a single connection also makes BEGIN IMMEDIATE claims simple.
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) => {
          if (storage) watchWrites(conn, storage);
          cachePreparedStatements(conn);
          // SQLite's built-in lower() folds A-Z only; NetServer's case-insensitive collations fold every letter.
          // Registered before migrations run, so expression indexes on lower(name) are built with it.
          conn.function('lower', { deterministic: true }, (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v));
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = NORMAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma(`busy_timeout = ${busyTimeoutMs}`);
          done(null, conn);
        },
      },
      migrations: migrationsConfig,
    };
  }
  if (dialect === 'pg') {
    return { client: 'pg', connection: url, pool: { min: 0, max: poolMax }, migrations: migrationsConfig };
  }
  return { client: 'mssql', connection: mssqlConnection(url), pool: { min: 0, max: poolMax }, migrations: migrationsConfig };
}

/**
 * knex's own console output: its pool prints every failed connection attempt with a driver stack trace. The error
 * also reaches the caller, which reports it in one line (cli.ts), so that message is dropped; the rest is kept.
 */
const knexLog: Knex.Config['log'] = {
  warn(message: string) {
    if (typeof message === 'string' && message.startsWith('Acquire connection error')) return;
    process.emitWarning(String(message), 'KnexWarning');
  },
};

/** onStorageFull: told at most once a minute while writes fail for lack of space (storage-watch.ts). */
export function openDatabase(url: string, opts: { poolMax?: number; onStorageFull?: (r: StorageFullReport) => void } & SqliteBusyOptions = {}): Database {
  const storage = createStorageWatch(opts.onStorageFull);
  const dialect = dialectOf(url);
  const knex = knexFactory({ ...knexConfig(url, opts.poolMax, opts.busyTimeoutMs, storage), log: knexLog });
  if (dialect === 'sqlite' && opts.busyWaitMs) waitForLockAsynchronously(knex, opts.busyWaitMs);
  if (dialect !== 'sqlite') {
    knex.on('query-error', (err: unknown) => storage.failed(err));
    knex.on('query-response', (_r: unknown, q: { sql?: unknown }) => { if (WRITE.test(String(q.sql))) storage.wrote(); });
  }
  return { knex, dialect, description: redactUrl(url), storage, close: () => knex.destroy() };
}

/**
 * A write that needs space: SQLite's header page, rewritten with its own value (a WAL frame at commit). /readyz runs it
 * while the storage watch says writes fail, so that readiness comes back once space is freed even with no traffic.
 */
export async function probeWrite(db: Database): Promise<void> {
  if (db.dialect !== 'sqlite') return;
  const rows = (await db.knex.raw('pragma user_version')) as Array<{ user_version: number }>;
  await db.knex.raw(`pragma user_version = ${Number(rows[0]?.user_version ?? 0)}`);
}

const BUSY_WAIT = Symbol('webhook-agent sqlite busy wait');
const lockWaitDeadline = new AsyncLocalStorage<number>();

/**
 * Runs fn (one request) with its own deadline for SQLite lock waits: waitMs from now, whatever it does. With one
 * SQLite connection, statements queue for it; a deadline per statement let each queued request wait its turn and
 * then busyWaitMs more (8.7-14.6 s seen for 3 s; a login, with several writes, 19.6 s). Under a request's deadline a
 * statement that meets the lock after the deadline fails at once, so no request waits much longer than waitMs in
 * all. Statements outside a request (the worker's heartbeat, maintenance) are bounded by the lock episode instead
 * (see LockEpisode), so they cannot hold the connection for a full wait each while requests queue behind them.
 */
export function withLockWaitDeadline<T>(waitMs: number, fn: () => T): T {
  return lockWaitDeadline.run(Date.now() + waitMs, fn);
}

/**
 * Since when another process has been seen holding the lock: from the first SQLITE_BUSY until a write gets through
 * or no statement has met the lock for a whole wait. A statement outside a request waits at most until waitMs after
 * that start: once the lock has been held that long, the next ones fail at once instead of waiting again.
 */
interface LockEpisode { since?: number; lastBusy: number }
const BUSY_EPISODE = Symbol('webhook-agent sqlite lock episode');
const WRITE = /^\s*(insert|update|delete|replace)\b/i;
const patchedClients = new WeakSet<object>();

/**
 * Retries a statement that met SQLITE_BUSY with backoff (timers, not a blocked event loop) for up to waitMs. knex
 * builds a transaction's client from the dialect's prototype, copying `config`, so the retry is installed on the
 * prototype (once) and reads its time from the config, which only this knex instance's config carries.
 */
function waitForLockAsynchronously(knex: Knex, waitMs: number): void {
  type QueryClient = { config: Record<PropertyKey, unknown>; _query(conn: unknown, obj: unknown): Promise<unknown> };
  (knex.client as QueryClient).config[BUSY_WAIT] = waitMs;
  (knex.client as QueryClient).config[BUSY_EPISODE] = { lastBusy: 0 } satisfies LockEpisode;
  const proto = Object.getPrototypeOf(knex.client) as QueryClient;
  if (patchedClients.has(proto)) return;
  patchedClients.add(proto);
  const query = proto._query;
  proto._query = async function (this: QueryClient, conn, obj) {
    const wait = this.config?.[BUSY_WAIT];
    if (typeof wait !== 'number') return query.call(this, conn, obj);
    const episode = this.config[BUSY_EPISODE] as LockEpisode;
    const scoped = lockWaitDeadline.getStore();
    const started = Date.now();
    for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
      try {
        const result = await query.call(this, conn, obj);
        if (WRITE.test(String((obj as { sql?: unknown }).sql))) episode.since = undefined;
        return result;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) throw err;
        const at = Date.now();
        if (episode.since === undefined || at - episode.lastBusy > wait) episode.since = at;
        episode.lastBusy = at;
        const deadline = scoped ?? Math.min(started, episode.since) + wait;
        if (at + delay > deadline) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
}

/**
 * A second pool on db's connection settings (PostgreSQL, SQL Server), for the in-process delivery worker: with one
 * shared pool, a burst of requests holding every connection made the worker's claims and recordings queue behind
 * them, so deliveries stalled exactly while events poured in. SQLite has one connection by design: db itself.
 */
export function separatePool(db: Database, poolMax: number): Database {
  if (db.dialect === 'sqlite') return db;
  const knex = knexFactory({ ...(db.knex.client as { config: Knex.Config }).config, pool: { min: 0, max: poolMax } });
  return { knex, dialect: db.dialect, description: db.description, close: () => knex.destroy() };
}

export async function migrateLatest(db: Database): Promise<string[]> {
  const [, applied] = (await db.knex.migrate.latest()) as [number, string[]];
  return applied;
}
