/**
 * 002-outbox: the durable delivery queue (ours, NetServer has no equivalent tables).
 *
 * - wa_event: one row per signalled event, written in the caller's transaction.
 * - wa_delivery: one row per (event, webhook); its event_uuid is the EventId of every attempt, so receivers can
 *   deduplicate. It is also the queue: status 'pending' + next_attempt_at + a lease (lease_until, lease_token).
 * - wa_attempt: one row per HTTP POST, with its outcome.
 * - wa_worker_lock: on SQLite, the one worker process that may claim (see store/outbox-worker-lock.ts).
 *
 * Time columns here are epoch milliseconds (bigint), not datetimes: the worker compares them with its own clock
 * (injectable in tests), the comparison is the same integer comparison on every dialect, and the claim index is a
 * plain integer index. They are instants, UTC by definition.
 *
 * Index ix_wa_delivery_claim (status, next_attempt_at, delivery_id) matches the claim's
 * `WHERE status = 'pending' AND next_attempt_at <= now ORDER BY next_attempt_at, delivery_id`, so a claim is a
 * seek plus an ordered range scan, also with a large backlog (the SQL Server pitfall noted in
 * notes/delivery-anchors.md 4c). ix_wa_delivery_hook (webhook_id, status, delivery_id) serves the per-webhook
 * ordering check, the release of held deliveries and cancelDeliveriesFor; ix_wa_delivery_held finds the oldest held
 * delivery per webhook without reading the rest of the queue.
 */
import type { Knex } from 'knex';

export const deliveryStatuses = ['pending', 'succeeded', 'failed_permanent', 'expired', 'cancelled'] as const;
export const errorClasses = ['http', 'timeout', 'dns', 'connect', 'tls', 'refused_target', 'too_large', 'other'] as const;

export function outboxSchema(knex: Knex): Knex.SchemaBuilder[] {
  return [
    knex.schema.createTable('wa_event', (t) => {
      t.bigIncrements('event_id');
      t.string('name', 400).notNullable();
      t.integer('primary_key').notNullable();
      // JSON object (the SignalEvent Data); dates already formatted as strings.
      t.text('data').notNullable();
      t.integer('changed_by_associate_id').notNullable().defaultTo(0);
      // When it happened (the payload's Timestamp), epoch ms.
      t.bigInteger('timestamp').notNullable();
      t.bigInteger('created').notNullable();
      t.index(['created'], 'ix_wa_event_created');
    }),
    knex.schema.createTable('wa_delivery', (t) => {
      t.bigIncrements('delivery_id');
      t.bigInteger('event_id').notNullable();
      // No foreign key to webhook: deliveries outlive a deleted webhook as cancelled records.
      t.integer('webhook_id').notNullable();
      t.string('event_uuid', 36).notNullable();
      t.string('status', 20).notNullable();
      t.integer('attempt_count').notNullable().defaultTo(0);
      t.bigInteger('next_attempt_at').notNullable();
      // 1 = held back behind an older delivery of its webhook (next_attempt_at moved out); see claim-deliveries.ts.
      t.smallint('held').notNullable().defaultTo(0);
      t.bigInteger('lease_until').nullable();
      t.string('lease_token', 36).nullable();
      t.integer('last_status').nullable();
      t.string('last_error', 4000).nullable();
      t.bigInteger('created').notNullable();
      t.bigInteger('finished_at').nullable();
      t.foreign('event_id', 'fk_wa_delivery_event').references('event_id').inTable('wa_event').onDelete('CASCADE');
      t.index(['status', 'next_attempt_at', 'delivery_id'], 'ix_wa_delivery_claim');
      t.index(['webhook_id', 'status', 'delivery_id'], 'ix_wa_delivery_hook');
      t.index(['held', 'webhook_id', 'delivery_id'], 'ix_wa_delivery_held');
      t.index(['event_id'], 'ix_wa_delivery_event');
      t.index(['finished_at'], 'ix_wa_delivery_finished');
      t.unique(['event_uuid'], { indexName: 'ux_wa_delivery_uuid' });
    }),
    knex.schema.createTable('wa_attempt', (t) => {
      t.bigIncrements('attempt_id');
      t.bigInteger('delivery_id').notNullable();
      t.integer('attempt_no').notNullable();
      t.bigInteger('started_at').notNullable();
      t.integer('duration_ms').notNullable();
      t.integer('http_status').nullable();
      t.string('outcome', 20).notNullable();
      t.string('error_class', 20).nullable();
      t.string('response_excerpt', 4000).nullable();
      t.foreign('delivery_id', 'fk_wa_attempt_delivery').references('delivery_id').inTable('wa_delivery').onDelete('CASCADE');
      t.index(['delivery_id', 'attempt_no'], 'ix_wa_attempt_delivery');
      t.index(['started_at'], 'ix_wa_attempt_started');
    }),
    knex.schema.createTable('wa_worker_lock', (t) => {
      t.string('lock_name', 100).notNullable().primary();
      t.string('owner_token', 36).notNullable();
      t.string('host', 255).notNullable();
      t.integer('pid').notNullable();
      t.bigInteger('heartbeat_at').notNullable();
    }),
  ];
}

export async function up(knex: Knex): Promise<void> {
  for (const step of outboxSchema(knex)) await step;
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['wa_worker_lock', 'wa_attempt', 'wa_delivery', 'wa_event']) await knex.schema.dropTableIfExists(table);
}
