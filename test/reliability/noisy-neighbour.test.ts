/**
 * Noisy neighbours (issue 8, item 1): 64 webhooks whose receivers accept the connection and never answer, and one
 * healthy webhook saved last. Five events go to all 65, then one event only the healthy hook subscribes to. Before
 * the fix the hung attempts held every worker slot for the whole delivery timeout and the healthy hook's
 * deliveries arrived 30-105 s late. Now an attempt past SLOW_ATTEMPT_MS gives its slot back, so the healthy hook's
 * deliveries must all arrive before the first hung attempt has even timed out (an ordering, not a stopwatch: a slow
 * machine cannot make it pass or fail). The latencies are recorded for the summary; bench/noisy-neighbour.ts
 * measures them properly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequest } from './support/envelopes.js';
import { openSession, recordMetric, type Session } from './support/harness.js';
import { startReceiver, waitFor, type Receiver } from './support/receiver.js';
import { assertSucceeded } from './support/wire.js';
import { requires } from '../helpers/requires.js';

const relReqs = await requires('xmllint');
const HUNG = 64;
const TIMEOUT_MS = 15_000;

describe('noisy neighbours: 64 hung receivers and one healthy', { ...relReqs, timeout: 240_000 }, () => {
  let s: Session;
  const hung: Receiver[] = [];
  let healthy: Receiver;
  let tried = 0;
  let passed = 0;
  let note = '';

  before(async () => {
    for (let i = 0; i < HUNG; i++) hung.push(await startReceiver('hang'));
    healthy = await startReceiver('ok');
    s = await openSession({
      PING_ON_SAVE: 'false', DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS), MAX_CONSECUTIVE_ERRORS: '1000', SHUTDOWN_GRACE_MS: '500',
    });
    for (const [i, r] of hung.entries()) {
      assertSucceeded(await s.client.soap(buildRequest({ op: 'SaveWebhook', webhook: { name: `hung-${i}`, events: ['noisy.tick'], targetUrl: r.url } }, s.ticket)), 'SaveWebhook hung');
    }
    assertSucceeded(await s.client.soap(buildRequest({ op: 'SaveWebhook', webhook: { name: 'healthy', events: ['noisy.tick', 'healthy.only'], targetUrl: healthy.url } }, s.ticket)), 'SaveWebhook healthy');
  });

  after(async () => {
    recordMetric({ suite: 'noisy-neighbour', label: 'noisy neighbour (64 hung + 1 healthy)', cases: tried, passed, note });
    await s?.close();
    for (const r of [...hung, healthy]) await r?.close();
  });

  test('the healthy hook gets all six events before any hung attempt has timed out', async () => {
    tried += 1;
    const signalled: Array<{ pk: number; at: number }> = [];
    for (let pk = 1; pk <= 6; pk++) {
      const eventName = pk === 6 ? 'healthy.only' : 'noisy.tick';
      assertSucceeded(await s.client.soap(buildRequest({ op: 'SignalEvent', eventName, primaryKey: pk }, s.ticket)), `SignalEvent ${pk}`);
      signalled.push({ pk, at: Date.now() });
    }
    await waitFor(() => healthy.deliveries.filter((d) => !d.test).length >= 6, 4 * TIMEOUT_MS, 'six deliveries at the healthy receiver');
    const got = healthy.deliveries.filter((d) => !d.test);
    const firstHungTimeout = Math.min(...hung.flatMap((r) => r.spans.map((sp) => sp.closed ?? Infinity)));
    const lastHealthy = Math.max(...got.map((d) => d.at));
    const latencies = signalled.map(({ pk, at }) => {
      const d = got.find((x) => x.body?.PrimaryKey === pk);
      return d ? d.at - at : Infinity;
    });
    note = `healthy latency max ${Math.max(...latencies)} ms (${latencies.join(', ')}); hung attempts in flight ${hung.reduce((n, r) => n + r.spans.length, 0)}`;
    assert.ok(hung.some((r) => r.spans.length > 0), 'the hung receivers were being called');
    assert.ok(lastHealthy < firstHungTimeout, `the healthy hook's last delivery (${note}) came after a hung attempt timed out`);
    passed += 1;
  });
});
