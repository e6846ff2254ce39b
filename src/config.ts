/**
 * The only reader of process.env. Layers: defaults < JSON file (CONFIG_FILE / --config) < environment < argv
 * overrides. Validated with zod, then frozen. Every key is listed in docs/configuration.md; a test keeps the
 * two in step.
 */
import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) =>
  typeof v === 'boolean' ? v : ['true', '1', 'yes'].includes(v),
);
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const list = z.union([z.array(z.string()), z.string()]).transform((v) =>
  (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean),
);

/**
 * TRUST_PROXY: which peers may speak for the client through X-Forwarded-For/-Proto/-Host. Express's own `trust proxy`
 * forms: a hop count, or a list of addresses, CIDRs and the names loopback, linklocal, uniquelocal. The client address is
 * then the rightmost X-Forwarded-For entry that is not a trusted proxy. `true` once trusted every peer (the leftmost
 * entry, which the client writes, became its address); it now means the proxies of this host and the private
 * networks. `false` (or 0): none.
 */
const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
const PRIVATE_PROXIES = [...PROXY_NAMES];
const trustProxySchema = z.union([z.boolean(), z.number(), z.string(), z.array(z.string())]).transform((v, ctx): false | number | string[] => {
  if (v === true) return PRIVATE_PROXIES;
  if (v === false) return false;
  if (typeof v === 'number' || (typeof v === 'string' && /^\s*\d+\s*$/.test(v))) {
    const hops = Number(v);
    if (!Number.isInteger(hops) || hops < 0 || hops > 100) {
      ctx.addIssue({ code: 'custom', message: 'a hop count must be an integer from 0 to 100' });
      return z.NEVER;
    }
    return hops === 0 ? false : hops;
  }
  if (typeof v === 'string' && ['true', 'yes'].includes(v.trim().toLowerCase())) return PRIVATE_PROXIES;
  if (typeof v === 'string' && ['false', 'no', ''].includes(v.trim().toLowerCase())) return false;
  const entries = (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean);
  const bad = entries.filter((e) => !PROXY_NAMES.includes(e.toLowerCase()) && !validAddressOrCidr(e));
  if (bad.length) {
    ctx.addIssue({ code: 'custom', message: `not an address, CIDR, hop count or loopback/linklocal/uniquelocal: ${bad.map((b) => JSON.stringify(b.slice(0, 60))).join(', ')}` });
    return z.NEVER;
  }
  return entries.length ? entries.map((e) => (PROXY_NAMES.includes(e.toLowerCase()) ? e.toLowerCase() : e)) : false;
});

function validAddressOrCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return ipaddr.isValid(s);
  const [addr, bits] = [s.slice(0, slash), s.slice(slash + 1)];
  if (!ipaddr.isValid(addr) || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (ipaddr.parse(addr).kind() === 'ipv4' ? 32 : 128);
}

// Rotation moves the key into the comma-separated SECRET_ENCRYPTION_OLD_KEYS, which trims: it must survive that.
const secretKeySchema = z.string()
  .min(32, 'must be at least 32 characters')
  .refine((k) => !k.includes(',') && k.trim() === k, 'must not contain commas or leading/trailing whitespace');

