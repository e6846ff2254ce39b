/**
 * `webhook-agent deliveries list|show|retry|purge`: the delivery history and replay of agent/delivery-history.ts
 * on the command line, straight against the database (whoever can run this holds DATABASE_URL, like `user add`).
 * Text for people, --json for scripts. A worker picks up redeliveries at once on PostgreSQL (NOTIFY) and at its
 * next poll elsewhere.
 */
import type { Command } from 'commander';
import type { Database } from './store/db.js';
import { createDeliveryHistory, type DeliveryHistory, type DeliveryRow } from './agent/delivery-history.js';
import { AppError } from './errors.js';
import { formatTable, type Column } from './cli-table.js';
import { confirm } from './cli-confirm.js';

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z'));

const lastOf = (d: DeliveryRow) => d.lastStatus ?? (d.lastError ? d.lastError.split('\n', 1)[0].slice(0, 60) : '');

export const deliveryColumns: ReadonlyArray<Column<DeliveryRow>> = [
  { header: 'ID', value: (d) => d.deliveryId, right: true },
  { header: 'HOOK', value: (d) => d.webhookId, right: true },
  { header: 'STATUS', value: (d) => (d.inFlight ? 'in_flight' : d.status) },
  { header: 'TRY', value: (d) => d.attempts, right: true },
  { header: 'SIGNALLED', value: (d) => iso(d.signalledAt) },
  { header: 'EVENT', value: (d) => d.eventName },
  { header: 'KEY', value: (d) => d.primaryKey, right: true },
  { header: 'EVENT ID (X-SuperOffice-EventId)', value: (d) => d.eventId },
  { header: 'LAST', value: lastOf },
];

type Open = () => Promise<Database>;

async function withHistory(open: Open, fn: (h: DeliveryHistory) => Promise<void>): Promise<void> {
  const db = await open();
  try {
    await fn(createDeliveryHistory({ db }));
  } catch (err) {
    if (err instanceof AppError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  } finally {
    await db.close();
  }
}

const out = (s: string): void => { process.stdout.write(s.endsWith('\n') ? s : `${s}\n`); };

export function registerDeliveryCommands(program: Command, open: Open): void {
  const cmd = program.command('deliveries').description('delivery history and replay');
  cmd.command('list').description('deliveries, newest first (one page)')
    .option('-w, --webhook <id>', 'of this webhook').option('-s, --status <status>', 'pending, succeeded, failed (= failed_permanent,expired), expired, failed_permanent, cancelled; comma separated')
    .option('-e, --event <name>', 'event name').option('--since <time>', 'events signalled at or after (ISO 8601)').option('--until <time>', 'events signalled before')
    .option('-n, --limit <n>', 'page size (max 500)', '50').option('--before <id>', 'next page: the id printed as "next page"').option('--json', 'JSON output')
    .action((o: { webhook?: string; status?: string; event?: string; since?: string; until?: string; limit: string; before?: string; json?: boolean }) =>
      withHistory(open, async (h) => {
        const page = await h.list({ webhookId: o.webhook, status: o.status, event: o.event, since: o.since, until: o.until, limit: o.limit, before: o.before });
        if (o.json) return out(JSON.stringify(page, null, 2));
        out(formatTable(deliveryColumns, page.deliveries));
        out(page.nextBefore === null ? `(${page.deliveries.length} shown, no more)` : `(${page.deliveries.length} shown; next page: --before ${page.nextBefore})`);
      }));
  cmd.command('show <deliveryId>').description('one delivery with its attempts').option('--json', 'JSON output')
    .action((id: string, o: { json?: boolean }) => withHistory(open, async (h) => {
      const d = await h.show(id);
      if (o.json) return out(JSON.stringify(d, null, 2));
      out([
        `delivery ${d.deliveryId} of webhook ${d.webhookId}: ${d.inFlight ? 'in flight' : d.status}, ${d.attempts} attempt(s)`,
        `event ${d.eventName} (primary key ${d.primaryKey}), EventId ${d.eventId}, signalled ${iso(d.signalledAt)}, queued ${iso(d.queuedAt)}`,
        d.status === 'pending' ? `next attempt ${iso(d.nextAttemptAt)}` : `finished ${iso(d.finishedAt)}`,
        ...d.attemptLog.map((a) => `  #${a.attemptNo}  ${iso(a.startedAt)}  ${String(a.durationMs).padStart(6)} ms  ${a.outcome.padEnd(14)} ${a.httpStatus ?? a.errorClass ?? ''}` +
          (a.responseExcerpt ? `\n      ${a.responseExcerpt.slice(0, 500).replace(/\r?\n/g, '\n      ')}` : '')),
      ].join('\n'));
    }));
  cmd.command('retry [deliveryId]').description('redeliver one delivery, or with --webhook and --since every one that failed or expired')
    .option('-w, --webhook <id>', 'all failed/expired deliveries of this webhook').option('--since <time>', 'for events signalled at or after (ISO 8601; with --webhook)')
    .action((id: string | undefined, o: { webhook?: string; since?: string }) => withHistory(open, async (h) => {
      if ((id === undefined) === (o.webhook === undefined)) throw new AppError('invalid_argument', 'give a delivery id, or --webhook <id> --since <time>');
      const r = id !== undefined ? await h.redeliver(id) : await h.redeliverFailed(o.webhook as string, o.since ?? '');
      out(`redelivered ${r.redelivered.length}${r.redelivered.length ? ` (ids ${r.redelivered.slice(0, 20).join(', ')}${r.redelivered.length > 20 ? ', ...' : ''})` : ''}`);
      for (const p of r.parkedWebhooks) out(`webhook ${p.webhookId} is ${p.state}: its redeliveries wait until it is made Active`);
    }));
  cmd.command('purge').description('delete a webhook\'s finished deliveries and their attempts')
    .requiredOption('-w, --webhook <id>', 'webhook id').option('--before <time>', 'only those finished before (ISO 8601)').option('--pending', 'first cancel its queued deliveries too')
    .option('-y, --yes', 'do not ask (needed when stdin is not a terminal)')
    .action(async (o: { webhook: string; before?: string; pending?: boolean; yes?: boolean }) => {
      const what = `delete the finished deliveries${o.before ? ` (finished before ${o.before})` : ''} of webhook ${o.webhook} and their attempts` +
        (o.pending ? ', after cancelling its pending ones' : '');
      if (!o.yes && !(await confirm(`This will ${what}. Continue?`))) {
        process.exitCode = 1;
        return;
      }
      await withHistory(open, async (h) => {
        const r = await h.purge(o.webhook, { before: o.before, pending: o.pending });
        out(`cancelled ${r.cancelled} pending, deleted ${r.deleted} finished deliveries`);
      });
    });
}
