/**
 * The SQL Server claim cannot run here (no server in the test environment), so its generated SQL is checked as
 * text: the locking hints, ORDER BY = the claim index's columns after the status equality, TOP inside the CTE,
 * UPDATE through the CTE with OUTPUT inserted.* INTO a table variable, id lists as bound parameters (no OPENJSON),
 * and the bindings in placeholder order.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import knexFactory from 'knex';
import { MSSQL_MAX_LIST_PARAMETERS, mssqlClaimSql, mssqlHoldSql, mssqlIdList, mssqlReleaseStrandedSql, mssqlRunSql } from '../../src/outbox/claim-mssql.js';
import { returningInto } from '../../src/store/mssql-output.js';
import { eventUuidIndexSchema } from '../../src/store/migrations/008-event-uuid-index.js';
import { pgClaimSql, pgRunSql } from '../../src/outbox/claim-pg.js';
import { sqliteClaimSql, sqliteRunSql } from '../../src/outbox/claim-sqlite.js';
import { outboxSchema } from '../../src/store/migrations/002-outbox.js';
import { mssqlClockSql } from '../../src/outbox/backends/mssql-backend.js';
import { pgClockSql } from '../../src/outbox/backends/postgres-backend.js';

const req = { now: 1_700_000_000_000, leaseMs: 60_000, limit: 25, token: '6f1c1d0e-3c1e-4d0c-9a59-0a3c2d1e4f5a' };
const flat = (s: string) => s.replace(/\s+/g, ' ').trim();

function claimIndexColumns(client: 'mssql' | 'pg'): string[] {
  const k = knexFactory({ client });
  const ddl = outboxSchema(k).flatMap((b) => b.toSQL()).map((q) => q.sql).join(';\n');
  const m = /create index \[?"?ix_wa_delivery_claim"?\]? on \[?"?wa_delivery"?\]? \(([^)]*)\)/i.exec(ddl);
  assert.ok(m, `claim index not found in:\n${ddl}`);
  return m[1].split(',').map((c) => c.trim().replace(/[[\]"]/g, ''));
}

describe('SQL Server claim SQL', () => {
  const { sql, bindings } = mssqlClaimSql(req);
  const s = flat(sql);

  test('the claimed table is read WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)', () => {
    assert.match(s, /FROM \[wa_delivery\] AS d WITH \(UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK\) WHERE/);
  });

  test('TOP (n) with ORDER BY inside the CTE, the ORDER BY being the claim index after its status column', () => {
    assert.match(s, /; WITH picked AS \( SELECT TOP \(\?\) /);
    const order = /ORDER BY ([^)]*?) \)/.exec(s);
    assert.ok(order);
    const orderCols = order[1].split(',').map((c) => c.trim().replace(/^d\./, ''));
    const indexCols = claimIndexColumns('mssql');
    assert.deepEqual(indexCols, ['status', 'next_attempt_at', 'delivery_id']);
    assert.deepEqual(orderCols, indexCols.slice(1));
    assert.match(s, /WHERE d\.status = 'pending' AND d\.next_attempt_at <= \?/);
  });

  test('UPDATE through the CTE: lease, token, attempt count; OUTPUT INTO a table variable, then selected (no Msg 334 under a trigger)', () => {
    assert.match(s, /^DECLARE @claimed TABLE \(\[delivery_id\] bigint, \[attempt_count\] int, \[lease_token\] nvarchar\(36\)\);/);
    assert.match(s, /\) UPDATE picked SET lease_until = \?, lease_token = \?, attempt_count = attempt_count \+ 1, held = 0 OUTPUT inserted\.delivery_id, inserted\.attempt_count, inserted\.lease_token INTO @claimed; SELECT delivery_id, attempt_count, lease_token FROM @claimed;$/);
    const run = mssqlRunSql({ ...req, heads: [1], tail: 3 }).sql;
    const hold = mssqlHoldSql({ now: req.now, holdUntil: req.now, limit: 1 }).sql;
    for (const q of [sql, run, hold]) {
      const outputs = [...flat(q).matchAll(/\bOUTPUT [^;]*/g)].map((m) => m[0]);
      assert.equal(outputs.length, 1);
      for (const o of outputs) assert.match(o, / INTO @\w+/, `an OUTPUT without INTO: ${o}`);
    }
  });

  test('only due, unleased deliveries of Active webhooks, in per-webhook order', () => {
    assert.match(s, /AND \(d\.lease_until IS NULL OR d\.lease_until <= \?\)/);
    assert.match(s, /AND EXISTS \(SELECT 1 FROM \[webhook\] AS w WHERE w\.webhook_id = d\.webhook_id AND w\.state = 1\)/);
    // The order check must see rows other workers are claiming without waiting on them.
    assert.match(s, /AND NOT EXISTS \( SELECT 1 FROM \[wa_delivery\] AS o WITH \(READUNCOMMITTED\) WHERE o\.webhook_id = d\.webhook_id AND o\.status = 'pending' AND o\.delivery_id < d\.delivery_id AND \(o\.next_attempt_at <= \? OR o\.held = 1\) \)/);
  });

  test('bindings follow the placeholders', () => {
    assert.equal((sql.match(/\?/g) ?? []).length, bindings.length);
    assert.deepEqual(bindings, [25, req.now, req.now, req.now, req.now + 60_000, req.token]);
  });

  test('no OPENJSON (compatibility level 130): the skip list is one bound parameter per webhook id, left out when empty', () => {
    for (const q of [sql, mssqlClaimSql({ ...req, skipWebhookIds: [7] }).sql, mssqlRunSql({ ...req, heads: [1], tail: 3 }).sql]) {
      assert.doesNotMatch(q, /OPENJSON/i);
    }
    assert.doesNotMatch(s, /NOT IN/, 'an empty list has no predicate (IN () is a syntax error)');
    const skipping = mssqlClaimSql({ ...req, skipWebhookIds: [7, 12] });
    assert.match(flat(skipping.sql), /w\.state = 1\) AND d\.webhook_id NOT IN \(\?, \?\) AND NOT EXISTS/);
    assert.deepEqual(skipping.bindings, [25, req.now, req.now, 7, 12, req.now, req.now + 60_000, req.token]);
    assert.equal((skipping.sql.match(/\?/g) ?? []).length, skipping.bindings.length);
  });

  test('a skip list longer than the parameter budget stays under SQL Server\'s 2,100 parameters (the rest as integer literals)', () => {
    const ids = Array.from({ length: 2500 }, (_, i) => i + 1);
    const { sql: long, bindings: b } = mssqlClaimSql({ ...req, skipWebhookIds: ids });
    assert.ok(b.length <= 2100, `${b.length} parameters`);
    assert.equal(b.length, MSSQL_MAX_LIST_PARAMETERS + 6);
    assert.match(long, /\?, 2001, 2002, /);
    assert.match(long, /, 2500\)/);
    assert.deepEqual(mssqlIdList([1, 2.5, Number.NaN, 3]), { sql: '(?, ?)', bindings: [1, 3] });
    assert.throws(() => mssqlIdList([]), RangeError);
  });

  test('knex turns the placeholders into mssql parameters', () => {
    const skipping = mssqlClaimSql({ ...req, skipWebhookIds: [7, 12] });
    const compiled = knexFactory({ client: 'mssql' }).raw(skipping.sql, skipping.bindings).toSQL().toNative();
    assert.match(compiled.sql, /SELECT TOP \(@p0\)/);
    assert.match(compiled.sql, /NOT IN \(@p3, @p4\)/);
    assert.match(compiled.sql, /lease_token = @p7/);
    assert.deepEqual(compiled.bindings, skipping.bindings);
  });
});

