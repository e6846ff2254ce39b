/**
 * SignalEvent ingest and the deliveries that follow it, through the real service (SOAP app and delivery worker in
 * one process, as `serve` runs them; bench/fixtures/signal-server.ts), on SQLite and PostgreSQL, with 1 and 10
 * subscribed webhooks pointing at a loopback receiver in this process.
 *
 * 1. Ratio: SignalEvent requests/s with BENCH_CONCURRENCY (16) keep-alive clients against plain express sending the
 *    same response bytes, measured in one run, phases alternated; the server's CPU per request; and the deliveries
 *    the worker got out while SignalEvent was saturated (does ingest starve it?).
 * 2. Sustained: SignalEvent at half the measured maximum (1 subscriber), open loop (requests sent on a fixed
 *    schedule, not when the last one answered) for SUSTAIN_SECONDS (60): the pending backlog sampled every 5 s, and
 *    the time from sending SignalEvent to the receiver getting the delivery (an upper bound of commit -> receiver),
 *    after an unmeasured 3 s warm-up.
 *
 *   node --disable-proto=delete --import tsx bench/signal.ts
 *   env: BENCH_SECONDS (6), BENCH_CONCURRENCY (16), SUSTAIN_SECONDS (60), SIGNAL_BACKENDS (sqlite,pg), PG_URL,
 *   SUSTAIN_RATE (events/s: skip part 1 and run only part 2 at this rate, to compare two trees at the same load)
 * Targets (issue 9): SQLite >= 0.3 (1 subscriber) and >= 0.15 (10); PostgreSQL >= 0.15 for both; sustained backlog
 * flat and p99 <= 100 ms.
 */
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { closedLoop, percentile, type LoadResult } from './http-load.js';
import { startBenchReceiver, type BenchReceiver } from './receiver.js';
import { startFixture } from './fixtures/fixture-process.js';
import { pgUnavailableReason } from '../test/helpers/db.js';

