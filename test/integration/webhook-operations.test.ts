/**
 * The transport-neutral operations (agent/webhook-operations.ts) on a real SQLite database: both kinds of
 * credentials, the login throttle shared with SoPrincipal, the id and PrimaryKey checks, authentication before any
 * body decoding, and the translation of database-unreachable errors.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createAuthService, type AuthService } from '../../src/auth/auth-service.js';
import { createWebhookAgent } from '../../src/agent/webhook-agent.js';
import { createWebhookOperations, type WebhookOperations } from '../../src/agent/webhook-operations.js';
import { translateError } from '../../src/agent/translate-error.js';
import { AppError } from '../../src/errors.js';
import { openDatabase } from '../../src/store/db.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';

const isCode = (code: string, field?: string) => (e: unknown) =>
  e instanceof AppError && e.code === code && (field === undefined || e.field === field);

describe('webhook operations', () => {
  let db: TestDatabase;
  let auth: AuthService;
  const throttleWaits: number[] = [];
  let ops: WebhookOperations;
  let ticket: string;
  const target = { checkTargetUrl: () => null, sendTestEvent: async () => ({ ok: true, message: 'OK' }) };

  before(async () => {
    db = await freshDatabase('sqlite');
    auth = createAuthService({
      db: db.knex, ticketTtlMs: 60_000, loginFailuresPerWindow: 3, loginWindowMs: 60_000, sleep: async (ms) => void throttleWaits.push(ms),
    });
    await auth.addAssociate('ann', 'ann-password');
    await auth.addAssociate('bob', 'bob-password');
    ticket = (await auth.login('ann', 'ann-password'))!.ticket;
    const agent = createWebhookAgent({ db, config: { allowInsecureTargets: true, pingOnSave: false }, target, secrets: createSecretCodec() });
    ops = createWebhookOperations({ agent, auth });
  });
  after(() => db.drop());

  test('a ticket, a user name and password, and a ticket in place of the user name all name the associate', async () => {
    assert.equal((await ops.authenticate({ ticket })).name, 'ann');
    assert.equal((await ops.authenticate({ userName: 'ann', password: 'ann-password' })).name, 'ann');
    assert.equal((await ops.authenticate({ userName: ticket, password: '' })).name, 'ann');
    await assert.rejects(ops.authenticate({ ticket: null }), isCode('unauthenticated'));
    await assert.rejects(ops.authenticate({ ticket: '7T:nope' }), isCode('unauthenticated'));
    await assert.rejects(ops.authenticate({ userName: 'ann', password: 'wrong' }), isCode('unauthenticated'));
  });

  test('password checks count against the same throttle as SoPrincipal logins', async () => {
    for (let i = 0; i < 3; i++) await assert.rejects(ops.authenticate({ userName: 'bob', password: 'guess' }), isCode('unauthenticated'));
    // The next attempt is slowed down (not refused), by the per-operation check and by SoPrincipal's login alike.
    throttleWaits.length = 0;
    assert.ok(await ops.login('bob', 'bob-password'), 'the right password still gets in');
    assert.equal(throttleWaits.length, 1, 'after waiting: the failures of the per-operation check counted');
    // Another name is not affected.
    throttleWaits.length = 0;
    assert.ok(await ops.login('ann', 'ann-password'));
    assert.deepEqual(throttleWaits, []);
  });

  test('the body is decoded only for an authenticated caller', async () => {
    let decoded = false;
    const draft = () => {
      decoded = true;
      throw new AppError('invalid_argument', 'Name: bad', { field: 'Name' });
    };
    await assert.rejects(ops.saveWebhook({ ticket: 'not-a-ticket' }, draft), isCode('unauthenticated'));
    assert.equal(decoded, false);
    await assert.rejects(ops.saveWebhook({ ticket }, draft), isCode('invalid_argument', 'Name'));
    assert.equal(decoded, true);
  });

  test('ids and PrimaryKey are checked the same way for every face, naming the field', async () => {
    for (const bad of [0, -1, 1.5, undefined, null, '3', Number.NaN, 2 ** 31]) {
      await assert.rejects(ops.getWebhook({ ticket }, bad), isCode('invalid_argument', 'WebhookId'), String(bad));
    }
    await assert.rejects(ops.getLastError({ ticket }, 0, 'webhookId'), isCode('invalid_argument', 'webhookId'));
    await assert.rejects(ops.deleteWebhook({ ticket }, -2, 'id'), isCode('invalid_argument', 'id'));
    await assert.rejects(ops.getWebhook({ ticket }, 999), isCode('not_found'));
    await assert.rejects(ops.signalEvent({ ticket }, () => ({ eventName: 'contact.created', primaryKey: 1.5, data: {} })),
      isCode('invalid_argument', 'PrimaryKey'));
    await ops.signalEvent({ ticket }, () => ({ eventName: 'contact.created', primaryKey: undefined, data: {} }));
  });

  test('save, read, list, last error and delete go through, by whichever credentials', async () => {
    const basic = { userName: 'ann', password: 'ann-password' };
    const saved = await ops.saveWebhook(basic, () => ({
      webhookId: 0, name: 'ops hook', events: ['contact.created'], targetUrl: 'http://127.0.0.1:9/x',
    }));
    assert.ok(saved.webhookId > 0);
    assert.equal(saved.registeredAssociate?.name, 'ann');
    assert.equal((await ops.getWebhook({ ticket }, saved.webhookId)).name, 'ops hook');
    assert.deepEqual((await ops.getAllWebhooks({ ticket }, () => ({ name: 'ops hook' }))).map((h) => h.webhookId), [saved.webhookId]);
    assert.equal(await ops.getLastError({ ticket }, saved.webhookId), '');
    await ops.deleteWebhook(basic, saved.webhookId);
    await assert.rejects(ops.getWebhook({ ticket }, saved.webhookId), isCode('not_found'));
  });

  test('database-unreachable errors become AppError unavailable; others pass through unchanged', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const t = translateError(refused);
    assert.ok(t instanceof AppError && t.code === 'unavailable' && /not reachable/.test(t.message) && t.cause === refused
      && !t.message.includes('5432'));
    const other = new TypeError('bug');
    assert.equal(translateError(other), other);
    const nf = new AppError('not_found', 'Webhook 1 not found');
    assert.equal(translateError(nf), nf);

    // A PostgreSQL server that is not there (nothing listens on loopback port 1): the driver's ECONNREFUSED.
    const gone = openDatabase('postgres://postgres:x@127.0.0.1:1/none', { poolMax: 1 });
    try {
      const deadOps = createWebhookOperations({
        auth: createAuthService({ db: gone.knex, ticketTtlMs: 60_000, loginFailuresPerWindow: 3, loginWindowMs: 60_000 }),
        agent: createWebhookAgent({ db: gone, config: { allowInsecureTargets: true, pingOnSave: false }, target, secrets: createSecretCodec() }),
      });
      await assert.rejects(deadOps.getWebhook({ ticket }, 1), isCode('unavailable'));
      await assert.rejects(deadOps.login('ann', 'ann-password'), isCode('unavailable'));
    } finally {
      await gone.close();
    }
  });
});
