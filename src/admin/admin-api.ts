/**
 * The admin HTTP/JSON API under /admin/api: a thin adapter over the agent (webhooks) and agent/delivery-history.ts
 * (deliveries), used by the admin page and by scripts.
 *
 * Authentication is the agent's own (agent/webhook-operations.ts): a ticket from AuthenticateUsernamePassword (or
 * POST /admin/api/session) as `Authorization: SOTicket <ticket>` (NetServer's REST form), a user name and password as
 * HTTP Basic (through the same login throttle), or the page's session cookie. The cookie
 * carries that same ticket (so sessions expire, renew and are revoked exactly like tickets), HttpOnly,
 * SameSite=Strict, Path=/admin, Secure when the request came over HTTPS. Cross-site requests: besides SameSite,
 * every state-changing request authenticated by the cookie must carry the `X-Admin-Request: 1` header (a custom
 * header a cross-site form cannot send and a cross-site script cannot send without a CORS preflight we never
 * grant) and, when the browser sends Origin, an Origin equal to our own.
 *
 * Errors: JSON `{ error: { code, message, field? } }` with the HTTP status of the AppError code.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { AppError, coerceError, type ErrorCode } from '../errors.js';
import type { AuthService } from '../auth/auth-service.js';
import type { Credentials, WebhookOperations } from '../agent/webhook-operations.js';
import { MAX_PAGE, type DeliveryHistory, type DeliveryRow } from '../agent/delivery-history.js';
import type { Metrics } from '../metrics/metrics.js';
import { outcomeOf } from '../metrics/instrument.js';
import { credentialsFrom } from '../rest/http-credentials.js';
import { ownOrigin } from '../rest/same-origin.js';
import { draftFromJson } from '../rest/json-webhook.js';
import type { WebhookDraft } from '../webhooks/validate.js';
import type { Webhook } from '../webhooks/types.js';

export const SESSION_COOKIE = 'wa_admin_session';
export const CSRF_HEADER = 'x-admin-request';

const httpStatus: Record<ErrorCode, number> = {
  invalid_argument: 400, unauthenticated: 401, not_found: 404, conflict: 409, target_refused: 422, not_supported: 501,
  unavailable: 503, internal: 500,
};

interface Logger { warn(obj: object, msg: string): void; error(obj: object, msg: string): void }

export interface AdminApiDeps {
  /** For ending a session (logout); everything else authenticates through ops. */
  auth: Pick<AuthService, 'logout'>;
  ops: WebhookOperations;
  history: DeliveryHistory;
  logger: Logger;
  metrics?: Metrics;
  /** Session cookie lifetime hint for the browser (the ticket's own sliding TTL decides validity). */
  ticketTtlMs: number;
}

/** A webhook as the admin API shows it: no secret, header values masked (they often hold credentials). */
export function webhookView(w: Webhook) {
  return {
    webhookId: w.webhookId, name: w.name, state: w.state, type: w.type, targetUrl: w.targetUrl, events: w.events,
    hasSecret: !!w.secret, headers: w.headers ? Object.keys(w.headers) : [], properties: w.properties,
    description: w.description, errorsEmail: w.errorsEmail, notifyVia: w.notifyVia, notifyWhen: w.notifyWhen,
    registered: w.registered, registeredBy: w.registeredAssociate?.userName ?? null, updated: w.updated,
    updatedBy: w.updatedAssociate?.userName ?? null,
    totalCalls: w.totalCalls, totalErrors: w.totalErrors, consecutiveErrors: w.consecutiveErrors, lastError: w.lastError,
  };
}

