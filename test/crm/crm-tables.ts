/**
 * CRM-shaped tables for the CRM event source's tests, one per family, built from the column names the reference
 * lists (facts: reference/webhook-docs/reference__contact-events.md's contact.created Changes, and the FieldValues
 * keys of each family's page as notes/netserver-contract.md section 4 tables them), plus the bookkeeping columns
 * every SuperOffice table has (registered, registered_associate_id, updated, updated_associate_id, updatedCount)
 * and one text column to change. Types follow SuperOffice: ids and flags integer, dates timestamp; `updated` is
 * timestamptz so its text keeps an offset, as the contact.created example's FieldValues shows it.
 * Columns are created in a shuffled order: Changes must not depend on the table's own order.
 */
export interface CrmTable {
  entity: string;
  table: string;
  primaryKey: string;
  columns: readonly string[];
  /** A text column an update can change without raising a special verb. */
  textColumn: string;
}

const bookkeeping = ['registered', 'registered_associate_id', 'updated', 'updated_associate_id', 'updatedCount'];

/** contact.created's Changes in the reference, in its order. */
export const contactColumns = [
  'contact_id', 'activeErpLinks', 'activeInterests', 'associate_id', 'business_idx', 'category_idx', 'country_id',
  'dbi_agent_id', 'dbi_key', 'dbi_last_modified', 'dbi_last_syncronized', 'deleted', 'department', 'group_id',
  'kananame', 'mother_id', 'name', 'nomailing', 'number1', 'number2', 'orgNr', 'registered_associate_id', 'registered',
  'soundEx', 'source', 'supportAssociateId', 'supportLanguageId', 'supportPersonId', 'text_id', 'ticketPriorityId',
  'tzLocationId', 'updated_associate_id', 'updated', 'updatedCount', 'userdef_id', 'userdef2_id', 'xstop',
] as const;

function t(entity: string, table: string, primaryKey: string, keys: string[], textColumn: string, extra: string[] = []): CrmTable {
  const columns = [...new Set([primaryKey, ...keys, ...extra, textColumn, ...bookkeeping])];
  return { entity, table, primaryKey, columns, textColumn };
}

export const crmTables: readonly CrmTable[] = [
  t('activity', 'appointment', 'appointment_id', ['activeDate', 'associate_id', 'contact_id', 'do_by', 'document_id', 'endDate',
    'modified_appointment_fields', 'mother_id', 'person_id', 'private', 'project_id', 'sale_id', 'status', 'task_idx', 'type',
    'updated', 'userdef2_id', 'userdef_id'], 'location'),
  t('associate', 'associate', 'associate_id', ['deleted', 'group_idx', 'person_id', 'registered_associate_id', 'type', 'updated',
    'updated_associate_id', 'waiting_for_approval'], 'name'),
  { entity: 'contact', table: 'contact', primaryKey: 'contact_id', columns: contactColumns, textColumn: 'department' },
  t('document', 'document', 'document_id', ['application_id', 'appointment_id', 'document_id', 'registered', 'registered_associate_id',
    'updated', 'updated_associate_id', 'userdef2_id', 'userdef_id'], 'header'),
  t('person', 'person', 'person_id', ['activeInterests', 'associate_id', 'business_idx', 'category_idx', 'contact_id', 'country_id',
    'DeletedDate', 'group_id', 'person_id', 'position_idx', 'registered', 'registered_associate_id', 'retired', 'source', 'updated',
    'updated_associate_id', 'userdef2_id', 'userdef_id'], 'firstname', ['deleted']),
  t('project', 'project', 'project_id', ['activeLinks', 'associate_id', 'done', 'registered', 'registered_associate_id', 'status_idx',
    'type_idx', 'updated', 'updated_associate_id', 'userdef2_id', 'userdef_id'], 'name'),
  t('projectmember', 'projectmember', 'projectmember_id', ['contact_id', 'mtype_idx', 'person_id', 'project_id', 'projectmember_id',
    'registered', 'registered_associate_id', 'updated', 'updated_associate_id'], 'comment'),
  t('relation', 'relation', 'relation_id', ['associateId', 'destination_record', 'destination_table', 'registered',
    'registered_associate_id', 'reldef_id', 'source_record', 'source_table', 'updated', 'updated_associate_id'], 'comment'),
  t('sale', 'sale', 'sale_id', ['activeLinks', 'appointment_id', 'associate_id', 'comptr_id', 'contact_id', 'credited_id', 'currency_id',
    'done', 'group_idx', 'person_id', 'probability_idx', 'project_id', 'reason_id', 'reasonSold_id', 'reasonStalled_id', 'registered',
    'registered_associate_id', 'saleTypeCat_id', 'saleType_id', 'saledate', 'source_id', 'status', 'updated', 'updated_associate_id',
    'userdef2_id', 'userdef_id'], 'heading'),
  t('salestakeholder', 'salestakeholder', 'salestakeholder_id', ['contact_id', 'person_id', 'registered', 'registered_associate_id',
    'sale_id', 'stakeholderrole_id', 'updated', 'updated_associate_id'], 'comment'),
  { entity: 'ticket', table: 'ticket', primaryKey: 'id', textColumn: 'title',
    columns: ['id', 'category', 'connect_id', 'contact_id', 'created_at', 'cust_id', 'has_attachment', 'last_changed', 'owned_by',
      'priority', 'project_id', 'sale_id', 'slevel', 'status', 'ticket_status', 'ticket_type', 'title', 'created_by', 'changed_by'] },
];

const dateColumns = new Set(['registered', 'DeletedDate', 'activeDate', 'endDate', 'do_by', 'saledate', 'created_at', 'last_changed',
  'dbi_last_modified', 'dbi_last_syncronized']);
const textColumns = new Set(['name', 'department', 'kananame', 'number1', 'number2', 'orgNr', 'soundEx', 'dbi_key', 'header', 'firstname',
  'heading', 'comment', 'title', 'location', 'destination_table', 'source_table', 'modified_appointment_fields']);

export function columnType(column: string): 'integer' | 'text' | 'timestamp' | 'timestamptz' {
  if (column === 'updated') return 'timestamptz';
  if (dateColumns.has(column)) return 'timestamp';
  return textColumns.has(column) ? 'text' : 'integer';
}

/** A fixed shuffle (pk last but one): the table's physical order is never the reference's. */
export function shuffled(columns: readonly string[]): string[] {
  const out = [...columns].reverse();
  out.push(out.shift()!);
  return out;
}

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;

/** CREATE TABLE for PostgreSQL in `schema`. */
export function createTableSql(schema: string, table: CrmTable): string {
  const cols = shuffled(table.columns).map((c) => `${q(c)} ${columnType(c)}${c === table.primaryKey ? ' primary key' : ''}`);
  return `create table ${q(schema)}.${q(table.table)} (${cols.join(', ')})`;
}

/** A full row of plausible values for id; dates fixed, updated with an offset. */
export function sampleRow(table: CrmTable, id: number, by = 5): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const c of table.columns) {
    const type = columnType(c);
    row[c] = c === table.primaryKey ? id
      : c === 'registered_associate_id' || c === 'updated_associate_id' || c === 'created_by' || c === 'changed_by' ? by
        : c === 'deleted' || c === 'done' || c === 'retired' ? 0
          : c === 'status' ? 1
            : c === 'DeletedDate' ? null
              : type === 'timestamp' ? '2020-02-16T17:50:17'
                : type === 'timestamptz' ? '2025-05-14T10:48:07.891203+02:00'
                  : type === 'text' ? `${c} ${id}` : 12;
  }
  return row;
}
