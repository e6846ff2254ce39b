/**
 * A throwaway PostgreSQL 15 cluster of our own (initdb into a temp dir, pg_ctl on a free port), so that a test
 * can stop and start PostgreSQL under the service without touching the shared cluster on 5432 that other tests
 * use. initdb and the server refuse to run as root, so they run as the `postgres` OS user.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../helpers/service.js';

const run = promisify(execFile);
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PgCluster {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  psql(sql: string, database?: string): Promise<string>;
  /** Stops the server and deletes the data directory. */
  destroy(): Promise<void>;
  log(): string;
}

async function asPostgres(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  const r = await run('/usr/sbin/runuser', ['-u', 'postgres', '--', cmd, ...args], { timeout: opts.timeoutMs ?? 60_000 });
  return r.stdout;
}

export async function createPgCluster(): Promise<PgCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wa-pg-'));
  const pgUid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const pgGid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  chownSync(dir, pgUid, pgGid);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const port = await freePort();
  await asPostgres(`${PG_BIN}/initdb`, ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'], { timeoutMs: 120_000 });
  const serverOpts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=60`;
  const pgCtl = (args: string[]) => asPostgres(`${PG_BIN}/pg_ctl`, ['-D', data, ...args], { timeoutMs: 60_000 });

  const cluster: PgCluster = {
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      await pgCtl(['-o', serverOpts, '-l', logFile, '-w', '-t', '30', 'start']);
    },
    async stop(mode = 'fast') {
      await pgCtl(['-m', mode, '-w', '-t', '30', 'stop']);
    },
    psql: (sql, database = 'postgres') =>
      asPostgres(`${PG_BIN}/psql`, ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', database, '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql]),
    async destroy() {
      try {
        await pgCtl(['-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
  await cluster.start();
  return cluster;
}
