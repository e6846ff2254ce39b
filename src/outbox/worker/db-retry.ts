/** The worker's database writes outside a claim: a lost connection or a deadlock should not cost a whole lease period. */
import { isDatabaseUnavailable, isTransactionConflict } from '../../errors.js';
import type { WorkerLogger } from './types.js';

export type DbRetry = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Up to 5 tries with backoff on transient errors (unavailable, conflict); other errors are bugs to surface. */
export function dbRetry(logger: WorkerLogger): DbRetry {
  return async function withDbRetry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (i >= 4 || !(isDatabaseUnavailable(err) || isTransactionConflict(err))) throw err;
        logger.warn({ err, attempt: i + 1 }, `${what}: transient database error, retrying`);
        await sleep(200 * 2 ** i);
      }
    }
  };
}