/** The named cookie's value; null when absent or not valid percent-encoding (a cookie we did not set). */
function cookieValue(req: Request, name: string): string | null {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

function sessionCookie(req: Request, value: string, maxAgeMs: number | null): string {
  const attrs = [`${SESSION_COOKIE}=${encodeURIComponent(value)}`, 'Path=/admin', 'HttpOnly', 'SameSite=Strict'];
  if (req.secure) attrs.push('Secure');
  attrs.push(maxAgeMs === null ? 'Max-Age=0' : `Max-Age=${Math.floor(maxAgeMs / 1000)}`);
  return attrs.join('; ');
}

/** A foreign Origin the browser sent, or null (none, or our own: scheme and host as a trusted proxy reports them). */
function originOf(req: Request): string | null {
  const origin = req.get('origin');
  return origin && origin !== ownOrigin(req) ? origin : null;
}

export function createAdminApi(deps: AdminApiDeps): Router {
  const { auth, ops, history } = deps;
  const router = express.Router();
  router.use(express.json({ limit: '64kb' }));
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  /**
   * One route: its name (the metrics operation), whether it is open (no credentials), and the handler, which gets the
   * caller's credentials and authenticates with them (through ops).
   */
  const route = (name: string, open: boolean, fn: (req: Request, res: Response, cred: Credentials) => Promise<unknown>) =>
    async (req: Request, res: Response) => {
      const t0 = performance.now();
      let outcome = 'ok';
      try {
        const body = await fn(req, res, open ? { ticket: null } : credentialsOf(req));
        if (!res.headersSent) res.json(body ?? {});
      } catch (err) {
        const e = coerceError(err);
        outcome = outcomeOf(e);
        if (e.code === 'internal') deps.logger.error({ err, route: name }, 'admin API error');
        res.status(httpStatus[e.code]).json({ error: { code: e.code, message: e.code === 'internal' ? 'Internal error' : e.message, field: e.field } });
      } finally {
        deps.metrics?.observeRequest('admin', name, outcome, (performance.now() - t0) / 1000);
      }
    };

  /** The Authorization header as the JSON faces read it (SOTicket, Basic), else the session cookie (then changes must be same-site). */
  function credentialsOf(req: Request): Credentials {
    const fromHeader = credentialsFrom(req.get('authorization'), req.ip);
    if (fromHeader) return fromHeader;
    const cookie = cookieValue(req, SESSION_COOKIE);
    if (!cookie) throw new AppError('unauthenticated', 'Sign in first: a session cookie, Authorization: SOTicket <ticket> or HTTP Basic');
    if (req.method !== 'GET') assertSameSite(req);
    return { ticket: cookie };
  }

  function assertSameSite(req: Request): void {
    if (req.get(CSRF_HEADER) !== '1') throw new AppError('unauthenticated', `Cookie-authenticated changes need the ${CSRF_HEADER} header`);
    if (originOf(req) !== null) throw new AppError('unauthenticated', 'Cross-origin request refused');
  }

  router.post('/session', route('signIn', true, async (req, res) => {
    const { userName, password } = (req.body ?? {}) as { userName?: unknown; password?: unknown };
    if (typeof userName !== 'string' || userName.trim() === '') throw new AppError('invalid_argument', 'userName: required', { field: 'userName' });
    if (typeof password !== 'string' || password === '') throw new AppError('invalid_argument', 'password: required', { field: 'password' });
    if (originOf(req) !== null) throw new AppError('unauthenticated', 'Cross-origin request refused');
    const login = await ops.login(userName.trim(), password, req.ip);
    if (!login) throw new AppError('unauthenticated', 'Wrong user name or password (or too many failed attempts: wait and try again)');
    res.set('Set-Cookie', sessionCookie(req, login.ticket, deps.ticketTtlMs));
    return { associate: { userName: login.associate.userName, fullName: login.associate.fullName }, ticket: login.ticket };
  }));
  router.get('/session', route('session', false, async (_req, _res, cred) => {
    const who = await ops.authenticate(cred);
    return { associate: { userName: who.userName, fullName: who.fullName } };
  }));
  router.delete('/session', route('signOut', false, async (req, res, cred) => {
    await ops.authenticate(cred);
    if ('ticket' in cred && cred.ticket) await auth.logout(cred.ticket);
    res.set('Set-Cookie', sessionCookie(req, '', null));
    return { signedOut: true };
  }));

  router.get('/webhooks', route('listWebhooks', false, async (req, _res, cred) => {
    const page = await ops.webhookPage(cred, () => ({
      search: str(req.query.search), state: str(req.query.state), offset: str(req.query.offset), limit: str(req.query.limit),
    }));
    return { ...page, webhooks: page.webhooks.map(webhookView) };
  }));
  // Create and edit: the page's form as NetServer's JSON Webhook (rest/json-webhook.ts reads it, member names in any
  // case), so every refusal is the REST face's, naming the same member. Saved through ops.saveWebhook.
  router.post('/webhooks', route('saveWebhook', false, async (req, _res, cred) =>
    webhookView(await ops.saveWebhook(cred, () => ({ ...formDraft(req.body), webhookId: 0 })))));
  router.put('/webhooks/:id', route('saveWebhook', false, async (req, _res, cred) =>
    webhookView(await ops.saveWebhook(cred, () => ({ ...formDraft(req.body), webhookId: idParam(req.params.id, 'webhookId') })))));
  router.get('/webhooks/:id', route('getWebhook', false, async (req, _res, cred) =>
    webhookView(await ops.getWebhook(cred, idParam(req.params.id, 'webhookId'), 'webhookId'))));
  router.delete('/webhooks/:id', route('deleteWebhook', false, async (req, _res, cred) => {
    await ops.deleteWebhook(cred, idParam(req.params.id, 'webhookId'), 'webhookId');
    return { deleted: true };
  }));
  router.post('/webhooks/:id/state', route('setState', false, async (req, _res, cred) => {
    const saved = await ops.saveWebhook(cred, () => {
      const state = (req.body as { state?: unknown } | undefined)?.state;
      if (state !== 'Active' && state !== 'Stopped') throw new AppError('invalid_argument', "state: 'Active' or 'Stopped'", { field: 'state' });
      return { webhookId: idParam(req.params.id, 'webhookId'), state };
    });
    return webhookView(saved);
  }));
  router.post('/webhooks/:id/test', route('testWebhook', false, async (req, _res, cred) => {
    const hook = await ops.getWebhook(cred, idParam(req.params.id, 'webhookId'), 'webhookId');
    return ops.testWebhook(cred, () => hook);
  }));
  // Delivery history: authenticated through ops, then agent/delivery-history.ts (which checks its own inputs).
  const withHistory = (name: string, fn: (req: Request) => Promise<unknown>) => route(name, false, async (req, _res, cred) => {
    await ops.authenticate(cred);
    return fn(req);
  });
  router.get('/webhooks/:id/deliveries', withHistory('listDeliveries', (req) =>
    history.list({ ...queryFilter(req), webhookId: idParam(req.params.id, 'webhookId') })));
  router.get('/webhooks/:id/deliveries.csv', route('exportDeliveries', false, async (req, res, cred) => {
    const webhookId = idParam(req.params.id, 'webhookId');
    await ops.getWebhook(cred, webhookId, 'webhookId');
    const lines = [csvColumns.join(',')];
    let before: number | undefined;
    // Newest first, page by page; bounded so one export cannot hold the process (MAX_EXPORT_ROWS).
    while (lines.length <= MAX_EXPORT_ROWS) {
      const page = await history.list({ ...queryFilter(req), webhookId, limit: MAX_PAGE, before });
      for (const d of page.deliveries) lines.push(csvRow(d));
      if (page.nextBefore === null) break;
      before = page.nextBefore;
    }
    res.type('text/csv; charset=utf-8').attachment(`webhook-${webhookId}-deliveries.csv`).send(`${lines.join('\r\n')}\r\n`);
  }));
  router.get('/webhooks/:id/chart', withHistory('chart', async (req) => ({ buckets: await history.chart(idParam(req.params.id, 'webhookId')) })));
  router.post('/webhooks/:id/redeliver', withHistory('redeliverFailed', (req) =>
    history.redeliverFailed(idParam(req.params.id, 'webhookId'), (req.body as { since?: string } | undefined)?.since ?? '')));
  router.post('/webhooks/:id/purge', withHistory('purge', (req) => {
    const b = (req.body ?? {}) as { before?: string; pending?: boolean };
    return history.purge(idParam(req.params.id, 'webhookId'), { before: b.before, pending: b.pending === true });
  }));
  router.get('/deliveries', withHistory('listDeliveries', (req) => history.list({ ...queryFilter(req), webhookId: str(req.query.webhookId) })));
  router.get('/deliveries/:id', withHistory('getDelivery', (req) => history.show(idParam(req.params.id, 'deliveryId'))));
  // What was sent. Header values: every associate may manage webhooks today (no rights yet), so they are shown.
  router.get('/deliveries/:id/sent', withHistory('getDeliveryRequest', (req) => history.sent(idParam(req.params.id, 'deliveryId'), { headerValues: true })));
  router.post('/deliveries/:id/redeliver', withHistory('redeliver', (req) => history.redeliver(idParam(req.params.id, 'deliveryId'))));

  router.use(route('notFound', true, async () => { throw new AppError('not_found', 'No such admin API route'); }));
  // A body express.json could not read: answered in the same error shape.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = (err as { status?: unknown }).status;
    const code = typeof status === 'number' && status < 500 ? status : 400;
    res.status(code).json({ error: { code: 'invalid_argument', message: code === 413 ? 'Request body too large' : 'Request body is not valid JSON' } });
  });
  return router;
}

