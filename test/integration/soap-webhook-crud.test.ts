/**
 * Issue 2's operation semantics through the real app over HTTP (Services88): CreateDefaultWebhook, SaveWebhook
 * (create, update, unknown id, field validation), GetAllWebhooks filters, DeleteWebhook, GetWebhook and
 * GetLastError. The database is checked directly where "nothing was saved" is the claim.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import {
  child, itemsAt, startApp, startReceiver, textAt, webhookXml, type Receiver, type SoapResult, type TestApp, type WebhookXml,
} from '../helpers/app.js';

const V = 88;
const MIN_DATE = '0001-01-01T00:00:00';

function assertOk(r: SoapResult, what: string): void {
  assert.equal(r.status, 200, `${what}: HTTP ${r.status}`);
  assert.equal(r.succeeded, true, `${what}: ${r.exception?.message ?? r.text.slice(0, 600)}`);
  assert.equal(r.exception, null);
}

/** A business error: HTTP 200, Succeeded=false, ExceptionInfo, nil Response. */
function assertFailed(r: SoapResult, what: string): NonNullable<SoapResult['exception']> {
  assert.equal(r.status, 200, `${what}: HTTP ${r.status}`);
  assert.equal(r.succeeded, false, `${what}: expected Succeeded=false: ${r.text.slice(0, 600)}`);
  assert.ok(r.exception, `${what}: no ExceptionInfo`);
  if (r.response) assert.equal(r.response.nil, true, `${what}: Response is not nil`);
  return r.exception;
}

