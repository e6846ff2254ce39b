/** One dialect check (issue 15, item 4): real knex instances map to their dialect; an unknown client throws. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import knexFactory, { type Knex } from 'knex';
import { dialectOfKnex } from '../../src/store/row-mapping.js';

test('dialectOfKnex: better-sqlite3, pg and mssql clients; an unknown client throws instead of passing for pg', async () => {
  const made: Knex[] = [];
  const of = (client: string) => {
    const k = knexFactory({ client, connection: client === 'better-sqlite3' ? { filename: ':memory:' } : {}, useNullAsDefault: true, pool: { min: 0, max: 1 } });
    made.push(k);
    return dialectOfKnex(k);
  };
  try {
    assert.equal(of('better-sqlite3'), 'sqlite');
    assert.equal(of('pg'), 'pg');
    assert.equal(of('mssql'), 'mssql');
    const unknown = { client: { config: { client: 'mysql2' } } } as unknown as Knex;
    assert.throws(() => dialectOfKnex(unknown), /unsupported database client "mysql2"/);
  } finally {
    for (const k of made) await k.destroy();
  }
});
