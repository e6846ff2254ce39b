/**
 * Signature schemes per hook (netserver | standard | both) and secret rotation with an overlap, on real databases
 * through the worker to a loopback receiver. Every Standard Webhooks signature is checked by the `standardwebhooks`
 * library itself (the receivers' own verifier), never by our signing code.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { freshDatabase, dialectAvailability, testDialects, type TestDatabase } from '../helpers/db.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { createWorker, type Worker } from '../../src/outbox/worker.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
import { reencryptSecrets } from '../../src/store/reencrypt-secrets.js';
import { createWebhookSettings, parseDurationMs } from '../../src/agent/webhook-settings.js';
import { getWebhook } from '../../src/store/webhook-repository.js';
import {
  createHook, headerPairs, resetDeliveryState, silentLogger, startReceiver, testClock, testConfig, type ReceivedRequest,
  type Receiver, type TestClock,
} from './delivery-support.js';

const netserverSignature = (secret: string, body: Buffer) => createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('base64');
/** As a receiver would: a whsec_ secret as it is, any other as its UTF-8 bytes (the library's raw format). */
const receiverVerifier = (secret: string) =>
  secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(new TextEncoder().encode(secret), { format: 'raw' });
const verifyStandard = (secret: string, r: ReceivedRequest) => receiverVerifier(secret).verify(r.body, r.headers as Record<string, string>);
const signatureHeaderNames = (r: ReceivedRequest) =>
  headerPairs(r).map(([n]) => n).filter((n) => /signature|^webhook-/i.test(n));

const KEY = 'a-test-encryption-key-of-32-chars-or-more';