/** xs:dateTime as the service writes it (UTC wall clock without offset). */
function wireDate(text: string | null | undefined): Date {
  assert.ok(text, 'date missing');
  return new Date(/Z|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`);
}

async function webhookCount(app: TestApp): Promise<number> {
  const [row] = await app.db.knex('webhook').count({ n: '*' });
  return Number(row.n);
}

for (const dialect of testDialects) {
  describe(`Webhook operations over SOAP (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let receiver: Receiver;
    const save = (w: WebhookXml) => app.call(V, 'SaveWebhook', webhookXml(w));
    const valid = (over: WebhookXml = {}): WebhookXml => ({
      id: 0, name: 'hook', events: ['contact.created'], targetUrl: receiver.url, ...over,
    });

    before(async () => {
      app = await startApp(dialect);
      receiver = await startReceiver(200);
    });
    after(async () => {
      await receiver?.close();
      await app?.close();
    });

    test('CreateDefaultWebhook returns the documented defaults and saves nothing', async () => {
      const r = await app.call(V, 'CreateDefaultWebhook', '');
      assertOk(r, 'CreateDefaultWebhook');
      const h = r.response;
      assert.equal(textAt(h, 'WebhookId'), '0');
      assert.equal(textAt(h, 'State'), 'Active');
      assert.equal(textAt(h, 'Type'), 'webhook');
      assert.deepEqual(itemsAt(h, 'Events'), ['contact.created', 'contact.deleted']);
      assert.equal(textAt(h, 'Name'), null);
      assert.equal(textAt(h, 'TargetUrl'), null);
      assert.equal(textAt(h, 'Secret'), null);
      assert.equal(textAt(h, 'Headers'), null);
      assert.equal(textAt(h, 'Properties'), null);
      assert.equal(textAt(h, 'Registered'), MIN_DATE);
      assert.equal(textAt(h, 'Updated'), MIN_DATE);
      assert.equal(textAt(h, 'RegisteredAssociate'), null);
      assert.equal(textAt(h, 'UpdatedAssociate'), null);

      const all = await app.call(V, 'GetAllWebhooks', '');
      assertOk(all, 'GetAllWebhooks');
      assert.ok(all.response && !all.response.nil, 'GetAllWebhooks Response is nil');
      assert.equal(all.response.children.length, 0);
      assert.equal(await webhookCount(app), 0);
      assert.equal(receiver.requests.length, 0, 'CreateDefaultWebhook must not ping anything');
    });

    let createdId = 0;
    let registered = '';

    test('SaveWebhook with WebhookId 0 creates; Registered and RegisteredAssociate are set', async () => {
      const before = Date.now();
      const r = await save(valid({ name: 'first', events: ['contact.created', 'sale.changed'], secret: 'abc' }));
      const afterCall = Date.now();
      assertOk(r, 'create');
      const h = r.response;
      createdId = Number(textAt(h, 'WebhookId'));
      assert.ok(Number.isInteger(createdId) && createdId > 0, `WebhookId ${createdId}`);
      assert.equal(textAt(h, 'Name'), 'first');
      assert.deepEqual(itemsAt(h, 'Events'), ['contact.created', 'sale.changed']);
      assert.equal(textAt(h, 'TargetUrl'), receiver.url);
      assert.equal(textAt(h, 'Secret'), 'abc');
      assert.equal(textAt(h, 'State'), 'Active');
      assert.equal(textAt(h, 'Type'), 'webhook');
      registered = textAt(h, 'Registered') ?? '';
      const at = wireDate(registered).getTime();
      // The stored time is the save's, to the millisecond: within the call, give or take clock rounding.
      assert.ok(at >= before - 1000 && at <= afterCall + 1000, `Registered ${registered} outside the call`);
      assert.equal(textAt(h, 'RegisteredAssociate', 'AssociateId'), '1');
      assert.equal(textAt(h, 'RegisteredAssociate', 'UserName'), 'admin');
      assert.equal(textAt(h, 'RegisteredAssociate', 'Name'), 'admin');
      assert.equal(textAt(h, 'Updated'), MIN_DATE);
      assert.equal(textAt(h, 'UpdatedAssociate'), null);

      const got = await app.call(V, 'GetWebhook', `<WebhookId>${createdId}</WebhookId>`);
      assertOk(got, 'GetWebhook');
      assert.equal(textAt(got.response, 'Name'), 'first');
      assert.equal(textAt(got.response, 'Registered'), registered);
      assert.equal(await webhookCount(app), 1);
    });

    test('SaveWebhook with an existing id updates it, keeping the id and setting Updated/UpdatedAssociate', async () => {
      assert.ok(createdId > 0, 'needs the created hook');
      const r = await save(valid({ id: createdId, name: 'first renamed', events: ['contact.deleted'], state: 'Stopped' }));
      assertOk(r, 'update');
      const h = r.response;
      assert.equal(textAt(h, 'WebhookId'), String(createdId));
      assert.equal(textAt(h, 'Name'), 'first renamed');
      assert.deepEqual(itemsAt(h, 'Events'), ['contact.deleted']);
      assert.equal(textAt(h, 'State'), 'Stopped');
      assert.equal(textAt(h, 'Registered'), registered);
      assert.equal(textAt(h, 'RegisteredAssociate', 'UserName'), 'admin');
      const updated = textAt(h, 'Updated');
      assert.notEqual(updated, MIN_DATE);
      assert.ok(wireDate(updated).getTime() >= wireDate(registered).getTime(), `Updated ${updated} before Registered ${registered}`);
      assert.equal(textAt(h, 'UpdatedAssociate', 'AssociateId'), '1');
      assert.equal(textAt(h, 'UpdatedAssociate', 'UserName'), 'admin');
      assert.equal(await webhookCount(app), 1);

      // Unknown State on update keeps the stored state.
      const again = await save(valid({ id: createdId, name: 'first renamed', events: ['contact.deleted'], state: 'Unknown' }));
      assertOk(again, 'update with Unknown state');
      assert.equal(textAt(again.response, 'State'), 'Stopped');
    });

    test('SaveWebhook with an unknown id fails clearly and creates nothing', async () => {
      const pings = receiver.requests.length;
      const r = await save(valid({ id: 999999 }));
      const ex = assertFailed(r, 'unknown id');
      assert.equal(ex.message, 'Webhook 999999 not found');
      assert.equal(ex.exceptionType, 'SuperOffice.CRM.SoNotFoundException');
      assert.equal(ex.parameters.code, 'not_found');
      assert.equal(await webhookCount(app), 1);
      assert.equal(receiver.requests.length, pings, 'no test ping for a save that cannot happen');
    });

    const crlfHeaders = '<Headers><StringKeyValuePair><Key>X-Bad</Key><Value>a&#13;&#10;Injected: yes</Value></StringKeyValuePair></Headers>';
    const invalid: Array<{ what: string; w: WebhookXml; field: string; message: RegExp; code?: string }> = [
      { what: 'Name missing', w: { name: undefined }, field: 'Name', message: /^Name: is required$/ },
      { what: 'Name blank', w: { name: '   ' }, field: 'Name', message: /^Name: is required$/ },
      { what: 'Events missing', w: { events: undefined }, field: 'Events', message: /^Events: must contain at least one event name$/ },
      { what: 'Events empty', w: { events: [] }, field: 'Events', message: /^Events: must contain at least one event name$/ },
      { what: 'Events bad name', w: { events: ['contact.created', 'nodot'] }, field: 'Events[1]', message: /^Events\[1\]: 'nodot' is not an event name/ },
      { what: 'TargetUrl missing', w: { targetUrl: undefined }, field: 'TargetUrl', message: /^TargetUrl: is required$/ },
      { what: 'TargetUrl not a URL', w: { targetUrl: 'not a url' }, field: 'TargetUrl', message: /^TargetUrl: must be an absolute http\(s\) URL$/ },
      { what: 'TargetUrl ftp', w: { targetUrl: 'ftp://example.com/x' }, field: 'TargetUrl', message: /^TargetUrl: must be an http\(s\) URL$/ },
      { what: 'Type crmscript', w: { type: 'crmscript' }, field: 'Type', message: /^Type: 'crmscript' webhooks .* not supported/, code: 'not_supported' },
      { what: 'Type other', w: { type: 'zapier' }, field: 'Type', message: /^Type: 'zapier' is not supported/ },
      { what: 'Headers CR/LF', w: { tail: crlfHeaders }, field: 'Headers', message: /^Headers: the value of 'X-Bad' contains CR, LF/ },
      { what: 'Headers reserved', w: { headers: { 'X-SuperOffice-Signature': 'forged' } }, field: 'Headers', message: /^Headers: 'X-SuperOffice-Signature' is set by the agent/ },
      { what: 'Headers bad name', w: { headers: { 'Bad Name': 'v' } }, field: 'Headers', message: /^Headers: 'Bad Name' is not a valid header name$/ },
      { what: 'Headers beyond Latin-1', w: { headers: { Authorization: 'Bearer a€b' } }, field: 'Headers',
        message: /^Headers: the value of 'Authorization' contains '€' \(U\+20AC\): header values are limited to Latin-1/ },
    ];
    for (const c of invalid) {
      test(`SaveWebhook validation: ${c.what} -> error naming ${c.field}, nothing saved or pinged`, async () => {
        const count = await webhookCount(app);
        const pings = receiver.requests.length;
        const w = { ...valid(), ...c.w };
        const ex = assertFailed(await save(w), c.what);
        assert.match(ex.message ?? '', c.message);
        assert.equal(ex.parameters.field, c.field);
        assert.equal(ex.parameters.code, c.code ?? 'invalid_argument');
        assert.equal(await webhookCount(app), count);
        assert.equal(receiver.requests.length, pings);
      });
    }

    test('DeleteWebhook, then GetWebhook/GetLastError/DeleteWebhook of that id fail; GetLastError of a fresh hook is ""', async () => {
      const created = await save(valid({ name: 'to delete' }));
      assertOk(created, 'create');
      const id = Number(textAt(created.response, 'WebhookId'));

      const last = await app.call(V, 'GetLastError', `<WebhookId>${id}</WebhookId>`);
      assertOk(last, 'GetLastError fresh');
      assert.ok(last.response, 'GetLastError has no Response');
      assert.equal(last.response.nil, false, 'GetLastError of a fresh hook must be "", not nil');
      assert.equal(last.response.text, '');

      const del = await app.call(V, 'DeleteWebhook', `<WebhookId>${id}</WebhookId>`);
      assertOk(del, 'DeleteWebhook');
      assert.equal(del.body?.name, 'DeleteWebhookResponse');
      assert.equal(del.body?.children.length, 0);

      assert.equal(assertFailed(await app.call(V, 'GetWebhook', `<WebhookId>${id}</WebhookId>`), 'GetWebhook deleted').message,
        `Webhook ${id} not found`);
      assert.equal(assertFailed(await app.call(V, 'GetLastError', `<WebhookId>${id}</WebhookId>`), 'GetLastError deleted').message,
        `Webhook ${id} not found`);
      assert.equal(assertFailed(await app.call(V, 'DeleteWebhook', `<WebhookId>${id}</WebhookId>`), 'DeleteWebhook twice').message,
        `Webhook ${id} not found`);
      const rows = await app.db.knex('webhook').where('webhook_id', id);
      assert.equal(rows.length, 0);

      const unknown = assertFailed(await app.call(V, 'GetLastError', '<WebhookId>424242</WebhookId>'), 'GetLastError unknown');
      assert.equal(unknown.message, 'Webhook 424242 not found');
      assert.equal(unknown.parameters.code, 'not_found');
    });
  });

  describe(`GetAllWebhooks filters (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let receiver: Receiver;
    const ids: Record<string, number> = {};

    const list = async (inner: string): Promise<number[]> => {
      const r = await app.call(V, 'GetAllWebhooks', inner);
      assert.equal(r.succeeded, true, `GetAllWebhooks ${inner}: ${r.exception?.message ?? r.text.slice(0, 500)}`);
      assert.ok(r.response && !r.response.nil, `GetAllWebhooks ${inner}: nil Response`);
      return r.response.children.map((w) => {
        assert.equal(w.name, 'Webhook');
        return Number(textAt(w, 'WebhookId'));
      });
    };
    const filter = (name?: string | null, event?: string | null, status?: string) =>
      (name === undefined ? '' : name === null ? '<NameFilter i:nil="true"/>' : `<NameFilter>${name}</NameFilter>`)
      + (event === undefined ? '' : event === null ? '<EventFilter i:nil="true"/>' : `<EventFilter>${event}</EventFilter>`)
      + (status === undefined ? '' : `<StatusFilter>${status}</StatusFilter>`);

    before(async () => {
      app = await startApp(dialect);
      receiver = await startReceiver(200);
      // Created in an order that is neither alphabetical nor by state, so "ordered by id" is visible.
      const hooks: Array<[string, string[], string]> = [
        ['Beta', ['contact.created'], 'Active'],
        ['alpha', ['contact.deleted'], 'Stopped'],
        ['Alpha', ['contact.created', 'sale.changed'], 'Active'],
        ['Alphabet', ['sale.changed'], 'TooManyErrors'],
      ];
      for (const [name, events, state] of hooks) {
        const r = await app.call(V, 'SaveWebhook', webhookXml({ id: 0, name, events, targetUrl: receiver.url, state }));
        assert.equal(r.succeeded, true, `create ${name}: ${r.exception?.message}`);
        assert.equal(textAt(r.response, 'State'), state);
        ids[name] = Number(textAt(r.response, 'WebhookId'));
      }
    });
    after(async () => {
      await receiver?.close();
      await app?.close();
    });

    test('no filter, empty strings, nil and Unknown all mean "every hook", ordered by id', async () => {
      const all = [ids.Beta, ids.alpha, ids.Alpha, ids.Alphabet];
      assert.deepEqual([...all].sort((a, b) => a - b), all, 'ids were not assigned in creation order');
      assert.deepEqual(await list(''), all);
      assert.deepEqual(await list(filter('', '', 'Unknown')), all);
      assert.deepEqual(await list(filter(null, null, 'Unknown')), all);
      assert.deepEqual(await list(filter('', '')), all);
    });

    test('NameFilter is an exact, case-insensitive match', async () => {
      assert.deepEqual(await list(filter('ALPHA')), [ids.alpha, ids.Alpha]);
      assert.deepEqual(await list(filter('alpha')), [ids.alpha, ids.Alpha]);
      assert.deepEqual(await list(filter('beta')), [ids.Beta]);
      assert.deepEqual(await list(filter('Alp')), []);
      assert.deepEqual(await list(filter('Alpha%')), []);
      assert.deepEqual(await list(filter('alphabet')), [ids.Alphabet]);
    });

    test('EventFilter is an exact event name', async () => {
      assert.deepEqual(await list(filter(undefined, 'contact.created')), [ids.Beta, ids.Alpha]);
      assert.deepEqual(await list(filter(undefined, 'sale.changed')), [ids.Alpha, ids.Alphabet]);
      assert.deepEqual(await list(filter(undefined, 'contact.deleted')), [ids.alpha]);
      assert.deepEqual(await list(filter(undefined, 'contact')), []);
      assert.deepEqual(await list(filter(undefined, 'contact.*')), []);
      assert.deepEqual(await list(filter(undefined, 'person.created')), []);
    });

    test('StatusFilter selects one state', async () => {
      assert.deepEqual(await list(filter(undefined, undefined, 'Active')), [ids.Beta, ids.Alpha]);
      assert.deepEqual(await list(filter(undefined, undefined, 'Stopped')), [ids.alpha]);
      assert.deepEqual(await list(filter(undefined, undefined, 'TooManyErrors')), [ids.Alphabet]);
    });

    test('filters combine with AND', async () => {
      assert.deepEqual(await list(filter('alpha', '', 'Active')), [ids.Alpha]);
      assert.deepEqual(await list(filter('alpha', 'contact.deleted', 'Unknown')), [ids.alpha]);
      assert.deepEqual(await list(filter('', 'contact.created', 'Active')), [ids.Beta, ids.Alpha]);
      assert.deepEqual(await list(filter('Alpha', 'sale.changed', 'Active')), [ids.Alpha]);
      assert.deepEqual(await list(filter('alpha', 'sale.changed', 'Stopped')), []);
      assert.deepEqual(await list(filter('beta', 'sale.changed')), []);
      assert.deepEqual(await list(filter(undefined, 'sale.changed', 'TooManyErrors')), [ids.Alphabet]);
    });

    // Last in this suite: it adds a hook. NetServer's databases compare names case-insensitively for every letter
    // (SQL Server *_CI_* collations), not only for ASCII.
    test('NameFilter is case-insensitive for non-ASCII letters too', async () => {
      const r = await app.call(V, 'SaveWebhook', webhookXml({ id: 0, name: 'Ærøskøbing Élan', events: ['contact.created'], targetUrl: receiver.url }));
      assert.equal(r.succeeded, true, r.exception?.message ?? undefined);
      const id = Number(textAt(r.response, 'WebhookId'));
      assert.deepEqual(await list(filter('Ærøskøbing Élan')), [id]);
      assert.deepEqual(await list(filter('ærøskøbing élan')), [id]);
      assert.deepEqual(await list(filter('ÆRØSKØBING ÉLAN')), [id]);
    });

    test('a bad StatusFilter is refused, not read as "no filter"', async () => {
      const r = await app.call(V, 'GetAllWebhooks', filter(undefined, undefined, 'Sleeping'));
      assert.equal(r.status, 200);
      assert.equal(r.succeeded, false, r.text.slice(0, 500));
      assert.match(r.exception?.message ?? '', /StatusFilter/);
      assert.equal(child(r.body, 'Response')?.nil, true);
    });
  });
}
