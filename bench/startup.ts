/**
 * Startup (issue 9 item 5): how long `npm start` takes on an already-built tree until the service answers
 * /healthz, and the service's idle RSS, next to a plain express process started the same way in the same run.
 * Each is started STARTUP_RUNS times (default 3) on a fresh SQLite file in a temp directory; the figures are the
 * median run. RSS is read from /proc after the process has been idle for 2 s.
 *
 *   node --disable-proto=delete --import tsx bench/startup.ts     (builds first when dist/ is missing)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run { readyMs: number; rssMiB: number; cpuMs: number }

/** Starts `cmd args`, waits until GET url/healthz answers, idles 2 s, reads RSS, stops it. */
async function startOnce(cmd: string, args: string[], env: Record<string, string>): Promise<Run> {
  const t0 = performance.now();
  // Its own process group, so the stop below reaches what npm started too (`npm exec` does not pass SIGTERM on).
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  try {
    let port: string | undefined;
    const until = t0 + 60_000;
    for (;;) {
      port ??= /listening on http:\/\/[^:]+:(\d+)/.exec(out)?.[1];
      if (port) {
        const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
        if (ok) break;
      }
      if (performance.now() > until || child.exitCode !== null) throw new Error(`did not start: ${out.slice(-2000)}`);
      await sleep(5);
    }
    const readyMs = performance.now() - t0;
    await sleep(2000);
    // The service itself, not npm in front of it: the newest node process in the child's tree.
    const pids = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
    let pid = child.pid!;
    for (let p = pids.at(-1); p; p = spawnSync('pgrep', ['-P', String(p)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number).at(-1)) pid = p;
    const rss = rssMiB(pid);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const cpuMs = ((Number(stat[11]) + Number(stat[12])) * 1000) / 100; // utime + stime, clock ticks of 1/100 s
    return { readyMs, rssMiB: rss, cpuMs };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    // The group's last members (the service behind npm) may outlive npm by a moment: wait until the group is gone.
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(-child.pid!, 0);
      } catch {
        break;
      }
      await sleep(25);
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runStartupBench(runs = Number(process.env.STARTUP_RUNS ?? 3)) {
  if (!existsSync(join(root, 'dist/src/cli.js'))) spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'wa-startup-'));
  const plainFile = join(dir, 'plain.mjs');
  // The baseline: express with one route, started by npm the same way.
  writeFileSync(plainFile, `import express from '${pathToFileURL(join(root, 'node_modules/express/index.js')).href}';
const app = express();
app.get('/healthz', (_q, r) => r.json({ status: 'ok' }));
const s = app.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port + '/'));
process.on('SIGTERM', () => process.exit(0));\n`);
  try {
    const service: Run[] = [];
    const plain: Run[] = [];
    for (let i = 0; i < runs; i++) {
      service.push(await startOnce('npm', ['start', '--silent'], {
        DATABASE_URL: `sqlite:${join(dir, `s${i}.sqlite`)}`, PORT: '0', HOST: '127.0.0.1', ADMIN_PASSWORD: 'startup-bench', LOG_LEVEL: 'warn',
      }));
      plain.push(await startOnce('npm', ['exec', '--', 'node', plainFile], {}));
    }
    const pick = (xs: Run[]) => ({ readyMs: median(xs.map((x) => x.readyMs)), rssMiB: median(xs.map((x) => x.rssMiB)), cpuMs: median(xs.map((x) => x.cpuMs)) });
    const s = pick(service);
    const p = pick(plain);
    console.log(`\nStartup on an already-built tree, fresh SQLite file, median of ${runs} (ready = /healthz answers):`);
    console.log('| process | ready ms | target | CPU to ready + 2 s idle, ms | idle RSS MiB |');
    console.log('|---|---|---|---|---|');
    console.log(`| npm start (webhook-agent serve) | ${s.readyMs.toFixed(0)} | < 1500 ${s.readyMs < 1500 ? 'met' : 'MISSED'} | ${s.cpuMs.toFixed(0)} | ${s.rssMiB.toFixed(0)} |`);
    console.log(`| plain express via npm exec | ${p.readyMs.toFixed(0)} | | ${p.cpuMs.toFixed(0)} | ${p.rssMiB.toFixed(0)} |`);
    return { service: s, plain: p };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runStartupBench();
