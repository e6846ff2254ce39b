#!/usr/bin/env -S node --disable-proto=delete
/**
 * Entry point: builds the object graph and runs one command.
 *   serve              SOAP service (and, unless WORKER_ENABLED=false, the delivery worker)
 *   worker             the delivery worker alone (scale out on PostgreSQL / SQL Server)
 *   migrate            apply database migrations and exit
 *   user add <name>    add an associate (password from --password or generated) and print a ticket
 *   ticket <name>      print a fresh ticket for an existing associate (asks for the password)
 *   secrets reencrypt  rewrite every webhook secret with the current SECRET_ENCRYPTION_KEY (docs/security.md: "Secrets at rest")
 *   import netserver   copy webhooks and their associates from a NetServer database (docs/migration.md)
 *   deliveries ...     delivery history and replay: list | show | retry | purge (cli-deliveries.ts)
 *   webhooks ...       the stored webhooks: list | show | set | rotate-secret (cli-webhooks.ts)
 *   listen             a receiver for trying it out: prints deliveries, checks signatures (cli-listen.ts)
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { configSummary, loadConfig, redactUrl, type Config, type ConfigInput } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { dialectOf, openDatabase, migrateLatest, sqliteFile, type Database } from './store/db.js';
import type { StorageFullReport } from './store/storage-watch.js';
import { backfillEventRows } from './store/webhook-repository.js';
import { createAuthService, type EnsureAdminResult } from './auth/auth-service.js';
import { createApp } from './app.js';
import { createDeliveryRuntime } from './agent/delivery-runtime.js';
import { secretCodecFor } from './store/secret-codec.js';
import { reencryptSecrets } from './store/reencrypt-secrets.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { createMetricsApp } from './metrics/metrics-route.js';
import { registerDeliveryCommands } from './cli-deliveries.js';
import { registerWebhookCommands } from './cli-webhooks.js';
import { registerListenCommand } from './cli-listen.js';
import { readPassword } from './cli-password.js';
import { packageInfo } from './version.js';
import { guardConnections } from './connection-guard.js';
import { createCrmSource } from './crm/create-crm-source.js';
import type { CrmSource } from './crm/crm-source.js';
import { registerCrmEventsCommands } from './cli-crm-events.js';

interface Common { config?: string; databaseUrl?: string; port?: string }

function setup(opts: Common, overrides: ConfigInput = {}): { config: Config; logger: Logger } {
  const config = loadConfig({
    file: opts.config,
    overrides: { ...overrides, ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}), ...(opts.port ? { port: opts.port } : {}) },
  });
  return { config, logger: createLogger(config.logLevel) };
}

async function openMigrated(config: Config, logger: Logger, service = false): Promise<Database & { applied: string[] }> {
  // A service keeps its event loop free while another process holds the SQLite lock (db.ts SqliteBusyOptions).
  const busy = service ? { busyTimeoutMs: 20, busyWaitMs: config.sqliteBusyWaitMs } : {};
  const onStorageFull = (r: StorageFullReport) => logger.error({ database: redactUrl(config.databaseUrl), ...r },
    'storage full: the database cannot write (its disk is full); requests that write are refused and deliveries wait until space is freed');
  const db = openDatabase(config.databaseUrl, { poolMax: config.dbPoolMax, onStorageFull, ...busy });
  let applied: string[];
  try {
    applied = await migrateLatest(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    // One line naming the database (password masked) and the driver's reason, not a driver stack.
    throw new Error(`Cannot open the database ${db.description}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (applied.length) logger.info({ applied }, 'migrations applied');
  await backfillEventRows(db.knex);
  return Object.assign(db, { applied });
}

function authFor(db: Database, config: Config, logger?: Logger) {
  return createAuthService({
    db: db.knex, ticketTtlMs: config.ticketTtlMs, ticketCacheMs: config.ticketCacheMs, loginFailuresPerWindow: config.loginFailuresPerWindow,
    loginWindowMs: config.loginWindowMs, loginMaxDelayMs: config.loginMaxDelayMs, logger,
  });
}

/** Defence in depth for objects built from caller-chosen names (docs/soap.md: "Why `--disable-proto=delete`"). */
function requireDisabledProto(): void {
  if (Object.getOwnPropertyDescriptor(Object.prototype, '__proto__')) {
    throw new Error('serve must run with node --disable-proto=delete (the webhook-agent bin and npm start pass it)');
  }
}

function metricsFor(config: Config, db: Database, logger: Logger): Metrics | undefined {
  if (!config.metricsEnabled) return undefined;
  return createMetrics({ db, cacheMs: config.metricsCacheMs, onError: (err) => logger.warn({ err }, 'metrics: queue figures could not be read') });
}

