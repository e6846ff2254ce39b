import type { Webhook } from './types.js';
/**
 * xs:int, the type of every id and counter in the contract (WebhookId, AssociateId, TotalCalls...): a value outside
 * it cannot be written to a client nor asked for by one, so the store never hands one out (ids) and the import
 * refuses one.
 */
export const XS_INT_MIN = -2147483648;
export const XS_INT_MAX = 2147483647;

export const isXsInt = (n: number): boolean => Number.isInteger(n) && n >= XS_INT_MIN && n <= XS_INT_MAX;

/**
 * Why a stored webhook cannot be written to a client (an id or counter outside xs:int, the SOAP serializer would
 * throw on it), or null. Such rows come only from data written before the import and the id sequences kept to
 * xs:int; they are named, never allowed to fail a whole answer.
 */
export function outsideXsInt(w: Webhook): string | null {
  const fields: Array<[string, number]> = [
    ['WebhookId', w.webhookId], ['TotalCalls', w.totalCalls], ['TotalErrors', w.totalErrors], ['ConsecutiveErrors', w.consecutiveErrors],
  ];
  for (const [member, a] of [['RegisteredAssociate', w.registeredAssociate], ['UpdatedAssociate', w.updatedAssociate]] as const) {
    if (a) fields.push([`${member}.AssociateId`, a.associateId], [`${member}.PersonId`, a.personId]);
  }
  (w.errorAssociateIds ?? []).forEach((id, i) => fields.push([`ErrorAssociates[${i}].Id`, id]));
  const bad = fields.filter(([, v]) => !isXsInt(v));
  return bad.length ? `${bad.map(([f, v]) => `${f} ${v}`).join(', ')} outside the xs:int range clients read` : null;
}
