/**
 * Repository checks shared by every dialect's suite (SQLite and PostgreSQL in store-*.test.ts, SQL Server in
 * store-mssql-live.test.ts). They create their own rows under random names and look only at those, so they also
 * hold on a database that already has data (a shared SQL Server).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import type { Database } from '../../src/store/db.js';
import { AppError } from '../../src/errors.js';
import type { WebhookInput } from '../../src/webhooks/types.js';
import {
  activeSubscriberIds,
  backfillEventRows,
  createWebhook,
  deleteWebhook,
  getLastError,
  getWebhook,
  listWebhooks,
  lockWebhookState,
  updateWebhook,
} from '../../src/store/webhook-repository.js';
import {
  countAssociates,
  createAssociate,
  findAssociateByName,
  getAssociate,
  getAssociateSummaries,
  markDeleted,
  setPassword,
  toSummary,
} from '../../src/store/associate-repository.js';
import { deleteTicketsFor, insertTicket, pruneExpired, touchTicket } from '../../src/store/ticket-repository.js';
import { toDate } from '../../src/store/row-mapping.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
const plain = { secrets: createSecretCodec() };

const rnd = () => randomBytes(4).toString('hex');

export function sampleInput(over: Partial<WebhookInput> = {}): WebhookInput {
  return {
    name: `hook-${rnd()}`,
    events: ['contact.created'],
    targetUrl: 'https://example.com/hook',
    secret: null,
    state: 'Active',
    type: 'webhook',
    headers: null,
    properties: null,
    errorsEmail: null,
    errorEmails: null,
    errorAssociateIds: null,
    description: null,
    notifyVia: [],
    notifyWhen: [],
    ...over,
  };
}

async function count(db: Database, table: string, column: string, id: number): Promise<number> {
  const [row] = (await db.knex(table).where(column, id).count({ n: '*' })) as Array<{ n: unknown }>;
  return Number(row.n);
}

/**
 * lockWebhookState: a transaction on `second` that reads the state under lock while one on `first` holds that lock
 * must wait for it, then read what it committed (SaveWebhook's started/stopped decision relies on it). `first` and
 * `second` may be one Database (its pool's connections) or two opened on one SQLite file (two processes). The
 * 300 ms the first transaction keeps the lock is only a window: a read that does not wait lands inside it.
 */
