import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostsFirstResolve } from '../../src/agent/delivery-runtime.js';
import { addressRefusal, checkTargetUrl, createGuardedLookup, type Resolve, type TargetPolicy } from '../../src/outbox/send/target-guard.js';

const strict: TargetPolicy = { allowInsecureTargets: false, targetAllowlist: [] };

describe('addressRefusal', () => {
  const refused = [
    '127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '169.254.1.1',
    '100.64.0.1', '100.127.255.254', '0.0.0.0', '0.1.2.3', '224.0.0.1', '239.255.255.250', '255.255.255.255', '192.0.2.1',
    '198.18.0.1', '240.0.0.1',
    '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'fd00:ec2::254', 'ff02::1', '::ffff:127.0.0.1', '::ffff:8.8.8.8',
    '64:ff9b::7f00:1', '2002:7f00:1::1', '2001:db8::1', '2001::1', '::127.0.0.1',
  ];
  for (const a of refused) {
    test(`refuses ${a}`, () => assert.notEqual(addressRefusal(a, strict), null));
  }
  for (const a of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '100.63.255.255', '100.128.0.1', '172.32.0.1', '2606:4700::6810:85e5', '2a00:1450:4001::200e']) {
    test(`allows ${a}`, () => assert.equal(addressRefusal(a, strict), null));
  }
  test('names the metadata service', () => {
    assert.match(addressRefusal('169.254.169.254', strict) ?? '', /metadata/);
    assert.match(addressRefusal('fd00:ec2::254', strict) ?? '', /metadata/);
  });
  test('allowlist by CIDR, by single address, by host name (exact and *.suffix); mapped IPv6 matches an IPv4 CIDR', () => {
    const policy: TargetPolicy = { allowInsecureTargets: false, targetAllowlist: ['10.0.0.0/8', '192.168.5.5', 'hooks.internal', '*.corp.example'] };
    assert.equal(addressRefusal('10.9.8.7', policy), null);
    assert.equal(addressRefusal('::ffff:10.9.8.7', policy), null);
    assert.equal(addressRefusal('192.168.5.5', policy), null);
    assert.notEqual(addressRefusal('192.168.5.6', policy), null);
    assert.equal(addressRefusal('127.0.0.1', policy, 'hooks.internal'), null);
    assert.equal(addressRefusal('127.0.0.1', policy, 'a.b.corp.example'), null);
    assert.notEqual(addressRefusal('127.0.0.1', policy, 'corp.example.evil'), null);
  });
  test('allowInsecureTargets lifts the address check', () => {
    assert.equal(addressRefusal('127.0.0.1', { allowInsecureTargets: true, targetAllowlist: [] }), null);
  });
});

describe('checkTargetUrl', () => {
  test('https with a public name or address is fine', () => {
    assert.equal(checkTargetUrl('https://hooks.example.com/path?q=1', strict), null);
    assert.equal(checkTargetUrl('https://93.184.216.34:8443/x', strict), null);
  });
  test('scheme', () => {
    assert.match(checkTargetUrl('http://hooks.example.com/', strict) ?? '', /https/);
    assert.match(checkTargetUrl('ftp://hooks.example.com/', strict) ?? '', /https/);
    assert.equal(checkTargetUrl('http://127.0.0.1:8080/', { allowInsecureTargets: true, targetAllowlist: [] }), null);
    assert.notEqual(checkTargetUrl('file:///etc/passwd', { allowInsecureTargets: true, targetAllowlist: [] }), null);
    assert.notEqual(checkTargetUrl('not a url', strict), null);
  });
  test('credentials in the URL', () => {
    assert.match(checkTargetUrl('https://user:pw@hooks.example.com/', strict) ?? '', /credentials/);
  });
  test('literal addresses in any spelling the URL parser accepts', () => {
    for (const url of ['https://127.0.0.1/', 'https://2130706433/', 'https://0x7f.1/', 'https://[::1]/', 'https://[::ffff:7f00:1]/',
      'https://169.254.169.254/latest/meta-data/', 'https://[fd00:ec2::254]/', 'https://10.0.0.1/', 'https://0.0.0.0/', 'https://localhost/',
      'https://api.localhost/']) {
      assert.notEqual(checkTargetUrl(url, strict), null, url);
    }
  });
  test('an allowlisted private address or host passes (scheme still checked)', () => {
    const policy: TargetPolicy = { allowInsecureTargets: false, targetAllowlist: ['10.0.0.0/8', 'localhost'] };
    assert.equal(checkTargetUrl('https://10.1.1.1/', policy), null);
    assert.equal(checkTargetUrl('https://localhost/', policy), null);
    assert.notEqual(checkTargetUrl('http://10.1.1.1/', policy), null);
  });
});

