/**
 * The SQL Server statements of issue 21 (migration 006, the per-hook settings, the idempotency keys) as text,
 * collected without a server by scripts/tsql/collect.ts (npm run check:tsql parses them with sqlfluff's tsql).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectMssqlStatements } from '../../scripts/tsql/collect.js';

test('mssql: migration 006, settings and idempotency statements', async () => {
  const { statements } = await collectMssqlStatements();
  const has = (re: RegExp, what: string) => assert.ok(statements.some((s) => re.test(s)), `no ${what}`);
  has(/^CREATE TABLE \[wa_webhook_setting\] \(\[webhook_id\] int not null, .*\[previous_secret\] nvarchar\(2000\) null/, 'the settings table');
  has(/FOREIGN KEY \(\[webhook_id\]\) REFERENCES \[webhook\] \(\[webhook_id\]\) ON DELETE CASCADE/, 'the settings cascade');
  // The key compares exactly (binary collation), as on PostgreSQL and SQLite.
  has(/^CREATE TABLE \[wa_idempotency\] .*\[idempotency_key\] nvarchar\(255\) COLLATE Latin1_General_100_BIN2 not null.*PRIMARY KEY \(\[associate_id\], \[idempotency_key\]\)/,
    'the idempotency table');
  has(/^insert into \[wa_idempotency\] /, 'the key claim');
  has(/^select top \(@p0\) \[request_hash\], \[event_id\], \[deliveries\] from \[wa_idempotency\] where \[associate_id\] = @p1 and \[idempotency_key\] = @p2 and \[created\] > @p3$/,
    'the replay read');
  has(/^delete from \[wa_idempotency\] where \[created\] <= @p0/, 'the prune');
  has(/left join \[wa_webhook_setting\] as \[s\] on \[s\]\.\[webhook_id\] = \[d\]\.\[webhook_id\]/, 'the claim load with the setting');
  has(/^select top \(@p0\) \[webhook_id\], \[previous_secret\] as \[secret\] from \[wa_webhook_setting\]/, 'reencrypt of previous secrets');
});
