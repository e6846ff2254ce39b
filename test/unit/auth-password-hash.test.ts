import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultScryptParams, hashPassword, needsRehash, verifyPassword } from '../../src/auth/password-hash.js';

test('hash is a self-describing scrypt string with a random salt', async () => {
  const a = await hashPassword('correct horse');
  const b = await hashPassword('correct horse');
  assert.match(a, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/);
  assert.notEqual(a, b, 'salted');
  const [, , , , salt, key] = a.split('$');
  assert.equal(Buffer.from(salt, 'base64').length, 16);
  assert.equal(Buffer.from(key, 'base64').length, 32);
  assert.ok(!a.includes('correct horse'));
});

test('verify accepts the password and refuses others', async () => {
  const h = await hashPassword('pässword');
  assert.equal(await verifyPassword('pässword', h), true);
  assert.equal(await verifyPassword('pässword ', h), false);
  assert.equal(await verifyPassword('Pässword', h), false);
  assert.equal(await verifyPassword('', h), false);
  // NFC and NFD spellings of the same text are the same password.
  assert.equal(await verifyPassword('pa\u0308ssword', h), true);
});

test('verify reads the parameters from the string (weaker or stronger hashes keep working)', async () => {
  const weak = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
  assert.match(weak, /^scrypt\$1024\$8\$1\$/);
  assert.equal(await verifyPassword('pw', weak), true);
  assert.equal(needsRehash(weak), true);
  const strong = await hashPassword('pw', { N: 32768, r: 8, p: 1 });
  assert.equal(await verifyPassword('pw', strong), true);
  assert.equal(needsRehash(strong), false);
  assert.equal(needsRehash(await hashPassword('pw', defaultScryptParams)), false);
});

test('malformed or hostile hash strings verify as false instead of throwing', async () => {
  const good = await hashPassword('pw');
  const [, , , , salt, key] = good.split('$');
  for (const bad of [
    '',
    'plain',
    'bcrypt$2b$10$abc',
    `scrypt$16384$8$1$${salt}`,
    `scrypt$16383$8$1$${salt}$${key}`, // N not a power of two
    `scrypt$${2 ** 24}$8$1$${salt}$${key}`, // would allocate gigabytes
    `scrypt$16384$0$1$${salt}$${key}`,
    `scrypt$16384$8$99$${salt}$${key}`,
    `scrypt$16384$8$1$$${key}`,
    `scrypt$16384$8$1$${salt}$`,
    `scrypt$-2$8$1$${salt}$${key}`,
  ]) {
    assert.equal(await verifyPassword('pw', bad), false, bad);
    assert.equal(needsRehash(bad), true, bad);
  }
});
