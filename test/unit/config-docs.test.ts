import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configKeys, loadConfig, redactedConfig, redactUrl } from '../../src/config.js';

test('docs/configuration.md documents every configuration key with its environment variable', () => {
  const readme = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const missing = Object.entries(configKeys).filter(([key, [env]]) => !readme.includes(`\`${key}\``) || !readme.includes(`\`${env}\``));
  assert.deepEqual(missing.map(([k]) => k), []);
});

test('config layers: defaults < file < env < overrides, and errors name the key', async () => {
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'wa-cfg-')), 'c.json');
  writeFileSync(file, JSON.stringify({ port: 7000, logLevel: 'warn' }));
  assert.equal(loadConfig({ env: {}, file }).port, 7000);
  assert.equal(loadConfig({ env: { PORT: '7100' }, file }).port, 7100);
  assert.equal(loadConfig({ env: { PORT: '7100' }, file, overrides: { port: '7200' } }).port, 7200);
  assert.equal(loadConfig({ env: {} }).port, 8080);
  assert.throws(() => loadConfig({ env: { DELIVERY_TIMEOUT_MS: 'soon' } }), /deliveryTimeoutMs \(DELIVERY_TIMEOUT_MS\)/);
  assert.throws(() => loadConfig({ env: {}, file: (writeFileSync(file, '{"nope":1}'), file) }), /Invalid configuration/);
  assert.ok(Object.isFrozen(loadConfig({ env: {} })));
});

test('connection URLs are logged without their password, whatever the password holds', () => {
  const cases: Array<[string, string]> = [
    ['postgres://app:s3cret@db:5432/hooks', 'postgres://app:***@db:5432/hooks'],
    ['postgres://:s3cret@db/hooks', 'postgres://:***@db/hooks'],
    ['mssql://sa:Pa/ss:w0rd!@sql:1433/hooks?encrypt=true', 'mssql://sa:***@sql:1433/hooks?encrypt=true'],
    ['sqlite:./data/webhook-agent.sqlite', 'sqlite:./data/webhook-agent.sqlite'],
    ['postgres://db:5432/hooks', 'postgres://db:5432/hooks'],
  ];
  for (const [url, shown] of cases) {
    assert.equal(redactUrl(url), shown);
    assert.equal(redactedConfig(loadConfig({ env: { DATABASE_URL: url } })).databaseUrl, shown);
  }
});

test('TRUST_PROXY: addresses, CIDRs, a hop count or true (this host and the private networks); never every peer', () => {
  const tp = (v: string) => loadConfig({ env: { TRUST_PROXY: v } }).trustProxy;
  assert.equal(loadConfig({ env: {} }).trustProxy, false);
  assert.deepEqual(tp('true'), ['loopback', 'linklocal', 'uniquelocal']);
  assert.equal(tp('false'), false);
  assert.equal(tp('0'), false);
  assert.equal(tp('2'), 2);
  assert.deepEqual(tp('10.0.0.5, 192.168.0.0/16,::1,Loopback'), ['10.0.0.5', '192.168.0.0/16', '::1', 'loopback']);
  assert.throws(() => tp('10.0.0.0/33'), /trustProxy \(TRUST_PROXY\): not an address, CIDR/);
  assert.throws(() => tp('proxy.example'), /not an address, CIDR/);
});
