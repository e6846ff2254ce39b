/**
 * Idle sockets (issue 8, item 6): 2,000 connections that never send a byte must not use up the service's file
 * descriptors. Over MAX_CONNECTIONS new connections are closed at once; a keep-alive connection opened before the
 * flood keeps being served, and once the flood ends new connections are served again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { readdirSync } from 'node:fs';
import { startService, type RunningService } from '../helpers/service.js';
import { recordMetric } from './support/harness.js';

const CAP = 64;
const FLOOD = 2_000;

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

function healthz(port: number, agent: http.Agent | false): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

describe('connection cap (MAX_CONNECTIONS)', { timeout: 180_000 }, () => {
  let svc: RunningService;
  const sockets: net.Socket[] = [];
  let tried = 0;
  let passed = 0;

  before(async () => {
    svc = await startService({ MAX_CONNECTIONS: String(CAP) });
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    recordMetric({ suite: 'connections', label: `idle-socket flood (${FLOOD}, cap ${CAP})`, cases: tried, passed });
    await svc?.stop();
  });

  test(`${FLOOD} idle sockets: descriptors stay bounded, an existing keep-alive client is served, new ones after`, async () => {
    const pid = svc.proc.pid!;
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await healthz(svc.port, keepAlive)).status, 200);
      const baseline = openFds(pid);

      let closedByServer = 0;
      for (let i = 0; i < FLOOD; i++) {
        const s = net.connect({ host: '127.0.0.1', port: svc.port });
        s.on('error', () => undefined);
        s.on('close', () => (closedByServer += 1));
        sockets.push(s);
        if (i % 200 === 199) await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 1_000));
      tried += 1;
      const during = openFds(pid);
      assert.ok(during <= baseline + CAP + 16, `open descriptors ${baseline} -> ${during} with ${FLOOD} idle sockets (cap ${CAP})`);
      assert.ok(closedByServer >= FLOOD - CAP - 2, `the server closed ${closedByServer} of ${FLOOD} connections over the cap`);
      passed += 1;

      tried += 1;
      const r = await healthz(svc.port, keepAlive);
      assert.equal(r.status, 200, 'the keep-alive connection opened before the flood is still served');
      passed += 1;

      for (const s of sockets.splice(0)) s.destroy();
      await new Promise((r2) => setTimeout(r2, 500));
      tried += 1;
      assert.equal((await healthz(svc.port, false)).status, 200, 'a new connection is served once the flood is gone');
      passed += 1;
      assert.match(svc.output(), /connection limits: connections are being closed/);
    } finally {
      keepAlive.destroy();
    }
  });
});
