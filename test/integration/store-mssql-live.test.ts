/**
 * The repository checks against a real SQL Server, opt-in: set MSSQL_URL
 * (mssql://user:pass@host:1433/db?encrypt=true&trustServerCertificate=true). The database is migrated and used
 * as is; the checks only look at rows they create. Without MSSQL_URL the suite is skipped, also under CI.
 */
import { describe, before, after } from 'node:test';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { backfillEventRows } from '../../src/store/webhook-repository.js';
import { associateAndTicketChecks, webhookRepositoryChecks } from './store-checks.js';

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
});
