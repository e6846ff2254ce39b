/**
 * Cross-process wake-up on PostgreSQL: `NOTIFY wa_outbox` when work is enqueued, and a dedicated LISTEN connection
 * in each worker.
 *
 * notifyPg runs inside the transaction that enqueues (enqueueEvent: state events, re-activation). PostgreSQL
 * delivers a notification only when that transaction commits and drops it on rollback, so a worker is never woken
 * for rows it cannot see yet. Identical notifications of one transaction are folded into one, and the payload is
 * empty: a notification only means "claim now"; the claim query finds out what is due.
 *
 * SignalEvent, the hot path, notifies after its statement committed instead (notifyPgAfterCommit): a NOTIFY
 * inside the transaction takes a database-wide lock at commit, which serialised the commits of all concurrent
 * SignalEvents. After the commit the rows are visible too, and the calls of many concurrent SignalEvents fold into
 * one NOTIFY in flight plus at most one more. Should the process die between commit and NOTIFY, the other workers
 * find the rows at their next poll, as they would any missed notification.
 *
 * The listener holds one pg Client of its own, outside the knex pool: a pooled connection would be handed to other
 * queries and released, and a LISTEN lasts only as long as its session. When the connection drops, the listener
 * reconnects with exponential backoff. After every (re)connect it calls onListening, because notifications sent
 * while it was not listening are gone. A periodic `select 1` finds connections that died without a FIN.
 *
 * Polling stays the safety net: a missed notification costs at most one poll interval.
 * SQLite has a single worker process (outbox-worker-lock.ts), woken in process by SignalEvent, so it needs nothing
 * like this. SQL Server has no LISTEN/NOTIFY (Service Broker would need its own queue, service and activation), so
 * it keeps polling: their backends' notify does nothing (backends/*.ts).
 */
// Types only: the driver is loaded when a listener starts, so SQLite deployments never load it (startup, RSS).
import type pg from 'pg';
import type { Knex } from 'knex';
import { knexOf, type Queryable } from '../store/row-mapping.js';

export const OUTBOX_CHANNEL = 'wa_outbox';
/** application_name of the listener's session, so operators (and tests) can find it in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'webhook-agent outbox listener';

/** Issues `NOTIFY wa_outbox` in q's transaction (PostgreSQL; the backend's notify). */
export async function notifyPg(q: Queryable): Promise<void> {
  await knexOf(q).raw(`notify ${OUTBOX_CHANNEL}`);
}

/** Most webhook ids one after-commit notification names; beyond it the payload is empty ("claim now"). */
const MAX_NOTIFY_IDS = 500;

/** Webhook ids to name in the next notification; null once one call named none (then the payload is empty). */
interface AfterCommitState { sending: boolean; again: boolean; ids: Set<number> | null }
const afterCommit = new WeakMap<Knex, AfterCommitState>();

/**
 * `NOTIFY wa_outbox` on its own (PostgreSQL), for rows already committed. Returns at once; a call
 * while one is being sent only asks for one more after it. A failure is ignored: polling is the safety net.
 * The payload names the webhooks that got deliveries (comma-separated ids; the folded calls' union, empty when one
 * of them named none or there are more than MAX_NOTIFY_IDS): a worker that has each of them in flight skips the
 * claim, as it does for its own process's wake(webhookIds) (outbox/worker.ts). Under a stream of SignalEvents to
 * a few webhooks, an unnamed notification cost a claim round that could take nothing, each time.
 */
export function notifyPgAfterCommit(k: Knex, webhookIds?: readonly number[]): void {
  let state = afterCommit.get(k);
  if (!state) afterCommit.set(k, (state = { sending: false, again: false, ids: new Set() }));
  const s = state;
  if (!webhookIds || webhookIds.length === 0) s.ids = null;
  else if (s.ids) for (const id of webhookIds) s.ids.add(id);
  if (s.sending) {
    s.again = true;
    return;
  }
  s.sending = true;
  const send = (): void => {
    s.again = false;
    const payload = s.ids && s.ids.size <= MAX_NOTIFY_IDS ? [...s.ids].join(',') : '';
    s.ids = new Set();
    k.raw('select pg_notify(?, ?)', [OUTBOX_CHANNEL, payload]).then(() => undefined, () => undefined).finally(() => {
      if (s.again) send();
      else s.sending = false;
    });
  };
  send();
}

/** The webhook ids a notification names (notifyPgAfterCommit), or undefined when it names none. */
export function notifiedWebhookIds(payload: string | undefined): number[] | undefined {
  if (!payload) return undefined;
  const ids = payload.split(',').map(Number);
  return ids.every((id) => Number.isSafeInteger(id) && id > 0) ? ids : undefined;
}

export type ListenConnection = string | pg.ClientConfig;

/** A copy that keeps non-enumerable properties: knex hides the parsed password from logs that way. */
function ownCopy(o: object): pg.ClientConfig {
  const out: Record<string, unknown> = {};
  for (const k of Object.getOwnPropertyNames(o)) out[k] = (o as Record<string, unknown>)[k];
  return out as pg.ClientConfig;
}

