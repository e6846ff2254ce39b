/**
 * X-SuperOffice-Signature: base64(HMAC-SHA256(key = UTF-8 bytes of the secret, message = the exact body bytes)),
 * standard base64 with padding, no prefix, no timestamp (notes/netserver-contract.md 3.3).
 */
import { createHmac } from 'node:crypto';

export function signBody(secret: string, body: Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('base64');
}
