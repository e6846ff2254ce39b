/**
 * Fresh databases for tests: a temp SQLite file, or a new PostgreSQL database on PG_URL's server (dropped
 * afterwards). Under CI=true an unreachable PostgreSQL is a failure, elsewhere the suite is skipped with the reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { openDatabase, migrateLatest, type Database, type Dialect } from '../../src/store/db.js';

export const PG_URL = process.env.PG_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

let pgProbe: Promise<string | null> | undefined;

/** null when PostgreSQL is usable, otherwise why not. */
export function pgUnavailableReason(): Promise<string | null> {
  pgProbe ??= (async () => {
    const k = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 3000 });
    try {
      await k.raw('select 1');
      return null;
    } catch (err) {
      return `PostgreSQL not reachable at ${PG_URL.replace(/:[^:@/]*@/, ':***@')}: ${(err as Error).message}`;
    } finally {
      await k.destroy();
    }
  })();
  return pgProbe;
}

/** Options for node:test `describe`/`test`: skip (with reason) when a dialect is unavailable, fail under CI. */
export async function dialectAvailability(dialect: Dialect): Promise<{ skip?: string }> {
  if (dialect !== 'pg') return {};
  const reason = await pgUnavailableReason();
  if (!reason) return {};
  if (process.env.CI === 'true') throw new Error(`CI requires every suite: ${reason}`);
  return { skip: reason };
}

export const testDialects: Dialect[] = ['sqlite', 'pg'];

export interface TestDatabase extends Database {
  url: string;
  /** Closes the pool and deletes the database. */
  drop(): Promise<void>;
}

export async function freshDatabase(dialect: Dialect, opts: { migrate?: boolean; poolMax?: number } = {}): Promise<TestDatabase> {
  let url: string;
  let cleanup: () => Promise<void>;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'wa-test-'));
    url = `sqlite:${join(dir, 'test.sqlite')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else if (dialect === 'pg') {
    const name = `wa_test_${randomBytes(6).toString('hex')}`;
    const admin = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
    await admin.raw(`create database ${name}`);
    await admin.destroy();
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    url = u.toString();
    cleanup = async () => {
      const a = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
      await a.raw(`drop database if exists ${name} with (force)`);
      await a.destroy();
    };
  } else {
    const mssql = process.env.MSSQL_URL;
    if (!mssql) throw new Error('MSSQL_URL is not set');
    url = mssql;
    cleanup = async () => {};
  }
  const db = openDatabase(url, { poolMax: opts.poolMax });
  if (opts.migrate !== false) await migrateLatest(db);
  return {
    ...db,
    url,
    drop: async () => {
      await db.close();
      await cleanup();
    },
  };
}