export async function assertLockedReadWaits(first: Database, second: Database): Promise<void> {
  const id = await createWebhook(first, sampleInput(), new Date(), 0, plain);
  const order: string[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const lockTaken = new Promise<void>((r) => (locked = r));
  const firstTrx = first.knex.transaction(async (trx) => {
    assert.equal(await lockWebhookState(trx, id), 'Active');
    locked();
    await held;
    await trx('webhook').where('webhook_id', id).update({ state: 2 });
    order.push('first commits');
  });
  await lockTaken;
  const secondTrx = second.knex.transaction(async (trx) => {
    const state = await lockWebhookState(trx, id);
    order.push('second reads');
    return state;
  });
  await new Promise((r) => setTimeout(r, 300));
  release();
  await firstTrx;
  assert.equal(await secondTrx, 'Stopped', 'the second locked read returns what the first transaction committed');
  assert.deepEqual(order, ['first commits', 'second reads'], 'the second locked read waited for the first transaction');
  assert.equal(await second.knex.transaction((trx) => lockWebhookState(trx, 987654321)), null, 'no such webhook');
}

export function webhookRepositoryChecks(getDb: () => Database): void {
  const at = new Date('2024-05-06T07:08:09.123Z');
  const later = new Date('2024-06-07T08:09:10.456Z');

  test('create then get returns every field, in the types they were given', async () => {
    const db = getDb();
    const owner = await createAssociate(db, { name: `owner-${rnd()}`, fullName: 'Owner Person', passwordHash: 'x' });
    const other = await createAssociate(db, { name: `other-${rnd()}`, passwordHash: 'x' });
    const input = sampleInput({
      events: ['sale.changed', 'contact.created', 'person.deleted'],
      secret: 's3cret',
      state: 'Stopped',
      type: 'crmscript',
      headers: { 'X-One': '1', Authorization: 'Bearer abc' },
      properties: {
        str: 'text',
        int: 42,
        neg: -7,
        bool: true,
        off: false,
        nothing: null,
        list: ['a', 'b'],
        when: new Date('2023-01-02T03:04:05.678Z'),
        unicode: 'Ærøskøbing ✓',
      },
      errorsEmail: 'ops@example.com',
      errorEmails: ['a@example.com', 'b@example.com'],
      errorAssociateIds: [other.associateId, owner.associateId],
      description: 'Why this hook exists',
      notifyVia: ['Email', 'InApp'],
      notifyWhen: ['Disabling'],
    });
    const id = await createWebhook(db, input, at, owner.associateId, plain);
    assert.ok(Number.isInteger(id) && id > 0);

    const hook = await getWebhook(db, id, plain);
    assert.ok(hook);
    assert.deepEqual(hook, {
      ...input,
      properties: { ...input.properties, when: '2023-01-02T03:04:05.678Z' },
      webhookId: id,
      registered: at,
      registeredAssociate: toSummary(owner),
      updated: null,
      updatedAssociate: null,
      totalCalls: 0,
      totalErrors: 0,
      consecutiveErrors: 0,
      lastError: null,
    });
    const row = await db.knex('webhook').where('webhook_id', id).first();
    assert.equal(row.events, 'sale.changed,contact.created,person.deleted', 'NetServer comma list kept in step');
    assert.equal(Number(row.state), 2);
    assert.equal(Number(row.notify_via), 3);
    assert.equal(Number(row.notify_when), 2);
    assert.equal(Number(row.updatedCount), 0);
    assert.deepEqual(JSON.parse(row.headers), input.headers);
    assert.equal(await count(db, 'webhook_usage', 'webhook_usage_id', id), 1);
  });

  test('null headers/properties/lists round-trip; duplicate events are stored once, in first-seen order', async () => {
    const db = getDb();
    const id = await createWebhook(db, sampleInput({ events: ['b.x', 'a.x', 'b.x', ' c.x '] }), at, 0, plain);
    const hook = await getWebhook(db, id, plain);
    assert.ok(hook);
    assert.deepEqual(hook.events, ['b.x', 'a.x', 'c.x']);
    assert.equal(hook.headers, null);
    assert.equal(hook.properties, null);
    assert.deepEqual(hook.errorEmails, []);
    assert.deepEqual(hook.errorAssociateIds, []);
    assert.deepEqual(hook.notifyVia, []);
    assert.equal(hook.registeredAssociate, null, 'associate id 0 means nobody');
    assert.equal(await count(db, 'webhook_event', 'webhook_id', id), 3);
  });

  test('event names with a comma or over 400 characters are refused', async () => {
    const db = getDb();
    await assert.rejects(createWebhook(db, sampleInput({ events: ['a,b'] }), at, 0, plain), (e: unknown) => e instanceof AppError && e.code === 'invalid_argument');
    await assert.rejects(createWebhook(db, sampleInput({ events: ['x'.repeat(401)] }), at, 0, plain), (e: unknown) => e instanceof AppError && e.code === 'invalid_argument');
  });

  test('many recipients and events are inserted in several statements (parameter limits)', async () => {
    const db = getDb();
    const emails = Array.from({ length: 600 }, (_, i) => `r${i}@example.com`);
    const events = Array.from({ length: 700 }, (_, i) => `e${i}`);
    const id = await createWebhook(db, sampleInput({ events, errorEmails: emails }), at, 0, plain);
    const hook = await getWebhook(db, id, plain);
    assert.deepEqual(hook?.errorEmails, emails);
    assert.deepEqual(hook?.events, events);
  });

  test('update replaces fields, events and recipients, bumps updatedCount, keeps counters', async () => {
    const db = getDb();
    const owner = await createAssociate(db, { name: `owner-${rnd()}`, passwordHash: 'x' });
    const editor = await createAssociate(db, { name: `editor-${rnd()}`, fullName: 'Ed Itor', passwordHash: 'x' });
    const id = await createWebhook(
      db,
      sampleInput({ events: ['a.one', 'a.two'], errorEmails: ['old@example.com'], headers: { A: '1' } }),
      at,
      owner.associateId,
    plain,
    );
    await db.knex('webhook_usage').where('webhook_usage_id', id).update({ total_calls: 5, total_errors: 2, consecutive_errors: 1 });

    const next = sampleInput({
      name: 'renamed',
      events: ['b.two', 'b.one'],
      targetUrl: 'https://example.org/new',
      state: 'Stopped',
      headers: null,
      properties: { k: 'v' },
      errorEmails: ['new@example.com'],
      errorAssociateIds: [owner.associateId],
      notifyWhen: ['FirstFailure', 'Disabling'],
    });
    assert.equal(await updateWebhook(db, id, next, later, editor.associateId, plain), true);
    const hook = await getWebhook(db, id, plain);
    assert.ok(hook);
    assert.equal(hook.name, 'renamed');
    assert.deepEqual(hook.events, ['b.two', 'b.one']);
    assert.equal(hook.targetUrl, 'https://example.org/new');
    assert.equal(hook.state, 'Stopped');
    assert.equal(hook.headers, null);
    assert.deepEqual(hook.properties, { k: 'v' });
    assert.deepEqual(hook.errorEmails, ['new@example.com']);
    assert.deepEqual(hook.errorAssociateIds, [owner.associateId]);
    assert.deepEqual(hook.notifyWhen, ['FirstFailure', 'Disabling']);
    assert.deepEqual(hook.registered, at);
    assert.equal(hook.registeredAssociate?.associateId, owner.associateId);
    assert.deepEqual(hook.updated, later);
    assert.deepEqual(hook.updatedAssociate, toSummary(editor));
    assert.equal(hook.totalCalls, 5);
    assert.equal(hook.totalErrors, 2);
    assert.equal(hook.consecutiveErrors, 1);
    assert.deepEqual(await activeSubscriberIds(db, 'a.one'), [], 'old event rows are gone');

    await updateWebhook(db, id, next, later, editor.associateId, plain);
    const row = await db.knex('webhook').where('webhook_id', id).first();
    assert.equal(Number(row.updatedCount), 2);
    assert.equal(row.events, 'b.two,b.one');
  });

  test('update of a missing webhook returns false and writes nothing', async () => {
    const db = getDb();
    const name = `ghost-${rnd()}`;
    assert.equal(await updateWebhook(db, 987654321, sampleInput({ name }), later, 0, plain), false);
    assert.deepEqual(await listWebhooks(db, { name }, plain), []);
  });

  test('list filters: name exact and case-insensitive, event exact, state, combinations, none', async () => {
    const db = getDb();
    const r = rnd();
    const e1 = `thing${r}.created`;
    const e2 = `thing${r}.deleted`;
    const a = await createWebhook(db, sampleInput({ name: `Alpha-${r}`, events: [e1, e2], state: 'Active' }), at, 0, plain);
    const b = await createWebhook(db, sampleInput({ name: `alpha-${r}`, events: [e2], state: 'Stopped' }), at, 0, plain);
    const c = await createWebhook(db, sampleInput({ name: `Beta-${r}`, events: [e1], state: 'Active' }), at, 0, plain);
    const ids = async (f: Parameters<typeof listWebhooks>[1]) => (await listWebhooks(db, f, plain)).map((h) => h.webhookId);

    assert.deepEqual(await ids({ name: `ALPHA-${r}` }), [a, b]);
    assert.deepEqual(await ids({ name: `alpha` }), [], 'no partial match');
    assert.deepEqual(await ids({ name: `Alpha-${r}x` }), []);
    assert.deepEqual(await ids({ event: e1 }), [a, c]);
    assert.deepEqual(await ids({ event: `thing${r}.CREATED` }), [], 'event names are matched exactly');
    assert.deepEqual(await ids({ event: `thing${r}` }), [], 'no prefix match');
    assert.deepEqual((await ids({ state: 'Stopped' })).filter((id) => [a, b, c].includes(id)), [b]);
    assert.deepEqual(await ids({ name: `alpha-${r}`, state: 'Active' }), [a]);
    assert.deepEqual(await ids({ event: e2, state: 'Active' }), [a]);
    assert.deepEqual(await ids({ event: e2, name: `beta-${r}` }), []);
    assert.deepEqual(await ids({ name: `beta-${r}`, event: e1, state: 'Active' }), [c]);

    for (const none of [{}, { state: 'Unknown' as const }, { name: '', event: '', state: null }, { name: null, event: null }]) {
      const all = await ids(none);
      assert.deepEqual(all.filter((id) => [a, b, c].includes(id)), [a, b, c], JSON.stringify(none));
      assert.deepEqual(all, [...all].sort((x, y) => x - y), 'ordered by webhook_id');
    }
    const listed = await listWebhooks(db, { event: e1 }, plain);
    assert.deepEqual(listed.map((h) => h.events), [[e1, e2], [e1]], 'each hook carries all of its own events');
  });

  test('list needs the same number of queries for 2 hooks as for 40 (no N+1)', async () => {
    const db = getDb();
    const owner = await createAssociate(db, { name: `owner-${rnd()}`, passwordHash: 'x' });
    const queriesFor = async (n: number) => {
      const r = rnd();
      for (let i = 0; i < n; i++) {
        await createWebhook(db, sampleInput({ name: `nplus-${r}`, events: [`x${i}.a`, `x${i}.b`], errorEmails: ['m@example.com'], errorAssociateIds: [owner.associateId] }), at, owner.associateId, plain);
      }
      let queries = 0;
      const onQuery = () => queries++;
      db.knex.on('query', onQuery);
      try {
        const hooks = await listWebhooks(db, { name: `nplus-${r}` }, plain);
        assert.equal(hooks.length, n);
        assert.ok(hooks.every((h) => h.events.length === 2 && h.registeredAssociate?.name === owner.name));
      } finally {
        db.knex.off('query', onQuery);
      }
      return queries;
    };
    const few = await queriesFor(2);
    const many = await queriesFor(40);
    assert.equal(many, few);
    assert.equal(few, 1, 'hooks, usage, associates and notify rows come from one statement');
  });

  test('list: each hook gets exactly its own recipients, in saved order, hooks without any in between', async () => {
    const db = getDb();
    const a1 = await createAssociate(db, { name: `n1-${rnd()}`, passwordHash: 'x' });
    const a2 = await createAssociate(db, { name: `n2-${rnd()}`, passwordHash: 'x' });
    const name = `recip-${rnd()}`;
    const specs = [
      { errorEmails: ['z@example.com', 'a@example.com', 'm@example.com'], errorAssociateIds: [a2.associateId, a1.associateId] },
      { errorEmails: null, errorAssociateIds: null },
      { errorEmails: ['only@example.com'], errorAssociateIds: null },
      { errorEmails: null, errorAssociateIds: [a1.associateId] },
      { errorEmails: null, errorAssociateIds: null },
    ];
    const ids: number[] = [];
    for (const spec of specs) ids.push(await createWebhook(db, sampleInput({ name, ...spec }), at, a1.associateId, plain));
    const hooks = await listWebhooks(db, { name }, plain);
    assert.deepEqual(hooks.map((h) => h.webhookId), ids);
    hooks.forEach((h, i) => {
      assert.deepEqual(h.errorEmails, specs[i].errorEmails ?? [], `hook ${i} emails`);
      assert.deepEqual(h.errorAssociateIds, specs[i].errorAssociateIds ?? [], `hook ${i} associates`);
      assert.equal(h.registeredAssociate?.associateId, a1.associateId);
    });
    for (const [i, id] of ids.entries()) {
      assert.deepEqual((await getWebhook(db, id, plain))?.errorEmails, specs[i].errorEmails ?? []);
    }
  });

  test('delete removes the hook and its rows; beforeDelete runs inside the transaction', async () => {
    const db = getDb();
    const id = await createWebhook(db, sampleInput({ events: ['d.one', 'd.two'], errorEmails: ['x@example.com'] }), at, 0, plain);
    const seen: number[] = [];
    assert.equal(
      await deleteWebhook(db, id, async (trx, hookId) => {
        seen.push(hookId);
        // The hook is still there when the callback runs, and the callback shares the transaction.
        assert.ok(await trx('webhook').where('webhook_id', hookId).first());
      }),
      true,
    );
    assert.deepEqual(seen, [id]);
    assert.equal(await getWebhook(db, id, plain), null);
    for (const [table, column] of [['webhook_event', 'webhook_id'], ['webhook_notify', 'webhook_id'], ['webhook_usage', 'webhook_usage_id']]) {
      assert.equal(await count(db, table, column, id), 0, table);
    }
    const calls: number[] = [];
    assert.equal(await deleteWebhook(db, id, async (_trx, hookId) => void calls.push(hookId)), false);
    assert.deepEqual(calls, [], 'beforeDelete is not called for a missing hook');
  });

  test('a failing beforeDelete leaves the hook in place', async () => {
    const db = getDb();
    const id = await createWebhook(db, sampleInput({ events: ['keep.me'] }), at, 0, plain);
    await assert.rejects(deleteWebhook(db, id, async () => { throw new Error('outbox says no'); }), /outbox says no/);
    const hook = await getWebhook(db, id, plain);
    assert.deepEqual(hook?.events, ['keep.me']);
  });

  test('create inside a caller transaction that rolls back leaves nothing', async () => {
    const db = getDb();
    const name = `rolled-${rnd()}`;
    await assert.rejects(
      db.knex.transaction(async (trx) => {
        const id = await createWebhook(trx, sampleInput({ name }), at, 0, plain);
        assert.ok(await getWebhook(trx, id, plain), 'visible inside the transaction');
        throw new Error('rollback');
      }),
      /rollback/,
    );
    assert.deepEqual(await listWebhooks(db, { name }, plain), []);
  });

  test('getLastError: undefined for no hook, null before any error, then the stored text', async () => {
    const db = getDb();
    assert.equal(await getLastError(db, 987654321), undefined);
    const id = await createWebhook(db, sampleInput(), at, 0, plain);
    assert.equal(await getLastError(db, id), null);
    await db.knex('webhook_usage').where('webhook_usage_id', id).update({ last_error: 'HTTP 500\r\nbody' });
    assert.equal(await getLastError(db, id), 'HTTP 500\r\nbody');
    assert.equal((await getWebhook(db, id, plain))?.lastError, 'HTTP 500\r\nbody');
  });

  test('event names match exactly, whatever the database collation: a.b and A.B are two subscriptions', async () => {
    const db = getDb();
    const r = rnd();
    const lower = `case${r}.changed`;
    const upper = `Case${r}.Changed`;
    const both = await createWebhook(db, sampleInput({ events: [lower, upper] }), at, 0, plain);
    const onlyUpper = await createWebhook(db, sampleInput({ events: [upper] }), at, 0, plain);
    assert.deepEqual((await getWebhook(db, both, plain))?.events, [lower, upper]);
    assert.deepEqual(await activeSubscriberIds(db, lower), [both]);
    assert.deepEqual(await activeSubscriberIds(db, upper), [both, onlyUpper]);
    assert.deepEqual(await activeSubscriberIds(db, lower.toUpperCase()), []);
    assert.deepEqual((await listWebhooks(db, { event: upper }, plain)).map((h) => h.webhookId), [both, onlyUpper]);
    assert.deepEqual(await listWebhooks(db, { event: `CASE${r}.CHANGED` }, plain), []);
  });

  test('activeSubscriberIds: Active hooks subscribed to exactly that event, ascending', async () => {
    const db = getDb();
    const ev = `sub${rnd()}.changed`;
    const a = await createWebhook(db, sampleInput({ events: ['other.x', ev] }), at, 0, plain);
    const stopped = await createWebhook(db, sampleInput({ events: [ev], state: 'Stopped' }), at, 0, plain);
    const tooMany = await createWebhook(db, sampleInput({ events: [ev], state: 'TooManyErrors' }), at, 0, plain);
    const c = await createWebhook(db, sampleInput({ events: [ev] }), at, 0, plain);
    assert.deepEqual(await activeSubscriberIds(db, ev), [a, c]);
    assert.deepEqual(await activeSubscriberIds(db, `${ev}.not`), []);
    await updateWebhook(db, c, sampleInput({ events: [ev], state: 'Stopped' }), later, 0, plain);
    await updateWebhook(db, stopped, sampleInput({ events: [ev], state: 'Active' }), later, 0, plain);
    assert.deepEqual(await activeSubscriberIds(db, ev), [a, stopped]);
    await db.knex.transaction(async (trx) => {
      assert.deepEqual(await activeSubscriberIds(trx, ev), [a, stopped], 'works inside a transaction');
    });
    void tooMany;
  });

  test('lockWebhookState: a second locking read waits for the transaction holding the lock and reads what it committed', async () => {
    await assertLockedReadWaits(getDb(), getDb());
  });

  test('rows written by NetServer (no webhook_event rows) are read, then backfilled', async () => {
    const db = getDb();
    const r = rnd();
    const evA = `nsa${r}.created`;
    const evB = `nsb${r}.deleted`;
    const name = `netserver-${r}`;
    const k = db.knex;
    // Raw SQL, as another program would write it: no webhook_event rows, no webhook_usage row.
    await k.raw(
      'insert into ?? (??, ??, ??, ??, ??, ??, ??, ??, ??, ??, ??, ??, ??, ??, ??) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        'webhook',
        'name', 'events', 'target_url', 'type', 'headers', 'properties', 'secret', 'state',
        'registered', 'registered_associate_id', 'updated', 'updated_associate_id', 'updatedCount', 'notify_via', 'notify_when',
        name, `${evA}, ${evB}`, 'https://example.com/ns', 'webhook', '{"X-Ns":"1"}', '{"answer":42,"flag":true,"nested":{"a":1}}', 'sec', 1,
        at, 77, later, 0, 3, 1, 2,
      ],
    );
    const [{ webhook_id }] = (await k('webhook').where('name', name).select('webhook_id')) as Array<{ webhook_id: number }>;
    const id = Number(webhook_id);
    await k.raw('insert into ?? (??, ??, ??, ??, ??, ??, ??) values (?, ?, ?, ?, ?, ?, ?)', [
      'webhook_notify', 'webhook_id', 'associate_id', 'email_recipient', 'registered', 'registered_associate_id', 'updated_associate_id', 'updatedCount',
      id, 0, 'ns@example.com', at, 0, 0, 0,
    ]);

    const before = await getWebhook(db, id, plain);
    assert.ok(before);
    assert.deepEqual(before.events, [evA, evB], 'read from the comma list when rows are missing');
    assert.deepEqual(before.headers, { 'X-Ns': '1' });
    assert.deepEqual(before.properties, { answer: 42, flag: true, nested: { a: 1 } }, 'a nested value stays a JSON value');
    assert.deepEqual(before.errorEmails, ['ns@example.com'], 'associate_id 0 means the e-mail is used');
    assert.deepEqual(before.registered, at);
    assert.deepEqual(before.updated, later);
    assert.equal(before.registeredAssociate?.associateId, 77, 'unknown associates keep their id');
    assert.deepEqual(before.notifyVia, ['Email']);
    assert.deepEqual(before.notifyWhen, ['Disabling']);
    assert.equal(before.totalCalls, 0);
    assert.deepEqual(await activeSubscriberIds(db, evA), [], 'not indexed yet');

    const result = await backfillEventRows(db);
    assert.ok(result.webhooksFixed >= 1);
    assert.ok(result.eventRowsWritten >= 2);
    assert.ok(result.usageRowsCreated >= 1);
    assert.deepEqual(await activeSubscriberIds(db, evA), [id]);
    assert.deepEqual(await activeSubscriberIds(db, evB), [id]);
    assert.deepEqual((await listWebhooks(db, { event: evB }, plain)).map((h) => h.webhookId), [id]);
    assert.equal(await count(db, 'webhook_usage', 'webhook_usage_id', id), 1);
    assert.equal(await getLastError(db, id), null);

    assert.deepEqual(await backfillEventRows(db), { webhooksFixed: 0, eventRowsWritten: 0, usageRowsCreated: 0 }, 'idempotent');

    // NetServer edits the comma list later: the next backfill follows it.
    await k('webhook').where('webhook_id', id).update({ events: evB });
    const again = await backfillEventRows(db);
    assert.equal(again.webhooksFixed, 1);
    assert.deepEqual(await activeSubscriberIds(db, evA), []);
    assert.deepEqual((await getWebhook(db, id, plain))?.events, [evB]);
  });
}

