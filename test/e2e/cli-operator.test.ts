/**
 * The CLI as an operator meets it (issue 17, item 6): --version, webhooks list/show, tables whose headers line up
 * with their columns, an import dry run that writes nothing, a bad --from named as such, purge that asks first,
 * and ticket without a password.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/service.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { netServerFixture, type NetServerFixture } from '../helpers/netserver-fixture.js';
import { createHook } from '../integration/delivery-support.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { formatTable } from '../../src/cli-table.js';

const cli = join(repoRoot, 'src/cli.ts');

function run(args: string[], env: Record<string, string> = {}, input?: string) {
  const r = spawnSync(process.execPath, ['--disable-proto=delete', '--import', 'tsx', cli, ...args], {
    cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn', WA_PASSWORD: '', ...env }, encoding: 'utf8', timeout: 60_000, input,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start offsets of each header word in the first line must be where every row's cell of that column starts (left) or ends (right). */
function assertAligned(table: string, headers: Array<{ name: string; right?: boolean }>) {
  const [head, ...rows] = table.split('\n');
  for (const h of headers) {
    const at = head.indexOf(h.name);
    assert.ok(at >= 0, `${h.name} in ${head}`);
    const end = at + h.name.length;
    for (const row of rows) {
      if (h.right) assert.ok(row[end - 1] !== ' ' && (row[end] === ' ' || row[end] === undefined), `${h.name} right-aligned:\n${head}\n${row}`);
      else assert.ok(row[at] !== ' ' && (at === 0 || row[at - 1] === ' '), `${h.name} left-aligned:\n${head}\n${row}`);
    }
  }
}

test('formatTable: columns as wide as their widest cell, numbers right-aligned, empty cells as -', () => {
  const t = formatTable([{ header: 'ID', value: (r: { id: number; s: string }) => r.id, right: true }, { header: 'NAME', value: (r) => r.s }],
    [{ id: 7, s: 'a' }, { id: 12345, s: '' }]);
  assert.equal(t, '   ID  NAME\n    7  a\n12345  -');
});

