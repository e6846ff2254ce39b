/**
 * Unauthenticated CPU (issue 8, part 5): two clients send, in a loop and without credentials, a 1 MB GetAllWebhooks
 * whose NameFilter holds nothing but `<z/>` elements. The request reader stops at the first element the contract
 * does not allow, so each costs the service little (before the reader, about 0.55 s of event loop each). Checked:
 * the service's CPU time per flood request (from /proc, steady on a busy machine) stays under 25 ms, and /healthz,
 * polled meanwhile, keeps its p95 under max(500 ms, 8 x its idle p95 measured in the same run). The target is a p95
 * under 200 ms; the looser bound only keeps a machine busy with other test files from failing the run, while one
 * request blocking the loop for 0.55 s, as before the reader, still fails it. Both figures go into the table.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { percentile } from '../../bench/http-load.js';
import { NS88, soapAction, WEBHOOK_PATH } from './support/envelopes.js';
import { readFileSync } from 'node:fs';
import { openSession, recordMetric, type Session } from './support/harness.js';
import { assertClearRefusal } from './support/wire.js';

const FLOOD_SECONDS = Number(process.env.UNAUTH_FLOOD_SECONDS ?? 8);
const BODY_BYTES = 1_000_000;

/** User + system CPU time of a process in ms (Linux /proc; clock ticks of 10 ms), or null elsewhere. */
function cpuMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

function zFlood(): string {
  const head = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetAllWebhooks xmlns="${NS88}"><NameFilter>`;
  const tail = '</NameFilter></GetAllWebhooks></s:Body></s:Envelope>';
  return head + '<z/>'.repeat(Math.floor((BODY_BYTES - head.length - tail.length) / 4)) + tail;
}

describe('unauthenticated CPU: 1 MB of <z/> inside NameFilter from two clients', { timeout: 120_000 }, () => {
  let s: Session;
  before(async () => {
    s = await openSession({ PING_ON_SAVE: 'false' });
  });
  after(async () => {
    await s?.close();
  });

  async function healthzLatencies(until: () => boolean): Promise<number[]> {
    const out: number[] = [];
    while (!until()) {
      const t = performance.now();
      const r = await s.client.request({ path: '/healthz', method: 'GET', timeoutMs: 10_000 });
      assert.equal(r.status, 200);
      out.push(performance.now() - t);
      await new Promise((res) => setTimeout(res, 20));
    }
    return out.sort((a, b) => a - b);
  }

  test('the flood costs little CPU per request and /healthz stays responsive', async () => {
    let end = performance.now() + 2000;
    const idle = await healthzLatencies(() => performance.now() > end);
    const body = zFlood();
    assert.ok(body.length >= 990_000 && body.length <= BODY_BYTES, `body is ${body.length} bytes`);
    let sent = 0;
    let refused = 0;
    const pid = s.service.proc.pid!;
    const cpuBefore = cpuMs(pid);
    end = performance.now() + FLOOD_SECONDS * 1000;
    const flooder = async () => {
      while (performance.now() < end) {
        const r = await s.client.request({
          path: WEBHOOK_PATH, body, timeoutMs: 30_000,
          headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${soapAction('GetAllWebhooks')}"` },
        });
        sent++;
        const a = assertClearRefusal(r, 'z flood');
        assert.match(a.exceptionMessage ?? '', /NameFilter/, 'the refusal names NameFilter');
        refused++;
      }
    };
    const [flood] = await Promise.all([healthzLatencies(() => performance.now() > end), flooder(), flooder()]);
    const cpuAfter = cpuMs(pid);
    const cpuPerRequest = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / sent;
    const idleP95 = percentile(idle, 95);
    const floodP95 = percentile(flood, 95);
    const budget = Math.max(500, 8 * idleP95);
    const ok = floodP95 <= budget && (cpuPerRequest === null || cpuPerRequest < 25);
    recordMetric({
      suite: 'unauthenticated-cpu', cases: 1, passed: ok ? 1 : 0, floodRequests: sent, cpuMsPerRequest: cpuPerRequest,
      healthzP95Ms: Math.round(floodP95 * 10) / 10, healthzIdleP95Ms: Math.round(idleP95 * 10) / 10, healthzSamples: flood.length,
    });
    process.stdout.write(`# z flood: ${sent} requests (${refused} refused) in ${FLOOD_SECONDS} s, service CPU ${cpuPerRequest?.toFixed(2) ?? '?'} ms `
      + `per request; /healthz p95 ${floodP95.toFixed(1)} ms under flood, ${idleP95.toFixed(1)} ms idle\n`);
    assert.ok(sent >= 4, `the flood sent only ${sent} requests`);
    if (cpuPerRequest !== null) assert.ok(cpuPerRequest < 25, `the service spent ${cpuPerRequest.toFixed(1)} ms of CPU per flood request`);
    assert.ok(floodP95 <= budget, `/healthz p95 ${floodP95.toFixed(1)} ms under the flood > ${budget.toFixed(0)} ms`);
  });
});
