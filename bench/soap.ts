/**
 * GetWebhook and GetAllWebhooks(100 webhooks) requests/s through the real SOAP app (ticket check, SQLite read,
 * compiled serializer) against plain express sending the same response bytes, measured in one run with the same
 * closed-loop client. Servers run in a child process so the client does not share their event loop. Two load
 * generators, each against both servers: the Node client (http-load.ts) and wrk in its own process (wrk-load.ts),
 * when installed.
 *
 *   node --disable-proto=delete --import tsx bench/soap.ts      (BENCH_SECONDS=5, BENCH_CONCURRENCY=16, BENCH_WRK=0 to skip wrk)
 * Targets (issue 2): >= 0.6 of plain for GetWebhook, >= 0.25 for GetAllWebhooks(100).
 */
import { pathToFileURL } from 'node:url';
import { closedLoop, type LoadResult } from './http-load.js';
import { startSoapServers } from './fixtures/fixture-process.js';
import { wrkAvailable, wrkLoop } from './wrk-load.js';

const NS = 'http://www.superoffice.net/ws/crm/NetServer/Services88';
const env = (ticket: string, body: string) => Buffer.from(
  `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Credentials xmlns="${NS}"><Ticket>${ticket}</Ticket></Credentials></s:Header><s:Body>${body}</s:Body></s:Envelope>`);

export async function runSoapBench(seconds = Number(process.env.BENCH_SECONDS ?? 5), concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16)) {
  const servers = await startSoapServers();
  try {
    const { soapUrl, plainUrl, ticket } = servers;
    const serverCpu = servers.cpuMicros;
    const cases = [
      { name: 'GetWebhook', body: env(ticket, `<GetWebhook xmlns="${NS}"><WebhookId>1</WebhookId></GetWebhook>`) },
      { name: 'GetAllWebhooks(100)', body: env(ticket, `<GetAllWebhooks xmlns="${NS}"><StatusFilter>Unknown</StatusFilter></GetAllWebhooks>`) },
    ];
    type Phase = LoadResult & { cpuMicros: number };
    const out: Array<{ name: string; client: string; bytes: number; soap: Phase; plain: Phase; ratio: number }> = [];
    const clients = ['node', ...(process.env.BENCH_WRK !== '0' && wrkAvailable() ? ['wrk'] : [])];
    for (const client of clients) for (const c of cases) {
      const headers = { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/Webhook/${c.name.replace(/\(.*/, '')}"` };
      const sample = await fetch(soapUrl, { method: 'POST', headers, body: c.body });
      const bytes = Buffer.from(await sample.arrayBuffer());
      if (!sample.ok || !bytes.includes('<Succeeded xmlns="' + NS + '">true</Succeeded>')) throw new Error(`${c.name} failed: ${bytes.toString().slice(0, 400)}`);
      await fetch(`${plainUrl}/set?key=${encodeURIComponent(c.name)}`, { method: 'POST', body: bytes });
      const check = (b: Buffer) => b.length === bytes.length;
      // Warm-up, then alternate plain and SOAP so drift on a shared machine hits both.
      await closedLoop({ url: soapUrl, headers, body: c.body, concurrency, seconds: 1, check });
      const plainUrlFor = `${plainUrl}/reply?key=${encodeURIComponent(c.name)}`;
      // Each phase also records the server process's CPU time: on a small machine the client competes with the server
      // for cores, so CPU per request is the steadier measure of what a request costs the server.
      const phase = async (url: string): Promise<Phase> => {
        const before = await serverCpu();
        const r = client === 'wrk'
          ? await wrkLoop({ url, headers, body: c.body, concurrency, seconds: seconds / 2, expectBytes: bytes.length })
          : await closedLoop({ url, headers, body: c.body, concurrency, seconds: seconds / 2, check });
        return { ...r, cpuMicros: (await serverCpu()) - before };
      };
      const p1 = await phase(plainUrlFor);
      const s1 = await phase(soapUrl);
      const s2 = await phase(soapUrl);
      const p2 = await phase(plainUrlFor);
      const merge = (a: Phase, b: Phase): Phase => ({
        requests: a.requests + b.requests, failures: a.failures + b.failures, seconds: a.seconds + b.seconds,
        perSecond: (a.requests + b.requests) / (a.seconds + b.seconds), p50Ms: (a.p50Ms + b.p50Ms) / 2, p99Ms: Math.max(a.p99Ms, b.p99Ms),
        cpuMicros: a.cpuMicros + b.cpuMicros,
      });
      const soap = merge(s1, s2);
      const plain = merge(p1, p2);
      out.push({ name: c.name, client, bytes: bytes.length, soap, plain, ratio: soap.perSecond / plain.perSecond });
    }
    const split = (await (await fetch(`${plainUrl}/split`)).json()) as Record<string, Record<string, number>>;
    const perReq = (p: Phase) => p.cpuMicros / p.requests;
    console.log(`\nSOAP vs plain express, same bytes, ${concurrency} keep-alive clients, ${seconds}s each:`);
    console.log('| operation | load generator | response bytes | SOAP req/s | plain req/s | ratio | target | server CPU per request, SOAP / plain | SOAP p99 ms | failures |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of out) {
      const target = r.name === 'GetWebhook' ? 0.6 : 0.25;
      console.log(`| ${r.name} | ${r.client} | ${r.bytes} | ${r.soap.perSecond.toFixed(0)} | ${r.plain.perSecond.toFixed(0)} | ${r.ratio.toFixed(2)} | >= ${target} ${r.ratio >= target ? 'met' : 'MISSED'} | ${perReq(r.soap).toFixed(0)} us / ${perReq(r.plain).toFixed(0)} us | ${r.soap.p99Ms.toFixed(1)} | ${r.soap.failures + r.plain.failures} |`);
    }
    console.log('\nWhere a SOAP request goes, measured in-process in the server (us per call), next to plain express\'s whole request:');
    console.log('| operation | plain express, whole request (server CPU) | ' + Object.keys(split.GetWebhook).join(' | ') + ' |');
    console.log('|---|---|' + Object.keys(split.GetWebhook).map(() => '---|').join(''));
    for (const r of out.filter((x) => x.client === 'node')) {
      console.log(`| ${r.name} | ${perReq(r.plain).toFixed(0)} | ${Object.values(split[r.name]).join(' | ')} |`);
    }
    return out;
  } finally {
    await servers.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await runSoapBench();
