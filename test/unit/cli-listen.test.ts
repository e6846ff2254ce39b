/**
 * `webhook-agent listen` (issue 17, item 1): what it says about a signature, checked with the sender's own signing
 * code, and that it answers --status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { signatureVerdict, startListener } from '../../src/cli-listen.js';
import { signBody } from '../../src/outbox/send/signature.js';

const body = Buffer.from('{"EventId":"x","Event":"contact.created"}');

test('signatureVerdict: valid, invalid, missing, not checked, none', () => {
  assert.equal(signatureVerdict('s3cret', signBody('s3cret', body), body), 'valid');
  assert.match(signatureVerdict('other', signBody('s3cret', body), body), /^INVALID/);
  assert.match(signatureVerdict('s3cret', signBody('s3cret', body), Buffer.from(`${body} `)), /^INVALID/);
  assert.match(signatureVerdict('s3cret', 'short', body), /^INVALID/);
  assert.match(signatureVerdict('s3cret', undefined, body), /^MISSING/);
  assert.match(signatureVerdict(undefined, signBody('s3cret', body), body), /^not checked/);
  assert.match(signatureVerdict(undefined, undefined, body), /^none/);
});

test('the listener prints event, EventId, retry, headers and the verdict, and answers --status', async () => {
  let out = '';
  const server = await startListener({ port: 0, host: '127.0.0.1', secret: 's3cret', status: 503 }, (s) => (out += s));
  try {
    const port = (server.address() as AddressInfo).port;
    const r = await fetch(`http://127.0.0.1:${port}/in`, {
      method: 'POST', body,
      headers: {
        'X-SuperOffice-Event': 'contact.created', 'X-SuperOffice-EventId': 'e1', 'X-SuperOffice-Retry': '2',
        'X-SuperOffice-Signature': signBody('s3cret', body), 'X-Custom': 'kept',
      },
    });
    assert.equal(r.status, 503);
    await r.text();
    assert.match(out, /event: {5}contact\.created\n {2}EventId: {3}e1\n {2}retry: {5}2\n {2}signature: valid\n/);
    assert.match(out, /x-custom: kept/);
    assert.ok(out.includes(body.toString()));
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
