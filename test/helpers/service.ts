/**
 * Starts the real service (src/cli.ts under tsx) as a child process on a free loopback port with a fresh SQLite
 * file (or the DATABASE_URL given), and talks SOAP to it over plain HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const repoRoot = new URL('../../', import.meta.url).pathname;
export const ADMIN_PASSWORD = 'test-admin-password';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningService {
  baseUrl: string;
  port: number;
  proc: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startService(env: Record<string, string> = {}, command = 'serve'): Promise<RunningService> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wa-svc-'));
  let out = '';
  const proc = spawn(process.execPath, ['--disable-proto=delete', '--import', 'tsx', join(repoRoot, 'src/cli.ts'), command], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(dir, 'wa.sqlite')}`,
      ADMIN_PASSWORD,
      ALLOW_INSECURE_TARGETS: 'true',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const baseUrl = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`service exited early (${proc.exitCode}):\n${out}`);
    try {
      const r = await fetch(`${baseUrl}/readyz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`service did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    baseUrl,
    port,
    proc,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export const NS88 = 'http://www.superoffice.net/ws/crm/NetServer/Services88';

export function envelope(body: string, headers = ''): string {
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">` +
    `${headers ? `<s:Header>${headers}</s:Header>` : ''}<s:Body>${body}</s:Body></s:Envelope>`;
}

export async function soapPost(url: string, action: string, xml: string): Promise<{ status: number; text: string; contentType: string }> {
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${action}"` }, body: xml });
  return { status: r.status, text: await r.text(), contentType: r.headers.get('content-type') ?? '' };
}

/** Logs in through SoPrincipal.AuthenticateUsernamePassword and returns the 7T: ticket. */
export async function login(baseUrl: string, user = 'admin', password = ADMIN_PASSWORD): Promise<string> {
  const body = `<AuthenticateUsernamePassword xmlns="${NS88}"><UserName>${user}</UserName><Password>${password}</Password></AuthenticateUsernamePassword>`;
  const r = await soapPost(`${baseUrl}/Remote/Services88/SoPrincipal.svc`, `${NS88}/SoPrincipal/AuthenticateUsernamePassword`,
    envelope(body, `<ApplicationToken xmlns="${NS88}">test</ApplicationToken>`));
  const m = /<(?:\w+:)?Ticket>([^<]+)<\/(?:\w+:)?Ticket>/.exec(r.text);
  if (!m) throw new Error(`login failed (${r.status}): ${r.text.slice(0, 500)}`);
  return m[1];
}

export function ticketHeaders(ticket: string, ns = NS88): string {
  return `<ApplicationToken xmlns="${ns}">test</ApplicationToken><Credentials xmlns="${ns}"><Ticket>${ticket}</Ticket></Credentials>`;
}
