/**
 * The CRM tables NetServer raises entity events for, and what each family's payload carries, as the reference
 * pages (reference/*-events.md, summarised in notes/netserver-contract.md section 4) document them:
 *   fieldValues   the FieldValues keys, in the reference's order (a key the table lacks is left out);
 *   deleteValues  the `Values` object of a delete: [key in the body, column it is read from];
 *   special       verbs raised from an update besides `changed` (softdeleted, sold, lost, completed).
 * Lists (`list.*`), extra tables (`y_*`), chat, quote, document.edited (content, not a row) and person.consented
 * (the consentperson table) are not read from the database yet.
 */

export type CrmValue = string | number | boolean | null;
export type CrmRow = Record<string, CrmValue>;

export interface SpecialVerb {
  verb: string;
  /** Whether the update from `old` to `row` raises it. */
  when(old: CrmRow, row: CrmRow): boolean;
  /** false: the event has no FieldValues (sale.sold: "There are no field values for this event"). */
  fieldValues: boolean;
  /** The columns whose change can raise it (SQL Server knows only which columns changed, not their old values). */
  columns: readonly string[];
}

export interface CrmFamily {
  entity: string;
  table: string;
  primaryKey: string;
  fieldValues: readonly string[];
  deleteValues: ReadonlyArray<readonly [key: string, column: string]>;
  /** false: NetServer has no `<entity>.deleted` for it (tickets). */
  deletes: boolean;
  /** ticket.created lists no Changes in the reference; every other family lists every column. */
  changesOnCreate: 'all' | 'none';
  /** Columns ChangedByAssociateId is read from, first present wins. */
  changedByOnCreate: readonly string[];
  changedByOnChange: readonly string[];
  special: readonly SpecialVerb[];
}

const num = (v: CrmValue | undefined): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : 0);
const minDate = '0001-01-01T00:00:00';
const isSet = (v: CrmValue | undefined): boolean => v !== null && v !== undefined && v !== '' && v !== minDate;

/** `deleted` going from 0 to non-zero ("when deleted in the user interface"); persons without it: DeletedDate set. */
const softDeleted: SpecialVerb = {
  verb: 'softdeleted',
  fieldValues: true,
  columns: ['deleted', 'DeletedDate'],
  when: (old, row) => ('deleted' in row
    ? num(old.deleted) === 0 && num(row.deleted) !== 0
    : 'DeletedDate' in row && !isSet(old.DeletedDate) && isSet(row.DeletedDate)),
};

/** SuperOffice's SaleStatus: 1 Open, 2 Sold, 3 Lost, 4 Stalled. */
export const SALE_SOLD = 2;
export const SALE_LOST = 3;
const saleStatusTo = (verb: string, status: number): SpecialVerb => ({
  verb,
  fieldValues: false,
  columns: ['status'],
  when: (old, row) => num(row.status) === status && num(old.status) !== status,
});
const saleCompleted: SpecialVerb = {
  verb: 'completed',
  fieldValues: false,
  columns: ['done'],
  when: (old, row) => num(row.done) !== 0 && num(old.done) === 0,
};

const registeredBy = ['registered_associate_id', 'updated_associate_id'] as const;
const updatedBy = ['updated_associate_id'] as const;

function family(f: Partial<CrmFamily> & Pick<CrmFamily, 'entity' | 'table' | 'primaryKey' | 'fieldValues' | 'deleteValues'>): CrmFamily {
  return {
    deletes: true, changesOnCreate: 'all', changedByOnCreate: registeredBy, changedByOnChange: updatedBy, special: [], ...f,
  };
}

