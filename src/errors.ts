/**
 * The application's error model: one class with stable, transport-neutral codes. Each face translates a code into
 * its own wire form (SOAP: ExceptionInfo with a .NET exception type name, soap/exception-types.ts; HTTP/JSON: a
 * status code and a JSON error body). Delivery outcomes are data, not exceptions.
 */
export type ErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'not_supported'
  | 'unauthenticated'
  | 'target_refused'
  | 'conflict'
  | 'unavailable'
  | 'internal';

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Shown to end users by NetServer clients (ExceptionInfo.FriendlyText). */
  readonly friendlyText: string;
  /** The request field the error is about, when there is one. */
  readonly field?: string;
  /** Marks the error as a business/auth error: answered as Succeeded=false, never as a SOAP fault. */
  readonly isBusinessError = true;
  /** The store reports this condition itself (storage full: once a minute); the faces do not log it per call. */
  readonly reportedByStore: boolean;

  constructor(code: ErrorCode, message: string, opts: { friendlyText?: string; field?: string; cause?: unknown; reportedByStore?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.field = opts.field;
    this.reportedByStore = opts.reportedByStore ?? false;
    this.friendlyText = opts.friendlyText ?? message;
  }
}

export const invalidArgument = (field: string, message: string) =>
  new AppError('invalid_argument', `${field}: ${message}`, { field });

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);

export const notSupported = (message: string) => new AppError('not_supported', message);

/** Wraps an unknown throw (driver errors, bugs) without leaking its text to callers. */
export function coerceError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isDatabaseBusy(err)) {
    return new AppError('unavailable', 'The database is busy: another process holds its write lock; nothing was changed. Try again shortly.', {
      cause: err, friendlyText: 'The service is temporarily unavailable. Please try again shortly.',
    });
  }
  if (isStorageFull(err)) {
    return new AppError('unavailable', 'Storage full: the database cannot write, its disk is full; nothing was changed. Try again once space is freed.', {
      cause: err, friendlyText: 'The service is temporarily unavailable. Please try again later.', reportedByStore: true,
    });
  }
  if (isDatabaseUnavailable(err)) {
    return new AppError('unavailable', 'The database is not reachable at the moment; nothing was changed. Try again shortly.', {
      cause: err, friendlyText: 'The service is temporarily unavailable. Please try again shortly.',
    });
  }
  return new AppError('internal', 'Internal error', { cause: err });
}

const unavailableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ESOCKET', 'EPIPE', '57P01', '57P03', 'ENOTFOUND', 'ETIMEOUT']);

/** SQLite's SQLITE_BUSY (and its extended codes): another process holds the lock. */
export function isDatabaseBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** The database's disk is full: SQLite SQLITE_FULL, PostgreSQL 53100 disk_full, SQL Server 1105 (filegroup full) or 9002 (log full). */
export function isStorageFull(err: unknown): boolean {
  const e = err as { code?: unknown; number?: unknown } | null;
  return e?.code === 'SQLITE_FULL' || e?.code === '53100' || e?.number === 1105 || e?.number === 9002;
}

/**
 * The database rolled the transaction back to break a lock cycle or a serialization conflict (PostgreSQL deadlock
 * 40P01 or serialization failure 40001, SQL Server deadlock victim 1205): running it again is safe and usually works.
 */
export function isTransactionConflict(err: unknown): boolean {
  const e = err as { code?: unknown; number?: unknown } | null;
  return e?.code === '40P01' || e?.code === '40001' || e?.number === 1205;
}

/**
 * The id sequence of an int identity column has run out: PostgreSQL's nextval past the sequence's MAXVALUE (2200H,
 * sequence_generator_limit_exceeded), SQL Server's identity past int (8115, arithmetic overflow converting IDENTITY).
 * SQLite's rowid has no int limit: the store checks the id it got (insertedXsIntId in store/row-mapping.ts).
 */
export function isIdentityExhausted(err: unknown): boolean {
  const e = err as { code?: unknown; number?: unknown } | null;
  return e?.code === '2200H' || e?.number === 8115;
}

export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && unavailableCodes.has(code)) return true;
  if (isDatabaseBusy(err)) return true;
  const msg = err instanceof Error ? err.message : '';
  return /Connection terminated|Knex: Timeout acquiring a connection|connection is closed|SQLITE_BUSY/i.test(msg);
}
