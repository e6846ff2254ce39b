/**
 * The secret codec (src/store/secret-codec.ts): AES-256-GCM round trip, plaintext passthrough, key selection among
 * current and old keys, refusal of wrong keys and altered values with an error that names the setting (never the
 * secret), the configuration checks, and the column size the stored form needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import knexFactory from 'knex';
import { AppError } from '../../src/errors.js';
import { loadConfig, redactedConfig } from '../../src/config.js';
import { createSecretCodec, isEncryptedSecret, maxEncodedLength, secretCodecFor, type SecretCodec } from '../../src/store/secret-codec.js';
import { SECRET_COLUMN_LENGTH, secretSizeSchema } from '../../src/store/migrations/003-secret-size.js';

const KEY_A = 'a-first-key-of-at-least-32-characters!';
const KEY_B = 'another-key-that-is-32-characters-long';
const SECRET = 'the webhook secret ÆØÅ 密钥 🔑';

const form = /^enc:v1:([0-9a-f]{8}):([A-Za-z0-9+/]+={0,2})$/;

function refusal(fn: () => unknown): AppError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof AppError, `expected an AppError, got ${String(caught)}`);
  assert.equal(caught.code, 'internal');
  assert.ok(!caught.message.includes(SECRET), 'the error must not carry the secret');
  return caught;
}

/** The stored value with one byte of its base64 payload changed at `index` (of the decoded bytes). */
function flipByte(stored: string, index: number): string {
  const [, id, payload] = form.exec(stored) ?? [];
  const raw = Buffer.from(payload, 'base64');
  raw[index] ^= 0x01;
  return `enc:v1:${id}:${raw.toString('base64')}`;
}

test('with a key: encrypted form with the key id, random IV, round trip', () => {
  const codec = createSecretCodec({ key: KEY_A });
  const a = codec.encode(SECRET);
  const b = codec.encode(SECRET);
  assert.ok(a && b);
  const m = form.exec(a);
  assert.ok(m, a);
  assert.equal(m[1], codec.keyId);
  assert.notEqual(a, b, 'a fresh IV per value');
  assert.ok(!a.includes(SECRET) && !Buffer.from(m[2], 'base64').toString('utf8').includes('webhook secret'));
  assert.equal(codec.decode(a), SECRET);
  assert.equal(codec.decode(b), SECRET);
  assert.equal(isEncryptedSecret(a), true);
  assert.equal(codec.needsReencrypt(a), false);
});

test('null and empty stay as they are (no secret)', () => {
  for (const codec of [createSecretCodec({ key: KEY_A }), createSecretCodec()]) {
    assert.equal(codec.encode(null), null);
    assert.equal(codec.encode(''), '');
    assert.equal(codec.decode(null), null);
    assert.equal(codec.decode(''), '');
    assert.equal(codec.needsReencrypt(null), false);
    assert.equal(codec.needsReencrypt(''), false);
  }
});

test('round trip for any string a SOAP request can carry (property)', () => {
  const codec = createSecretCodec({ key: KEY_A });
  // XML cannot carry lone surrogates, so whole code points only.
  fc.assert(fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 400 }), (s) => {
    const stored = codec.encode(s);
    assert.ok(stored && stored.length <= maxEncodedLength(400));
    assert.equal(codec.decode(stored), s);
  }), { numRuns: 300 });
});

test('plaintext values (NetServer rows, rows from before the key) read back as themselves', () => {
  const plain = ['k', 'enc', 'enc:', 'enc:something', 'ENC:v1:00000000:AAAA', SECRET];
  for (const codec of [createSecretCodec({ key: KEY_A }), createSecretCodec(), createSecretCodec({ oldKeys: [KEY_B] })]) {
    for (const p of plain) assert.equal(codec.decode(p), p);
  }
  const keyed = createSecretCodec({ key: KEY_A });
  assert.equal(keyed.needsReencrypt('k'), true, 'plaintext is encrypted by `secrets reencrypt` once a key is set');
  assert.equal(createSecretCodec().needsReencrypt('k'), false);
});

test('no key: encode is the identity; an encrypted value is refused naming SECRET_ENCRYPTION_KEY', () => {
  const none = createSecretCodec();
  assert.equal(none.keyId, null);
  assert.equal(none.encode(SECRET), SECRET);
  const stored = createSecretCodec({ key: KEY_A }).encode(SECRET);
  const err = refusal(() => none.decode(stored));
  assert.match(err.message, /SECRET_ENCRYPTION_KEY is not set/);
  assert.equal(none.needsReencrypt(stored), true, 'reencrypt without a key writes plaintext (turning encryption off)');
  // A plaintext that looks encrypted would be unreadable later: refused at save time instead.
  assert.throws(() => none.encode('enc:v1:12345678:AAAA'), (e: unknown) => e instanceof AppError && e.code === 'invalid_argument' && e.field === 'Secret');
});

test('wrong key: refused with the key id and both settings named', () => {
  const stored = createSecretCodec({ key: KEY_A }).encode(SECRET);
  const other = createSecretCodec({ key: KEY_B });
  const err = refusal(() => other.decode(stored));
  assert.match(err.message, new RegExp(`key id ${createSecretCodec({ key: KEY_A }).keyId}`));
  assert.match(err.message, /SECRET_ENCRYPTION_KEY/);
  assert.match(err.message, /SECRET_ENCRYPTION_OLD_KEYS/);
  assert.ok(!err.message.includes(KEY_A) && !err.message.includes(KEY_B), 'no key in the message');
});

