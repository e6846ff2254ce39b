/**
 * Every envelope the real app answers on each Webhook endpoint (Services85..88) is valid against that endpoint's
 * WSDL, for a success and a business error of each of the 8 operations; the same for SoPrincipal's
 * AuthenticateUsernamePassword (success and wrong password). The oracle is xmllint (test/helpers/xsd.ts), with
 * strict header checking: every response header must be one the WSDL declares.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { repoRoot } from '../helpers/service.js';
import { validateAgainstWsdl } from '../helpers/xsd.js';
import { requires } from '../helpers/requires.js';
import { startApp, startReceiver, textAt, webhookXml, type Receiver, type SoapResult, type TestApp } from '../helpers/app.js';

const versions = [85, 86, 87, 88] as const;
const UNKNOWN_TICKET = '7T:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

interface Case { label: string; r: SoapResult; succeeded: boolean; wsdl: string }

for (const dialect of testDialects) {
  describe(`SOAP responses are valid against the WSDL (${dialect})`, { ...(await dialectAvailability(dialect)), ...(await requires('xmllint')) }, () => {
    let app: TestApp;
    let receiver: Receiver;
    const cases: Case[] = [];

    before(async () => {
      app = await startApp(dialect);
      receiver = await startReceiver(200);
    });
    after(async () => {
      await receiver?.close();
      await app?.close();
    });

    test('every operation of every version, success and business error', async () => {
      for (const v of versions) {
        const wsdl = path.join(repoRoot, `wsdl/Services${v}-Webhook.wsdl`);
        const add = (label: string, r: SoapResult, succeeded: boolean) => cases.push({ label: `S${v} ${label}`, r, succeeded, wsdl });
        const hook = (name: string) => webhookXml({
          id: 0, name, events: ['contact.created', 'sale.changed'], targetUrl: receiver.url, secret: 's3cret', headers: { 'X-Extra': 'x' },
        });

        add('CreateDefaultWebhook ok', await app.call(v, 'CreateDefaultWebhook', ''), true);
        add('CreateDefaultWebhook bad ticket', await app.call(v, 'CreateDefaultWebhook', '', { ticket: UNKNOWN_TICKET }), false);

        const saved = await app.call(v, 'SaveWebhook', hook(`hook ${v}`));
        add('SaveWebhook create', saved, true);
        const id = Number(textAt(saved.response, 'WebhookId'));
        assert.ok(id > 0, `S${v} SaveWebhook gave no id: ${saved.text.slice(0, 600)}`);
        add('SaveWebhook update', await app.call(v, 'SaveWebhook', webhookXml({
          id, name: `hook ${v} renamed`, events: ['contact.created'], targetUrl: receiver.url, state: 'Stopped',
        })), true);
        add('SaveWebhook invalid', await app.call(v, 'SaveWebhook', webhookXml({ id: 0, name: 'x', events: [], targetUrl: receiver.url })), false);

        add('GetWebhook ok', await app.call(v, 'GetWebhook', `<WebhookId>${id}</WebhookId>`), true);
        add('GetWebhook unknown id', await app.call(v, 'GetWebhook', '<WebhookId>987654</WebhookId>'), false);

        add('GetAllWebhooks ok', await app.call(v, 'GetAllWebhooks', '<NameFilter></NameFilter><EventFilter></EventFilter><StatusFilter>Unknown</StatusFilter>'), true);
        add('GetAllWebhooks none', await app.call(v, 'GetAllWebhooks', '<NameFilter>no such hook</NameFilter>'), true);
        add('GetAllWebhooks bad ticket', await app.call(v, 'GetAllWebhooks', '', { ticket: 'not-a-ticket' }), false);

        add('TestWebhook ok', await app.call(v, 'TestWebhook', hook('probe')), true);
        add('TestWebhook bad ticket', await app.call(v, 'TestWebhook', hook('probe'), { ticket: UNKNOWN_TICKET }), false);

        add('SignalEvent ok', await app.call(v, 'SignalEvent',
          '<EventName>contact.created</EventName><PrimaryKey>7</PrimaryKey><Data><StringObjectKeyValuePair><Key>name</Key>'
          + '<Value i:type="xs:string">Ann</Value></StringObjectKeyValuePair></Data>'), true);
        add('SignalEvent bad name', await app.call(v, 'SignalEvent', '<EventName>no-dot</EventName><PrimaryKey>1</PrimaryKey>'), false);

        add('GetLastError ok', await app.call(v, 'GetLastError', `<WebhookId>${id}</WebhookId>`), true);
        add('GetLastError unknown id', await app.call(v, 'GetLastError', '<WebhookId>987654</WebhookId>'), false);

        add('DeleteWebhook ok', await app.call(v, 'DeleteWebhook', `<WebhookId>${id}</WebhookId>`), true);
        add('DeleteWebhook again', await app.call(v, 'DeleteWebhook', `<WebhookId>${id}</WebhookId>`), false);
      }

      const principal = path.join(repoRoot, 'wsdl/Services88-SoPrincipal.wsdl');
      cases.push({ label: 'SoPrincipal login ok', r: await app.login('admin', 'app-test-password'), succeeded: true, wsdl: principal });
      cases.push({ label: 'SoPrincipal wrong password', r: await app.login('admin', 'wrong'), succeeded: true, wsdl: principal });

      for (const c of cases) {
        assert.equal(c.r.status, 200, `${c.label}: HTTP ${c.r.status} ${c.r.text.slice(0, 400)}`);
        assert.equal(c.r.succeeded, c.succeeded, `${c.label}: Succeeded ${c.r.succeeded}: ${c.r.text.slice(0, 800)}`);
        assert.equal(c.r.exception === null, c.succeeded, `${c.label}: ExceptionInfo does not match Succeeded`);
      }
      assert.equal(cases.length, 4 * 18 + 2);

      // xmllint runs in parallel, a few at a time.
      const failures: string[] = [];
      for (let i = 0; i < cases.length; i += 8) {
        const batch = cases.slice(i, i + 8);
        const results = await Promise.all(batch.map((c) => validateAgainstWsdl(c.wsdl, c.r.text)));
        results.forEach((res, j) => {
          if (!res.ok) failures.push(`${batch[j].label}: ${res.errors}\n  ${batch[j].r.text.slice(0, 1500)}`);
        });
      }
      assert.deepEqual(failures, []);
    });

    test('the oracle rejects an envelope that breaks the WSDL (an 88-only member in a Services85 answer)', async () => {
      const ok = cases.find((c) => c.label === 'S85 GetWebhook ok');
      assert.ok(ok, 'the first test must have run');
      const broken = ok.r.text.replace('</UpdatedAssociate>', '</UpdatedAssociate><LastError>x</LastError>')
        .replace('<UpdatedAssociate i:nil="true"/>', '<UpdatedAssociate i:nil="true"/><LastError>x</LastError>');
      assert.notEqual(broken, ok.r.text);
      const res = await validateAgainstWsdl(path.join(repoRoot, 'wsdl/Services85-Webhook.wsdl'), broken);
      assert.equal(res.ok, false);
      assert.match(res.errors, /LastError/);
    });
  });
}
