/**
 * SSRF guard for webhook targets.
 *
 * Default policy: https only, and only globally routable unicast addresses. Refused: loopback, private (RFC 1918),
 * link-local (incl. the 169.254.169.254 metadata service), multicast, broadcast, 0.0.0.0/8, CGNAT 100.64/10,
 * reserved/documentation ranges, IPv6 unique-local fc00::/7 (incl. fd00:ec2::254), IPv4-mapped and other
 * IPv4-embedding IPv6 forms (NAT64, 6to4, Teredo), and any IPv6 outside global unicast 2000::/3.
 *
 * Two checks, because a URL can name a host whose DNS answer changes between save and send (DNS rebinding):
 * - checkTargetUrl: at save and before each send; scheme, credentials in the URL, literal IP addresses, localhost.
 *   Node does not call `lookup` for a literal IP, so literals are only caught here.
 * - createGuardedLookup: the `lookup` of the sender's http(s) Agents, so every resolved address is checked right
 *   before the socket connects to it; a refused answer fails the request before any connection is opened.
 *
 * allowInsecureTargets=true turns both checks off (development: http:// and loopback receivers).
 * targetAllowlist entries are host names (exact, or `*.example.com` for subdomains) or IPs/CIDRs; they lift the
 * address check only (the scheme must still be https).
 */
import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';

export interface TargetPolicy {
  allowInsecureTargets: boolean;
  targetAllowlist: readonly string[];
}

/** Resolves a host name to its addresses (injectable: tests map names to chosen addresses, with no DNS). */
export type Resolve = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const defaultResolve: Resolve = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

export const targetRefusedCode = 'ERR_TARGET_REFUSED';

export class TargetRefusedError extends Error {
  readonly code = targetRefusedCode;
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefusedError';
  }
}

interface Allowlist {
  hosts: Set<string>;
  suffixes: string[];
  networks: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
}

const allowlists = new WeakMap<readonly string[], Allowlist>();

function parseAllowlist(entries: readonly string[]): Allowlist {
  const cached = allowlists.get(entries);
  if (cached) return cached;
  const list: Allowlist = { hosts: new Set(), suffixes: [], networks: [] };
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry.includes('/') && ipaddr.isValidCIDR(entry)) list.networks.push(ipaddr.parseCIDR(entry));
    else if (ipaddr.isValid(entry)) {
      const a = ipaddr.parse(entry);
      list.networks.push([a, a.kind() === 'ipv4' ? 32 : 128]);
    } else if (entry.startsWith('*.')) list.suffixes.push(entry.slice(1));
    else list.hosts.add(entry.replace(/\.$/, ''));
  }
  allowlists.set(entries, list);
  return list;
}

function hostAllowlisted(host: string | undefined, list: Allowlist): boolean {
  if (!host) return false;
  const h = host.toLowerCase().replace(/\.$/, '');
  return list.hosts.has(h) || list.suffixes.some((s) => h.endsWith(s));
}

function addressAllowlisted(addr: ipaddr.IPv4 | ipaddr.IPv6, list: Allowlist): boolean {
  const forms: Array<ipaddr.IPv4 | ipaddr.IPv6> = [addr];
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) forms.push((addr as ipaddr.IPv6).toIPv4Address());
  return list.networks.some(([net, bits]) => forms.some((f) => f.kind() === net.kind() && f.match(net, bits)));
}

const metadataAddresses = new Set(['169.254.169.254', 'fd00:ec2::254']);
const globalUnicast = ipaddr.parseCIDR('2000::/3');

/** Why this address may not be a target, or null when it may. `host` is the name it was resolved from. */
export function addressRefusal(address: string, policy: TargetPolicy, host?: string): string | null {
  if (policy.allowInsecureTargets) return null;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return `${address} is not an IP address`;
  }
  const list = parseAllowlist(policy.targetAllowlist);
  if (hostAllowlisted(host, list) || addressAllowlisted(addr, list)) return null;
  const text = addr.toString();
  if (metadataAddresses.has(text)) return `${text} is a cloud metadata address`;
  if (addr.kind() === 'ipv4') {
    const range = addr.range();
    return range === 'unicast' ? null : `${text} is a ${range} address`;
  }
  const v6 = addr as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return `${text} is an IPv4-mapped IPv6 address`;
  const range = v6.range();
  if (range !== 'unicast') return `${text} is a ${range} address`;
  if (!v6.match(globalUnicast)) return `${text} is not a global unicast address`;
  return null;
}

function isLocalhostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/** Save-time (and pre-send) check of a target URL. Returns why it is refused, or null. */
export function checkTargetUrl(url: string, policy: TargetPolicy): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a valid absolute URL';
  }
  if (u.protocol !== 'https:' && !(policy.allowInsecureTargets && u.protocol === 'http:')) {
    return policy.allowInsecureTargets ? 'must use http or https' : 'must use https';
  }
  if (u.username || u.password) return 'must not contain credentials (use the webhook Headers)';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!host) return 'has no host';
  if (policy.allowInsecureTargets) return null;
  if (ipaddr.isValid(host)) {
    const refusal = addressRefusal(host, policy);
    return refusal ? `host ${refusal}` : null;
  }
  const list = parseAllowlist(policy.targetAllowlist);
  if (isLocalhostName(host) && !hostAllowlisted(host, list)) return `host ${host} is a loopback name`;
  return null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A dns.lookup-compatible function for http.Agent / https.Agent `lookup`: resolves with `resolve`, drops refused
 * addresses and fails with TargetRefusedError when none is left, so the socket never connects to them.
 */
export function createGuardedLookup(policy: TargetPolicy, resolve: Resolve = defaultResolve) {
  return function guardedLookup(hostname: string, options: LookupOptions | number | LookupCallback, cb?: LookupCallback): void {
    const callback = (typeof options === 'function' ? options : cb) as LookupCallback;
    const opts: LookupOptions = typeof options === 'object' ? options : typeof options === 'number' ? { family: options } : {};
    resolve(hostname).then(
      (answers) => {
        const wanted = opts.family === 4 || opts.family === 6 ? answers.filter((a) => a.family === opts.family) : answers;
        const allowed: LookupAddress[] = [];
        let refusal: string | null = null;
        for (const a of wanted) {
          const why = addressRefusal(a.address, policy, hostname);
          if (why) refusal ??= why;
          else allowed.push({ address: a.address, family: a.family });
        }
        if (allowed.length === 0) {
          const err = refusal
            ? new TargetRefusedError(`TargetUrl host ${hostname} resolves only to refused addresses (${refusal})`)
            : Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
          callback(err, opts.all ? [] : '', undefined);
          return;
        }
        if (opts.all) callback(null, allowed);
        else callback(null, allowed[0].address, allowed[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, opts.all ? [] : '', undefined),
    );
  };
}

/**
 * Through a proxy (DELIVERY_PROXY_URL) the proxy resolves the target's name, so the agents' guarded lookup never
 * runs for it. The name is resolved here instead, right before the request, and refused unless every address it
 * has passes (the proxy may connect to any of them). Literal addresses and localhost names were refused by
 * checkTargetUrl already. The proxy's own address is not checked: it is the operator's choice.
 */
export async function checkProxiedTarget(url: string, policy: TargetPolicy, resolve: Resolve = defaultResolve): Promise<void> {
  if (policy.allowInsecureTargets) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(host)) return;
  const answers = await resolve(host);
  if (answers.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host });
  for (const a of answers) {
    const why = addressRefusal(a.address, policy, host);
    if (why) throw new TargetRefusedError(`TargetUrl host ${host} resolves to a refused address (${why})`);
  }
}