/** key -> [environment variable, schema with default, description]. */
export const configKeys = {
  port: ['PORT', int(0, 65535).default(8080), 'HTTP port of the SOAP service'],
  host: ['HOST', z.string().default('0.0.0.0'), 'Interface to listen on'],
  databaseUrl: ['DATABASE_URL', z.string().min(1).default('sqlite:./data/webhook-agent.sqlite'),
    'sqlite:<file> (default), postgres://user:pass@host/db, or mssql://user:pass@host:1433/db'],
  databasePassword: ['DATABASE_PASSWORD', z.string().optional(),
    'Password for DATABASE_URL (postgres://, mssql://), taken as is: overrides the URL\'s, so it needs no URL encoding'],
  databasePasswordFile: ['DATABASE_PASSWORD_FILE', z.string().optional(),
    'File holding that password (Docker secrets: /run/secrets/NAME); one trailing newline is ignored'],
  sqliteBusyWaitMs: ['SQLITE_BUSY_WAIT_MS', int(0).default(3000),
    'SQLite: how long a request waits for a lock another process holds before it is answered "database is busy"'],
  dbPoolMax: ['DB_POOL_MAX', int(1, 1000).default(10), 'Maximum database connections (PostgreSQL, SQL Server)'],
  trustProxy: ['TRUST_PROXY', trustProxySchema.default(false),
    'The reverse proxies whose X-Forwarded-For/-Proto/-Host count: their addresses or CIDRs (comma separated), a hop count, or true (this host and the private networks); see "Trusted proxies"'],
  maxConnections: ['MAX_CONNECTIONS', int(1).default(1000),
    'Most open client connections (keep it under the open-file limit, ulimit -n, minus dbPoolMax and workerConcurrency); when reached, the longest-idle connection is closed for a new one'],
  maxConnectionsPerAddress: ['MAX_CONNECTIONS_PER_ADDRESS', int(1).default(100),
    'Most open connections from one client address (IPv6: one /64); more are closed at once. TRUST_PROXY peers are exempt'],
  firstByteTimeoutMs: ['FIRST_BYTE_TIMEOUT_MS', int(100).default(5000), 'A new connection that sends no byte within this is closed'],
  bodyLimitBytes: ['BODY_LIMIT_BYTES', int(1024).default(1024 * 1024), 'Largest SOAP request body accepted'],
  debugErrors: ['DEBUG_ERRORS', bool.default(false), 'Put stack traces in ExceptionInfo.StackTrace (never in production)'],
  logLevel: ['LOG_LEVEL', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), 'pino log level'],
  adminUser: ['ADMIN_USER', z.string().min(1).default('admin'), 'Associate created on first start when none exists'],
  adminPassword: ['ADMIN_PASSWORD', z.string().optional(), 'Its password; when unset a random one is generated and printed once'],
  ticketTtlMs: ['TICKET_TTL_MS', int(1000).default(6 * 3600_000), 'Sliding ticket lifetime (NetServer: 6 h)'],
  ticketCacheMs: ['TICKET_CACHE_MS', int(0).default(5000),
    'How long a validated ticket is trusted before the database is asked again (renewal is written at most this often; revocation from another process takes this long)'],
  loginFailuresPerWindow: ['LOGIN_FAILURES_PER_WINDOW', int(1).default(5),
    'Failed logins per user name and client address before further attempts from there are slowed down'],
  loginWindowMs: ['LOGIN_WINDOW_MS', int(1000).default(15 * 60_000), 'Failures are forgotten this long after the last one'],
  loginMaxDelayMs: ['LOGIN_MAX_DELAY_MS', int(0).default(30_000), 'Longest wait of a slowed login (the delay doubles from 1 s up to this)'],
  allowInsecureTargets: ['ALLOW_INSECURE_TARGETS', bool.default(false),
    'Allow http:// targets and loopback/private addresses (development only)'],
  targetAllowlist: ['TARGET_ALLOWLIST', list.default([]), 'Hosts or CIDRs allowed even though private (comma separated)'],
  targetHostsFile: ['TARGET_HOSTS_FILE', z.string().optional(),
    'hosts(5)-format file consulted before DNS when resolving target names (split-horizon setups, tests); the address policy still applies'],
  deliveryProxyUrl: ['DELIVERY_PROXY_URL', z.string().regex(/^https?:\/\/[^/?#]+\/?$/i, 'must be http://[user:password@]host:port or https://…').optional(),
    'Proxy for every delivery, ping and TestWebhook (CONNECT for https targets); the target policy still applies to each target first'],
  pingOnSave: ['PING_ON_SAVE', bool.default(true), 'SaveWebhook first POSTs a signed test event and refuses the save unless 2xx (NetServer behaviour), when the saved hook will be Active and is new, becomes Active, or changes its target, secret or headers'],
  contextIdentifier: ['CONTEXT_IDENTIFIER', z.string().default('Default'), 'ContextIdentifier in payloads (NetServer onsite: "Default")'],
  userAgent: ['USER_AGENT', z.string().default('NetServer-Webhook/8.8 (webhook-agent)'), 'User-Agent of deliveries'],
  secretKey: ['SECRET_ENCRYPTION_KEY', secretKeySchema.optional(), 'Optional key (32+ chars) to encrypt webhook secrets at rest'],
  secretOldKeys: ['SECRET_ENCRYPTION_OLD_KEYS', list.pipe(z.array(secretKeySchema)).default([]),
    'Previous encryption keys, still accepted for reading (comma separated); see "Secrets at rest" for rotation'],
  workerEnabled: ['WORKER_ENABLED', bool.default(true), 'Run the delivery worker inside `serve`'],
  workerDbPoolMax: ['WORKER_DB_POOL_MAX', int(1, 1000).default(4),
    'Connections of the delivery worker\'s own pool (PostgreSQL, SQL Server), so requests cannot starve it'],
  workerConcurrency: ['WORKER_CONCURRENCY', int(1, 1000).default(32), 'Deliveries in flight per worker process'],
  hostConcurrency: ['HOST_CONCURRENCY', int(1, 1000).default(16), 'Deliveries in flight per target host (host:port) per worker process'],
  slowAttemptMs: ['SLOW_ATTEMPT_MS', int(100).default(500),
    'An attempt still waiting after this stops holding one of the WORKER_CONCURRENCY slots (see MAX_SLOW_IN_FLIGHT)'],
  maxSlowInFlight: ['MAX_SLOW_IN_FLIGHT', int(0, 10_000).default(256), 'Most such slow attempts that do not hold a slot; beyond it they count again'],
  circuitTimeouts: ['CIRCUIT_TIMEOUTS', int(1).default(3), 'Timed-out attempts in a row to one target host before its circuit opens'],
  circuitCooldownMs: ['CIRCUIT_COOLDOWN_MS', int(1000).default(30_000), 'How long an open circuit holds that host\'s deliveries back (doubles on re-opening, up to 10 min)'],
  claimBatchSize: ['CLAIM_BATCH_SIZE', int(1, 1000).default(50), 'Deliveries claimed per database round trip'],
  leaseMs: ['LEASE_MS', int(1000).default(60_000), 'How long a claimed delivery stays invisible to other workers'],
  pollIntervalMs: ['POLL_INTERVAL_MS', int(10).default(500), 'Idle poll interval when no wake-up arrives'],
  deliveryTimeoutMs: ['DELIVERY_TIMEOUT_MS', int(100).default(15_000), 'Per-attempt HTTP timeout'],
  responseCapBytes: ['RESPONSE_CAP_BYTES', int(256).default(64 * 1024), 'Largest response body read from a target'],
  maxConsecutiveErrors: ['MAX_CONSECUTIVE_ERRORS', int(1).default(9), 'Failed attempts in a row before TooManyErrors (NetServer: 9)'],
  retryBaseMs: ['RETRY_BASE_MS', int(1).default(60_000), 'First delay of the backoff after NetServer\'s first cycle (now, +1 s, +4 s)'],
  retryMaxDelayMs: ['RETRY_MAX_DELAY_MS', int(1).default(12 * 3600_000), 'Cap of one backoff delay'],
  retryMaxAgeMs: ['RETRY_MAX_AGE_MS', int(1000).default(3 * 24 * 3600_000), 'Retry window: a delivery still failing after this is expired (recorded)'],
  retryAfterCapMs: ['RETRY_AFTER_CAP_MS', int(0).default(3600_000), 'Cap on a target\'s Retry-After'],
  retentionMs: ['RETENTION_MS', int(1000).default(7 * 24 * 3600_000), 'Pending deliveries older than this are expired; attempts older are pruned'],
  idempotencyKeyTtlMs: ['IDEMPOTENCY_KEY_TTL_MS', int(1000).default(24 * 3600_000),
    'How long a SignalEvent Idempotency-Key is remembered: a repeat within it enqueues nothing'],
  shutdownGraceMs: ['SHUTDOWN_GRACE_MS', int(0).default(10_000), 'On SIGTERM, how long in-flight attempts may finish'],
  smtpUrl: ['SMTP_URL', z.string().optional(), 'smtp://user:pass@host:port for error e-mails (unset: no e-mail)'],
  smtpFrom: ['SMTP_FROM', z.string().default('webhook-agent@localhost'), 'From address of error e-mails'],
  crmEventsUrl: ['CRM_EVENTS_URL', z.string().regex(/^(postgres(ql)?|mssql|sqlserver):\/\//i, 'must be postgres://… or mssql://…').optional(),
    'The CRM database whose changes become NetServer\'s entity events (contact.created, …): postgres:// (logical replication) or mssql:// (Change Tracking); unset: off. Read by the process that runs the delivery worker'],
  crmEventsSchema: ['CRM_EVENTS_SCHEMA', z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be a plain identifier').default('crm7'),
    'Schema of the CRM tables (contact, person, sale, …)'],
  crmEventsSlot: ['CRM_EVENTS_SLOT', z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _').default('webhook_agent'),
    'PostgreSQL: the logical replication slot the reader reads from (created on first start: events start from then)'],
  crmEventsPublication: ['CRM_EVENTS_PUBLICATION', z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _').default('webhook_agent_crm'),
    'PostgreSQL: the publication on the CRM tables (`crm-events setup` creates it)'],
  crmEventsPollMs: ['CRM_EVENTS_POLL_MS', int(50).default(1000), 'SQL Server: how often Change Tracking is asked for new changes'],
  crmEventsRetryMs: ['CRM_EVENTS_RETRY_MS', int(100).default(5000),
    'How often a reader that finds another one reading the same CRM database tries again; also the first reconnect delay'],
  metricsEnabled: ['METRICS_ENABLED', bool.default(true), 'Serve GET /metrics (Prometheus text format)'],
  metricsPort: ['METRICS_PORT', int(0, 65535).optional(),
    'Serve /metrics on this port instead of PORT (on HOST); the only way a `worker` process exposes its metrics'],
  metricsToken: ['METRICS_TOKEN', z.string().min(16, 'must be at least 16 characters').optional(),
    'When set, /metrics requires `Authorization: Bearer <token>`'],
  metricsCacheMs: ['METRICS_CACHE_MS', int(0).default(5000), 'How long the queue and webhook figures of /metrics are reused between scrapes'],
} as const;

type Keys = typeof configKeys;
export type Config = Readonly<{ [K in keyof Keys]: z.output<Keys[K][1]> }>;
export type ConfigInput = Partial<Record<keyof Keys, unknown>>;

export function loadConfig(opts: { env?: NodeJS.ProcessEnv; file?: string; overrides?: ConfigInput } = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.CONFIG_FILE;
  const fromFile = file ? readConfigFile(file) : {};
  const unknownKeys = Object.keys(fromFile).filter((k) => !(k in configKeys));
  if (unknownKeys.length) throw new Error(`Invalid configuration: unknown key(s) in ${file}: ${unknownKeys.join(', ')}`);
  const raw: Record<string, unknown> = {};
  const shape: Record<string, z.ZodTypeAny> = {};
  for (const [key, [envName, schema]] of Object.entries(configKeys)) {
    shape[key] = schema;
    const fromEnv = env[envName];
    const override = opts.overrides?.[key as keyof Keys];
    raw[key] = override ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : fromFile[key]);
  }
  const parsed = z.object(shape).strict().safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0]);
      const envName = configKeys[key as keyof Keys]?.[0] ?? key;
      return `  ${key} (${envName}): ${i.message}`;
    });
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const data = parsed.data as Record<string, unknown>;
  data.databaseUrl = applyDatabasePassword(String(data.databaseUrl), data.databasePassword as string | undefined,
    data.databasePasswordFile as string | undefined);
  return Object.freeze(data) as Config;
}

