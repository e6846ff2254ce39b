/**
 * DATABASE_PASSWORD and DATABASE_PASSWORD_FILE (issue 17, item 9): a PostgreSQL password with `@ : / #` in it,
 * which breaks a DATABASE_URL it is pasted into, reaches a real server through either key. The role is made here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { repoRoot } from '../helpers/service.js';
import { PG_URL } from '../helpers/db.js';
import { requires } from '../helpers/requires.js';

const cli = join(repoRoot, 'src/cli.ts');
const PASSWORD = 'p@ss:w/rd#1';

function migrate(env: Record<string, string>): { status: number | null; out: string } {
  const clean = { ...process.env };
  for (const k of ['DATABASE_URL', 'DATABASE_PASSWORD', 'DATABASE_PASSWORD_FILE']) delete clean[k];
  const r = spawnSync(process.execPath, ['--disable-proto=delete', '--import', 'tsx', cli, 'migrate'], {
    cwd: repoRoot, env: { ...clean, LOG_LEVEL: 'warn', ...env }, encoding: 'utf8', timeout: 60_000,
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('DATABASE_PASSWORD on a real PostgreSQL', await requires('postgres'), () => {
  const suffix = randomBytes(5).toString('hex');
  const role = `wa_pw_${suffix}`;
  const dbName = `wa_pw_${suffix}`;
  const admin = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
  const server = new URL(PG_URL);
  const urlWithoutPassword = `postgres://${role}@${server.host}/${dbName}`;

  before(async () => {
    await admin.raw(`create role ${role} login password '${PASSWORD}'`);
    await admin.raw(`create database ${dbName} owner ${role}`);
  });
  after(async () => {
    await admin.raw(`drop database if exists ${dbName} with (force)`);
    await admin.raw(`drop role if exists ${role}`);
    await admin.destroy();
  });

  test('the server checks passwords: a wrong one and the password pasted into the URL are refused', () => {
    const wrong = migrate({ DATABASE_URL: urlWithoutPassword, DATABASE_PASSWORD: 'not-it' });
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.out, /password authentication failed/);
    assert.doesNotMatch(wrong.out, /not-it/, 'the password is not printed');
    const pasted = migrate({ DATABASE_URL: `postgres://${role}:${PASSWORD}@${server.host}/${dbName}` });
    assert.notEqual(pasted.status, 0, pasted.out);
  });

  test('DATABASE_PASSWORD overrides the URL\'s password; DATABASE_PASSWORD_FILE reads a Docker secret', () => {
    const first = migrate({ DATABASE_URL: `postgres://${role}:placeholder@${server.host}/${dbName}`, DATABASE_PASSWORD: PASSWORD });
    assert.equal(first.status, 0, first.out);
    assert.match(first.out, /applied \d+ migration\(s\) to postgres:\/\/wa_pw_\w+:\*\*\*@/);
    assert.ok(!first.out.includes(PASSWORD) && !first.out.includes(encodeURIComponent(PASSWORD)), 'the password is not printed');
    const file = join(mkdtempSync(join(tmpdir(), 'wa-secret-')), 'postgres_password');
    writeFileSync(file, `${PASSWORD}\n`);
    const second = migrate({ DATABASE_URL: urlWithoutPassword, DATABASE_PASSWORD_FILE: file });
    assert.equal(second.status, 0, second.out);
    assert.match(second.out, /is up to date/);
  });

  test('both keys at once, or a password for SQLite, are refused naming the keys', () => {
    const both = migrate({ DATABASE_URL: urlWithoutPassword, DATABASE_PASSWORD: PASSWORD, DATABASE_PASSWORD_FILE: '/nonexistent' });
    assert.notEqual(both.status, 0);
    assert.match(both.out, /DATABASE_PASSWORD or DATABASE_PASSWORD_FILE, not both/);
    const sqlite = migrate({ DATABASE_URL: 'sqlite::memory:', DATABASE_PASSWORD: PASSWORD });
    assert.notEqual(sqlite.status, 0);
    assert.match(sqlite.out, /DATABASE_PASSWORD applies to postgres:\/\/ and mssql:\/\/ URLs/);
  });
});
