/**
 * The package as a server operator installs it: `npm pack` (which builds), `npm install <tarball>` into an empty
 * directory, then the installed `webhook-agent` bin: `--help`, and `serve` on SQLite answering SOAP over loopback.
 * The bin's shebang passes --disable-proto=delete; the served process's command line must carry it.
 *
 * Dependencies come from the npm registry (or its local cache). Their install scripts are not run: the only one
 * that matters, better-sqlite3's native build, takes minutes of CPU; the repository's own build of the same
 * version (pinned with `overrides`) is copied in instead.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot } from '../helpers/service.js';
import { soapCall, textAt } from '../helpers/app.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('npm pack: the installed webhook-agent bin', () => {
  let dir: string;
  let bin: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-pack-'));
    const pack = spawnSync(npm, ['pack', '--pack-destination', dir, '--loglevel', 'warn'], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
    assert.equal(pack.status, 0, `npm pack: ${pack.stderr}`);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'no tarball');
    const sqliteVersion = (JSON.parse(readFileSync(join(repoRoot, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pack-check', private: true, overrides: { 'better-sqlite3': sqliteVersion } }));
    const install = spawnSync(npm, ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel', 'warn', `./${tarball}`],
      { cwd: dir, encoding: 'utf8', timeout: 600_000 });
    assert.equal(install.status, 0, `npm install: ${install.stderr}`);
    const release = join(dir, 'node_modules/better-sqlite3/build/Release');
    mkdirSync(release, { recursive: true });
    copyFileSync(join(repoRoot, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), join(release, 'better_sqlite3.node'));
    bin = join(dir, 'node_modules/.bin/webhook-agent');
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the package holds the compiled program and README, not sources or tests', () => {
    const files = spawnSync('tar', ['-tzf', join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!)], { encoding: 'utf8' }).stdout.split('\n');
    assert.ok(files.includes('package/dist/src/cli.js'));
    assert.ok(files.includes('package/README.md'));
    assert.ok(files.includes('package/dist/admin/index.html') && files.includes('package/dist/admin/app.js'), 'the admin page bundle is packed');
    assert.ok(!files.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/') || f.endsWith('.ts') && !f.endsWith('.d.ts')));
  });

  test('webhook-agent --help', () => {
    const r = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    for (const cmd of ['serve', 'worker', 'migrate', 'user', 'import', 'ticket']) assert.match(r.stdout, new RegExp(`\\n  ${cmd}\\b`));
    const imp = spawnSync(bin, ['import', 'netserver', '--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.match(imp.stdout, /--dry-run/);
  });

  test('webhook-agent serve on SQLite, with --disable-proto=delete, answers SOAP and stops on SIGTERM', async () => {
    const port = await freePort();
    const proc = spawn(bin, ['serve'], {
      cwd: dir,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: `sqlite:${join(dir, 'data/wa.sqlite')}`, ADMIN_PASSWORD: 'pack-admin-pw', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      for (;;) {
        assert.equal(proc.exitCode, null, `serve exited: ${out}`);
        const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
        if (ok) break;
        assert.ok(Date.now() < deadline, `not ready: ${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      // env -S execs node in the same process: its command line is node's.
      const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0');
      assert.ok(cmdline.includes('--disable-proto=delete'), `command line: ${cmdline.join(' ')}`);
      assert.equal(cmdline[cmdline.indexOf('serve') - 1], bin, `command line: ${cmdline.join(' ')}`);

      const login = await soapCall(base, 88, 'AuthenticateUsernamePassword', '<UserName>admin</UserName><Password>pack-admin-pw</Password>',
        { service: 'SoPrincipal', ticket: null });
      const ticket = textAt(login.body, 'Credentials', 'Ticket');
      assert.ok(ticket, login.text.slice(0, 400));
      const all = await soapCall(base, 88, 'GetAllWebhooks', '', { ticket });
      assert.equal(all.succeeded, true, all.text.slice(0, 400));
      const adminPage = await fetch(`${base}/admin/`);
      assert.equal(adminPage.status, 200, 'the installed package serves the admin page');
      assert.match(await adminPage.text(), /<script type="module" src="app.js">/);
      // A crafted id="__proto__" is answered, and the service keeps serving.
      const crafted = await fetch(`${base}/Remote/Services88/Webhook.svc`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"http://www.superoffice.net/ws/crm/NetServer/Services88/Webhook/GetWebhook"' },
        body: '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
          + '<GetWebhook xmlns="http://www.superoffice.net/ws/crm/NetServer/Services88" id="__proto__"><WebhookId>1</WebhookId></GetWebhook></s:Body></s:Envelope>',
      });
      assert.ok(crafted.status === 200 || crafted.status === 500, `status ${crafted.status}`);
      assert.equal((await soapCall(base, 88, 'GetAllWebhooks', '', { ticket })).succeeded, true);
    } finally {
      proc.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
  });

  test('serve without --disable-proto=delete refuses to start, saying why', () => {
    const r = spawnSync(process.execPath, [join(dir, 'node_modules/webhook-agent/dist/src/cli.js'), 'serve'], {
      cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'data/refused.sqlite')}`, PORT: '0' },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /must run with node --disable-proto=delete/);
  });
});
