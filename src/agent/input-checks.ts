/**
 * Checks of the scalar inputs every face passes through unchanged (a path segment, a query value or a SOAP
 * element), so that all faces refuse the same values with the same message naming the field.
 */
import { invalidArgument } from '../errors.js';

/** A stored webhook's id: a positive integer. */
export function requireWebhookId(v: unknown, field = 'WebhookId'): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > 2_147_483_647) {
    throw invalidArgument(field, 'must be a positive integer');
  }
  return v;
}

/** SignalEvent's PrimaryKey: any integer (0 when the caller leaves it out). */
export function requirePrimaryKey(v: unknown, field = 'PrimaryKey'): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArgument(field, 'must be an integer');
  return v;
}
