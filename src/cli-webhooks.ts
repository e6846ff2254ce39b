/**
 * `webhook-agent webhooks list|show`: the stored webhooks on the command line, straight against the database
 * (whoever can run this holds DATABASE_URL). A secret is never printed, only whether one is set, so these commands
 * need no SECRET_ENCRYPTION_KEY. Text for people, --json for scripts.
 */
import type { Command } from 'commander';
import type { Database } from './store/db.js';
import { getWebhook, listWebhooks } from './store/webhook-repository.js';
import type { SecretCodec } from './store/secret-codec.js';
import { webhookStates, type Webhook, type WebhookState } from './webhooks/types.js';
import { formatTable, type Column } from './cli-table.js';

type Open = () => Promise<Database>;

/** Reads only whether a secret is stored; never decrypts it. */
const presenceOnly: SecretCodec = {
  encode: () => { throw new Error('read-only'); },
  decode: (stored) => (stored === null || stored === '' ? null : 'set'),
  needsReencrypt: () => false,
  keyId: null,
};

const iso = (d: Date | null) => (d === null ? '-' : d.toISOString().replace('.000Z', 'Z'));
const out = (s: string): void => { process.stdout.write(s.endsWith('\n') ? s : `${s}\n`); };

/** For --json: the webhook with its secret replaced by whether it is set. */
function shown(h: Webhook): Omit<Webhook, 'secret'> & { secretSet: boolean } {
  const { secret, ...rest } = h;
  return { ...rest, secretSet: secret !== null };
}

const columns: ReadonlyArray<Column<Webhook>> = [
  { header: 'ID', value: (h) => h.webhookId, right: true },
  { header: 'STATE', value: (h) => h.state },
  { header: 'NAME', value: (h) => h.name },
  { header: 'CALLS', value: (h) => h.totalCalls, right: true },
  { header: 'ERRORS', value: (h) => h.totalErrors, right: true },
  { header: 'EVENTS', value: (h) => h.events.join(',') },
  { header: 'TARGET', value: (h) => h.targetUrl },
];

function parseState(v: string | undefined): WebhookState | undefined {
  if (v === undefined) return undefined;
  const s = webhookStates.find((x) => x.toLowerCase() === v.toLowerCase() && x !== 'Unknown');
  if (!s) throw new Error(`--state: one of Active, Stopped, TooManyErrors (got '${v}')`);
  return s;
}

function details(h: Webhook): string {
  const assoc = (a: Webhook['registeredAssociate']) => (a ? `${a.name} (associate ${a.associateId})` : '-');
  const rows: Array<[string, unknown]> = [
    ['Name', h.name], ['State', h.state], ['TargetUrl', h.targetUrl], ['Events', h.events.join(', ')], ['Type', h.type],
    ['Secret', h.secret === null ? 'not set' : 'set (not shown)'],
    ['Headers', h.headers ? JSON.stringify(h.headers) : null], ['Properties', h.properties ? JSON.stringify(h.properties) : null],
    ['Description', h.description], ['ErrorsEmail', h.errorsEmail], ['ErrorEmails', h.errorEmails?.join(', ')],
    ['ErrorAssociateIds', h.errorAssociateIds?.join(', ')], ['NotifyVia', h.notifyVia.join(', ') || 'None'],
    ['NotifyWhen', h.notifyWhen.join(', ') || 'None'],
    ['Registered', `${iso(h.registered)} by ${assoc(h.registeredAssociate)}`],
    ['Updated', h.updated ? `${iso(h.updated)} by ${assoc(h.updatedAssociate)}` : null],
    ['Calls', `${h.totalCalls} (errors ${h.totalErrors}, in a row ${h.consecutiveErrors})`],
    ['LastError', h.lastError],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`webhook ${h.webhookId}`, ...rows.map(([k, v]) =>
    `  ${`${k}:`.padEnd(width + 1)} ${v === null || v === undefined || v === '' ? '-' : String(v).replace(/\r?\n/g, '\n    ')}`)].join('\n');
}

export function registerWebhookCommands(program: Command, open: Open): Command {
  const cmd = program.command('webhooks').description('the stored webhooks');
  cmd.command('list').description('every webhook, by id (secrets are never shown)')
    .option('--name <name>', 'exact name, any case').option('-e, --event <name>', 'subscribed to this event')
    .option('-s, --state <state>', 'Active, Stopped or TooManyErrors').option('--json', 'JSON output')
    .action(async (o: { name?: string; event?: string; state?: string; json?: boolean }) => {
      const state = parseState(o.state);
      const db = await open();
      try {
        const hooks = await listWebhooks(db.knex, { name: o.name, event: o.event, state }, { secrets: presenceOnly });
        if (o.json) return out(JSON.stringify(hooks.map(shown), null, 2));
        out(hooks.length ? formatTable(columns, hooks) : 'no webhooks');
        if (hooks.length) out(`(${hooks.length} webhook${hooks.length === 1 ? '' : 's'})`);
      } finally {
        await db.close();
      }
    });
  cmd.command('show <webhookId>').description('one webhook with all its members (its secret only as set or not)').option('--json', 'JSON output')
    .action(async (id: string, o: { json?: boolean }) => {
      if (!/^\d+$/.test(id) || !Number.isSafeInteger(Number(id))) throw new Error(`webhook id: a positive whole number (got '${id}')`);
      const db = await open();
      try {
        const hook = await getWebhook(db.knex, Number(id), { secrets: presenceOnly });
        if (!hook) {
          process.stderr.write(`no webhook ${id}\n`);
          process.exitCode = 1;
          return;
        }
        out(o.json ? JSON.stringify(shown(hook), null, 2) : details(hook));
      } finally {
        await db.close();
      }
    });
  return cmd;
}
