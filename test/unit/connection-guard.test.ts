import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey } from '../../src/connection-guard.js';

test('connection limits count IPv4 (also IPv4-mapped) by address and IPv6 by /64', () => {
  assert.equal(addressKey('127.0.0.2'), '127.0.0.2');
  assert.equal(addressKey('::ffff:127.0.0.2'), '127.0.0.2');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:db8:1:2:bbbb::9'));
  assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey(undefined), '?');
});
