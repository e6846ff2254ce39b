/**
 * Webhook secrets encrypted at rest, through the real app on SQLite and PostgreSQL:
 * - SaveWebhook with a Secret stores `enc:v1:<keyId>:...` (never the plaintext); GetWebhook/ListWebhooks answer
 *   the plaintext; an update that omits Secret keeps it; the save-time ping is signed with the plaintext;
 * - the longest secret (400 characters of 3-byte UTF-8) fits the column widened by migration 003;
 * - the worker signs deliveries with the plaintext (HMAC recomputed at a loopback receiver), also for plaintext
 *   rows (NetServer's), and sends nothing for a row no configured key opens (recorded as secret_unreadable) while
 *   other hooks are delivered; no log line carries a secret or its stored form;
 * - reencryptSecrets (what `secrets reencrypt` runs) rotates every row to the new key in batches, idempotently,
 *   reports unreadable rows by id, and with no key (old key kept for reading) writes plaintext back;
 * - the app wired as `serve` wires it (createDeliveryRuntime + createApp from the configuration alone).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createWorker } from '../../src/outbox/worker.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
import { reencryptSecrets } from '../../src/store/reencrypt-secrets.js';
import { getWebhook } from '../../src/store/webhook-repository.js';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import {
  itemsAt, startApp, startReceiver, textAt, webhookXml, childrenNamed, type Receiver, type ReceivedRequest, type TestApp,
} from '../helpers/app.js';

const V = 88;
const KEY_A = 'key-A-for-the-secret-at-rest-tests-0001';
const KEY_B = 'key-B-for-the-secret-at-rest-tests-0002';
const KEY_C = 'key-C-that-this-app-is-never-configured-with';
const SECRET = 'sígnïng-secret 密钥 🔑 <&>';
const LONG_SECRET = '密'.repeat(400);
const keyA = createSecretCodec({ key: KEY_A }).keyId;
const keyB = createSecretCodec({ key: KEY_B }).keyId;

function signature(secret: string, body: Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('base64');
}

function events(rec: Receiver, tag: string): ReceivedRequest[] {
  return rec.requests.filter((r) => r.url.endsWith(`?h=${tag}`) && r.headers['x-superoffice-event'] !== 'test');
}

async function storedSecret(app: TestApp, id: number): Promise<string | null> {
  const row = (await app.db.knex('webhook').where('webhook_id', id).first('secret')) as { secret: string | null };
  return row.secret;
}

async function save(app: TestApp, rec: Receiver, tag: string, secret: string | null | undefined, id = 0): Promise<number> {
  const r = await app.call(V, 'SaveWebhook', webhookXml({
    id, name: `hook ${tag}`, events: ['contact.created'], targetUrl: `${rec.url}?h=${tag}`, secret, state: 'Active',
  }));
  assert.equal(r.succeeded, true, r.exception?.message ?? r.text.slice(0, 500));
  return Number(textAt(r.response, 'WebhookId'));
}

async function secretViaSoap(app: TestApp, id: number): Promise<string | null | undefined> {
  const r = await app.call(V, 'GetWebhook', `<WebhookId>${id}</WebhookId>`);
  assert.equal(r.succeeded, true, r.exception?.message ?? r.text.slice(0, 500));
  return textAt(r.response, 'Secret');
}

for (const dialect of testDialects) {
  describe(`secrets at rest (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let rec: Receiver;
    const ids: Record<string, number> = {};
    let lostValue = '';

    before(async () => {
      app = await startApp(dialect, { env: { SECRET_ENCRYPTION_KEY: KEY_A } });
      rec = await startReceiver(200);
    });
    after(async () => {
      await rec?.close();
      await app?.close();
    });

    test('SaveWebhook stores the encrypted form; GetWebhook and ListWebhooks answer the plaintext', async () => {
      ids.a = await save(app, rec, 'a', SECRET);
      const ping = rec.requests.find((r) => r.url.endsWith('?h=a') && r.headers['x-superoffice-event'] === 'test');
      assert.ok(ping, 'the save-time ping was sent');
      assert.equal(ping.headers['x-superoffice-signature'], signature(SECRET, ping.body), 'the ping is signed with the plaintext');

      const stored = await storedSecret(app, ids.a);
      assert.match(stored ?? '', new RegExp(`^enc:v1:${keyA}:[A-Za-z0-9+/]+=*$`));
      assert.ok(!(stored ?? '').includes('secret'));
      assert.equal(await secretViaSoap(app, ids.a), SECRET);

      const list = await app.call(V, 'GetAllWebhooks', '<NameFilter>hook a</NameFilter>');
      assert.equal(list.succeeded, true, list.exception?.message ?? list.text.slice(0, 500));
      const hooks = childrenNamed(list.response, 'Webhook');
      assert.equal(hooks.length, 1);
      assert.equal(textAt(hooks[0], 'Secret'), SECRET);

      // An update that omits Secret keeps it (the stored value is decrypted, merged, encrypted again).
      await save(app, rec, 'a', undefined, ids.a);
      assert.match((await storedSecret(app, ids.a)) ?? '', new RegExp(`^enc:v1:${keyA}:`));
      assert.equal(await secretViaSoap(app, ids.a), SECRET);
      assert.deepEqual(itemsAt((await app.call(V, 'GetWebhook', `<WebhookId>${ids.a}</WebhookId>`)).response, 'Events'), ['contact.created']);
    });

    test('the longest secret fits (column widened by migration 003)', async () => {
      ids.long = await save(app, rec, 'long', LONG_SECRET);
      const stored = (await storedSecret(app, ids.long)) ?? '';
      assert.ok(stored.length > 1600, `stored form is ${stored.length} characters`);
      assert.equal(await secretViaSoap(app, ids.long), LONG_SECRET);
      if (dialect === 'pg') {
        const r = await app.db.knex.raw(
          "select character_maximum_length as n from information_schema.columns where table_name = 'webhook' and column_name = 'secret'");
        assert.equal(Number((r as { rows: Array<{ n: unknown }> }).rows[0].n), 2000);
      }
    });

    test('the worker signs with the plaintext; plaintext rows work; an unreadable row is not sent; no secret is logged', async () => {
      ids.plain = await save(app, rec, 'plain', null);
      // A row written by NetServer (or before the key was configured): plaintext in the column.
      await app.db.knex('webhook').where('webhook_id', ids.plain).update({ secret: 'netserver-plain' });
      assert.equal(await secretViaSoap(app, ids.plain), 'netserver-plain');
      ids.lost = await save(app, rec, 'lost', 'lost-secret');
      lostValue = createSecretCodec({ key: KEY_C }).encode('lost-secret') ?? '';
      await app.db.knex('webhook').where('webhook_id', ids.lost).update({ secret: lostValue });

      const refused = await app.call(V, 'GetWebhook', `<WebhookId>${ids.lost}</WebhookId>`);
      assert.equal(refused.succeeded, false);
      assert.match(refused.exception?.message ?? '', /cannot be decrypted.*SECRET_ENCRYPTION_OLD_KEYS/);
      assert.ok(!(refused.exception?.message ?? '').includes('lost-secret'));

      const signal = await app.call(V, 'SignalEvent', '<EventName>contact.created</EventName><PrimaryKey>1</PrimaryKey>');
      assert.equal(signal.succeeded, true, signal.exception?.message ?? undefined);

      const lines: string[] = [];
      const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
      // No `secrets` passed: the worker builds its codec from the configuration, as `worker` does.
      const worker = createWorker({ db: app.db, config: app.config, logger: createLogger('trace', sink), mailer: null });
      try {
        await worker.drain();
      } finally {
        await worker.stop({ graceMs: 0 });
      }

      for (const [tag, secret] of [['a', SECRET], ['long', LONG_SECRET], ['plain', 'netserver-plain']] as const) {
        const got = events(rec, tag);
        assert.equal(got.length, 1, `one delivery to ${tag}`);
        assert.equal(got[0].headers['x-superoffice-signature'], signature(secret, got[0].body), `${tag} signed with its plaintext`);
      }
      assert.equal(events(rec, 'lost').length, 0, 'nothing sent for the unreadable secret');
      const attempts = (await app.db.knex('wa_attempt as a').join('wa_delivery as d', 'd.delivery_id', 'a.delivery_id')
        .where('d.webhook_id', ids.lost).select('a.outcome', 'a.response_excerpt', 'd.status')) as Array<{ outcome: string; response_excerpt: string; status: string }>;
      assert.ok(attempts.length >= 1);
      assert.equal(attempts[0].outcome, 'secret_unreadable');
      assert.match(attempts[0].response_excerpt, /SECRET_ENCRYPTION_KEY/);
      assert.equal(attempts[0].status, 'pending', 'retried on the usual schedule, so it resumes once the key is configured');
      const usage = (await app.db.knex('webhook_usage').where('webhook_usage_id', ids.lost).first('total_errors')) as { total_errors: unknown };
      assert.equal(Number(usage.total_errors), 0, 'not counted against the hook');

      const log = lines.join('');
      assert.match(log, /webhook secret unreadable/);
      for (const s of [SECRET, LONG_SECRET, 'netserver-plain', 'lost-secret', lostValue, (await storedSecret(app, ids.a)) ?? '-']) {
        assert.ok(!log.includes(s), `the log carries ${s.slice(0, 20)}...`);
      }
    });

    test('reencryptSecrets rotates every row to the new key, in batches, idempotently', async () => {
      const rotated = createSecretCodec({ key: KEY_B, oldKeys: [KEY_A] });
      const progress: number[] = [];
      const first = await reencryptSecrets(app.db.knex, rotated, { batchSize: 2, onBatch: (p) => progress.push(p.scanned) });
      assert.deepEqual(progress, [2, 4], 'two batches of two');
      assert.deepEqual(first, { scanned: 4, rewritten: 3, unchanged: 0, skipped: 0, unreadable: [ids.lost] });
      for (const tag of ['a', 'long', 'plain']) {
        assert.match((await storedSecret(app, ids[tag])) ?? '', new RegExp(`^enc:v1:${keyB}:`), `${tag} under the new key`);
      }
      const again = await reencryptSecrets(app.db.knex, rotated, { batchSize: 2 });
      assert.deepEqual(again, { scanned: 4, rewritten: 0, unchanged: 3, skipped: 0, unreadable: [ids.lost] });

      // The old key can now be dropped: the new key alone reads every row, and a worker configured so signs right.
      const onlyB = createSecretCodec({ key: KEY_B });
      assert.equal((await getWebhook(app.db.knex, ids.a, { secrets: onlyB }))?.secret, SECRET);
      assert.equal((await getWebhook(app.db.knex, ids.plain, { secrets: onlyB }))?.secret, 'netserver-plain');
      const configB = loadConfig({ env: { DATABASE_URL: app.db.url, ALLOW_INSECURE_TARGETS: 'true', LOG_LEVEL: 'silent', SECRET_ENCRYPTION_KEY: KEY_B } });
      await app.db.knex('webhook').where('webhook_id', ids.lost).update({ state: 2 });
      const before = events(rec, 'a').length;
      const signal = await app.call(V, 'SignalEvent', '<EventName>contact.created</EventName><PrimaryKey>2</PrimaryKey>');
      assert.equal(signal.succeeded, true);
      const worker = createWorker({ db: app.db, config: configB, logger: createLogger('silent'), mailer: null });
      try {
        await worker.drain();
      } finally {
        await worker.stop({ graceMs: 0 });
      }
      const got = events(rec, 'a');
      assert.equal(got.length, before + 1);
      assert.equal(got[got.length - 1].headers['x-superoffice-signature'], signature(SECRET, got[got.length - 1].body));

      // Turning encryption off: no key, the last one kept for reading; plaintext comes back.
      const off = await reencryptSecrets(app.db.knex, createSecretCodec({ oldKeys: [KEY_B] }));
      assert.equal(off.rewritten, 3);
      assert.equal(await storedSecret(app, ids.a), SECRET);
      assert.equal(await storedSecret(app, ids.long), LONG_SECRET);
      assert.equal(await storedSecret(app, ids.plain), 'netserver-plain');
      assert.equal(await storedSecret(app, ids.lost), lostValue, 'an unreadable row is left as it is');
    });
  });

  describe(`secrets at rest, wired as serve (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let rec: Receiver;

    before(async () => {
      app = await startApp(dialect, { env: { SECRET_ENCRYPTION_KEY: KEY_A }, startWorker: true });
      rec = await startReceiver(200);
    });
    after(async () => {
      await rec?.close();
      await app?.close();
    });

    test('the in-process worker delivers signed with the plaintext of an encrypted row', async () => {
      const id = await save(app, rec, 'served', SECRET);
      assert.match((await storedSecret(app, id)) ?? '', new RegExp(`^enc:v1:${keyA}:`));
      const signal = await app.call(V, 'SignalEvent', '<EventName>contact.created</EventName><PrimaryKey>3</PrimaryKey>');
      assert.equal(signal.succeeded, true);
      const deadline = Date.now() + 15_000;
      while (events(rec, 'served').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const got = events(rec, 'served');
      assert.equal(got.length, 1, 'delivered by the worker');
      assert.equal(got[0].headers['x-superoffice-signature'], signature(SECRET, got[0].body));
    });
  });
}
