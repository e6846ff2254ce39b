/**
 * Hostile receivers (issue 4, part 6c): one that never answers, one that answers 200 with 10 MB, one that sends
 * a byte a second. With DELIVERY_TIMEOUT_MS small and only 4 deliveries in flight, every attempt against them
 * must end (the service closes the connection) within the timeout plus a margin, the response cap must keep the
 * 10 MB out of memory, and a healthy receiver subscribed to the same events must get every one of them meanwhile.
 *
 * The margins below are generous bounds on "ends at all", not performance claims.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequest } from './support/envelopes.js';
import { openSession, recordMetric, type Session } from './support/harness.js';
import { startReceiver, waitFor, type Receiver, type ReceiverMode } from './support/receiver.js';
import { assertSucceeded } from './support/wire.js';
import { rssMiB, settledRssMiB } from './support/proc.js';
import { requires } from '../helpers/requires.js';

const relReqs = await requires('xmllint');

const TIMEOUT_MS = 1500;
const EVENTS = 30;
const EVENT = 'fault.tick';

describe('hostile receivers', { ...relReqs, timeout: 180_000 }, () => {
  let s: Session;
  const receivers: Partial<Record<ReceiverMode, Receiver>> = {};
  const ids: Partial<Record<ReceiverMode, number>> = {};
  let baseline = 0;
  let peak = 0;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  before(async () => {
    for (const m of ['ok', 'hang', 'huge', 'trickle'] as const) receivers[m] = await startReceiver(m);
    s = await openSession({
      DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS), WORKER_CONCURRENCY: '4', POLL_INTERVAL_MS: '100', LEASE_MS: '10000',
      RESPONSE_CAP_BYTES: String(64 * 1024), MAX_CONSECUTIVE_ERRORS: '1000',
    });
    for (const m of ['ok', 'hang', 'huge', 'trickle'] as const) {
      // The save pings the receiver; every mode answers the test event normally.
      const r = await s.client.soap(buildRequest({ op: 'SaveWebhook', webhook: { name: `receiver-${m}`, events: [EVENT], targetUrl: receivers[m]!.url } }, s.ticket));
      assertSucceeded(r, `SaveWebhook ${m}`);
      ids[m] = Number(/<(?:\w+:)?WebhookId>(\d+)</.exec(r.text)?.[1]);
    }
    baseline = await settledRssMiB(s.service.proc.pid!);
  });

  after(async () => {
    await s?.close();
    for (const r of Object.values(receivers)) await r?.close();
  });

  test('a healthy receiver gets every event while the others hang, flood and trickle', async () => {
    const start = Date.now();
    for (let i = 1; i <= EVENTS; i++) {
      assertSucceeded(await s.client.soap(buildRequest({ op: 'SignalEvent', eventName: EVENT, primaryKey: i }, s.ticket)), `SignalEvent ${i}`);
      peak = Math.max(peak, rssMiB(s.service.proc.pid!) ?? 0);
      await sleep(100);
    }
    const healthy = receivers.ok!;
    await waitFor(() => {
      peak = Math.max(peak, rssMiB(s.service.proc.pid!) ?? 0);
      return new Set(healthy.deliveries.filter((d) => !d.test).map((d) => d.body?.PrimaryKey)).size === EVENTS;
    }, 90_000, `the healthy receiver to get all ${EVENTS} events`);
    const lost = EVENTS - new Set(healthy.deliveries.filter((d) => !d.test).map((d) => d.body?.PrimaryKey)).size;
    recordMetric({ suite: 'faults-receivers', faults: 3, faultsSurvived: 3, eventsLost: lost, healthyDeliveredMs: Date.now() - start });
    assert.equal(lost, 0);
    for (const m of ['hang', 'huge', 'trickle'] as const) {
      assert.ok(receivers[m]!.deliveries.some((d) => !d.test), `the ${m} receiver was tried (else the test proves nothing)`);
    }
  });

  test('every attempt against the hanging and trickling receivers is cut off', async () => {
    // Let in-flight attempts reach their deadline.
    await sleep(TIMEOUT_MS + 3000);
    for (const m of ['hang', 'trickle'] as const) {
      const spans = receivers[m]!.spans;
      assert.ok(spans.length > 0, `${m}: no attempts`);
      const open = spans.filter((sp) => sp.closed === null && Date.now() - sp.start > TIMEOUT_MS + 10_000);
      assert.equal(open.length, 0, `${m}: ${open.length} connections still open long after the ${TIMEOUT_MS} ms timeout`);
      const longest = Math.max(...spans.filter((sp) => sp.closed !== null).map((sp) => sp.closed! - sp.start));
      assert.ok(longest < TIMEOUT_MS + 10_000, `${m}: an attempt lasted ${longest} ms with a ${TIMEOUT_MS} ms timeout`);
    }
  });

  test('the 10 MB answer is capped (memory) and recorded briefly', async () => {
    const settled = await settledRssMiB(s.service.proc.pid!, 20_000);
    recordMetric({ suite: 'faults-receivers-memory', rssBaselineMiB: Math.round(baseline), rssPeakMiB: Math.round(peak), rssSettledMiB: Math.round(settled) });
    // Reading 10 MB answers whole, four at a time, would show as 40+ MiB on top of the baseline.
    assert.ok(peak < baseline + 40, `RSS peaked at ${peak.toFixed(1)} MiB from a baseline of ${baseline.toFixed(1)} MiB`);
    for (const m of ['hang', 'huge', 'trickle'] as const) {
      const r = await s.client.soap(buildRequest({ op: 'GetWebhook', webhookId: ids[m]! }, s.ticket));
      assertSucceeded(r, `GetWebhook ${m}`);
      assert.ok(r.text.length < 64 * 1024, `${m}: the webhook answer is ${r.text.length} bytes (LastError not capped?)`);
    }
    const le = await s.client.soap(buildRequest({ op: 'GetLastError', webhookId: ids.hang! }, s.ticket));
    assertSucceeded(le, 'GetLastError hang');
    assert.match(le.text, /time/i, 'the hanging receiver\'s last error mentions the timeout');
  });

  test('the service still answers normally', async () => {
    assertSucceeded(await s.client.soap(buildRequest({ op: 'GetAllWebhooks' }, s.ticket)), 'GetAllWebhooks');
  });
});