describe('SQL Server hold SQL (blocked deliveries out of the due range)', () => {
  const { sql, bindings } = mssqlHoldSql({ now: req.now, holdUntil: req.now + 60_000, limit: 500 });
  const s = flat(sql);
  test('same hints and order as the claim, TOP in the CTE, OUTPUT INTO a table variable for the count', () => {
    assert.match(s, /^DECLARE @held TABLE \(\[delivery_id\] bigint\); WITH blocked AS \( SELECT TOP \(\?\) b\.delivery_id, b\.next_attempt_at, b\.held FROM \[wa_delivery\] AS b WITH \(UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK\) WHERE/);
    assert.match(s, /ORDER BY b\.next_attempt_at, b\.delivery_id \) UPDATE blocked SET next_attempt_at = \?, held = 1 OUTPUT inserted\.delivery_id INTO @held; SELECT delivery_id FROM @held;$/);
    assert.match(s, /AND EXISTS \( SELECT 1 FROM \[wa_delivery\] AS o WITH \(READUNCOMMITTED\) WHERE o\.webhook_id = b\.webhook_id AND o\.status = 'pending' AND o\.delivery_id < b\.delivery_id AND \(o\.next_attempt_at <= \? OR o\.held = 1\) \)/);
    assert.deepEqual(bindings, [500, req.now, req.now, req.now, req.now + 60_000]);
    assert.equal((sql.match(/\?/g) ?? []).length, bindings.length);
  });
});

