/**
 * Connection fairness for the HTTP server (issue 18, item 1). Without it one client holding many idle sockets used up
 * the connection cap, and every other client was reset until Node's header timeout freed them (90 s a batch).
 *
 * - MAX_CONNECTIONS bounds open client connections (the file descriptors the database and the deliveries need too).
 *   When it is reached a new connection does not lose: the connection idle the longest is closed for it, first those
 *   that have not sent a complete request yet (oldest first), then keep-alive connections between requests (least
 *   recently used first). Only when every connection is inside a request is the new one closed.
 * - MAX_CONNECTIONS_PER_ADDRESS bounds one client address's share (IPv4 by address, IPv6 by /64, since one host
 *   holds a whole /64); connections over it are closed at once. Peers that TRUST_PROXY names are exempt: a reverse
 *   proxy carries many clients over its own address.
 * - FIRST_BYTE_TIMEOUT_MS: a new connection that has sent no byte by then is closed.
 *
 * What was closed is logged at warn at most every 10 s, as counts, with the address refused last.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Logger } from './logger.js';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  firstByteTimeoutMs: number;
}

type Closed = 'overAddressLimit' | 'evictedBeforeRequest' | 'evictedIdleKeepAlive' | 'refusedAllBusy' | 'noFirstByte';

interface Tracked {
  key: string;
  /** Requests of this connection whose response has not finished (more than one only when pipelined). */
  inFlight: number;
  timer?: NodeJS.Timeout;
}

/** The key a client address is counted under: IPv4 (also IPv4-mapped IPv6) by address, IPv6 by its /64. */
export function addressKey(remote: string | undefined): string {
  if (!remote || !ipaddr.isValid(remote)) return remote ?? '?';
  const a = ipaddr.process(remote);
  if (a.kind() === 'ipv4') return a.toString();
  return `${(a as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
}

export function guardConnections(server: Server, limits: ConnectionLimits, logger: Logger,
  opts: { isTrustedProxy?: (address: string) => boolean; logEveryMs?: number } = {}): void {
  const perAddressMax = Math.min(limits.maxConnectionsPerAddress, limits.maxConnections);
  const tracked = new Map<Socket, Tracked>();
  // Insertion order is the eviction order: a Set iterates oldest first, and re-adding moves a socket to the end.
  const beforeRequest = new Set<Socket>();
  const idleKeepAlive = new Set<Socket>();
  const perAddress = new Map<string, number>();
  const closed: Record<Closed, number> = { overAddressLimit: 0, evictedBeforeRequest: 0, evictedIdleKeepAlive: 0, refusedAllBusy: 0, noFirstByte: 0 };
  let lastRefusedAddress: string | undefined;
  let lastLog = 0;
  const logEveryMs = opts.logEveryMs ?? 10_000;

  const note = (why: Closed, address?: string) => {
    closed[why] += 1;
    if (address) lastRefusedAddress = address;
    const at = Date.now();
    if (at - lastLog < logEveryMs) return;
    lastLog = at;
    const counts = Object.fromEntries(Object.entries(closed).filter(([, n]) => n > 0));
    logger.warn({ ...limits, closedSinceLastLog: counts, open: tracked.size, lastRefusedAddress },
      'connection limits: connections are being closed (see MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS, FIRST_BYTE_TIMEOUT_MS)');
    for (const k of Object.keys(closed) as Closed[]) closed[k] = 0;
    lastRefusedAddress = undefined;
  };

  const forget = (socket: Socket) => {
    const t = tracked.get(socket);
    if (!t) return;
    tracked.delete(socket);
    beforeRequest.delete(socket);
    idleKeepAlive.delete(socket);
    if (t.timer) clearTimeout(t.timer);
    const n = (perAddress.get(t.key) ?? 1) - 1;
    if (n <= 0) perAddress.delete(t.key);
    else perAddress.set(t.key, n);
  };

  const evictOne = (): boolean => {
    for (const [set, why] of [[beforeRequest, 'evictedBeforeRequest'], [idleKeepAlive, 'evictedIdleKeepAlive']] as const) {
      const victim = set.values().next().value as Socket | undefined;
      if (victim) {
        forget(victim);
        victim.destroy();
        note(why);
        return true;
      }
    }
    return false;
  };

  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '?';
    const key = addressKey(address);
    const exempt = opts.isTrustedProxy?.(address) ?? false;
    if (!exempt && (perAddress.get(key) ?? 0) >= perAddressMax) {
      socket.destroy();
      note('overAddressLimit', address);
      return;
    }
    if (tracked.size >= limits.maxConnections && !evictOne()) {
      socket.destroy();
      note('refusedAllBusy', address);
      return;
    }
    const t: Tracked = { key, inFlight: 0 };
    tracked.set(socket, t);
    beforeRequest.add(socket);
    perAddress.set(key, (perAddress.get(key) ?? 0) + 1);
    t.timer = setTimeout(() => {
      t.timer = undefined;
      // bytesRead counts what the HTTP parser consumed from the handle, so it sees the first byte without a listener.
      if (socket.bytesRead === 0 && tracked.has(socket)) {
        forget(socket);
        socket.destroy();
        note('noFirstByte', address);
      }
    }, limits.firstByteTimeoutMs);
    t.timer.unref();
    socket.once('close', () => forget(socket));
  });

  server.on('request', (req, res) => {
    const socket = req.socket;
    const t = tracked.get(socket);
    if (!t) return;
    t.inFlight += 1;
    beforeRequest.delete(socket);
    idleKeepAlive.delete(socket);
    res.once('close', () => {
      if (tracked.get(socket) !== t) return;
      t.inFlight -= 1;
      if (t.inFlight === 0 && !socket.destroyed) idleKeepAlive.add(socket);
    });
  });
}
