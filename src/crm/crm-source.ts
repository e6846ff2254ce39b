/**
 * What every CRM event source (PostgreSQL logical replication, SQL Server Change Tracking) exposes to the rest
 * of the service: start/stop, its state for /readyz and the admin API, and the figures for /metrics.
 */

export type CrmSourceStatus = 'starting' | 'running' | 'waiting' | 'reconnecting' | 'failed' | 'stopped';

export interface CrmSourceState {
  engine: 'pg' | 'mssql';
  /** The cursor's key in wa_crm_cursor (names the CRM database, without credentials). */
  sourceName: string;
  status: CrmSourceStatus;
  /** Why it waits, reconnects or failed. */
  detail?: string;
  /** Position enqueued up to (LSN or change version). */
  position: string | null;
  changesRead: number;
  eventsEnqueued: number;
  deliveriesEnqueued: number;
  /** Seconds between the last enqueued change's commit and its enqueue; 0 when caught up. */
  lagSeconds: number;
  /** WAL bytes the slot still holds (PostgreSQL) or change versions behind (SQL Server); null when unknown. */
  lagUnits: number | null;
}

export interface CrmSource {
  start(): void;
  stop(): Promise<void>;
  state(): CrmSourceState;
}

/** Credentials never leave the URL's host, port and database. */
export function describeCrmUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol.replace(/:$/, '')}://${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return '(unparsable CRM_EVENTS_URL)';
  }
}

export function crmEngineOf(url: string): 'pg' | 'mssql' {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'pg';
  if (/^(mssql|sqlserver):\/\//i.test(url)) return 'mssql';
  throw new Error('CRM_EVENTS_URL must be postgres://… or mssql://…');
}

export function initialState(engine: 'pg' | 'mssql', sourceName: string): CrmSourceState {
  return { engine, sourceName, status: 'starting', position: null, changesRead: 0, eventsEnqueued: 0, deliveriesEnqueued: 0, lagSeconds: 0, lagUnits: null };
}

export const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => {
    clearTimeout(t);
    resolve();
  }, { once: true });
});
