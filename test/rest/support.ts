/**
 * A small JSON client for the RESTful and Agents faces over real HTTP (fetch), recording every exchange so that the
 * contract test can validate each request and response against NetServer's Swagger.
 */
export interface Exchange {
  method: string;
  /** Path and query as sent, relative to the base URL. */
  url: string;
  requestHeaders: Record<string, string>;
  requestBody: unknown;
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body (undefined when empty or not JSON). */
  json: any;
}

export interface JsonClient {
  (method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<Exchange>;
  exchanges: Exchange[];
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** `authorization` is sent on every request unless a request's own headers set it (to '' for none; Content-Type likewise). */
export function jsonClient(baseUrl: string, authorization: string): JsonClient {
  const exchanges: Exchange[] = [];
  const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { Accept: 'application/json', ...(authorization ? { Authorization: authorization } : {}), ...headers };
    if (h.Authorization === '') delete h.Authorization;
    let payload: string | undefined;
    if (body !== undefined) payload = typeof body === 'string' ? body : JSON.stringify(body);
    // POST and PUT declare JSON even without a body (the service refuses them otherwise: 415).
    if (body !== undefined || method === 'POST' || method === 'PUT') h['Content-Type'] ??= 'application/json';
    if (h['Content-Type'] === '') delete h['Content-Type'];
    const r = await fetch(`${baseUrl}${url}`, { method, headers: h, body: payload });
    const text = await r.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const ex: Exchange = { method, url, requestHeaders: h, requestBody: body, status: r.status, headers: r.headers, text, json };
    exchanges.push(ex);
    return ex;
  };
  return Object.assign(call, { exchanges });
}

export async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