test('--version prints the package version', () => {
  const r = run(['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version);
});

describe('against a SQLite database', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let hooks: number[];
  before(async () => {
    db = await freshDatabase('sqlite');
    env = { DATABASE_URL: db.url };
    hooks = [
      await createHook(db.knex, { name: 'crm sync', targetUrl: 'https://hooks.example.com/in', secret: 'top-secret-value', events: ['contact.created', 'sale.changed'] }),
      await createHook(db.knex, { name: 'a much longer webhook name than the header', targetUrl: 'https://x.example/y', state: 'Stopped', properties: { a: 1 } }),
    ];
    const t0 = Date.UTC(2026, 2, 1);
    for (let i = 1; i <= 12; i++) {
      await enqueueEvent(db.knex, { eventName: i % 2 ? 'contact.created' : 'sale.changed', primaryKey: i * 1001, data: {}, changedByAssociateId: 1, timestamp: new Date(t0) },
        [hooks[0]], { now: t0 + i });
    }
  });
  after(() => db.drop());

  test('webhooks list: aligned table, filters, --json without secrets', () => {
    const r = run(['webhooks', 'list'], env);
    assert.equal(r.status, 0, r.stderr);
    const table = r.stdout.trim().split('\n').slice(0, 3).join('\n');
    assertAligned(table, [{ name: 'ID', right: true }, { name: 'STATE' }, { name: 'NAME' }, { name: 'CALLS', right: true }, { name: 'EVENTS' }, { name: 'TARGET' }]);
    assert.match(r.stdout, /crm sync .* contact\.created,sale\.changed +https:\/\/hooks\.example\.com\/in\n/);
    assert.match(r.stdout, /\(2 webhooks\)/);
    assert.doesNotMatch(r.stdout, /top-secret-value/);
    const stopped = run(['webhooks', 'list', '--state', 'stopped'], env);
    assert.equal(stopped.stdout.trim().split('\n').length, 3, stopped.stdout);
    assert.match(run(['webhooks', 'list', '--event', 'sale.changed'], env).stdout, /crm sync/);
    const json = JSON.parse(run(['webhooks', 'list', '--json'], env).stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(json.map((h) => [h.webhookId, h.secretSet, 'secret' in h]), [[hooks[0], true, false], [hooks[1], false, false]]);
    const bad = run(['webhooks', 'list', '--state', 'sleeping'], env);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^--state: one of Active, Stopped, TooManyErrors/);
  });

  test('webhooks show: every member, the secret only as set', () => {
    const r = run(['webhooks', 'show', String(hooks[0])], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^webhook ${hooks[0]}\\n  Name: +crm sync\\n`));
    assert.match(r.stdout, /Secret: +set \(not shown\)/);
    assert.match(r.stdout, /Events: +contact\.created, sale\.changed/);
    assert.doesNotMatch(r.stdout, /top-secret-value/);
    assert.match(run(['webhooks', 'show', String(hooks[1])], env).stdout, /Properties: +\{"a":1\}/);
    const missing = run(['webhooks', 'show', '999'], env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no webhook 999/);
  });

  test('deliveries list: the header lines up with its columns', () => {
    const r = run(['deliveries', 'list'], env);
    assert.equal(r.status, 0, r.stderr);
    const table = r.stdout.trim().split('\n').slice(0, -1).join('\n');
    assertAligned(table, [{ name: 'ID', right: true }, { name: 'HOOK', right: true }, { name: 'STATUS' }, { name: 'TRY', right: true },
      { name: 'SIGNALLED' }, { name: 'EVENT' }, { name: 'KEY', right: true }, { name: 'EVENT ID' }]);
  });

  test('deliveries purge asks on a terminal; "n" keeps everything, "y" purges', async () => {
    const count = async () => Number((await db.knex('wa_delivery').count({ n: '*' }))[0].n);
    await db.knex('wa_delivery').whereIn('delivery_id', [1, 2]).update({ status: 'succeeded', finished_at: Date.now() });
    const before = await count();
    // script(1) gives the command a pseudo-terminal, with the answer typed on it.
    const inPty = (answer: string) => spawnSync('script', ['-qec',
      `${process.execPath} --disable-proto=delete --import tsx ${cli} deliveries purge --webhook ${hooks[0]}`, '/dev/null'],
    { cwd: repoRoot, env: { ...process.env, ...env, LOG_LEVEL: 'warn' }, encoding: 'utf8', input: `${answer}\n`, timeout: 60_000 });
    const no = inPty('n');
    assert.match(no.stdout, /This will delete the finished deliveries of webhook \d+ and their attempts\. Continue\? \[y\/N\]/);
    assert.match(no.stdout, /Nothing was changed/);
    assert.equal(await count(), before);
    const yes = inPty('y');
    assert.match(yes.stdout, /deleted 2 finished deliveries/, yes.stdout + yes.stderr);
    assert.equal(await count(), before - 2);
  });

  test('ticket and user password without a password say that no password was given', () => {
    for (const args of [['ticket', 'admin'], ['user', 'password', 'admin']]) {
      const r = run(args, env, '');
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^no password was given for the (password of|new password for) admin: set WA_PASSWORD/);
    }
  });
});

describe('import netserver', () => {
  let fixture: NetServerFixture;
  let dir: string;
  before(async () => {
    fixture = await netServerFixture('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'wa-import-dry-'));
  });
  after(async () => {
    await fixture.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('--dry-run creates no target database and reports against an empty one', () => {
    const target = join(dir, 'not-yet.sqlite');
    const r = run(['import', 'netserver', '--from', fixture.url, '--dry-run'], { DATABASE_URL: `sqlite:${target}` });
    assert.match(r.stdout, /dry run, nothing written/, r.stderr);
    assert.match(r.stdout, /webhooks: 5 in NetServer, 4 valid \(4 new here, 0 already here/);
    assert.equal(existsSync(target), false, 'the target file was not created');
  });

  test('a bad --from is reported as --from, not DATABASE_URL', () => {
    const r = run(['import', 'netserver', '--from', 'oracle://somewhere/db'], { DATABASE_URL: `sqlite:${join(dir, 'x.sqlite')}` });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), '--from must start with sqlite:, postgres:// or mssql:// (got oracle://somewhere/db)');
    assert.equal(existsSync(join(dir, 'x.sqlite')), false);
  });
});