const NS = 'http://www.superoffice.net/ws/crm/NetServer/Services88';
const headers = { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/Webhook/SignalEvent"` };
const signalEnvelope = (ticket: string, pk: number) => Buffer.from(
  `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Credentials xmlns="${NS}"><Ticket>${ticket}</Ticket></Credentials></s:Header>` +
  `<s:Body><SignalEvent xmlns="${NS}"><EventName>contact.changed</EventName><PrimaryKey>${pk}</PrimaryKey><Data xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns:b="http://www.w3.org/2001/XMLSchema">` +
  `<StringObjectKeyValuePair><Key>name</Key><Value i:type="b:string">Company ${pk}</Value></StringObjectKeyValuePair>` +
  `<StringObjectKeyValuePair><Key>contact_id</Key><Value i:type="b:int">${pk}</Value></StringObjectKeyValuePair>` +
  '</Data></SignalEvent></s:Body></s:Envelope>');


interface ServerInfo { soapUrl: string; plainUrl: string; ticket: string }
type Server = ServerInfo & { stop(): Promise<void> };

async function startServer(backend: string, subscribers: number, receiverUrl: string): Promise<Server> {
  const f = await startFixture<ServerInfo>('signal-server.ts', { BACKEND: backend, SUBSCRIBERS: String(subscribers), RECEIVER_URL: receiverUrl });
  return { ...f.info, stop: f.stop };
}

const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;
interface Backlog { pending: number; succeeded: number; rssBytes: number }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until nothing is pending (or maxMs passes); returns the backlog then. */
async function drained(s: Server, maxMs: number): Promise<Backlog> {
  const until = performance.now() + maxMs;
  for (;;) {
    const b = await getJson<Backlog>(`${s.plainUrl}/backlog`);
    if (b.pending === 0 || performance.now() > until) return b;
    await sleep(200);
  }
}

type Phase = LoadResult & { cpuMicros: number; delivered: number };
export interface RatioFigures {
  backend: string; subscribers: number; soap: Phase; plain: Phase; ratio: number; backlogAfter: number; drainSeconds: number;
}

async function ratioCase(backend: string, subscribers: number, rx: BenchReceiver, seconds: number, concurrency: number): Promise<RatioFigures> {
  const s = await startServer(backend, subscribers, rx.url);
  try {
    const body = signalEnvelope(s.ticket, 1);
    const sample = await fetch(s.soapUrl, { method: 'POST', headers, body });
    const bytes = Buffer.from(await sample.arrayBuffer());
    if (!sample.ok || !bytes.includes('<Succeeded xmlns="' + NS + '">true</Succeeded>')) throw new Error(`SignalEvent failed: ${bytes.toString().slice(0, 400)}`);
    await fetch(`${s.plainUrl}/set`, { method: 'POST', body: bytes });
    const check = (b: Buffer) => b.length === bytes.length;
    const phase = async (url: string): Promise<Phase> => {
      const cpu0 = (await getJson<{ micros: number }>(`${s.plainUrl}/cpu`)).micros;
      const rx0 = rx.count;
      const r = await closedLoop({ url, headers, body, concurrency, seconds: seconds / 2, check });
      const cpu1 = (await getJson<{ micros: number }>(`${s.plainUrl}/cpu`)).micros;
      return { ...r, cpuMicros: cpu1 - cpu0, delivered: rx.count - rx0 };
    };
    const settle = async () => { await drained(s, 120_000); };
    // Warm-up, then alternate plain and SOAP so drift on a shared machine hits both; drain between SOAP phases so
    // each starts from an empty queue, and measure the plain phases with the worker idle.
    await closedLoop({ url: s.soapUrl, headers, body, concurrency, seconds: 1, check });
    await settle();
    const p1 = await phase(`${s.plainUrl}/reply`);
    const s1 = await phase(s.soapUrl);
    const t0 = performance.now();
    await drained(s, 120_000);
    const drain1 = (performance.now() - t0) / 1000;
    const s2 = await phase(s.soapUrl);
    const backlog2 = (await getJson<Backlog>(`${s.plainUrl}/backlog`)).pending;
    await settle();
    const p2 = await phase(`${s.plainUrl}/reply`);
    const merge = (a: Phase, b: Phase): Phase => ({
      requests: a.requests + b.requests, failures: a.failures + b.failures, seconds: a.seconds + b.seconds,
      perSecond: (a.requests + b.requests) / (a.seconds + b.seconds), p50Ms: (a.p50Ms + b.p50Ms) / 2, p99Ms: Math.max(a.p99Ms, b.p99Ms),
      cpuMicros: a.cpuMicros + b.cpuMicros, delivered: a.delivered + b.delivered,
    });
    const soap = merge(s1, s2);
    const plain = merge(p1, p2);
    return { backend, subscribers, soap, plain, ratio: soap.perSecond / plain.perSecond, backlogAfter: backlog2, drainSeconds: drain1 };
  } finally {
    await s.stop();
  }
}

export interface SustainedFigures {
  backend: string; subscribers: number; rate: number; seconds: number; sent: number; failures: number; delivered: number;
  backlogSamples: number[]; p50Ms: number; p99Ms: number; maxMs: number; answerP99Ms: number; rssMiB: number[];
  /** From the outbox: enqueue -> attempt start, and the attempt's HTTP call (ms). */
  outbox: { waitP50: number; waitP99: number; callP50: number; callP99: number };
}

/** Open loop: SignalEvent at `rate` per second for `seconds`, each with its own PrimaryKey to match the deliveries. */
async function sustainedCase(backend: string, subscribers: number, rate: number, seconds: number, rx: BenchReceiver): Promise<SustainedFigures> {
  const s = await startServer(backend, subscribers, rx.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const u = new URL(s.soapUrl);
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    const answers: number[] = [];
    rx.onBody = (body, at) => {
      const t = sentAt.get(body.PrimaryKey as number);
      if (t !== undefined) latencies.push(at - t);
    };
    let failures = 0;
    const send = (pk: number) => {
      const body = signalEnvelope(s.ticket, pk);
      const t0 = performance.now();
      sentAt.set(pk, t0);
      const req = http.request({ agent, method: 'POST', hostname: u.hostname, port: u.port, path: u.pathname,
        headers: { ...headers, 'Content-Length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => {
          answers.push(performance.now() - t0);
          if (res.statusCode !== 200) failures++;
        });
      });
      req.on('error', () => { failures++; });
      req.end(body);
    };
    // Warm-up, unmeasured (PrimaryKey 0 is never matched): a cold server (JIT, the SOAP endpoint compiled on first
    // use, first connections) kept the first 2 s of deliveries 50-500 ms late, which alone set the p99 of a minute.
    await closedLoop({ url: s.soapUrl, headers, body: signalEnvelope(s.ticket, 0), concurrency: 2, seconds: 3 });
    await drained(s, 120_000);
    const measuredSince = Date.now();
    const backlogSamples: number[] = [];
    const rssMiB: number[] = [];
    const sample = async () => {
      const b = await getJson<Backlog>(`${s.plainUrl}/backlog`);
      backlogSamples.push(b.pending);
      rssMiB.push(Math.round(b.rssBytes / 1024 / 1024));
    };
    await sample();
    const total = Math.round(rate * seconds);
    const start = performance.now();
    let sent = 0;
    let nextSample = start + 5000;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      while (sent < due) send(++sent);
      if (performance.now() >= nextSample) {
        nextSample += 5000;
        void sample();
      }
      await sleep(1);
    }
    await sample();
    const deadline = performance.now() + 60_000;
    while (latencies.length < total * subscribers && performance.now() < deadline) await sleep(50);
    latencies.sort((a, b) => a - b);
    answers.sort((a, b) => a - b);
    const outbox = await getJson<SustainedFigures['outbox']>(`${s.plainUrl}/latency?since=${measuredSince}`);
    return { outbox,
      backend, subscribers, rate, seconds, sent: total, failures, delivered: latencies.length, backlogSamples, rssMiB,
      p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: latencies[latencies.length - 1] ?? NaN,
      answerP99Ms: percentile(answers, 99),
    };
  } finally {
    rx.onBody = () => {};
    agent.destroy();
    await s.stop();
  }
}

