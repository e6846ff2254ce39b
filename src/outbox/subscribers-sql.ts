/** The subscriber select of SignalEvent's write, compiled once, for the backends that run it as text. */
import type { Knex } from 'knex';
import { activeSubscribersQuery } from '../store/webhook-repository.js';
import { subscriptionKeys } from '../webhooks/event-match.js';

/**
 * activeSubscribersQuery (webhook-repository.ts) for an event name, compiled once per knex instance and number of
 * subscription keys (webhooks/event-match.ts: the name and the wildcards that receive it), so the hot path neither
 * rebuilds the query nor writes a second copy of it. The bindings are the keys, then the Active state.
 */
export interface CompiledSubscribers { sql: string; bindings: unknown[] }

const compiledSubscribers = new WeakMap<Knex, Map<number, { sql: string; tail: unknown[] }>>();

export function subscribersSql(k: Knex, eventName: string): CompiledSubscribers {
  const keys = subscriptionKeys(eventName);
  let perKnex = compiledSubscribers.get(k);
  if (!perKnex) compiledSubscribers.set(k, (perKnex = new Map()));
  let c = perKnex.get(keys.length);
  if (!c) {
    const q = activeSubscribersQuery(k, keys).toSQL();
    const bindings = q.bindings as unknown[];
    // The keys bind first (the where clause), everything after them is constant.
    if (!keys.every((key, i) => bindings[i] === key)) throw new Error('subscribersSql: unexpected binding order');
    c = { sql: q.sql, tail: bindings.slice(keys.length) };
    perKnex.set(keys.length, c);
  }
  return { sql: c.sql, bindings: [...keys, ...c.tail] };
}
