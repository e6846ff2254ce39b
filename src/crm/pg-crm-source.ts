/**
 * The CRM event source for a PostgreSQL-backed CRM: logical replication (pgoutput, through pg-logical-replication)
 * of a publication on the families' tables (REPLICA IDENTITY FULL, so updates carry the old row and deletes all
 * of it), from a replication slot of its own.
 *
 * Exactly once across crashes:
 * - A CRM transaction is buffered from its begin to its commit message, then its events and the cursor (the
 *   commit's end LSN) are written in one transaction of the service's database (crm-enqueue.ts).
 * - Only then is the slot's position confirmed to PostgreSQL. A reader that dies before confirming gets the
 *   transaction again from the slot and skips it, since its end LSN is not past the stored cursor.
 * - The library's own acknowledgements are off (its timer confirms whatever was last received): this module
 *   confirms, and answers keepalives with what is enqueued. A keepalive that arrives with no transaction buffered
 *   moves the confirmed position to the server's WAL end, so a slot on a quiet publication does not hold WAL.
 * - One reader per slot: PostgreSQL refuses a second START_REPLICATION on an active slot, and that reader waits
 *   (status "waiting") and tries again every retryMs.
 */
import knexFactory, { type Knex } from 'knex';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import { readCrmCursor } from '../store/crm-cursor.js';
import type { SignalledEvent } from '../webhooks/types.js';
import { enqueueCrmBatch } from './crm-enqueue.js';
import { eventsForChange } from './crm-events.js';
import { familyForTable, type CrmRow } from './crm-families.js';
import { lsnToBigInt, normalLsn, pgTextToValue } from './pg-values.js';
import { describeCrmUrl, initialState, sleep, type CrmSource, type CrmSourceState } from './crm-source.js';

export interface PgCrmSourceOptions {
  crmUrl: string;
  schema: string;
  slotName: string;
  publicationName: string;
  db: Pick<Database, 'knex' | 'dialect'>;
  logger: Logger;
  retryMs?: number;
  /** Test seams (crash tests): before a CRM transaction's events are enqueued, and after that enqueue committed. */
  beforeEnqueue?: (position: string) => Promise<void> | void;
  afterEnqueue?: (position: string) => Promise<void> | void;
}

interface Relation { schema: string; name: string; columns: Array<{ name: string; typeOid: number; parser: (raw: unknown) => unknown }> }
type Tuple = Record<string, string | null | undefined>;
type PgoutputMessage =
  | { tag: 'begin'; commitLsn: string | null; commitTime: bigint }
  | { tag: 'commit'; commitLsn: string | null; commitEndLsn: string | null; commitTime: bigint }
  | { tag: 'relation' } & Relation
  | { tag: 'insert'; relation: Relation; new: Tuple }
  | { tag: 'update'; relation: Relation; old: Tuple | null; new: Tuple }
  | { tag: 'delete'; relation: Relation; old: Tuple | null }
  | { tag: 'truncate' | 'type' | 'origin' | 'message' };

type QueueItem = { kind: 'data'; msg: PgoutputMessage } | { kind: 'keepalive'; lsn: string; respond: boolean };

function convertTuple(rel: Relation, t: Tuple | null): CrmRow | null {
  if (!t) return null;
  const row: CrmRow = {};
  for (const c of rel.columns) row[c.name] = pgTextToValue(c.typeOid, t[c.name]);
  return row;
}

const identity = (raw: unknown) => raw;

/** Slot and publication names are SQL identifiers we quote ourselves: keep them plain. */
export function checkPgName(kind: string, name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`${kind} must be lower-case letters, digits and _ (got ${JSON.stringify(name)})`);
  return name;
}

export function pgSourceName(crmUrl: string, slotName: string): string {
  return `${describeCrmUrl(crmUrl)}#${slotName}`;
}

