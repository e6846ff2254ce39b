/**
 * `import netserver`: moves webhooks (and the associates they name) from a NetServer database into ours.
 *
 * Every source row is checked as SaveWebhook would check it before anything is written. Rows that SaveWebhook
 * would refuse outright (no name, bad events, a crmscript hook, invalid headers...) are errors: the run writes
 * nothing unless told to skip them. Targets the service's address policy would refuse at send time (http://,
 * loopback, private or metadata literals) are imported but reported as warnings, naming the setting each one needs
 * (ALLOW_INSECURE_TARGETS or TARGET_ALLOWLIST), so nothing is dropped silently. Host names are not resolved here:
 * as for hooks saved over SOAP, a name that resolves to a refused address is refused before each send.
 */
import { AppError } from '../errors.js';
import { checkTargetUrl, type TargetPolicy } from '../outbox/index.js';
import type { Database } from '../store/db.js';
import type { NetServerSnapshot, SourceAudit, SourceUsage, SourceWebhook } from '../store/netserver-source.js';
import {
  columnWidths,
  readTargetState,
  writeImport,
  type ImportAudit,
  type ImportedAssociate,
  type ImportedWebhook,
  type ImportWriteResult,
  type TargetState,
} from '../store/netserver-import-writer.js';
import { parseEventsColumn, parseHeaders, parseProperties } from '../store/webhook-repository.js';
import { parseExact } from '../webhooks/exact-json.js';
import { documentedSpelling } from '../webhooks/documented-events.js';
import { isXsInt, XS_INT_MAX } from '../webhooks/xs-int.js';
import type { SecretCodec } from '../store/secret-codec.js';
import { flagsFromInt, notifyViaFlags, notifyWhenFlags, stateFromInt } from '../webhooks/types.js';
import { limits, validateEmail, validateWebhook } from '../webhooks/validate.js';

export interface ImportIssue {
  level: 'error' | 'warning';
  webhookId?: number;
  associateId?: number;
  message: string;
}

export interface ImportPlan {
  webhooks: ImportedWebhook[];
  associates: ImportedAssociate[];
  issues: ImportIssue[];
  /** Source webhooks that fail validation (left out when skipping invalid rows). */
  invalidWebhookIds: number[];
  /** Associate ids named by imported rows but absent from the source's associate table. */
  unknownAssociateIds: number[];
  needsInsecureTargets: number[];
  needsAllowlist: Array<{ webhookId: number; host: string; why: string }>;
  toCreate: number;
  toUpdate: number;
  missingTables: string[];
  /** Source rows of webhook_usage and webhook_notify, and how many of them the run imports (the rest is left out). */
  rows: { usage: RowCount; notify: RowCount };
}

export interface RowCount {
  source: number;
  imported: number;
}

/** At most `max` ids in a message, then how many more. */
function idList(ids: readonly (number | string)[], max = 20): string {
  return ids.length <= max ? ids.join(', ') : `${ids.slice(0, max).join(', ')} and ${ids.length - max} more`;
}

const auditOf = (a: SourceAudit, fallback: Date): ImportAudit => ({
  registered: a.registered ?? fallback,
  registeredAssociateId: Math.max(0, a.registeredAssociateId),
  updated: a.updated,
  updatedAssociateId: Math.max(0, a.updatedAssociateId),
  updatedCount: a.updatedCount,
});

/**
 * A JSON blob that is present but not a JSON object, or that our reader cannot read (malformed, or nested deeper
 * than it goes), would be read back as nothing: say so. Read with the same reader as the stored rows.
 */
function blobProblem(field: string, raw: string | null): string | null {
  if (raw === null || raw.trim() === '') return null;
  let v: unknown;
  try {
    v = parseExact(raw);
  } catch (err) {
    return `${field}: the stored value is not readable JSON (${err instanceof RangeError ? 'nested too deep' : 'malformed'})`;
  }
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? null : `${field}: the stored value is not a JSON object`;
}

