/**
 * The repository checks against a real SQL Server, opt-in: set MSSQL_URL
 * (mssql://user:pass@host:1433/db?encrypt=true&trustServerCertificate=true). The database is migrated and used
 * as is; the checks only look at rows they create. Without MSSQL_URL the suite is skipped, also under CI.
 */
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { backfillEventRows, createWebhook, getWebhook } from '../../src/store/webhook-repository.js';
import { createAssociate } from '../../src/store/associate-repository.js';
import { insertTicket, touchTicket } from '../../src/store/ticket-repository.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
import { associateAndTicketChecks, sampleInput, webhookRepositoryChecks } from './store-checks.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { claimAndLoad } from '../../src/outbox/claim-deliveries.js';
import { attemptChart } from '../../src/outbox/delivery-history.js';

const skip = process.env.MSSQL_URL ? undefined : 'MSSQL_URL is not set (opt-in SQL Server suite)';

describe('store on SQL Server (live)', { skip }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase('mssql');
    // Existing rows of earlier runs are ours, so this is a no-op for them; it must not fail on a used database.
    await backfillEventRows(db);
  });
  after(async () => {
    await db?.drop();
  });
  describe('webhook repository', () => webhookRepositoryChecks(() => db));
  describe('associate and ticket repositories', () => associateAndTicketChecks(() => db));

  test('inserts and the ticket renewal return their rows while the tables have enabled triggers (no Msg 334)', async () => {
    const tag = randomBytes(4).toString('hex');
    const triggers = ['webhook', 'associate', 'ticket'].map((t) => `wa_test_trg_${t}_${tag}`);
    for (const [i, table] of ['webhook', 'associate', 'ticket'].entries()) {
      await db.knex.raw(`CREATE TRIGGER [${triggers[i]}] ON [${table}] AFTER INSERT, UPDATE AS BEGIN SET NOCOUNT ON; END`);
    }
    try {
      const plain = { secrets: createSecretCodec() };
      const id = await createWebhook(db, sampleInput(), new Date(), 0, plain);
      assert.ok((await getWebhook(db, id, plain))?.webhookId === id);
      const a = await createAssociate(db, { name: `trg_${tag}`, passwordHash: 'x' });
      assert.ok(a.associateId > 0);
      const now = new Date();
      await insertTicket(db, { ticketHash: `t${tag}`.padEnd(64, '0'), associateId: a.associateId, expiresAt: new Date(now.getTime() + 60_000) });
      assert.equal(await touchTicket(db, `t${tag}`.padEnd(64, '0'), now, 60_000), a.associateId);
    } finally {
      for (const t of triggers) await db.knex.raw(`DROP TRIGGER IF EXISTS [${t}]`);
    }
  });

  test('the outbox statements (event insert, hold, claim with a skip list, runs) work with enabled triggers and without OPENJSON', async () => {
    const tag = randomBytes(4).toString('hex');
    const triggers = ['wa_event', 'wa_delivery'].map((t) => [t, `wa_test_trg_${t}_${tag}`] as const);
    for (const [table, name] of triggers) await db.knex.raw(`CREATE TRIGGER [${name}] ON [${table}] AFTER INSERT, UPDATE AS BEGIN SET NOCOUNT ON; END`);
    try {
      const secrets = createSecretCodec();
      const hook = await createWebhook(db, sampleInput(), new Date(), 0, { secrets });
      const other = await createWebhook(db, sampleInput(), new Date(), 0, { secrets });
      const now = Date.now();
      const event = (n: number) => ({ eventName: 'contact.created', primaryKey: n, data: {}, changedByAssociateId: 1, timestamp: new Date(now) });
      for (let n = 1; n <= 3; n++) assert.ok((await enqueueEvent(db, event(n), [hook, other], { now })).eventId);
      const token = randomUUID();
      const { deliveries, held } = await claimAndLoad(db, { now, leaseMs: 60_000, limit: 1000, token, skipWebhookIds: [other], runLength: 3 },
        { now, holdUntil: now + 60_000, limit: 1000 }, { secrets });
      assert.ok(held >= 0);
      const mine = deliveries.filter((d) => d.webhookId === hook || d.webhookId === other);
      assert.equal(mine.length, 3, 'the head and its run of two, none of the skipped webhook');
      assert.ok(mine.every((d) => d.webhookId === hook));
    } finally {
      for (const [, name] of triggers) await db.knex.raw(`DROP TRIGGER IF EXISTS [${name}]`);
    }
  });

  test('the 24 h attempt chart counts attempts that did not start on the hour (bigint bucket division)', async () => {
    const secrets = createSecretCodec();
    const hook = await createWebhook(db, sampleInput(), new Date(), 0, { secrets });
    const now = Date.now();
    await enqueueEvent(db, { eventName: 'contact.created', primaryKey: 1, data: {}, changedByAssociateId: 1, timestamp: new Date(now) }, [hook], { now });
    const row = (await db.knex('wa_delivery').where('webhook_id', hook).first('delivery_id')) as { delivery_id: unknown };
    const at = [now - 90 * 60_000 + 1_234, now - 60_001, now - 17_000];
    await db.knex('wa_attempt').insert(at.map((startedAt, i) => ({
      delivery_id: Number(row.delivery_id), attempt_no: i + 1, started_at: startedAt, duration_ms: 5, outcome: i === 2 ? 'success' : 'failed',
    })));
    const chart = await attemptChart(db, hook, { now });
    assert.equal(chart.length, 24);
    assert.equal(chart.reduce((n, b) => n + b.succeeded + b.failed, 0), 3, JSON.stringify(chart));
    assert.equal(chart.reduce((n, b) => n + b.succeeded, 0), 1);
  });
});
