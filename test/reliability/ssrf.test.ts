/**
 * SSRF through SaveWebhook and TestWebhook (issue 4, part 3), with ALLOW_INSECURE_TARGETS=false.
 *
 * Every target below must be refused with a clear message naming TargetUrl: an ExceptionInfo (Succeeded=false),
 * or for TestWebhook a WebhookResult with Success=false. Nothing may connect: the loopback-only safety net in the
 * service process (fixtures/loopback-only.js) records any attempt to reach a non-loopback address, and a TCP
 * listener on the loopback port the URLs name counts connections (names such as `vm` resolve to 127.0.0.1 through
 * /etc/hosts, so only the listener would see those).
 *
 * Names that resolve to private (non-loopback) addresses come from a hosts file the service reads before DNS
 * (TARGET_HOSTS_FILE); without that key the last suite is skipped and literal addresses cover the ranges.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configKeys } from '../../src/config.js';
import { buildRequest, type WebhookFields } from './support/envelopes.js';
import { openSession, recordMetric, type Session } from './support/harness.js';
import type { HttpResult } from './support/http-client.js';
import { waitFor } from './support/receiver.js';
import { assertNoLeak, assertSucceeded, readAnswer } from './support/wire.js';
import { findFirst, getText, parseXml } from './support/xml-tree.js';
import { requires } from '../helpers/requires.js';

const relReqs = await requires('xmllint');

interface Listener { port: number; connections: number; close(): Promise<void> }

async function countingListener(): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const l: Listener = { port: 0, connections: 0, close: async () => {} };
  const server = net.createServer((sock) => {
    l.connections += 1;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  l.port = (server.address() as net.AddressInfo).port;
  l.close = () => new Promise<void>((r) => {
    for (const so of sockets) so.destroy();
    server.close(() => r());
  });
  return l;
}

let tried = 0;
let passed = 0;
after(() => recordMetric({ suite: 'ssrf', cases: tried, passed }));

/** The refusal rule for a target: a clear message naming TargetUrl, nothing saved or sent. */
function assertTargetRefused(r: HttpResult, what: string): string {
  assertNoLeak(r, what);
  assert.equal(r.status, 200, `${what}: HTTP ${r.status} ${r.text.slice(0, 400)}`);
  const a = readAnswer(r.text);
  if (a.succeeded === false) {
    assert.ok(a.exceptionMessage, `${what}: Succeeded=false without an ExceptionInfo message`);
    assert.match(a.exceptionMessage!, /TargetUrl/, `${what}: the ExceptionInfo does not name TargetUrl: ${a.exceptionMessage}`);
    return a.exceptionMessage!;
  }
  // TestWebhook may answer with a WebhookResult instead.
  const resp = findFirst(parseXml(r.text), 'Response');
  const success = resp ? findFirst(resp, 'Success') : null;
  const message = resp ? findFirst(resp, 'Message') : null;
  assert.ok(success && getText(success) === 'false', `${what}: not refused: ${r.text.slice(0, 600)}`);
  assert.match(message ? getText(message) : '', /TargetUrl/, `${what}: WebhookResult.Message does not name TargetUrl`);
  return getText(message!);
}

