/**
 * What a suite needs from the machine beyond Node, checked once per process. `requires(...)` gives node:test
 * options: `{ skip: 'why' }` when something is missing, `{}` when all is there; under CI=true a missing
 * requirement throws instead, so CI fails rather than skipping. Use it on the `describe` (or top-level `test`)
 * so that nothing of a skipped suite runs, hooks included.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { tmpdir, userInfo } from 'node:os';
import { pgUnavailableReason } from './db.js';
import { PG_BIN } from '../reliability/support/pg-cluster.js';

const repoRoot = new URL('../../', import.meta.url).pathname;

/** The shared reference folder (NetServer's WSDLs and SOAP examples), beside the repository. */
export const sharedDir = path.resolve(repoRoot, '../shared');
export const referenceDir = path.join(sharedDir, 'reference');

export type Requirement = 'reference' | 'webhook-docs' | 'clients' | 'xmllint' | 'python3' | 'postgres' | 'initdb' | 'mono' | 'zeep' | 'sqlfluff' | 'tinyproxy' | 'tmpfs';

/** A program is there when it runs and exits 0 (a path that exists but does not run counts as missing). */
function runs(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

const checks: Record<Requirement, () => string | null | Promise<string | null>> = {
  reference: () => (existsSync(path.join(referenceDir, 'wsdl')) && existsSync(path.join(referenceDir, 'soap-examples'))
    ? null : `reference folder not found at ${referenceDir} (NetServer's WSDLs and SOAP examples)`),
  // NetServer's webhook documentation pages (event families, payload examples).
  'webhook-docs': () => (existsSync(path.join(referenceDir, 'webhook-docs', 'reference__contact-events.md.txt'))
    ? null : `webhook documentation not found at ${referenceDir}/webhook-docs`),
  clients: () => (existsSync(path.join(sharedDir, 'clients/run-all.sh')) ? null : `client harness not found at ${sharedDir}/clients/run-all.sh`),
  xmllint: () => (runs('xmllint', ['--version']) ? null : 'xmllint not installed (Debian libxml2-utils)'),
  python3: () => (runs('python3', ['-c', 'import hmac, hashlib, base64']) ? null : 'python3 not installed'),
  postgres: () => pgUnavailableReason(),
  // A throwaway cluster (reliability/support/pg-cluster.ts) runs initdb as the postgres OS user, which needs root.
  initdb: () => (!runs(`${PG_BIN}/initdb`, ['--version']) ? `${PG_BIN}/initdb not installed (Debian postgresql-15)`
    : userInfo().uid !== 0 ? 'not root: cannot run initdb as the postgres OS user' : null),
  mono: () => (runs('mono', ['--version']) && runs('sh', ['-c', 'command -v svcutil && command -v mcs']) ? null : 'mono-devel (mono, svcutil, mcs) not installed'),
  // The client harness runs Debian's /usr/bin/python3 (python3-zeep), not whatever python3 is first on PATH.
  sqlfluff: () => (runs('sqlfluff', ['--version']) ? null : 'sqlfluff not installed (Debian sqlfluff, the T-SQL grammar check)'),
  tinyproxy: () => (runs('tinyproxy', ['-v']) ? null : 'tinyproxy not installed (Debian tinyproxy, the outbound proxy tests)'),
  // A small filesystem of its own to fill (the full-disk tests): root, and a kernel that lets it mount tmpfs here.
  tmpfs: () => {
    if (userInfo().uid !== 0) return 'not root: cannot mount a small tmpfs to fill';
    const dir = mkdtempSync(path.join(tmpdir(), 'wa-tmpfs-probe-'));
    try {
      if (!runs('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir])) return 'mount -t tmpfs is not permitted here';
      runs('umount', [dir]);
      return null;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  zeep: () => (runs('/usr/bin/python3', ['-c', 'import zeep']) ? null : 'python3-zeep not installed (Debian python3-zeep, for /usr/bin/python3)'),
};

const results = new Map<Requirement, Promise<string | null>>();

/** null when the requirement is met, otherwise why not. */
export function missing(r: Requirement): Promise<string | null> {
  let p = results.get(r);
  if (!p) results.set(r, (p = Promise.resolve().then(checks[r])));
  return p;
}

/** node:test options for a suite that needs all of `reqs`; throws under CI=true when one is missing. */
export async function requires(...reqs: Requirement[]): Promise<{ skip?: string }> {
  const reasons = (await Promise.all(reqs.map(missing))).filter((r): r is string => r !== null);
  if (reasons.length === 0) return {};
  const reason = reasons.join('; ');
  if (process.env.CI === 'true') throw new Error(`CI requires every suite: ${reason}`);
  return { skip: reason };
}
