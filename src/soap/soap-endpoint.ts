/**
 * One SOAP 1.1 endpoint (one .svc path, one WSDL) as an express Router, behaving like NetServer's WCF
 * basicHttpBinding service towards real clients (WCF/svcutil proxies, zeep, PHP, JAX-WS, SoapUI).
 *
 * We own the envelope: node-soap only reads the WSDL; requests are read by the reader compiled from its schema model
 * (request-reader.ts) and responses written by the serializer compiled from the same model. Per POST:
 *   Content-Type text/xml (else 415) -> body read with a size limit (else 413) -> charset decode -> operation by
 *   SOAPAction (exact, or the bare operation name; empty -> the body element) -> one pass of the reader over
 *   the envelope (no DTD, SOAP 1.1, one body element agreeing with the SOAPAction, headers and body typed, stop at
 *   the first element the contract does not allow) -> handler -> response headers computed from the outcome.
 * Protocol problems are SOAP 1.1 faults (500 unless said otherwise) without internals. Business errors,
 * input errors and handler failures are HTTP 200 with Succeeded=false, ExceptionInfo and a nil Response.
 * Every operation response carries ExceptionInfo, ExtraInfo, Succeeded, TimeZone (WSDL order), the TimeZone
 * echoing the request's. Nothing is kept between requests.
 *
 * GET ?wsdl / ?wsdl=wsdl0 / ?singleWsdl (any case) serves the WSDL with soap:address set to the URL the caller
 * used (req.protocol and req.host, which honour X-Forwarded-Proto/-Host only when the app has 'trust proxy').
 * Mount it without a body parser in front: `app.use('/Remote/Services88/Webhook.svc', router)`.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { loadWsdlContract, type OperationInfo } from './wsdl-contract.js';
import { compileSerializer, type ElementWriter } from './compiled-serializer.js';
import { createRequestReader } from './request-reader.js';
import type { SoapRequestHeaders } from './request-values.js';
import { soapEnvelope, soapFaultEnvelope, SoapProtocolError } from './soap-fault.js';
import { decodeRequestText, requireTextXml } from './request-text.js';
import { toExceptionInfo, type ExceptionInfoValue } from './business-error.js';
import { createWsdlDocument, isWsdlQuery } from './wsdl-document.js';
import { escapeXmlText } from './xml-escape.js';
import { AppError } from '../errors.js';

/** pino-compatible subset. */
export interface SoapLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SoapContext {
  /** WSDL operation name, e.g. 'SaveWebhook'. */
  operation: string;
  /** ApplicationToken, Credentials/Ticket and TimeZone from the request's SOAP headers (null when absent/nil). */
  headers: SoapRequestHeaders;
  req: Request;
  /** Set the ExtraInfo response header of a successful call (nil otherwise). */
  setExtraInfo(value: SoapExtraInfo | null): void;
}

/** ExtraInfo header content: {Key, Value} pairs or a plain object. */
export type SoapExtraInfo = Array<{ Key: string | null; Value: string | null }> | Record<string, string | null>;

/**
 * One operation. `body` is the normalised request wrapper content keyed by WSDL element names (see
 * request-reader.ts), e.g. `{ Webhook: {...} }` for SaveWebhook, `{ WebhookId: 5 }` for GetWebhook; absent
 * elements have no key. The result is the response wrapper content keyed the same way, in the compiled
 * serializer's input form: `{ Response: webhook }`, `{ Response, Credentials, AuthenticationSucceeded }`, or
 * `{}` / undefined for void operations. A wrapper child left undefined is written as nil when nillable (as WCF
 * writes a null return value), omitted otherwise. Throwing gives Succeeded=false with ExceptionInfo
 * (business-error.ts decides what the caller may see).
 */
// The body is `any` so that handlers can declare their operation's wire type (contract/wire-types.ts).
export type SoapHandler = (body: any, ctx: SoapContext) => Promise<object | void> | object | void;

/** Handlers by WSDL operation name. */
export type SoapHandlers = Record<string, SoapHandler>;

/** The endpoint's router; `ready` resolves once the WSDL is compiled (see createSoapEndpoint). */
export type SoapEndpoint = Router & { ready: Promise<void> };