describe('SSRF through SaveWebhook and TestWebhook', { ...relReqs, timeout: 180_000 }, () => {
  let s: Session;
  let listener: Listener;

  before(async () => {
    listener = await countingListener();
    s = await openSession({ ALLOW_INSECURE_TARGETS: 'false', DELIVERY_TIMEOUT_MS: '2000' });
  });

  after(async () => {
    await s?.close();
    await listener?.close();
  });

  const p = () => listener.port;
  const targets: Array<[string, () => string]> = [
    // loopback, in every spelling the URL parser accepts
    ['loopback 127.0.0.1', () => `https://127.0.0.1:${p()}/hook`],
    ['loopback 127.1.2.3', () => `https://127.1.2.3:${p()}/hook`],
    ['loopback decimal 2130706433', () => `https://2130706433:${p()}/hook`],
    ['loopback hex 0x7f000001', () => `https://0x7f000001:${p()}/hook`],
    ['loopback octal 0177.0.0.1', () => `https://0177.0.0.1:${p()}/hook`],
    ['loopback short 127.1', () => `https://127.1:${p()}/hook`],
    ['loopback IPv6 [::1]', () => `https://[::1]:${p()}/hook`],
    ['unspecified 0.0.0.0', () => `https://0.0.0.0:${p()}/hook`],
    ['unspecified [::]', () => `https://[::]:${p()}/hook`],
    ['localhost', () => `https://localhost:${p()}/hook`],
    ['LOCALHOST. (trailing dot)', () => `https://LOCALHOST.:${p()}/hook`],
    ['sub.localhost', () => `https://api.localhost:${p()}/hook`],
    ['name resolving to loopback via /etc/hosts (vm)', () => `https://vm:${p()}/hook`],
    ['name resolving to loopback via /etc/hosts (runsc)', () => `https://runsc:${p()}/hook`],
    // private
    ['private 10.0.0.1', () => 'https://10.0.0.1/hook'],
    ['private 172.16.5.4', () => 'https://172.16.5.4/hook'],
    ['private 192.168.1.1', () => 'https://192.168.1.1/hook'],
    // link-local and metadata
    ['link-local 169.254.1.1', () => 'https://169.254.1.1/hook'],
    ['metadata 169.254.169.254', () => 'https://169.254.169.254/latest/meta-data/'],
    ['metadata 169.254.169.254 in decimal', () => 'https://2852039166/latest/meta-data/'],
    ['metadata IPv6 [fd00:ec2::254]', () => 'https://[fd00:ec2::254]/latest/meta-data/'],
    ['link-local IPv6 [fe80::1]', () => 'https://[fe80::1]/hook'],
    // CGNAT
    ['CGNAT 100.64.0.1', () => 'https://100.64.0.1/hook'],
    ['CGNAT 100.127.255.254', () => 'https://100.127.255.254/hook'],
    // unique local
    ['ULA [fc00::1]', () => 'https://[fc00::1]/hook'],
    ['ULA [fd12:3456:789a::1]', () => 'https://[fd12:3456:789a::1]/hook'],
    // IPv4 inside IPv6
    ['IPv4-mapped [::ffff:127.0.0.1]', () => `https://[::ffff:127.0.0.1]:${p()}/hook`],
    ['IPv4-mapped [::ffff:7f00:1]', () => `https://[::ffff:7f00:1]:${p()}/hook`],
    ['IPv4-mapped [::ffff:10.0.0.1]', () => 'https://[::ffff:10.0.0.1]/hook'],
    ['IPv4-mapped [::ffff:169.254.169.254]', () => 'https://[::ffff:169.254.169.254]/'],
    ['IPv4-compatible [::127.0.0.1]', () => `https://[::127.0.0.1]:${p()}/hook`],
    ['NAT64 [64:ff9b::a00:1]', () => 'https://[64:ff9b::a00:1]/hook'],
    ['6to4 [2002:a00:1::1]', () => 'https://[2002:a00:1::1]/hook'],
    ['Teredo [2001:0::1]', () => 'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook'],
    // other special ranges
    ['multicast 224.0.0.1', () => 'https://224.0.0.1/hook'],
    ['broadcast 255.255.255.255', () => 'https://255.255.255.255/hook'],
    ['documentation 192.0.2.10', () => 'https://192.0.2.10/hook'],
    ['multicast IPv6 [ff02::1]', () => 'https://[ff02::1]/hook'],
    // schemes
    ['plain http', () => 'http://example.com/hook'],
    ['plain http to loopback', () => `http://127.0.0.1:${p()}/hook`],
    ['file:', () => 'file:///etc/passwd'],
    ['ftp:', () => 'ftp://example.com/x'],
    ['gopher:', () => `gopher://127.0.0.1:${p()}/_x`],
    ['dict:', () => `dict://127.0.0.1:${p()}/x`],
    ['ldap:', () => 'ldap://127.0.0.1/x'],
    ['data:', () => 'data:text/plain,hello'],
    ['javascript:', () => 'javascript:alert(1)'],
    ['ws:', () => `ws://127.0.0.1:${p()}/x`],
    ['credentials in the URL', () => `https://user:pass@127.0.0.1:${p()}/hook`],
    ['credentials in the URL to a public name', () => 'https://user:pass@example.com/hook'],
    ['relative URL', () => '/hook'],
    ['scheme-relative URL', () => `//127.0.0.1:${p()}/hook`],
  ];

  for (const op of ['SaveWebhook', 'TestWebhook'] as const) {
    describe(op, () => {
      for (const [name, url] of targets) {
        test(name, async () => {
          tried += 1;
          const w: WebhookFields = { name: `ssrf ${name}`, events: ['contact.created'], targetUrl: url() };
          const r = await s.client.soap(buildRequest({ op, webhook: w }, s.ticket), { timeoutMs: 20_000 });
          assertTargetRefused(r, `${op} ${url()}`);
          passed += 1;
        });
      }
    });
  }

  test('nothing was saved and nothing was contacted', async () => {
    tried += 1;
    const all = await s.client.soap(buildRequest({ op: 'GetAllWebhooks' }, s.ticket));
    assertSucceeded(all, 'GetAllWebhooks');
    assert.doesNotMatch(all.text, /ssrf /, 'a refused webhook was saved');
    assert.deepEqual(s.service.blockedConnections(), [], 'the service tried to connect to non-loopback addresses');
    assert.equal(listener.connections, 0, 'the service connected to the loopback listener');
    passed += 1;
  });
});

