/**
 * The real express app built in-process for service-level tests: a fresh database (freshDatabase), configuration
 * through loadConfig({ env }) (nothing read from process.env), the admin associate, the delivery runtime (its
 * worker started only on request), createApp listening on 127.0.0.1:0, and a ticket from a real
 * SoPrincipal.AuthenticateUsernamePassword call. `call` speaks SOAP 1.1 over HTTP and parses the answer by local
 * names (prefixes and namespaces ignored) with xml2js.
 *
 * Also here: a loopback webhook receiver that records what it got and answers a chosen status.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import xml2js from 'xml2js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createAuthService, type AuthService } from '../../src/auth/auth-service.js';
import { createDeliveryRuntime, type DeliveryRuntime } from '../../src/agent/delivery-runtime.js';
import { createApp } from '../../src/app.js';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.js';
import type { Dialect } from '../../src/store/db.js';
import { freshDatabase, type TestDatabase } from './db.js';

export const TEST_ADMIN = 'admin';
export const TEST_ADMIN_PASSWORD = 'app-test-password';

export const nsFor = (version: number) => `http://www.superoffice.net/ws/crm/NetServer/Services${version}`;
export const ARRAYS_NS = 'http://schemas.microsoft.com/2003/10/Serialization/Arrays';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

/** One element, by local name. `nil` is xsi:nil="true"; `text` is the element's own character data. */
export interface XNode {
  name: string;
  attrs: Record<string, string>;
  text: string;
  nil: boolean;
  children: XNode[];
}

export function child(node: XNode | null | undefined, name: string): XNode | null {
  return node?.children.find((c) => c.name === name) ?? null;
}

export function childrenNamed(node: XNode | null | undefined, name: string): XNode[] {
  return node ? node.children.filter((c) => c.name === name) : [];
}

/** Text of a descendant path (`textAt(hook, 'RegisteredAssociate', 'UserName')`); undefined when absent, null when nil. */
export function textAt(node: XNode | null | undefined, ...path: string[]): string | null | undefined {
  let n: XNode | null | undefined = node;
  for (const p of path) {
    n = child(n, p);
    if (!n) return undefined;
  }
  if (!n) return undefined;
  return n.nil ? null : n.text;
}

/** Texts of the items of an array element (`<Events><string>a</string>...</Events>`); null when nil or absent. */
export function itemsAt(node: XNode | null | undefined, name: string): string[] | null {
  const n = child(node, name);
  if (!n || n.nil) return null;
  return n.children.map((c) => c.text);
}

export interface SoapException {
  message: string | null;
  exceptionType: string | null;
  friendlyText: string | null;
  source: string | null;
  parameters: Record<string, string>;
}

export interface SoapResult {
  status: number;
  contentType: string;
  text: string;
  envelope: XNode;
  /** The SOAP Header's children by local name. */
  header: Record<string, XNode>;
  /** The Succeeded header; null when absent. */
  succeeded: boolean | null;
  /** The ExceptionInfo header; null when nil or absent. */
  exception: SoapException | null;
  /** The single Body child (`{Op}Response`, or `Fault`). */
  body: XNode | null;
  /** `{Op}Response/Response`; null when absent (nil shows as a node with nil=true). */
  response: XNode | null;
  fault: { code: string; message: string } | null;
}

function toNode(name: string, raw: unknown): XNode {
  if (typeof raw === 'string') return { name, attrs: {}, text: raw, nil: false, children: [] };
  const r = (raw ?? {}) as { $?: Record<string, string>; _?: string; $$?: Array<Record<string, unknown> & { '#name': string }> };
  const attrs = r.$ ?? {};
  const children = (r.$$ ?? []).map((c) => toNode(c['#name'], c));
  return { name, attrs, text: r._ ?? '', nil: attrs.nil === 'true', children };
}

const localName = (n: string) => n.replace(/^[^:]*:/, '');

export async function parseXml(text: string): Promise<XNode> {
  const parser = new xml2js.Parser({
    explicitChildren: true,
    preserveChildrenOrder: true,
    explicitRoot: true,
    trim: false,
    normalize: false,
    tagNameProcessors: [localName],
    attrNameProcessors: [localName],
  });
  const parsed = (await parser.parseStringPromise(text)) as Record<string, unknown>;
  const [rootName, rootValue] = Object.entries(parsed)[0];
  return toNode(rootName, rootValue);
}

