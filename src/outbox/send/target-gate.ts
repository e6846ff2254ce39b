/**
 * Keeps one slow or dead target from holding the worker (issue 8, item 1). Per target host (host:port of the
 * TargetUrl, lower-cased):
 * - an in-flight cap (`hostConcurrency`): a host with that many attempts running gets no more until one ends;
 * - a circuit: `circuitTimeouts` timed-out attempts in a row open it for `circuitCooldownMs` (doubling on each
 *   re-opening up to 10 min). While open, that host's deliveries are not sent: they are put back, not counted as
 *   attempts, due when the circuit half-opens. Half-open lets one attempt through (the probe); success closes the
 *   circuit, another timeout opens it again. Any answer from the target (even an error status) counts as success
 *   here: the target responds, it does not hold a slot.
 * The worker asks `admit` before each send and reports each outcome with `done`; `blocked` lists the hosts to
 * leave out of the next claim. State is per worker process and in memory.
 */
export interface TargetGateOptions {
  hostConcurrency: number;
  circuitTimeouts: number;
  circuitCooldownMs: number;
  now?: () => number;
}

export type Admission = { ok: true } | { ok: false; reason: 'host_busy' | 'circuit_open'; retryAt: number };

export interface TargetGate {
  admit(host: string): Admission;
  /** The attempt admitted for `host` ended; `timedOut`: it got no answer within the delivery timeout. */
  done(host: string, outcome: { timedOut: boolean }): void;
  /** Hosts that would refuse admission now (at their cap, or circuit open and not due for a probe). */
  blocked(): Set<string>;
  /** Hosts whose circuit is open or half-open now (metrics). */
  openCircuits(): number;
  /** For logs and tests. */
  state(host: string): { inFlight: number; circuit: 'closed' | 'open' | 'half_open'; openUntil: number | null };
}

const MAX_COOLDOWN_MS = 10 * 60_000;

interface HostState {
  inFlight: number;
  timeoutsInRow: number;
  openUntil: number | null;
  cooldownMs: number;
  probing: boolean;
}

/** host:port of a URL (default ports filled in), lower-cased; '' when it cannot be parsed. */
export function targetHost(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname.toLowerCase()}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return '';
  }
}

export function createTargetGate(opts: TargetGateOptions): TargetGate {
  const now = opts.now ?? Date.now;
  const hosts = new Map<string, HostState>();
  const get = (host: string) => {
    let h = hosts.get(host);
    if (!h) hosts.set(host, (h = { inFlight: 0, timeoutsInRow: 0, openUntil: null, cooldownMs: opts.circuitCooldownMs, probing: false }));
    return h;
  };
  const forgetIfIdle = (host: string, h: HostState) => {
    if (h.inFlight === 0 && h.timeoutsInRow === 0 && h.openUntil === null) hosts.delete(host);
  };

  function admit(host: string): Admission {
    const h = get(host);
    const at = now();
    if (h.openUntil !== null) {
      if (at < h.openUntil || h.probing) return { ok: false, reason: 'circuit_open', retryAt: Math.max(h.openUntil, at + 1000) };
      h.probing = true; // half-open: this attempt is the probe
    } else if (h.inFlight >= opts.hostConcurrency) {
      return { ok: false, reason: 'host_busy', retryAt: at };
    }
    h.inFlight += 1;
    return { ok: true };
  }

  function done(host: string, outcome: { timedOut: boolean }): void {
    const h = hosts.get(host);
    if (!h) return;
    h.inFlight = Math.max(0, h.inFlight - 1);
    const wasProbe = h.probing && h.openUntil !== null && now() >= h.openUntil;
    if (outcome.timedOut) {
      h.timeoutsInRow += 1;
      if (wasProbe) {
        h.cooldownMs = Math.min(MAX_COOLDOWN_MS, h.cooldownMs * 2);
        h.openUntil = now() + h.cooldownMs;
        h.probing = false;
      } else if (h.openUntil === null && h.timeoutsInRow >= opts.circuitTimeouts) {
        h.openUntil = now() + h.cooldownMs;
      }
    } else {
      h.timeoutsInRow = 0;
      if (h.openUntil === null || wasProbe) {
        h.openUntil = null;
        h.probing = false;
        h.cooldownMs = opts.circuitCooldownMs;
      }
    }
    forgetIfIdle(host, h);
  }

  function blocked(): Set<string> {
    const at = now();
    const out = new Set<string>();
    for (const [host, h] of hosts) {
      if (h.openUntil !== null ? at < h.openUntil || h.probing : h.inFlight >= opts.hostConcurrency) out.add(host);
    }
    return out;
  }

  return {
    admit,
    done,
    blocked,
    openCircuits: () => [...hosts.values()].filter((h) => h.openUntil !== null).length,
    state(host) {
      const h = hosts.get(host);
      if (!h) return { inFlight: 0, circuit: 'closed', openUntil: null };
      const circuit = h.openUntil === null ? 'closed' : now() < h.openUntil ? 'open' : 'half_open';
      return { inFlight: h.inFlight, circuit, openUntil: h.openUntil };
    },
  };
}
