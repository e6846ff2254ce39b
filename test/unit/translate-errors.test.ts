import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withUnavailableErrors } from '../../src/soap/operations/translate-errors.js';
import { AppError } from '../../src/errors.js';

const ctx = {} as never;

test('database-unreachable errors become AppError unavailable; others pass through unchanged', async () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const other = new TypeError('bug');
  const notFound = new AppError('not_found', 'Webhook 1 not found');
  const h = withUnavailableErrors({
    A: async () => { throw refused; },
    B: async () => { throw other; },
    C: async () => { throw notFound; },
    D: async () => ({ Response: 1 }),
  });
  await assert.rejects(h.A({}, ctx) as Promise<unknown>, (e: unknown) => e instanceof AppError && e.code === 'unavailable'
    && /not reachable/.test(e.message) && e.cause === refused && !e.message.includes('5432'));
  await assert.rejects(h.B({}, ctx) as Promise<unknown>, (e: unknown) => e === other);
  await assert.rejects(h.C({}, ctx) as Promise<unknown>, (e: unknown) => e === notFound);
  assert.deepEqual(await h.D({}, ctx), { Response: 1 });
});
