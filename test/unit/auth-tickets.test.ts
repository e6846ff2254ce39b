import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashTicket, isWellFormedTicket, issueTicket } from '../../src/auth/tickets.js';

test('tickets are 7T: plus base64 of 32 random bytes, all different', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const t = issueTicket();
    assert.match(t, /^7T:[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(t.slice(3), 'base64').length, 32);
    assert.ok(isWellFormedTicket(t));
    seen.add(t);
  }
  assert.equal(seen.size, 200);
});

test('hashTicket is sha-256 hex of the whole ticket', () => {
  // sha256("abc"), FIPS 180-2 test vector.
  assert.equal(hashTicket('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const t = issueTicket();
  assert.match(hashTicket(t), /^[0-9a-f]{64}$/);
  assert.notEqual(hashTicket(t), hashTicket(issueTicket()));
});

test('well-formedness: prefix and base64 only, bounded length', () => {
  // NetServer's own tickets (other lengths) are well-formed, just unknown here.
  assert.ok(isWellFormedTicket('7T:ZGVtbzt0aWNrZXQ7MTIz'));
  for (const bad of ['', '7T:', 'abc', '7t:AAAA', '7T:AA AA', '7T:AAAA===', "7T:AA'--", `7T:${'A'.repeat(600)}`, ' 7T:AAAA']) {
    assert.equal(isWellFormedTicket(bad), false, bad);
  }
});