export async function parseSoap(status: number, contentType: string, text: string): Promise<SoapResult> {
  const envelope = await parseXml(text);
  const headerEl = child(envelope, 'Header');
  const header: Record<string, XNode> = {};
  for (const h of headerEl?.children ?? []) header[h.name] = h;
  const bodyEl = child(envelope, 'Body');
  const body = bodyEl?.children[0] ?? null;
  const succeededText = header.Succeeded ? header.Succeeded.text : null;
  const exNode = header.ExceptionInfo;
  let exception: SoapException | null = null;
  if (exNode && !exNode.nil) {
    const parameters: Record<string, string> = {};
    for (const p of child(exNode, 'Parameters')?.children ?? []) parameters[textAt(p, 'Key') ?? ''] = textAt(p, 'Value') ?? '';
    exception = {
      message: textAt(exNode, 'Message') ?? null,
      exceptionType: textAt(exNode, 'ExceptionType') ?? null,
      friendlyText: textAt(exNode, 'FriendlyText') ?? null,
      source: textAt(exNode, 'Source') ?? null,
      parameters,
    };
  }
  const fault = body?.name === 'Fault'
    ? { code: textAt(body, 'faultcode') ?? '', message: textAt(body, 'faultstring') ?? '' }
    : null;
  return {
    status,
    contentType,
    text,
    envelope,
    header,
    succeeded: succeededText === null ? null : succeededText === 'true',
    exception,
    body,
    response: child(body, 'Response'),
    fault,
  };
}

export interface CallOptions {
  /** Credentials/Ticket; undefined = the app's admin ticket, null = no Credentials header at all. */
  ticket?: string | null;
  /** Extra raw XML inside soap:Header (WS-Addressing, TimeZone...). */
  headersXml?: string;
  /** Omit ApplicationToken. */
  noApplicationToken?: boolean;
  /** 'Webhook' (default) or 'SoPrincipal' (Services88 only). */
  service?: 'Webhook' | 'SoPrincipal';
}

/** `<Op xmlns="ns">inner</Op>` in a SOAP 1.1 envelope; the arrays, xsi and xsd prefixes a, i, xs are declared. */
export function requestEnvelope(version: number, op: string, bodyInnerXml: string, headersXml: string): string {
  const ns = nsFor(version);
  return '<?xml version="1.0" encoding="utf-8"?>'
    + `<s:Envelope xmlns:s="${SOAP11_NS}" xmlns:a="${ARRAYS_NS}" xmlns:i="${XSI_NS}" xmlns:xs="${XSD_NS}">`
    + `<s:Header>${headersXml}</s:Header>`
    + `<s:Body><${op} xmlns="${ns}">${bodyInnerXml}</${op}></s:Body></s:Envelope>`;
}

export async function soapCall(baseUrl: string, version: number, op: string, bodyInnerXml: string,
  opts: CallOptions & { defaultTicket?: string } = {}): Promise<SoapResult> {
  const service = opts.service ?? 'Webhook';
  const ns = nsFor(version);
  const ticket = opts.ticket === undefined ? opts.defaultTicket : opts.ticket;
  let headers = '';
  if (!opts.noApplicationToken) headers += `<ApplicationToken xmlns="${ns}">test-app</ApplicationToken>`;
  if (ticket !== undefined && ticket !== null) headers += `<Credentials xmlns="${ns}"><Ticket>${escapeXml(ticket)}</Ticket></Credentials>`;
  headers += opts.headersXml ?? '';
  const xml = requestEnvelope(version, op, bodyInnerXml, headers);
  const r = await fetch(`${baseUrl}/Remote/Services${version}/${service}.svc`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${ns}/${service}/${op}"` },
    body: xml,
  });
  const text = await r.text();
  return parseSoap(r.status, r.headers.get('content-type') ?? '', text);
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface AppOptions {
  /** Extra environment for loadConfig (strings, as in the real environment). */
  env?: Record<string, string>;
  /** Start the delivery worker (default: not started). */
  startWorker?: boolean;
  /** Build the process metrics (served at /metrics, fed by the worker and the faces). */
  metrics?: boolean;
  /** The built admin page to serve at /admin/ (default: dist/admin). */
  adminUiDir?: string;
}

export interface TestApp {
  baseUrl: string;
  db: TestDatabase;
  config: Config;
  auth: AuthService;
  delivery: DeliveryRuntime;
  metrics?: Metrics;
  /** The admin's ticket, from a real AuthenticateUsernamePassword call. */
  ticket: string;
  call(version: number, op: string, bodyInnerXml: string, opts?: CallOptions): Promise<SoapResult>;
  /** AuthenticateUsernamePassword on Services88/SoPrincipal.svc. */
  login(userName: string, password: string): Promise<SoapResult>;
  close(): Promise<void>;
}

