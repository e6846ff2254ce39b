/**
 * `webhook-agent deliveries list|show|retry|purge` as a process against a SQLite file: text and JSON output,
 * redelivery of the failed ones since a time, and a clear error with exit code 1 for bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freshDatabase } from '../helpers/db.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { createHook } from '../integration/delivery-support.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

test('deliveries list, show, retry, purge', async () => {
  const db = await freshDatabase('sqlite');
  try {
    const hook = await createHook(db.knex, { targetUrl: 'http://127.0.0.1:9/hook' });
    const t0 = Date.UTC(2026, 2, 1, 10, 0, 0);
    for (let i = 1; i <= 3; i++) {
      await enqueueEvent(db.knex, { eventName: 'contact.created', primaryKey: i, data: {}, changedByAssociateId: 1, timestamp: new Date(t0) }, [hook], { now: t0 + i * 1000 });
    }
    await db.knex('wa_delivery').update({ status: 'expired', finished_at: t0 + 10_000, attempt_count: 4, last_status: 503 });
    const run = (...args: string[]) => spawnSync(process.execPath, ['--disable-proto=delete', '--import', 'tsx', cli, ...args],
      { env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'error' }, encoding: 'utf8' });

    const list = run('deliveries', 'list', '--webhook', String(hook), '--status', 'failed', '--limit', '2');
    assert.equal(list.status, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.match(lines[0], /ID\s+HOOK\s+STATUS/);
    assert.match(lines[1], /^\s+3\s+\d+\s+expired\s+4\s+2026-03-01T10:00:03Z\s+contact\.created\s+3\s+[0-9a-f-]{36}\s+503$/);
    assert.match(lines[3], /next page: --before 2/);

    const json = JSON.parse(run('deliveries', 'list', '--json', '--before', '2').stdout) as { deliveries: Array<{ deliveryId: number }>; nextBefore: null };
    assert.deepEqual(json.deliveries.map((d) => d.deliveryId), [1]);

    const show = run('deliveries', 'show', '2');
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /^delivery 2 of webhook \d+: expired, 4 attempt\(s\)/);

    const retry = run('deliveries', 'retry', '--webhook', String(hook), '--since', '2026-03-01T10:00:02Z');
    assert.equal(retry.status, 0, retry.stderr);
    assert.equal(retry.stdout.trim(), 'redelivered 2 (ids 2, 3)');
    const rows = await db.knex('wa_delivery').orderBy('delivery_id').select('status', 'attempt_count', 'event_uuid');
    assert.deepEqual(rows.map((r: { status: string }) => r.status), ['expired', 'pending', 'pending']);
    assert.deepEqual(rows.map((r: { attempt_count: number }) => Number(r.attempt_count)), [4, 4, 4], 'the retry count goes on');

    const refusedPurge = run('deliveries', 'purge', '--webhook', String(hook));
    assert.equal(refusedPurge.status, 1, 'no terminal and no --yes: nothing is purged');
    assert.match(refusedPurge.stderr, /pass --yes/);
    assert.equal((await db.knex('wa_delivery').count({ n: '*' }))[0].n, 3);
    const purge = run('deliveries', 'purge', '--webhook', String(hook), '--yes');
    assert.equal(purge.stdout.trim(), 'cancelled 0 pending, deleted 1 finished deliveries');

    const bad = run('deliveries', 'list', '--status', 'broken');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^status: unknown status 'broken'/);
    const both = run('deliveries', 'retry', '1', '--webhook', String(hook));
    assert.equal(both.status, 1);
    assert.match(both.stderr, /give a delivery id, or --webhook/);
  } finally {
    await db.drop();
  }
});
