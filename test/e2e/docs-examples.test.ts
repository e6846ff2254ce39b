/**
 * The documentation's "Try it" examples, run as written (issue 17, item 1): README's service and receiver blocks and
 * the SOAP (docs/soap.md) and REST (docs/rest.md) curl blocks, each marked `<!-- try-it: NAME -->`. A fresh service
 * per client block, started with the environment the service block sets; the receiver is the block's own
 * `listen` command. What the test changes, and only that: the ports (8080 and 9000 become free ones, since other
 * runs may hold those), `node dist/src/cli.js` becomes the same CLI from source (src/cli.ts under tsx, so the test
 * needs no build), the database is a fresh file, and `curl` fails on an HTTP error status (--fail-with-body) so a
 * broken step fails the test instead of printing an error body.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot, startService, type RunningService } from '../helpers/service.js';

function block(file: string, name: string): string {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const m = new RegExp(`<!-- try-it: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\n`).exec(text);
  assert.ok(m, `${file} has a block marked try-it: ${name}`);
  return m[1];
}

const cliFromSource = `"${process.execPath}" --import tsx src/cli.ts`;
function localise(script: string, ports: { service: number; receiver: number }): string {
  return script.replaceAll('node dist/src/cli.js', cliFromSource)
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.service}`)
    .replaceAll('--port 9000', `--port ${ports.receiver}`)
    .replaceAll('127.0.0.1:9000', `127.0.0.1:${ports.receiver}`);
}

/** README's service line: VAR=value ... npm start. */
function serviceEnv(): Record<string, string> {
  const line = block('README.md', 'service').trim();
  const m = /^((?:[A-Z_]+=\S+ )+)npm start$/.exec(line);
  assert.ok(m, `the service block is env assignments and npm start: ${line}`);
  return Object.fromEntries(m[1].trim().split(/\s+/).map((kv) => kv.split('=') as [string, string]));
}

async function until(what: string, check: () => boolean, out: () => string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`${what} within ${ms} ms; receiver printed:\n${out()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the Try it examples of README, docs/soap.md and docs/rest.md', () => {
  let receiver: ChildProcess;
  let received = '';
  let receiverPort: number;

  before(async () => {
    receiverPort = await freePort();
    const cmd = localise(block('README.md', 'receiver'), { service: 0, receiver: receiverPort });
    assert.match(cmd, /src\/cli\.ts listen /);
    receiver = spawn('bash', ['-c', `exec ${cmd.trim()}`], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    receiver.stdout!.on('data', (d) => (received += d));
    receiver.stderr!.on('data', (d) => (received += d));
    await until('the receiver says it listens', () => received.includes('listening on'), () => received, 60_000);
  });

  after(() => {
    receiver?.kill('SIGTERM');
  });

  for (const [file, name] of [['docs/soap.md', 'soap'], ['docs/rest.md', 'rest']] as const) {
    test(`${file}: the ${name} block, verbatim against a fresh service, delivers signed events the receiver verifies`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wa-docs-'));
      const databaseUrl = `sqlite:${join(dir, 'wa.sqlite')}`;
      // The service block's own settings decide: without its ALLOW_INSECURE_TARGETS=true the save is refused.
      const svc: RunningService = await startService({ ALLOW_INSECURE_TARGETS: 'false', ADMIN_PASSWORD: '', DATABASE_URL: databaseUrl, ...serviceEnv() });
      const from = received.length;
      const mine = () => received.slice(from);
      try {
        const script = localise(block(file, name), { service: svc.port, receiver: receiverPort });
        const r = spawnSync('bash', ['-c', `set -eo pipefail\ncurl() { command curl --fail-with-body -sS "$@"; }\n${script}`], {
          cwd: repoRoot, encoding: 'utf8', timeout: 120_000, env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
        });
        assert.equal(r.status, 0, `the block failed:\n${r.stdout}\n${r.stderr}\nservice:\n${svc.output()}`);
        if (name === 'soap') {
          const envelopes = r.stdout.match(/<s:Envelope/g)?.length ?? 0;
          assert.ok(envelopes >= 5, r.stdout);
          assert.equal(r.stdout.match(/>true<\/Succeeded>/g)?.length, envelopes, `every call succeeded:\n${r.stdout}`);
        } else {
          assert.match(r.stdout, /"TargetUrl":"http:\/\/127\.0\.0\.1:\d+\/in"/);
        }
        await until('the test ping and the contact.created event arrive, both signed and verified',
          () => /event: {5}contact\.created[\s\S]*?signature: valid/.test(mine()), mine);
        assert.match(mine(), /event: {5}test\n {2}EventId: {3}[0-9a-f-]{36}\n {2}retry: {5}0\n {2}signature: valid/);
        assert.doesNotMatch(mine(), /INVALID|MISSING/);
      } finally {
        await svc.stop();
      }
    });
  }
});