export async function runSignalBench(): Promise<{ ratios: RatioFigures[]; sustained: SustainedFigures[] }> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 6);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
  const sustainSeconds = Number(process.env.SUSTAIN_SECONDS ?? 60);
  const backends = (process.env.SIGNAL_BACKENDS ?? 'sqlite,pg').split(',').map((b) => b.trim()).filter(Boolean);
  const pgReason = backends.includes('pg') ? await pgUnavailableReason() : null;
  if (pgReason) console.log(`PostgreSQL skipped: ${pgReason}`);
  const fixedRate = Number(process.env.SUSTAIN_RATE ?? 0);
  const rx = await startBenchReceiver({ keepAliveMs: 60_000 });
  const ratios: RatioFigures[] = [];
  const sustained: SustainedFigures[] = [];
  try {
    for (const backend of fixedRate > 0 ? [] : backends) {
      if (backend === 'pg' && pgReason) continue;
      for (const subscribers of (process.env.SIGNAL_SUBSCRIBERS ?? '1,10').split(',').map(Number)) ratios.push(await ratioCase(backend, subscribers, rx, seconds, concurrency));
    }
    const target = (r: RatioFigures) => (r.backend === 'sqlite' && r.subscribers === 1 ? 0.3 : 0.15);
    const perReq = (p: Phase) => p.cpuMicros / p.requests;
    if (ratios.length > 0) {
      console.log(`\nSignalEvent vs plain express (same bytes), ${concurrency} keep-alive clients, ${seconds}s each, worker running in the server:`);
      console.log('| backend | subscribers | SignalEvent req/s | plain req/s | ratio | target | server CPU per request, SignalEvent / plain | p50 / p99 ms | deliveries/s during the load | failures |');
      console.log('|---|---|---|---|---|---|---|---|---|---|');
      for (const r of ratios) {
        console.log(`| ${r.backend} | ${r.subscribers} | ${r.soap.perSecond.toFixed(0)} | ${r.plain.perSecond.toFixed(0)} | ${r.ratio.toFixed(2)} | >= ${target(r)} ${r.ratio >= target(r) ? 'met' : 'MISSED'} | ` +
          `${perReq(r.soap).toFixed(0)} us / ${perReq(r.plain).toFixed(0)} us | ${r.soap.p50Ms.toFixed(1)} / ${r.soap.p99Ms.toFixed(1)} | ` +
          `${(r.soap.delivered / r.soap.seconds).toFixed(0)} | ${r.soap.failures + r.plain.failures} |`);
      }
    }
    for (const r of ratios) {
      if (r.subscribers !== 1 || sustainSeconds <= 0) continue;
      sustained.push(await sustainedCase(r.backend, 1, Math.round(r.soap.perSecond / 2), sustainSeconds, rx));
    }
    for (const backend of fixedRate > 0 ? backends : []) {
      if (backend !== 'pg' || !pgReason) sustained.push(await sustainedCase(backend, 1, fixedRate, sustainSeconds, rx));
    }
    if (sustained.length) {
      console.log(`\nSustained SignalEvent ${fixedRate > 0 ? `at ${fixedRate}/s (SUSTAIN_RATE)` : 'at half the measured maximum'}, open loop, 1 subscriber, ${sustainSeconds}s:`);
      console.log('| backend | events/s | sent | delivered | failures | pending every 5 s | send -> receiver p50 / p99 / max ms | SignalEvent answer p99 ms | enqueue -> attempt start p50 / p99 ms | HTTP call p50 / p99 ms | server RSS MiB |');
      console.log('|---|---|---|---|---|---|---|---|---|---|---|');
      for (const x of sustained) {
        console.log(`| ${x.backend} | ${x.rate} | ${x.sent} | ${x.delivered} | ${x.failures} | ${x.backlogSamples.join(' ')} | ` +
          `${x.p50Ms.toFixed(1)} / ${x.p99Ms.toFixed(1)} / ${x.maxMs.toFixed(0)} | ${x.answerP99Ms.toFixed(1)} | ` +
          `${x.outbox.waitP50} / ${x.outbox.waitP99} | ${x.outbox.callP50} / ${x.outbox.callP99} | ${Math.min(...x.rssMiB)}-${Math.max(...x.rssMiB)} |`);
      }
    }
    return { ratios, sustained };
  } finally {
    await rx.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runSignalBench();
