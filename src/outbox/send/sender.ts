/**
 * The one place that talks HTTP to webhook targets (the project's only axios user).
 *
 * Request (notes/netserver-contract.md 3.1): POST, body from payload.ts, headers in this order:
 *   Content-Type: application/json; charset=utf-8
 *   User-Agent: <config userAgent>
 *   X-SuperOffice-Event: <event name as subscribed>
 *   X-SuperOffice-EventId: <body EventId>
 *   X-SuperOffice-Retry: <retries before this attempt>  (0 on the first attempt, 1 on the second, ...; NetServer
 *     documents "the number of retries this webhook has been tried to be sent" without saying where it starts)
 *   X-Hook-Test: true                                   (test event only)
 *   X-SuperOffice-Signature: <base64 HMAC-SHA256>       (only when the hook has a secret; scheme netserver or both)
 *   webhook-id, webhook-timestamp, webhook-signature    (scheme standard or both; the signature only with a secret)
 *   the hook's own Headers, except names that would change the above or the transport: Content-Type,
 *   Content-Length, Host, Transfer-Encoding, Connection, X-SuperOffice-*, X-Hook-Test (dropped, not an error, so
 *   a stored NetServer hook still delivers).
 *
 * Transport: redirects are not followed (a 3xx is a failed attempt), no proxy from the environment (it would
 * bypass the target guard), keep-alive agents whose `lookup` is the target guard (with DELIVERY_PROXY_URL: the
 * proxy agents of http-proxy-agent / https-proxy-agent, CONNECT for https targets, and the target's name resolved
 * and checked by checkProxiedTarget before each request), one deadline per attempt
 * covering connect, response and body, and at most responseCapBytes of the response body read (then the socket
 * is destroyed instead of draining the rest).
 */
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import axios, { type AxiosResponse } from 'axios';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { Config } from '../../config.js';
import type { BodyParts } from '../../webhooks/types.js';
import { payloadBytes, testEventName } from './payload.js';
import { signBody, standardSignature } from './signature.js';
import { defaultSetting, type WebhookSetting } from '../../store/webhook-settings.js';
import { checkProxiedTarget, checkTargetUrl, createGuardedLookup, defaultResolve, targetRefusedCode, type Resolve } from './target-guard.js';
import {
  capReport, classifyStatus, classifyTransportError, parseRetryAfter, reportCapChars, type DeliveryOutcome,
} from './outcome.js';

export type SenderConfig = Pick<Config, 'deliveryTimeoutMs' | 'responseCapBytes' | 'allowInsecureTargets' |
  'targetAllowlist' | 'userAgent' | 'contextIdentifier' | 'retryAfterCapMs'> & Partial<Pick<Config, 'deliveryProxyUrl'>>;

export interface SenderOptions {
  config: SenderConfig;
  /** Name resolution for targets (tests inject a fixed map); the guard checks whatever it returns. */
  lookup?: Resolve;
  /** Epoch ms, for Retry-After dates. */
  now?: () => number;
}

/** What the sender needs of a webhook. */
export interface TargetHook {
  name: string;
  targetUrl: string;
  secret: string | null;
  headers: Record<string, string> | null;
  properties: Record<string, unknown> | null;
  /** The hook's own settings (signature scheme, a rotation's previous secret); none: NetServer's signature only. */
  setting?: WebhookSetting;
}

export interface DeliveryJob {
  hook: TargetHook;
  /** The delivery's EventId (same for every attempt). */
  eventUuid: string;
  /** 1 for the first attempt. */
  attemptNo: number;
  eventName: string;
  primaryKey: number;
  data: Record<string, unknown>;
  changedByAssociateId: number;
  timestamp: Date;
  bodyParts?: BodyParts | null;
  /**
   * Epoch ms of the attempt as recorded (wa_attempt.started_at), which the signatures' time is taken from, so that
   * the request can be rebuilt exactly (outbox/sent-request.ts); default: now.
   */
  attemptAt?: number;
  /** Aborts the attempt (worker shutdown); the outcome is then a failure the caller should not record. */
  signal?: AbortSignal;
}

export interface TestEventResult {
  ok: boolean;
  status?: number;
  /** Status line, response headers and body (or the error), capped at 4000 characters. */
  message: string;
}

/**
 * The response encodings accepted: axios' own default (it decodes them), set here so that the request is all ours
 * to describe (outbox/sent-request.ts lists it with the transport's other headers).
 */
export const ACCEPT_ENCODING = 'gzip, compress, deflate, br';

const reservedHeader = /^(content-type|content-length|host|transfer-encoding|connection|x-superoffice-.*|x-hook-test)$/i;

/**
 * The signature headers of one attempt at `nowMs`. During a rotation's overlap (now before previousSecretUntil)
 * webhook-signature carries the new and the previous secret's signatures, and X-SuperOffice-Signature (one value
 * only) the new one, or the previous one when previousSecretNetserver.
 */
