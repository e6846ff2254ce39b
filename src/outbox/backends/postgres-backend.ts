/**
 * The outbox on PostgreSQL: claims with FOR UPDATE SKIP LOCKED (claim-pg.ts), SignalEvent's write as one statement
 * with NOTIFY after its commit, the knex recording, and LISTEN/NOTIFY to wake other processes' workers
 * (outbox-notify.ts). Any number of worker processes claim at once.
 */
import type { Knex } from 'knex';
import type { SignalledEvent } from '../../webhooks/types.js';
import { toInt } from '../../store/row-mapping.js';
import { claimPg, extendRunsPg, holdPg } from '../claim-pg.js';
import { newEventUuid, storedEventData, type EnqueueResult } from '../event-rows.js';
import { ensureUsageRowSql, recordWithKnex } from '../outbox-record.js';
import { notifyPg, notifyPgAfterCommit, pgListenConnection } from '../outbox-notify.js';
import { subscribersSql } from '../subscribers-sql.js';
import { claimInSteps } from './claim-in-steps.js';
import type { OutboxBackend } from './backend-types.js';

const recording = { ensureUsageRow: ensureUsageRowSql('', ' on conflict do nothing') };

/** The server's clock in epoch ms (now(): the statement's transaction start, which is this statement). */
export const pgClockSql = 'select (extract(epoch from now()) * 1000)::bigint as now_ms';

/**
 * The PostgreSQL statement of enqueueSignalledEvent. Every delivery gets a version 7 EventId (see newEventUuid):
 * the time prefix is computed here, the random part comes from gen_random_uuid() (built in since PostgreSQL 13).
 * Bindings: the subscriber select's, then name, primary key, data, changed by, timestamp, created; time prefix,
 * next_attempt_at, created.
 */
function pgEnqueueSignalledSql(subscribers: string): string {
  return `with subs as (
  ${subscribers}
), ev as (
  insert into wa_event (name, primary_key, data, changed_by_associate_id, timestamp, created)
  select ?, ?, ?, ?, ?, ? where exists (select 1 from subs)
  returning event_id
), dl as (
  insert into wa_delivery (event_id, webhook_id, event_uuid, status, attempt_count, next_attempt_at, created)
  select ev.event_id, subs.webhook_id, overlay(overlay(gen_random_uuid()::text placing ? from 1 for 13) placing '7' from 15 for 1),
    'pending', 0, ?, ?
  from ev cross join subs
  returning webhook_id
)
select (select event_id from ev) as event_id, array(select webhook_id from dl) as webhook_ids`;
}

async function enqueueSignalled(k: Knex, event: SignalledEvent, now: number): Promise<EnqueueResult> {
  const timePrefix = newEventUuid(now).slice(0, 13);
  const subscribers = subscribersSql(k, event.eventName);
  const bindings = [
    ...subscribers.bindings,
    event.eventName, event.primaryKey, storedEventData(event), event.changedByAssociateId, event.timestamp.getTime(), now,
    timePrefix, now, now,
  ] as Knex.RawBinding[];
  const { rows } = (await k.raw(pgEnqueueSignalledSql(subscribers.sql), bindings)) as { rows: Array<{ event_id: unknown; webhook_ids: unknown[] }> };
  const row = rows[0];
  if (row?.event_id == null) return { eventId: null, deliveries: 0 };
  const webhookIds = row.webhook_ids.map(toInt);
  return { eventId: toInt(row.event_id), deliveries: webhookIds.length, webhookIds };
}

export const postgresBackend: OutboxBackend = {
  dialect: 'pg',
  singleWorker: false,
  async enqueueSignalled(k, event, now) {
    const result = await enqueueSignalled(k, event, now);
    if (result.deliveries > 0) notifyPgAfterCommit(k, result.webhookIds);
    return result;
  },
  claim: claimPg,
  extendRuns: extendRunsPg,
  hold: holdPg,
  claimAndLoad: (k, req, hold, secrets) => claimInSteps(postgresBackend, k, req, hold, secrets),
  record: (q, records, onTooManyErrors) => recordWithKnex(q, records, recording, onTooManyErrors),
  notify: notifyPg,
  listenConnection: pgListenConnection,
  databaseTime: async (k) => toInt(((await k.raw(pgClockSql)) as { rows: Array<{ now_ms: unknown }> }).rows[0].now_ms),
};
