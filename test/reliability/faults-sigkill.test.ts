/**
 * SIGKILL during SaveWebhook and SignalEvent bursts (issue 4, part 6b), on SQLite.
 *
 * Each round: bursts of SignalEvent (to a fixed set of subscribers) and SaveWebhook (new hooks, another event so
 * that the subscriber set stays fixed) from concurrent keep-alive clients, the worker delivering meanwhile, then
 * SIGKILL at a random moment. With the service dead, the SQLite file is checked with plain SQL (better-sqlite3):
 * integrity, every acknowledged save and event present, no webhook without its webhook_usage row or event rows,
 * every event with exactly one delivery per subscriber, no orphan deliveries. The service is restarted on the same
 * file for the next round, and after the last one every delivery of every stored event must reach the receiver.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { login } from '../helpers/service.js';
import { buildRequest } from './support/envelopes.js';
import { freshSqliteUrl, recordMetric, startGuardedService, type GuardedService } from './support/harness.js';
import { createClient, type SoapClient } from './support/http-client.js';
import { startReceiver, waitFor, type Receiver } from './support/receiver.js';
import { openSqlite } from './support/sqlite.js';
import { assertSucceeded, readAnswer } from './support/wire.js';
import { requires } from '../helpers/requires.js';

const relReqs = await requires('xmllint');

const ROUNDS = 3;
const SUBSCRIBERS = 4;
const SIGNAL = 'crash.signal';
const SAVE_EVENT = 'crash.save';

const env = { PING_ON_SAVE: 'false', LEASE_MS: '6000', DELIVERY_TIMEOUT_MS: '1000', POLL_INTERVAL_MS: '100' };

describe('SIGKILL during bursts (SQLite)', { ...relReqs, timeout: 240_000 }, () => {
  let receiver: Receiver;
  let db: { url: string; file: string };
  let svc: GuardedService | undefined;
  const ackedKeys = new Set<number>();
  const ackedNames = new Set<string>();
  let subscriberIds: number[] = [];
  let nextKey = 1;
  let kills = 0;
  let consistentRounds = 0;

  async function start(): Promise<{ client: SoapClient; ticket: string }> {
    svc = await startGuardedService({ ...env, DATABASE_URL: db.url });
    return { client: createClient(svc.baseUrl, { maxSockets: 32 }), ticket: await login(svc.baseUrl) };
  }

  before(async () => {
    receiver = await startReceiver('ok');
    db = freshSqliteUrl();
    const { client, ticket } = await start();
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const r = await client.soap(buildRequest({ op: 'SaveWebhook', webhook: { name: `subscriber-${i}`, events: [SIGNAL], targetUrl: `${receiver.url}/${i}` } }, ticket));
      assertSucceeded(r, 'SaveWebhook subscriber');
      subscriberIds.push(Number(/<(?:\w+:)?WebhookId>(\d+)</.exec(r.text)?.[1]));
    }
    subscriberIds = subscriberIds.sort((a, b) => a - b);
    client.close();
    await svc!.stop();
  });

  after(async () => {
    await svc?.stop('SIGKILL');
    await receiver?.close();
  });

  /** Runs the bursts until the service dies; acknowledged work is remembered. */
  async function burstUntilKilled(client: SoapClient, ticket: string, killAfterMs: number): Promise<number> {
    let stop = false;
    let sent = 0;
    const signaler = async () => {
      while (!stop) {
        const key = nextKey++;
        try {
          const r = await client.soap(buildRequest({ op: 'SignalEvent', eventName: SIGNAL, primaryKey: key }, ticket), { timeoutMs: 10_000 });
          sent += 1;
          if (r.status === 200 && readAnswer(r.text).succeeded === true) ackedKeys.add(key);
        } catch {
          return; // connection refused/reset: the process is gone
        }
      }
    };
    const saver = async (n: number) => {
      let i = 0;
      while (!stop) {
        const name = `burst-${kills}-${n}-${i++}`;
        try {
          const r = await client.soap(buildRequest({ op: 'SaveWebhook', webhook: { name, events: [SAVE_EVENT, 'crash.other'], targetUrl: receiver.url, headers: { 'X-Burst': name }, properties: { n: { type: 'int', value: String(i) } } } }, ticket), { timeoutMs: 10_000 });
          sent += 1;
          if (r.status === 200 && readAnswer(r.text).succeeded === true) ackedNames.add(name);
        } catch {
          return;
        }
      }
    };
    const workers = [...Array.from({ length: 8 }, signaler), ...Array.from({ length: 4 }, (_, n) => saver(n))];
    const killer = (async () => {
      await new Promise((r) => setTimeout(r, killAfterMs));
      await svc!.stop('SIGKILL');
      stop = true;
    })();
    await Promise.all([...workers, killer]);
    kills += 1;
    return sent;
  }

  function checkConsistency(round: number): void {
    const sql = openSqlite(db.file, { readonly: true });
    try {
      assert.equal(sql.prepare('PRAGMA integrity_check').get()?.integrity_check, 'ok', 'SQLite integrity');
      assert.deepEqual(sql.prepare('PRAGMA foreign_key_check').all(), [], 'foreign keys');
      const noUsage = sql.prepare(`SELECT w.webhook_id FROM webhook w LEFT JOIN webhook_usage u ON u.webhook_usage_id = w.webhook_id
        WHERE u.webhook_usage_id IS NULL`).all();
      assert.deepEqual(noUsage, [], `round ${round}: webhooks without their webhook_usage row`);
      const noEvents = sql.prepare('SELECT w.webhook_id FROM webhook w WHERE NOT EXISTS (SELECT 1 FROM webhook_event e WHERE e.webhook_id = w.webhook_id)').all();
      assert.deepEqual(noEvents, [], `round ${round}: webhooks without their event rows`);
      const names = new Set(sql.prepare('SELECT name FROM webhook').all().map((r) => String(r.name)));
      const missingHooks = [...ackedNames].filter((n) => !names.has(n));
      assert.deepEqual(missingHooks, [], `round ${round}: acknowledged SaveWebhook calls whose hook is not stored`);
      const keys = new Set(sql.prepare('SELECT primary_key FROM wa_event WHERE name = ?').all(SIGNAL).map((r) => Number(r.primary_key)));
      const missingEvents = [...ackedKeys].filter((k) => !keys.has(k));
      assert.deepEqual(missingEvents, [], `round ${round}: acknowledged SignalEvent calls whose event is not stored`);
      const perEvent = sql.prepare(`SELECT e.event_id, group_concat(d.webhook_id) AS hooks, count(d.delivery_id) AS n
        FROM wa_event e LEFT JOIN wa_delivery d ON d.event_id = e.event_id WHERE e.name = ? GROUP BY e.event_id`).all(SIGNAL);
      const wrong = perEvent.filter((r) => {
        const hooks = String(r.hooks ?? '').split(',').filter(Boolean).map(Number).sort((a, b) => a - b);
        return hooks.join(',') !== subscriberIds.join(',');
      });
      assert.deepEqual(wrong.slice(0, 5), [], `round ${round}: events without exactly one delivery per subscriber (${wrong.length} of ${perEvent.length})`);
      const orphans = sql.prepare('SELECT d.delivery_id FROM wa_delivery d LEFT JOIN wa_event e ON e.event_id = d.event_id WHERE e.event_id IS NULL').all();
      assert.deepEqual(orphans, [], `round ${round}: deliveries without their event`);
    } finally {
      sql.close();
    }
  }

  for (let round = 1; round <= ROUNDS; round++) {
    test(`round ${round}: kill -9 mid-burst leaves a consistent database`, async () => {
      const { client, ticket } = await start();
      const before = ackedKeys.size + ackedNames.size;
      const sent = await burstUntilKilled(client, ticket, 400 + Math.floor(Math.random() * 1200));
      client.close();
      assert.ok(ackedKeys.size + ackedNames.size > before, `round ${round}: nothing was acknowledged before the kill (${sent} sent)`);
      checkConsistency(round);
      consistentRounds += 1;
    });
  }

  test('after a restart every stored event reaches every subscriber (none lost)', async () => {
    const { client, ticket } = await start();
    try {
      assertSucceeded(await client.soap(buildRequest({ op: 'GetAllWebhooks' }, ticket)), 'GetAllWebhooks after restart');
      const sql = openSqlite(db.file, { readonly: true });
      let expected: string[];
      try {
        expected = sql.prepare(`SELECT d.event_uuid FROM wa_delivery d JOIN wa_event e ON e.event_id = d.event_id WHERE e.name = ?`).all(SIGNAL)
          .map((r) => String(r.event_uuid));
      } finally {
        sql.close();
      }
      assert.ok(expected.length >= ackedKeys.size * SUBSCRIBERS);
      let missing: string[] = [];
      await waitFor(() => {
        const got = receiver.eventIds();
        missing = expected.filter((u) => !got.has(u));
        return missing.length === 0;
      }, 120_000, `all ${expected.length} deliveries to arrive`).catch(() => {});
      recordMetric({
        suite: 'faults-sigkill', faults: kills, faultsSurvived: consistentRounds, eventsLost: missing.length,
        eventsAccepted: ackedKeys.size, deliveriesExpected: expected.length, hooksAcked: ackedNames.size,
      });
      assert.equal(missing.length, 0, `${missing.length} of ${expected.length} deliveries never arrived`);
    } finally {
      client.close();
      await svc!.stop();
    }
  });
});