/**
 * DATABASE_PASSWORD / DATABASE_PASSWORD_FILE: a password with `@ : / #` in it breaks a URL it is pasted into
 * unencoded, so it can be given on its own and is put into the URL percent-encoded, replacing any password there.
 */
export function applyDatabasePassword(url: string, password: string | undefined, file: string | undefined): string {
  if (password !== undefined && file !== undefined) {
    throw new Error('Invalid configuration: set DATABASE_PASSWORD or DATABASE_PASSWORD_FILE, not both');
  }
  let pw = password;
  if (file !== undefined) {
    try {
      pw = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new Error(`Invalid configuration: cannot read DATABASE_PASSWORD_FILE ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (pw === undefined) return url;
  if (!/^(postgres(ql)?|mssql|sqlserver):\/\//i.test(url)) {
    throw new Error(`Invalid configuration: DATABASE_PASSWORD applies to postgres:// and mssql:// URLs, not ${redactUrl(url)}`);
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`Invalid configuration: DATABASE_URL is not a valid URL: ${redactUrl(url)}`);
  }
  if (!u.username) throw new Error(`Invalid configuration: DATABASE_URL names no user for DATABASE_PASSWORD: ${redactUrl(url)}`);
  u.password = encodeURIComponent(pw);
  return u.toString();
}

/** The JSON configuration file as an object; errors name the file. */
function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`Invalid configuration: cannot read the configuration file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`Invalid configuration: ${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`Invalid configuration: ${file} must hold a JSON object of configuration keys`);
  }
  return value as Record<string, unknown>;
}