describe('SSRF at delivery time (a name saved without a ping, resolving to loopback when sent)', { ...relReqs, timeout: 120_000 }, () => {
  test('the delivery is refused before connecting and recorded', async () => {
    tried += 1;
    const listener = await countingListener();
    const s = await openSession({ ALLOW_INSECURE_TARGETS: 'false', PING_ON_SAVE: 'false', DELIVERY_TIMEOUT_MS: '2000' });
    try {
      const saved = await s.client.soap(buildRequest({ op: 'SaveWebhook', webhook: { name: 'rebind', events: ['contact.created'], targetUrl: `https://vm:${listener.port}/hook` } }, s.ticket));
      assertNoLeak(saved);
      const a = readAnswer(saved.text);
      if (a.succeeded === false) {
        // Refusing the name at save time (by resolving it) is fine too.
        assert.match(a.exceptionMessage ?? '', /TargetUrl/);
      } else {
        const id = Number(/<(?:\w+:)?WebhookId>(\d+)</.exec(saved.text)?.[1]);
        assertSucceeded(await s.client.soap(buildRequest({ op: 'SignalEvent', eventName: 'contact.created', primaryKey: 1 }, s.ticket)), 'SignalEvent');
        let lastError = '';
        await waitFor(async () => {
          const r = await s.client.soap(buildRequest({ op: 'GetLastError', webhookId: id }, s.ticket));
          lastError = /<(?:\w+:)?Response>([^<]*)</.exec(r.text)?.[1] ?? '';
          return lastError !== '';
        }, 30_000, 'the refused delivery to be recorded as the last error');
        assert.match(lastError, /refus|loopback|TargetUrl/i, `last error: ${lastError}`);
      }
      assert.equal(listener.connections, 0, 'the worker connected to a name that resolves to loopback');
      assert.deepEqual(s.service.blockedConnections(), [], "the worker tried non-loopback addresses");
      passed += 1;
    } finally {
      await s.close();
      await listener.close();
    }
  });
});

describe('names resolving to private addresses (TARGET_HOSTS_FILE)', { ...relReqs, timeout: 120_000 }, () => {
  const hostsKey = Object.values(configKeys).find(([env]) => (env as string) === 'TARGET_HOSTS_FILE');
  const skip = hostsKey ? false : 'the service has no hosts override: needs TARGET_HOSTS_FILE (a hosts(5) file the target guard\'s resolver reads before DNS)';
  const names: Array<[string, string]> = [
    ['private.test', '10.1.2.3'], ['rfc1918-b.test', '172.20.0.1'], ['rfc1918-c.test', '192.168.0.10'],
    ['linklocal.test', '169.254.7.7'], ['metadata.test', '169.254.169.254'], ['cgnat.test', '100.64.1.1'],
    ['ula.test', 'fd00::5'], ['linklocal6.test', 'fe80::1'], ['mapped.test', '::ffff:10.0.0.1'], ['loopback.test', '127.0.0.2'],
    ['unspecified.test', '0.0.0.0'], ['metadata6.test', 'fd00:ec2::254'],
  ];
  let s: Session | undefined;

  before(async () => {
    if (skip) return;
    const dir = mkdtempSync(path.join(tmpdir(), 'wa-hosts-'));
    const hostsFile = path.join(dir, 'hosts');
    writeFileSync(hostsFile, `# reliability test\n${names.map(([n, a]) => `${a}\t${n}`).join('\n')}\n`);
    s = await openSession({ ALLOW_INSECURE_TARGETS: 'false', TARGET_HOSTS_FILE: hostsFile, DELIVERY_TIMEOUT_MS: '2000' });
  });

  after(async () => {
    await s?.close();
  });

  for (const [name, address] of names) {
    for (const op of ['SaveWebhook', 'TestWebhook'] as const) {
      test(`${op} https://${name}/ (${address})`, { skip }, async () => {
        tried += 1;
        const r = await s!.client.soap(buildRequest({ op, webhook: { name: `ssrf ${name}`, events: ['contact.created'], targetUrl: `https://${name}/hook` } }, s!.ticket));
        assertTargetRefused(r, `${op} https://${name}/`);
        passed += 1;
      });
    }
  }

  test('nothing was contacted', { skip }, () => {
    tried += 1;
    assert.deepEqual(s!.service.blockedConnections(), [], 'the service tried to connect to non-loopback addresses');
    passed += 1;
  });
});
