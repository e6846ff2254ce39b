/**
 * Counting what the faces do: SOAP calls as the endpoint reports them, the JSON faces' operations wrapped to time
 * and count each call by outcome, and an AuthService whose logins are counted.
 */
import type { AuthService } from '../auth/auth-service.js';
import type { SoapCall } from '../soap/soap-endpoint.js';
import { SoapProtocolError } from '../soap/soap-fault.js';
import type { WebhookOperations } from '../agent/webhook-operations.js';
import type { Metrics } from './metrics.js';

/** The outcome label of a failed call: the AppError code when there is one, else 'internal'. */
export function outcomeOf(err: unknown): string {
  const code = (err as { code?: unknown; isBusinessError?: unknown } | null);
  return code?.isBusinessError === true && typeof code.code === 'string' ? code.code : 'internal';
}

/**
 * The SoapEndpointOptions.onCall that counts SOAP calls under face 'soap': every POST once, by operation and
 * outcome ('ok', the AppError code behind an ExceptionInfo answer, 'protocol_fault' for a SOAP fault, 'internal'),
 * including requests refused before a handler ran (unauthenticated, invalid input, unknown SOAPAction).
 */
export function soapCallCounter(metrics: Metrics | undefined): ((call: SoapCall) => void) | undefined {
  if (!metrics) return undefined;
  return ({ operation, error, seconds }) => {
    const outcome = error === null ? 'ok' : error instanceof SoapProtocolError ? 'protocol_fault' : outcomeOf(error);
    metrics.observeRequest('soap', operation ?? 'unknown', outcome, seconds);
  };
}

export function countedLogins(auth: AuthService, metrics: Metrics | undefined): AuthService {
  if (!metrics) return auth;
  return {
    ...auth,
    // The client address passes through: the login throttle keys on it and the warn lines name it.
    async login(userName, password, client) {
      const r = await auth.login(userName, password, client);
      metrics.observeLogin(r ? 'success' : 'failure');
      return r;
    },
    async checkLogin(userName, password, client) {
      const r = await auth.checkLogin(userName, password, client);
      metrics.observeLogin(r ? 'success' : 'failure');
      return r;
    },
  };
}

/** The webhook operations with each call timed and counted under `face` (the RESTful and Agents JSON faces). */
export function countedOperations(ops: WebhookOperations, metrics: Metrics | undefined, face: string): WebhookOperations {
  if (!metrics) return ops;
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(ops) as Array<[string, (...args: unknown[]) => Promise<unknown>]>) {
    out[name] = async (...args: unknown[]) => {
      const t0 = performance.now();
      try {
        const result = await fn(...args);
        metrics.observeRequest(face, name, 'ok', (performance.now() - t0) / 1000);
        return result;
      } catch (err) {
        metrics.observeRequest(face, name, outcomeOf(err), (performance.now() - t0) / 1000);
        throw err;
      }
    };
  }
  return out as WebhookOperations;
}