/**
 * The connection settings of a PostgreSQL knex pool (the DATABASE_URL it was opened with, as knex parsed it for pg),
 * for a separate pg Client. null when its settings cannot be reused (a connection callback).
 */
export function pgListenConnection(k: Knex): ListenConnection | null {
  const c: unknown = (k.client as { config?: { connection?: unknown } }).config?.connection;
  if (typeof c === 'string') return c;
  if (c !== null && typeof c === 'object') return ownCopy(c);
  return null;
}

export interface OutboxListenerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface OutboxListenerOptions {
  connection: ListenConnection;
  /** Called for every notification, with the webhook ids it names (notifiedWebhookIds). Must not throw. */
  onNotify(webhookIds?: number[]): void;
  /** Called after each (re)connect, once LISTEN is in place: what was committed meanwhile sent nothing. */
  onListening?(): void;
  logger: OutboxListenerLogger;
  /** First reconnect delay; doubled per failed try up to retryMaxMs. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How often the idle connection is checked with `select 1`. */
  probeIntervalMs?: number;
}

export interface OutboxListener {
  /** Resolves after the first connect attempt (listening or not; a failure is retried in the background). */
  readonly ready: Promise<void>;
  /** Whether a LISTEN session is up right now. */
  listening(): boolean;
  /** Ends the session and stops reconnecting. */
  close(): Promise<void>;
}

export function listenForOutbox(opts: OutboxListenerOptions): OutboxListener {
  const { logger, onNotify } = opts;
  const retryMinMs = opts.retryMinMs ?? 500;
  const retryMaxMs = opts.retryMaxMs ?? 30_000;
  const probeIntervalMs = opts.probeIntervalMs ?? 30_000;
  const base: pg.ClientConfig = typeof opts.connection === 'string' ? { connectionString: opts.connection } : ownCopy(opts.connection);
  const clientConfig: pg.ClientConfig = {
    ...base,
    application_name: LISTENER_APPLICATION_NAME,
    keepAlive: true,
    connectionTimeoutMillis: base.connectionTimeoutMillis ?? 10_000,
    // Bounds the probe: a half-open connection would otherwise never answer and never fail.
    query_timeout: base.query_timeout ?? 10_000,
  };

  let closed = false;
  let client: pg.Client | null = null;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let wasConnected = false;
  let connecting: Promise<void> = Promise.resolve();

  function scheduleReconnect(): void {
    if (closed || retryTimer) return;
    const delay = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(failures, 16));
    failures++;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connecting = connect();
    }, delay);
    retryTimer.unref();
  }

  function lost(c: pg.Client, err?: unknown): void {
    if (client !== c) return;
    client = null;
    c.end().catch(() => { /* already broken */ });
    if (closed) return;
    logger.warn({ err, channel: OUTBOX_CHANNEL }, 'outbox LISTEN connection lost; reconnecting (polling meanwhile)');
    scheduleReconnect();
  }

  async function connect(): Promise<void> {
    if (closed) return;
    const { default: driver } = await import('pg');
    const c = new driver.Client(clientConfig);
    // pg emits 'error' on an unexpected termination; without a listener it would crash the process.
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c));
    c.on('notification', (msg) => {
      if (msg.channel === OUTBOX_CHANNEL) onNotify(notifiedWebhookIds(msg.payload));
    });
    try {
      await c.connect();
      await c.query(`listen ${OUTBOX_CHANNEL}`);
    } catch (err) {
      c.end().catch(() => { /* never connected */ });
      if (closed) return;
      logger.warn({ err, retry: failures + 1 }, 'outbox LISTEN connection failed; retrying (polling meanwhile)');
      scheduleReconnect();
      return;
    }
    if (closed) {
      await c.end().catch(() => { /* closing anyway */ });
      return;
    }
    client = c;
    failures = 0;
    if (wasConnected) logger.info({ channel: OUTBOX_CHANNEL }, 'outbox LISTEN connection restored');
    wasConnected = true;
    // Whatever was committed while nobody listened would otherwise wait for the next poll.
    opts.onListening?.();
  }

  probeTimer = setInterval(() => {
    const c = client;
    if (!c) return;
    c.query('select 1').catch((err: unknown) => lost(c, err));
  }, probeIntervalMs);
  probeTimer.unref();

  const ready = connect();
  connecting = ready;

  return {
    ready,
    listening: () => client !== null,
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(probeTimer);
      retryTimer = undefined;
      probeTimer = undefined;
      await connecting;
      const c = client;
      client = null;
      if (!c) return;
      // A dead peer would leave end() waiting; do not let it hold up shutdown.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        c.end().catch(() => { /* closing anyway */ }),
        new Promise<void>((r) => { timer = setTimeout(r, 2_000); timer.unref(); }),
      ]);
      clearTimeout(timer);
    },
  };
}
