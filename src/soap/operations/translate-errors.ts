/**
 * Driver errors that mean "the database is not reachable" become AppError('unavailable') with a message a client
 * can act on (retry later), instead of the generic internal error. Everything else passes through unchanged.
 */
import { AppError, coerceError, isDatabaseUnavailable } from '../../errors.js';
import type { SoapHandlers } from '../soap-endpoint.js';

export function withUnavailableErrors(handlers: SoapHandlers): SoapHandlers {
  const out: SoapHandlers = {};
  for (const [name, handler] of Object.entries(handlers)) {
    out[name] = async (body, ctx) => {
      try {
        return await handler(body, ctx);
      } catch (err) {
        // Only this kind is converted: other errors keep their own handling at the edge (generic text, logged).
        throw !(err instanceof AppError) && isDatabaseUnavailable(err) ? coerceError(err) : err;
      }
    };
  }
  return out;
}
