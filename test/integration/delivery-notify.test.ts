/**
 * NetServer's failure e-mails (FirstFailure and Disabling, webhook.notify_when / notify_via) end to end: a real
 * worker against SQLite and PostgreSQL, a loopback receiver, and a real SMTP server on 127.0.0.1 that records each
 * message. The retry schedule is driven by an injected clock and worker.drain().
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freshDatabase, dialectAvailability, testDialects, type TestDatabase } from '../helpers/db.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';
import { noticeRecipients, type NotifySettings } from '../../src/outbox/outbox-record.js';
import { createWorker, type Worker } from '../../src/outbox/worker.js';
import { firstFailureError } from '../../src/outbox/error-mailer.js';
import type { ConfigInput } from '../../src/config.js';
import {
  createHook, resetDeliveryState, silentLogger, startReceiver, startSmtpSink, testClock, testConfig, type Receiver, type SmtpSink, type TestClock,
} from './delivery-support.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SECRET = 'the-webhook-secret-7f3a91';

/** A loopback port with nothing listening (connections are refused). */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const event = (primaryKey: number, eventName = 'contact.created') => ({
  eventName, primaryKey, data: { contact_id: primaryKey }, changedByAssociateId: 7, timestamp: new Date(T0),
});

const FIRST_FAILURE_SUBJECT = /^Webhook "[^"]*" \(id \d+\) failed to deliver an event$/;
const DISABLING_SUBJECT = /^Webhook "[^"]*" \(id \d+\) was turned off: TooManyErrors$/;

