/**
 * How a thrown error becomes the ExceptionInfo response header.
 *
 * Detection is by shape, so the edge works with any error class that has it (src/errors.ts AppError does):
 * - a string `code` and `message`, plus `isBusinessError === true` or a string `exceptionType`, is a business
 *   error; a boolean `business`, when present, decides instead (false = internal despite the other fields).
 *   A plain `code` alone is not enough: Node's system errors have one (ECONNREFUSED).
 * Business errors show their message, friendlyText, exceptionType (else the .NET name for their code,
 * exception-types.ts), `field` and `parameters` to the caller
 * (ExceptionInfo.Parameters also gets the `code`). Everything else is internal: the caller sees a generic
 * message (and the stable `code`, if the error has one), the details go to the log, and the stack trace goes on
 * the wire only in debug mode. (coerceError's AppError('internal', 'Internal error') is a business error by
 * this rule, which is fine: its message is already generic.)
 *
 * An error may also carry a prepared `exceptionInfo` object ({Message, FriendlyText, ExceptionType, Source,
 * Parameters}); unless the error has `business: false`, it is shown as given (StackTrace still only in debug mode).
 */
import { exceptionTypeFor } from './exception-types.js';

export interface BusinessError {
  code: string;
  message: string;
  friendlyText?: string;
  exceptionType?: string;
  /** The request field the error is about (ExceptionInfo.Parameters `field`). */
  field?: string;
  /** Extra key/value pairs for ExceptionInfo.Parameters. */
  parameters?: Record<string, string>;
}

/** The SoExceptionInfo value, keyed by WSDL element names (the serializer's input form). */
export interface ExceptionInfoValue {
  Message: string;
  StackTrace: string | null;
  FriendlyText: string | null;
  ExceptionType: string | null;
  Source: string | null;
  InnerException: null;
  Parameters: Array<{ Key: string; Value: string }> | null;
}

export const GENERIC_ERROR_MESSAGE = 'An internal error occurred. The error has been logged.';
const GENERIC_FRIENDLY_TEXT = 'The service could not complete the request. Please try again later.';

function record(err: unknown): Record<string, unknown> | null {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>) : null;
}

export function isBusinessError(err: unknown): err is BusinessError {
  const e = record(err);
  if (!e || typeof e.code !== 'string' || typeof e.message !== 'string') return false;
  if (typeof e.business === 'boolean') return e.business;
  return e.isBusinessError === true || typeof e.exceptionType === 'string';
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function pairs(code: string | null, field: unknown, params: unknown): Array<{ Key: string; Value: string }> | null {
  const out: Array<{ Key: string; Value: string }> = [];
  if (code) out.push({ Key: 'code', Value: code });
  if (typeof field === 'string') out.push({ Key: 'field', Value: field });
  if (Array.isArray(params)) {
    for (const p of params) {
      const r = record(p);
      if (r && typeof r.Key === 'string') out.push({ Key: r.Key, Value: r.Value == null ? '' : String(r.Value) });
    }
  } else if (record(params)) {
    for (const [k, v] of Object.entries(params as Record<string, unknown>)) {
      if (!out.some((p) => p.Key === k)) out.push({ Key: k, Value: v == null ? '' : String(v) });
    }
  }
  return out.length > 0 ? out : null;
}

export interface ExceptionInfoOptions {
  debug: boolean;
  /** ExceptionInfo.Source. */
  source: string;
}

/** ExceptionInfo for a thrown value, and whether it was a business error (internal ones deserve an error log). */
export function toExceptionInfo(err: unknown, opts: ExceptionInfoOptions): { info: ExceptionInfoValue; business: boolean } {
  const e = record(err);
  const stack = opts.debug && e && typeof e.stack === 'string' ? e.stack : null;
  const prepared = e ? record(e.exceptionInfo) : null;
  const business = isBusinessError(err);
  const code = e && typeof e.code === 'string' ? e.code : null;

  // A prepared exceptionInfo is deliberately meant for the caller, unless the error says it is internal.
  if (prepared && e?.business !== false) {
    return {
      business: true,
      info: {
        Message: str(prepared.Message) ?? String(e?.message ?? ''),
        StackTrace: stack,
        FriendlyText: str(prepared.FriendlyText),
        ExceptionType: str(prepared.ExceptionType),
        Source: str(prepared.Source) ?? opts.source,
        InnerException: null,
        Parameters: pairs(code, e?.field, prepared.Parameters),
      },
    };
  }
  if (business) {
    const b = err as BusinessError;
    return {
      business: true,
      info: {
        Message: b.message,
        StackTrace: stack,
        FriendlyText: str(b.friendlyText) ?? b.message,
        ExceptionType: str(b.exceptionType) ?? exceptionTypeFor(b.code) ?? 'SoException',
        Source: opts.source,
        InnerException: null,
        Parameters: pairs(b.code, b.field, b.parameters),
      },
    };
  }
  const debugMessage = opts.debug && e && typeof e.message === 'string' ? e.message : null;
  return {
    business: false,
    info: {
      Message: debugMessage ?? GENERIC_ERROR_MESSAGE,
      StackTrace: stack,
      FriendlyText: GENERIC_FRIENDLY_TEXT,
      ExceptionType: 'SoServerException',
      Source: opts.source,
      InnerException: null,
      Parameters: pairs(code, null, null),
    },
  };
}
