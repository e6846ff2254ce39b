/**
 * `import netserver` on SQLite and PostgreSQL: a NetServer-shaped database (test/helpers/netserver-fixture.ts,
 * schema crm7) is imported into a running service's database, then read back through SOAP as a client would.
 * Covers the report (errors, warnings and what each needs), dry run, refusal on invalid rows, --skip-invalid,
 * idempotence, id sequences, associates without a password, and one process-level run of the real CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { child, childrenNamed, itemsAt, startApp, startReceiver, textAt, webhookXml, type TestApp } from '../helpers/app.js';
import { importInto, MANY_NOTIFY, netServerFixture, type NetServerFixture } from '../helpers/netserver-fixture.js';
import { repoRoot } from '../helpers/service.js';
import { openNetServerSource } from '../../src/store/netserver-source.js';
import { formatImportReport, planImport, type ImportOptions } from '../../src/agent/netserver-import.js';
import { readTargetState } from '../../src/store/netserver-import-writer.js';
import { openDatabase, migrateLatest } from '../../src/store/db.js';
import type { Knex } from 'knex';

const V = 88;
// NetServer's times are UTC in columns without a zone; a local zone far from UTC shows any read that takes them
// for local time (node-postgres does by default for `timestamp`).
process.env.TZ = 'Pacific/Auckland';

async function counts(k: Knex): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['webhook', 'webhook_usage', 'webhook_event', 'webhook_notify', 'associate']) {
    const [r] = (await k(t).count({ n: '*' })) as Array<{ n: unknown }>;
    out[t] = Number(r.n);
  }
  return out;
}

for (const dialect of testDialects) {
  describe(`import netserver (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let fixture: NetServerFixture;
    // Pages of 7 source rows: the five hooks, and the 600 notify rows of one hook, span many pages (keyset reads).
    const run = (opts: ImportOptions) => importInto(app, fixture, opts, 7);

    before(async () => {
      fixture = await netServerFixture(dialect);
      app = await startApp(dialect, { env: { SECRET_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') } });
    });
    after(async () => {
      await app?.close();
      await fixture?.drop();
    });

    test('the report under the default address policy: errors, and what each warning needs', async () => {
      const source = openNetServerSource(fixture.url, fixture.schema);
      const snapshot = await source.read();
      await source.close();
      const plan = planImport(snapshot, await readTargetState(app.db.knex), { allowInsecureTargets: false, targetAllowlist: [] });
      assert.deepEqual(plan.invalidWebhookIds, [20]);
      assert.match(plan.issues.find((i) => i.webhookId === 20)!.message, /crmscript/);
      assert.deepEqual(plan.needsInsecureTargets, [17]);
      assert.deepEqual(plan.needsAllowlist.map((n) => [n.webhookId, n.host]), [[40, '10.1.2.3']]);
      assert.deepEqual(plan.unknownAssociateIds, [99]);
      assert.deepEqual(plan.associates.map((a) => [a.associateId, a.name, a.fullName, a.deleted]), [
        [5, 'SAL', 'Sally Salesman', false], [7, 'ÆRL', 'Ærling Østby', false], [8, 'OLD', '', true],
      ]);
      const text = formatImportReport({ plan, written: null, refused: true }, { dryRun: true, skipInvalid: false, source: 'x', schema: 'crm7' });
      assert.match(text, /need ALLOW_INSECURE_TARGETS=true to deliver: webhooks 17/);
      assert.match(text, /need TARGET_ALLOWLIST entries to deliver: 10\.1\.2\.3 \(webhooks 40\)/);
      assert.match(text, /webhook 17: 600 ErrorEmails rows, more than SaveWebhook accepts \(100\)/);
      assert.match(text, /associate ids 99 are named by webhook rows but not in the NetServer associate table/);
      assert.match(text, /--skip-invalid/);
    });

    test('dry run and a run refused by an invalid row write nothing', async () => {
      const before = await counts(app.db.knex);
      const dry = await run({ dryRun: true, skipInvalid: true });
      assert.equal(dry.written, null);
      assert.equal(dry.plan.toCreate, 4);
      const refused = await run({ dryRun: false, skipInvalid: false });
      assert.equal(refused.refused, true);
      assert.equal(refused.written, null);
      assert.deepEqual(await counts(app.db.knex), before);
    });

    test('import, then read through SOAP as NetServer served it', async () => {
      const o = await run({ dryRun: false, skipInvalid: true });
      assert.equal(o.refused, false);
      assert.deepEqual(o.written, {
        webhooksCreated: 4, webhooksUpdated: 0, associatesCreated: 3, associatesUpdated: 0, usageRows: 3,
        eventRows: 7, notifyRows: 3 + MANY_NOTIFY,
      });

      const r = await app.call(V, 'GetWebhook', '<WebhookId>3</WebhookId>');
      assert.equal(r.succeeded, true, r.text.slice(0, 500));
      const h = r.response!;
      assert.equal(textAt(h, 'Name'), 'Ørjan’s hook — 日本');
      assert.deepEqual(itemsAt(h, 'Events'), ['contact.created', 'person.changed', 'sale.sold']);
      assert.equal(textAt(h, 'TargetUrl'), 'https://hooks.example.com/a');
      assert.equal(textAt(h, 'Secret'), 's3cret');
      assert.equal(textAt(h, 'State'), 'Active');
      assert.deepEqual(childrenNamed(child(h, 'Headers'), 'StringKeyValuePair').map((p) => [textAt(p, 'Key'), textAt(p, 'Value')]),
        [['X-Api-Key', 'k-123'], ['X-Tenant', 'Åse']]);
      assert.deepEqual(childrenNamed(child(h, 'Properties'), 'StringObjectKeyValuePair').map((p) => [textAt(p, 'Key'), textAt(p, 'Value')]),
        [['tenant', 'Åse'], ['n', '5'], ['flag', 'true']]);
      assert.match(textAt(h, 'Registered') ?? '', /^2021-03-04T05:06:07\.123/);
      assert.match(textAt(h, 'Updated') ?? '', /^2023-11-05T14:03:27\.5/);
      assert.equal(textAt(h, 'RegisteredAssociate', 'AssociateId'), '5');
      assert.equal(textAt(h, 'RegisteredAssociate', 'Name'), 'SAL');
      assert.equal(textAt(h, 'RegisteredAssociate', 'FullName'), 'Sally Salesman');
      assert.equal(textAt(h, 'RegisteredAssociate', 'PersonId'), '12');
      assert.equal(textAt(h, 'UpdatedAssociate', 'Name'), 'ÆRL');
      assert.equal(textAt(h, 'ErrorsEmail'), 'ops@example.com');
      assert.deepEqual(itemsAt(h, 'ErrorEmails'), ['ops@example.com']);
      assert.deepEqual(childrenNamed(child(h, 'ErrorAssociates'), 'MDOListItem').map((a) => textAt(a, 'Id')), ['7', '8']);
      assert.equal(textAt(h, 'Description'), 'Beskrivelse æøå');
      assert.equal(textAt(h, 'NotifyVia'), 'Email');
      assert.equal(textAt(h, 'NotifyWhen'), 'FirstFailure Disabling');
      assert.deepEqual(['TotalCalls', 'TotalErrors', 'ConsecutiveErrors'].map((f) => textAt(h, f)), ['10', '2', '1']);
      assert.equal(textAt(h, 'LastError'), 'HTTP 500 Internal Server Error');
      // Encrypted at rest with the configured key.
      const [row] = (await app.db.knex('webhook').where('webhook_id', 3).select('secret')) as Array<{ secret: string }>;
      assert.match(row.secret, /^enc:/);

      const h4 = (await app.call(V, 'GetWebhook', '<WebhookId>4</WebhookId>')).response!;
      assert.equal(textAt(h4, 'Headers'), null);
      assert.equal(textAt(h4, 'Properties'), null);
      assert.equal(textAt(h4, 'Secret'), null);
      assert.equal(textAt(h4, 'State'), 'Stopped');
      assert.equal(textAt(h4, 'RegisteredAssociate', 'AssociateId'), '99', 'an unknown associate keeps its id');
      assert.equal(textAt(h4, 'Updated'), '0001-01-01T00:00:00', 'never updated in NetServer');
      assert.equal(textAt(h4, 'UpdatedAssociate'), null);

      const h17 = (await app.call(V, 'GetWebhook', '<WebhookId>17</WebhookId>')).response!;
      assert.equal(textAt(h17, 'State'), 'TooManyErrors');
      assert.equal(itemsAt(h17, 'ErrorEmails')?.length, MANY_NOTIFY);
      assert.equal(itemsAt(h17, 'ErrorEmails')?.[599], 'n599@example.com');

      const gone = await app.call(V, 'GetWebhook', '<WebhookId>20</WebhookId>');
      assert.equal(gone.succeeded, false, 'the invalid hook was left out');

      // The event index was built: the Event filter finds hooks by each of their events.
      const list = async (inner: string) => (await app.call(V, 'GetAllWebhooks', inner)).response!.children.map((w) => Number(textAt(w, 'WebhookId')));
      assert.deepEqual(await list('<EventFilter>sale.sold</EventFilter>'), [3]);
      assert.deepEqual(await list('<EventFilter>sale.changed</EventFilter>'), [17]);
      assert.deepEqual(await list('<StatusFilter>Active</StatusFilter>'), [3, 40]);
    });

    test('a second run updates in place and creates nothing; an associate keeps the password set meanwhile', async () => {
      assert.equal(await app.auth.changePassword('SAL', 'new-pass-1'), true);
      const before = await counts(app.db.knex);
      const o = await run({ dryRun: false, skipInvalid: true });
      assert.equal(o.plan.toCreate, 0);
      assert.equal(o.plan.toUpdate, 4);
      assert.equal(o.written?.webhooksCreated, 0);
      assert.equal(o.written?.webhooksUpdated, 4);
      assert.equal(o.written?.associatesCreated, 0);
      assert.deepEqual(await counts(app.db.knex), before);
      assert.equal((await app.login('SAL', 'new-pass-1')).succeeded, true);
    });

    test('imported associates cannot log in until a password is set; the answer is that of any refusal', async () => {
      // Issue 18: the refusal said "imported from NetServer", telling a guesser which names exist there.
      const r = await app.login('ÆRL', 'anything');
      const unknown = await app.login('no-such-associate', 'anything');
      assert.equal(textAt(r.body, 'AuthenticationSucceeded'), 'false', r.text.slice(0, 400));
      assert.equal(r.text.replace(/<(?:\w+:)?Response[^]*$/, ''), unknown.text.replace(/<(?:\w+:)?Response[^]*$/, ''), 'the same answer as an unknown name');
      assert.deepEqual([r.succeeded, r.exception], [unknown.succeeded, unknown.exception]);
      assert.doesNotMatch(r.text, /imported|no password/i);
      assert.equal(await app.auth.login('ærl', ''), null);
      assert.equal(await app.auth.changePassword('ÆRL', 'pw-2'), true);
      const ok = await app.login('ÆRL', 'pw-2');
      assert.equal(textAt(ok.body, 'AuthenticationSucceeded'), 'true');
      assert.equal(textAt(ok.body, 'Response', 'AssociateId'), '7');
    });

    test('id sequences moved past the imported ids', async () => {
      const receiver = await startReceiver(200);
      const saved = await app.call(V, 'SaveWebhook', webhookXml({ id: 0, name: 'new', events: ['contact.created'], targetUrl: receiver.url }));
      await receiver.close();
      assert.equal(saved.succeeded, true, saved.text.slice(0, 500));
      const id = Number(textAt(saved.response, 'WebhookId'));
      assert.ok(id > 40, `new webhook id ${id}`);
      const a = await app.auth.addAssociate('newcomer', 'pw-3');
      assert.ok(a.associateId > 8, `new associate id ${a.associateId}`);
    });

    test('a dry run after a hook was changed here warns that a run would overwrite the change', async () => {
      const before = await run({ dryRun: true, skipInvalid: true });
      assert.deepEqual(before.plan.issues.filter((i) => /was changed here/.test(i.message)), []);
      const receiver = await startReceiver(200);
      const saved = await app.call(V, 'SaveWebhook', webhookXml({ id: 4, name: 'renamed here', events: ['project.created'], targetUrl: receiver.url }));
      await receiver.close();
      assert.equal(saved.succeeded, true, saved.text.slice(0, 500));
      const after = await run({ dryRun: true, skipInvalid: true });
      assert.deepEqual(after.plan.issues.filter((i) => /was changed here/.test(i.message)).map((i) => i.webhookId), [4]);
    });
  });
}

describe('import netserver: the CLI (sqlite)', () => {
  let fixture: NetServerFixture;
  let dir: string;
  before(async () => {
    fixture = await netServerFixture('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'wa-import-cli-'));
  });
  after(async () => {
    await fixture?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => spawnSync(process.execPath,
    ['--disable-proto=delete', '--import', 'tsx', join(repoRoot, 'src/cli.ts'), 'import', 'netserver', '--from', fixture.url, ...args], {
      cwd: repoRoot, encoding: 'utf8', timeout: 120_000,
      env: { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'wa.sqlite')}`, LOG_LEVEL: 'warn', ALLOW_INSECURE_TARGETS: 'false' },
    });

  test('--dry-run reports and writes nothing; errors refuse; --skip-invalid imports in one go; a rerun updates', async () => {
    const dry = cli('--dry-run');
    assert.equal(dry.status, 1, dry.stderr);
    assert.match(dry.stdout, /dry run, nothing written/);
    assert.match(dry.stdout, /webhooks: 5 in NetServer, 4 valid \(4 new here, 0 already here/);
    assert.match(dry.stdout, /webhook 20: Type: 'crmscript'/);
    assert.match(dry.stdout, /need ALLOW_INSECURE_TARGETS=true to deliver: webhooks 17/);

    const db = openDatabase(`sqlite:${join(dir, 'wa.sqlite')}`);
    try {
      await migrateLatest(db);
      assert.equal((await counts(db.knex)).webhook, 0);
      const refused = cli();
      assert.equal(refused.status, 1);
      assert.match(refused.stdout, /nothing written: fix the errors in NetServer, or run with --skip-invalid/);
      assert.equal((await counts(db.knex)).webhook, 0);

      const first = cli('--skip-invalid', '--schema', 'crm7');
      assert.equal(first.status, 0, first.stdout + first.stderr);
      assert.match(first.stdout, /written in one transaction: webhooks 4 created, 0 updated; associates 3 created/);
      const second = cli('--skip-invalid');
      assert.equal(second.status, 0, second.stdout + second.stderr);
      assert.match(second.stdout, /webhooks 0 created, 4 updated; associates 0 created, 3 updated/);
      assert.deepEqual(await counts(db.knex), { webhook: 4, webhook_usage: 4, webhook_event: 7, webhook_notify: 3 + MANY_NOTIFY, associate: 3 });

      const missing = spawnSync(process.execPath, ['--disable-proto=delete', '--import', 'tsx', join(repoRoot, 'src/cli.ts'), 'import', 'netserver',
        '--from', `sqlite:${join(dir, 'nope.sqlite')}`], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'wa.sqlite')}` } });
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /nope\.sqlite does not exist/);
    } finally {
      await db.close();
    }
  });
});
