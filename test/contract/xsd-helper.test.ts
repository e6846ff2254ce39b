import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { validateAgainstWsdl } from '../helpers/xsd.js';
import { referenceDir, requires } from '../helpers/requires.js';

const referenceReq = await requires('reference');

const repoRoot = path.resolve(import.meta.dirname, '../..');
const ours = (name: string) => path.join(repoRoot, 'wsdl', name);
const reference = path.join(referenceDir, 'wsdl/Services88-Webhook.wsdl');

const TNS = 'http://www.superoffice.net/ws/crm/NetServer/Services88';

/** A GetWebhookResponse as WCF would write it, with `webhook` as the Response's children. */
function envelope(webhook: string, tns = TNS): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <s:Header>
    <ExceptionInfo xmlns="${tns}" xsi:nil="true"/>
    <ExtraInfo xmlns="${tns}" xsi:nil="true"/>
    <Succeeded xmlns="${tns}">true</Succeeded>
    <TimeZone xmlns="${tns}" xsi:nil="true"/>
  </s:Header>
  <s:Body>
    <GetWebhookResponse xmlns="${tns}" xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays">
      <Response>${webhook}</Response>
    </GetWebhookResponse>
  </s:Body>
</s:Envelope>`;
}

const ASSOCIATE = `<TableRight xsi:nil="true"/><FieldProperties xsi:nil="true"/><AssociateId>5</AssociateId>
  <Name>AD</Name><PersonId>7</PersonId><Rank>1</Rank><Tooltip/><Type>InternalAssociate</Type><GroupIdx>2</GroupIdx>
  <FullName>Ada</FullName><FormalName>Ada L.</FormalName><Deleted>false</Deleted><EjUserId>0</EjUserId>`;

const HEAD = `<WebhookId>42</WebhookId><Name>hook</Name>
  <Events><a:string>contact.created</a:string><a:string>sale.changed</a:string></Events>
  <TargetUrl>https://example.test/hook</TargetUrl><Secret xsi:nil="true"/><State>Active</State><Type>webhook</Type>
  <Headers><StringKeyValuePair><Key>X-Test</Key><Value>1</Value></StringKeyValuePair></Headers>
  <Properties><StringObjectKeyValuePair><Key>n</Key><Value xsi:type="xs:int">3</Value></StringObjectKeyValuePair></Properties>
  <Registered>2026-03-11T01:31:32Z</Registered>
  <RegisteredAssociate>${ASSOCIATE}<UserName>ada</UserName><ExtraFields xsi:nil="true"/><CustomFields xsi:nil="true"/></RegisteredAssociate>
  <Updated>2026-03-11T01:31:32.1234567Z</Updated><UpdatedAssociate xsi:nil="true"/>`;

const TAIL88 = `<ErrorsEmail xsi:nil="true"/><ErrorEmails/><ErrorAssociates/><Description>d</Description>
  <NotifyVia>Email InApp</NotifyVia><NotifyWhen/><TotalCalls>3</TotalCalls><TotalErrors>1</TotalErrors>
  <ConsecutiveErrors>0</ConsecutiveErrors><LastError xsi:nil="true"/>`;

describe('validateAgainstWsdl (xmllint)', await requires('xmllint'), () => {
  test('accepts a valid GetWebhookResponse envelope', async () => {
    const r = await validateAgainstWsdl(ours('Services88-Webhook.wsdl'), envelope(HEAD + TAIL88));
    assert.equal(r.errors, '');
    assert.equal(r.ok, true);
  });

  test('rejects elements out of sequence order', async () => {
    const swapped = HEAD.replace('<WebhookId>42</WebhookId><Name>hook</Name>', '<Name>hook</Name><WebhookId>42</WebhookId>');
    assert.notEqual(swapped, HEAD);
    const r = await validateAgainstWsdl(ours('Services88-Webhook.wsdl'), envelope(swapped + TAIL88));
    assert.equal(r.ok, false);
    assert.match(r.errors, /WebhookId/);
  });

  test('rejects xsi:nil on a non-nillable element', async () => {
    const nil = HEAD.replace('<WebhookId>42</WebhookId>', '<WebhookId xsi:nil="true"/>');
    const r = await validateAgainstWsdl(ours('Services88-Webhook.wsdl'), envelope(nil + TAIL88));
    assert.equal(r.ok, false);
    assert.match(r.errors, /WebhookId/);
  });

  test('rejects a nil Succeeded header and an undeclared header', async () => {
    const nilSucceeded = envelope(HEAD + TAIL88).replace(`<Succeeded xmlns="${TNS}">true</Succeeded>`,
      `<Succeeded xmlns="${TNS}" xsi:nil="true"/>`);
    assert.equal((await validateAgainstWsdl(ours('Services88-Webhook.wsdl'), nilSucceeded)).ok, false);
    const extra = envelope(HEAD + TAIL88).replace('<s:Header>', '<s:Header><Unknown xmlns="urn:x">1</Unknown>');
    assert.equal((await validateAgainstWsdl(ours('Services88-Webhook.wsdl'), extra)).ok, false);
    assert.equal((await validateAgainstWsdl(ours('Services88-Webhook.wsdl'), extra, { laxHeaders: true })).ok, true);
  });

  test('is version-aware: Services85 has neither the 88 fields nor Associate.UserName', async () => {
    const tns85 = TNS.replace('Services88', 'Services85');
    const head85 = HEAD.replace('<UserName>ada</UserName><ExtraFields xsi:nil="true"/><CustomFields xsi:nil="true"/>', '');
    const ok = await validateAgainstWsdl(ours('Services85-Webhook.wsdl'), envelope(head85, tns85));
    assert.equal(ok.errors, '');
    assert.equal((await validateAgainstWsdl(ours('Services85-Webhook.wsdl'), envelope(head85 + TAIL88, tns85))).ok, false);
    assert.equal((await validateAgainstWsdl(ours('Services85-Webhook.wsdl'), envelope(HEAD, tns85))).ok, false);
  });

  test('agrees with the reference WSDL', referenceReq, async () => {
    const r = await validateAgainstWsdl(reference, envelope(HEAD + TAIL88));
    assert.equal(r.errors, '');
    assert.equal(r.ok, true);
  });
});
