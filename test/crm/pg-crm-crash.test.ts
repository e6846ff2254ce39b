/**
 * The PostgreSQL CRM source across crashes: a reader killed with SIGKILL after reading a CRM transaction and
 * before enqueueing it, or after the enqueue committed and before the slot was confirmed; and a PostgreSQL
 * restart (stop -m immediate) of the CRM database's own throwaway cluster, so the shared cluster other suites
 * use is never restarted. In each case every change is enqueued exactly once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { freshDatabase, PG_URL, type TestDatabase } from '../helpers/db.js';
import { requires } from '../helpers/requires.js';
import { repoRoot } from '../helpers/service.js';
import { createHook, silentLogger } from '../integration/delivery-support.js';
import { createPgCrmSource } from '../../src/crm/pg-crm-source.js';
import { createPgCluster, type PgCluster } from '../reliability/support/pg-cluster.js';
import { CRM_SCHEMA, PUBLICATION, createCrmDatabase, insertRow, sampleRow, tableOf, updateRow, type CrmDatabase } from './pg-crm-support.js';
import { logicalReplication } from './pg-logical.js';

const contact = tableOf('contact');

/** wa_event rows as "name pk", in event order. */
async function enqueued(svc: TestDatabase): Promise<string[]> {
  const rows = await svc.knex('wa_event').orderBy('event_id').select('name', 'primary_key');
  return rows.map((r: { name: string; primary_key: unknown }) => `${r.name} ${Number(r.primary_key)}`);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads in-process until `expected` is enqueued, then stops; returns what was enqueued. */
async function readUntil(crm: CrmDatabase, svc: TestDatabase, last: string): Promise<string[]> {
  const source = createPgCrmSource({ crmUrl: crm.url, schema: CRM_SCHEMA, slotName: crm.slot, publicationName: PUBLICATION, db: svc, logger: silentLogger, retryMs: 200 });
  source.start();
  try {
    await until(last, async () => (await enqueued(svc)).includes(last));
  } finally {
    await source.stop();
  }
  return enqueued(svc);
}

describe('CRM events from PostgreSQL: a reader killed with SIGKILL', await logicalReplication(), () => {
  let crm: CrmDatabase;
  let svc: TestDatabase;
  before(async () => {
    crm = await createCrmDatabase(PG_URL);
    svc = await freshDatabase('pg');
    await createHook(svc.knex, { name: 'crm', targetUrl: 'http://127.0.0.1:9/', events: ['*'] });
  });
  after(async () => {
    await svc?.drop();
    await crm?.drop();
  });

  /** Runs the reader in a child until it holds at `crashAt`, then kills it with SIGKILL. */
  async function killReaderAt(crashAt: 'before' | 'after'): Promise<string> {
    const child = spawn(process.execPath, ['--disable-proto=delete', '--import', 'tsx', 'test/crm/fixtures/pg-crm-reader.ts'], {
      cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CRM_URL: crm.url, SERVICE_URL: svc.url, SLOT: crm.slot, PUBLICATION, SCHEMA: CRM_SCHEMA, CRASH_AT: crashAt },
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the reader did not reach ${crashAt}: ${err}`)), 60_000);
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('HOLD ')) { clearTimeout(timer); resolve(); }
        });
        child.on('exit', () => { clearTimeout(timer); reject(new Error(`the reader exited early: ${err}`)); });
      });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    return out.trim();
  }

  test('killed between reading a transaction and enqueueing it: nothing lost', async () => {
    await crm.knex.transaction(async (trx) => {
      await insertRow(trx, contact, sampleRow(contact, 1));
      await insertRow(trx, contact, sampleRow(contact, 2));
    });
    await killReaderAt('before');
    assert.deepEqual(await enqueued(svc), [], 'nothing was enqueued before the kill');
    await insertRow(crm.knex, contact, sampleRow(contact, 3));
    assert.deepEqual(await readUntil(crm, svc, 'contact.created 3'), ['contact.created 1', 'contact.created 2', 'contact.created 3']);
  });

  test('killed after the enqueue committed, before the slot was confirmed: nothing twice', async () => {
    await updateRow(crm.knex, contact, 1, { name: 'after' });
    await killReaderAt('after');
    const before = await enqueued(svc);
    assert.deepEqual(before.slice(3), ['contact.changed 1'], 'the enqueue committed before the kill');
    await updateRow(crm.knex, contact, 2, { name: 'later' });
    assert.deepEqual((await readUntil(crm, svc, 'contact.changed 2')).slice(3), ['contact.changed 1', 'contact.changed 2']);
  });
});

describe('CRM events from PostgreSQL: the CRM database restarts', await requires('initdb'), () => {
  let cluster: PgCluster;
  let crm: CrmDatabase;
  let svc: TestDatabase;
  before(async () => {
    cluster = await createPgCluster();
    await cluster.psql('alter system set wal_level = logical');
    await cluster.stop();
    await cluster.start();
    crm = await createCrmDatabase(cluster.url());
    svc = await freshDatabase('pg');
    await createHook(svc.knex, { name: 'crm', targetUrl: 'http://127.0.0.1:9/', events: ['*'] });
  });
  after(async () => {
    await svc?.drop();
    await crm?.drop().catch(() => {});
    await cluster?.destroy();
  });

  test('stopped (immediate) right after a commit, started again: every change once', async () => {
    const source = createPgCrmSource({ crmUrl: crm.url, schema: CRM_SCHEMA, slotName: crm.slot, publicationName: PUBLICATION, db: svc, logger: silentLogger, retryMs: 200 });
    source.start();
    try {
      await insertRow(crm.knex, contact, sampleRow(contact, 10));
      await until('the first insert', async () => (await enqueued(svc)).length === 1);
      await insertRow(crm.knex, contact, sampleRow(contact, 11));
      await cluster.stop('immediate');
      await cluster.start();
      await until('the reader to reconnect', async () => source.state().status === 'running', 60_000);
      await insertRow(crm.knex, contact, sampleRow(contact, 12));
      await until('the last insert', async () => (await enqueued(svc)).includes('contact.created 12'), 60_000);
    } finally {
      await source.stop();
    }
    assert.deepEqual(await enqueued(svc), ['contact.created 10', 'contact.created 11', 'contact.created 12']);
  });
});