export function planImport(snapshot: NetServerSnapshot, target: TargetState, policy: TargetPolicy, now = new Date()): ImportPlan {
  const issues: ImportIssue[] = [];
  const invalid: number[] = [];
  const needsInsecureTargets: number[] = [];
  const needsAllowlist: ImportPlan['needsAllowlist'] = [];
  const usageById = new Map(snapshot.usage.map((u) => [u.webhookId, u]));
  const notifyById = new Map<number, NetServerSnapshot['notify']>();
  for (const n of snapshot.notify) {
    const list = notifyById.get(n.webhookId);
    if (list) list.push(n);
    else notifyById.set(n.webhookId, [n]);
  }

  // Rows that belong to no webhook of the source: nothing to attach them to.
  const sourceHookIds = new Set(snapshot.webhooks.map((w) => w.webhookId));
  const orphanUsage = snapshot.usage.filter((u) => !sourceHookIds.has(u.webhookId)).map((u) => u.webhookId);
  if (orphanUsage.length) {
    issues.push({ level: 'warning', message: `${orphanUsage.length} webhook_usage rows name webhook ids the webhook table does not have, ` +
      `left out: webhook_usage_id ${idList(orphanUsage)}` });
  }
  const orphanNotify = snapshot.notify.filter((n) => !sourceHookIds.has(n.webhookId));
  if (orphanNotify.length) {
    issues.push({ level: 'warning', message: `${orphanNotify.length} webhook_notify rows name webhook ids the webhook table does not have, ` +
      `left out: webhook_notify_id ${idList(orphanNotify.map((n) => `${n.notifyId} (webhook_id ${n.webhookId})`))}` });
  }

  const webhooks: ImportedWebhook[] = [];
  for (const w of snapshot.webhooks) {
    const hook = planWebhook(w, notifyById.get(w.webhookId) ?? [], usageById.get(w.webhookId) ?? null, now, issues);
    if (!hook) {
      invalid.push(w.webhookId);
      continue;
    }
    webhooks.push(hook);
    const here = target.webhookUpdated.get(w.webhookId);
    if (here && here.getTime() > (hook.audit.updated ?? hook.audit.registered).getTime()) {
      issues.push({ level: 'warning', webhookId: w.webhookId,
        message: `was changed here (${here.toISOString()}) after NetServer's last update: this run overwrites that change` });
    }

    const url = hook.input.targetUrl;
    const refusal = checkTargetUrl(url, policy);
    if (refusal) {
      if (url.toLowerCase().startsWith('http:')) {
        needsInsecureTargets.push(w.webhookId);
        issues.push({ level: 'warning', webhookId: w.webhookId, message: `TargetUrl ${refusal}: it delivers only with ALLOW_INSECURE_TARGETS=true` });
      } else {
        const host = new URL(url).hostname;
        needsAllowlist.push({ webhookId: w.webhookId, host, why: refusal });
        issues.push({ level: 'warning', webhookId: w.webhookId, message: `TargetUrl ${refusal}: it delivers only with ${host} in TARGET_ALLOWLIST` });
      }
    }
  }

  // Associates: the ones the imported rows name, by id, with their names.
  const named = new Set<number>();
  for (const h of webhooks) {
    named.add(h.audit.registeredAssociateId);
    named.add(h.audit.updatedAssociateId);
    for (const n of h.notify) if (n.associateId) named.add(n.associateId);
  }
  named.delete(0);
  const sourceAssociates = new Map(snapshot.associates.map((a) => [a.associateId, a]));
  const unknownAssociateIds = [...named].filter((id) => !sourceAssociates.has(id)).sort((a, b) => a - b);
  if (unknownAssociateIds.length) {
    issues.push({
      level: 'warning',
      message: `associate ids ${unknownAssociateIds.join(', ')} are named by webhook rows but not in the NetServer associate table: ` +
        'kept as ids, read back without a name',
    });
  }
  const targetById = new Map(target.associates.map((a) => [a.associateId, a]));
  const targetByName = new Map(target.associates.map((a) => [a.name.toLowerCase(), a]));
  const associates: ImportedAssociate[] = [];
  const takenNames = new Map<string, number>();
  for (const id of [...named].sort((a, b) => a - b)) {
    const a = sourceAssociates.get(id);
    if (!a) continue;
    let name = a.name;
    if (name === '') {
      name = `associate${id}`;
      issues.push({ level: 'warning', associateId: id, message: `has no name in NetServer; imported as '${name}'` });
    }
    const key = name.toLowerCase();
    const sameId = targetById.get(id);
    const sameName = targetByName.get(key);
    if (sameId && sameId.name.toLowerCase() !== key) {
      issues.push({ level: 'error', associateId: id, message: `'${name}': this service already has associate id ${id}, named '${sameId.name}'` });
      continue;
    }
    if (sameName && sameName.associateId !== id) {
      issues.push({ level: 'error', associateId: id, message: `'${name}': this service already has an associate of that name, with id ${sameName.associateId}` });
      continue;
    }
    if (takenNames.has(key)) {
      issues.push({ level: 'error', associateId: id, message: `'${name}': the same login name as NetServer associate ${takenNames.get(key)} (names are unique regardless of case here)` });
      continue;
    }
    if (name.length > columnWidths.associateName) {
      issues.push({ level: 'error', associateId: id, message: `name '${name.slice(0, 40)}...' is longer than the ${columnWidths.associateName} characters a login name holds here` });
      continue;
    }
    takenNames.set(key, id);
    const fit = (what: string, value: string, max: number) => {
      if (value.length <= max) return value;
      issues.push({ level: 'warning', associateId: id, message: `${what} is ${value.length} characters: imported cut to the ${max} its column holds here` });
      return value.slice(0, max);
    };
    associates.push({
      associateId: id, name, fullName: fit('FullName', a.fullName, columnWidths.associateFullName),
      userName: fit('UserName', a.userName, columnWidths.associateUserName), personId: a.personId, deleted: a.deleted,
    });
  }

  return {
    webhooks,
    associates,
    issues,
    invalidWebhookIds: invalid,
    unknownAssociateIds,
    needsInsecureTargets,
    needsAllowlist,
    toCreate: webhooks.filter((h) => !target.webhookIds.has(h.webhookId)).length,
    toUpdate: webhooks.filter((h) => target.webhookIds.has(h.webhookId)).length,
    missingTables: snapshot.missingTables,
    rows: {
      usage: { source: snapshot.usage.length, imported: webhooks.filter((h) => h.usage).length },
      notify: { source: snapshot.notify.length, imported: webhooks.reduce((n, h) => n + h.notify.length, 0) },
    },
  };
}

