/**
 * `webhook-agent webhooks list|show|set|rotate-secret`: the stored webhooks on the command line, straight against
 * the database (whoever can run this holds DATABASE_URL). A stored secret is never printed, only whether one is set,
 * so list and show need no SECRET_ENCRYPTION_KEY; rotate-secret prints the new secret once when it generated it.
 * set and rotate-secret change this service's own settings of a hook (agent/webhook-settings.ts). Text for people,
 * --json for scripts.
 */
import type { Command } from 'commander';
import type { Database } from './store/db.js';
import { getWebhook, listWebhooks } from './store/webhook-repository.js';
import type { SecretCodec } from './store/secret-codec.js';
import { webhookStates, type Webhook, type WebhookState } from './webhooks/types.js';
import { formatTable, type Column } from './cli-table.js';
import { createWebhookSettings, parseDurationMs, presenceOnly, type SettingView } from './agent/webhook-settings.js';
import { signatureSchemes } from './store/webhook-settings.js';
import { readAll } from './cli-password.js';

type Open = () => Promise<Database>;

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

function webhookIdArg(id: string): number {
  if (!/^\d+$/.test(id) || !Number.isSafeInteger(Number(id))) throw new Error(`webhook id: a positive whole number (got '${id}')`);
  return Number(id);
}

function settingLines(s: SettingView): Array<[string, unknown]> {
  return [
    ['Signature', s.signature],
    ['Rotation', s.rotation ? `previous secret also signed with until ${s.rotation.previousUntil}` +
      (s.rotation.netserverOld ? ' (X-SuperOffice-Signature: the previous one)' : '') : null],
  ];
}

function details(h: Webhook, setting: SettingView): string {
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
    ...settingLines(setting),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`webhook ${h.webhookId}`, ...rows.map(([k, v]) =>
    `  ${`${k}:`.padEnd(width + 1)} ${v === null || v === undefined || v === '' ? '-' : String(v).replace(/\r?\n/g, '\n    ')}`)].join('\n');
}

export function registerWebhookCommands(program: Command, open: Open, secretCodec: () => SecretCodec): Command {
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
      const webhookId = webhookIdArg(id);
      const db = await open();
      try {
        const hook = await getWebhook(db.knex, webhookId, { secrets: presenceOnly });
        if (!hook) {
          process.stderr.write(`no webhook ${id}\n`);
          process.exitCode = 1;
          return;
        }
        const setting = await createWebhookSettings({ db, secrets: presenceOnly }).get(webhookId);
        out(o.json ? JSON.stringify({ ...shown(hook), setting }, null, 2) : details(hook, setting));
      } finally {
        await db.close();
      }
    });
  cmd.command('set <webhookId>').description("this service's own settings of a hook (NetServer's webhook table has no column for them)")
    .requiredOption('--signature <scheme>', `signature headers: ${signatureSchemes.join(' | ')} (docs/receivers.md)`)
    .action(async (id: string, o: { signature: string }) => {
      const webhookId = webhookIdArg(id);
      const db = await open();
      try {
        await createWebhookSettings({ db, secrets: presenceOnly }).setSignature(webhookId, o.signature.toLowerCase());
        out(`webhook ${webhookId}: signature ${o.signature.toLowerCase()}`);
      } finally {
        await db.close();
      }
    });
  cmd.command('rotate-secret <webhookId>')
    .description('a new secret; deliveries are signed under the new and the old one until the overlap ends (docs/receivers.md)')
    .option('--overlap <duration>', 'how long the old secret is still signed with: 24h, 30m, 7d ...', '24h')
    .option('--netserver-old', 'X-SuperOffice-Signature keeps the old secret until the overlap ends (default: the new one)')
    .option('--secret-stdin', 'read the new secret from stdin instead of generating one')
    .action(async (id: string, o: { overlap: string; netserverOld?: boolean; secretStdin?: boolean }) => {
      const webhookId = webhookIdArg(id);
      const overlapMs = parseDurationMs('--overlap', o.overlap);
      const secret = o.secretStdin ? (await readAll(process.stdin)).replace(/\r?\n$/, '') : undefined;
      const secrets = secretCodec();
      const db = await open();
      try {
        const r = await createWebhookSettings({ db, secrets }).rotateSecret(webhookId, { secret, overlapMs, netserverOld: !!o.netserverOld });
        if (r.generated) out(r.secret);
        process.stderr.write(r.previousUntil
          ? `webhook ${webhookId}: new secret in force; the old one is also signed with until ${r.previousUntil.toISOString()}\n`
          : `webhook ${webhookId}: it had no secret, the new one is in force\n`);
      } finally {
        await db.close();
      }
    });
  return cmd;
}
