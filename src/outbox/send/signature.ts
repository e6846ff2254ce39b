/**
 * The signatures a delivery carries.
 *
 * NetServer's X-SuperOffice-Signature: base64(HMAC-SHA256(key = UTF-8 bytes of the secret, message = the exact body
 * bytes)), standard base64 with padding, no prefix, no timestamp (notes/netserver-contract.md 3.3).
 *
 * Standard Webhooks (https://www.standardwebhooks.com, the scheme of the `standardwebhooks` libraries):
 *   webhook-id         the delivery's EventId
 *   webhook-timestamp  Unix seconds of this attempt
 *   webhook-signature  `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)), several separated by spaces
 * The key of a `whsec_<base64>` secret is its decoded bytes, as the spec defines; any other secret is used as its
 * UTF-8 bytes, the key X-SuperOffice-Signature uses (receivers then pass it to the libraries as raw bytes).
 */
import { createHmac } from 'node:crypto';

export function signBody(secret: string, body: Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('base64');
}

const whsec = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/** The HMAC key of a secret under Standard Webhooks. */
export function standardKey(secret: string): Buffer {
  const m = whsec.exec(secret);
  return m ? Buffer.from(m[1], 'base64') : Buffer.from(secret, 'utf8');
}

/** One `v1,<base64>` signature of the body under a secret. */
export function standardSignature(secret: string, id: string, timestampSeconds: number, body: Buffer): string {
  const mac = createHmac('sha256', standardKey(secret)).update(`${id}.${timestampSeconds}.`, 'utf8').update(body).digest('base64');
  return `v1,${mac}`;
}
