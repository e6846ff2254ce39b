/**
 * Webhook secrets at rest. With a key configured (SECRET_ENCRYPTION_KEY) a secret is stored as
 *   enc:v1:<keyId>:<base64(iv | tag | ciphertext)>
 * AES-256-GCM, a random 12-byte IV per value, the `enc:v1:<keyId>:` prefix as additional authenticated data (so
 * neither the version nor the key id can be swapped). Key material and key id are both derived from the configured
 * string with HKDF-SHA256 under different labels: the key id names the key without revealing any bit of it. The key
 * id lets decode pick the right key among the current one and SECRET_ENCRYPTION_OLD_KEYS, which is what makes
 * rotation possible without a flag day.
 *
 * Anything not starting with `enc:v<n>:` is a plaintext secret (rows written by NetServer, or before a key was
 * configured) and reads back as itself. An encrypted value the configured keys cannot open is an error, never a
 * silently wrong or missing secret: signing with the wrong secret would look like the receiver's fault.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { AppError, invalidArgument } from '../errors.js';

export interface SecretCodec {
  /** The value to store: encrypted with the current key, or the plaintext itself when no key is configured. */
  encode(plain: string | null): string | null;
  /** The plaintext of a stored value. Throws AppError 'internal' for an encrypted value no configured key opens. */
  decode(stored: string | null): string | null;
  /** The stored value is not in the form encode would write now (plaintext with a key, an old key, or no key). */
  needsReencrypt(stored: string | null): boolean;
  /** Key id of the current key; null when secrets are stored as plaintext. */
  readonly keyId: string | null;
}

export const MIN_KEY_LENGTH = 32;

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const encryptedForm = /^enc:v(\d+):/;
const v1Form = /^enc:v1:([0-9a-f]{8}):([A-Za-z0-9+/]*={0,2})$/;

interface DerivedKey {
  id: string;
  key: Buffer;
}

function derive(secretKey: string): DerivedKey {
  if (secretKey.length < MIN_KEY_LENGTH) {
    throw new Error(`SECRET_ENCRYPTION_KEY / SECRET_ENCRYPTION_OLD_KEYS: every key must be at least ${MIN_KEY_LENGTH} characters`);
  }
  const material = Buffer.from(secretKey, 'utf8');
  const salt = Buffer.from('webhook-agent secrets', 'utf8');
  const key = Buffer.from(hkdfSync('sha256', material, salt, 'aes-256-gcm key v1', 32));
  const id = Buffer.from(hkdfSync('sha256', material, salt, 'key id v1', 4)).toString('hex');
  return { id, key };
}

function unreadable(reason: string): AppError {
  return new AppError('internal', `A stored webhook secret cannot be decrypted: ${reason}`, {
    friendlyText: 'A stored webhook secret cannot be decrypted with the configured keys',
  });
}

/** True when the stored value is in the encrypted form (of any version). */
export function isEncryptedSecret(stored: string | null): boolean {
  return stored !== null && encryptedForm.test(stored);
}

export function createSecretCodec(opts: { key?: string | null; oldKeys?: readonly string[] } = {}): SecretCodec {
  const current = opts.key ? derive(opts.key) : null;
  const byId = new Map<string, Buffer>();
  if (current) byId.set(current.id, current.key);
  for (const old of opts.oldKeys ?? []) {
    const d = derive(old);
    if (!byId.has(d.id)) byId.set(d.id, d.key);
  }
  const currentPrefix = current ? `enc:${VERSION}:${current.id}:` : null;

  function encode(plain: string | null): string | null {
    if (plain === null || plain === '') return plain;
    if (!current || !currentPrefix) {
      // Stored as is, it would later be taken for ciphertext and refused.
      if (isEncryptedSecret(plain)) throw invalidArgument('Secret', "must not start with 'enc:v<number>:' (reserved for encrypted secrets)");
      return plain;
    }
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current.key, iv);
    cipher.setAAD(Buffer.from(currentPrefix, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return currentPrefix + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  function decode(stored: string | null): string | null {
    if (stored === null || !isEncryptedSecret(stored)) return stored;
    const m = v1Form.exec(stored);
    if (!m) throw unreadable(`unknown or malformed encrypted form (written by a newer version, or altered)`);
    const [, id, payload] = m;
    const key = byId.get(id);
    if (!key) {
      throw unreadable(byId.size === 0
        ? `it is encrypted (key id ${id}) but SECRET_ENCRYPTION_KEY is not set`
        : `it is encrypted with key id ${id}, which is neither SECRET_ENCRYPTION_KEY nor one of SECRET_ENCRYPTION_OLD_KEYS`);
    }
    const raw = Buffer.from(payload, 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw unreadable('the encrypted value is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(`enc:${VERSION}:${id}:`, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw unreadable(`authentication failed for key id ${id} (the stored value was altered, or a different key has that id)`);
    }
  }

  function needsReencrypt(stored: string | null): boolean {
    if (stored === null || stored === '') return false;
    return currentPrefix ? !stored.startsWith(currentPrefix) : isEncryptedSecret(stored);
  }

  return { encode, decode, needsReencrypt, keyId: current?.id ?? null };
}

/** The codec a process uses, from its configuration. */
export function secretCodecFor(config: Pick<Config, 'secretKey' | 'secretOldKeys'>): SecretCodec {
  return createSecretCodec({ key: config.secretKey, oldKeys: config.secretOldKeys });
}

/**
 * Longest stored form of a secret of `maxChars` UTF-16 code units: at most 3 UTF-8 bytes per unit (a surrogate
 * pair is 4 bytes for 2 units), plus IV and tag, in base64, plus the prefix.
 */
export function maxEncodedLength(maxChars: number): number {
  const bytes = maxChars * 3 + IV_BYTES + TAG_BYTES;
  return `enc:${VERSION}:00000000:`.length + 4 * Math.ceil(bytes / 3);
}
