/**
 * How an error becomes an HTTP answer on the JSON faces: a status from the error's code and NetServer's RESTful
 * error body `{"Error":true,"ErrorType":"SoNotFoundException","ErrorMessage":"...","ErrorSource":"..."}`, plus the
 * stable `ErrorCode` and the `ErrorField` the error is about. Internal errors show a generic message; the details go
 * to the log, and the stack trace goes into the body only with DEBUG_ERRORS.
 */
import type { Response } from 'express';
import { AppError, coerceError, type ErrorCode } from '../errors.js';
import { AUTH_CHALLENGES } from './http-credentials.js';

/** A problem with the HTTP request itself (media type, size, unparsable JSON), found before any operation runs. */
export class HttpRequestError extends Error {
  constructor(readonly status: number, readonly errorType: string, message: string, readonly field?: string) {
    super(message);
    this.name = 'HttpRequestError';
  }
}

const statusOf: Record<ErrorCode, number> = {
  invalid_argument: 400, not_supported: 400, target_refused: 400, unauthenticated: 401, not_found: 404, conflict: 409,
  internal: 500, unavailable: 503,
};

/** Every status an error can be answered with on the JSON faces, the HttpRequestError ones included (400 body, 403
 * cross-site, 413, 415); the Swagger documents declare each. */
export const ERROR_STATUSES: readonly number[] = [...new Set([...Object.values(statusOf), 400, 403, 413, 415])].sort((a, b) => a - b);

// NetServer's short exception names, as its RESTful error bodies show them.
const errorTypeOf: Record<ErrorCode, string> = {
  invalid_argument: 'ArgumentException', not_supported: 'NotSupportedException', target_refused: 'WebhookTargetException',
  unauthenticated: 'SoAuthenticationException', not_found: 'SoNotFoundException', conflict: 'SoConflictException',
  internal: 'SoServerException', unavailable: 'SoServiceUnavailableException',
};

const GENERIC_MESSAGE = 'An internal error occurred. The error has been logged.';

export interface ErrorLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Sends JSON text (already written) as application/json; charset=utf-8. */
export function sendJson(res: Response, status: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', buf.length);
  res.end(buf);
}

export function sendError(res: Response, err: unknown, opts: { debug: boolean; logger: ErrorLogger; where: string }): void {
  if (res.headersSent) return;
  let status: number;
  let body: Record<string, unknown>;
  if (err instanceof HttpRequestError) {
    status = err.status;
    body = { Error: true, ErrorType: err.errorType, ErrorMessage: err.message, ErrorSource: 'webhook-agent', ErrorCode: 'bad_request',
      ErrorField: err.field ?? null };
  } else {
    const e = coerceError(err);
    status = statusOf[e.code];
    const internal = e.code === 'internal';
    if (internal || (e.cause !== undefined && !e.reportedByStore)) opts.logger.error({ err: e.cause ?? err, where: opts.where }, 'HTTP API call failed');
    else opts.logger.info({ code: e.code, message: e.message, where: opts.where }, 'HTTP API call refused');
    body = {
      Error: true, ErrorType: errorTypeOf[e.code], ErrorMessage: !internal ? e.message : opts.debug && err instanceof Error ? err.message : GENERIC_MESSAGE,
      ErrorSource: 'webhook-agent', ErrorCode: e.code, ErrorField: e.field ?? null,
    };
    if (e.code === 'unauthenticated') for (const c of AUTH_CHALLENGES) res.append('WWW-Authenticate', c);
    if (e.code === 'unavailable') res.setHeader('Retry-After', '5');
  }
  if (opts.debug && err instanceof Error && err.stack) body.StackTrace = (err instanceof AppError && err.cause instanceof Error ? err.cause : err).stack;
  sendJson(res, status, JSON.stringify(body));
}
