/**
 * Resident memory of the service process, read from /proc/<pid>/status (VmRSS). "After GC" means: the harness
 * preload (fixtures/gc-on-signal.js, with --expose-gc) is sent SIGUSR2 and runs full collections, then RSS is
 * sampled until it stops moving.
 */
import { readFileSync } from 'node:fs';

/** VmRSS in MiB, or null when the process is gone. */
export function rssMiB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * RSS once it has settled: sampled every 250 ms until five samples in a row lie within 2 MiB, or until
 * `maxWaitMs`; the last sample is returned either way.
 */
export async function settledRssMiB(pid: number, maxWaitMs = 15_000): Promise<number> {
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    // gone; reported below
  }
  await sleep(600);
  const samples: number[] = [];
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const v = rssMiB(pid);
    if (v === null) throw new Error(`process ${pid} is gone`);
    samples.push(v);
    const last = samples.slice(-5);
    if (last.length === 5 && Math.max(...last) - Math.min(...last) < 2) return v;
    if (Date.now() > deadline) return v;
    await sleep(250);
  }
}

/**
 * The memory bound the hostile-input and fuzz tests hold the service to, after the load has gone: settled RSS at
 * most baseline + 96 MiB and at most 2.5 x baseline. A service that kept a 20 MB body, a parsed 100 000-element
 * tree or a gzip bomb's output around would exceed it; V8's heap growth after a burst of parsing stays well within.
 */
export const RSS_SLACK_MIB = 96;
export const RSS_FACTOR = 2.5;

export function rssWithinBound(baseline: number, after: number): boolean {
  return after <= baseline + RSS_SLACK_MIB && after <= baseline * RSS_FACTOR;
}
