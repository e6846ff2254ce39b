/**
 * SignalEvent through the real app: when the call returns, the event and one pending delivery per Active
 * webhook subscribed to that exact event name are committed. Checked on a second, independent connection to the
 * test database (it only sees committed rows), with the worker not running so the rows stay as enqueued.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, type Database } from '../../src/store/db.js';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { startApp, startReceiver, textAt, webhookXml, type Receiver, type SoapResult, type TestApp } from '../helpers/app.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface DeliveryRow { delivery_id: unknown; event_id: unknown; webhook_id: unknown; event_uuid: string; status: string; attempt_count: unknown }
interface EventRow { event_id: unknown; name: string; primary_key: unknown; data: string; changed_by_associate_id: unknown }

function dataXml(pairs: Array<[string, string, string]>): string {
  return `<Data>${pairs.map(([k, type, v]) =>
    `<StringObjectKeyValuePair><Key>${k}</Key><Value i:type="xs:${type}">${v}</Value></StringObjectKeyValuePair>`).join('')}</Data>`;
}

for (const dialect of testDialects) {
  describe(`SignalEvent enqueues deliveries (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let receiver: Receiver;
    let observer: Database;
    const ids: Record<string, number> = {};

    const signal = (v: number, name: string, pk: number, data = ''): Promise<SoapResult> =>
      app.call(v, 'SignalEvent', `<EventName>${name}</EventName><PrimaryKey>${pk}</PrimaryKey>${data}`);
    const events = async () => (await observer.knex('wa_event').orderBy('event_id')) as EventRow[];
    const deliveries = async () => (await observer.knex('wa_delivery').orderBy('delivery_id')) as DeliveryRow[];

    before(async () => {
      app = await startApp(dialect);
      receiver = await startReceiver(200);
      observer = openDatabase(app.db.url, { poolMax: 1 });
      const hooks: Array<[string, string[], string]> = [
        ['a', ['contact.created', 'contact.changed'], 'Active'],
        ['b', ['contact.created'], 'Active'],
        ['stopped', ['contact.created'], 'Stopped'],
        ['broken', ['contact.created'], 'TooManyErrors'],
        ['sales', ['sale.changed'], 'Active'],
      ];
      for (const [name, evs, state] of hooks) {
        const r = await app.call(88, 'SaveWebhook', webhookXml({ id: 0, name, events: evs, targetUrl: receiver.url, state }));
        assert.equal(r.succeeded, true, `${name}: ${r.exception?.message}`);
        ids[name] = Number(textAt(r.response, 'WebhookId'));
      }
      receiver.requests.length = 0;
    });
    after(async () => {
      await observer?.close();
      await receiver?.close();
      await app?.close();
    });

    test('one pending delivery per Active subscriber of the exact event name, committed before the answer', async () => {
      const r = await signal(88, 'contact.created', 42, dataXml([
        ['name', 'string', 'Ann'], ['count', 'int', '3'], ['vip', 'boolean', 'true'], ['when', 'dateTime', '2024-01-02T03:04:05.5'],
      ]).replace('</Data>', '<StringObjectKeyValuePair><Key>tags</Key><Value i:type="a:ArrayOfstring"><a:string>x</a:string>'
        + '<a:string>y</a:string></Value></StringObjectKeyValuePair></Data>'));
      assert.equal(r.status, 200);
      assert.equal(r.succeeded, true, r.exception?.message ?? r.text.slice(0, 500));
      assert.equal(r.body?.name, 'SignalEventResponse');
      assert.equal(r.body?.children.length, 0);

      const ev = await events();
      assert.equal(ev.length, 1);
      assert.equal(ev[0].name, 'contact.created');
      assert.equal(Number(ev[0].primary_key), 42);
      assert.equal(Number(ev[0].changed_by_associate_id), 1);
      // Dates are stored in the payload's Timestamp form (UTC, Z), as FieldValues will carry them.
      assert.deepEqual(JSON.parse(ev[0].data), { name: 'Ann', count: 3, vip: true, when: '2024-01-02T03:04:05.5Z', tags: ['x', 'y'] });

      const d = await deliveries();
      assert.deepEqual(d.map((x) => Number(x.webhook_id)).sort((p, q) => p - q), [ids.a, ids.b]);
      for (const x of d) {
        assert.equal(x.status, 'pending');
        assert.equal(Number(x.attempt_count), 0);
        assert.equal(String(x.event_id), String(ev[0].event_id));
        assert.match(x.event_uuid, GUID);
      }
      assert.notEqual(d[0].event_uuid, d[1].event_uuid, 'one EventId per delivery');
      assert.equal(receiver.requests.length, 0, 'the worker is not running: nothing is sent');
    });

    test('numbers in Data and Properties keep NetServer\'s JSON form: NaN/Infinity as strings, every digit of longs and decimals', async () => {
      const numbers: Array<[string, string, string]> = [
        ['nan', 'double', 'NaN'], ['inf', 'double', 'INF'], ['ninf', 'double', '-INF'], ['huge', 'double', '1e309'],
        ['maxLong', 'long', '9223372036854775807'], ['minLong', 'long', '-9223372036854775808'], ['ulong', 'unsignedLong', '18446744073709551615'],
        ['dec', 'decimal', '79228162514264337593543950335'], ['scaled', 'decimal', '+012.50'], ['plain', 'decimal', '0.25'],
      ];
      const r = await signal(88, 'contact.changed', 1, dataXml(numbers));
      assert.equal(r.succeeded, true, r.exception?.message ?? undefined);
      const ev = (await events()).at(-1)!;
      assert.equal(ev.data, '{"nan":"NaN","inf":"Infinity","ninf":"-Infinity","huge":"Infinity","maxLong":9223372036854775807,'
        + '"minLong":-9223372036854775808,"ulong":18446744073709551615,"dec":79228162514264337593543950335,"scaled":12.50,"plain":0.25}');
      const out = await signal(88, 'contact.changed', 1, dataXml([['tooBig', 'long', '9223372036854775808']]));
      assert.equal(out.succeeded, false);
      assert.match(out.exception?.message ?? '', /Data\.StringObjectKeyValuePair\[0\]\.Value.*out of range for xs:long/);

      const props = `<Properties>${numbers.map(([k, type, v]) =>
        `<StringObjectKeyValuePair><Key>${k}</Key><Value i:type="xs:${type}">${v}</Value></StringObjectKeyValuePair>`).join('')}</Properties>`;
      const saved = await app.call(88, 'SaveWebhook', webhookXml({ id: 0, name: 'numbers', events: ['numbers.signalled'], targetUrl: receiver.url, state: 'Stopped', tail: props }));
      assert.equal(saved.succeeded, true, saved.exception?.message ?? undefined);
      const got = await app.call(88, 'GetWebhook', `<WebhookId>${textAt(saved.response, 'WebhookId')}</WebhookId>`);
      const values = Object.fromEntries([...got.text.matchAll(/<Key>(\w+)<\/Key><Value i:type="b:(\w+)">([^<]*)<\/Value>/g)].map((m) => [m[1], `${m[2]}:${m[3]}`]));
      assert.deepEqual(values, {
        nan: 'string:NaN', inf: 'string:Infinity', ninf: 'string:-Infinity', huge: 'string:Infinity',
        maxLong: 'long:9223372036854775807', minLong: 'long:-9223372036854775808', ulong: 'decimal:18446744073709551615',
        dec: 'decimal:79228162514264337593543950335', scaled: 'decimal:12.50', plain: 'double:0.25',
      });
    });

    test('other event names reach only their own subscribers; unsubscribed names enqueue nothing', async () => {
      const before = (await deliveries()).length;
      const r1 = await signal(85, 'sale.changed', 7);
      assert.equal(r1.succeeded, true, r1.exception?.message ?? undefined);
      let d = await deliveries();
      assert.equal(d.length, before + 1);
      assert.equal(Number(d[d.length - 1].webhook_id), ids.sales);

      const r2 = await signal(88, 'contact.changed', 8);
      assert.equal(r2.succeeded, true, r2.exception?.message ?? undefined);
      d = await deliveries();
      assert.equal(d.length, before + 2);
      assert.equal(Number(d[d.length - 1].webhook_id), ids.a);

      const evBefore = (await events()).length;
      for (const name of ['person.created', 'contact', 'contact.*', 'Contact.Created']) {
        const r = await signal(88, name, 1);
        // 'contact' and 'contact.*' are not event names (no wildcards); the others are well-formed, nobody listens.
        if (name === 'contact' || name === 'contact.*') assert.equal(r.succeeded, false, name);
        else assert.equal(r.succeeded, true, `${name}: ${r.exception?.message}`);
      }
      assert.equal((await deliveries()).length, before + 2);
      // No subscribers: no event row either (nothing to deliver).
      assert.equal((await events()).length, evBefore);
    });

    test('a Stopped hook made Active receives later events only', async () => {
      const before = await deliveries();
      const r = await app.call(88, 'SaveWebhook', webhookXml({ id: ids.stopped, name: 'stopped', events: ['contact.created'], targetUrl: receiver.url, state: 'Active' }));
      assert.equal(r.succeeded, true, r.exception?.message ?? undefined);
      assert.equal((await deliveries()).length, before.length, 'activation does not invent deliveries');
      assert.equal((await signal(88, 'contact.created', 9)).succeeded, true);
      const after = await deliveries();
      assert.deepEqual(after.slice(before.length).map((x) => Number(x.webhook_id)).sort((p, q) => p - q), [ids.a, ids.b, ids.stopped]);
    });

    const bad: Array<[string, string, RegExp]> = [
      ['empty', '<EventName></EventName><PrimaryKey>1</PrimaryKey>', /^EventName: is required$/],
      ['missing', '<PrimaryKey>1</PrimaryKey>', /^EventName: is required$/],
      ['no dot', '<EventName>contactcreated</EventName><PrimaryKey>1</PrimaryKey>', /^EventName: 'contactcreated' is not an event name/],
      ['spaces', '<EventName>contact created.x</EventName><PrimaryKey>1</PrimaryKey>', /^EventName: /],
      ['too long', `<EventName>a.${'b'.repeat(300)}</EventName><PrimaryKey>1</PrimaryKey>`, /^EventName: is longer than 200 characters$/],
    ];
    for (const [what, inner, message] of bad) {
      test(`a bad EventName (${what}) -> ExceptionInfo naming EventName, nothing enqueued`, async () => {
        const ev = (await events()).length;
        const d = (await deliveries()).length;
        const r = await app.call(88, 'SignalEvent', inner);
        assert.equal(r.status, 200);
        assert.equal(r.succeeded, false, r.text.slice(0, 400));
        assert.match(r.exception?.message ?? '', message);
        assert.equal(r.exception?.parameters.field, 'EventName');
        assert.equal(r.exception?.exceptionType, 'System.ArgumentException');
        assert.equal((await events()).length, ev);
        assert.equal((await deliveries()).length, d);
      });
    }

    test('SignalEvent with a bad ticket enqueues nothing', async () => {
      const d = (await deliveries()).length;
      const r = await app.call(88, 'SignalEvent', '<EventName>contact.created</EventName><PrimaryKey>1</PrimaryKey>', { ticket: null });
      assert.equal(r.succeeded, false);
      assert.equal((await deliveries()).length, d);
    });
  });
}
