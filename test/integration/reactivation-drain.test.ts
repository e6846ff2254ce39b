/**
 * A hook made Active again drains its parked deliveries at once, in their order (issue 15, bug b): the pending
 * deliveries of a TooManyErrors (or Stopped) hook become due at the commit of the re-activation, however far out
 * their backoff had put them. Real app with its worker, real loopback receiver, SOAP SaveWebhook.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { startApp, startReceiver, textAt, webhookXml, type Receiver, type TestApp } from '../helpers/app.js';

/** Where the parked deliveries' backoff puts them: far beyond the bound the test allows for the first attempt. */
const BACKOFF_MS = 10 * 60_000;
/** Generous for a loaded machine, and still 40 times shorter than the backoff. */
const FIRST_ATTEMPT_BOUND_MS = 15_000;
const STATE_CODE = { Stopped: 2, TooManyErrors: 3 } as const;

for (const dialect of testDialects) {
  describe(`re-activation drains parked deliveries at once (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let rx: Receiver;

    before(async () => {
      app = await startApp(dialect, { startWorker: true });
      rx = await startReceiver(200);
    });
    after(async () => {
      await rx?.close();
      await app?.close();
    });

    const deliveriesTo = () => rx.requests.filter((q) => q.headers['x-hook-test'] !== 'true');

    for (const parkedAs of ['TooManyErrors', 'Stopped'] as const) {
      test(`${parkedAs} -> Active: the parked deliveries go out at once, oldest first`, async () => {
        const saved = await app.call(88, 'SaveWebhook', webhookXml({ id: 0, name: `parked ${parkedAs}`, events: ['contact.created'], targetUrl: rx.url }));
        assert.equal(saved.succeeded, true, saved.exception?.message ?? undefined);
        const id = Number(textAt(saved.response, 'WebhookId'));
        const base = { id, name: `parked ${parkedAs}`, events: ['contact.created'], targetUrl: rx.url };

        // Park the hook with three pending deliveries whose retries the backoff put far out, the younger ones
        // sooner than the older (as retries of different cycles do), so "in their order" is not the due order.
        const stop = await app.call(88, 'SaveWebhook', webhookXml({ ...base, state: 'Stopped' }));
        assert.equal(stop.succeeded, true, stop.exception?.message ?? undefined);
        const eventIds: number[] = [];
        for (let pk = 1; pk <= 3; pk++) {
          const inserted = (await app.db.knex('wa_event').insert({
            name: 'contact.created', primary_key: pk, data: '{}', changed_by_associate_id: 0, timestamp: Date.now(), created: Date.now(),
          }).returning('event_id')) as Array<{ event_id: unknown } | number>;
          const first = inserted[0];
          eventIds.push(Number(typeof first === 'object' ? first.event_id : first));
        }
        const far = Date.now() + BACKOFF_MS;
        for (const [i, eventId] of eventIds.entries()) {
          await app.db.knex('wa_delivery').insert({
            event_id: eventId, webhook_id: id, event_uuid: `00000000-0000-7000-8000-${String(id).padStart(6, '0')}${String(i).padStart(6, '0')}`,
            status: 'pending', attempt_count: 4, next_attempt_at: far - i * 1000, created: Date.now(),
          });
        }
        if (parkedAs === 'TooManyErrors') await app.db.knex('webhook').where('webhook_id', id).update({ state: STATE_CODE.TooManyErrors });

        const before = deliveriesTo().length;
        const started = Date.now();
        const active = await app.call(88, 'SaveWebhook', webhookXml({ ...base, state: 'Active' }));
        assert.equal(active.succeeded, true, active.exception?.message ?? undefined);
        let firstAt: number | null = null;
        while (Date.now() - started < FIRST_ATTEMPT_BOUND_MS && deliveriesTo().length < before + 3) {
          if (firstAt === null && deliveriesTo().length > before) firstAt = Date.now();
          await sleep(20);
        }
        const got = deliveriesTo().slice(before);
        firstAt ??= got.length > 0 ? Date.now() : null;
        assert.ok(firstAt !== null && firstAt - started < FIRST_ATTEMPT_BOUND_MS,
          `the first parked delivery was attempted within ${FIRST_ATTEMPT_BOUND_MS} ms of the re-activation (backoff: ${BACKOFF_MS} ms)`);
        assert.equal(got.length, 3, 'all three parked deliveries drained');
        const order = got.map((q) => (JSON.parse(q.body.toString('utf8')) as { PrimaryKey: number }).PrimaryKey);
        assert.deepEqual(order, [1, 2, 3], 'in their order (oldest first), not in the order of their old backoff');
        // The receiver answers before the worker records: wait (bounded) for the three outcomes.
        const statuses = async () => ((await app.db.knex('wa_delivery').where('webhook_id', id).orderBy('delivery_id')) as Array<{ status: string }>)
          .map((r) => r.status);
        while (Date.now() - started < FIRST_ATTEMPT_BOUND_MS && (await statuses()).some((st) => st !== 'succeeded')) await sleep(20);
        assert.deepEqual(await statuses(), ['succeeded', 'succeeded', 'succeeded']);
      });
    }
  });
}
