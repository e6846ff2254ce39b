/**
 * Driver errors that mean "the database is not reachable" become AppError('unavailable') with a message a client
 * can act on (retry later), instead of the generic internal error. Everything else passes through unchanged.
 */
import { AppError, isDatabaseUnavailable } from '../../errors.js';
import type { SoapHandlers } from '../soap-endpoint.js';

export function withUnavailableErrors(handlers: SoapHandlers): SoapHandlers {
  const out: SoapHandlers = {};
  for (const [name, handler] of Object.entries(handlers)) {
    out[name] = async (body, ctx) => {
      try {
        return await handler(body, ctx);
      } catch (err) {
        if (!(err instanceof AppError) && isDatabaseUnavailable(err)) {
          throw new AppError('unavailable', 'The database is not reachable at the moment; nothing was changed. Try again shortly.', {
            cause: err, friendlyText: 'The service is temporarily unavailable. Please try again shortly.',
          });
        }
        throw err;
      }
    };
  }
  return out;
}
