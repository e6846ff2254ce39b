/**
 * DELIVERY_PROXY_URL through a real proxy on loopback (Debian's tinyproxy, with Basic credentials): deliveries and
 * the test event go through it (http targets as proxied requests, https targets by CONNECT), and the target policy
 * still refuses private and metadata targets, named through TARGET_HOSTS_FILE-style mappings, before any connection
 * is made, to the proxy or anywhere else.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createSender, type DeliveryJob } from '../../src/outbox/send/sender.js';
import { hostsFirstResolve } from '../../src/agent/delivery-runtime.js';
import { requires } from '../helpers/requires.js';
import { configSummary, loadConfig, redactedConfig } from '../../src/config.js';
import { startReceiver, testConfig, type Receiver } from './delivery-support.js';

const USER = 'hookproxy';
const PASSWORD = 'proxy-pass-1';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); r(true); });
      c.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`tinyproxy did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const job = (url: string): DeliveryJob => ({
  hook: { name: 'proxied', targetUrl: url, secret: 'k', headers: null, properties: null },
  eventUuid: '0190a8e4-0000-7000-8000-000000000001', attemptNo: 1, eventName: 'contact.created', primaryKey: 1, data: { a: 1 },
  changedByAssociateId: 1, timestamp: new Date(),
});

describe('deliveries through an outbound proxy (tinyproxy)', await requires('tinyproxy'), () => {
  let dir: string;
  let proxy: ChildProcess;
  let proxyPort: number;
  let logFile: string;
  let rx: Receiver;
  let tlsServer: tls.Server;
  let tlsPort: number;
  const tlsConnections: string[] = [];
  let hostsFile: string;
  /** Lines tinyproxy logged about connections it accepted (one per client connection). */
  const proxyConnections = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '').split('\n').filter((l) => /Connect \(file descriptor/.test(l));
  const proxyRequests = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '').split('\n').filter((l) => /Request \(file descriptor/.test(l));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-proxy-'));
    proxyPort = await freePort();
    logFile = join(dir, 'tinyproxy.log');
    writeFileSync(join(dir, 'tinyproxy.conf'), [
      `Port ${proxyPort}`, 'Listen 127.0.0.1', 'Timeout 30', `LogFile "${logFile}"`, 'LogLevel Info', 'MaxClients 20',
      'Allow 127.0.0.1', `BasicAuth ${USER} ${PASSWORD}`, '',
    ].join('\n'));
    proxy = spawn('tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: 'ignore' });
    await waitForPort(proxyPort);
    rx = await startReceiver();
    // An https receiver with a throwaway self-signed certificate: the sender will not trust it, which is enough to
    // show that the TLS handshake reached it through the CONNECT tunnel.
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1',
      '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore', timeout: 20_000 });
    assert.equal(made.status, 0, 'openssl made a certificate');
    tlsServer = tls.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) });
    tlsServer.on('connection', (s: net.Socket) => { tlsConnections.push(String(s.remoteAddress)); });
    tlsServer.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', () => r()));
    tlsPort = (tlsServer.address() as AddressInfo).port;
    hostsFile = join(dir, 'hosts');
    writeFileSync(hostsFile, [
      '10.20.30.40 internal.test', '169.254.169.254 metadata.test', '93.184.216.34 mixed.test', '10.0.0.7 mixed.test',
      'fd00:ec2::254 metadata6.test', '',
    ].join('\n'));
  });
  after(async () => {
    proxy?.kill('SIGTERM');
    await rx?.close();
    await new Promise<void>((r) => (tlsServer ? tlsServer.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const proxyUrl = (auth = `${USER}:${PASSWORD}`) => `http://${auth}@127.0.0.1:${proxyPort}`;

  test('http target: the delivery and the test event go through the proxy, with its credentials', async () => {
    const sender = createSender({ config: testConfig({ deliveryProxyUrl: proxyUrl() }) });
    try {
      const before = proxyRequests().length;
      const outcome = await sender.deliver(job(rx.url));
      assert.equal(outcome.kind, 'success', outcome.report);
      const test = await sender.sendTestEvent({ name: 'ping', targetUrl: rx.url, secret: null, headers: null, properties: null });
      assert.equal(test.ok, true, test.message);
      const got = rx.requests.slice(-2);
      for (const r of got) assert.match(String(r.headers.via), /tinyproxy/, 'the request passed the proxy');
      assert.equal(got[1].headers['x-hook-test'], 'true');
      assert.equal(got[0].headers['proxy-authorization'], undefined, 'the proxy credentials stay with the proxy');
      assert.equal(proxyRequests().length - before, 2);
    } finally {
      sender.close();
    }
  });

  test('wrong proxy credentials: a failed attempt (407), the target never reached', async () => {
    const sender = createSender({ config: testConfig({ deliveryProxyUrl: proxyUrl(`${USER}:wrong`) }) });
    try {
      const n = rx.requests.length;
      const outcome = await sender.deliver(job(rx.url));
      assert.equal(outcome.kind, 'failure');
      // tinyproxy answers refused credentials with 401 (other proxies: 407).
      assert.ok([401, 407].includes(('status' in outcome ? outcome.status : 0) ?? 0), outcome.report);
      assert.equal(rx.requests.length, n);
    } finally {
      sender.close();
    }
  });

  test('https target under the strict policy: CONNECT through the proxy to an allowlisted address', async () => {
    const config = testConfig({ allowInsecureTargets: false, targetAllowlist: ['127.0.0.1'], deliveryProxyUrl: proxyUrl() });
    const sender = createSender({ config, lookup: hostsFirstResolve(hostsFile) });
    try {
      const before = tlsConnections.length;
      const outcome = await sender.deliver(job(`https://127.0.0.1:${tlsPort}/hook`));
      // The tunnel reached the receiver; its self-signed certificate is (rightly) not trusted.
      assert.equal(outcome.kind, 'failure');
      assert.match(outcome.report, /self.signed certificate/i);
      assert.equal(tlsConnections.length - before, 1);
      assert.ok(proxyRequests().some((l) => l.includes(`CONNECT 127.0.0.1:${tlsPort}`)), proxyRequests().join('\n'));
    } finally {
      sender.close();
    }
  });

  test('SSRF refusals hold through the proxy: private, metadata and mixed names refused before any connection', async () => {
    const config = testConfig({ allowInsecureTargets: false, deliveryProxyUrl: proxyUrl() });
    const sender = createSender({ config, lookup: hostsFirstResolve(hostsFile) });
    try {
      const connections = proxyConnections().length;
      const cases: Array<[string, RegExp]> = [
        ['https://internal.test/hook', /internal\.test resolves to a refused address \(10\.20\.30\.40 is a private address\)/],
        ['https://metadata.test/latest/meta-data', /169\.254\.169\.254 is a cloud metadata address/],
        ['https://metadata6.test/', /fd00:ec2::254 is a cloud metadata address/],
        // One public and one private address: the proxy could pick either, so the name is refused.
        ['https://mixed.test/hook', /mixed\.test resolves to a refused address \(10\.0\.0\.7 is a private address\)/],
        ['https://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is a cloud metadata address/],
        ['https://localhost:8443/', /loopback name/],
        ['http://internal.test/hook', /must use https/],
      ];
      for (const [url, why] of cases) {
        const outcome = await sender.deliver(job(url));
        assert.equal(outcome.kind, 'refused_target', `${url}: ${outcome.report}`);
        assert.match(outcome.report, why, url);
        const ping = await sender.sendTestEvent({ name: 'ping', targetUrl: url, secret: null, headers: null, properties: null });
        assert.equal(ping.ok, false);
        assert.match(ping.message, /Target refused/, url);
      }
      // Give tinyproxy a moment to log a connection, were there one.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(proxyConnections().length, connections, 'no connection reached the proxy');
    } finally {
      sender.close();
    }
  });
});

test('DELIVERY_PROXY_URL: http or https only, and its password masked in the start-up summary', () => {
  assert.throws(() => loadConfig({ env: { DELIVERY_PROXY_URL: 'socks5://127.0.0.1:1080' } }), /DELIVERY_PROXY_URL/);
  assert.throws(() => loadConfig({ env: { DELIVERY_PROXY_URL: 'http://proxy:3128/path' } }), /DELIVERY_PROXY_URL/);
  const config = loadConfig({ env: { DELIVERY_PROXY_URL: 'http://ops:s3cret@proxy.internal:3128' } });
  assert.equal(config.deliveryProxyUrl, 'http://ops:s3cret@proxy.internal:3128');
  assert.match(configSummary(config), /deliveryProxyUrl=http:\/\/ops:\*\*\*@proxy\.internal:3128/);
  assert.doesNotMatch(JSON.stringify(redactedConfig(config)), /s3cret/);
});