const MAX_EXPORT_ROWS = 100_000;
const csvColumns = ['deliveryId', 'eventId', 'eventName', 'primaryKey', 'status', 'attempts', 'signalledAt', 'finishedAt', 'lastStatus', 'lastError'] as const;

/**
 * One CSV line (RFC 4180 quoting). A cell a spreadsheet would run as a formula (a receiver's error text starting with
 * = + - @) gets a leading apostrophe.
 */
function csvRow(d: DeliveryRow): string {
  const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
  const values: Record<(typeof csvColumns)[number], unknown> = {
    ...d, signalledAt: iso(d.signalledAt), finishedAt: iso(d.finishedAt), lastStatus: d.lastStatus ?? '', lastError: d.lastError ?? '',
  };
  return csvColumns.map((c) => {
    const text = String(values[c]);
    const safe = typeof values[c] === 'string' && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  }).join(',');
}

/**
 * The form's body as a draft. The page never receives header values, so a header it sends with the value null keeps
 * its stored value (keepHeaderValues); everything else is NetServer's JSON Webhook, read by draftFromJson.
 */
function formDraft(body: unknown): WebhookDraft {
  const members = body !== null && typeof body === 'object' && !Array.isArray(body) ? { ...(body as Record<string, unknown>) } : body;
  const keepHeaderValues: string[] = [];
  if (members && typeof members === 'object' && !Array.isArray(members)) {
    const m = members as Record<string, unknown>;
    const key = Object.keys(m).find((k) => k.toLowerCase() === 'headers');
    const headers = key === undefined ? undefined : m[key];
    if (key !== undefined && headers !== null && typeof headers === 'object' && !Array.isArray(headers)) {
      m[key] = Object.fromEntries(Object.entries(headers).map(([name, value]) => {
        if (value === null) keepHeaderValues.push(name);
        return [name, value ?? ''];
      }));
    }
  }
  const draft = draftFromJson(members, 'webhook');
  return keepHeaderValues.length ? { ...draft, keepHeaderValues } : draft;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function idParam(v: unknown, field: string): number {
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v) || !Number.isSafeInteger(n) || n < 1) {
    throw new AppError('invalid_argument', `${field}: must be a positive integer`, { field });
  }
  return n;
}

function queryFilter(req: Request) {
  const q = req.query;
  return { status: str(q.status), event: str(q.event), since: str(q.since), until: str(q.until), before: str(q.before), limit: str(q.limit) };
}