describe('SQL Server run SQL (claimed heads extended into runs)', () => {
  const run = { now: req.now, leaseMs: 60_000, token: req.token, heads: [11, 12], tail: 15 };
  const { sql, bindings } = mssqlRunSql(run);
  const s = flat(sql);

  test('the heads: this claim\'s rows, one bound parameter per id, and the lease token', () => {
    assert.match(s, /^DECLARE @claimed TABLE \(\[delivery_id\] bigint, \[attempt_count\] int, \[lease_token\] nvarchar\(36\)\); WITH heads AS \( SELECT h\.delivery_id, h\.webhook_id FROM \[wa_delivery\] AS h WHERE h\.delivery_id IN \(\?, \?\) AND h\.lease_token = \? \)/);
  });

  test('per head, CROSS APPLY TOP (n) of its webhook\'s next pending deliveries, due or held, oldest first, never skipping a locked row', () => {
    assert.match(s, /CROSS APPLY \( SELECT TOP \(\?\) t\.delivery_id, t\.lease_until FROM \[wa_delivery\] AS t WITH \(READCOMMITTEDLOCK\) WHERE t\.webhook_id = heads\.webhook_id AND t\.status = 'pending' AND t\.delivery_id > heads\.delivery_id AND \(t\.next_attempt_at <= \? OR t\.held = 1\) ORDER BY t\.delivery_id \) AS r/);
    assert.doesNotMatch(s, /READPAST/, 'skipping a locked row would let a younger delivery pass it');
  });

  test('a run stops before the first leased delivery of its head, the candidates read once (cand referenced once)', () => {
    assert.match(s, /cand AS \( SELECT r\.delivery_id, MIN\(CASE WHEN r\.lease_until > \? THEN r\.delivery_id END\) OVER \(PARTITION BY heads\.delivery_id\) AS first_leased FROM heads CROSS APPLY/);
    assert.match(s, /WHERE \(cand\.first_leased IS NULL OR cand\.delivery_id < cand\.first_leased\) AND/);
    assert.deepEqual(s.match(/(?:FROM|JOIN) cand\b/g), ['JOIN cand'], 'cand is read once, never a second time');
  });

  test('UPDATE: lease, token, attempt counted, held cleared, kept due; re-checks status and lease on the row; OUTPUT INTO', () => {
    assert.match(s, /\) UPDATE d SET lease_until = \?, lease_token = \?, attempt_count = d\.attempt_count \+ 1, held = 0, next_attempt_at = CASE WHEN d\.next_attempt_at < \? THEN d\.next_attempt_at ELSE \? END OUTPUT inserted\.delivery_id, inserted\.attempt_count, inserted\.lease_token INTO @claimed FROM \[wa_delivery\] AS d WITH \(ROWLOCK\) JOIN cand ON cand\.delivery_id = d\.delivery_id WHERE .* AND d\.status = 'pending' AND \(d\.lease_until IS NULL OR d\.lease_until <= \?\); SELECT delivery_id, attempt_count, lease_token FROM @claimed;$/);
  });

  test('bindings follow the placeholders; knex turns them into mssql parameters; more heads than the budget are refused', () => {
    assert.equal((sql.match(/\?/g) ?? []).length, bindings.length);
    assert.deepEqual(bindings, [11, 12, req.token, req.now, 15, req.now, req.now + 60_000, req.token, req.now, req.now, req.now]);
    const compiled = knexFactory({ client: 'mssql' }).raw(sql, bindings).toSQL().toNative();
    assert.match(compiled.sql, /IN \(@p0, @p1\) AND h\.lease_token = @p2/);
    assert.match(compiled.sql, /SELECT TOP \(@p4\) t\.delivery_id/);
    assert.deepEqual(compiled.bindings, bindings);
    const many = Array.from({ length: MSSQL_MAX_LIST_PARAMETERS + 1 }, (_, i) => i + 1);
    assert.throws(() => mssqlRunSql({ ...run, heads: many }), RangeError);
  });
});