export async function startApp(dialect: Dialect, opts: AppOptions = {}): Promise<TestApp> {
  const db = await freshDatabase(dialect);
  let server: http.Server | undefined;
  let delivery: DeliveryRuntime | undefined;
  try {
    const config = loadConfig({
      env: {
        DATABASE_URL: db.url,
        HOST: '127.0.0.1',
        PORT: '0',
        ALLOW_INSECURE_TARGETS: 'true',
        ADMIN_USER: TEST_ADMIN,
        ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
        LOG_LEVEL: 'silent',
        DELIVERY_TIMEOUT_MS: '5000',
        ...opts.env,
      },
    });
    const logger = createLogger(config.logLevel);
    const auth = createAuthService({
      db: db.knex, ticketTtlMs: config.ticketTtlMs, loginFailuresPerWindow: config.loginFailuresPerWindow, loginWindowMs: config.loginWindowMs,
      loginMaxDelayMs: config.loginMaxDelayMs, logger,
    });
    await auth.ensureAdmin({ userName: config.adminUser, password: config.adminPassword });
    const metrics = opts.metrics ? createMetrics({ db, cacheMs: config.metricsCacheMs }) : undefined;
    delivery = createDeliveryRuntime({ db, config, logger, onAttempt: metrics?.observeAttempt });
    const d0 = delivery;
    metrics?.watchWorker(() => d0.workerState());
    if (opts.startWorker) await delivery.startWorker();
    const app = createApp({ config, db, auth, delivery, logger, metrics, adminUiDir: opts.adminUiDir });
    const srv = http.createServer(app);
    server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve());
    });
    const baseUrl = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;

    const login = (userName: string, password: string) => soapCall(baseUrl, 88, 'AuthenticateUsernamePassword',
      `<UserName>${escapeXml(userName)}</UserName><Password>${escapeXml(password)}</Password>`, { service: 'SoPrincipal', ticket: null });
    const auth0 = await login(TEST_ADMIN, TEST_ADMIN_PASSWORD);
    const ticket = textAt(auth0.body, 'Credentials', 'Ticket');
    if (!ticket) throw new Error(`admin login failed (${auth0.status}): ${auth0.text.slice(0, 600)}`);
    const d = delivery;
    return {
      baseUrl, db, config, auth, delivery: d, ticket, metrics,
      call: (version, op, inner, o = {}) => soapCall(baseUrl, version, op, inner, { ...o, defaultTicket: ticket }),
      login,
      async close() {
        srv.closeAllConnections();
        await new Promise<void>((r) => srv.close(() => r()));
        await d.stop(0);
        await db.drop();
      },
    };
  } catch (err) {
    server?.closeAllConnections();
    server?.close();
    await delivery?.stop(0).catch(() => {});
    await db.drop();
    throw err;
  }
}

/** A request a receiver got. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Receiver {
  url: string;
  /** Status answered to every request; may be changed between requests. */
  status: number;
  /** How long the receiver waits after a request's body before it answers (0: at once); may be changed too. */
  delayMs: number;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** A loopback HTTP receiver recording each request and answering `status` with a short text body. */
export async function startReceiver(status = 200): Promise<Receiver> {
  const rec: Receiver = { url: '', status, delayMs: 0, requests: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      rec.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      const answer = () => {
        res.writeHead(rec.status, { 'Content-Type': 'text/plain' });
        res.end(`receiver answered ${rec.status}`);
      };
      if (rec.delayMs > 0) setTimeout(answer, rec.delayMs);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rec.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  rec.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return rec;
}

export interface WebhookXml {
  id?: number;
  name?: string | null;
  events?: string[] | null;
  targetUrl?: string | null;
  secret?: string | null;
  state?: string;
  type?: string | null;
  headers?: Record<string, string> | null;
  /** Raw extra XML appended after Headers (rarely needed). */
  tail?: string;
}

/**
 * A `<Webhook>` element in WSDL order with the fields given (absent ones omitted; null written as nil). The
 * element sits in the default namespace of the enclosing operation element; Events items use the Arrays prefix `a`.
 */
export function webhookXml(w: WebhookXml): string {
  const nil = (name: string) => `<${name} i:nil="true"/>`;
  const str = (name: string, v: string | null | undefined) =>
    (v === undefined ? '' : v === null ? nil(name) : `<${name}>${escapeXml(v)}</${name}>`);
  let x = '<Webhook>';
  if (w.id !== undefined) x += `<WebhookId>${w.id}</WebhookId>`;
  x += str('Name', w.name);
  if (w.events !== undefined) {
    x += w.events === null ? nil('Events') : `<Events>${w.events.map((e) => `<a:string>${escapeXml(e)}</a:string>`).join('')}</Events>`;
  }
  x += str('TargetUrl', w.targetUrl);
  x += str('Secret', w.secret);
  if (w.state !== undefined) x += `<State>${w.state}</State>`;
  x += str('Type', w.type);
  if (w.headers !== undefined) {
    x += w.headers === null ? nil('Headers') : `<Headers>${Object.entries(w.headers).map(([k, v]) =>
      `<StringKeyValuePair><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></StringKeyValuePair>`).join('')}</Headers>`;
  }
  x += w.tail ?? '';
  return `${x}</Webhook>`;
}