/** METRICS_PORT: /metrics on a listener of its own. */
function listenMetrics(config: Config, metrics: Metrics | undefined, logger: Logger): { close(): Promise<void> } | null {
  if (!metrics || config.metricsPort === undefined) return null;
  const server = createMetricsApp(metrics, { token: config.metricsToken, onError: (err) => logger.warn({ err }, 'metrics scrape failed') })
    .listen(config.metricsPort, config.host, () => {
      const addr = server.address();
      logger.info({ port: typeof addr === 'object' && addr ? addr.port : config.metricsPort }, 'metrics listening');
    });
  return { close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * The import's target. A dry run writes nothing at all: it neither creates nor migrates the target. A target that
 * does not exist yet (a missing SQLite file) or has no webhook-agent tables is compared as the empty database it
 * would be, an in-memory SQLite one.
 */
async function openImportTarget(config: Config, logger: Logger, dryRun: boolean): Promise<Database> {
  if (!dryRun) return openMigrated(config, logger);
  const empty = async () => {
    const mem = openDatabase('sqlite::memory:');
    await migrateLatest(mem);
    return { ...mem, description: `${redactUrl(config.databaseUrl)} (not created yet: compared as empty)` };
  };
  if (dialectOf(config.databaseUrl) === 'sqlite') {
    const file = sqliteFile(config.databaseUrl);
    if (file === ':memory:' || !existsSync(file)) return empty();
  }
  const db = openDatabase(config.databaseUrl, { poolMax: 1 });
  const ready = await db.knex.schema.hasTable('webhook') && await db.knex.schema.hasColumn('associate', 'password_hash');
  if (ready) return db;
  await db.close();
  return empty();
}

/** Why no admin was created although nobody can sign in, and what to do about it. */
function unusableAdminMessage(u: NonNullable<EnsureAdminResult['unusable']>): string {
  if (u.reason === 'deleted') {
    return `no admin associate was created: '${u.userName}' exists but is deleted, and no associate has a password, so nobody can ` +
      'sign in. Set ADMIN_USER to another name and restart, or add one with: webhook-agent user add <name>';
  }
  return `no admin associate was created: '${u.userName}' already exists (imported from NetServer) without a password, and no ` +
    `associate has one, so nobody can sign in. Set its password with: webhook-agent user password ${u.userName} ` +
    '(the password from WA_PASSWORD or stdin)';
}

async function serve(opts: Common) {
  requireDisabledProto();
  const { config, logger } = setup(opts);
  logger.info(`starting: ${configSummary(config)}`);
  warnAboutRelaxedSettings(config, logger);
  const db = await openMigrated(config, logger, true);
  const auth = authFor(db, config, logger);
  const admin = await auth.ensureAdmin({ userName: config.adminUser, password: config.adminPassword });
  if (admin.created && admin.generatedPassword) {
    // Printed once, on stdout only, so the operator can log in; never logged.
    process.stdout.write(`\nCreated associate '${config.adminUser}' with generated password: ${admin.generatedPassword}\n` +
      'Set ADMIN_PASSWORD to choose it yourself. It is not shown again.\n\n');
  }
  if (admin.unusable) logger.warn({ associate: admin.unusable.userName }, unusableAdminMessage(admin.unusable));
  const stopPruning = pruneTicketsPeriodically(auth, logger);
  const secrets = secretCodecFor(config);
  const metrics = metricsFor(config, db, logger);
  const delivery = createDeliveryRuntime({ db, config, logger, secrets, onAttempt: metrics?.observeAttempt, onFinished: metrics?.observeFinished });
  metrics?.watchWorker(() => delivery.workerState());
  if (config.workerEnabled) await delivery.startWorker();
  const crmEvents = config.workerEnabled ? startCrmEvents(config, db, logger, metrics) : null;
  const app = createApp({ config, db, auth, delivery, logger, secrets, metrics, crmEvents });
  const metricsServer = listenMetrics(config, metrics, logger);
  const server = app.listen(config.port, config.host, () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    logger.info({ host: config.host, port, database: db.description, worker: config.workerEnabled }, 'listening');
    process.stdout.write(`${listeningLine(config.host, port)}\n`);
  });
  server.keepAliveTimeout = 65_000;
  const trusted = app.get('trust proxy fn') as (address: string, hop: number) => boolean;
  guardConnections(server, config, logger, { isTrustedProxy: (address) => trusted(address, 0) });
  onShutdown(logger, async () => {
    await new Promise<void>((r) => server.close(() => r()));
    stopPruning();
    await metricsServer?.close();
    await crmEvents?.stop();
    await delivery.stop(config.shutdownGraceMs);
    await db.close();
  });
}

/** Says where the service listens; a wildcard HOST is named as such, with a local URL to try. */
export function listeningLine(host: string, port: number): string {
  const path = '/Remote/Services88/Webhook.svc';
  if (host === '0.0.0.0' || host === '::') {
    return `webhook-agent listening on all interfaces (HOST=${host}), port ${port}: http://127.0.0.1:${port}${path} from this machine`;
  }
  return `webhook-agent listening on http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
}

/** Expired tickets are deleted at start and then hourly (they are refused anyway; this keeps the table small). */
function pruneTicketsPeriodically(auth: ReturnType<typeof authFor>, logger: Logger, everyMs = 3_600_000): () => void {
  const prune = () => auth.pruneExpiredTickets().then(
    (n) => { if (n > 0) logger.info({ pruned: n }, 'expired tickets deleted'); },
    (err: unknown) => logger.warn({ err }, 'pruning expired tickets failed; retried at the next interval'),
  );
  void prune();
  const timer = setInterval(() => void prune(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

function warnAboutRelaxedSettings(config: Config, logger: Logger): void {
  if (config.allowInsecureTargets) {
    const line = 'ALLOW_INSECURE_TARGETS is on: webhooks may target http:// URLs and loopback, private and metadata ' +
      'addresses (no SSRF protection). Use it for development only.';
    logger.warn({ allowInsecureTargets: true }, line);
    process.stderr.write(`WARNING: ${line}\n`);
  }
}

async function worker(opts: Common) {
  const { config, logger } = setup(opts);
  logger.info(`starting worker: ${configSummary(config)}`);
  warnAboutRelaxedSettings(config, logger);
  const db = await openMigrated(config, logger, true);
  const metrics = metricsFor(config, db, logger);
  const delivery = createDeliveryRuntime({ db, config, logger, secrets: secretCodecFor(config), onAttempt: metrics?.observeAttempt, onFinished: metrics?.observeFinished });
  metrics?.watchWorker(() => delivery.workerState());
  await delivery.startWorker();
  const crmEvents = startCrmEvents(config, db, logger, metrics);
  const metricsServer = listenMetrics(config, metrics, logger);
  logger.info({ database: db.description }, 'worker started');
  onShutdown(logger, async () => {
    await metricsServer?.close();
    await crmEvents?.stop();
    await delivery.stop(config.shutdownGraceMs);
    await db.close();
  });
}

/** The CRM event source (CRM_EVENTS_URL), started beside the delivery worker; null when not configured. */
function startCrmEvents(config: Config, db: Database, logger: Logger, metrics: Metrics | null | undefined): CrmSource | null {
  const source = createCrmSource({ config, db, logger });
  if (!source) return null;
  metrics?.watchCrmEvents(() => source.state());
  source.start();
  return source;
}

function onShutdown(logger: Logger, stop: () => Promise<void>) {
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal: sig }, 'shutting down');
      stop().then(() => process.exit(0), (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
    });
  }
}

const program = new Command('webhook-agent').description('NetServer-compatible Webhook Agent')
  .version(packageInfo().version, '-V, --version', 'print the version and exit');
program.option('-c, --config <file>', 'JSON configuration file').option('--database-url <url>', 'overrides DATABASE_URL');
program.command('serve').description('run the SOAP service (and the delivery worker)').option('-p, --port <port>', 'overrides PORT')
  .action((o: { port?: string }) => serve({ ...program.opts<Common>(), ...o }));
program.command('worker').description('run the delivery worker only').action(() => worker(program.opts()));
program.command('migrate').description('apply migrations and exit').action(async () => {
  const { config, logger } = setup(program.opts());
  const db = await openMigrated(config, logger);
  await db.close();
  process.stdout.write(db.applied.length
    ? `applied ${db.applied.length} migration(s) to ${db.description}: ${db.applied.join(', ')}\n`
    : `${db.description} is up to date: no migrations to apply\n`);
});
const user = program.command('user').description('manage associates');
user.command('add <name>').description('add an associate and print a ticket').option('--password <password>', 'password (generated when omitted)')
  .action(async (name: string, o: { password?: string }) => {
    const { config, logger } = setup(program.opts());
    const db = await openMigrated(config, logger);
    const auth = authFor(db, config);
    const password = o.password ?? randomBytes(18).toString('base64url');
    const created = await auth.addAssociate(name, password);
    const login = await auth.login(name, password);
    process.stdout.write(`associate ${name} (id ${created.associateId})\n` +
      (o.password ? '' : `password: ${password}\n`) + `ticket: ${login?.ticket}\n`);
    await db.close();
  });
user.command('delete <name>').description('mark an associate deleted and end its sessions').action(async (name: string) => {
  const { config, logger } = setup(program.opts());
  const db = await openMigrated(config, logger);
  const ok = await authFor(db, config).deleteAssociate(name);
  await db.close();
  process.stdout.write(ok ? `associate ${name} deleted\n` : `no associate ${name}\n`);
  if (!ok) process.exit(1);
});
user.command('password <name>').description('set a new password (from WA_PASSWORD or stdin) and end its sessions')
  .action(async (name: string) => {
    const { config, logger } = setup(program.opts());
    const db = await openMigrated(config, logger);
    const password = await readPassword(`new password for ${name}`);
    const ok = await authFor(db, config).changePassword(name, password);
    await db.close();
    process.stdout.write(ok ? `password of ${name} changed\n` : `no associate ${name}\n`);
    if (!ok) process.exit(1);
  });
const secretsCmd = program.command('secrets').description('webhook secrets at rest');
secretsCmd.command('reencrypt')
  .description('rewrite every webhook secret with SECRET_ENCRYPTION_KEY (or as plaintext when unset); idempotent')
  .option('--batch-size <n>', 'webhooks per transaction', '200')
  .action(async (o: { batchSize: string }) => {
    const { config, logger } = setup(program.opts());
    const secrets = secretCodecFor(config);
    const db = await openMigrated(config, logger);
    const r = await reencryptSecrets(db.knex, secrets, { batchSize: Number(o.batchSize) || 200 });
    await db.close();
    const form = secrets.keyId ? `encrypted with key id ${secrets.keyId}` : 'as plaintext (no SECRET_ENCRYPTION_KEY)';
    process.stdout.write(`webhooks scanned: ${r.scanned}\nrewritten ${form}: ${r.rewritten}\nalready current or no secret: ${r.unchanged}\n` +
      `changed meanwhile (run again): ${r.skipped}\nunreadable with the configured keys: ${r.unreadable.length}` +
      (r.unreadable.length ? ` (webhook ids ${r.unreadable.slice(0, 20).join(', ')}${r.unreadable.length > 20 ? ', ...' : ''})` : '') + '\n');
    if (r.unreadable.length || r.skipped) process.exit(1);
  });
program.command('import').description('import webhooks from another system')
  .command('netserver').description('copy webhooks, usage, notify rows and their associates from a NetServer database, keeping ids')
  .requiredOption('--from <url>', 'the NetServer database: mssql://..., postgres://... or sqlite:FILE')
  .option('--schema <name>', "NetServer's TablePrefix (the tables' schema)", 'crm7')
  .option('--dry-run', 'check every row and print the report; write nothing')
  .option('--skip-invalid', 'import the valid webhooks and leave out the invalid ones (listed) instead of writing nothing')
  .action(async (o: { from: string; schema: string; dryRun?: boolean; skipInvalid?: boolean }) => {
    // Loaded here, not at start-up: the import (and the pg driver it needs for PostgreSQL sources) is a one-off command.
    const { openNetServerSource } = await import('./store/netserver-source.js');
    const { formatImportReport, importNetServer } = await import('./agent/netserver-import.js');
    try {
      dialectOf(o.from);
    } catch {
      throw new Error(`--from must start with sqlite:, postgres:// or mssql:// (got ${redactUrl(o.from)})`);
    }
    const { config, logger } = setup(program.opts());
    const source = openNetServerSource(o.from, o.schema);
    const db = await openImportTarget(config, logger, !!o.dryRun).catch(async (err: unknown) => {
      await source.close();
      throw err;
    });
    const opts = { dryRun: !!o.dryRun, skipInvalid: !!o.skipInvalid };
    try {
      const outcome = await importNetServer({ source, target: db, policy: config, secrets: secretCodecFor(config) }, opts);
      process.stdout.write(formatImportReport(outcome, { ...opts, source: source.description, schema: o.schema }));
      if (outcome.refused) process.exitCode = 1;
    } finally {
      await source.close();
      await db.close();
    }
  });
/** The migrated database of the global options, for the commands that read or change it directly. */
const openFromOptions = async (): Promise<Database> => {
  const { config, logger } = setup(program.opts());
  return openMigrated(config, logger);
};
registerDeliveryCommands(program, openFromOptions);
registerWebhookCommands(program, openFromOptions, () => secretCodecFor(setup(program.opts()).config));
registerListenCommand(program);
registerCrmEventsCommands(program);
program.command('ticket <name>').description('log in and print a ticket (password from WA_PASSWORD or stdin)')
  .action(async (name: string) => {
    const password = await readPassword(`password of ${name}`);
    const { config, logger } = setup(program.opts());
    const db = await openMigrated(config, logger);
    const login = await authFor(db, config).login(name, password);
    await db.close();
    if (!login) {
      process.stderr.write('authentication failed\n');
      process.exit(1);
    }
    process.stdout.write(`${login.ticket}\n`);
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
