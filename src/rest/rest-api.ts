/**
 * NetServer's two HTTP/JSON faces of the Webhook agent, mounted at /api/v1 (see docs/rest.md):
 *   RESTful  /api/v1/Webhook...                 (Swagger-v1-Webhook)
 *   Agents   /api/v1/Agents/Webhook/<Operation> (Swagger-v1-WebhookAgent)
 * and the Swagger documents describing them. Both are thin: the request is read into the arguments of an operation
 * of agent/webhook-operations.ts, and its result written as NetServer's JSON (json-webhook.ts).
 *
 * Per request: a change (any method but GET/HEAD) from a browser page of another origin is refused (403: an Origin
 * not ours, or Sec-Fetch-Site cross-site/same-site); the body (any media type) is read with the size limit (413);
 * POST and PUT, bodiless ones too (except an untyped bodiless one from a non-browser client), and any other
 * request with a body must declare JSON (application/json, text/json, +json; else 415); the Authorization header must carry credentials (else 401 with
 * WWW-Authenticate); the body is parsed as JSON only once the caller is authenticated (400 when it is not JSON).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { AppError, invalidArgument } from '../errors.js';
import type { Credentials, WebhookOperations } from '../agent/webhook-operations.js';
import type { Webhook, WebhookFilter } from '../webhooks/types.js';
import { limits } from '../webhooks/validate.js';
import { credentialsFrom } from './http-credentials.js';
import { crossSiteReason } from './same-origin.js';
import { HttpRequestError, sendError, sendJson, type ErrorLogger } from './http-errors.js';
import { writeWebhookJson, writeWebhookListJson } from './json-writer.js';
import {
  applySelect, draftFromJson, int32, member, membersOf, propertyRecord, stateOf, str, webhookJson, type Json,
} from './json-webhook.js';
import { swaggerRoutes } from './swagger-documents.js';

export interface RestApiOptions {
  ops: WebhookOperations;
  bodyLimitBytes: number;
  debug: boolean;
  logger: ErrorLogger;
  /** Told of a request to a path that names no operation (metrics count it as operation `unknown`). */
  onUnknownPath?: () => void;
}

/** What a route handler gets: credentials, the lazily parsed body, case-insensitive query values. */
interface Call {
  req: Request;
  cred: Credentials;
  /** The JSON body; undefined when there is none. Parsing errors are invalid_argument (400). */
  body(): unknown;
  query(name: string): string | undefined;
}

/** `text` is JSON already written (by the compiled webhook writers). */
type Reply = { status: 200; json: Json } | { status: 200; text: string } | { status: 204 };

const JSON_TYPE = /^(application|text)\/(json|[^;\s]*\+json)$/;
const NO_CONTENT: Reply = { status: 204 };

function mediaTypeOf(req: Request): { type: string; charset: string | null } | null {
  const ct = req.get('content-type');
  if (!ct) return null;
  const [type, ...params] = ct.split(';').map((s) => s.trim().toLowerCase());
  const cs = params.find((p) => p.startsWith('charset='));
  return { type: type ?? '', charset: cs ? cs.slice(8).replace(/"/g, '') : null };
}

function rawBody(req: Request): Buffer | null {
  const b: unknown = req.body;
  return Buffer.isBuffer(b) && b.length > 0 ? b : null;
}

/**
 * Browsers may send a form POST (urlencoded, multipart, text/plain, or no body at all) to any origin, with the
 * Basic credentials they have cached for it: every POST and PUT must therefore declare a JSON body, which a page
 * of another origin can send only after a CORS preflight we never grant, and changes from another origin are refused.
 */
function checkBrowserOrigin(req: Request): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
  const reason = crossSiteReason(req);
  if (reason) throw new HttpRequestError(403, 'CrossSiteRequestRefused', `${reason}: changes are accepted from this service's own origin and from non-browser clients only`);
}

/**
 * A POST or PUT must declare JSON when it has a body, declares any media type, or comes from a browser (Origin or
 * Sec-Fetch-Site): an HTML form always declares one, and a script's bodiless fetch carries Origin. A bodiless,
 * untyped POST from a non-browser client passes: clients generated from NetServer's Swagger send exactly that for
 * operations without a body (Agents GetWebhook, DeleteWebhook, CreateDefaultWebhook).
 */
function checkMediaType(req: Request): void {
  const mt = mediaTypeOf(req);
  const declares = (req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH')
    && (mt !== null || req.get('origin') !== undefined || req.get('sec-fetch-site') !== undefined);
  if (!declares && !rawBody(req)) return;
  if (!mt || !JSON_TYPE.test(mt.type)) {
    throw new HttpRequestError(415, 'UnsupportedMediaType',
      `${req.method} requests need Content-Type: application/json (also without a body), not ${mt?.type || 'none'}`);
  }
  if (mt.charset && mt.charset !== 'utf-8' && mt.charset !== 'utf8') {
    throw new HttpRequestError(415, 'UnsupportedMediaType', `The request body must be UTF-8, not ${mt.charset.slice(0, 40)}`);
  }
}

function parseBody(req: Request): unknown {
  const buf = rawBody(req);
  if (!buf) return undefined;
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError('invalid_argument', `body: the request body is not valid JSON (${(err as Error).message.slice(0, 120)})`, { field: 'body' });
  }
}

function lowerQuery(req: Request): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
    const s = Array.isArray(v) ? v[0] : v;
    if (typeof s === 'string') m.set(k.toLowerCase(), s);
  }
  return m;
}

