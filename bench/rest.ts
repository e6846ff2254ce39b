/**
 * GET /api/v1/Webhook/{id} and GET /api/v1/Webhook (100 webhooks) requests/s through the real app's RESTful face
 * (SOTicket check, SQLite read, JSON mapping) against plain express sending the same response bytes, measured in one
 * run with the same closed-loop client. The servers run in a child process (bench/fixtures/soap-servers.ts).
 *
 *   node --disable-proto=delete --import tsx bench/rest.ts      (BENCH_SECONDS=5, BENCH_CONCURRENCY=16)
 * Targets (issue 11): >= 0.7 of plain for GET /api/v1/Webhook/{id}, >= 0.35 for GET /api/v1/Webhook (100).
 */
import { pathToFileURL } from 'node:url';
import { closedLoop, type LoadResult } from './http-load.js';
import { startSoapServers } from './fixtures/fixture-process.js';

interface Side extends LoadResult { cpuMicros: number }

export async function runRestBench(seconds = Number(process.env.BENCH_SECONDS ?? 5), concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16)) {
  const servers = await startSoapServers();
  try {
    const { soapUrl, plainUrl, ticket } = servers;
    const api = `${new URL(soapUrl).origin}/api/v1`;
    const cpu = servers.cpuMicros;
    const headers = { Authorization: `SOTicket ${ticket}`, Accept: 'application/json' };
    const results: Array<{ name: string; target: number; bytes: number; rest: Side; plain: Side }> = [];
    for (const c of [{ name: 'GET /api/v1/Webhook/{id}', path: '/Webhook/1', target: 0.7 }, { name: 'GET /api/v1/Webhook (100)', path: '/Webhook', target: 0.35 }]) {
      const sample = await fetch(`${api}${c.path}`, { headers });
      const bytes = Buffer.from(await sample.arrayBuffer());
      if (sample.status !== 200) throw new Error(`${c.name} failed: ${sample.status} ${bytes.toString().slice(0, 300)}`);
      if (c.path === '/Webhook' && (JSON.parse(bytes.toString()) as unknown[]).length !== 100) throw new Error('expected 100 webhooks');
      await fetch(`${plainUrl}/set?key=${encodeURIComponent(c.name)}`, { method: 'POST', body: bytes });
      const urls = { rest: `${api}${c.path}`, plain: `${plainUrl}/reply?key=${encodeURIComponent(c.name)}` };
      const run = async (which: 'rest' | 'plain', s: number): Promise<Side> => {
        const before = await cpu();
        const r = await closedLoop({ url: urls[which], method: 'GET', headers, body: Buffer.alloc(0), concurrency, seconds: s, check: (b) => b.length === bytes.length });
        return { ...r, cpuMicros: (await cpu()) - before };
      };
      await run('rest', 1);
      await run('plain', 1);
      // Plain, REST, REST, plain: drift on a shared machine hits both sides alike.
      const order = ['plain', 'rest', 'rest', 'plain'] as const;
      const sides: Record<'rest' | 'plain', Side[]> = { rest: [], plain: [] };
      for (const which of order) sides[which].push(await run(which, seconds / 2));
      const sum = (xs: Side[]): Side => {
        const requests = xs.reduce((n, x) => n + x.requests, 0);
        const secs = xs.reduce((n, x) => n + x.seconds, 0);
        return {
          requests, seconds: secs, perSecond: requests / secs, failures: xs.reduce((n, x) => n + x.failures, 0),
          p50Ms: xs.reduce((n, x) => n + x.p50Ms, 0) / xs.length, p99Ms: Math.max(...xs.map((x) => x.p99Ms)),
          cpuMicros: xs.reduce((n, x) => n + x.cpuMicros, 0),
        };
      };
      results.push({ name: c.name, target: c.target, bytes: bytes.length, rest: sum(sides.rest), plain: sum(sides.plain) });
    }
    console.log(`\nRESTful face vs plain express, same bytes, ${concurrency} keep-alive clients, ${seconds}s each:`);
    console.log('| request | response bytes | REST req/s | plain req/s | ratio | target | server CPU per request, REST / plain | REST p99 ms | failures |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of results) {
      const ratio = r.rest.perSecond / r.plain.perSecond;
      const us = (s: Side) => (s.cpuMicros / s.requests).toFixed(0);
      console.log(`| ${r.name} | ${r.bytes} | ${r.rest.perSecond.toFixed(0)} | ${r.plain.perSecond.toFixed(0)} | ${ratio.toFixed(2)} | >= ${r.target} ${ratio >= r.target ? 'met' : 'MISSED'} `
        + `| ${us(r.rest)} us / ${us(r.plain)} us | ${r.rest.p99Ms.toFixed(1)} | ${r.rest.failures + r.plain.failures} |`);
    }
    return results;
  } finally {
    await servers.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await runRestBench();
