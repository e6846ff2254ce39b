/**
 * NetServer's webhook state events (reference/state-events.md): `webhook{id}.started` (-> Active),
 * `webhook{id}.stopped` (-> Stopped), `webhook{id}.errors` (-> TooManyErrors), enqueued to the Active hooks
 * subscribed to that name, with PrimaryKey = the webhook id, ChangedByAssociateId 0 and FieldValues
 * events (total calls), registered, registered_associate_id, state (the stored value: 1 Active, 2 Stopped,
 * 3 TooManyErrors; the docs' "0 = Active" list contradicts the WebhookState enum), updated ("0001-01-01T00:00:00"
 * when never updated, as in NetServer's examples), updated_associate_id.
 * The worker fires `errors`; SaveWebhook may fire `started` / `stopped` in its own transaction.
 */
import { enqueueEvent } from './outbox-repository.js';
import type { EnqueueResult } from './event-rows.js';
import { webhookStateFacts } from './outbox-record.js';
import { activeSubscriberIds } from '../store/webhook-repository.js';
import type { Queryable } from '../store/row-mapping.js';
import { formatNetTimestamp } from './send/payload.js';

export type StateVerb = 'started' | 'stopped' | 'errors';

export const stateEventName = (webhookId: number, verb: StateVerb) => `webhook${webhookId}.${verb}`;

const netMinDate = '0001-01-01T00:00:00';

export async function fireStateEvent(db: Queryable, webhookId: number, verb: StateVerb, opts: { now?: number } = {}): Promise<EnqueueResult> {
  const name = stateEventName(webhookId, verb);
  const subscribers = await activeSubscriberIds(db, name);
  if (subscribers.length === 0) return { eventId: null, deliveries: 0 };
  const facts = await webhookStateFacts(db, webhookId);
  if (!facts) return { eventId: null, deliveries: 0 };
  const now = opts.now ?? Date.now();
  return enqueueEvent(db, {
    eventName: name,
    primaryKey: webhookId,
    changedByAssociateId: 0,
    timestamp: new Date(now),
    data: {
      events: facts.totalCalls,
      registered: facts.registered ? formatNetTimestamp(facts.registered) : netMinDate,
      registered_associate_id: facts.registeredAssociateId,
      state: facts.state,
      updated: facts.updated ? formatNetTimestamp(facts.updated) : netMinDate,
      updated_associate_id: facts.updatedAssociateId,
    },
  }, subscribers, { now });
}