/** Every id and counter the hook's rows carry, by column, that the contract types as xs:int. */
function intColumns(w: SourceWebhook, notify: NetServerSnapshot['notify'], u: SourceUsage | null): Array<[string, number]> {
  const cols: Array<[string, number]> = [
    ['registered_associate_id', w.registeredAssociateId], ['updated_associate_id', w.updatedAssociateId], ['updatedCount', w.updatedCount],
  ];
  for (const n of notify) cols.push([`webhook_notify ${n.notifyId} associate_id`, n.associateId]);
  if (u) {
    cols.push(['webhook_usage total_calls', u.totalCalls], ['webhook_usage total_errors', u.totalErrors],
      ['webhook_usage consecutive_errors', u.consecutiveErrors], ['webhook_usage registered_associate_id', u.registeredAssociateId],
      ['webhook_usage updated_associate_id', u.updatedAssociateId], ['webhook_usage updatedCount', u.updatedCount]);
  }
  return cols;
}

function planWebhook(
  w: SourceWebhook, notify: NetServerSnapshot['notify'], u: SourceUsage | null, now: Date, issues: ImportIssue[],
): ImportedWebhook | null {
  const fail = (message: string) => {
    issues.push({ level: 'error', webhookId: w.webhookId, message });
    return null;
  };
  // WebhookId is an xs:int: a hook with a larger id imports, but no client can fetch it and the lists that hold it
  // cannot be written.
  if (!(Number.isInteger(w.webhookId) && w.webhookId > 0 && w.webhookId <= XS_INT_MAX)) {
    return fail(`webhook_id must be 1..${XS_INT_MAX} (WebhookId is an xs:int)`);
  }
  const outside = intColumns(w, notify, u).filter(([, v]) => !isXsInt(v));
  if (outside.length) {
    return fail(`${outside.map(([c, v]) => `${c} ${v}`).join(', ')}: outside the xs:int range (${XS_INT_MAX} at most) of the ids and counters clients read`);
  }
  if (w.applicationToken !== null && w.applicationToken.length > columnWidths.applicationToken) {
    return fail(`application_token is longer than the ${columnWidths.applicationToken} characters NetServer's column holds`);
  }
  for (const problem of [blobProblem('Headers', w.headers), blobProblem('Properties', w.properties)]) if (problem) return fail(problem);
  let state = stateFromInt(w.state);
  if (state === 'Unknown') {
    issues.push({ level: 'warning', webhookId: w.webhookId, message: `state ${w.state} is not 1-3; imported as Stopped` });
    state = 'Stopped';
  }
  const hasRecipient = (n: NetServerSnapshot['notify'][number]) => n.associateId > 0 || (n.emailRecipient ?? '').trim() !== '';
  const emails = notify.filter((n) => !(n.associateId > 0) && hasRecipient(n));
  const associateIds = notify.filter((n) => n.associateId > 0).map((n) => n.associateId);
  const warn = (message: string) => issues.push({ level: 'warning', webhookId: w.webhookId, message });
  const empty = notify.filter((n) => !hasRecipient(n)).map((n) => n.notifyId);
  if (empty.length) {
    warn(`webhook_notify rows ${idList(empty)} name neither an associate nor an e-mail address: left out`);
  }
  const headers = parseHeaders(w.headers);
  const rawHeaders = w.headers && w.headers.trim() !== '' ? (parseExact(w.headers) as Record<string, unknown>) : null;
  const nonText = rawHeaders ? Object.keys(rawHeaders).filter((k) => typeof rawHeaders[k] !== 'string') : [];
  if (nonText.length) {
    warn(`Headers: the values of ${nonText.map((k) => `'${k}'`).join(', ')} are not strings: imported as their text (null as '')`);
  }
  const events = parseEventsColumn(w.events);
  for (const e of events) {
    const documented = documentedSpelling(e);
    if (documented !== null) {
      warn(`Events: '${e}' differs from NetServer's documented event '${documented}' only in case; event names match exactly, ` +
        `so this hook does not receive '${documented}' (rename it in NetServer before the import, or here after it)`);
    }
  }
  let input;
  try {
    input = validateWebhook({
      name: w.name,
      events,
      targetUrl: w.targetUrl,
      secret: w.secret,
      state,
      type: w.type,
      headers,
      properties: parseProperties(w.properties),
      errorsEmail: w.errorsEmail,
      // Checked one by one below (SaveWebhook's count limits do not apply to rows NetServer already holds).
      errorEmails: [],
      errorAssociateIds: [],
      description: w.description,
      notifyVia: flagsFromInt(notifyViaFlags, w.notifyVia),
      notifyWhen: flagsFromInt(notifyWhenFlags, w.notifyWhen),
    }, { allowInsecureTargets: true });
    emails.forEach((n, i) => validateEmail(`ErrorEmails[${i}]`, n.emailRecipient));
  } catch (err) {
    if (err instanceof AppError) return fail(err.message);
    throw err;
  }
  for (const [what, n, max] of [['ErrorEmails', emails.length, limits.errorEmails], ['ErrorAssociates', associateIds.length, limits.errorAssociates]] as const) {
    if (n > max) {
      issues.push({ level: 'warning', webhookId: w.webhookId,
        message: `${n} ${what} rows, more than SaveWebhook accepts (${max}): all are imported, but a client that saves this hook back unchanged is refused` });
    }
  }
  const audit = auditOf(w, now);
  let lastError = u?.lastError ?? null;
  if (lastError !== null && lastError.length > columnWidths.lastError) {
    warn(`webhook_usage last_error is ${lastError.length} characters: imported cut to the ${columnWidths.lastError} NetServer's column holds`);
    lastError = lastError.slice(0, columnWidths.lastError);
  }
  return {
    webhookId: w.webhookId,
    input: { ...input, errorEmails: null, errorAssociateIds: null },
    applicationToken: w.applicationToken,
    audit,
    usage: u
      ? { totalCalls: u.totalCalls, totalErrors: u.totalErrors, consecutiveErrors: u.consecutiveErrors, lastError, audit: auditOf(u, audit.registered) }
      : null,
    notify: notify
      .filter(hasRecipient)
      .map((n) => ({
        associateId: n.associateId > 0 ? n.associateId : null,
        emailRecipient: n.associateId > 0 ? null : n.emailRecipient!.trim(),
        audit: auditOf(n, audit.registered),
      })),
  };
}

