/**
 * The service under test, started through the lead's test/helpers/service.ts with the loopback-only safety net
 * preloaded, plus a logged-in keep-alive client, and the metrics the reliability script sums up.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD, login, repoRoot, startService, type RunningService } from '../../helpers/service.js';
import { createClient, type SoapClient } from './http-client.js';

const netGuard = fileURLToPath(new URL('../fixtures/loopback-only.js', import.meta.url));
const gcOnSignal = fileURLToPath(new URL('../fixtures/gc-on-signal.js', import.meta.url));

export interface GuardedService extends RunningService {
  /** Outgoing connections the safety net refused (non-loopback addresses the service tried to reach). */
  blockedConnections(): Array<{ host: string; port: number; address: string }>;
}

export async function startGuardedService(env: Record<string, string> = {}): Promise<GuardedService> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wa-rel-'));
  const netLog = path.join(dir, 'blocked-connections.jsonl');
  const svc = await startService({
    NODE_OPTIONS: `--expose-gc --import ${netGuard} --import ${gcOnSignal}`,
    RELIABILITY_NET_LOG: netLog,
    ...env,
  });
  return Object.assign(svc, {
    blockedConnections() {
      if (!existsSync(netLog)) return [];
      return readFileSync(netLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
  });
}

export interface Session {
  service: GuardedService;
  client: SoapClient;
  ticket: string;
  close(): Promise<void>;
}

/** A service, a keep-alive client and an admin ticket. */
export async function openSession(env: Record<string, string> = {}, clientOpts: { maxSockets?: number } = {}): Promise<Session> {
  const service = await startGuardedService(env);
  try {
    const ticket = await login(service.baseUrl);
    const client = createClient(service.baseUrl, clientOpts);
    return {
      service,
      client,
      ticket,
      async close() {
        client.close();
        await service.stop();
      },
    };
  } catch (err) {
    await service.stop('SIGKILL');
    throw err;
  }
}

export interface Metric {
  suite: string;
  /** Hostile cases / fuzz requests tried and the ones that kept the rules. */
  cases?: number;
  passed?: number;
  /** Faults injected and survived. */
  faults?: number;
  faultsSurvived?: number;
  /** Events accepted but never delivered (must be 0). */
  eventsLost?: number;
  [k: string]: unknown;
}

/** Appends one JSON line to RELIABILITY_METRICS_FILE (set by scripts/reliability.ts); a no-op otherwise. */
export function recordMetric(m: Metric): void {
  const file = process.env.RELIABILITY_METRICS_FILE;
  if (file) appendFileSync(file, `${JSON.stringify(m)}\n`);
}

/** A fresh SQLite database URL in a temp dir (for tests that open the file themselves or restart on it). */
export function freshSqliteUrl(): { url: string; file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'wa-rel-db-'));
  const file = path.join(dir, 'wa.sqlite');
  return { url: `sqlite:${file}`, file };
}

/** Runs a CLI command (`user add bob --password x`) against a database; resolves with its stdout. */
export function runCli(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--disable-proto=delete', '--import', 'tsx', path.join(repoRoot, 'src/cli.ts'), ...args], {
      cwd: repoRoot, env: { ...process.env, ADMIN_PASSWORD, LOG_LEVEL: 'warn', ...env }, timeout: 60_000,
    }, (err, stdout, stderr) => (err ? reject(new Error(`cli ${args.join(' ')} failed: ${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}
