/**
 * A keep-alive HTTP client for hostile and bulk requests: raw bytes in, status/headers/text out, with a deadline,
 * so that a hung service shows up as a failed request instead of a hung test.
 */
import http from 'node:http';
import type { BuiltRequest } from './envelopes.js';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Bytes of the response body. */
  bytes: number;
  /** The connection ended before the whole request was sent or the whole response read (the answer came early). */
  cutShort?: boolean;
}

export interface SoapClient {
  baseUrl: string;
  request(opts: {
    path: string;
    method?: string;
    headers?: Record<string, string | number>;
    body?: Buffer | string;
    timeoutMs?: number;
    /** Stop reading after this many response bytes (the text is cut). */
    maxResponseBytes?: number;
  }): Promise<HttpResult>;
  /** A SOAP 1.1 POST of a built request (Content-Type text/xml, quoted SOAPAction). */
  soap(req: BuiltRequest, extra?: { headers?: Record<string, string>; timeoutMs?: number }): Promise<HttpResult>;
  close(): void;
}

/** `localAddress`: the loopback address to connect from (127.0.0.2 ... stand for other clients). */
export function createClient(baseUrl: string, opts: { maxSockets?: number; localAddress?: string } = {}): SoapClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 16 });
  const base = new URL(baseUrl);

  function request(o: Parameters<SoapClient['request']>[0]): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body, 'utf8');
      const headers: Record<string, string | number> = { ...(o.headers ?? {}) };
      if (body && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length' || k.toLowerCase() === 'transfer-encoding')) {
        headers['Content-Length'] = body.length;
      }
      const req = http.request({
        agent, host: base.hostname, port: base.port, method: o.method ?? 'POST', path: o.path, headers, localAddress: opts.localAddress,
      }, (res) => {
        response = res;
        const cap = o.maxResponseBytes ?? 64 * 1024 * 1024;
        res.on('data', (c: Buffer) => {
          if (size < cap) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => finish(false));
        res.on('error', (err) => fail(err));
        res.on('aborted', () => finish(true));
      });
      let response: http.IncomingMessage | undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const finish = (cutShort: boolean) => {
        if (settled || !response) return;
        settled = true;
        clearTimeout(timer);
        resolve({
          status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8'), bytes: size,
          ...(cutShort ? { cutShort } : {}),
        });
      };
      const fail = (err: Error) => {
        if (settled) return;
        // A server that answers early (413) and closes while we are still uploading: keep its answer.
        if (response && !timedOut) return finish(true);
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      const timeoutMs = o.timeoutMs ?? 30_000;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(new Error(`no complete response within ${timeoutMs} ms (${o.method ?? 'POST'} ${o.path})`));
      }, timeoutMs);
      req.on('error', fail);
      req.on('close', () => setImmediate(() => finish(true)));
      if (body) req.end(body);
      else req.end();
    });
  }

  return {
    baseUrl,
    request,
    soap(req, extra = {}) {
      return request({
        path: req.path,
        headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${req.action}"`, ...(extra.headers ?? {}) },
        body: req.xml,
        ...(extra.timeoutMs ? { timeoutMs: extra.timeoutMs } : {}),
      });
    },
    close() {
      agent.destroy();
    },
  };
}
