/**
 * The express app: one SOAP endpoint per service version, the RESTful and Agents JSON API, health and readiness. Built from its dependencies;
 * no globals, so tests build as many as they like.
 */
import compression from 'compression';
import express from 'express';
import type { Config } from './config.js';
import { probeWrite, withLockWaitDeadline, type Database } from './store/db.js';
import type { Logger } from './logger.js';
import type { AuthService } from './auth/auth-service.js';
import type { DeliveryRuntime } from './agent/delivery-runtime.js';
import { contractFor } from './contract/index.js';
import { createSoapEndpoint } from './soap/soap-endpoint.js';
import { webhookHandlers } from './soap/operations/webhook-handlers.js';
import { principalHandlers } from './soap/operations/principal-handlers.js';
import { createWebhookAgent } from './agent/webhook-agent.js';
import { createWebhookOperations } from './agent/webhook-operations.js';
import { secretCodecFor, type SecretCodec } from './store/secret-codec.js';
import { createRestApi } from './rest/rest-api.js';
import type { Metrics } from './metrics/metrics.js';
import { metricsHandler } from './metrics/metrics-route.js';
import { countedLogins, countedOperations, soapCallCounter } from './metrics/instrument.js';
import { createAdminApi } from './admin/admin-api.js';
import { createAdminPage, defaultAdminUiDir } from './admin/admin-page.js';
import { createDeliveryHistory } from './agent/delivery-history.js';

export interface AppDeps {
  config: Config;
  db: Database;
  auth: AuthService;
  delivery: DeliveryRuntime;
  logger: Logger;
  /** How webhook secrets are stored; default: built from config (SECRET_ENCRYPTION_KEY / _OLD_KEYS). */
  secrets?: SecretCodec;
  /** This process's metrics: served at /metrics (unless METRICS_PORT moves them) and fed by the faces. */
  metrics?: Metrics;
  /** The CRM event source this process runs, if any: its state is part of /readyz. */
  crmEvents?: { state(): { status: string; detail?: string; position: string | null; lagSeconds: number } } | null;
  /** Where the built admin page is (default: dist/admin of this package). */
  adminUiDir?: string;
}

export const webhookVersions = [85, 86, 87, 88] as const;

export function createApp(deps: AppDeps): express.Express {
  const { config, db, logger, metrics } = deps;
  const auth = countedLogins(deps.auth, metrics);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  // Every request's SQLite lock waits together end SQLITE_BUSY_WAIT_MS after it arrived (store/db.ts).
  if (db.dialect === 'sqlite') app.use((_req, _res, next) => withLockWaitDeadline(config.sqliteBusyWaitMs, next));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await db.knex.raw('select 1 as ok');
      if (db.storage?.fullSince !== undefined) {
        // Writes are failing for lack of space: ready again only once a write goes through.
        const writable = await probeWrite(db).then(() => db.storage?.fullSince === undefined, () => false);
        if (!writable) {
          res.status(503).json({ status: 'unavailable', reason: 'storage full: the database cannot write', since: new Date(db.storage.fullSince).toISOString() });
          return;
        }
      }
      const crm = deps.crmEvents?.state();
      // The CRM source's trouble does not make the service unready (SOAP and deliveries work); it is reported.
      res.json({ status: 'ready', database: db.dialect,
        ...(crm ? { crmEvents: { status: crm.status, position: crm.position, lagSeconds: crm.lagSeconds, ...(crm.detail ? { detail: crm.detail } : {}) } } : {}) });
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'readiness check failed');
      res.status(503).json({ status: 'unavailable', reason: 'database not reachable' });
    }
  });

  if (metrics && config.metricsPort === undefined) {
    app.get('/metrics', metricsHandler(metrics, { token: config.metricsToken, onError: (err) => logger.warn({ err }, 'metrics scrape failed') }));
  }

  const secrets = deps.secrets ?? secretCodecFor(config);
  const agent = createWebhookAgent({
    db, config, target: deps.delivery.target, wake: (webhookIds) => deps.delivery.wake(webhookIds), secrets, logger,
  });
  const ops = createWebhookOperations({ agent, auth });
  const common = { bodyLimitBytes: config.bodyLimitBytes, debug: config.debugErrors, logger, onCall: soapCallCounter(metrics) };
  for (const version of webhookVersions) {
    const contract = contractFor('Webhook', version);
    app.use(`/Remote/Services${version}/Webhook.svc`, createSoapEndpoint({
      ...common, wsdlXml: contract.wsdlXml, handlers: webhookHandlers({ ops }),
    }));
  }
  app.use('/Remote/Services88/SoPrincipal.svc', createSoapEndpoint({
    ...common, wsdlXml: contractFor('SoPrincipal', 88).wsdlXml, handlers: principalHandlers({ ops, contract: contractFor('SoPrincipal', 88) }),
  }));

  app.use('/api/v1', createRestApi({
    ops: countedOperations(ops, metrics, 'rest'), bodyLimitBytes: config.bodyLimitBytes, debug: config.debugErrors, logger,
    onUnknownPath: () => metrics?.observeRequest('rest', 'unknown', 'not_found', 0),
  }));

  const history = createDeliveryHistory({ db, wake: () => deps.delivery.wake(), request: { secrets, config } });
  // The admin page's bundle and its lists compress 5-10x. Not the sign-in answer: it carries a ticket next to the
  // user name the caller chose (what a BREACH-style length oracle needs); every other answer holds no secret.
  app.use('/admin', compression({ filter: (req, res) => !(req.path === '/api/session' && req.method === 'POST') && compression.filter(req, res) }));
  app.use('/admin/api', createAdminApi({ auth, ops, history, logger, metrics, ticketTtlMs: config.ticketTtlMs }));
  app.get('/admin', (req, res, next) => {
    // Relative asset URLs need the trailing slash; express matches /admin and /admin/ alike.
    if (req.originalUrl.split('?')[0] === '/admin') res.redirect(301, '/admin/');
    else next();
  });
  app.use('/admin', createAdminPage(deps.adminUiDir ?? defaultAdminUiDir()));

  app.use((_req, res) => {
    metrics?.observeRequest('http', 'unknown', 'not_found', 0);
    res.status(404).type('text/plain').send('Not found. SOAP endpoints: /Remote/Services85..88/Webhook.svc, /Remote/Services88/SoPrincipal.svc; JSON: /api/v1/Webhook, /api/v1/Agents/Webhook, /api/v1/swagger; admin page: /admin/\n');
  });
  return app;
}
