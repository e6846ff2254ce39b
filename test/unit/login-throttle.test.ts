import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientKey, createLoginThrottle } from '../../src/auth/login-throttle.js';

function setup(maxEntries: number) {
  let clock = 1_000_000;
  const waits: number[] = [];
  const throttle = createLoginThrottle({
    failuresBeforeDelay: 5, windowMs: 900_000, maxDelayMs: 30_000, maxEntries, now: () => clock,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
  });
  return { throttle, waits, advance: (ms: number) => (clock += ms) };
}

test('a flood of failed logins on distinct names does not free a throttled key (memory stays bounded)', async () => {
  const { throttle, waits } = setup(10_000);
  const fail = async () => false;
  for (let i = 0; i < 6; i++) await throttle.attempt('admin', '198.51.100.1', fail);
  for (let i = 0; i < 10_050; i++) await throttle.attempt(`user-${i}`, '198.51.100.1', fail);
  assert.ok(throttle.size() <= 10_000, `remembered ${throttle.size()} keys`);
  waits.length = 0;
  await throttle.attempt('admin', '198.51.100.1', fail);
  assert.equal(waits.length, 1, 'admin from the attacker\'s address is still slowed after the flood');
  assert.ok(waits[0] >= 2000);
});

test('when every remembered key is being slowed, a new key is slowed too rather than any being forgotten', async () => {
  const { throttle, waits } = setup(3);
  const fail = async () => false;
  for (const n of ['a', 'b', 'c']) for (let i = 0; i < 5; i++) await throttle.attempt(n, '10.0.0.1', fail);
  waits.length = 0;
  const v = await throttle.attempt('d', '10.0.0.1', async () => true);
  assert.deepEqual(v, { kind: 'checked', ok: true, delayedMs: 30_000 });
  assert.equal(throttle.size(), 3);
  await throttle.attempt('a', '10.0.0.1', fail); // its delay passed while d waited: a sixth failure
  waits.length = 0;
  await throttle.attempt('a', '10.0.0.1', fail);
  assert.deepEqual(waits, [2000], 'a is still remembered with its six failures');
});

test('failures are forgotten a window after the last one', async () => {
  const { throttle, waits, advance } = setup(100);
  const fail = async () => false;
  for (let i = 0; i < 5; i++) await throttle.attempt('x', '10.0.0.2', fail);
  advance(900_000);
  waits.length = 0;
  await throttle.attempt('x', '10.0.0.2', fail);
  assert.deepEqual(waits, []);
});

test('client keys: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 per /64', () => {
  assert.equal(clientKey('192.0.2.1'), '192.0.2.1');
  assert.equal(clientKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(clientKey('2001:db8:a:b:1:2:3:4'), clientKey('2001:db8:a:b::9'));
  assert.notEqual(clientKey('2001:db8:a:b::1'), clientKey('2001:db8:a:c::1'));
  assert.equal(clientKey(undefined), '');
});