describe('SQL Server release of stranded held deliveries', () => {
  test('oldest held per webhook, only when nothing older is due or in flight; the check reads uncommitted rows', () => {
    const s = flat(mssqlReleaseStrandedSql);
    assert.match(s, /^UPDATE \[wa_delivery\] SET next_attempt_at = \?, held = 0 WHERE delivery_id IN \( SELECT MIN\(h\.delivery_id\) FROM \[wa_delivery\] AS h WHERE h\.held = 1 AND h\.status = 'pending' GROUP BY h\.webhook_id \)/);
    assert.match(s, /AND NOT EXISTS \( SELECT 1 FROM \[wa_delivery\] AS o WITH \(READUNCOMMITTED\) WHERE o\.webhook_id = \[wa_delivery\]\.webhook_id AND o\.status = 'pending' AND o\.held = 0 AND o\.delivery_id < \[wa_delivery\]\.delivery_id AND o\.next_attempt_at <= \? \);$/);
    assert.equal((mssqlReleaseStrandedSql.match(/\?/g) ?? []).length, 2);
  });
});

describe('SQL Server outbox writes and index', () => {
  test('the wa_event insert returns its id through OUTPUT ... INTO a table variable', () => {
    const k = knexFactory({ client: 'mssql' });
    const q = returningInto(k, k('wa_event').insert({ name: 'a.b', created: 1 }), { event_id: 'bigint' });
    assert.match(flat(q.toSQL().sql), /^DECLARE @out TABLE \(\[event_id\] bigint\); insert into \[wa_event\] \(\[created\], \[name\]\) output inserted\.\[event_id\] into @out values \(\?, \?\); select \[event_id\] from @out$/);
  });

  test('migration 008 recreates ux_wa_delivery_uuid unfiltered on SQL Server only (002 created it WHERE ... IS NOT NULL)', () => {
    const k = knexFactory({ client: 'mssql' });
    const ddl002 = outboxSchema(k).flatMap((b) => b.toSQL()).map((q) => q.sql).join(';\n');
    assert.match(ddl002, /CREATE UNIQUE INDEX \[ux_wa_delivery_uuid\] ON \[wa_delivery\] \(\[event_uuid\]\) WHERE \[event_uuid\] IS NOT NULL/);
    assert.deepEqual(eventUuidIndexSchema(k).map((r) => r.toSQL().sql), [
      'DROP INDEX [ux_wa_delivery_uuid] ON [wa_delivery]',
      'CREATE UNIQUE INDEX [ux_wa_delivery_uuid] ON [wa_delivery] ([event_uuid])',
    ]);
    assert.match(eventUuidIndexSchema(k, true)[1].toSQL().sql, /WHERE \[event_uuid\] IS NOT NULL$/, 'down restores the filter');
    for (const client of ['pg', 'better-sqlite3']) assert.deepEqual(eventUuidIndexSchema(knexFactory({ client, useNullAsDefault: true })), []);
  });
});

