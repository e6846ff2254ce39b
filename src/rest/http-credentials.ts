/**
 * NetServer WebApi's ways of authenticating a request, read into the operations' Credentials:
 *   Authorization: Basic base64(user:password)    a user name and password (through the login throttle)
 *   Authorization: SOTicket 7T:...                a ticket
 *   Authorization: 7T:...  or  Basic 7T:...       the unencoded ticket the Swagger describes
 * A ticket base64-encoded as the Basic user name with an empty password also works (NetServer accepts a ticket
 * wherever a user name is). SO-AppToken, which identifies the calling app in SuperOffice Online, is accepted and
 * not needed here. Anything else (no header, Bearer, a scheme we do not know) is null: the caller gets a 401.
 */
import type { Credentials } from '../agent/webhook-operations.js';

export const AUTH_CHALLENGES = ['Basic realm="SuperOffice", charset="UTF-8"', 'SOTicket realm="SuperOffice"'];

const TICKET = /^7T:\S+$/;

export function credentialsFrom(authorization: string | undefined, client?: string): Credentials | null {
  const h = (authorization ?? '').trim();
  if (h === '') return null;
  if (TICKET.test(h)) return { ticket: h };
  const sp = h.indexOf(' ');
  if (sp < 0) return null;
  const scheme = h.slice(0, sp).toLowerCase();
  const value = h.slice(sp + 1).trim();
  if (scheme === 'soticket') return { ticket: value };
  if (scheme !== 'basic') return null;
  if (TICKET.test(value)) return { ticket: value };
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  // A ticket as the user name has a colon of its own (7T:...): the password then follows the last one.
  const colon = decoded.startsWith('7T:') ? decoded.lastIndexOf(':') : decoded.indexOf(':');
  if (colon <= 0) return null;
  return { userName: decoded.slice(0, colon), password: decoded.slice(colon + 1), client };
}
