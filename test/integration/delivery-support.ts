/**
 * Shared pieces of the delivery tests: a loopback receiver that records every request byte for byte, an SMTP sink,
 * webhooks created through the real repository, a controllable clock, and the test configuration.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { loadConfig, type Config, type ConfigInput } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createWebhook } from '../../src/store/webhook-repository.js';
import { knexOf, type Queryable } from '../../src/store/row-mapping.js';
import type { WebhookInput } from '../../src/webhooks/types.js';
import type { Worker } from '../../src/outbox/worker.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
const plain = { secrets: createSecretCodec() };

export interface ReceivedRequest {
  method: string;
  url: string;
  /** Header names in the case they were sent, in order. */
  rawHeaders: string[];
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json: Record<string, unknown>;
  /** performance.now() at arrival. */
  at: number;
}

export type Reply = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | 'hang';

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Sets how the next requests are answered (default 200 "ok"). */
  respond(fn: (req: ReceivedRequest, index: number) => Reply): void;
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let responder: (req: ReceivedRequest, index: number) => Reply = () => ({ status: 200, body: 'ok' });
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let json: Record<string, unknown> = {};
      try { json = JSON.parse(body.toString('utf8')) as Record<string, unknown>; } catch { /* not JSON */ }
      const r: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, headers: req.headers, body, json, at: performance.now() };
      const index = requests.push(r) - 1;
      for (const w of waiters.filter((x) => requests.length >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const reply = responder(r, index);
      if (reply === 'hang') {
        hanging.add(res);
        return;
      }
      const answer = () => {
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    respond(fn) { responder = fn; },
    waitFor(n, timeoutMs = 10_000) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`receiver got ${requests.length} of ${n} requests`)), timeoutMs);
        waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export function testConfig(overrides: ConfigInput = {}): Config {
  return loadConfig({
    env: {},
    overrides: {
      databaseUrl: 'sqlite::memory:',
      allowInsecureTargets: true,
      deliveryTimeoutMs: 2000,
      leaseMs: 30_000,
      pollIntervalMs: 50,
      logLevel: 'silent',
      ...overrides,
    },
  });
}

export const silentLogger = createLogger('silent');

/** Empties the webhook and outbox tables (children first) so each test starts from no hooks and nothing owed. */
export async function clearDeliveryTables(db: Queryable): Promise<void> {
  const k = knexOf(db);
  for (const t of ['wa_attempt', 'wa_delivery', 'wa_event', 'wa_worker_lock', 'wa_webhook_setting', 'wa_idempotency', 'webhook_event', 'webhook_notify', 'webhook_usage', 'webhook']) {
    await k(t).delete();
  }
}

/**
 * Between tests: stops (and forgets) the workers a test started, empties the tables, and makes the receiver forget
 * its requests and answer 200 "ok" again.
 */
export async function resetDeliveryState(db: Queryable, rx: Receiver, workers: Worker[]): Promise<void> {
  for (const w of workers.splice(0)) await w.stop({ graceMs: 0 });
  await clearDeliveryTables(db);
  rx.requests.length = 0;
  rx.respond(() => ({ status: 200, body: 'ok' }));
}

export interface TestClock {
  (): number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function testClock(start = Date.UTC(2026, 0, 1, 12, 0, 0)): TestClock {
  let t = start;
  const clock = (() => t) as TestClock;
  clock.set = (ms) => { t = ms; };
  clock.advance = (ms) => { t += ms; };
  return clock;
}

export async function createHook(db: Queryable, fields: Partial<WebhookInput> & { targetUrl: string }): Promise<number> {
  const input: WebhookInput = {
    name: 'test hook', events: ['contact.created'], secret: null, state: 'Active', type: 'webhook', headers: null,
    properties: null, errorsEmail: null, errorEmails: null, errorAssociateIds: null, description: null,
    notifyVia: [], notifyWhen: [], ...fields,
  };
  return createWebhook(db, input, new Date(), 1, plain);
}

/** Headers as [name, value] pairs in the order they were sent. */
export function headerPairs(r: ReceivedRequest): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) out.push([r.rawHeaders[i], r.rawHeaders[i + 1]]);
  return out;
}

export interface Mail { to: string[]; subject: string; body: string; raw: string }

/** Subject (RFC 2047 Q-encoded words) and quoted-printable or 7bit body of a simple text mail from nodemailer. */
export function decodeMail(raw: string): { subject: string; body: string } {
  const [head, ...rest] = raw.split('\r\n\r\n');
  const unfolded = head.replace(/\r\n[ \t]+/g, ' ');
  const qp = (s: string) => Buffer.from(s.replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  const subject = (/^Subject: (.*)$/m.exec(unfolded)?.[1] ?? '').replace(/=\?UTF-8\?Q\?([^?]*)\?=\s*/gi, (_, w: string) => qp(w.replace(/_/g, ' ')));
  const body = rest.join('\r\n\r\n');
  const quoted = /^Content-Transfer-Encoding: quoted-printable/im.test(unfolded);
  return { subject: subject.trim(), body: quoted ? qp(body.replace(/=\r\n/g, '')) : body };
}

export interface SmtpSink {
  url: string;
  /** Every message received, recipients sorted, subject and body decoded. */
  mails: Mail[];
  close(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1 that records each message. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: Mail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => { raw += c.toString('utf8'); });
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address).sort(), ...decodeMail(raw), raw });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  const port = ((smtp as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise<void>((r) => smtp.close(() => r())) };
}
