/**
 * Concurrent saves of one webhook (issue 8, item 3). Two SaveWebhook calls overlap while one of them is slow between
 * its read of the hook and its write (a slow save-time ping): one sets Stopped, the other, started 0.3 s later, sets
 * Active. Before the fix the state that decides webhook{id}.started / .stopped was read before the ping, so the
 * second save, having read "Active" before the first one committed "Stopped", saw no change: the hook ended Active,
 * only `.stopped` was enqueued and its error count was not reset. Now the decision is taken inside the save's
 * transaction from the row read under lock.
 *
 * Each case fixes one interleaving, whatever the machine's speed: the gate holds a save after its read until the test
 * releases it. Through the agent, a save is held in its target URL check (every save makes one, after the read; a
 * Stopped save sends no ping since issue 15); through the SOAP face, an Active save is held in its ping, which the
 * real loopback receiver answers only when released. Checked on SQLite and PostgreSQL; the state events enqueued
 * must follow the state changes committed, and the final state must be the last one saved.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AddressInfo } from 'node:net';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { startApp, textAt, webhookXml, type TestApp } from '../helpers/app.js';
import { createWebhookAgent, type TargetPort, type WebhookAgent } from '../../src/agent/webhook-agent.js';
import { secretCodecFor } from '../../src/store/secret-codec.js';
import { ARRAY_ROWS_MARK } from '../../src/store/database.js';
import { webhookStateLockSql } from '../../src/store/webhook-repository.js';
import type { AssociateSummary, WebhookState } from '../../src/webhooks/types.js';
import type { WebhookDraft } from '../../src/webhooks/validate.js';
import { recordMetric } from './support/harness.js';

const LATER_MS = 300;

interface Deferred { promise: Promise<void>; resolve(): void }
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Holds tagged saves after their read: a webhook target on 127.0.0.1 that answers a test ping carrying an `X-Save`
 * header only when release(tag) is called (everything else gets 200 at once), and a TargetPort around the app's
 * whose URL check waits the same way for a save run by `as(tag, ...)`. One release lets both holds of a save pass.
 */