/**
 * For logs and errors: a connection URL with its password masked. An empty user name is masked too, and a password
 * with unencoded '/' or ':' in it; anything up to the first '@' after the user name counts as the password.
 */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@]*@/, '//$1:***@');
}

/** For logs: the configuration without secrets. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const k of ['adminPassword', 'databasePassword', 'secretKey', 'smtpUrl', 'metricsToken'] as const) if (out[k]) out[k] = '[redacted]';
  out.secretOldKeys = config.secretOldKeys.map(() => '[redacted]');
  out.databaseUrl = redactUrl(String(config.databaseUrl));
  if (config.crmEventsUrl) out.crmEventsUrl = redactUrl(config.crmEventsUrl);
  if (config.deliveryProxyUrl) out.deliveryProxyUrl = redactUrl(config.deliveryProxyUrl);
  return out;
}

/**
 * The configuration on one readable line for the start-up log: `key=value` in the order of configKeys, secrets
 * shown only as set/unset, the database URL with its password masked, lists comma-joined.
 */
export function configSummary(config: Config): string {
  const secret = new Set<string>(['adminPassword', 'databasePassword', 'secretKey', 'smtpUrl', 'metricsToken', 'secretOldKeys']);
  const parts: string[] = [];
  for (const key of Object.keys(configKeys) as Array<keyof Config>) {
    const v: unknown = config[key];
    let text: string;
    if (secret.has(key)) text = Array.isArray(v) ? String(v.length) : v ? 'set' : 'unset';
    else if (key === 'databaseUrl' || ((key === 'crmEventsUrl' || key === 'deliveryProxyUrl') && v)) text = redactUrl(String(v));
    else if (v === undefined) text = 'unset';
    else text = Array.isArray(v) ? v.join(',') || 'none' : String(v);
    parts.push(`${key}=${/\s/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.join(' ');
}