/** A path or query integer as typed; anything else is passed on as text, for the operation's check to refuse. */
function intOrText(s: string | undefined): unknown {
  if (s === undefined) return undefined;
  return /^[+-]?\d{1,10}$/.test(s.trim()) ? Number(s.trim()) : s;
}

function param(c: Call, name: string): string | undefined {
  const v = (c.req.params as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v.join('/') : v;
}

function filterOf(name: string | null | undefined, event: string | null | undefined, status: unknown): WebhookFilter {
  const state = status === undefined || status === null || status === '' ? null : stateOf('StatusFilter', status);
  return { name: name || null, event: event || null, state: state === 'Unknown' ? null : state };
}

export function createRestApi(opts: RestApiOptions): Router {
  const { ops, debug, logger } = opts;
  const router = express.Router({ caseSensitive: false });

  router.use(swaggerRoutes());
  // GET and HEAD carry no body here; skipping the reader saves a good part of a small GET's cost.
  const readBody = express.raw({ type: () => true, limit: opts.bodyLimitBytes });
  router.use((req, res, next) => (req.method === 'GET' || req.method === 'HEAD' ? next() : readBody(req, res, next)));

  function route(where: string, handler: (c: Call) => Promise<Reply>) {
    return async (req: Request, res: Response) => {
      try {
        checkBrowserOrigin(req);
        checkMediaType(req);
        const cred = credentialsFrom(req.get('authorization'), req.ip);
        if (!cred) {
          throw new AppError('unauthenticated', 'No credentials: send Authorization: Basic (user:password), SOTicket 7T:... or a 7T: ticket',
            { friendlyText: 'Authentication failed: log in again' });
        }
        let query: Map<string, string> | undefined;
        const reply = await handler({
          req, cred,
          body: () => parseBody(req),
          query: (name) => (query ??= lowerQuery(req)).get(name.toLowerCase()),
        });
        if (reply.status === 204) res.status(204).end();
        else sendJson(res, 200, 'text' in reply ? reply.text : JSON.stringify(reply.json));
      } catch (err) {
        sendError(res, err, { debug, logger, where });
      }
    };
  }

  const selected = (c: Call, h: Webhook, links?: boolean) => {
    const json = webhookJson(h);
    if (links) json._Links = { Self: `${c.req.protocol}://${c.req.host}${c.req.baseUrl}/Webhook/${h.webhookId}` };
    return applySelect(json, c.query('$select'));
  };
  const required = (v: unknown) => {
    if (v === undefined || v === null) throw invalidArgument('entity', 'Bad request. Entity to save is not in request body.');
    return v;
  };

  // RESTful face (Swagger-v1-Webhook).
  router.get('/Webhook/default', route('v1Webhook_DefaultWebhook', async (c) =>
    ({ status: 200, text: writeWebhookJson(webhookJson(await ops.createDefaultWebhook(c.cred))) })));
  router.get('/Webhook', route('v1Webhook_GetAllWebhooks', async (c) => {
    const hooks = await ops.getAllWebhooks(c.cred, () => filterOf(c.query('nameFilter'), c.query('eventFilter'), c.query('statusFilter')));
    return { status: 200, text: writeWebhookListJson(hooks.map((h) => selected(c, h))) };
  }));
  router.post('/Webhook', route('v1Webhook_PostWebhook', async (c) => {
    const saved = await ops.saveWebhook(c.cred, () => ({ ...draftFromJson(required(c.body()), 'newEntity'), webhookId: 0 }));
    return { status: 200, text: writeWebhookJson(selected(c, saved, true)) };
  }));
  router.post('/Webhook/Test', route('v1Webhook_TestWebhook', async (c) => {
    const r = await ops.testWebhook(c.cred, () => draftFromJson(c.body(), 'webhook'));
    return { status: 200, json: { Success: r.success, Message: r.message, TableRight: null, FieldProperties: null } };
  }));
  router.get('/Webhook/:id', route('v1Webhook_GetWebhook', async (c) =>
    ({ status: 200, text: writeWebhookJson(selected(c, await ops.getWebhook(c.cred, intOrText(param(c, 'id')), 'id'), true)) })));
  router.put('/Webhook/:id', route('v1Webhook_PutWebhook', async (c) => {
    const id = intOrText(param(c, 'id'));
    let draftId = 0;
    const saved = await ops.saveWebhook(c.cred, () => {
      draftId = typeof id === 'number' && Number.isInteger(id) && id > 0 ? id : -1;
      if (draftId < 0) throw invalidArgument('id', 'must be a positive integer');
      return { ...draftFromJson(required(c.body()), 'entity'), webhookId: draftId };
    });
    return { status: 200, text: writeWebhookJson(selected(c, saved, true)) };
  }));
  router.delete('/Webhook/:id', route('v1Webhook_DeleteWebhook', async (c) => {
    await ops.deleteWebhook(c.cred, intOrText(param(c, 'id')), 'id');
    return NO_CONTENT;
  }));
  router.get('/Webhook/:webhookId/LastError', route('v1Webhook_GetLastError', async (c) =>
    ({ status: 200, json: await ops.getLastError(c.cred, intOrText(param(c, 'webhookId')), 'webhookId') })));
  router.post('/Webhook/:eventName/:primaryKey', route('v1Webhook_SignalEvent', async (c) => {
    await ops.signalEvent(c.cred, () => {
      const body = c.body();
      return {
        eventName: param(c, 'eventName') ?? '',
        primaryKey: intOrText(param(c, 'primaryKey')),
        data: body === undefined || body === null ? {} : propertyRecord(limits.eventData)('data', body),
        idempotencyKey: c.req.get('idempotency-key'),
      };
    });
    return NO_CONTENT;
  }));

  // Agents face (Swagger-v1-WebhookAgent): every operation is a POST.
  const agent = (op: string, handler: (c: Call) => Promise<Reply>) => router.post(`/Agents/Webhook/${op}`, route(`v1WebhookAgent_${op}`, handler));
  const bodyMembers = (c: Call, field: string) => {
    const b = c.body();
    return b === undefined || b === null ? new Map<string, unknown>() : membersOf(field, b);
  };
  const webhookIdOf = (c: Call) => {
    const q = c.query('webhookId');
    return q !== undefined ? intOrText(q) : bodyMembers(c, 'request').get('webhookid');
  };
  agent('CreateDefaultWebhook', async (c) => ({ status: 200, text: writeWebhookJson(webhookJson(await ops.createDefaultWebhook(c.cred))) }));
  agent('SaveWebhook', async (c) => ({ status: 200, text: writeWebhookJson(webhookJson(await ops.saveWebhook(c.cred, () => draftFromJson(c.body(), 'webhook')))) }));
  agent('DeleteWebhook', async (c) => {
    await ops.deleteWebhook(c.cred, webhookIdOf(c), 'webhookId');
    return NO_CONTENT;
  });
  agent('GetWebhook', async (c) => {
    try {
      return { status: 200, text: writeWebhookJson(selected(c, await ops.getWebhook(c.cred, webhookIdOf(c), 'webhookId'))) };
    } catch (err) {
      // The Agents API answers a webhook that does not exist with null, not an error.
      if (err instanceof AppError && err.code === 'not_found') return { status: 200, json: null };
      throw err;
    }
  });
  agent('GetAllWebhooks', async (c) => {
    const hooks = await ops.getAllWebhooks(c.cred, () => {
      const m = bodyMembers(c, 'request');
      return filterOf(member(m, 'NameFilter', str), member(m, 'EventFilter', str), m.get('statusfilter'));
    });
    return { status: 200, text: writeWebhookListJson(hooks.map((h) => selected(c, h))) };
  });
  agent('TestWebhook', async (c) => {
    const r = await ops.testWebhook(c.cred, () => draftFromJson(bodyMembers(c, 'request').get('webhook'), 'Webhook'));
    return { status: 200, json: { Success: r.success, Message: r.message, TableRight: null, FieldProperties: null } };
  });
  agent('SignalEvent', async (c) => {
    await ops.signalEvent(c.cred, () => {
      const m = bodyMembers(c, 'request');
      return {
        eventName: member(m, 'EventName', str) ?? '',
        primaryKey: member(m, 'PrimaryKey', int32) ?? 0,
        data: member(m, 'Data', propertyRecord(limits.eventData)) ?? {},
        idempotencyKey: c.req.get('idempotency-key'),
      };
    });
    return NO_CONTENT;
  });
  agent('GetLastError', async (c) => ({
    status: 200, json: await ops.getLastError(c.cred, bodyMembers(c, 'request').get('webhookid') ?? intOrText(c.query('webhookId')), 'WebhookId'),
  }));

  router.use((req: Request, res: Response) => {
    opts.onUnknownPath?.();
    sendError(res, new AppError('not_found', `No API operation at ${req.method} ${req.baseUrl}${req.path.slice(0, 200)}`), { debug, logger, where: 'route' });
  });
  // Errors of the body reader: too large (413), an encoding it cannot undo (415), a broken stream (400).
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (typeof e?.status !== 'number') return next(err);
    const status = e.type === 'entity.too.large' ? 413 : e.status === 415 ? 415 : 400;
    const type = status === 413 ? 'RequestEntityTooLarge' : status === 415 ? 'UnsupportedMediaType' : 'BadRequest';
    const message = status === 413 ? `The request body is larger than ${opts.bodyLimitBytes} bytes` : (e.message ?? 'Bad request').slice(0, 200);
    sendError(res, new HttpRequestError(status, type, message), { debug, logger, where: 'body' });
  });
  return router;
}
