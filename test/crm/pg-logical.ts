/** node:test options for suites that need PostgreSQL with wal_level=logical (.ci/run sets it); fail under CI=true. */
import knexFactory from 'knex';
import { PG_URL } from '../helpers/db.js';
import { requires } from '../helpers/requires.js';

export async function logicalReplication(): Promise<{ skip?: string }> {
  const pg = await requires('postgres');
  if (pg.skip) return pg;
  const k = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
  let level: string;
  try {
    level = String((await k.raw('show wal_level')).rows[0].wal_level);
  } finally {
    await k.destroy();
  }
  if (level === 'logical') return {};
  const reason = `PostgreSQL wal_level is ${level}, not logical (.ci/run sets it)`;
  if (process.env.CI === 'true') throw new Error(`CI requires every suite: ${reason}`);
  return { skip: reason };
}