describe('PostgreSQL and SQLite claim SQL', () => {
  test('PostgreSQL: SKIP LOCKED on the delivery rows only, UPDATE ... RETURNING', () => {
    const s = flat(pgClaimSql(req).sql);
    assert.match(s, /order by d\.next_attempt_at, d\.delivery_id limit \? for update of d skip locked \)/);
    assert.match(s, /returning d\.delivery_id, d\.attempt_count, d\.lease_token$/);
    assert.deepEqual(claimIndexColumns('pg'), ['status', 'next_attempt_at', 'delivery_id']);
    assert.match(s, /and not \(d\.webhook_id = any \(select jsonb_array_elements_text\(\?::jsonb\)::bigint\)\)/);
  });
  test('SQLite: one UPDATE ... RETURNING', () => {
    const { sql, bindings } = sqliteClaimSql({ ...req, skipWebhookIds: [3] });
    const s = flat(sql);
    assert.match(s, /and not \(d\.webhook_id in \(select value from json_each\(\?\)\)\)/);
    assert.ok(bindings.includes('[3]'));
    assert.match(s, /^update wa_delivery set lease_until = \?, lease_token = \?, attempt_count = attempt_count \+ 1, held = 0 where delivery_id in \(/);
    assert.match(s, /order by d\.next_attempt_at, d\.delivery_id limit \? \) returning delivery_id, attempt_count, lease_token$/);
    assert.equal((sql.match(/\?/g) ?? []).length, bindings.length);
  });
  test('runs: PostgreSQL through LATERAL without SKIP LOCKED, SQLite per head; both stop before a leased delivery', () => {
    const run = { now: req.now, leaseMs: 60_000, token: req.token, heads: [11], tail: 15 };
    const pg = pgRunSql(run);
    const p = flat(pg.sql);
    assert.match(p, /from heads cross join lateral \( select heads\.delivery_id as head_id, t\.delivery_id, t\.lease_until from wa_delivery t where t\.webhook_id = heads\.webhook_id/);
    assert.doesNotMatch(p, /skip locked/);
    assert.match(p, /where d\.delivery_id = picked\.delivery_id and d\.status = 'pending' and \(d\.lease_until is null or d\.lease_until <= \?\)/);
    assert.equal((pg.sql.match(/\?/g) ?? []).length, pg.bindings.length);
    const lite = sqliteRunSql(run, 11);
    const l = flat(lite.sql);
    assert.match(l, /next_attempt_at = min\(next_attempt_at, \?\)/);
    for (const q of [p, l]) assert.match(q, /not exists \(select 1 from cand l where l\.head_id = c\.head_id and l\.delivery_id <= c\.delivery_id and l\.lease_until > \?\)/);
    assert.equal((lite.sql.match(/\?/g) ?? []).length, lite.bindings.length);
  });
});

test('the database clock the worker takes lease and retry times from: SYSUTCDATETIME() in epoch ms as bigint', () => {
  assert.equal(mssqlClockSql, "select datediff_big(millisecond, '19700101', sysutcdatetime()) as now_ms");
  assert.doesNotMatch(mssqlClockSql, /getdate|sysdatetime\(|current_timestamp/i, 'UTC, not the server\'s local time');
  assert.equal(pgClockSql, 'select (extract(epoch from now()) * 1000)::bigint as now_ms');
});