/** Calls the guarded lookup the way net.connect does and returns what it calls back with. */
function lookupVia(resolve: Resolve, policy: TargetPolicy, host: string, options: { all?: boolean; family?: number } = {}) {
  const lookup = createGuardedLookup(policy, resolve);
  return new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((done) => {
    lookup(host, options, (err, address, family) => done({ err, address, family }));
  });
}

describe('guarded lookup (checks the resolved address, before any socket exists)', () => {
  const map: Record<string, Array<{ address: string; family: number }>> = {
    'rebind.example': [{ address: '169.254.169.254', family: 4 }],
    'private.example': [{ address: '10.0.0.5', family: 4 }, { address: 'fd00::5', family: 6 }],
    'mixed.example': [{ address: '192.168.0.1', family: 4 }, { address: '93.184.216.34', family: 4 }],
    'public.example': [{ address: '93.184.216.34', family: 4 }, { address: '2606:4700::1', family: 6 }],
  };
  const resolve: Resolve = async (h) => {
    const r = map[h];
    if (!r) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${h}`), { code: 'ENOTFOUND' });
    return r;
  };

  test('a name resolving only to refused addresses fails with ERR_TARGET_REFUSED', async () => {
    for (const host of ['rebind.example', 'private.example']) {
      const r = await lookupVia(resolve, strict, host);
      assert.equal(r.err?.code, 'ERR_TARGET_REFUSED', host);
    }
  });
  test('refused addresses are dropped from a mixed answer', async () => {
    const r = await lookupVia(resolve, strict, 'mixed.example', { all: true });
    assert.equal(r.err, null);
    assert.deepEqual(r.address, [{ address: '93.184.216.34', family: 4 }]);
  });
  test('single-address form and family filter', async () => {
    const r = await lookupVia(resolve, strict, 'public.example', { family: 6 });
    assert.equal(r.err, null);
    assert.equal(r.address, '2606:4700::1');
    assert.equal(r.family, 6);
  });
  test('resolver errors pass through (classified as dns by the sender)', async () => {
    const r = await lookupVia(resolve, strict, 'missing.example');
    assert.equal(r.err?.code, 'ENOTFOUND');
  });
  test('allowlisted host name may resolve to a private address', async () => {
    const r = await lookupVia(resolve, { allowInsecureTargets: false, targetAllowlist: ['private.example'] }, 'private.example', { all: true });
    assert.equal(r.err, null);
    assert.equal((r.address as LookupAddress[]).length, 2);
  });
});

describe('TARGET_HOSTS_FILE (hostsFirstResolve)', () => {
  test('a fully qualified name with the trailing dot is looked up in the file too (issue 18: it went to DNS)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-hosts-'));
    const file = join(dir, 'hosts');
    writeFileSync(file, '169.254.169.254\tmetadata.test\n10.1.2.3\tPrivate.Test.\n');
    try {
      const resolve = hostsFirstResolve(file);
      for (const name of ['metadata.test', 'metadata.test.', 'METADATA.TEST.']) {
        assert.deepEqual(await resolve(name), [{ address: '169.254.169.254', family: 4 }], name);
      }
      assert.deepEqual(await resolve('private.test'), [{ address: '10.1.2.3', family: 4 }]);
      const r = await lookupVia(resolve, strict, 'metadata.test.');
      assert.equal(r.err?.code, 'ERR_TARGET_REFUSED', 'the trailing-dot name is refused by the address the file maps it to');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
