/**
 * The SQL Server claim cannot run here (no server in the test environment), so its generated SQL is checked as
 * text: the locking hints, ORDER BY = the claim index's columns after the status equality, TOP inside the CTE,
 * UPDATE through the CTE with OUTPUT inserted.*, and the bindings in placeholder order.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import knexFactory from 'knex';
import { mssqlClaimSql, mssqlHoldSql, mssqlReleaseStrandedSql, mssqlRunSql } from '../../src/outbox/claim-mssql.js';
import { pgClaimSql, pgRunSql } from '../../src/outbox/claim-pg.js';
import { sqliteClaimSql, sqliteRunSql } from '../../src/outbox/claim-sqlite.js';
import { outboxSchema } from '../../src/store/migrations/002-outbox.js';

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
    assert.match(s, /^WITH picked AS \( SELECT TOP \(\?\) /);
    const order = /ORDER BY ([^)]*?) \)/.exec(s);
    assert.ok(order);
    const orderCols = order[1].split(',').map((c) => c.trim().replace(/^d\./, ''));
    const indexCols = claimIndexColumns('mssql');
    assert.deepEqual(indexCols, ['status', 'next_attempt_at', 'delivery_id']);
    assert.deepEqual(orderCols, indexCols.slice(1));
    assert.match(s, /WHERE d\.status = 'pending' AND d\.next_attempt_at <= \?/);
  });

  test('UPDATE through the CTE: lease, token, attempt count; OUTPUT inserted columns', () => {
    assert.match(s, /\) UPDATE picked SET lease_until = \?, lease_token = \?, attempt_count = attempt_count \+ 1, held = 0 OUTPUT inserted\.delivery_id, inserted\.attempt_count, inserted\.lease_token;$/);
  });

  test('only due, unleased deliveries of Active webhooks, in per-webhook order', () => {
    assert.match(s, /AND \(d\.lease_until IS NULL OR d\.lease_until <= \?\)/);
    assert.match(s, /AND EXISTS \(SELECT 1 FROM \[webhook\] AS w WHERE w\.webhook_id = d\.webhook_id AND w\.state = 1\)/);
    // The order check must see rows other workers are claiming without waiting on them.
    assert.match(s, /AND NOT EXISTS \( SELECT 1 FROM \[wa_delivery\] AS o WITH \(READUNCOMMITTED\) WHERE o\.webhook_id = d\.webhook_id AND o\.status = 'pending' AND o\.delivery_id < d\.delivery_id AND \(o\.next_attempt_at <= \? OR o\.held = 1\) \)/);
  });

  test('bindings follow the placeholders', () => {
    assert.equal((sql.match(/\?/g) ?? []).length, bindings.length);
    assert.deepEqual(bindings, [25, req.now, req.now, '[]', req.now, req.now + 60_000, req.token]);
  });

  test('webhooks on the skip list are left out, read from one JSON array binding (OPENJSON)', () => {
    assert.match(s, /AND d\.webhook_id NOT IN \(SELECT CAST\(\[value\] AS bigint\) FROM OPENJSON\(\?\)\) AND NOT EXISTS/);
    const skipping = mssqlClaimSql({ ...req, skipWebhookIds: [7, 12] });
    assert.equal(skipping.sql, sql, 'the same statement text whatever the list');
    assert.equal(skipping.bindings[3], '[7,12]');
  });

  test('knex turns the placeholders into mssql parameters', () => {
    const compiled = knexFactory({ client: 'mssql' }).raw(sql, bindings).toSQL().toNative();
    assert.match(compiled.sql, /SELECT TOP \(@p0\)/);
    assert.match(compiled.sql, /OPENJSON\(@p3\)/);
    assert.match(compiled.sql, /lease_token = @p6/);
    assert.deepEqual(compiled.bindings, bindings);
  });
});

describe('SQL Server hold SQL (blocked deliveries out of the due range)', () => {
  const { sql, bindings } = mssqlHoldSql({ now: req.now, holdUntil: req.now + 60_000, limit: 500 });
  const s = flat(sql);
  test('same hints and order as the claim, TOP in the CTE, OUTPUT for the count', () => {
    assert.match(s, /^WITH blocked AS \( SELECT TOP \(\?\) b\.delivery_id, b\.next_attempt_at, b\.held FROM \[wa_delivery\] AS b WITH \(UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK\) WHERE/);
    assert.match(s, /ORDER BY b\.next_attempt_at, b\.delivery_id \) UPDATE blocked SET next_attempt_at = \?, held = 1 OUTPUT inserted\.delivery_id;$/);
    assert.match(s, /AND EXISTS \( SELECT 1 FROM \[wa_delivery\] AS o WITH \(READUNCOMMITTED\) WHERE o\.webhook_id = b\.webhook_id AND o\.status = 'pending' AND o\.delivery_id < b\.delivery_id AND \(o\.next_attempt_at <= \? OR o\.held = 1\) \)/);
    assert.deepEqual(bindings, [500, req.now, req.now, req.now, req.now + 60_000]);
    assert.equal((sql.match(/\?/g) ?? []).length, bindings.length);
  });
});

describe('SQL Server run SQL (claimed heads extended into runs)', () => {
  const run = { now: req.now, leaseMs: 60_000, token: req.token, heads: [11, 12], tail: 15 };
  const { sql, bindings } = mssqlRunSql(run);
  const s = flat(sql);

  test('the heads: this claim\'s rows, from one JSON array binding and the lease token', () => {
    assert.match(s, /^WITH heads AS \( SELECT h\.delivery_id, h\.webhook_id FROM \[wa_delivery\] AS h WHERE h\.delivery_id IN \(SELECT CAST\(\[value\] AS bigint\) FROM OPENJSON\(\?\)\) AND h\.lease_token = \? \)/);
  });

  test('per head, CROSS APPLY TOP (n) of its webhook\'s next pending deliveries, due or held, oldest first, never skipping a locked row', () => {
    assert.match(s, /CROSS APPLY \( SELECT TOP \(\?\) t\.delivery_id, t\.lease_until FROM \[wa_delivery\] AS t WITH \(READCOMMITTEDLOCK\) WHERE t\.webhook_id = heads\.webhook_id AND t\.status = 'pending' AND t\.delivery_id > heads\.delivery_id AND \(t\.next_attempt_at <= \? OR t\.held = 1\) ORDER BY t\.delivery_id \) AS r/);
    assert.doesNotMatch(s, /READPAST/, 'skipping a locked row would let a younger delivery pass it');
  });

  test('a run stops before the first leased delivery of its head', () => {
    assert.match(s, /picked AS \( SELECT c\.delivery_id FROM cand AS c WHERE NOT EXISTS \(SELECT 1 FROM cand AS l WHERE l\.head_id = c\.head_id AND l\.delivery_id <= c\.delivery_id AND l\.lease_until > \?\) \)/);
  });

  test('UPDATE: lease, token, attempt counted, held cleared, kept due; re-checks status and lease on the row; OUTPUT', () => {
    assert.match(s, /\) UPDATE d SET lease_until = \?, lease_token = \?, attempt_count = d\.attempt_count \+ 1, held = 0, next_attempt_at = CASE WHEN d\.next_attempt_at < \? THEN d\.next_attempt_at ELSE \? END OUTPUT inserted\.delivery_id, inserted\.attempt_count, inserted\.lease_token FROM \[wa_delivery\] AS d WITH \(ROWLOCK\) JOIN picked ON picked\.delivery_id = d\.delivery_id WHERE d\.status = 'pending' AND \(d\.lease_until IS NULL OR d\.lease_until <= \?\);$/);
  });

  test('bindings follow the placeholders; knex turns them into mssql parameters', () => {
    assert.equal((sql.match(/\?/g) ?? []).length, bindings.length);
    assert.deepEqual(bindings, ['[11,12]', req.token, 15, req.now, req.now, req.now + 60_000, req.token, req.now, req.now, req.now]);
    const compiled = knexFactory({ client: 'mssql' }).raw(sql, bindings).toSQL().toNative();
    assert.match(compiled.sql, /OPENJSON\(@p0\)/);
    assert.match(compiled.sql, /SELECT TOP \(@p2\) t\.delivery_id/);
    assert.deepEqual(compiled.bindings, bindings);
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
