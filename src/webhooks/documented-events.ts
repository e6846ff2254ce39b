/**
 * The event names NetServer documents (webhook docs, "Event details" and the per-entity reference pages), all in
 * lower case. Subscriptions match event names exactly here, as NetServer documents them (an exact `entity.event`
 * string, no case folding anywhere in its docs), so a stored name that differs from one of these only in case never
 * receives it; the import reports such names (documentedSpelling).
 */
const entityEvents: Record<string, readonly string[]> = {
  activity: ['created', 'changed', 'deleted'],
  associate: ['created', 'changed', 'deleted'],
  contact: ['created', 'changed', 'deleted', 'softdeleted'],
  chatsession: ['created', 'changed', 'message'],
  document: ['created', 'changed', 'deleted', 'edited'],
  person: ['created', 'changed', 'deleted', 'softdeleted', 'consented', 'unconsented'],
  project: ['created', 'changed', 'deleted'],
  projectmember: ['created', 'changed', 'deleted'],
  quote: ['approved', 'rejected', 'sent', 'ordered'],
  relation: ['created', 'changed', 'deleted'],
  sale: ['created', 'changed', 'deleted', 'completed', 'lost', 'sold'],
  salestakeholder: ['created', 'changed', 'deleted'],
  ticket: ['created', 'changed'],
  webhook: ['started', 'stopped', 'errors'],
};

export const documentedEventNames: ReadonlySet<string> = new Set([
  'test',
  ...Object.entries(entityEvents).flatMap(([entity, verbs]) => verbs.map((v) => `${entity}.${v}`)),
]);

/** `webhook{id}.started|stopped|errors`: the state events, documented as a pattern. */
const stateEvent = /^webhook(\d+)\.(started|stopped|errors)$/i;

/**
 * The documented spelling of `name` when it differs from a documented event name only in case (`Sale.Changed` ->
 * `sale.changed`); null when `name` is documented as it is, or is not a documented name in any case.
 */
export function documentedSpelling(name: string): string | null {
  const lower = name.toLowerCase();
  const documented = documentedEventNames.has(lower) || stateEvent.test(name) ? lower : null;
  return documented !== null && documented !== name ? documented : null;
}
