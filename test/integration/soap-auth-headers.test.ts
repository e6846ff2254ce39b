/**
 * Authentication and SOAP headers through the real app:
 * - every Webhook operation refuses a missing, malformed or unknown ticket the same way: HTTP 200,
 *   Succeeded=false, an ExceptionInfo of type SoServerException, a nil Response, and no side effect;
 * - SoPrincipal.AuthenticateUsernamePassword: a wrong password is AuthenticationSucceeded=false, not an error;
 * - the request TimeZone header is echoed; headers the WSDL does not declare (WS-Addressing) are ignored.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import {
  child, nsFor, startApp, startReceiver, TEST_ADMIN_PASSWORD, textAt, webhookXml, type Receiver, type SoapResult, type TestApp,
} from '../helpers/app.js';

const SERVER_EXCEPTION = 'SuperOffice.CRM.Security.SoServerException';
const MALFORMED = 'not-a-ticket';
const UNKNOWN = '7T:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU=';
const MSG_MISSING = 'No credentials: log in with SoPrincipal.AuthenticateUsernamePassword and send the ticket';
const MSG_MALFORMED = 'The ticket is malformed';
const MSG_UNKNOWN = 'The ticket is unknown or has expired';
const RESPONSE_HEADERS = ['ExceptionInfo', 'ExtraInfo', 'Succeeded', 'TimeZone'];

/** The refusal of an unauthenticated call. */
function assertRefused(r: SoapResult, what: string, message: string): void {
  assert.equal(r.status, 200, `${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  assert.equal(r.fault, null, `${what}: answered with a SOAP fault`);
  assert.equal(r.succeeded, false, `${what}: ${r.text.slice(0, 500)}`);
  assert.ok(r.exception, `${what}: no ExceptionInfo`);
  assert.equal(r.exception.exceptionType, SERVER_EXCEPTION, what);
  assert.equal(r.exception.message, message, what);
  assert.equal(r.exception.parameters.code, 'unauthenticated', what);
  assert.deepEqual(Object.keys(r.header), RESPONSE_HEADERS, what);
  // Operations with a Response member answer it nil; DeleteWebhook and SignalEvent have an empty wrapper.
  const response = child(r.body, 'Response');
  if (response) assert.equal(response.nil, true, `${what}: Response not nil`);
  else assert.equal(r.body?.children.length, 0, `${what}: unexpected body content`);
  assert.ok(!r.text.includes(UNKNOWN), `${what}: the ticket is echoed`);
}

for (const dialect of testDialects) {
  describe(`Authentication over SOAP (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let receiver: Receiver;
    let hookId = 0;
    const bodies = (): Record<string, string> => ({
      CreateDefaultWebhook: '',
      SaveWebhook: webhookXml({ id: 0, name: 'x', events: ['contact.created'], targetUrl: receiver.url }),
      DeleteWebhook: `<WebhookId>${hookId}</WebhookId>`,
      GetWebhook: `<WebhookId>${hookId}</WebhookId>`,
      GetAllWebhooks: '',
      TestWebhook: webhookXml({ id: 0, name: 'x', events: ['contact.created'], targetUrl: receiver.url }),
      SignalEvent: '<EventName>contact.created</EventName><PrimaryKey>1</PrimaryKey>',
      GetLastError: `<WebhookId>${hookId}</WebhookId>`,
    });

    before(async () => {
      app = await startApp(dialect);
      receiver = await startReceiver(200);
      const r = await app.call(88, 'SaveWebhook', webhookXml({ id: 0, name: 'kept', events: ['contact.created'], targetUrl: receiver.url }));
      assert.equal(r.succeeded, true, r.exception?.message ?? undefined);
      hookId = Number(textAt(r.response, 'WebhookId'));
      receiver.requests.length = 0;
    });
    after(async () => {
      await receiver?.close();
      await app?.close();
    });

    const tickets: Array<[string, string | null, string]> = [
      ['missing', null, MSG_MISSING],
      ['empty', '', MSG_MISSING],
      ['malformed', MALFORMED, MSG_MALFORMED],
      ['unknown', UNKNOWN, MSG_UNKNOWN],
    ];
    for (const [what, ticket, message] of tickets) {
      test(`every operation refuses a ${what} ticket, with no side effect`, async () => {
        for (const v of [85, 88]) {
          for (const [op, body] of Object.entries(bodies())) {
            assertRefused(await app.call(v, op, body, { ticket }), `S${v} ${op} (${what} ticket)`, message);
          }
        }
        assert.equal(receiver.requests.length, 0, 'no ping for an unauthenticated SaveWebhook/TestWebhook');
        const [w] = await app.db.knex('webhook').count({ n: '*' });
        assert.equal(Number(w.n), 1, 'nothing saved or deleted');
        const [d] = await app.db.knex('wa_delivery').count({ n: '*' });
        assert.equal(Number(d.n), 0, 'nothing enqueued');
      });
    }

    test('a ticket ended by logout, or of a deleted associate, is refused', async () => {
      const second = await app.login('admin', TEST_ADMIN_PASSWORD);
      const t2 = textAt(second.body, 'Credentials', 'Ticket');
      assert.ok(t2);
      assert.equal((await app.call(88, 'GetAllWebhooks', '', { ticket: t2 })).succeeded, true);
      assert.equal(await app.auth.logout(t2), true);
      assertRefused(await app.call(88, 'GetAllWebhooks', '', { ticket: t2 }), 'after logout', MSG_UNKNOWN);
      // The first ticket is untouched.
      assert.equal((await app.call(88, 'GetAllWebhooks', '')).succeeded, true);

      await app.auth.addAssociate('bob', 'bob-password');
      const bob = await app.login('bob', 'bob-password');
      const tb = textAt(bob.body, 'Credentials', 'Ticket');
      assert.ok(tb);
      assert.equal((await app.call(88, 'GetAllWebhooks', '', { ticket: tb })).succeeded, true);
      assert.equal(await app.auth.deleteAssociate('bob'), true);
      assertRefused(await app.call(88, 'GetAllWebhooks', '', { ticket: tb }), 'deleted associate', MSG_UNKNOWN);
    });

    test('AuthenticateUsernamePassword: success gives a working 7T: ticket and the principal', async () => {
      const r = await app.login('admin', TEST_ADMIN_PASSWORD);
      assert.equal(r.status, 200);
      assert.equal(r.succeeded, true);
      assert.equal(r.exception, null);
      assert.equal(r.body?.name, 'AuthenticateResponse');
      assert.equal(textAt(r.body, 'AuthenticationSucceeded'), 'true');
      const ticket = textAt(r.body, 'Credentials', 'Ticket');
      assert.match(ticket ?? '', /^7T:[A-Za-z0-9+/]+={0,2}$/);
      assert.equal(textAt(r.response, 'AssociateId'), '1');
      assert.equal(textAt(r.response, 'Associate'), 'admin');
      assert.equal(textAt(r.response, 'UserType'), 'InternalAssociate');
      const use = await app.call(87, 'GetWebhook', `<WebhookId>${hookId}</WebhookId>`, { ticket });
      assert.equal(use.succeeded, true, use.exception?.message ?? undefined);
      assert.equal(textAt(use.response, 'Name'), 'kept');

      // NetServer: a ticket is accepted in place of the user name, with a blank password.
      const again = await app.login(ticket!, '');
      assert.equal(textAt(again.body, 'AuthenticationSucceeded'), 'true');
      assert.equal(textAt(again.body, 'Credentials', 'Ticket'), ticket);
    });

    const wrong: Array<[string, string, string]> = [
      ['wrong password', 'admin', 'wrong-password'],
      ['empty password', 'admin', ''],
      ['unknown user', 'nobody', 'whatever'],
      ['empty user name', '', 'x'],
    ];
    for (const [what, user, password] of wrong) {
      test(`AuthenticateUsernamePassword: ${what} -> AuthenticationSucceeded=false, not an exception`, async () => {
        const r = await app.login(user, password);
        assert.equal(r.status, 200);
        assert.equal(r.fault, null);
        assert.equal(r.succeeded, true, r.text.slice(0, 400));
        assert.equal(r.exception, null);
        assert.equal(textAt(r.body, 'AuthenticationSucceeded'), 'false');
        assert.equal(r.response?.nil, true);
        assert.equal(child(r.body, 'Credentials')?.nil, true);
        assert.doesNotMatch(r.text, /7T:/);
      });
    }
  });

  describe(`SOAP request headers (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;

    before(async () => {
      app = await startApp(dialect);
    });
    after(async () => {
      await app?.close();
    });

    const timeZone = (v: number, id: number, code: string) =>
      `<TimeZone xmlns="${nsFor(v)}"><SoTimeZoneId>${id}</SoTimeZoneId><SoTimeZoneLocationCode>${code}</SoTimeZoneLocationCode></TimeZone>`;

    test('the response echoes the request TimeZone header, on success and on failure', async () => {
      for (const v of [85, 86, 87, 88]) {
        const ok = await app.call(v, 'CreateDefaultWebhook', '', { headersXml: timeZone(v, 17, 'NOOSL') });
        assert.equal(ok.succeeded, true, ok.exception?.message ?? undefined);
        assert.deepEqual(Object.keys(ok.header), RESPONSE_HEADERS);
        assert.equal(ok.header.TimeZone.nil, false);
        assert.equal(textAt(ok.header.TimeZone, 'SoTimeZoneId'), '17');
        assert.equal(textAt(ok.header.TimeZone, 'SoTimeZoneLocationCode'), 'NOOSL');

        const failed = await app.call(v, 'GetWebhook', '<WebhookId>5</WebhookId>', { headersXml: timeZone(v, 3, 'UKLON'), ticket: UNKNOWN });
        assert.equal(failed.succeeded, false);
        assert.equal(textAt(failed.header.TimeZone, 'SoTimeZoneId'), '3');
        assert.equal(textAt(failed.header.TimeZone, 'SoTimeZoneLocationCode'), 'UKLON');
      }
      // Without one, TimeZone is present and nil.
      const none = await app.call(88, 'CreateDefaultWebhook', '');
      assert.deepEqual(Object.keys(none.header), RESPONSE_HEADERS);
      assert.equal(none.header.TimeZone.nil, true);
    });

    test('undeclared request headers (WS-Addressing, unknown elements) are ignored', async () => {
      const wsa = 'http://www.w3.org/2005/08/addressing';
      const ns = nsFor(88);
      const extra = `<w:Action xmlns:w="${wsa}">${ns}/Webhook/GetAllWebhooks</w:Action>`
        + `<w:MessageID xmlns:w="${wsa}">urn:uuid:6b29fc40-ca47-1067-b31d-00dd010662da</w:MessageID>`
        + `<w:ReplyTo xmlns:w="${wsa}"><w:Address>${wsa}/anonymous</w:Address></w:ReplyTo>`
        + `<w:To xmlns:w="${wsa}">${app.baseUrl}/Remote/Services88/Webhook.svc</w:To>`
        + `<SomethingElse xmlns="${ns}"><Deep>1</Deep></SomethingElse>`
        + '<Unqualified>x</Unqualified>';
      const r = await app.call(88, 'GetAllWebhooks', '', { headersXml: extra + timeZone(88, 9, 'SEST') });
      assert.equal(r.status, 200);
      assert.equal(r.succeeded, true, r.exception?.message ?? r.text.slice(0, 400));
      assert.deepEqual(Object.keys(r.header), RESPONSE_HEADERS);
      assert.equal(textAt(r.header.TimeZone, 'SoTimeZoneId'), '9');
      assert.doesNotMatch(r.text, /addressing|MessageID|SomethingElse/);

      // Authentication still reads Credentials when other headers come first.
      const refused = await app.call(88, 'GetAllWebhooks', '', { headersXml: extra, ticket: null });
      assertRefused(refused, 'WS-A without credentials', MSG_MISSING);
    });

    test('ApplicationToken is optional on-site', async () => {
      const r = await app.call(88, 'GetAllWebhooks', '', { noApplicationToken: true });
      assert.equal(r.succeeded, true, r.exception?.message ?? undefined);
    });
  });
}
