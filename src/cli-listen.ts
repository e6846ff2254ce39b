/**
 * `webhook-agent listen`: a receiver for trying the service out. It prints each delivery it gets (event, EventId,
 * retry, the headers and the body) and whether X-SuperOffice-Signature verifies against --secret, checked with the
 * same signing code the sender uses, and answers with --status (200 unless told).
 * Loopback only unless --host says otherwise: it is a tool for one machine, not a server.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Command } from 'commander';
import { signBody } from './outbox/index.js';

export interface ListenOptions { port: number; host: string; secret?: string; status: number }

/** What the signature header says about this body, in the words printed. */
export function signatureVerdict(secret: string | undefined, header: string | undefined, body: Buffer): string {
  if (header === undefined) return secret === undefined ? 'none (no secret on either side)' : 'MISSING (the hook has no secret?)';
  if (secret === undefined) return 'not checked (start listen with --secret to check it)';
  const expected = Buffer.from(signBody(secret, body));
  const got = Buffer.from(header);
  return expected.length === got.length && timingSafeEqual(expected, got)
    ? 'valid' : 'INVALID (signed with another secret, or the body changed)';
}

function describeDelivery(req: IncomingMessage, body: Buffer, secret: string | undefined): string {
  const h = req.headers;
  const one = (name: string) => { const v = h[name]; return Array.isArray(v) ? v.join(', ') : v; };
  const lines = [
    `${new Date().toISOString()} ${req.method} ${req.url}`,
    `  event:     ${one('x-superoffice-event') ?? '-'}`,
    `  EventId:   ${one('x-superoffice-eventid') ?? '-'}`,
    `  retry:     ${one('x-superoffice-retry') ?? '-'}`,
    `  signature: ${signatureVerdict(secret, one('x-superoffice-signature'), body)}`,
    '  headers:',
    ...Object.entries(h).map(([k, v]) => `    ${k}: ${Array.isArray(v) ? v.join(', ') : v}`),
    `  body (${body.length} bytes):`,
    `    ${body.toString('utf8')}`,
  ];
  return `${lines.join('\n')}\n\n`;
}

export function startListener(o: ListenOptions, write: (s: string) => void): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      write(describeDelivery(req, Buffer.concat(chunks), o.secret));
      res.writeHead(o.status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${o.status}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : o.port;
      const host = o.host.includes(':') ? `[${o.host}]` : o.host;
      write(`listening on http://${host}:${port}/ (any path), answering ${o.status}; ` +
        `${o.secret === undefined ? 'no --secret: signatures are not checked' : 'checking X-SuperOffice-Signature with --secret'}\n`);
      resolve(server);
    });
  });
}

export function registerListenCommand(program: Command): void {
  program.command('listen').description('a receiver for trying webhooks out: prints each delivery and checks its signature')
    .option('-p, --port <port>', 'port to listen on', '9000')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--secret <secret>', "the hook's Secret, to verify X-SuperOffice-Signature")
    .option('--status <code>', 'HTTP status to answer with (try 500 to see retries, 410 to see a hook stop)', '200')
    .action(async (o: { port: string; host: string; secret?: string; status: string }) => {
      const port = Number(o.port);
      const status = Number(o.status);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number (got ${o.port})`);
      if (!Number.isInteger(status) || status < 200 || status > 599) throw new Error(`--status must be an HTTP status 200-599 (got ${o.status})`);
      const server = await startListener({ port, host: o.host, secret: o.secret, status }, (s) => process.stdout.write(s));
      for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => {
        server.close(() => process.exit(0));
        server.closeAllConnections();
      });
    });
}
