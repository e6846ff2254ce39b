/**
 * The reliability suite (issue 4) in one run: every test file under test/reliability/ (node's test runner, one
 * file at a time: they start services and clusters of their own), then bench/load.ts on SQLite and PostgreSQL.
 * Prints a summary: cases tried and passed, load held (requests, failures, p99), faults survived, events lost.
 * Exits 1 on any failed test, failed load request, unsurvived fault or lost event.
 *
 *   node --disable-proto=delete --import tsx scripts/reliability.ts [file filter...]
 *   RELIABILITY_QUICK=1   load for 10 s per backend (LOAD_SECONDS wins) and 2 000 fuzz requests per operation
 *                         (FUZZ_RUNS_PER_OP wins) instead of 60 s and 10 000
 *   RELIABILITY_SKIP_LOAD=1  tests only
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BackendFigures } from '../bench/load.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const quick = process.env.RELIABILITY_QUICK === '1';
const filters = process.argv.slice(2);
const work = mkdtempSync(path.join(tmpdir(), 'wa-reliability-'));
const metricsFile = path.join(work, 'metrics.jsonl');
const tapFile = path.join(work, 'results.tap');
const loadJson = path.join(work, 'load.json');

interface Metric { suite: string; cases?: number; passed?: number; faults?: number; faultsSurvived?: number; eventsLost?: number; [k: string]: unknown }

function run(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
    p.on('close', (code) => resolve(code ?? 1));
  });
}

function tapSummary(tap: string) {
  const num = (k: string) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
  // Leaf failures: "not ok" lines that are not the suites around them (a suite's line follows its children's).
  const failed = [...tap.matchAll(/^(\s*)not ok \d+ - (.+)$/gm)].map((m) => ({ depth: m[1].length, name: m[2] }));
  const leaves = failed.filter((f, i) => !(failed[i - 1] && failed[i - 1].depth > f.depth));
  return { tests: num('tests'), pass: num('pass'), fail: num('fail'), skipped: num('skipped'), cancelled: num('cancelled'), failed: leaves.map((f) => f.name) };
}

async function main(): Promise<number> {
  const started = Date.now();
  const files = readdirSync(path.join(root, 'test/reliability'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join('test/reliability', f))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  const env: Record<string, string> = { RELIABILITY_METRICS_FILE: metricsFile };
  // The full fuzz unless quick: `npm test` outside CI runs a shorter one (test/reliability/fuzz.test.ts).
  if (!process.env.FUZZ_RUNS_PER_OP) env.FUZZ_RUNS_PER_OP = quick ? '2000' : '10000';

  process.stdout.write(`> reliability tests (${files.length} files${quick ? ', quick' : ''}); TAP in ${tapFile}\n`);
  const testCode = files.length === 0 ? 0 : await run([
    '--disable-proto=delete', '--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=900000',
    '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
    ...files,
  ], env);

  let load: BackendFigures[] = [];
  let loadCode = 0;
  const skipLoad = process.env.RELIABILITY_SKIP_LOAD === '1' || filters.length > 0;
  if (!skipLoad) {
    const seconds = process.env.LOAD_SECONDS ?? (quick ? '10' : '60');
    process.stdout.write(`\n> bench/load.ts (${seconds} s per backend)\n`);
    loadCode = await run(['--disable-proto=delete', '--import', 'tsx', 'bench/load.ts', '--json', loadJson], { LOAD_SECONDS: seconds });
    if (existsSync(loadJson)) load = JSON.parse(readFileSync(loadJson, 'utf8'));
  }

  const tap = existsSync(tapFile) ? tapSummary(readFileSync(tapFile, 'utf8')) : { tests: 0, pass: 0, fail: 0, skipped: 0, cancelled: 0, failed: [] };
  const metrics: Metric[] = existsSync(metricsFile)
    ? readFileSync(metricsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    : [];
  const bySuite = (s: string) => metrics.filter((m) => m.suite === s);
  const sum = (ms: Metric[], k: keyof Metric) => ms.reduce((n, m) => n + (typeof m[k] === 'number' ? (m[k] as number) : 0), 0);

  const rows: Array<[string, string, string, string]> = [];
  const caseSuites: Array<[string, string]> = [
    ['hostile-input', 'hostile SOAP input'], ['string-roundtrip', 'CDATA/illegal chars round trip'], ['auth', 'authentication'],
    ['ssrf', 'SSRF targets'], ['fuzz', 'fuzz requests'], ['unauthenticated-cpu', 'unauthenticated 1 MB <z/> flood'],
  ];
  for (const [suite, label] of caseSuites) {
    const ms = bySuite(suite);
    if (ms.length === 0) continue;
    let note = '';
    const mem = bySuite(`${suite}-memory`)[0] ?? ms[0];
    if (mem.rssBaselineMiB !== undefined) note = `RSS ${mem.rssBaselineMiB} -> ${mem.rssSettledMiB ?? '?'} MiB settled (peak ${mem.rssPeakMiB})`;
    if (suite === 'fuzz') note = `seed ${ms[0].seed}; ${note}`;
    if (suite === 'unauthenticated-cpu') {
      note = `/healthz p95 ${ms[0].healthzP95Ms} ms under 2 flooding clients (idle ${ms[0].healthzIdleP95Ms} ms), `
        + `${ms[0].floodRequests} requests, service CPU ${typeof ms[0].cpuMsPerRequest === 'number' ? ms[0].cpuMsPerRequest.toFixed(2) : '?'} ms each`;
    }
    rows.push([label, String(sum(ms, 'cases')), String(sum(ms, 'passed')), note]);
  }
  // Suites that label their own row (issue 8: connections, SQLite busy, noisy neighbour, throttle, save race).
  const labelled = new Map<string, Metric[]>();
  for (const m of metrics) if (typeof m.label === 'string') labelled.set(m.label, [...(labelled.get(m.label) ?? []), m]);
  for (const [label, ms] of labelled) {
    const notes = ms.map((m) => (typeof m.note === 'string' ? m.note : '')).filter(Boolean).join('; ');
    rows.push([label, String(sum(ms, 'cases')), String(sum(ms, 'passed')), notes]);
  }
  rows.push(['test cases (node --test)', String(tap.tests), String(tap.pass), `fail ${tap.fail}, skipped ${tap.skipped}, cancelled ${tap.cancelled}`]);

  const faultSuites: Array<[string, string]> = [['faults-postgres', 'PostgreSQL restarts'], ['faults-sigkill', 'SIGKILL mid-burst'], ['faults-receivers', 'hostile receivers']];
  let faults = 0;
  let survived = 0;
  let lost = 0;
  const faultNotes: string[] = [];
  const lostNotes: string[] = [];
  for (const [suite, label] of faultSuites) {
    const m = bySuite(suite)[0];
    if (!m) {
      faultNotes.push(`${label}: not run`);
      // A full run must exercise every fault; a filtered one reports what it ran.
      if (filters.length === 0) faults += 1;
      continue;
    }
    faults += m.faults ?? 0;
    survived += m.faultsSurvived ?? 0;
    lost += m.eventsLost ?? 0;
    faultNotes.push(`${label} ${m.faultsSurvived}/${m.faults}`);
    lostNotes.push(`${label} ${m.eventsLost}${m.eventsAccepted !== undefined ? ` of ${m.eventsAccepted} accepted` : ''}`);
  }

  const out: string[] = ['', '=== reliability summary ==='];
  out.push(`${'area'.padEnd(34)} ${'tried'.padStart(8)} ${'passed'.padStart(8)}  notes`);
  for (const [a, t, p, n] of rows) out.push(`${a.padEnd(34)} ${t.padStart(8)} ${p.padStart(8)}  ${n}`);
  for (const r of load) {
    if (r.skipped) {
      out.push(`${`load held (${r.backend})`.padEnd(34)} skipped: ${r.skipped}`);
      continue;
    }
    out.push(`${`load held (${r.backend})`.padEnd(34)} ${String(r.requests).padStart(8)} ${String(r.requests - r.failures).padStart(8)}  ` +
      `failures ${r.failures}, p99 ${r.p99Ms.toFixed(1)} ms, ${r.perSecond.toFixed(0)} req/s, ${r.clients} clients x ${r.seconds.toFixed(0)} s, ` +
      `RSS ${r.rssStartMiB.toFixed(0)} -> ${r.rssEndMiB.toFixed(0)} MiB (peak ${r.rssPeakMiB.toFixed(0)}), deliveries ${r.deliveriesReceived}/${r.deliveriesOwed}`);
    for (const [op, o] of Object.entries(r.ops)) {
      out.push(`${`  ${op}`.padEnd(34)} ${String(o.requests).padStart(8)} ${String(o.requests - o.failures).padStart(8)}  p50 ${o.p50Ms.toFixed(1)} ms, p99 ${o.p99Ms.toFixed(1)} ms`);
    }
  }
  if (skipLoad) out.push(`${'load held'.padEnd(34)} not run`);
  out.push(`${'faults survived'.padEnd(34)} ${String(faults).padStart(8)} ${String(survived).padStart(8)}  ${faultNotes.join('; ')}`);
  out.push(`${'events lost (must be 0)'.padEnd(34)} ${String(lost).padStart(8)} ${''.padStart(8)}  ${lostNotes.join('; ')}`);
  if (tap.failed.length) {
    out.push('', `failed tests (${tap.failed.length}):`);
    for (const f of tap.failed.slice(0, 40)) out.push(`  - ${f}`);
  }
  const loadFailures = load.reduce((n, r) => n + r.failures, 0);
  const ok = testCode === 0 && tap.fail === 0 && loadCode === 0 && loadFailures === 0 && lost === 0 && survived === faults;
  out.push('', `result: ${ok ? 'PASS' : 'FAIL'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
  return ok ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(2);
});
