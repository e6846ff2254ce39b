/**
 * Shared fixtures for the SOAP edge tests: WSDL files (the project's wsdl/ when present, else the reference
 * WSDLs), an express app with one endpoint on a loopback port, a raw HTTP poster, and a recording logger.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import express from 'express';
import { createSoapEndpoint, type SoapEndpointOptions, type SoapLogger } from '../../src/soap/soap-endpoint.js';

export const repoRoot = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
export const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
export const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
export const ARRAYS = 'http://schemas.microsoft.com/2003/10/Serialization/Arrays';
export const tns = (v: number): string => `http://www.superoffice.net/ws/crm/NetServer/Services${v}`;
export const TNS = tns(88);
export const actionFor = (op: string, v = 88): string => `${tns(v)}/Webhook/${op}`;
export const PATH88 = '/Remote/Services88/Webhook.svc';

export function wsdlPath(file: string): string {
  const own = path.join(repoRoot, 'wsdl', file);
  return existsSync(own) ? own : path.resolve(repoRoot, '../shared/reference/wsdl', file);
}

export function wsdlXml(file = 'Services88-Webhook.wsdl'): string {
  return readFileSync(wsdlPath(file), 'utf8');
}

export interface LogEntry { level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg?: string }

export function recordingLogger(): SoapLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (obj: object, msg?: string) => {
    entries.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return { entries, info: at('info'), warn: at('warn'), error: at('error') };
}

export interface TestServer {
  url: string;
  origin: string;
  port: number;
  logger: ReturnType<typeof recordingLogger>;
  close(): Promise<void>;
}

export async function startEndpoint(
  opts: Partial<SoapEndpointOptions> & Pick<SoapEndpointOptions, 'handlers'>,
  app: { trustProxy?: boolean; path?: string } = {},
): Promise<TestServer> {
  const logger = recordingLogger();
  const endpoint = createSoapEndpoint({ wsdlXml: wsdlXml(), logger, ...opts });
  await endpoint.ready;
  const a = express();
  if (app.trustProxy) a.set('trust proxy', true);
  const mount = app.path ?? PATH88;
  a.use(mount, endpoint);
  const server = http.createServer(a);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}${mount}`,
    origin,
    port,
    logger,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface HttpResult { status: number; contentType: string | undefined; headers: http.IncomingHttpHeaders; text: string }

/** A raw HTTP request (no fetch: we want exact control over headers and bytes). */
export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        contentType: res.headers['content-type'],
        headers: res.headers,
        text: Buffer.concat(chunks).toString('utf8'),
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export function soapPost(
  url: string,
  body: string | Buffer,
  opts: { action?: string | null; contentType?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { 'Content-Type': opts.contentType ?? 'text/xml; charset=utf-8', ...opts.headers };
  if (opts.action !== null && opts.action !== undefined) headers.SOAPAction = opts.action;
  return request(url, { method: 'POST', headers, body });
}

/** A request envelope the way Mono's WCF client writes it (default namespaces, `s:` prefix). */
export function monoEnvelope(bodyXml: string, headerXml = defaultHeaders()): string {
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${SOAP11}"><s:Header>${headerXml}</s:Header>`
    + `<s:Body>${bodyXml}</s:Body></s:Envelope>`;
}

export function defaultHeaders(ticket = '7T:example-ticket', appToken = 'app-token'): string {
  return `<ApplicationToken xmlns="${TNS}">${appToken}</ApplicationToken>`
    + `<Credentials xmlns:i="${XSI}" xmlns="${TNS}"><Ticket>${ticket}</Ticket></Credentials>`;
}

/** The four response headers of a successful call, as the edge writes them (TimeZone nil). */
export function okHeaders(timeZoneXml = `<TimeZone i:nil="true" xmlns="${TNS}" xmlns:i="${XSI}"/>`): string {
  return `<ExceptionInfo i:nil="true" xmlns="${TNS}" xmlns:i="${XSI}"/>`
    + `<ExtraInfo i:nil="true" xmlns="${TNS}" xmlns:i="${XSI}"/>`
    + `<Succeeded xmlns="${TNS}">true</Succeeded>`
    + timeZoneXml;
}

export function responseEnvelope(headersXml: string, bodyXml: string): string {
  return `<s:Envelope xmlns:s="${SOAP11}"><s:Header>${headersXml}</s:Header><s:Body>${bodyXml}</s:Body></s:Envelope>`;
}

/** Declarations on a Webhook-carrying body wrapper (i, a, b), in the order the serializer writes them. */
export const WRAPPER_DECLS = ` xmlns="${TNS}" xmlns:a="${ARRAYS}" xmlns:b="http://www.w3.org/2001/XMLSchema" xmlns:i="${XSI}"`;

export const FAULT_SHAPE = new RegExp(
  `^<s:Envelope xmlns:s="${SOAP11.replace(/[.]/g, '\\.')}"><s:Body><s:Fault><faultcode>s:(Client|Server|VersionMismatch)</faultcode>`
  + '<faultstring xml:lang="en-US">([^<]*)</faultstring></s:Fault></s:Body></s:Envelope>$',
);

/** Text of the first element with this local name (any prefix), or undefined. */
export function elementText(xml: string, localName: string): string | undefined {
  const m = new RegExp(`<(?:[\\w.-]+:)?${localName}(?:\\s[^>]*)?>([^<]*)</(?:[\\w.-]+:)?${localName}>`).exec(xml);
  return m?.[1];
}