test('rotation: old keys still decrypt, encode uses the new key, needsReencrypt marks old-key values', () => {
  const before = createSecretCodec({ key: KEY_A });
  const oldValue = before.encode(SECRET);
  const rotated = createSecretCodec({ key: KEY_B, oldKeys: [KEY_A] });
  assert.notEqual(rotated.keyId, before.keyId);
  assert.equal(rotated.decode(oldValue), SECRET);
  assert.equal(rotated.needsReencrypt(oldValue), true);
  const newValue = rotated.encode(rotated.decode(oldValue));
  assert.equal(form.exec(newValue ?? '')?.[1], rotated.keyId);
  assert.equal(rotated.needsReencrypt(newValue), false);
  // After the old key is dropped, only values still under it are unreadable.
  const after = createSecretCodec({ key: KEY_B });
  assert.equal(after.decode(newValue), SECRET);
  refusal(() => after.decode(oldValue));
  // Turning encryption off: no key, the old one kept for reading.
  const off = createSecretCodec({ oldKeys: [KEY_B] });
  assert.equal(off.decode(newValue), SECRET);
  assert.equal(off.needsReencrypt(newValue), true);
  assert.equal(off.encode(SECRET), SECRET);
});

test('altered values are refused: ciphertext, tag, IV, key id, truncation, garbage', () => {
  const codec = createSecretCodec({ key: KEY_A, oldKeys: [KEY_B] });
  const stored = codec.encode(SECRET) ?? '';
  const ivByte = 0;
  const tagByte = 12;
  const bodyByte = 12 + 16 + 3;
  for (const i of [ivByte, tagByte, bodyByte]) refusal(() => codec.decode(flipByte(stored, i)));
  // The prefix is authenticated: the same payload under the other configured key's id does not open.
  const otherId = createSecretCodec({ key: KEY_B }).keyId;
  refusal(() => codec.decode(stored.replace(`:${codec.keyId}:`, `:${otherId}:`)));
  refusal(() => codec.decode(stored.slice(0, 30)));
  refusal(() => codec.decode(`enc:v1:${codec.keyId}:`));
  refusal(() => codec.decode(`enc:v1:${codec.keyId}:not base64!`));
  refusal(() => codec.decode(`enc:v2:${codec.keyId}:AAAA`));
  assert.equal(codec.decode(stored), SECRET, 'the untouched value still opens');
});

test('key id: stable per key, 8 hex digits, not a piece of the key hash', () => {
  const a1 = createSecretCodec({ key: KEY_A }).keyId;
  const a2 = createSecretCodec({ key: KEY_A, oldKeys: [KEY_B] }).keyId;
  assert.equal(a1, a2);
  assert.match(a1 ?? '', /^[0-9a-f]{8}$/);
  assert.ok(!createHash('sha256').update(KEY_A).digest('hex').includes(a1 ?? ''), 'derived separately from the key material');
  // A value written by one process opens in another configured with the same key.
  assert.equal(createSecretCodec({ key: KEY_A }).decode(createSecretCodec({ key: KEY_A }).encode(SECRET)), SECRET);
});

test('keys shorter than 32 characters are refused, by the codec and by the configuration', () => {
  assert.throws(() => createSecretCodec({ key: 'short' }), /at least 32/);
  assert.throws(() => createSecretCodec({ key: KEY_A, oldKeys: ['short'] }), /at least 32/);
  assert.throws(() => loadConfig({ env: { SECRET_ENCRYPTION_KEY: 'x'.repeat(31) } }), /secretKey \(SECRET_ENCRYPTION_KEY\): must be at least 32/);
  assert.throws(() => loadConfig({ env: { SECRET_ENCRYPTION_OLD_KEYS: `${KEY_A},short` } }), /secretOldKeys \(SECRET_ENCRYPTION_OLD_KEYS\)/);
  assert.throws(() => loadConfig({ env: { SECRET_ENCRYPTION_KEY: `${KEY_A},x` } }), /commas/);
  const config = loadConfig({ env: { SECRET_ENCRYPTION_KEY: KEY_B, SECRET_ENCRYPTION_OLD_KEYS: ` ${KEY_A} ,` } });
  assert.equal(config.secretKey, KEY_B);
  assert.deepEqual(config.secretOldKeys, [KEY_A]);
  assert.deepEqual(loadConfig({ env: {} }).secretOldKeys, []);
  const codec: SecretCodec = secretCodecFor(config);
  assert.equal(codec.decode(createSecretCodec({ key: KEY_A }).encode(SECRET)), SECRET);
  const shown = JSON.stringify(redactedConfig(config));
  assert.ok(!shown.includes(KEY_A) && !shown.includes(KEY_B), 'keys never reach the startup log');
});

test('the stored form of the longest plaintext fits the widened column; migration 003 DDL per dialect', () => {
  const codec = createSecretCodec({ key: KEY_A });
  const worst = codec.encode('密'.repeat(400)) ?? '';
  assert.equal(worst.length, maxEncodedLength(400));
  assert.ok(maxEncodedLength(400) <= SECRET_COLUMN_LENGTH, `${maxEncodedLength(400)} > ${SECRET_COLUMN_LENGTH}`);
  assert.ok((codec.encode('k'.repeat(400)) ?? '').length > 400, 'NetServer\'s String(400) would not hold it');
  const sql = (client: string) => secretSizeSchema(knexFactory({ client, useNullAsDefault: true })).map((s) => s.toString()).join(';\n');
  assert.equal(sql('mssql'), 'ALTER TABLE [webhook] ALTER COLUMN [secret] nvarchar(2000) null');
  assert.equal(sql('pg'), 'alter table webhook alter column secret type varchar(2000)');
  assert.equal(sql('better-sqlite3'), '', 'SQLite does not enforce lengths');
});
