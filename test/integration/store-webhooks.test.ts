import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { dialectAvailability, freshDatabase, testDialects, type TestDatabase } from '../helpers/db.js';
import { openDatabase } from '../../src/store/db.js';
import { createWebhook, lockWebhookState } from '../../src/store/webhook-repository.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
import { assertLockedReadWaits, sampleInput, webhookRepositoryChecks } from './store-checks.js';

for (const dialect of testDialects) {
  describe(`webhook repository (${dialect})`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    before(async () => {
      db = await freshDatabase(dialect);
    });
    after(async () => {
      await db?.drop();
    });
    webhookRepositoryChecks(() => db);
  });
}

// One process runs SQLite transactions one at a time on its single connection; across processes only SQLite's write
// lock orders them. The second handle waits for it on timers (serve's settings), so the first can commit meanwhile.
test('SQLite: a locking read from another connection waits for the write lock, then reads what was committed', async () => {
  const db = await freshDatabase('sqlite');
  const other = openDatabase(db.url, { busyTimeoutMs: 1, busyWaitMs: 10_000 });
  try {
    await assertLockedReadWaits(db, other);
  } finally {
    await other.close();
    await db.drop();
  }
});

test('SQLite: a locking read that cannot get the write lock within the busy wait fails as SQLITE_BUSY, without blocking the event loop', async () => {
  const db = await freshDatabase('sqlite');
  const other = openDatabase(db.url, { busyTimeoutMs: 1, busyWaitMs: 300 });
  try {
    const id = await createWebhook(db, sampleInput(), new Date(), 0, { secrets: createSecretCodec() });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const lockTaken = new Promise<void>((r) => (locked = r));
    const holder = db.knex.transaction(async (trx) => {
      await lockWebhookState(trx, id);
      locked();
      await held;
    });
    await lockTaken;
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 20);
    try {
      await assert.rejects(other.knex.transaction((trx) => lockWebhookState(trx, id)), (err: { code?: string }) => err.code?.startsWith('SQLITE_BUSY') === true);
    } finally {
      clearInterval(timer);
      release();
      await holder;
    }
    assert.ok(ticks >= 5, `timers ran while the read waited for the lock (${ticks} ticks)`);
  } finally {
    await other.close();
    await db.drop();
  }
});