for (const dialect of testDialects) {
  describe(`signature schemes and rotation on ${dialect}`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    let rx: Receiver;
    let clock: TestClock;
    const workers: Worker[] = [];
    const secrets = createSecretCodec({ key: KEY });
    const settings = () => createWebhookSettings({ db, secrets, now: () => new Date(clock()) });

    /** Creates a hook with `secret` (stored encrypted), signals one event, delivers it, returns the request. */
    async function deliverOnce(hookId: number, primaryKey = 1): Promise<ReceivedRequest> {
      const n = rx.requests.length;
      await enqueueEvent(db, { eventName: 'contact.created', primaryKey, data: { contact_id: primaryKey }, changedByAssociateId: 7,
        timestamp: new Date(clock()) }, [hookId], { now: clock() });
      const w = createWorker({ db, config: testConfig(), logger: silentLogger, clock, random: () => 0.5, mailer: null, secrets });
      workers.push(w);
      await w.drain();
      await rx.waitFor(n + 1);
      return rx.requests[n];
    }
    async function hookWithSecret(secret: string | null): Promise<number> {
      const id = await createHook(db.knex, { targetUrl: rx.url });
      if (secret !== null) await db.knex('webhook').where('webhook_id', id).update({ secret: secrets.encode(secret) });
      return id;
    }

    before(async () => {
      db = await freshDatabase(dialect);
      rx = await startReceiver();
    });
    after(async () => {
      for (const w of workers) await w.stop({ graceMs: 0 });
      await rx.close();
      await db.drop();
    });
    beforeEach(async () => {
      await resetDeliveryState(db, rx, workers);
      clock = testClock(Date.now());
    });

    test('netserver (the default): X-SuperOffice-Signature only, as before', async () => {
      const id = await hookWithSecret('plain secret');
      const r = await deliverOnce(id);
      assert.deepEqual(signatureHeaderNames(r), ['X-SuperOffice-Signature']);
      assert.equal(r.headers['x-superoffice-signature'], netserverSignature('plain secret', r.body));
      assert.equal((await settings().get(id)).signature, 'netserver');
    });

    test('standard: webhook-id/-timestamp/-signature verified by the standardwebhooks library; no X-SuperOffice-Signature', async () => {
      const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
      const id = await hookWithSecret(secret);
      await settings().setSignature(id, 'standard');
      const r = await deliverOnce(id);
      assert.deepEqual(signatureHeaderNames(r), ['webhook-id', 'webhook-timestamp', 'webhook-signature']);
      assert.equal(r.headers['webhook-id'], r.json.EventId);
      assert.equal(r.headers['webhook-id'], r.headers['x-superoffice-eventid']);
      assert.equal(r.headers['webhook-timestamp'], String(Math.floor(clock() / 1000)));
      assert.deepEqual(verifyStandard(secret, r), r.json);
      // A tampered body fails, and so does the library given the secret's UTF-8 bytes instead of the whsec_ key.
      const tampered = Buffer.from(r.body.toString('utf8').replace('"PrimaryKey":1', '"PrimaryKey":2'));
      assert.notDeepEqual(tampered, r.body);
      assert.throws(() => new Webhook(secret).verify(tampered, r.headers as Record<string, string>), /No matching signature/);
      assert.throws(() => new Webhook(secret, { format: 'raw' }).verify(r.body, r.headers as Record<string, string>), /No matching signature/);
    });

    test('standard with a secret not in whsec_ form: the key is its UTF-8 bytes (format raw)', async () => {
      const id = await hookWithSecret('my shared sëcret');
      await settings().setSignature(id, 'standard');
      const r = await deliverOnce(id);
      assert.deepEqual(verifyStandard('my shared sëcret', r), r.json);
      // The library's raw format given the string itself reads it as Latin-1: not the key for non-ASCII secrets.
      assert.throws(() => new Webhook('my shared sëcret', { format: 'raw' }).verify(r.body, r.headers as Record<string, string>), /No matching/);
    });

    test('an old timestamp is refused by the library (an attempt signed 10 minutes ago)', async () => {
      const id = await hookWithSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
      await settings().setSignature(id, 'standard');
      clock.set(Date.now() - 10 * 60_000);
      const r = await deliverOnce(id);
      assert.throws(() => verifyStandard('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', r), /timestamp too old/);
    });

    test('both: NetServer\'s and Standard Webhooks\' signatures on one delivery', async () => {
      const id = await hookWithSecret('both secret');
      await settings().setSignature(id, 'both');
      const r = await deliverOnce(id);
      assert.deepEqual(signatureHeaderNames(r), ['X-SuperOffice-Signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature']);
      assert.equal(r.headers['x-superoffice-signature'], netserverSignature('both secret', r.body));
      assert.deepEqual(verifyStandard('both secret', r), r.json);
    });

    test('no secret: standard sends webhook-id and -timestamp, no signature', async () => {
      const id = await hookWithSecret(null);
      await settings().setSignature(id, 'standard');
      const r = await deliverOnce(id);
      assert.deepEqual(signatureHeaderNames(r), ['webhook-id', 'webhook-timestamp']);
    });

    test('an unknown scheme and an unknown hook are refused by name', async () => {
      const id = await hookWithSecret(null);
      await assert.rejects(settings().setSignature(id, 'hmac'), /Signature: one of netserver, standard, both/);
      await assert.rejects(settings().setSignature(id + 1000, 'standard'), /Webhook \d+/);
      await assert.rejects(settings().rotateSecret(id + 1000), /Webhook \d+/);
    });

    test('rotation: during the overlap both secrets verify; X-SuperOffice-Signature has the new one; after it only the new', async () => {
      const id = await hookWithSecret('old secret');
      await settings().setSignature(id, 'both');
      const r0 = await settings().rotateSecret(id, { overlapMs: parseDurationMs('--overlap', '24h') });
      assert.equal(r0.generated, true);
      assert.match(r0.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(r0.previousUntil?.getTime(), clock() + 24 * 3600_000);
      assert.deepEqual(await settings().get(id), { signature: 'both', rotation: { previousUntil: r0.previousUntil?.toISOString(), netserverOld: false } });
      // Stored encrypted, both of them.
      const row = await db.knex('wa_webhook_setting').where('webhook_id', id).first('previous_secret');
      assert.match(String(row.previous_secret), /^enc:v1:/);
      assert.equal((await getWebhook(db.knex, id, { secrets }))?.secret, r0.secret);

      const during = await deliverOnce(id, 1);
      assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2);
      assert.deepEqual(verifyStandard(r0.secret, during), during.json);
      assert.deepEqual(verifyStandard('old secret', during), during.json);
      assert.equal(during.headers['x-superoffice-signature'], netserverSignature(r0.secret, during.body));

      clock.set(r0.previousUntil!.getTime());
      const afterwards = await deliverOnce(id, 2);
      assert.equal(String(afterwards.headers['webhook-signature']).split(' ').length, 1);
      assert.throws(() => receiverVerifier('old secret').verify(afterwards.body, { ...afterwards.headers as Record<string, string>,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)) }), /No matching signature/);
      assert.equal(afterwards.headers['x-superoffice-signature'], netserverSignature(r0.secret, afterwards.body));
      assert.equal((await settings().get(id)).rotation, null);
    });

    test('rotation --netserver-old: X-SuperOffice-Signature keeps the old secret until the window ends', async () => {
      const id = await hookWithSecret('old secret');
      const r0 = await settings().rotateSecret(id, { secret: 'new secret', overlapMs: 3600_000, netserverOld: true });
      assert.equal(r0.generated, false);
      const during = await deliverOnce(id, 1);
      assert.equal(during.headers['x-superoffice-signature'], netserverSignature('old secret', during.body));
      assert.equal(during.headers['webhook-signature'], undefined); // scheme netserver: no Standard Webhooks headers
      clock.advance(3600_000);
      const afterwards = await deliverOnce(id, 2);
      assert.equal(afterwards.headers['x-superoffice-signature'], netserverSignature('new secret', afterwards.body));
    });

    test('a second rotation drops the first one\'s previous secret; a hook without a secret just gets one', async () => {
      const id = await hookWithSecret('first');
      await settings().setSignature(id, 'standard');
      await settings().rotateSecret(id, { secret: 'second' });
      await settings().rotateSecret(id, { secret: 'third' });
      const r = await deliverOnce(id);
      assert.deepEqual(verifyStandard('third', r), r.json);
      assert.deepEqual(verifyStandard('second', r), r.json);
      assert.throws(() => verifyStandard('first', r), /No matching signature/);

      const bare = await hookWithSecret(null);
      const r1 = await settings().rotateSecret(bare, { secret: 'only' });
      assert.equal(r1.previousUntil, null);
      assert.equal((await settings().get(bare)).rotation, null);
    });

    test('secrets reencrypt rewrites the previous secret too, and deliveries still verify under both', async () => {
      const plain = createSecretCodec();
      const id = await createHook(db.knex, { targetUrl: rx.url });
      await db.knex('webhook').where('webhook_id', id).update({ secret: 'old plain' });
      // Rotated while no key was configured: both stored as plaintext.
      await createWebhookSettings({ db, secrets: plain, now: () => new Date(clock()) }).rotateSecret(id, { secret: 'new plain' });
      await settings().setSignature(id, 'standard');
      assert.equal((await db.knex('wa_webhook_setting').where('webhook_id', id).first('previous_secret')).previous_secret, 'old plain');
      const result = await reencryptSecrets(db, secrets);
      assert.equal(result.rewritten, 2);
      assert.match(String((await db.knex('wa_webhook_setting').where('webhook_id', id).first('previous_secret')).previous_secret), /^enc:v1:/);
      assert.equal((await reencryptSecrets(db, secrets)).rewritten, 0);
      const r = await deliverOnce(id);
      assert.deepEqual(verifyStandard('new plain', r), r.json);
      assert.deepEqual(verifyStandard('old plain', r), r.json);
    });

    test('a previous secret no configured key opens: the delivery is not sent (secret_unreadable)', async () => {
      const id = await hookWithSecret('x');
      await settings().rotateSecret(id, { secret: 'y' });
      const other = createSecretCodec({ key: 'another-test-key-of-thirty-two-chars!!' });
      await db.knex('wa_webhook_setting').where('webhook_id', id).update({ previous_secret: other.encode('x') });
      await enqueueEvent(db, { eventName: 'contact.created', primaryKey: 1, data: {}, changedByAssociateId: 7, timestamp: new Date(clock()) },
        [id], { now: clock() });
      const w = createWorker({ db, config: testConfig(), logger: silentLogger, clock, random: () => 0.5, mailer: null, secrets });
      workers.push(w);
      await w.drain();
      assert.equal(rx.requests.length, 0);
      const d = await db.knex('wa_delivery').first('status', 'last_error');
      assert.equal(d.status, 'pending');
      assert.match(String(d.last_error), /Not sent/);
    });
  });
}