export interface ImportOptions {
  dryRun: boolean;
  /** Import the valid rows and leave the invalid ones out (listed in the report) instead of writing nothing. */
  skipInvalid: boolean;
}

export interface ImportOutcome {
  plan: ImportPlan;
  /** null when nothing was written (dry run, or errors without skipInvalid). */
  written: ImportWriteResult | null;
  /** Why nothing was written, when errors stopped the run. */
  refused: boolean;
}

export async function importNetServer(
  deps: { source: { read(): Promise<NetServerSnapshot> }; target: Database; policy: TargetPolicy; secrets: SecretCodec },
  opts: ImportOptions,
): Promise<ImportOutcome> {
  const snapshot = await deps.source.read();
  const plan = planImport(snapshot, await readTargetState(deps.target.knex), deps.policy);
  const associateErrors = plan.issues.some((i) => i.level === 'error' && i.associateId !== undefined);
  const refused = associateErrors || (plan.invalidWebhookIds.length > 0 && !opts.skipInvalid);
  if (opts.dryRun || refused) return { plan, written: null, refused };
  const written = await writeImport(deps.target, { associates: plan.associates, webhooks: plan.webhooks }, deps.secrets);
  return { plan, written, refused: false };
}

/** The report printed by the CLI: counts first, then every issue, then what each warning needs. */
export function formatImportReport(o: ImportOutcome, opts: ImportOptions & { source: string; schema: string }): string {
  const p = o.plan;
  const lines: string[] = [];
  lines.push(`NetServer import from ${opts.source} (schema ${opts.schema})${opts.dryRun ? ' - dry run, nothing written' : ''}`);
  lines.push(`webhooks: ${p.webhooks.length + p.invalidWebhookIds.length} in NetServer, ${p.webhooks.length} valid ` +
    `(${p.toCreate} new here, ${p.toUpdate} already here: updated in place), ${p.invalidWebhookIds.length} invalid`);
  const rowLine = (what: string, r: RowCount) =>
    `${what}: ${r.source} in NetServer, ${r.imported} to import${r.source > r.imported ? `, ${r.source - r.imported} left out` : ''}`;
  lines.push(`${rowLine('usage rows', p.rows.usage)}; ${rowLine('notify rows', p.rows.notify)}`);
  lines.push(`associates: ${p.associates.length} (imported without a password: set one with \`webhook-agent user password NAME\`)`);
  if (p.missingTables.length) lines.push(`tables not in the source (read as empty): ${p.missingTables.join(', ')}`);
  const errors = p.issues.filter((i) => i.level === 'error');
  const warnings = p.issues.filter((i) => i.level === 'warning');
  const where = (i: ImportIssue) => (i.webhookId !== undefined ? `webhook ${i.webhookId}: ` : i.associateId !== undefined ? `associate ${i.associateId}: ` : '');
  if (errors.length) {
    lines.push(`errors (${errors.length}):`);
    for (const i of errors) lines.push(`  ${where(i)}${i.message}`);
  }
  if (warnings.length) {
    lines.push(`warnings (${warnings.length}):`);
    for (const i of warnings) lines.push(`  ${where(i)}${i.message}`);
  }
  if (p.needsInsecureTargets.length) lines.push(`need ALLOW_INSECURE_TARGETS=true to deliver: webhooks ${p.needsInsecureTargets.join(', ')}`);
  if (p.needsAllowlist.length) {
    lines.push(`need TARGET_ALLOWLIST entries to deliver: ${[...new Set(p.needsAllowlist.map((n) => n.host))].join(', ')} ` +
      `(webhooks ${p.needsAllowlist.map((n) => n.webhookId).join(', ')})`);
  }
  if (o.refused) {
    lines.push(p.invalidWebhookIds.length && !opts.skipInvalid
      ? `nothing written: fix the errors in NetServer, or run with --skip-invalid to import the ${p.webhooks.length} valid webhooks ` +
        `and leave out ${p.invalidWebhookIds.join(', ')}`
      : 'nothing written: resolve the associate conflicts above (import into a database whose associates do not clash)');
  } else if (o.written) {
    const w = o.written;
    if (opts.skipInvalid && p.invalidWebhookIds.length) lines.push(`left out (invalid): webhooks ${p.invalidWebhookIds.join(', ')}`);
    lines.push(`written in one transaction: webhooks ${w.webhooksCreated} created, ${w.webhooksUpdated} updated; ` +
      `associates ${w.associatesCreated} created, ${w.associatesUpdated} updated; usage rows ${w.usageRows}; ` +
      `event rows ${w.eventRows}; notify rows ${w.notifyRows}`);
  }
  return `${lines.join('\n')}\n`;
}