interface PingGate {
  url: string;
  arrived(tag: string): Promise<void>;
  release(tag: string): void;
  /** Tags of the held saves, in arrival order. */
  order: string[];
  /** `base` with its URL check held for saves run inside `as`. */
  target(base: TargetPort): TargetPort;
  as<T>(tag: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

async function startPingGate(): Promise<PingGate> {
  const arrivals = new Map<string, Deferred>();
  const releases = new Map<string, Deferred>();
  const slot = (m: Map<string, Deferred>, tag: string) => {
    let d = m.get(tag);
    if (!d) m.set(tag, (d = deferred()));
    return d;
  };
  const order: string[] = [];
  const hold = (tag: string) => {
    if (!order.includes(tag)) order.push(tag);
    slot(arrivals, tag).resolve();
    return slot(releases, tag).promise;
  };
  const tags = new AsyncLocalStorage<string>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const tag = req.headers['x-save'];
      if (req.headers['x-superoffice-event'] !== 'test' || typeof tag !== 'string') {
        res.end('ok');
        return;
      }
      void hold(tag).then(() => res.end('ok'));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrived: (tag) => slot(arrivals, tag).promise,
    release: (tag) => slot(releases, tag).resolve(),
    order,
    target: (base) => ({
      async checkTargetUrl(url) {
        const tag = tags.getStore();
        if (tag !== undefined) await hold(tag);
        return base.checkTargetUrl(url);
      },
      sendTestEvent: (hook, associateId) => base.sendTestEvent(hook, associateId),
    }),
    as: (tag, fn) => tags.run(tag, fn),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The state a sequence of committed state events leads to from `from`; fails unless they alternate. */
function stateAfter(from: WebhookState, events: string[]): WebhookState {
  let state = from;
  for (const e of events) {
    const to = e.endsWith('.started') ? 'Active' : 'Stopped';
    assert.notEqual(to, state, `${e} announced no change: the events ${JSON.stringify(events)} do not follow the committed states`);
    state = to;
  }
  return state;
}

for (const dialect of testDialects) {
  describe(`concurrent SaveWebhook of one hook (${dialect})`, { ...(await dialectAvailability(dialect)), timeout: 120_000 }, () => {
    let app: TestApp;
    let gate: PingGate;
    let agent: WebhookAgent;
    let by: AssociateSummary;
    let tried = 0;
    let passed = 0;
    const notes: string[] = [];

    before(async () => {
      gate = await startPingGate();
      app = await startApp(dialect, { env: { PING_ON_SAVE: 'true' } });
      // The agent as the app builds it (same database, target port and secret codec), called directly.
      agent = createWebhookAgent({ db: app.db, config: app.config, target: gate.target(app.delivery.target), secrets: secretCodecFor(app.config) });
      const admin = (await app.db.knex('associate').where('name', 'admin').first('associate_id')) as { associate_id: unknown };
      by = { associateId: Number(admin.associate_id), name: 'admin', fullName: '', userName: 'admin', personId: 0, deleted: false };
    });
    after(async () => {
      recordMetric({ suite: 'save-race', label: 'concurrent SaveWebhook of one hook', cases: tried, passed, note: `${dialect}: ${notes.join(', ')}` });
      await app?.close();
      await gate?.close();
    });

    /** An Active hook on the gate with 5 consecutive errors, and a hook subscribed to its state events. */
    async function watchedHook(name: string): Promise<number> {
      const hook = await agent.saveWebhook({ webhookId: 0, name, events: ['contact.created'], targetUrl: gate.url }, by);
      await agent.saveWebhook({ webhookId: 0, name: `${name}-watcher`, events: [`webhook${hook.webhookId}.stopped`, `webhook${hook.webhookId}.started`], targetUrl: gate.url }, by);
      await app.db.knex('webhook_usage').where('webhook_usage_id', hook.webhookId).update({ consecutive_errors: 5 });
      return hook.webhookId;
    }

    const stateEvents = async (id: number) => ((await app.db.knex('wa_event').where('name', 'like', `webhook${id}.%`).orderBy('event_id')) as Array<{ name: string }>)
      .map((e) => e.name.replace(`webhook${id}.`, ''));

    const usage = async (id: number) => Number(((await app.db.knex('webhook_usage').where('webhook_usage_id', id).first('consecutive_errors')) as { consecutive_errors: unknown }).consecutive_errors);

    /**
     * first starts, second starts LATER_MS later; once both pings have arrived (both saves have read the hook), the
     * ping named by `commitFirst` is answered and its save awaited, then the other one.
     */
    async function race(first: { tag: string; save: () => Promise<unknown> }, second: { tag: string; save: () => Promise<unknown> }, commitFirst: 'first' | 'second') {
      const a = first.save();
      await sleep(LATER_MS);
      const b = second.save();
      // Both saves have done their early read: each one's ping is held by the receiver.
      await Promise.all([gate.arrived(first.tag), gate.arrived(second.tag)]);
      const [x, y] = commitFirst === 'first' ? [[first, a], [second, b]] as const : [[second, b], [first, a]] as const;
      gate.release(x[0].tag);
      await x[1];
      gate.release(y[0].tag);
      await y[1];
    }

    const save = (id: number, tag: string, state: WebhookState | undefined) => () =>
      gate.as(tag, () => agent.saveWebhook({ webhookId: id, headers: { 'X-Save': tag }, ...(state ? { state } : {}) } satisfies WebhookDraft, by));

    test('Stopped, then Active 0.3 s later, committed in that order: ends Active with .stopped then .started, errors reset', async () => {
      tried += 1;
      const id = await watchedHook('race-1');
      await race({ tag: 'r1-stop', save: save(id, 'r1-stop', 'Stopped') }, { tag: 'r1-start', save: save(id, 'r1-start', 'Active') }, 'first');
      assert.deepEqual(gate.order.filter((t) => t.startsWith('r1-')), ['r1-stop', 'r1-start']);
      const final = (await agent.getWebhook(id)).state;
      const events = await stateEvents(id);
      assert.equal(final, 'Active', 'the save committed last set Active');
      assert.deepEqual(events, ['stopped', 'started'], 'one state event per committed change, in commit order');
      assert.equal(stateAfter('Active', events.map((e) => `.${e}`)), final);
      assert.equal(await usage(id), 0, 're-activation reset the error count');
      const deliveries = await app.db.knex('wa_delivery as d').join('wa_event as e', 'e.event_id', 'd.event_id').where('e.name', 'like', `webhook${id}.%`).count({ n: '*' });
      assert.equal(Number((deliveries[0] as { n: unknown }).n), 2, 'each state event has its delivery to the watcher');
      passed += 1;
      notes.push('Stopped<Active');
    });

    test('the same saves committed the other way round: ends Stopped with only .stopped', async () => {
      tried += 1;
      const id = await watchedHook('race-2');
      await race({ tag: 'r2-stop', save: save(id, 'r2-stop', 'Stopped') }, { tag: 'r2-start', save: save(id, 'r2-start', 'Active') }, 'second');
      const final = (await agent.getWebhook(id)).state;
      const events = await stateEvents(id);
      assert.equal(final, 'Stopped');
      assert.deepEqual(events, ['stopped'], 'the Active save changed nothing, so it announced nothing');
      assert.equal(stateAfter('Active', events.map((e) => `.${e}`)), final);
      assert.equal(await usage(id), 5, 'no re-activation, no reset');
      passed += 1;
      notes.push('Active<Stopped');
    });

    test('a save that omits State, committed after a Stopped one, keeps Stopped and fires nothing', async () => {
      tried += 1;
      const id = await watchedHook('race-3');
      await race({ tag: 'r3-stop', save: save(id, 'r3-stop', 'Stopped') }, { tag: 'r3-keep', save: save(id, 'r3-keep', undefined) }, 'first');
      const hook = await agent.getWebhook(id);
      assert.equal(hook.state, 'Stopped', 'an omitted State keeps the state as committed, not as read before the ping');
      assert.deepEqual(hook.headers, { 'X-Save': 'r3-keep' }, 'the rest of the later save was applied');
      assert.deepEqual(await stateEvents(id), ['stopped']);
      passed += 1;
      notes.push('Stopped<omitted');
    });

    test('both saves released at once, 10 rounds: the state events always follow the committed states', async () => {
      tried += 1;
      const id = await watchedHook('race-4');
      let state: WebhookState = 'Active';
      let seen = 0;
      for (let round = 0; round < 10; round++) {
        const [x, y] = [`r4-${round}-stop`, `r4-${round}-start`];
        const saves = [save(id, x, 'Stopped')(), save(id, y, 'Active')()];
        await Promise.all([gate.arrived(x), gate.arrived(y)]);
        gate.release(x);
        gate.release(y);
        await Promise.all(saves);
        const events = (await stateEvents(id)).slice(seen).map((e) => `.${e}`);
        seen += events.length;
        const final = (await agent.getWebhook(id)).state;
        assert.equal(stateAfter(state, events), final, `round ${round}: ${JSON.stringify(events)} from ${state}`);
        state = final;
      }
      passed += 1;
      notes.push(`10 simultaneous (${seen} events)`);
    });

    test("the save's transaction reads the state under lock before anything else (SQLite: takes the write lock first)", async () => {
      tried += 1;
      const id = await watchedHook('race-5');
      const statements: string[] = [];
      // As sent: pg numbers its placeholders; selectArrays marks SQLite statements whose rows it wants as arrays.
      const onQuery = (q: { sql: string }) => statements.push(q.sql.replace(ARRAY_ROWS_MARK, '').replace(/\$\d+/g, '?').replace(/\s+/g, ' ').trim());
      app.db.knex.on('query', onQuery);
      try {
        const r = save(id, 'r5', 'Stopped')();
        await gate.arrived('r5');
        statements.length = 0; // what came before the ping is the early read
        gate.release('r5');
        await r;
      } finally {
        app.db.knex.off('query', onQuery);
      }
      const begin = statements.findIndex((q) => /^BEGIN/i.test(q));
      assert.ok(begin >= 0, statements.join('\n'));
      assert.equal(statements[begin + 1], webhookStateLockSql(app.db.dialect), statements.join('\n'));
      passed += 1;
      notes.push('lock first');
    });

    // A lock cycle needs two sessions holding row locks across statements, which only PostgreSQL (and SQL Server)
    // have here; SQLite has one writer at a time.
    if (dialect === 'pg') {
      test('a save caught in a lock cycle with a worker (usage row, then webhook row) is run again, not failed', async () => {
        tried += 1;
        const id = await watchedHook('race-cycle');
        await agent.saveWebhook({ webhookId: id, state: 'Stopped' }, by);
        // "The worker": it counts a failed attempt on the usage row, then turns the hook's state, in one transaction.
        const worker = await app.db.knex.transaction();
        try {
          // Only the save's session may detect the cycle (PostgreSQL's default deadlock_timeout is 1 s).
          await worker.raw(`set local deadlock_timeout = '60s'`);
          await worker('webhook_usage').where('webhook_usage_id', id).update({ consecutive_errors: 7 });
          // Re-activating locks the webhook row, then waits for the usage row to reset the error count.
          const saving = agent.saveWebhook({ webhookId: id, state: 'Active' }, by);
          const failed = saving.then(() => null, (err: unknown) => err);
          for (let i = 0; ; i++) {
            const waiting = await app.db.knex.raw(
              `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
            if ((waiting.rows[0] as { n: number }).n > 0) break;
            assert.ok(i < 400, 'the save never waited for the usage row');
            await sleep(25);
          }
          // Closes the cycle; PostgreSQL rolls the save's transaction back after its deadlock_timeout.
          await worker.raw('update webhook set state = state where webhook_id = ?', [id]);
          await worker.commit();
          assert.equal(await failed, null, 'the save succeeded');
        } finally {
          if (!worker.isCompleted()) await worker.rollback();
        }
        const hook = await agent.getWebhook(id);
        assert.equal(hook.state, 'Active');
        assert.deepEqual(await stateEvents(id), ['stopped', 'started']);
        assert.equal(await usage(id), 0, 'the retried save reset the count the worker had committed');
        passed += 1;
        notes.push('lock cycle retried');
      });
    }

    test('through the SOAP face: Active held in its ping while a Stopped save commits: ends Active with .stopped then .started', async () => {
      tried += 1;
      const id = await watchedHook('race-soap');
      const soapSave = (tag: string, state: WebhookState) => async () => {
        const r = await app.call(88, 'SaveWebhook', webhookXml({
          id, name: 'race-soap', events: ['contact.created'], targetUrl: gate.url, state, headers: { 'X-Save': tag },
        }));
        assert.equal(r.succeeded, true, r.text);
        return textAt(r.response, 'State');
      };
      // The Active save reads "Active" and pings (its headers change); the Stopped save sends no ping and commits
      // while that ping is held; the Active save then commits on top of it.
      const starting = soapSave('rs-start', 'Active')();
      await gate.arrived('rs-start');
      assert.equal(await soapSave('rs-stop', 'Stopped')(), 'Stopped');
      gate.release('rs-start');
      assert.equal(await starting, 'Active');
      const got = await app.call(88, 'GetWebhook', `<WebhookId>${id}</WebhookId>`);
      assert.equal(textAt(got.response, 'State'), 'Active', got.text);
      assert.deepEqual(await stateEvents(id), ['stopped', 'started']);
      assert.equal(await usage(id), 0);
      passed += 1;
      notes.push('SOAP');
    });
  });
}
