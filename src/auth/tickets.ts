/**
 * Tickets as SoPrincipal hands them out: a `7T:` prefix (NetServer's) and base64, here of 32 random bytes. Only the
 * sha-256 of a ticket is stored; a ticket is never logged or put into an error message.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TICKET_PREFIX = '7T:';
/** Longer strings are not looked up at all. NetServer's own tickets are far shorter. */
const MAX_TICKET_LENGTH = 512;

export function issueTicket(): string {
  return TICKET_PREFIX + randomBytes(32).toString('base64');
}

/** The storage key of a ticket: sha-256, lowercase hex. */
export function hashTicket(ticket: string): string {
  return createHash('sha256').update(ticket, 'utf8').digest('hex');
}

/**
 * `7T:` followed by base64. Checks the shape only, so tickets of other lengths (e.g. copied from NetServer) are
 * simply unknown rather than malformed.
 */
export function isWellFormedTicket(value: string): boolean {
  return value.length <= MAX_TICKET_LENGTH && /^7T:[A-Za-z0-9+/]+={0,2}$/.test(value);
}