export function signatureHeaders(job: DeliveryJob, body: Buffer, nowMs: number): Record<string, string> {
  const { secret } = job.hook;
  const setting = job.hook.setting ?? defaultSetting;
  const previous = setting.previousSecret && setting.previousSecretUntil !== null && nowMs < setting.previousSecretUntil
    ? setting.previousSecret : null;
  const headers: Record<string, string> = {};
  if (setting.signature !== 'standard' && secret) {
    headers['X-SuperOffice-Signature'] = signBody(previous !== null && setting.previousSecretNetserver ? previous : secret, body);
  }
  if (setting.signature !== 'netserver') {
    const timestamp = Math.floor(nowMs / 1000);
    headers['webhook-id'] = job.eventUuid;
    headers['webhook-timestamp'] = String(timestamp);
    const keys = [secret, previous].filter((k): k is string => !!k);
    if (keys.length) headers['webhook-signature'] = keys.map((k) => standardSignature(k, job.eventUuid, timestamp, body)).join(' ');
  }
  return headers;
}

export function requestHeaders(job: DeliveryJob, body: Buffer, userAgent: string, nowMs: number = Date.now()): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'User-Agent': userAgent,
    'X-SuperOffice-Event': job.eventName,
    'X-SuperOffice-EventId': job.eventUuid,
    'X-SuperOffice-Retry': String(Math.max(0, job.attemptNo - 1)),
  };
  if (job.eventName === testEventName) headers['X-Hook-Test'] = 'true';
  Object.assign(headers, signatureHeaders(job, body, nowMs));
  const taken = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
  for (const [name, raw] of Object.entries(job.hook.headers ?? {})) {
    if (reservedHeader.test(name) || taken.has(name.toLowerCase())) continue;
    const value = String(raw ?? '');
    try {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
    } catch {
      continue; // a stored header with CR/LF or an invalid name must not break (or split) the request
    }
    headers[name] = value;
    taken.add(name.toLowerCase());
  }
  return headers;
}

/**
 * The request an attempt of `job` sends: the body bytes and the headers, in order. Also what the delivery history
 * rebuilds "what was sent" with (outbox/sent-request.ts), so the two cannot differ.
 */
export function requestOf(job: Omit<DeliveryJob, 'signal'>, config: Pick<SenderConfig, 'userAgent' | 'contextIdentifier'>, nowMs: number):
  { body: Buffer; headers: Record<string, string> } {
  const body = payloadBytes({
    eventUuid: job.eventUuid, eventName: job.eventName, primaryKey: job.primaryKey, data: job.data,
    changedByAssociateId: job.changedByAssociateId, timestamp: job.timestamp, webhookName: job.hook.name,
    contextIdentifier: config.contextIdentifier, properties: job.hook.properties, bodyParts: job.bodyParts,
  });
  return { body, headers: requestHeaders(job, body, config.userAgent, nowMs) };
}

async function readCapped(stream: Readable, capBytes: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  try {
    for await (const chunk of stream) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      const room = capBytes - size;
      if (buf.length >= room) {
        chunks.push(buf.subarray(0, room));
        size += room;
        truncated = buf.length > room;
        if (truncated) break;
        continue;
      }
      chunks.push(buf);
      size += buf.length;
    }
  } finally {
    // Leaving the loop early (cap reached) or an abort: do not drain a large body, drop the socket.
    if (truncated || !stream.readableEnded) stream.destroy();
  }
  return { text: Buffer.concat(chunks, size).toString('utf8'), truncated };
}

function responseReport(res: AxiosResponse, body: string, truncated: boolean): string {
  const raw = (res.request as { res?: http.IncomingMessage } | undefined)?.res;
  const version = raw?.httpVersion ?? '1.1';
  const lines = [`HTTP/${version} ${res.status} ${res.statusText || http.STATUS_CODES[res.status] || ''}`.trimEnd()];
  if (raw?.rawHeaders) for (let i = 0; i < raw.rawHeaders.length; i += 2) lines.push(`${raw.rawHeaders[i]}: ${raw.rawHeaders[i + 1]}`);
  else for (const [k, v] of Object.entries(res.headers ?? {})) lines.push(`${k}: ${String(v)}`);
  const head = lines.join('\r\n');
  return capReport(`${head}\r\n\r\n${body}${truncated && head.length + body.length < reportCapChars ? '\n[truncated]' : ''}`);
}

export interface Sender {
  deliver(job: DeliveryJob): Promise<DeliveryOutcome>;
  sendTestEvent(hook: TargetHook, opts?: { changedByAssociateId?: number }): Promise<TestEventResult>;
  /** Closes idle keep-alive sockets. */
  close(): void;
}