export interface SoapEndpointOptions {
  /** The WSDL document (XML text) this endpoint implements and serves. */
  wsdlXml: string;
  /** One handler per WSDL operation name; an operation without a handler answers Succeeded=false. */
  handlers: SoapHandlers;
  /** Request body limit after decompression; default 1 MB. */
  bodyLimitBytes?: number;
  /** Put error messages and stack traces of internal errors on the wire. Never in production. */
  debug?: boolean;
  logger: SoapLogger;
  /** ExceptionInfo.Source; default 'webhook-agent'. */
  exceptionSource?: string;
  /**
   * Told of every POST once it is answered: the operation (null when the request never got as far as naming one),
   * the error that made it fail (null on success: an AppError or other error behind an ExceptionInfo answer, or a
   * SoapProtocolError behind a fault), and the seconds from the request's arrival. Metrics count calls with it.
   */
  onCall?: (call: SoapCall) => void;
}

export interface SoapCall {
  operation: string | null;
  error: unknown;
  seconds: number;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const XML_CONTENT_TYPE = 'text/xml; charset=utf-8';
const SAFE_HOST = /^[A-Za-z0-9.\-_:[\]]+$/;

interface CompiledOperation {
  op: OperationInfo;
  handler: SoapHandler | undefined;
  writeBody: ElementWriter;
  /** Names of the response wrapper's children. */
  bodyFields: string[];
  /** Wrapper content for a failed call: every child null (nil where nillable, omitted otherwise). */
  errorBody: Record<string, null>;
  headers: Array<{ name: string; write: ElementWriter }>;
}

interface Outcome {
  succeeded: boolean;
  exceptionInfo: ExceptionInfoValue | null;
  extraInfo: SoapExtraInfo | null;
  timeZone: unknown;
  body: Record<string, unknown>;
}

/** res.locals key of the time a POST arrived (performance.now()), set by the first POST middleware. */
const ARRIVED = 'soapArrivedAt';

/** Tells opts.onCall of an answered POST, timed from its arrival. */
function reportCall(opts: SoapEndpointOptions, res: Response, operation: string | null, error: unknown): void {
  if (!opts.onCall) return;
  const t0: unknown = res.locals[ARRIVED];
  opts.onCall({ operation, error, seconds: typeof t0 === 'number' ? (performance.now() - t0) / 1000 : 0 });
}

function send(res: Response, status: number, contentType: string, text: string): void {
  if (res.headersSent) return;
  // Not res.send(): it would hash every (possibly large) body for an ETag.
  const buf = Buffer.from(text, 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', buf.length);
  res.end(buf);
}

function sendFault(res: Response, err: SoapProtocolError): void {
  send(res, err.status, XML_CONTENT_TYPE, soapFaultEnvelope(err.faultCode, err.message));
}

function unquoteAction(header: string | undefined): string {
  const a = (header ?? '').trim();
  return a.length >= 2 && a.startsWith('"') && a.endsWith('"') ? a.slice(1, -1).trim() : a;
}

interface EndpointCore {
  handlePost(req: Request, res: Response): Promise<void>;
  handleGet(req: Request, res: Response): void;
}

async function buildEndpoint(opts: SoapEndpointOptions): Promise<EndpointCore> {
  const contract = await loadWsdlContract(opts.wsdlXml);
  const serializer = compileSerializer(contract.model);
  const reader = createRequestReader(contract);
  const wsdlDoc = createWsdlDocument(opts.wsdlXml);
  const debug = opts.debug === true;
  const logger = opts.logger;
  const source = opts.exceptionSource ?? 'webhook-agent';

  for (const name of Object.keys(opts.handlers)) {
    if (!contract.operations.has(name)) throw new Error(`SOAP handler for unknown operation ${name}`);
  }

  const byAction = new Map<string, CompiledOperation>();
  const byName = new Map<string, CompiledOperation>();
  const byInputElement = new Map<string, CompiledOperation>();
  for (const op of contract.operations.values()) {
    const wrapper = op.output.type;
    const bodyFields = wrapper.kind === 'complex' && !wrapper.collection ? wrapper.fields.map((f) => f.name) : [];
    const compiled: CompiledOperation = {
      op,
      handler: Object.hasOwn(opts.handlers, op.name) ? opts.handlers[op.name] : undefined,
      writeBody: serializer.elementWriter(op.output.name, op.output.ns),
      bodyFields,
      errorBody: Object.fromEntries(bodyFields.map((n) => [n, null])),
      headers: op.responseHeaders.map((h) => ({ name: h.name, write: serializer.elementWriter(h.name, h.ns) })),
    };
    if (op.soapAction) byAction.set(op.soapAction, compiled);
    byName.set(op.name, compiled);
    byInputElement.set(op.input.name, compiled);
  }

  function responseXml(c: CompiledOperation, o: Outcome): string {
    let headers = '';
    for (const h of c.headers) {
      switch (h.name) {
        case 'ExceptionInfo':
          headers += h.write(o.exceptionInfo);
          break;
        case 'ExtraInfo':
          headers += h.write(o.extraInfo);
          break;
        case 'Succeeded':
          headers += h.write(o.succeeded);
          break;
        case 'TimeZone':
          headers += h.write(o.timeZone ?? null);
          break;
        default:
          headers += h.write(null);
      }
    }
    return soapEnvelope(headers, c.writeBody(o.body));
  }

  function successBody(c: CompiledOperation, result: object | void): Record<string, unknown> {
    if (result === undefined || result === null) return c.errorBody;
    if (typeof result !== 'object' || Array.isArray(result)) {
      throw new TypeError(`Handler for ${c.op.name} must return the response wrapper content (an object)`);
    }
    const r = result as Record<string, unknown>;
    const body: Record<string, unknown> = {};
    for (const name of c.bodyFields) body[name] = r[name] === undefined ? null : r[name];
    return body;
  }

  function errorOutcome(c: CompiledOperation, err: unknown, timeZone: unknown, req: Request): Outcome {
    const { info, business } = toExceptionInfo(err, { debug, source });
    // A business error wrapping a cause (a driver error behind 'unavailable', say) still deserves an error log.
    if (business && ((err as { cause?: unknown }).cause === undefined || (err as { reportedByStore?: boolean }).reportedByStore)) {
      logger.info({ operation: c.op.name, code: (err as { code?: unknown }).code, message: info.Message }, 'SOAP call failed');
    } else {
      logger.error({ err, operation: c.op.name, url: req.originalUrl }, 'SOAP handler error');
    }
    return { succeeded: false, exceptionInfo: info, extraInfo: null, timeZone, body: c.errorBody };
  }

  async function handlePost(req: Request, res: Response): Promise<void> {
    const mediaType = requireTextXml(req.get('content-type'));
    const raw = req.body;
    const buf = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
    const xml = decodeRequestText(buf, mediaType);

    const action = unquoteAction(req.get('soapaction'));
    let c: CompiledOperation | undefined;
    if (action) {
      c = byAction.get(action) ?? (action.includes('/') ? undefined : byName.get(action));
      if (!c) {
        throw new SoapProtocolError(500, 'Client',
          `The message with Action '${action}' cannot be processed at the receiver (ActionNotSupported).`);
      }
    }
    const read = reader.read(xml, c?.op ?? null, (bodyElement) => {
      c = byInputElement.get(bodyElement);
      if (!c) throw new SoapProtocolError(500, 'Client', `Unexpected body element '${bodyElement}'.`);
      return c.op;
    });
    const co = c as unknown as CompiledOperation;

    let outcome: Outcome;
    let failure: unknown = null;
    const timeZone: unknown = read.headers.values.TimeZone ?? null;
    try {
      if (read.error) throw read.error;
      const body = read.body;
      if (!co.handler) {
        throw new AppError('not_supported', `The operation ${co.op.name} is not supported by this service.`);
      }
      let extraInfo: SoapExtraInfo | null = null;
      const ctx: SoapContext = {
        operation: co.op.name,
        headers: read.headers.headers,
        req,
        setExtraInfo: (v) => {
          extraInfo = v;
        },
      };
      const result = await co.handler(body, ctx);
      outcome = { succeeded: true, exceptionInfo: null, extraInfo, timeZone, body: successBody(co, result) };
    } catch (err) {
      if (err instanceof SoapProtocolError) throw err;
      failure = err;
      outcome = errorOutcome(co, err, timeZone, req);
    }

    let xmlOut: string;
    try {
      xmlOut = responseXml(co, outcome);
    } catch (err) {
      // The handler's value could not be serialized (a bug); answer like any internal error.
      failure = err;
      xmlOut = responseXml(co, errorOutcome(co, err, outcome.timeZone, req));
    }
    send(res, 200, XML_CONTENT_TYPE, xmlOut);
    reportCall(opts, res, co.op.name, failure);
  }

  function serviceUrl(req: Request): string | null {
    const proto = req.protocol === 'https' ? 'https' : 'http';
    const host = req.host;
    if (!host || !SAFE_HOST.test(host)) return null;
    const q = req.originalUrl.indexOf('?');
    const path = q < 0 ? req.originalUrl : req.originalUrl.slice(0, q);
    return `${proto}://${host}${path}`;
  }

  function handleGet(req: Request, res: Response): void {
    const q = req.originalUrl.indexOf('?');
    const query = q < 0 ? '' : req.originalUrl.slice(q + 1);
    if (query && isWsdlQuery(query)) {
      const url = serviceUrl(req);
      if (!url) {
        send(res, 400, 'text/plain; charset=utf-8', 'Bad Host header');
        return;
      }
      send(res, 200, XML_CONTENT_TYPE, wsdlDoc.render(url));
      return;
    }
    const name = escapeXmlText(contract.targetNamespace);
    send(res, 200, 'text/html; charset=utf-8',
      '<!DOCTYPE html><html><head><title>Service</title></head><body>'
      + `<p>This is a SOAP 1.1 service (${name}).</p>`
      + '<p>The service description is available at <a href="?wsdl">?wsdl</a>.</p></body></html>');
  }

  return { handlePost, handleGet };
}

/**
 * Build the router for one endpoint. The endpoint is compiled (node-soap reads the WSDL, the serializer is built)
 * on first use: the first request, or reading `ready`, which settles when it is compiled; requests arriving
 * meanwhile wait for it. Compiling the five endpoints took as long as loading all modules at start-up, and most
 * deployments only ever call one Webhook version. A broken WSDL or a handler for an operation the WSDL does not
 * have rejects `ready` (await it to fail fast); every request then gets a Server fault.
 */
export function createSoapEndpoint(opts: SoapEndpointOptions): SoapEndpoint {
  const logger = opts.logger;
  const limit = opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  let built: Promise<EndpointCore> | undefined;
  const core = (): Promise<EndpointCore> => {
    if (!built) {
      built = buildEndpoint(opts);
      built.catch((err: unknown) => logger.error({ err }, 'SOAP endpoint could not be built'));
    }
    return built;
  };
  const router = express.Router() as SoapEndpoint;
  Object.defineProperty(router, 'ready', { get: () => core().then(() => undefined) });
  const readBody = express.raw({ type: () => true, limit, inflate: true });

  router.get('/', async (req, res) => {
    try {
      (await core()).handleGet(req, res);
    } catch (err) {
      logger.error({ err }, 'SOAP GET failed');
      send(res, 500, 'text/plain; charset=utf-8', 'Internal error');
    }
  });

  router.post(
    '/',
    (req: Request, res: Response, next: NextFunction) => {
      res.locals[ARRIVED] = performance.now();
      // Check the media type before reading the body: a SOAP 1.2 request is refused without buffering it.
      try {
        requireTextXml(req.get('content-type'));
      } catch (err) {
        logFault(req, err as SoapProtocolError);
        sendFault(res, err as SoapProtocolError);
        return;
      }
      next();
    },
    readBody,
    async (req: Request, res: Response) => {
      try {
        await (await core()).handlePost(req, res);
      } catch (err) {
        if (err instanceof SoapProtocolError) {
          logFault(req, err);
          sendFault(res, err);
        } else {
          logger.error({ err, url: req.originalUrl }, 'SOAP request failed');
          sendFault(res, new SoapProtocolError(500, 'Server', 'The server was unable to process the request.'));
          reportCall(opts, res, null, err);
        }
      }
    },
  );

  router.all('/', (_req, res) => {
    res.setHeader('Allow', 'GET, HEAD, POST');
    send(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed');
  });

  // Errors from the body reader (size limit, bad Content-Encoding, aborted upload) as SOAP faults.
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    let fault: SoapProtocolError;
    if (e?.type === 'entity.too.large') {
      fault = new SoapProtocolError(413, 'Client', `The request body exceeds the limit of ${limit} bytes.`);
      res.setHeader('Connection', 'close');
    } else if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
      fault = new SoapProtocolError(415, 'Client', 'The request Content-Encoding is not supported.');
    } else if (e?.type === 'request.aborted') {
      return; // the client is gone
    } else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      fault = new SoapProtocolError(400, 'Client', 'The request body could not be read.');
    } else {
      logger.error({ err, url: req.originalUrl }, 'SOAP request failed');
      fault = new SoapProtocolError(500, 'Server', 'The server was unable to process the request.');
    }
    logFault(req, fault);
    sendFault(res, fault);
  });

  /** Logs a protocol fault and reports the call (a POST) as failed with it. */
  function logFault(req: Request, err: SoapProtocolError): void {
    logger.warn({ status: err.status, fault: err.faultCode, reason: err.message, url: req.originalUrl }, 'SOAP fault');
    if (req.method === 'POST' && req.res) reportCall(opts, req.res, null, err);
  }

  return router;
}
