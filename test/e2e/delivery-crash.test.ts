/**
 * Process-level durability: a worker process killed with SIGKILL in the middle of deliveries, then a new worker
 * process: every event is delivered, re-sent attempts carry the same EventId (duplicates allowed: at-least-once).
 * Then SIGTERM: the worker finishes or releases what it holds and exits 0.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freshDatabase, dialectAvailability, testDialects } from '../helpers/db.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { createHook, startReceiver } from '../integration/delivery-support.js';

const fixture = fileURLToPath(new URL('./fixtures/delivery-worker.ts', import.meta.url));
const EVENTS = 100;
const HOOKS = 5;

function startWorkerProcess(databaseUrl: string): { child: ChildProcess; ready: Promise<void>; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, ['--disable-proto=delete', '--import', 'tsx', fixture], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      ALLOW_INSECURE_TARGETS: 'true',
      LEASE_MS: '1500',
      DELIVERY_TIMEOUT_MS: '1000',
      POLL_INTERVAL_MS: '50',
      WORKER_CONCURRENCY: '8',
      SHUTDOWN_GRACE_MS: '2000',
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ready\n')) resolve();
    });
    void exited.then((code) => reject(new Error(`worker exited (${code}) before ready: ${err}`)));
  });
  return { child, ready, exited, stderr: () => err };
}

for (const dialect of testDialects) {
  describe(`worker process killed mid-delivery (${dialect})`, await dialectAvailability(dialect), () => {
    test('SIGKILL, restart: every event delivered, re-sent with the same EventId; SIGTERM exits cleanly', async () => {
      const db = await freshDatabase(dialect);
      const rx = await startReceiver();
      const procs: ChildProcess[] = [];
      try {
        rx.respond(() => ({ status: 200, body: 'ok', delayMs: 25 }));
        const hooks: number[] = [];
        for (let i = 0; i < HOOKS; i++) hooks.push(await createHook(db.knex, { name: `h${i}`, targetUrl: `${rx.url}?h=${i}` }));
        for (let i = 0; i < EVENTS; i++) {
          await enqueueEvent(db.knex, { eventName: 'contact.created', primaryKey: i, data: { n: i }, changedByAssociateId: 1, timestamp: new Date() },
            [hooks[i % HOOKS]]);
        }

        const first = startWorkerProcess(db.url);
        procs.push(first.child);
        await first.ready;
        await rx.waitFor(20);
        first.child.kill('SIGKILL');
        await first.exited;

        const leasedAtKill = await db.knex('wa_delivery').whereNotNull('lease_token').pluck('event_uuid');
        const succeededAtKill = Number((await db.knex('wa_delivery').where('status', 'succeeded').count({ n: '*' }))[0].n);
        assert.ok(leasedAtKill.length > 0, 'the kill interrupted deliveries in flight');
        assert.ok(succeededAtKill < EVENTS, 'the kill happened before the work was done');
        const receivedAtKill = new Set(rx.requests.map((r) => String(r.headers['x-superoffice-eventid'])));

        const second = startWorkerProcess(db.url);
        procs.push(second.child);
        await second.ready;
        const deadline = Date.now() + 20_000;
        for (;;) {
          const [{ n }] = await db.knex('wa_delivery').whereNot('status', 'succeeded').count({ n: '*' });
          if (Number(n) === 0) break;
          assert.ok(Date.now() < deadline, `${n} deliveries not delivered after the restart`);
          await new Promise((r) => setTimeout(r, 100));
        }

        const uuids = new Set<string>(await db.knex('wa_delivery').pluck('event_uuid'));
        assert.equal(uuids.size, EVENTS);
        const counts = new Map<string, number>();
        for (const r of rx.requests) {
          const id = String(r.headers['x-superoffice-eventid']);
          assert.ok(uuids.has(id), `unknown EventId ${id}`);
          assert.equal(r.json.EventId, id);
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        for (const u of uuids) assert.ok(counts.has(u), `EventId ${u} never arrived`);
        for (const u of leasedAtKill) {
          if (receivedAtKill.has(u)) assert.ok((counts.get(u) ?? 0) >= 2, `interrupted delivery ${u} was sent again with its EventId`);
        }

        second.child.kill('SIGTERM');
        assert.equal(await second.exited, 0, second.stderr());
        if (dialect === 'sqlite') assert.equal((await db.knex('wa_worker_lock').select()).length, 0, 'the SQLite worker lock was released');
      } finally {
        for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
        await rx.close();
        await db.drop();
      }
    });
  });
}
