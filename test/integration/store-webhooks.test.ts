import { describe, before, after } from 'node:test';
import { dialectAvailability, freshDatabase, testDialects, type TestDatabase } from '../helpers/db.js';
import { webhookRepositoryChecks } from './store-checks.js';

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
