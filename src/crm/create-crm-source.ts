/**
 * The CRM event source of a process, from its configuration: none without CRM_EVENTS_URL, otherwise the reader
 * of that database's engine. Run by the process that runs the delivery worker (`serve`, `worker`).
 */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import { crmEngineOf, type CrmSource } from './crm-source.js';
import { createPgCrmSource } from './pg-crm-source.js';
import { createMssqlCrmSource } from './mssql-crm-source.js';

export function createCrmSource(deps: { config: Config; db: Pick<Database, 'knex' | 'dialect'>; logger: Logger }): CrmSource | null {
  const { config } = deps;
  if (!config.crmEventsUrl) return null;
  const engine = crmEngineOf(config.crmEventsUrl);
  if (engine === 'pg') {
    return createPgCrmSource({
      crmUrl: config.crmEventsUrl, schema: config.crmEventsSchema, slotName: config.crmEventsSlot,
      publicationName: config.crmEventsPublication, db: deps.db, logger: deps.logger, retryMs: config.crmEventsRetryMs,
    });
  }
  return createMssqlCrmSource({
    crmUrl: config.crmEventsUrl, schema: config.crmEventsSchema, db: deps.db, logger: deps.logger,
    pollMs: config.crmEventsPollMs, retryMs: config.crmEventsRetryMs,
  });
}