export function createSender(opts: SenderOptions): Sender {
  const { config } = opts;
  const now = opts.now ?? Date.now;
  const lookup = createGuardedLookup(config, opts.lookup) as unknown as http.AgentOptions['lookup'];
  const agentOptions = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, lookup, scheduling: 'lifo' as const };
  const proxy = config.deliveryProxyUrl;
  const { lookup: _targetLookup, ...proxyAgentOptions } = agentOptions;
  // A proxied http request does not reuse its connection to the proxy: proxies such as tinyproxy close it after
  // each response without saying so, and a reused socket then fails the next attempt (ECONNRESET). CONNECT
  // tunnels (https) are kept alive like direct connections.
  const httpAgent: http.Agent = proxy ? new HttpProxyAgent(proxy, { ...proxyAgentOptions, keepAlive: false }) : new http.Agent(agentOptions);
  const httpsAgent: http.Agent = proxy ? new HttpsProxyAgent(proxy, proxyAgentOptions) : new https.Agent(agentOptions);
  const resolve = opts.lookup ?? defaultResolve;
  const client = axios.create({ httpAgent, httpsAgent, proxy: false, maxRedirects: 0 });

  async function deliver(job: DeliveryJob): Promise<DeliveryOutcome> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const refused = checkTargetUrl(job.hook.targetUrl, config);
    if (refused) {
      return { kind: 'refused_target', errorClass: 'refused_target', durationMs: elapsed(), report: capReport(`Target refused: TargetUrl ${refused}`) };
    }
    const { body, headers } = requestOf(job, config, job.attemptAt ?? now());
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, config.deliveryTimeoutMs);
    const onAbort = () => controller.abort();
    job.signal?.addEventListener('abort', onAbort, { once: true });
    if (job.signal?.aborted) controller.abort();
    try {
      if (proxy) await checkProxiedTarget(job.hook.targetUrl, config, resolve);
      const res = await client.request<Readable>({
        method: 'POST',
        url: job.hook.targetUrl,
        data: body,
        // Accept: false removes axios' default Accept header: send what NetServer sends, no more.
        headers: { ...headers, 'Accept-Encoding': ACCEPT_ENCODING, Accept: false as unknown as string },
        responseType: 'stream',
        validateStatus: () => true,
        signal: controller.signal,
        timeout: 0,
        maxBodyLength: Infinity,
        transitional: { clarifyTimeoutError: true },
      });
      const { text, truncated } = await readCapped(res.data, config.responseCapBytes);
      if (timedOut) throw Object.assign(new Error(`timeout of ${config.deliveryTimeoutMs} ms exceeded`), { code: 'ETIMEDOUT' });
      const report = responseReport(res, text, truncated);
      const retryAfterRaw = parseRetryAfter(res.headers['retry-after'] as string | undefined, now());
      const retryAfterMs = retryAfterRaw === null ? null : Math.min(retryAfterRaw, config.retryAfterCapMs);
      const c = classifyStatus(res.status, retryAfterMs);
      const durationMs = elapsed();
      if (c.kind === 'success') return { kind: 'success', status: res.status, durationMs, report };
      if (c.kind === 'gone') return { kind: 'gone', status: 410, errorClass: 'http', durationMs, report };
      if (c.kind === 'retry_after') return { kind: 'retry_after', status: res.status, retryAfterMs: c.retryAfterMs, errorClass: 'http', durationMs, report };
      return { kind: 'failure', status: res.status, errorClass: c.errorClass, durationMs, report };
    } catch (err) {
      const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
      const code = timedOut ? 'ETIMEDOUT' : (e.cause?.code === targetRefusedCode ? targetRefusedCode : e.code ?? e.cause?.code);
      const message = timedOut ? `timeout of ${config.deliveryTimeoutMs} ms exceeded` : (e.cause?.message ?? e.message ?? String(err));
      const errorClass = classifyTransportError(code, message);
      const report = capReport(errorClass === 'refused_target' ? `Target refused: ${message}` : `${code ? `${code}: ` : ''}${message}`);
      if (errorClass === 'refused_target') return { kind: 'refused_target', errorClass, durationMs: elapsed(), report };
      return { kind: 'failure', errorClass, durationMs: elapsed(), report };
    } finally {
      clearTimeout(timer);
      job.signal?.removeEventListener('abort', onAbort);
    }
  }

  async function sendTestEvent(hook: TargetHook, o: { changedByAssociateId?: number } = {}): Promise<TestEventResult> {
    const outcome = await deliver({
      hook, eventUuid: randomUUID(), attemptNo: 1, eventName: testEventName, primaryKey: 0, data: {},
      changedByAssociateId: o.changedByAssociateId ?? 0, timestamp: new Date(now()),
    });
    const status = 'status' in outcome ? outcome.status : undefined;
    return { ok: outcome.kind === 'success', ...(status !== undefined ? { status } : {}), message: outcome.report };
  }

  return {
    deliver,
    sendTestEvent,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/**
 * POSTs the `test` event (TestWebhook, and SaveWebhook's ping): Event/Entity "test", PrimaryKey 0, Changes [],
 * header X-Hook-Test: true, signed when the hook has a secret. ok = the target answered 2xx.
 */
export async function sendTestEvent(hook: TargetHook, opts: SenderOptions & { changedByAssociateId?: number }): Promise<TestEventResult> {
  const sender = createSender(opts);
  try {
    return await sender.sendTestEvent(hook, { changedByAssociateId: opts.changedByAssociateId });
  } finally {
    sender.close();
  }
}
