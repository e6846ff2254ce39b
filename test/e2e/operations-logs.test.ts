/**
 * The service's own log, from the real `serve` process (src/cli.ts) at debug level: the configuration on one line at
 * start, one warn line per failed attempt with what an operator needs, the TooManyErrors state change and the
 * re-activation at warn, a success at debug; and no password, ticket, webhook secret, encryption key or metrics
 * token anywhere in stdout or stderr (every secret the test used is searched for in every line).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapeXml, soapCall, textAt, webhookXml } from '../helpers/app.js';
import { startReceiver } from '../integration/delivery-support.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

const secrets = {
  adminPassword: 'Adm1n-pass-never-logged',
  wrongPassword: 'guess-pass-never-logged',
  hookSecret: 'hook-secret-never-logged-0123456789',
  headerValue: 'header-token-never-logged',
  encryptionKey: 'encryption-key-never-logged-0123456789abcdef',
  metricsToken: 'metrics-token-never-logged',
  smtpPassword: 'smtp-pass-never-logged',
};

type Line = Record<string, unknown> & { level: number; msg: string };

test('serve logs: config line, failed attempts and state changes at warn, successes at debug, no secrets', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-logs-'));
  const rx = await startReceiver();
  let out = '';
  let err = '';
  let ticket: string | null | undefined;
  const child = spawn(process.execPath, ['--disable-proto=delete', '--import', 'tsx', cli, 'serve'], {
    env: {
      ...process.env,
      DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'debug',
      ALLOW_INSECURE_TARGETS: 'true', ADMIN_USER: 'admin', ADMIN_PASSWORD: secrets.adminPassword,
      SECRET_ENCRYPTION_KEY: secrets.encryptionKey, METRICS_TOKEN: secrets.metricsToken,
      SMTP_URL: `smtp://mailer:${secrets.smtpPassword}@127.0.0.1:25`, MAX_CONSECUTIVE_ERRORS: '2', POLL_INTERVAL_MS: '50',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const lines = (): Line[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
  const waitForLine = async (pred: (l: Line) => boolean, what: string) => {
    for (let i = 0; i < 200; i++) {
      const hit = lines().find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no log line: ${what}\n${out}\n${err}`);
  };
  try {
    for (let i = 0; i < 300 && !/listening on (http:\/\/\S+?)\/Remote/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    const base = /listening on (http:\/\/\S+?)\/Remote/.exec(out)?.[1];
    assert.ok(base, `serve did not start: ${out}\n${err}`);

    const login = (user: string, password: string) => soapCall(base, 88, 'AuthenticateUsernamePassword',
      `<UserName>${escapeXml(user)}</UserName><Password>${escapeXml(password)}</Password>`, { service: 'SoPrincipal', ticket: null });
    assert.equal(textAt((await login('admin', secrets.wrongPassword)).body, 'AuthenticationSucceeded'), 'false');
    ticket = textAt((await login('admin', secrets.adminPassword)).body, 'Credentials', 'Ticket');
    assert.ok(ticket);
    const t = ticket;
    const call = (op: string, inner: string) => soapCall(base, 88, op, inner, { defaultTicket: t });

    const hook = { name: 'crm sync', events: ['contact.created'], targetUrl: rx.url, secret: secrets.hookSecret, headers: { 'X-Api-Key': secrets.headerValue } };
    const saved = await call('SaveWebhook', webhookXml({ id: 0, ...hook, state: 'Active' }));
    assert.equal(saved.succeeded, true, saved.text);
    const id = Number(textAt(saved.response, 'WebhookId'));

    rx.respond(() => ({ status: 500, body: 'receiver down' }));
    assert.equal((await call('SignalEvent', '<EventName>contact.created</EventName><PrimaryKey>42</PrimaryKey>')).succeeded, true);
    const failed = await waitForLine((l) => l.msg === 'delivery attempt failed, retry scheduled', 'failed attempt');
    assert.equal(failed.level, 40);
    assert.equal(failed.webhookId, id);
    assert.equal(failed.webhookName, 'crm sync');
    assert.equal(failed.event, 'contact.created');
    assert.match(String(failed.eventId), /^[0-9a-f-]{36}$/);
    assert.equal(failed.attempt, 1);
    assert.equal(failed.status, 500);
    assert.equal(typeof failed.durationMs, 'number');
    assert.match(String(failed.error), /^HTTP\/1\.1 500/);
    assert.ok(Date.parse(String(failed.nextRetryAt)) > 0);
    const tooMany = await waitForLine((l) => String(l.msg).startsWith('webhook state changed: TooManyErrors'), 'TooManyErrors');
    assert.equal(tooMany.level, 40);
    assert.equal(tooMany.webhookId, id);

    rx.respond(() => ({ status: 200, body: 'ok' }));
    const reactivated = await call('SaveWebhook', webhookXml({ id, ...hook, state: 'Active' }));
    assert.equal(reactivated.succeeded, true, reactivated.text);
    const change = await waitForLine((l) => String(l.msg).startsWith('webhook state changed: Active'), 're-activation');
    assert.deepEqual([change.level, change.from, change.to], [40, 'TooManyErrors', 'Active']);
    const delivered = await waitForLine((l) => l.msg === 'delivered' && l.webhookId === id, 'success at debug');
    assert.deepEqual([delivered.level, delivered.attempt, delivered.status], [20, 3, 200]);

    const scrape = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${secrets.metricsToken}` } });
    assert.equal(scrape.status, 200);
    assert.match(await scrape.text(), /webhook_agent_delivery_attempts_total\{outcome="success"\} 1/);
  } finally {
    child.kill('SIGTERM');
    await exited;
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const all = lines();
  const start = all.find((l) => String(l.msg).startsWith('starting: '));
  assert.ok(start, 'a start line');
  assert.doesNotMatch(start.msg, /\n/);
  assert.match(start.msg, /port=0 .*adminPassword=set .*secretKey=set .*smtpUrl=set .*metricsToken=set/);
  const text = out + err;
  assert.ok(ticket);
  for (const [name, value] of Object.entries({ ...secrets, ticket })) {
    assert.equal(text.includes(value), false, `${name} appears in the log`);
  }
});