export function createPgCrmSource(o: PgCrmSourceOptions): CrmSource {
  checkPgName('CRM_EVENTS_SLOT', o.slotName);
  checkPgName('CRM_EVENTS_PUBLICATION', o.publicationName);
  const sourceName = pgSourceName(o.crmUrl, o.slotName);
  const retryMs = o.retryMs ?? 5000;
  const st: CrmSourceState = initialState('pg', sourceName);
  const log = o.logger.child({ crmSource: sourceName });
  const stopping = new AbortController();
  let loop: Promise<void> | null = null;
  let service: LogicalReplicationService | null = null;
  let crm: Knex | null = null;
  let lagTimer: NodeJS.Timeout | null = null;

  // Per connection: the buffered transaction, the queue of messages in wire order, the confirmed position.
  let cursor: bigint = 0n;
  let confirmed: bigint = 0n;
  let tx: { events: SignalledEvent[]; changes: number; committedAt: Date } | null = null;
  let queue: QueueItem[] = [];
  let pumping = false;
  let failed: ((err: Error) => void) | null = null;

  const toLsn = (n: bigint) => normalLsn(`${(n >> 32n).toString(16)}/${(n & 0xffffffffn).toString(16)}`);

  async function confirm(to: bigint) {
    if (to > confirmed) confirmed = to;
    if (confirmed > 0n) await service?.acknowledge(toLsn(confirmed));
  }

  async function handle(item: QueueItem) {
    if (item.kind === 'keepalive') {
      // Everything before this keepalive is handled (the queue is in wire order); with no transaction open the
      // server's position is safe to confirm.
      const at = lsnToBigInt(item.lsn);
      if (!tx && at > confirmed) {
        st.lagSeconds = 0;
        await confirm(at);
      } else if (item.respond) await confirm(confirmed);
      return;
    }
    const msg = item.msg;
    switch (msg.tag) {
      case 'begin':
        tx = { events: [], changes: 0, committedAt: new Date(Number(msg.commitTime / 1000n)) };
        return;
      case 'insert': case 'update': case 'delete': {
        if (!tx || msg.relation.schema !== o.schema) return;
        const family = familyForTable(msg.relation.name);
        if (!family) return;
        tx.changes += 1;
        const rel = msg.relation;
        tx.events.push(...eventsForChange(family, {
          op: msg.tag,
          columns: rel.columns.map((c) => c.name),
          old: msg.tag === 'insert' ? null : convertTuple(rel, msg.old),
          row: msg.tag === 'delete' ? null : convertTuple(rel, msg.new),
          committedAt: tx.committedAt,
        }));
        return;
      }
      case 'commit': {
        const done = tx;
        tx = null;
        if (!done || !msg.commitEndLsn) return;
        const end = lsnToBigInt(msg.commitEndLsn);
        st.changesRead += done.changes;
        if (end <= cursor) {
          // Enqueued before a crash that came ahead of the confirmation: the slot sent it again.
          await confirm(end);
          return;
        }
        if (done.events.length > 0) {
          const position = toLsn(end);
          await o.beforeEnqueue?.(position);
          const r = await enqueueCrmBatch(o.db, sourceName, done.events, position);
          cursor = end;
          st.position = position;
          st.eventsEnqueued += r.eventsEnqueued;
          st.deliveriesEnqueued += r.deliveries;
          st.lagSeconds = Math.max(0, (Date.now() - done.committedAt.getTime()) / 1000);
          await o.afterEnqueue?.(position);
        }
        await confirm(end);
        return;
      }
      default:
        if (msg.tag === 'truncate') log.warn('a TRUNCATE of a CRM table raises no events (NetServer raises none either)');
    }
  }

  function pump() {
    if (pumping) return;
    pumping = true;
    void (async () => {
      try {
        while (queue.length > 0) {
          const item = queue.shift()!;
          await handle(item);
          if (queue.length < 1000) streamOf(service)?.resume?.();
        }
      } catch (err) {
        failed?.(err as Error);
      } finally {
        pumping = false;
      }
    })();
  }

  /** The replication socket, to pause while the queue is long (the library's flow control would hide keepalives' order). */
  function streamOf(s: LogicalReplicationService | null): { pause?: () => void; resume?: () => void } | undefined {
    return (s as unknown as { _connection?: { stream?: { pause?: () => void; resume?: () => void } } } | null)?._connection?.stream;
  }

  async function prepare(): Promise<void> {
    crm ??= knexFactory({ client: 'pg', connection: o.crmUrl, pool: { min: 0, max: 1 } });
    const pub = await crm.raw('select 1 from pg_publication where pubname = ?', [o.publicationName]);
    if (pub.rows.length === 0) {
      throw new Error(`publication ${o.publicationName} does not exist on the CRM database: run \`webhook-agent crm-events setup --from <CRM_EVENTS_URL> --apply\``);
    }
    const slot = await crm.raw('select plugin from pg_replication_slots where slot_name = ?', [o.slotName]);
    if (slot.rows.length === 0) {
      await crm.raw("select pg_create_logical_replication_slot(?, 'pgoutput')", [o.slotName]);
      log.warn({ slot: o.slotName }, 'replication slot created: CRM events start from now');
    } else if (slot.rows[0].plugin !== 'pgoutput') {
      throw new Error(`replication slot ${o.slotName} uses ${String(slot.rows[0].plugin)}, not pgoutput`);
    }
  }

  async function measureLag(): Promise<void> {
    if (!crm) return;
    try {
      const r = await crm.raw('select pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint as lag from pg_replication_slots where slot_name = ?', [o.slotName]);
      const lag = r.rows[0]?.lag;
      st.lagUnits = lag == null ? null : Number(lag);
    } catch {
      st.lagUnits = null;
    }
  }

  /** One replication session: resolves when it ends (stop, or the connection went away), rejects on errors. */
  async function session(): Promise<void> {
    await prepare();
    const stored = await readCrmCursor(o.db.knex, sourceName);
    cursor = stored ? lsnToBigInt(stored) : 0n;
    confirmed = 0n;
    st.position = stored;
    tx = null;
    queue = [];
    const svc = new LogicalReplicationService({ connectionString: o.crmUrl }, { acknowledge: { auto: false, timeoutSeconds: 0 } });
    service = svc;
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [o.publicationName] });
    const problem = new Promise<never>((_, reject) => {
      failed = reject;
      svc.on('error', (err: Error) => reject(err));
    });
    svc.on('start', () => {
      st.status = 'running';
      st.detail = undefined;
      backoff = 1000;
      log.info({ slot: o.slotName, from: stored ?? 'the slot' }, 'CRM events: reading changes');
    });
    svc.on('data', (_lsn: string, msg: PgoutputMessage) => {
      // Raw text values: the library would parse them with pg's global parsers (Dates lose microseconds and
      // the offset); pgTextToValue keeps NetServer's forms. The relation object is the one later rows parse with.
      if (msg.tag === 'relation') for (const c of msg.columns) c.parser = identity;
      queue.push({ kind: 'data', msg });
      if (queue.length > 5000) streamOf(svc)?.pause?.();
      pump();
    });
    svc.on('heartbeat', (lsn: string, _ts: number, respond: boolean) => {
      queue.push({ kind: 'keepalive', lsn, respond });
      pump();
    });
    const status = setInterval(() => { if (!pumping) void confirm(confirmed).catch(() => {}); }, 10_000);
    try {
      await Promise.race([svc.subscribe(plugin, o.slotName, stored ?? '0/00000000'), problem]);
    } finally {
      clearInterval(status);
      failed = null;
      service = null;
      queue = [];
      await svc.destroy().catch(() => {});
    }
  }

  let backoff = 1000;
  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      try {
        await session();
        if (stopping.signal.aborted) break;
        st.status = 'reconnecting';
        st.detail = 'the replication connection ended';
      } catch (err) {
        if (stopping.signal.aborted) break;
        const e = err as Error & { code?: string };
        if (e.code === '55006') {
          st.status = 'waiting';
          st.detail = `another reader holds replication slot ${o.slotName}; trying again every ${retryMs} ms`;
          log.info(st.detail);
          await sleep(retryMs, stopping.signal);
          continue;
        }
        st.status = 'reconnecting';
        st.detail = e.message;
        log.warn({ err: e, retryInMs: backoff }, 'CRM events: replication failed; reconnecting');
      }
      await sleep(backoff, stopping.signal);
      backoff = Math.min(backoff * 2, 30_000);
    }
  }

  return {
    start() {
      if (loop) return;
      lagTimer = setInterval(() => void measureLag(), 5000);
      lagTimer.unref();
      loop = run();
    },
    async stop() {
      stopping.abort();
      if (lagTimer) clearInterval(lagTimer);
      await service?.stop().catch(() => {});
      await loop;
      await crm?.destroy();
      crm = null;
      st.status = 'stopped';
    },
    state: () => ({ ...st }),
  };
}
