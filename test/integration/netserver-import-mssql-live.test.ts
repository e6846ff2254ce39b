/**
 * `import netserver` against a real SQL Server, opt-in: set MSSQL_URL (see store-mssql-live.test.ts). The login
 * needs CREATE DATABASE: the suite creates a database of its own (NetServer's tables in schema crm7, ours in dbo),
 * imports, checks, imports again, and drops it. Without MSSQL_URL the suite is skipped, also under CI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { migrateLatest, mssqlConnection, openDatabase, type Database } from '../../src/store/db.js';
import { openNetServerSource } from '../../src/store/netserver-source.js';
import { importNetServer } from '../../src/agent/netserver-import.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
import { createAssociate } from '../../src/store/associate-repository.js';
import { createWebhook, getWebhook } from '../../src/store/webhook-repository.js';
import { MANY_NOTIFY, netServerFixture, type NetServerFixture } from '../helpers/netserver-fixture.js';
const plain = { secrets: createSecretCodec() };

const skip = process.env.MSSQL_URL ? undefined : 'MSSQL_URL is not set (opt-in SQL Server suite)';

describe('import netserver on SQL Server (live)', { skip }, () => {
  const name = `wa_import_${randomBytes(5).toString('hex')}`;
  let url: string;
  let fixture: NetServerFixture;
  let db: Database;
  const admin = () => knexFactory({ client: 'mssql', connection: mssqlConnection(process.env.MSSQL_URL!), pool: { min: 0, max: 1 } });
  const run = async () => {
    const source = openNetServerSource(url, 'crm7');
    try {
      return await importNetServer({ source, target: db, policy: { allowInsecureTargets: false, targetAllowlist: [] }, secrets: createSecretCodec() },
        { dryRun: false, skipInvalid: true });
    } finally {
      await source.close();
    }
  };

  before(async () => {
    const k = admin();
    await k.raw(`CREATE DATABASE [${name}]`);
    await k.destroy();
    const u = new URL(process.env.MSSQL_URL!);
    u.pathname = `/${name}`;
    url = u.toString();
    fixture = await netServerFixture('mssql', url);
    db = openDatabase(url);
    await migrateLatest(db);
  });
  after(async () => {
    await db?.close();
    await fixture?.drop();
    const k = admin();
    await k.raw(`ALTER DATABASE [${name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [${name}]`).catch(() => {});
    await k.destroy();
  });

  test('imports with ids kept, reads back, reruns in place, moves the identities', async () => {
    const first = await run();
    assert.deepEqual(first.plan.invalidWebhookIds, [20]);
    assert.equal(first.written?.webhooksCreated, 4);
    assert.equal(first.written?.notifyRows, 3 + MANY_NOTIFY);
    const h = await getWebhook(db, 3, plain);
    assert.equal(h?.name, 'Ørjan’s hook — 日本');
    assert.deepEqual(h?.events, ['contact.created', 'person.changed', 'sale.sold']);
    assert.equal(h?.registered.toISOString(), '2021-03-04T05:06:07.123Z');
    assert.equal(h?.registeredAssociate?.name, 'SAL');
    assert.equal(h?.updatedAssociate?.fullName, 'Ærling Østby');
    assert.equal((await getWebhook(db, 17, plain))?.errorEmails?.length, MANY_NOTIFY);
    const second = await run();
    assert.equal(second.written?.webhooksUpdated, 4);
    assert.equal(second.written?.webhooksCreated, 0);
    const id = await createWebhook(db, {
      name: 'n', events: ['a.b'], targetUrl: 'https://x.example.com', secret: null, state: 'Active', type: 'webhook', headers: null,
      properties: null, errorsEmail: null, errorEmails: null, errorAssociateIds: null, description: null, notifyVia: [], notifyWhen: [],
    }, new Date(), 0, plain);
    assert.ok(id > 40, `new id ${id}`);
    const a = await createAssociate(db, { name: 'newcomer', passwordHash: 'x' });
    assert.ok(a.associateId > 8, `new associate id ${a.associateId}`);
  });
});