describe('notification recipients (webhook.notify_via / notify_when)', () => {
  const base: NotifySettings = { errorsEmail: 'ops@example.com', notifyVia: 0, notifyWhen: 0, notifyEmails: ['dev@example.com', 'OPS@example.com'] };
  const cases: Array<[string, Partial<NotifySettings>, string[], string[]]> = [
    // name, settings, first_failure recipients, disabling recipients
    ['flags never set (legacy ErrorsEmail hooks)', {}, [], ['ops@example.com', 'dev@example.com']],
    ['FirstFailure only, via unset', { notifyWhen: 1 }, ['ops@example.com', 'dev@example.com'], ['ops@example.com']],
    ['Disabling only, Email', { notifyVia: 1, notifyWhen: 2 }, [], ['ops@example.com', 'dev@example.com']],
    ['both moments, Email', { notifyVia: 1, notifyWhen: 3 }, ['ops@example.com', 'dev@example.com'], ['ops@example.com', 'dev@example.com']],
    ['both moments, InApp only: nothing but the ErrorsEmail Disabling e-mail', { notifyVia: 2, notifyWhen: 3 }, [], ['ops@example.com']],
    ['both moments, Email and InApp', { notifyVia: 3, notifyWhen: 3 }, ['ops@example.com', 'dev@example.com'], ['ops@example.com', 'dev@example.com']],
    ['no ErrorsEmail, FirstFailure', { errorsEmail: null, notifyVia: 1, notifyWhen: 1 }, ['dev@example.com', 'OPS@example.com'], []],
    ['blank ErrorsEmail', { errorsEmail: '  ', notifyEmails: [] , notifyWhen: 3 }, [], []],
  ];
  for (const [name, s, first, disabling] of cases) {
    test(name, () => {
      const settings = { ...base, ...s };
      assert.deepEqual(noticeRecipients(settings, 'first_failure'), first);
      assert.deepEqual(noticeRecipients(settings, 'disabling'), disabling);
    });
  }

  test('the FirstFailure error line: the status line, or the error class and the transport error; never the body', () => {
    assert.equal(firstFailureError(500, 'http', 'HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\nsecret body'),
      'HTTP/1.1 500 Internal Server Error');
    assert.equal(firstFailureError(null, 'connect', 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9'), 'connect: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9');
    assert.equal(firstFailureError(null, 'timeout', ''), 'timeout');
    assert.equal(firstFailureError(502, 'http', ''), 'HTTP 502');
  });
});

for (const dialect of testDialects) {
  describe(`failure e-mails on ${dialect}`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    let rx: Receiver;
    let smtp: SmtpSink;
    let clock: TestClock;
    const workers: Worker[] = [];

    const worker = (config: ConfigInput = {}) => {
      const w = createWorker({
        db, config: testConfig({ smtpUrl: smtp.url, smtpFrom: 'agent@example.com', retryBaseMs: 60_000, ...config }),
        logger: silentLogger, clock, random: () => 0.5,
      });
      workers.push(w);
      return w;
    };
    const usage = async (id: number) => Number((await db.knex('webhook_usage').where('webhook_usage_id', id).first('consecutive_errors')).consecutive_errors);
    const state = async (id: number) => Number((await db.knex('webhook').where('webhook_id', id).first('state')).state);
    /** Runs attempts until the webhook has `n` consecutive errors (or leaves Active), advancing the clock past each retry. */
    const failUntil = async (w: Worker, hook: number, n: number) => {
      for (let step = 0; step < 50 && (await usage(hook)) < n && (await state(hook)) === 1; step++) {
        await w.drain();
        clock.advance(10 * 60_000);
      }
      assert.equal(await usage(hook), n);
    };

    before(async () => {
      db = await freshDatabase(dialect);
      rx = await startReceiver();
      smtp = await startSmtpSink();
    });
    after(async () => {
      for (const w of workers) await w.stop({ graceMs: 0 });
      await rx.close();
      await smtp.close();
      await db.drop();
    });
    beforeEach(async () => {
      await resetDeliveryState(db, rx, workers);
      smtp.mails.length = 0;
      clock = testClock(T0);
    });

    test('FirstFailure: one e-mail at the first failed attempt, none for the next ones, again after a success', async () => {
      const hook = await createHook(db.knex, {
        name: 'Orders hook', targetUrl: rx.url, secret: SECRET, errorsEmail: 'ops@example.com', errorEmails: ['dev@example.com'],
        notifyVia: ['Email'], notifyWhen: ['FirstFailure', 'Disabling'],
      });
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      rx.respond(() => ({ status: 500, body: 'stack trace from the target' }));
      const w = worker({ maxConsecutiveErrors: 9 });

      assert.equal(await w.drain(), 1);
      assert.equal(smtp.mails.length, 1, 'the first failed attempt sends the FirstFailure e-mail');
      const [mail] = smtp.mails;
      assert.deepEqual(mail.to, ['dev@example.com', 'ops@example.com']);
      assert.equal(mail.subject, `Webhook "Orders hook" (id ${hook}) failed to deliver an event`);
      const eventId = String(rx.requests[0].headers['x-superoffice-eventid']);
      assert.match(eventId, /^[0-9a-f-]{36}$/);
      assert.match(mail.body, new RegExp(`^The webhook "Orders hook" \\(id ${hook}\\) could not deliver an event\\.$`, 'm'));
      assert.match(mail.body, /^Event: contact\.created$/m);
      assert.match(mail.body, new RegExp(`^EventId: ${eventId}$`, 'm'));
      assert.match(mail.body, /^Attempt: 1$/m);
      assert.match(mail.body, /^Error: HTTP\/1\.1 500 Internal Server Error$/m);
      assert.match(mail.body, /After 9 failed attempts in a row/);
      assert.equal(mail.raw.includes(SECRET), false, 'the secret is never in an e-mail');
      assert.equal(mail.raw.includes('stack trace from the target'), false, 'nor the response body');

      await failUntil(w, hook, 3);
      assert.equal(smtp.mails.length, 1, 'failures 2 and 3 of the same run send nothing');

      rx.respond(() => ({ status: 200, body: 'ok' }));
      await w.drain();
      assert.equal(await usage(hook), 0);
      assert.deepEqual(await db.knex('wa_delivery').pluck('status'), ['succeeded']);

      // A new run of failures, this time a transport error: connection refused.
      await db.knex('webhook').where('webhook_id', hook).update({ target_url: `http://127.0.0.1:${await closedPort()}/hook` });
      await enqueueEvent(db.knex, event(2, 'person.changed'), [hook], { now: clock() });
      await w.drain();
      assert.equal(await usage(hook), 1);
      assert.equal(smtp.mails.length, 2, 'the first failure after a success sends again');
      const second = smtp.mails[1];
      assert.match(second.subject, FIRST_FAILURE_SUBJECT);
      assert.match(second.body, /^Event: person\.changed$/m);
      const secondId = String((await db.knex('wa_delivery').where('status', 'pending').first('event_uuid')).event_uuid);
      assert.match(second.body, new RegExp(`^EventId: ${secondId}$`, 'm'));
      assert.match(second.body, /^Error: connect: ECONNREFUSED\b.*$/m);
    });

    test('FirstFailure and Disabling in one run: two different e-mails, each once', async () => {
      const hook = await createHook(db.knex, {
        name: 'Both', targetUrl: rx.url, errorEmails: ['dev@example.com'], notifyVia: ['Email'], notifyWhen: ['FirstFailure', 'Disabling'],
      });
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      rx.respond(() => ({ status: 503, body: 'busy' }));
      const w = worker({ maxConsecutiveErrors: 3 });
      await failUntil(w, hook, 3);
      assert.equal(await state(hook), 3);
      assert.deepEqual(smtp.mails.map((m) => [m.to, m.subject.replace(/".*"/, '"…"')]), [
        [['dev@example.com'], `Webhook "…" (id ${hook}) failed to deliver an event`],
        [['dev@example.com'], `Webhook "…" (id ${hook}) was turned off: TooManyErrors`],
      ]);
      assert.match(smtp.mails[0].body, /^Error: HTTP\/1\.1 503 Service Unavailable$/m);
    });

    test('notify_when = 0 (a legacy ErrorsEmail hook): no FirstFailure e-mail, the Disabling e-mail still goes', async () => {
      const hook = await createHook(db.knex, { name: 'Legacy', targetUrl: rx.url, errorsEmail: 'legacy@example.com' });
      assert.deepEqual(await db.knex('webhook').where('webhook_id', hook).first('notify_via', 'notify_when')
        .then((r: Record<string, unknown>) => [Number(r.notify_via), Number(r.notify_when)]), [0, 0]);
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      rx.respond(() => ({ status: 500 }));
      const w = worker({ maxConsecutiveErrors: 3 });
      await w.drain();
      assert.equal(await usage(hook), 1);
      assert.equal(smtp.mails.length, 0, 'legacy hooks never asked for FirstFailure');
      await failUntil(w, hook, 3);
      assert.equal(smtp.mails.length, 1);
      assert.deepEqual(smtp.mails[0].to, ['legacy@example.com']);
      assert.match(smtp.mails[0].subject, DISABLING_SUBJECT);
    });

    test('Disabling only: no FirstFailure e-mail', async () => {
      const hook = await createHook(db.knex, {
        targetUrl: rx.url, errorsEmail: 'ops@example.com', errorEmails: ['dev@example.com'], notifyVia: ['Email'], notifyWhen: ['Disabling'],
      });
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      rx.respond(() => ({ status: 500 }));
      const w = worker({ maxConsecutiveErrors: 2 });
      await w.drain();
      assert.equal(smtp.mails.length, 0);
      await failUntil(w, hook, 2);
      assert.equal(smtp.mails.length, 1);
      assert.deepEqual(smtp.mails[0].to, ['dev@example.com', 'ops@example.com']);
      assert.match(smtp.mails[0].subject, DISABLING_SUBJECT);
    });

    test('NotifyVia InApp only is stored, but only the legacy ErrorsEmail Disabling e-mail is sent', async () => {
      const hook = await createHook(db.knex, {
        targetUrl: rx.url, errorsEmail: 'ops@example.com', errorEmails: ['dev@example.com'], notifyVia: ['InApp'], notifyWhen: ['FirstFailure', 'Disabling'],
      });
      const stored = await db.knex('webhook').where('webhook_id', hook).first('notify_via', 'notify_when');
      assert.deepEqual([Number(stored.notify_via), Number(stored.notify_when)], [2, 3]);
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      rx.respond(() => ({ status: 500 }));
      const w = worker({ maxConsecutiveErrors: 2 });
      await w.drain();
      assert.equal(smtp.mails.length, 0, 'no in-app channel, and e-mail was not chosen');
      await failUntil(w, hook, 2);
      assert.deepEqual(smtp.mails.map((m) => m.to), [['ops@example.com']]);
      assert.match(smtp.mails[0].subject, DISABLING_SUBJECT);
    });

    test('410 on the first failure is both moments: the Disabling e-mail, and FirstFailure only to whom that missed', async () => {
      const firstOnly = await createHook(db.knex, {
        name: 'First only', targetUrl: `${rx.url}?a`, errorsEmail: 'ops@example.com', errorEmails: ['dev@example.com'],
        notifyVia: ['Email'], notifyWhen: ['FirstFailure'],
      });
      const both = await createHook(db.knex, {
        name: 'Both', targetUrl: `${rx.url}?b`, errorsEmail: 'ops@example.com', errorEmails: ['dev@example.com'],
        notifyVia: ['Email'], notifyWhen: ['FirstFailure', 'Disabling'],
      });
      await enqueueEvent(db.knex, event(1), [firstOnly], { now: T0 });
      rx.respond(() => ({ status: 410, body: 'gone' }));
      const w = worker({ maxConsecutiveErrors: 9 });
      await w.drain();
      assert.equal(await state(firstOnly), 3);
      assert.deepEqual(smtp.mails.map((m) => [m.to, DISABLING_SUBJECT.test(m.subject) ? 'disabling' : 'first']), [
        [['ops@example.com'], 'disabling'],
        [['dev@example.com'], 'first'],
      ]);
      assert.match(smtp.mails[0].body, /because the target answered 410 Gone/);
      assert.match(smtp.mails[1].body, /^Error: HTTP\/1\.1 410 Gone$/m);

      smtp.mails.length = 0;
      await enqueueEvent(db.knex, event(2), [both], { now: clock() });
      await w.drain();
      assert.equal(await state(both), 3);
      assert.deepEqual(smtp.mails.map((m) => [m.to, DISABLING_SUBJECT.test(m.subject) ? 'disabling' : 'first']), [
        [['dev@example.com', 'ops@example.com'], 'disabling'],
      ]);
    });

    test('an unreachable SMTP server costs the e-mail only: attempts are recorded and the worker goes on', async () => {
      const hook = await createHook(db.knex, { targetUrl: rx.url, errorsEmail: 'ops@example.com', notifyWhen: ['FirstFailure'] });
      await enqueueEvent(db.knex, event(1), [hook], { now: T0 });
      rx.respond(() => ({ status: 500 }));
      const w = worker({ maxConsecutiveErrors: 9, smtpUrl: `smtp://127.0.0.1:${await closedPort()}` });
      assert.equal(await w.drain(), 1);
      assert.equal(await usage(hook), 1);
      assert.deepEqual(await db.knex('wa_attempt').pluck('outcome'), ['failure']);
      rx.respond(() => ({ status: 200 }));
      clock.advance(1000);
      assert.equal(await w.drain(), 1);
      assert.deepEqual(await db.knex('wa_delivery').pluck('status'), ['succeeded']);
      assert.equal(smtp.mails.length, 0);
    });
  });
}
