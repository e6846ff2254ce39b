/**
 * The one translation every face shares: a driver error that means "the database is not reachable" (or its disk is full) becomes
 * AppError('unavailable') with a message a client can act on (retry later), instead of the generic internal error.
 * Everything else passes through unchanged, so an unknown error keeps its handling at the edge (generic text to the
 * caller, details to the log).
 */
import { AppError, coerceError, isDatabaseUnavailable, isStorageFull } from '../errors.js';

export function translateError(err: unknown): unknown {
  return !(err instanceof AppError) && (isDatabaseUnavailable(err) || isStorageFull(err)) ? coerceError(err) : err;
}
