/**
 * Numbered, append-only migrations, compiled into the program (no directory scanning, so they work the same from
 * src/ under tsx and from dist/). A shipped migration is never edited: add a new one.
 */
import type { Knex } from 'knex';
import * as m001 from './001-core.js';
import * as m002 from './002-outbox.js';
import * as m003 from './003-secret-size.js';
import * as m005 from './005-names.js';
import * as m006 from './006-receivers.js';
import * as m007 from './007-crm-events.js';
import * as m008 from './008-event-uuid-index.js';

interface Migration { up(knex: Knex): Promise<void>; down(knex: Knex): Promise<void> }

const all: Array<[string, Migration]> = [
  ['001-core', m001],
  ['002-outbox', m002],
  ['003-secret-size', m003],
  ['005-names', m005],
  ['006-receivers', m006],
  ['007-crm-events', m007],
  ['008-event-uuid-index', m008],
];

export const migrations: Knex.MigrationSource<[string, Migration]> = {
  getMigrations: async () => all,
  getMigrationName: ([name]) => name,
  getMigration: async ([, m]) => m,
};
