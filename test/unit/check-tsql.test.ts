/**
 * npm run check:tsql (scripts/check-tsql.ts): the collector reaches the statements that matter without a server, and
 * the sqlfluff check refuses what the T-SQL grammar cannot parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectMssqlStatements } from '../../scripts/tsql/collect.js';
import { unparsable } from '../../scripts/check-tsql.js';
import { requires } from '../helpers/requires.js';

test('the recording mssql client collects the migrations, repositories, outbox and import statements as sent', async () => {
  const { sent, statements } = await collectMssqlStatements();
  assert.ok(statements.length > 100 && sent > statements.length, `${statements.length} distinct of ${sent}`);
  const has = (re: RegExp, what: string) => assert.ok(statements.some((s) => re.test(s)), `no ${what}`);
  has(/^CREATE TABLE \[wa_delivery\]/, 'migration DDL');
  has(/CREATE UNIQUE INDEX \[ux_wa_delivery_uuid\] ON \[wa_delivery\] \(\[event_uuid\]\)$/, 'migration 008');
  has(/COLLATE Latin1_General_100_BIN2/, 'migration 005 (mssql form)');
  has(/WITH picked AS .*NOT IN \(@p3, @p4\)/s, 'the claim with its skip list');
  has(/WITH heads AS/, 'the run');
  has(/WITH blocked AS/, 'the hold');
  has(/^DECLARE @out TABLE \(\[event_id\] bigint\); insert into \[wa_event\]/, 'the wa_event insert');
  has(/SET IDENTITY_INSERT \[webhook\] ON/, 'the import');
  has(/from \[crm7\]\.\[webhook\]/, 'the NetServer source reads');
  has(/CAST\(\d+ AS bigint\)/, 'the attempt chart');
  for (const s of statements) assert.doesNotMatch(s, /\?/, `a statement with an unbound placeholder: ${s}`);
  for (const s of statements) for (const o of s.matchAll(/\boutput inserted\.[^;]*/gi)) assert.match(o[0], / into @\w+/i, `OUTPUT without INTO: ${s}`);
});

test('sqlfluff\'s tsql grammar: a broken statement is reported, valid T-SQL (hints, OUTPUT INTO, IDENTITY_INSERT) is not', async (t) => {
  const { skip } = await requires('sqlfluff');
  if (skip) return t.skip(skip);
  const found = unparsable([
    'SELECT state FROM [webhook] WITH (UPDLOCK, ROWLOCK, READCOMMITTEDLOCK) WHERE webhook_id = @p0',
    'SELEC x FRM y',
    'DECLARE @out TABLE ([id] int); insert into [t] ([a]) output inserted.[id] into @out values (@p0); select [id] from @out',
    'SET IDENTITY_INSERT [webhook] ON; insert into [webhook] ([webhook_id]) values (@p0); SET IDENTITY_INSERT [webhook] OFF',
  ]);
  assert.deepEqual(found.map((f) => f.index), [1]);
  assert.match(found[0].message, /unparsable/i);
});
