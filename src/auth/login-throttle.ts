/**
 * Login throttling that slows guessing down without letting anyone lock a real user out.
 *
 * - Keyed on (user name, client address). The name is normalised as the associate lookup compares it (trimmed of
 *   every Unicode space, BOM included, and lower-cased: associateByNameQuery), so `ADMIN`, ` admin ` and
 *   `admin` + NBSP share a count. The address is the request's (behind TRUST_PROXY, the forwarded one); IPv6
 *   addresses count per /64, the block one host usually holds. Failures from one address never slow a login from
 *   another.
 * - Slow down, not refuse: after `failuresBeforeDelay` failures within `windowMs` (counted from the last failure),
 *   each further attempt for that key waits until lastFailure + delay, with the delay doubling from 1 s (or
 *   maxDelayMs if smaller) up to `maxDelayMs`; then the password is checked as usual, so the right one still gets
 *   in. Attempts for one key run one at a time, so a parallel burst gets no more checks than a sequential one.
 *   At most `maxQueuedPerKey` attempts may wait on one key, and only one while the key is being slowed; more are
 *   answered at once as failed, unchecked (only that name from that address is affected; no attempt waits more
 *   than one delay, and connections do not pile up).
 * - Bounded memory that a flood cannot reset: at most `maxEntries` keys. When full, keys whose window has passed
 *   are forgotten first, then keys not (yet) slowed, oldest first; a key that is being slowed is never forgotten
 *   before its window ends. If every key is being slowed, an attempt under a new key is not remembered and waits
 *   the longest delay instead.
 */
import ipaddr from 'ipaddr.js';

export interface LoginThrottleOptions {
  failuresBeforeDelay: number;
  windowMs: number;
  maxDelayMs: number;
  maxEntries?: number;
  maxQueuedPerKey?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type ThrottleVerdict =
  | { kind: 'checked'; ok: boolean; delayedMs: number }
  | { kind: 'refused'; reason: 'too many attempts waiting' };

export interface LoginThrottle {
  /**
   * Runs `check` (the password check; resolves true on success) for this user name and client under the rules
   * above and records its result.
   */
  attempt(userName: string, client: string | undefined, check: () => Promise<boolean>): Promise<ThrottleVerdict>;
  /** Forgets every key of this user name (a password change). */
  forgetName(userName: string): void;
  /** Keys currently remembered (for tests and metrics). */
  size(): number;
}

interface Entry {
  failures: number;
  lastFailure: number;
  /** Attempts running or waiting on this key. */
  queued: number;
  /** The end of the latest attempt queued: the next one starts after it. */
  tail: Promise<void>;
}

/** The user name as the associate lookup compares it. */
export const normalizeUserName = (name: string) => name.trim().toLowerCase();

/** The client address as counted: IPv4 (also IPv4-mapped IPv6) as is, IPv6 per /64, unknown as ''. */
export function clientKey(address: string | undefined): string {
  if (!address) return '';
  try {
    let a = ipaddr.parse(address);
    if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
    if (a.kind() === 'ipv4') return a.toString();
    const parts = (a as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
    return `${parts.join(':')}::/64`;
  } catch {
    return address;
  }
}

export function createLoginThrottle(opts: LoginThrottleOptions): LoginThrottle {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxEntries = opts.maxEntries ?? 10_000;
  const maxQueued = opts.maxQueuedPerKey ?? 8;
  const entries = new Map<string, Entry>();

  const live = (e: Entry, at: number) => e.failures > 0 && at - e.lastFailure < opts.windowMs;
  const slowed = (e: Entry, at: number) => live(e, at) && e.failures >= opts.failuresBeforeDelay;

  function delayFor(e: Entry, at: number): number {
    if (!slowed(e, at)) return 0;
    const step = Math.min(opts.maxDelayMs, 1000 * 2 ** Math.min(e.failures - opts.failuresBeforeDelay, 30));
    return Math.max(0, e.lastFailure + step - at);
  }

  /** Makes room for one more key; false when every remembered key is being slowed (or busy). */
  function makeRoom(at: number): boolean {
    if (entries.size < maxEntries) return true;
    for (const [k, e] of entries) if (e.queued === 0 && !live(e, at)) entries.delete(k);
    if (entries.size < maxEntries) return true;
    for (const [k, e] of entries) {
      if (e.queued === 0 && !slowed(e, at)) {
        entries.delete(k);
        if (entries.size < maxEntries) return true;
      }
    }
    return false;
  }

  async function attempt(userName: string, client: string | undefined, check: () => Promise<boolean>): Promise<ThrottleVerdict> {
    const key = `${normalizeUserName(userName)}\u0000${clientKey(client)}`;
    const at = now();
    let e = entries.get(key);
    if (!e) {
      if (!makeRoom(at)) {
        // Every slot holds a key that is being slowed: do not forget any of them; slow this attempt instead.
        await sleep(opts.maxDelayMs);
        return { kind: 'checked', ok: await check(), delayedMs: opts.maxDelayMs };
      }
      e = { failures: 0, lastFailure: 0, queued: 0, tail: Promise.resolve() };
      entries.set(key, e);
    }
    // While a key is being slowed, one attempt may wait on it; more would queue up delay after delay (and hold
    // their connections), so they are answered at once. Before that, a few may wait for the checks in progress.
    if (e.queued >= (slowed(e, at) ? 1 : maxQueued)) return { kind: 'refused', reason: 'too many attempts waiting' };
    const entry = e;
    entry.queued += 1;
    const previous = entry.tail;
    let done!: () => void;
    entry.tail = new Promise<void>((r) => (done = r));
    try {
      await previous;
      const startAt = now();
      if (!live(entry, startAt)) entry.failures = 0;
      const delayedMs = delayFor(entry, startAt);
      if (delayedMs > 0) await sleep(delayedMs);
      const ok = await check();
      if (ok) {
        entry.failures = 0;
      } else {
        entry.failures += 1;
        entry.lastFailure = now();
      }
      return { kind: 'checked', ok, delayedMs };
    } finally {
      entry.queued -= 1;
      done();
      if (entry.queued === 0 && entry.failures === 0) entries.delete(key);
    }
  }

  return {
    attempt,
    forgetName(userName) {
      const prefix = `${normalizeUserName(userName)}\u0000`;
      for (const [k, e] of entries) if (k.startsWith(prefix) && e.queued === 0) entries.delete(k);
    },
    size: () => entries.size,
  };
}
