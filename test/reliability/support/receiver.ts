/**
 * Webhook receivers on 127.0.0.1 with a chosen behaviour: a healthy one that records every delivery, and hostile
 * ones (hang, a 10 MB answer, a byte a second) for the fault tests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceiverMode = 'ok' | 'hang' | 'huge' | 'trickle' | 'fail';

export interface Delivery {
  eventId: string;
  event: string;
  retry: number;
  test: boolean;
  body: Record<string, unknown> | null;
  at: number;
}

export interface Receiver {
  url: string;
  port: number;
  mode: ReceiverMode;
  /** Every POST seen (test pings included). */
  deliveries: Delivery[];
  /** Distinct EventIds of non-test deliveries. */
  eventIds(): Set<string>;
  /** Requests that were answered or cut off (for the hostile modes: how often the service came). */
  hits: number;
  /** Per request: when it arrived and when its connection closed (null while open). */
  spans: Array<{ start: number; closed: number | null }>;
  close(): Promise<void>;
}

const HUGE_BYTES = 10 * 1024 * 1024;

export async function startReceiver(mode: ReceiverMode = 'ok'): Promise<Receiver> {
  const timers = new Set<NodeJS.Timeout>();
  const r: Receiver = {
    url: '',
    port: 0,
    mode,
    deliveries: [],
    hits: 0,
    spans: [],
    eventIds() {
      return new Set(r.deliveries.filter((d) => !d.test).map((d) => d.eventId));
    },
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const span = { start: Date.now(), closed: null as number | null };
    r.spans.push(span);
    res.on('close', () => (span.closed = Date.now()));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.hits += 1;
      let body: Record<string, unknown> | null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = null;
      }
      r.deliveries.push({
        eventId: String(req.headers['x-superoffice-eventid'] ?? ''),
        event: String(req.headers['x-superoffice-event'] ?? ''),
        retry: Number(req.headers['x-superoffice-retry'] ?? -1),
        test: req.headers['x-hook-test'] === 'true',
        body,
        at: Date.now(),
      });
      // Test pings (SaveWebhook, TestWebhook) are answered 200 in every mode so that a hostile hook can be saved.
      const m = req.headers['x-hook-test'] === 'true' ? 'ok' : r.mode;
      switch (m) {
        case 'ok':
          res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
          break;
        case 'fail':
          res.writeHead(500, { 'Content-Type': 'text/plain' }).end('failing on purpose');
          break;
        case 'hang':
          break; // never answers; the socket stays open until the service gives up
        case 'huge': {
          res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': HUGE_BYTES });
          const block = Buffer.alloc(64 * 1024, 0x61);
          let sent = 0;
          const pump = () => {
            while (sent < HUGE_BYTES) {
              sent += block.length;
              if (!res.write(block)) {
                res.once('drain', pump);
                return;
              }
            }
            res.end();
          };
          res.on('error', () => {});
          pump();
          break;
        }
        case 'trickle': {
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          const t = setInterval(() => {
            if (res.destroyed) {
              clearInterval(t);
              timers.delete(t);
              return;
            }
            res.write('.');
          }, 1000);
          timers.add(t);
          res.on('close', () => {
            clearInterval(t);
            timers.delete(t);
          });
          break;
        }
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.port = (server.address() as AddressInfo).port;
  r.url = `http://127.0.0.1:${r.port}/hook`;
  r.close = () => new Promise<void>((resolve) => {
    for (const t of timers) clearInterval(t);
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return r;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, stepMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