export const crmFamilies: readonly CrmFamily[] = [
  family({
    entity: 'activity', table: 'appointment', primaryKey: 'appointment_id',
    fieldValues: ['activeDate', 'associate_id', 'contact_id', 'do_by', 'document_id', 'endDate', 'modified_appointment_fields',
      'mother_id', 'person_id', 'private', 'project_id', 'sale_id', 'status', 'task_idx', 'type', 'updated', 'userdef2_id', 'userdef_id'],
    deleteValues: [['appointment_id', 'appointment_id'], ['contact_id', 'contact_id'], ['person_id', 'person_id'],
      ['project_id', 'project_id'], ['sale_id', 'sale_id']],
  }),
  family({
    entity: 'associate', table: 'associate', primaryKey: 'associate_id',
    fieldValues: ['deleted', 'group_idx', 'person_id', 'registered_associate_id', 'type', 'updated', 'updated_associate_id',
      'waiting_for_approval'],
    deleteValues: [['associate_id', 'associate_id'], ['person_id', 'person_id']],
  }),
  family({
    entity: 'contact', table: 'contact', primaryKey: 'contact_id',
    fieldValues: ['activeInterests', 'associate_id', 'business_idx', 'category_idx', 'country_id', 'deleted', 'DeletedDate',
      'registered', 'registered_associate_id', 'source', 'updated', 'userdef2_id', 'userdef_id'],
    deleteValues: [['associate_id', 'associate_id'], ['contact_id', 'contact_id']],
    special: [softDeleted],
  }),
  family({
    entity: 'document', table: 'document', primaryKey: 'document_id',
    fieldValues: ['application_id', 'appointment_id', 'document_id', 'registered', 'registered_associate_id', 'updated',
      'updated_associate_id', 'userdef2_id', 'userdef_id'],
    deleteValues: [['document_id', 'document_id'], ['appointment_id', 'appointment_id']],
  }),
  family({
    entity: 'person', table: 'person', primaryKey: 'person_id',
    fieldValues: ['activeInterests', 'associate_id', 'business_idx', 'category_idx', 'contact_id', 'country_id', 'DeletedDate',
      'group_id', 'person_id', 'position_idx', 'registered', 'registered_associate_id', 'retired', 'source', 'updated',
      'updated_associate_id', 'userdef2_id', 'userdef_id'],
    deleteValues: [['associate_id', 'associate_id'], ['contact_id', 'contact_id'], ['person_id', 'person_id']],
    special: [softDeleted],
  }),
  family({
    entity: 'project', table: 'project', primaryKey: 'project_id',
    fieldValues: ['activeLinks', 'associate_id', 'done', 'registered', 'registered_associate_id', 'status_idx', 'type_idx',
      'updated', 'updated_associate_id', 'userdef2_id', 'userdef_id'],
    deleteValues: [['associate_id', 'associate_id'], ['project_id', 'project_id']],
  }),
  family({
    entity: 'projectmember', table: 'projectmember', primaryKey: 'projectmember_id',
    fieldValues: ['contact_id', 'mtype_idx', 'person_id', 'project_id', 'projectmember_id', 'registered', 'registered_associate_id',
      'updated', 'updated_associate_id'],
    // The reference shows associate_id too, a column projectmember does not have: left out when absent.
    deleteValues: [['associate_id', 'associate_id'], ['project_id', 'project_id']],
  }),
  family({
    entity: 'relation', table: 'relation', primaryKey: 'relation_id',
    // The page lists associate_id but its example (and the table) has associateId; Values says associate_id.
    fieldValues: ['associateId', 'destination_record', 'destination_table', 'registered', 'registered_associate_id', 'reldef_id',
      'source_record', 'source_table', 'updated', 'updated_associate_id'],
    deleteValues: [['associate_id', 'associateId'], ['relation_id', 'relation_id']],
  }),
  family({
    entity: 'sale', table: 'sale', primaryKey: 'sale_id',
    fieldValues: ['activeLinks', 'appointment_id', 'associate_id', 'comptr_id', 'contact_id', 'credited_id', 'currency_id', 'done',
      'group_idx', 'person_id', 'probability_idx', 'project_id', 'reason_id', 'reasonSold_id', 'reasonStalled_id', 'registered',
      'registered_associate_id', 'saleTypeCat_id', 'saleType_id', 'saledate', 'source_id', 'status', 'updated',
      'updated_associate_id', 'userdef2_id', 'userdef_id'],
    // reference/index.md's sale.deleted example (the sale page's summary lists associate_id instead of sale_id).
    deleteValues: [['sale_id', 'sale_id'], ['contact_id', 'contact_id'], ['person_id', 'person_id'], ['project_id', 'project_id']],
    special: [saleStatusTo('sold', SALE_SOLD), saleStatusTo('lost', SALE_LOST), saleCompleted],
  }),
  family({
    entity: 'salestakeholder', table: 'salestakeholder', primaryKey: 'salestakeholder_id',
    fieldValues: ['contact_id', 'person_id', 'registered', 'registered_associate_id', 'sale_id', 'stakeholderrole_id', 'updated',
      'updated_associate_id'],
    deleteValues: [['sale_id', 'sale_id']],
  }),
  family({
    entity: 'ticket', table: 'ticket', primaryKey: 'id',
    fieldValues: ['category', 'connect_id', 'contact_id', 'created_at', 'cust_id', 'has_attachment', 'last_changed', 'owned_by',
      'priority', 'project_id', 'sale_id', 'slevel', 'status', 'ticket_status', 'ticket_type'],
    deleteValues: [],
    deletes: false,
    changesOnCreate: 'none',
    changedByOnCreate: ['created_by'],
    changedByOnChange: ['changed_by'],
  }),
];

export function familyForTable(table: string): CrmFamily | undefined {
  return crmFamilies.find((f) => f.table === table);
}

/** The tables of the families, in the order above (the publication, Change Tracking). */
export const crmTables: readonly string[] = crmFamilies.map((f) => f.table);
