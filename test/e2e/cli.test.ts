/**
 * What a new user sees from the CLI (issue 8, item 11): flags that work, commands that say what they did, errors
 * in one line that name the culprit, and warnings for relaxed settings.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot } from '../helpers/service.js';
import { PG_URL } from '../helpers/db.js';
import { requires } from '../helpers/requires.js';
import { openDatabase } from '../../src/store/db.js';
import { createAssociate } from '../../src/store/associate-repository.js';
import { insertTicket } from '../../src/store/ticket-repository.js';

const cli = join(repoRoot, 'src/cli.ts');
const postgres = await requires('postgres');

function run(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--disable-proto=delete', '--import', 'tsx', cli, ...args], {
    cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, encoding: 'utf8', timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const freshSqlite = () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'wa-cli-')), 'wa.sqlite')}`;

/** Starts `serve` with extra argv, waits for its listening line, returns the output so far; always stops it. */
async function serveOnce(args: string[], env: Record<string, string>): Promise<string> {
  const proc = spawn(process.execPath, ['--disable-proto=delete', '--import', 'tsx', cli, 'serve', ...args], {
    cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn', ADMIN_PASSWORD: 'pw-cli-test', DATABASE_URL: freshSqlite(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    const deadline = Date.now() + 60_000;
    while (!out.includes('listening')) {
      if (proc.exitCode !== null) throw new Error(`serve exited early:\n${out}`);
      if (Date.now() > deadline) throw new Error(`serve did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return out;
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}

describe('CLI', () => {
  test('serve --port is honoured over PORT', async () => {
    const port = await freePort();
    const out = await serveOnce(['--port', String(port)], { PORT: '1', HOST: '127.0.0.1' });
    assert.match(out, new RegExp(`listening on http://127\\.0\\.0\\.1:${port}/Remote/Services88/Webhook\\.svc`));
  });

  test('the listening line says all interfaces for HOST=0.0.0.0; ALLOW_INSECURE_TARGETS warns', async () => {
    const port = await freePort();
    const out = await serveOnce([], { PORT: String(port), HOST: '0.0.0.0', ALLOW_INSECURE_TARGETS: 'true' });
    assert.match(out, new RegExp(`listening on all interfaces \\(HOST=0\\.0\\.0\\.0\\), port ${port}`));
    assert.match(out, /WARNING: ALLOW_INSECURE_TARGETS is on/);
    const quiet = await serveOnce([], { PORT: String(await freePort()), HOST: '127.0.0.1', ALLOW_INSECURE_TARGETS: 'false' });
    assert.doesNotMatch(quiet, /ALLOW_INSECURE_TARGETS/);
  });

  test('serve deletes expired tickets at start (and hourly), keeping live ones', async () => {
    const url = freshSqlite();
    assert.equal(run(['migrate'], { DATABASE_URL: url }).status, 0);
    const db = openDatabase(url);
    try {
      const now = Date.now();
      const a = await createAssociate(db.knex, { name: 'ticket-owner', passwordHash: 'x' });
      await insertTicket(db.knex, { ticketHash: 'a'.repeat(64), associateId: a.associateId, expiresAt: new Date(now - 60_000) });
      await insertTicket(db.knex, { ticketHash: 'b'.repeat(64), associateId: a.associateId, expiresAt: new Date(now + 3_600_000) });
      await serveOnce([], { PORT: String(await freePort()), HOST: '127.0.0.1', DATABASE_URL: url });
      const left = (await db.knex('ticket').select('ticket_hash')) as Array<{ ticket_hash: string }>;
      assert.deepEqual(left.map((r) => r.ticket_hash), ['b'.repeat(64)]);
    } finally {
      await db.close();
    }
  });

  test('serve says at start (warn) that an imported ADMIN without a password blocks the first admin, and how to set it', async () => {
    const url = freshSqlite();
    assert.equal(run(['migrate'], { DATABASE_URL: url }).status, 0);
    const db = openDatabase(url);
    try {
      // As `import netserver` writes NetServer's associates: no password hash.
      await createAssociate(db.knex, { name: 'ADMIN', passwordHash: '' });
      const out = await serveOnce([], { PORT: String(await freePort()), HOST: '127.0.0.1', DATABASE_URL: url });
      assert.match(out, /"level":40[^\n]*no admin associate was created: 'ADMIN' already exists \(imported from NetServer\) without a password/);
      assert.match(out, /webhook-agent user password ADMIN/);
      assert.equal(((await db.knex('associate').count({ n: '*' }).first()) as { n: unknown }).n, 1, 'nothing created');
    } finally {
      await db.close();
    }
  });

  test('migrate says what it applied, and says so when there was nothing to do', () => {
    const url = freshSqlite();
    const first = run(['migrate'], { DATABASE_URL: url });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /applied \d+ migration\(s\) to sqlite:.*001-core/);
    const again = run(['migrate'], { DATABASE_URL: url });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /is up to date: no migrations to apply/);
  });

  test('a configuration file that is not JSON is named in the error', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wa-cli-')), 'broken.json');
    writeFileSync(file, '{"port": 8080,');
    const r = run(['migrate'], { CONFIG_FILE: file, DATABASE_URL: freshSqlite() });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid JSON`));
    const missing = run(['migrate', '--config', `${file}.nope`], { DATABASE_URL: freshSqlite() });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read the configuration file .*broken\.json\.nope/);
  });

  test('a wrong PostgreSQL password is one line naming the database, password masked, no stack', postgres, () => {
    const u = new URL(PG_URL);
    u.password = 'surely-not-the-password';
    const r = run(['migrate'], { DATABASE_URL: u.toString() });
    assert.equal(r.status, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^Cannot open the database postgres:\/\/[^:]*:\*\*\*@.*password authentication failed/);
    assert.doesNotMatch(r.stderr, /surely-not-the-password|\n\s+at /);
  });
});
