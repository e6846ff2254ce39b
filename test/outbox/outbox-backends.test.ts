/**
 * The outbox conformance suite (outbox-conformance.ts) on every backend: SQLite and PostgreSQL always (PostgreSQL
 * required under CI=true), SQL Server when MSSQL_URL names a scratch database (its pending deliveries are claimed and
 * cancelled by the checks, so the suite refuses a database that has pending deliveries of its own).
 */
import { describe, before, after } from 'node:test';
import { dialectAvailability, freshDatabase, testDialects, type TestDatabase } from '../helpers/db.js';
import { toInt } from '../../src/store/row-mapping.js';
import { outboxConformance } from './outbox-conformance.js';

for (const dialect of testDialects) {
  describe(`outbox backend (${dialect})`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    before(async () => {
      db = await freshDatabase(dialect, { poolMax: 4 });
    });
    after(async () => {
      await db?.drop();
    });
    outboxConformance(() => db, dialect);
  });
}

const mssqlSkip = process.env.MSSQL_URL ? undefined : 'MSSQL_URL is not set (opt-in SQL Server suite)';

describe('outbox backend (mssql, live)', { skip: mssqlSkip }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase('mssql', { poolMax: 4 });
    const [row] = (await db.knex('wa_delivery').where('status', 'pending').count({ n: '*' })) as Array<{ n: unknown }>;
    if (toInt(row.n) > 0) throw new Error('MSSQL_URL names a database with pending deliveries: the outbox suite needs a scratch database');
  });
  after(async () => {
    await db?.drop();
  });
  outboxConformance(() => db, 'mssql');
});
