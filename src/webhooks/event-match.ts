/**
 * Wildcard subscriptions. A hook's Events may hold, besides exact names (`contact.created`):
 *   `P.*`  every event whose name starts with `P.` (P: one or more dot-separated segments, no `*` in it), so
 *          `contact.*` gets `contact.created` and `list.*` gets `list.category.created`;
 *   `*`    every event except the webhook state events (`webhook{id}.started`, `.stopped`, `.errors`, any name
 *          `webhook<digits>.…`), so a catch-all hook is not flooded by every hook's state changes. A hook gets those
 *          only when it names them: exactly, or with `webhook{id}.*`.
 * Matching stays an index lookup: the subscription rows that can match a name are few and computable from the name
 * alone (the name itself, the `.*` form of each of its proper prefixes, and `*`), so SignalEvent and EventFilter
 * look those keys up in webhook_event instead of scanning patterns.
 */

/** `webhook12.started` and the like: NetServer's state events (outbox/state-event.ts). */
const stateEventForm = /^webhook\d+\./i;

const catchAll = '*';

export function isStateEventName(name: string): boolean {
  return stateEventForm.test(name);
}

/** Names longer than this are looked up as themselves only (no stored subscription is longer: event_name is 400). */
const MAX_SPLIT_LENGTH = 400;

/**
 * The subscriptions that receive `name`, which is an event name or, for an EventFilter, itself a wildcard: for a
 * wildcard the subscriptions that receive every event it stands for (`contact.*` -> `contact.*`, `*`; `*` -> `*`).
 * The name itself comes first; no duplicates.
 */
export function subscriptionKeys(name: string): string[] {
  if (name === catchAll) return [catchAll];
  const keys = [name];
  if (name.length <= MAX_SPLIT_LENGTH) {
    const segments = name.split('.');
    // A wildcard's own `.*` is the name itself: only shorter prefixes add keys.
    const base = name.endsWith('.*') ? segments.slice(0, -1) : segments;
    for (let i = 1; i < base.length; i++) keys.push(`${base.slice(0, i).join('.')}.*`);
  }
  if (!isStateEventName(name)) keys.push(catchAll);
  return keys;
}

/** Whether a hook subscribed to `subscription` receives the event `eventName` (the rule the index lookup implements). */
export function subscriptionMatches(subscription: string, eventName: string): boolean {
  return subscriptionKeys(eventName).includes(subscription);
}
