import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateWebhook, validateEventName, type WebhookDraft } from '../../src/webhooks/validate.js';
import { AppError } from '../../src/errors.js';

const base: WebhookDraft = { name: ' hook ', events: ['contact.created'], targetUrl: 'https://example.com/hook', type: 'webhook' };
const ok = (d: Partial<WebhookDraft>, allowInsecureTargets = false) => validateWebhook({ ...base, ...d }, { allowInsecureTargets });
const failsOn = (field: string, d: Partial<WebhookDraft>, allowInsecureTargets = false) => {
  assert.throws(() => ok(d, allowInsecureTargets), (e: unknown) => {
    assert.ok(e instanceof AppError, String(e));
    assert.equal(e.field?.replace(/\[\d+\]$/, ''), field, e.message);
    assert.match(e.message, new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}`));
    return true;
  });
};

test('defaults: Type webhook, State Active, name trimmed, secret kept verbatim', () => {
  const v = ok({ type: null, state: 'Unknown', secret: ' s p ' });
  assert.equal(v.type, 'webhook');
  assert.equal(v.state, 'Active');
  assert.equal(v.name, 'hook');
  assert.equal(v.secret, ' s p ');
  assert.equal(ok({ secret: '' }).secret, null);
});

test('an update with Unknown/absent State keeps the stored state', () => {
  assert.equal(validateWebhook({ ...base, state: undefined }, { allowInsecureTargets: false, existingState: 'Stopped' }).state, 'Stopped');
  assert.equal(validateWebhook({ ...base, state: 'Active' }, { allowInsecureTargets: false, existingState: 'Stopped' }).state, 'Active');
});

test('Name is required', () => failsOn('Name', { name: '  ' }));

test('Events: non-empty, entity.verb shaped, de-duplicated in order', () => {
  failsOn('Events', { events: [] });
  failsOn('Events', { events: null });
  failsOn('Events', { events: ['contact'] });
  failsOn('Events', { events: ['contact.created', 'bad name.x'] });
  assert.deepEqual(ok({ events: ['sale.changed', 'list.110.created', 'sale.changed', 'webhook12.errors'] }).events,
    ['sale.changed', 'list.110.created', 'webhook12.errors']);
  assert.throws(() => validateEventName('EventName', 'x'.repeat(300) + '.y'));
});

test('TargetUrl: absolute http(s), https unless insecure allowed, no credentials', () => {
  failsOn('TargetUrl', { targetUrl: '/relative' });
  failsOn('TargetUrl', { targetUrl: 'ftp://example.com/x' });
  failsOn('TargetUrl', { targetUrl: 'http://example.com/x' });
  failsOn('TargetUrl', { targetUrl: 'https://user:pw@example.com/x' });
  failsOn('TargetUrl', { targetUrl: null });
  assert.equal(ok({ targetUrl: 'http://127.0.0.1:9/x' }, true).targetUrl, 'http://127.0.0.1:9/x');
});

test('Type crmscript is not supported, other types invalid', () => {
  assert.throws(() => ok({ type: 'crmscript' }), (e: unknown) => e instanceof AppError && e.code === 'not_supported' && e.field === 'Type');
  failsOn('Type', { type: 'email' });
});

test('Headers: no CR/LF, no hop-by-hop or agent-owned names', () => {
  failsOn('Headers', { headers: { 'X-A': 'a\r\nInjected: 1' } });
  failsOn('Headers', { headers: { 'Transfer-Encoding': 'chunked' } });
  failsOn('Headers', { headers: { Connection: 'close' } });
  failsOn('Headers', { headers: { 'X-SuperOffice-Signature': 'x' } });
  failsOn('Headers', { headers: { 'bad name': 'x' } });
  assert.deepEqual(ok({ headers: { 'X-Api-Key': 'k' } }).headers, { 'X-Api-Key': 'k' });
});

test('Headers: a value beyond Latin-1 is refused naming the header; Latin-1 passes', () => {
  for (const value of ['Bearer a€b', 'x😀', 'Ωmega']) {
    assert.throws(() => ok({ headers: { 'X-Other': 'fine', Authorization: value } }),
      (e: unknown) => e instanceof AppError && e.field === 'Headers' && /'Authorization'/.test(e.message) && /Latin-1/.test(e.message));
  }
  assert.deepEqual(ok({ headers: { 'X-Name': 'Ålesund café ÿ' } }).headers, { 'X-Name': 'Ålesund café ÿ' });
});

test('e-mail fields are checked', () => {
  failsOn('ErrorsEmail', { errorsEmail: 'not-an-email' });
  failsOn('ErrorEmails', { errorEmails: ['ok@example.com', 'nope'] });
  assert.deepEqual(ok({ errorEmails: ['ops@example.com'] }).errorEmails, ['ops@example.com']);
});

test('list sizes are bounded before any per-item work, and the refusal names the field', () => {
  failsOn('Events', { events: Array.from({ length: 201 }, (_, i) => `e${i}.x`) });
  failsOn('Headers', { headers: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`X-H${i}`, 'v'])) });
  failsOn('Properties', { properties: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`p${i}`, i])) });
  failsOn('ErrorEmails', { errorEmails: Array.from({ length: 101 }, (_, i) => `u${i}@example.com`) });
  failsOn('ErrorAssociates', { errorAssociateIds: Array.from({ length: 101 }, (_, i) => i + 1) });
  assert.equal(ok({ events: Array.from({ length: 200 }, (_, i) => `e${i}.x`) }).events.length, 200);
});
