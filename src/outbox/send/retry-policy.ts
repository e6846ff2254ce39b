/**
 * When a failed delivery is tried again.
 *
 * Attempt 1 is sent when the event is enqueued. NetServer's cycle comes first: attempt 2 one second after attempt 1
 * failed, attempt 3 four seconds after attempt 2 failed. Unlike NetServer (which then drops the event), later
 * attempts follow an exponential backoff: retryBaseMs before attempt 4, doubling each time, capped at
 * retryMaxDelayMs, each delay scaled by a jitter factor in [0.8, 1.2) so that hooks that failed together do not
 * retry together. A Retry-After from the target (429/503) replaces the delay when it asks for more.
 *
 * A delivery whose next attempt would start later than created + retryMaxAgeMs is expired instead (recorded).
 */
import type { Config } from '../../config.js';

export type RetryConfig = Pick<Config, 'retryBaseMs' | 'retryMaxDelayMs' | 'retryMaxAgeMs'>;

export const cycleDelaysMs = [1000, 4000] as const;

/** Delay after failed attempt number `attemptNo` (1-based). `random` returns [0, 1). */
export function retryDelayMs(attemptNo: number, config: RetryConfig, random: () => number = Math.random): number {
  if (attemptNo <= cycleDelaysMs.length) return cycleDelaysMs[Math.max(0, attemptNo - 1)];
  const exponent = Math.min(attemptNo - cycleDelaysMs.length - 1, 40);
  const base = Math.min(config.retryMaxDelayMs, config.retryBaseMs * 2 ** exponent);
  const jittered = Math.round(base * (0.8 + 0.4 * random()));
  return Math.min(config.retryMaxDelayMs, Math.max(1, jittered));
}

export type RetryDecision = { retry: true; nextAttemptAt: number } | { retry: false; reason: string };

/** What to do after failed attempt `attemptNo` at `nowMs` of a delivery created at `createdMs`. */
export function nextAttempt(opts: {
  attemptNo: number;
  nowMs: number;
  createdMs: number;
  retryAfterMs?: number | null;
  config: RetryConfig;
  random?: () => number;
}): RetryDecision {
  const scheduled = retryDelayMs(opts.attemptNo, opts.config, opts.random);
  const delay = opts.retryAfterMs != null ? Math.max(scheduled, opts.retryAfterMs) : scheduled;
  const at = opts.nowMs + delay;
  const deadline = opts.createdMs + opts.config.retryMaxAgeMs;
  if (at > deadline) {
    return { retry: false, reason: `expired: no attempt succeeded within the retry window of ${opts.config.retryMaxAgeMs} ms` };
  }
  return { retry: true, nextAttemptAt: at };
}
