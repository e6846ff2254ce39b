/**
 * PostgreSQL restarted under the service while it serves and delivers (issue 4, part 6a).
 *
 * A throwaway cluster of our own (support/pg-cluster.ts; the shared one on 5432 is never touched). Clients signal
 * events continuously to three subscribers on a loopback receiver while the cluster is stopped ('fast', then
 * 'immediate', i.e. a crash) and started again. During an outage every request must come back, promptly, as a
 * clear ExceptionInfo (no hang, no fault, no crash); the service must recover by itself; and every event it
 * acknowledged must afterwards reach every subscriber (0 lost).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { login } from '../helpers/service.js';
import { buildRequest } from './support/envelopes.js';
import { recordMetric, startGuardedService, type GuardedService } from './support/harness.js';
import { createClient, type HttpResult, type SoapClient } from './support/http-client.js';
import { createPgCluster, type PgCluster } from './support/pg-cluster.js';
import { startReceiver, waitFor, type Receiver } from './support/receiver.js';
import { assertNoLeak, assertSucceeded, isExceptionInfo, readAnswer } from './support/wire.js';
import { requires } from '../helpers/requires.js';

const EVENT = 'pg.restart';
const SUBSCRIBERS = 3;
/** Longer than this for one request counts as a hang. */
const REQUEST_DEADLINE_MS = 15_000;


describe('PostgreSQL restarted while serving and delivering', { ...(await requires('xmllint', 'postgres', 'initdb')), timeout: 240_000 }, () => {
  let cluster: PgCluster;
  let receiver: Receiver;
  let svc: GuardedService;
  let client: SoapClient;
  let ticket = '';
  const acked = new Set<number>();
  const refusals: string[] = [];
  const badAnswers: string[] = [];
  let refusalSample = '';
  let outages = 0;
  let recovered = 0;

  before(async () => {
    cluster = await createPgCluster();
    await cluster.psql('CREATE DATABASE wa');
    receiver = await startReceiver('ok');
    svc = await startGuardedService({
      DATABASE_URL: cluster.url('wa'), PING_ON_SAVE: 'false', DB_POOL_MAX: '5', POLL_INTERVAL_MS: '100',
      DELIVERY_TIMEOUT_MS: '2000', LEASE_MS: '8000',
    });
    client = createClient(svc.baseUrl, { maxSockets: 16 });
    ticket = await login(svc.baseUrl);
    for (let i = 0; i < SUBSCRIBERS; i++) {
      assertSucceeded(await client.soap(buildRequest({ op: 'SaveWebhook', webhook: { name: `pg-sub-${i}`, events: [EVENT], targetUrl: `${receiver.url}/${i}` } }, ticket)), 'SaveWebhook');
    }
  });

  after(async () => {
    client?.close();
    await svc?.stop('SIGKILL');
    await receiver?.close();
    await cluster?.destroy();
  });

  /** Signals continuously from `lanes` clients until `stop()`; classifies every answer. */
  function signalLoop(lanes: number, firstKey: number) {
    let running = true;
    let key = firstKey;
    const one = async () => {
      while (running) {
        const k = key++;
        const started = Date.now();
        let r: HttpResult;
        try {
          r = await client.soap(buildRequest({ op: 'SignalEvent', eventName: EVENT, primaryKey: k }, ticket), { timeoutMs: REQUEST_DEADLINE_MS });
        } catch (err) {
          badAnswers.push(`key ${k}: no answer after ${Date.now() - started} ms (${(err as Error).message})`);
          continue;
        }
        const a = readAnswer(r.text);
        if (r.status === 200 && a.succeeded === true) acked.add(k);
        else if (isExceptionInfo(r)) {
          refusals.push(a.exceptionMessage ?? '');
          refusalSample ||= /<(?:\w+:)?ExceptionInfo[\s\S]*?<\/(?:\w+:)?ExceptionInfo>/.exec(r.text)?.[0] ?? '';
        }
        else badAnswers.push(`key ${k}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
        try {
          assertNoLeak(r);
        } catch (err) {
          badAnswers.push(`key ${k}: ${(err as Error).message.slice(0, 300)}`);
        }
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    const done = Promise.all(Array.from({ length: lanes }, one));
    return { stop: async () => ((running = false), await done) };
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  for (const [round, mode] of [[1, 'fast'], [2, 'immediate']] as const) {
    test(`round ${round}: pg_ctl stop -m ${mode} mid-run, then start`, async () => {
      const refusalsBefore = refusals.length;
      const ackedBefore = acked.size;
      const loop = signalLoop(4, round * 1_000_000);
      await sleep(1500);
      await cluster.stop(mode);
      outages += 1;
      await sleep(3000);
      const ready = await fetch(`${svc.baseUrl}/readyz`).then((r) => r.status, () => 0);
      await cluster.start();
      // The service must come back by itself: requests succeed again without a restart.
      const ackedAtRestart = acked.size;
      await waitFor(() => acked.size > ackedAtRestart + 20, 60_000, 'SignalEvent to succeed again after the restart');
      await loop.stop();
      assert.equal(svc.proc.exitCode, null, `the service died:\n${svc.output().slice(-2000)}`);
      recovered += 1;
      assert.deepEqual(badAnswers, [], 'every request during the outage got a clear answer in time');
      assert.ok(refusals.length > refusalsBefore, 'requests during the outage were refused (else the outage was not observed)');
      assert.ok(acked.size > ackedBefore, 'events were accepted');
      assert.equal(ready, 503, '/readyz reports the outage');
      assert.equal(await fetch(`${svc.baseUrl}/readyz`).then((r) => r.status), 200, '/readyz after recovery');
    });
  }

  test('every acknowledged event reaches every subscriber (0 lost)', async () => {
    const delivered = () => {
      const pairs = new Set<string>();
      for (const d of receiver.deliveries) {
        if (!d.test && d.body) pairs.add(`${d.body.PrimaryKey}/${d.body.WebhookName}`);
      }
      return pairs;
    };
    const expected: string[] = [];
    for (const k of acked) for (let i = 0; i < SUBSCRIBERS; i++) expected.push(`${k}/pg-sub-${i}`);
    let missing: string[] = [];
    await waitFor(() => {
      const got = delivered();
      missing = expected.filter((p) => !got.has(p));
      return missing.length === 0;
    }, 120_000, `${expected.length} deliveries`).catch(() => {});
    recordMetric({
      suite: 'faults-postgres', faults: outages, faultsSurvived: recovered, eventsLost: missing.length, eventsAccepted: acked.size,
      refusedDuringOutage: refusals.length, refusalSample: refusalSample.slice(0, 1500),
    });
    assert.equal(missing.length, 0, `${missing.length} of ${expected.length} acknowledged deliveries never arrived, e.g. ${missing.slice(0, 5).join(', ')}`);
  });
});
