/**
 * `webhooks set ID --signature ...` and `webhooks rotate-secret ID` as an operator runs them, against a SQLite file
 * with SECRET_ENCRYPTION_KEY set.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/service.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createHook } from '../integration/delivery-support.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';

const cli = join(repoRoot, 'src/cli.ts');
const KEY = 'an-operator-key-of-at-least-32-characters';

function run(args: string[], env: Record<string, string>, input?: string) {
  const r = spawnSync(process.execPath, ['--disable-proto=delete', '--import', 'tsx', cli, ...args], {
    cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, encoding: 'utf8', timeout: 60_000, input,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('webhooks set / rotate-secret', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let id: number;
  const secrets = createSecretCodec({ key: KEY });
  before(async () => {
    db = await freshDatabase('sqlite');
    env = { DATABASE_URL: db.url, SECRET_ENCRYPTION_KEY: KEY };
    id = await createHook(db.knex, { targetUrl: 'https://example.com/hook' });
    await db.knex('webhook').where('webhook_id', id).update({ secret: secrets.encode('first secret') });
  });
  after(async () => db.drop());

  test('set --signature: stored, shown, and a wrong scheme named', () => {
    const r = run(['webhooks', 'set', String(id), '--signature', 'both'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /signature both/);
    assert.match(run(['webhooks', 'show', String(id)], env).stdout, /Signature: +both/);
    const bad = run(['webhooks', 'set', String(id), '--signature', 'hmac'], env);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /Signature: one of netserver, standard, both \(got 'hmac'\)/);
    assert.match(run(['webhooks', 'set', '999', '--signature', 'standard'], env).stderr, /Webhook 999/);
  });

  test('rotate-secret: prints the generated secret once, keeps the old one encrypted for the overlap', async () => {
    const r = run(['webhooks', 'rotate-secret', String(id), '--overlap', '2h'], env);
    assert.equal(r.status, 0, r.stderr);
    const secret = r.stdout.trim();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.match(r.stderr, /old one is also signed with until \d{4}-\d\d-\d\dT/);
    const row = await db.knex('webhook').where('webhook_id', id).first('secret');
    assert.equal(secrets.decode(row.secret), secret);
    const s = await db.knex('wa_webhook_setting').where('webhook_id', id).first();
    assert.match(String(s.previous_secret), /^enc:v1:/);
    assert.equal(secrets.decode(s.previous_secret), 'first secret');
    const until = Number(s.previous_secret_until) - Date.now();
    assert.ok(until > 2 * 3600_000 - 120_000 && until <= 2 * 3600_000, String(until));
    const show = run(['webhooks', 'show', String(id)], env).stdout;
    assert.match(show, /Rotation: +previous secret also signed with until/);
    assert.doesNotMatch(show, /whsec_|first secret/);
  });

  test('rotate-secret --secret-stdin --netserver-old, and a bad --overlap', async () => {
    const r = run(['webhooks', 'rotate-secret', String(id), '--secret-stdin', '--netserver-old', '--overlap', '30m'], env, 'piped secret\n');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(secrets.decode((await db.knex('webhook').where('webhook_id', id).first('secret')).secret), 'piped secret');
    assert.equal(Number((await db.knex('wa_webhook_setting').where('webhook_id', id).first()).previous_secret_netserver), 1);
    const bad = run(['webhooks', 'rotate-secret', String(id), '--overlap', 'a day'], env);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--overlap: 'a day' is not a duration/);
  });
});