export function associateAndTicketChecks(getDb: () => Database): void {
  const t0 = new Date('2024-01-01T00:00:00.000Z');
  const ttl = 6 * 3600_000;
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');

  test('associates: create, find by name regardless of case, get, duplicate names refused', async () => {
    const db = getDb();
    const name = `User-${rnd()}`;
    const before = await countAssociates(db);
    const created = await createAssociate(db, { name, fullName: 'Full Name', personId: 12, passwordHash: 'scrypt$x' }, t0);
    assert.ok(created.associateId > 0);
    assert.equal(await countAssociates(db), before + 1);
    const found = await findAssociateByName(db, name.toUpperCase());
    assert.deepEqual(found, {
      associateId: created.associateId,
      name,
      userName: name,
      fullName: 'Full Name',
      personId: 12,
      deleted: false,
      passwordHash: 'scrypt$x',
      registered: t0,
      updated: null,
    });
    assert.deepEqual(await getAssociate(db, created.associateId), found);
    assert.equal(await findAssociateByName(db, `${name}x`), null);
    assert.equal(await getAssociate(db, 987654321), null);
    await assert.rejects(
      createAssociate(db, { name: name.toLowerCase(), passwordHash: 'y' }),
      (e: unknown) => e instanceof AppError && e.code === 'conflict',
    );
    const summaries = await getAssociateSummaries(db, [created.associateId, 987654321, 0]);
    assert.deepEqual([...summaries.keys()], [created.associateId]);
  });

  test('associates: one login per name regardless of case and Unicode form, accents kept apart, whatever the collation', async () => {
    const db = getDb();
    const r = rnd();
    const name = `Åse-${r}`;
    const a = await createAssociate(db, { name, passwordHash: 'x' }, t0);
    assert.equal((await findAssociateByName(db, `åSE-${r}`))?.associateId, a.associateId);
    // The same letters decomposed (A + combining ring), as some keyboards and clients send them.
    assert.equal((await findAssociateByName(db, `A\u030ase-${r}`))?.associateId, a.associateId);
    await assert.rejects(createAssociate(db, { name: `ÅSE-${r}`, passwordHash: 'y' }), (e: unknown) => e instanceof AppError && e.code === 'conflict');
    await assert.rejects(createAssociate(db, { name: `A\u030aSE-${r}`, passwordHash: 'y' }), (e: unknown) => e instanceof AppError && e.code === 'conflict');
    // Another letter is another user, also where the database collation ignores accents.
    const b = await createAssociate(db, { name: `Ase-${r}`, passwordHash: 'z' }, t0);
    assert.notEqual(b.associateId, a.associateId);
    assert.equal((await findAssociateByName(db, `ase-${r}`))?.associateId, b.associateId);
  });

  test('associates: setPassword and markDeleted', async () => {
    const db = getDb();
    const a = await createAssociate(db, { name: `pw-${rnd()}`, passwordHash: 'old' }, t0);
    assert.equal(await setPassword(db, a.associateId, 'new', t0), true);
    assert.equal((await getAssociate(db, a.associateId))?.passwordHash, 'new');
    assert.equal(await setPassword(db, 987654321, 'new'), false);
    const active = await countAssociates(db, { activeOnly: true });
    assert.equal(await markDeleted(db, a.associateId, t0), true);
    const after = await getAssociate(db, a.associateId);
    assert.equal(after?.deleted, true);
    assert.deepEqual(after?.updated, t0);
    assert.equal(await countAssociates(db, { activeOnly: true }), active - 1);
    assert.equal((await findAssociateByName(db, a.name))?.deleted, true, 'still found, flagged');
  });

  test('tickets: valid until expiry, each use slides the expiry, expired ones are not renewed', async () => {
    const db = getDb();
    const a = await createAssociate(db, { name: `tk-${rnd()}`, passwordHash: 'x' }, t0);
    const hash = sha(`ticket-${rnd()}`);
    await insertTicket(db, { ticketHash: hash, associateId: a.associateId, expiresAt: new Date(t0.getTime() + ttl), createdAt: t0 });

    const t1 = new Date(t0.getTime() + ttl - 1);
    assert.equal(await touchTicket(db, hash, t1, ttl), a.associateId);
    const row = await db.knex('ticket').where('ticket_hash', hash).first();
    assert.deepEqual(toDate(row.expires_at), new Date(t1.getTime() + ttl));
    assert.deepEqual(toDate(row.last_used), t1);
    assert.deepEqual(toDate(row.created), t0);

    const t2 = new Date(t0.getTime() + ttl + 1000); // past the first expiry, within the slid one
    assert.equal(await touchTicket(db, hash, t2, ttl), a.associateId);
    const t3 = new Date(t2.getTime() + ttl); // exactly at expiry: expired
    assert.equal(await touchTicket(db, hash, t3, ttl), null);
    assert.equal(await touchTicket(db, hash, t2, ttl), a.associateId, 'the failed touch did not renew or remove it');
    assert.equal(await touchTicket(db, sha('unknown'), t2, ttl), null);
  });

  test('tickets: a deleted associate\'s tickets are refused; deleteTicketsFor and pruneExpired remove rows', async () => {
    const db = getDb();
    const a = await createAssociate(db, { name: `tkd-${rnd()}`, passwordHash: 'x' }, t0);
    const b = await createAssociate(db, { name: `tke-${rnd()}`, passwordHash: 'x' }, t0);
    const ha = sha(`a-${rnd()}`);
    const hb1 = sha(`b1-${rnd()}`);
    const hb2 = sha(`b2-${rnd()}`);
    await insertTicket(db, { ticketHash: ha, associateId: a.associateId, expiresAt: new Date(t0.getTime() + ttl), createdAt: t0 });
    await insertTicket(db, { ticketHash: hb1, associateId: b.associateId, expiresAt: new Date(t0.getTime() + 1000), createdAt: t0 });
    await insertTicket(db, { ticketHash: hb2, associateId: b.associateId, expiresAt: new Date(t0.getTime() + ttl), createdAt: t0 });

    await markDeleted(db, a.associateId, t0);
    assert.equal(await touchTicket(db, ha, t0, ttl), null);

    const pruned = await pruneExpired(db, new Date(t0.getTime() + 1000));
    assert.ok(pruned >= 1);
    assert.equal(await db.knex('ticket').where('ticket_hash', hb1).first(), undefined);
    assert.ok(await db.knex('ticket').where('ticket_hash', hb2).first(), 'unexpired ticket kept');

    assert.equal(await deleteTicketsFor(db, b.associateId), 1);
    assert.equal(await touchTicket(db, hb2, t0, ttl), null);
  });
}
