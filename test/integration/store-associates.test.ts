import { describe, before, after } from 'node:test';
import { dialectAvailability, freshDatabase, testDialects, type TestDatabase } from '../helpers/db.js';
import { associateAndTicketChecks } from './store-checks.js';

for (const dialect of testDialects) {
  describe(`associate and ticket repositories (${dialect})`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    before(async () => {
      db = await freshDatabase(dialect);
    });
    after(async () => {
      await db?.drop();
    });
    associateAndTicketChecks(() => db);
  });
}
