/** Wildcard subscriptions (webhooks/event-match.ts) and the forms a hook's Events may hold (webhooks/validate.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStateEventName, subscriptionKeys, subscriptionMatches } from '../../src/webhooks/event-match.js';
import { validateEventName, validateEvents } from '../../src/webhooks/validate.js';
import { AppError } from '../../src/errors.js';

test('an event name is received by itself, the .* form of each of its prefixes, and *', () => {
  assert.deepEqual(subscriptionKeys('contact.created'), ['contact.created', 'contact.*', '*']);
  assert.deepEqual(subscriptionKeys('list.category.created'), ['list.category.created', 'list.*', 'list.category.*', '*']);
  assert.ok(subscriptionMatches('list.*', 'list.category.created'));
  assert.ok(!subscriptionMatches('contact.*', 'contacts.created'));
  assert.ok(!subscriptionMatches('contact.*', 'person.created'));
  assert.ok(!subscriptionMatches('contact.created', 'contact.deleted'));
});

test('state events: never by *, by their own name and webhook{id}.* only', () => {
  for (const verb of ['started', 'stopped', 'errors']) {
    const name = `webhook12.${verb}`;
    assert.ok(isStateEventName(name));
    assert.deepEqual(subscriptionKeys(name), [name, 'webhook12.*']);
    assert.ok(!subscriptionMatches('*', name));
    assert.ok(subscriptionMatches('webhook12.*', name));
    assert.ok(!subscriptionMatches('webhook13.*', name));
  }
  assert.ok(!isStateEventName('webhooks.created'), 'only webhook<digits>. is a state event');
  assert.ok(subscriptionMatches('*', 'webhooks.created'));
});

test('a wildcard as EventFilter: the subscriptions that receive every event it stands for', () => {
  assert.deepEqual(subscriptionKeys('contact.*'), ['contact.*', '*']);
  assert.deepEqual(subscriptionKeys('list.category.*'), ['list.category.*', 'list.*', '*']);
  assert.deepEqual(subscriptionKeys('*'), ['*']);
  assert.deepEqual(subscriptionKeys('webhook12.*'), ['webhook12.*']);
});

test('a very long filter is looked up as itself (and *), not split into hundreds of keys', () => {
  const long = `${'a.'.repeat(300)}b`;
  assert.deepEqual(subscriptionKeys(long), [long, '*']);
});

test('Events accept entity.* and *, and no other use of *', () => {
  assert.deepEqual(validateEvents(['*', 'contact.*', 'list.category.*', 'webhook3.*', 'sale.created']),
    ['*', 'contact.*', 'list.category.*', 'webhook3.*', 'sale.created']);
  for (const bad of ['contact*', '*.created', 'contact.*.x', '**', '.*', 'contact.**', 'con*tact.created', 'contact.*x', 'a..*']) {
    assert.throws(() => validateEvents([bad]), (e: unknown) => e instanceof AppError && e.field === 'Events[0]', bad);
  }
});

test('SignalEvent names are never wildcards', () => {
  for (const w of ['*', 'contact.*']) {
    assert.throws(() => validateEventName('EventName', w), (e: unknown) => e instanceof AppError && e.field === 'EventName');
  }
  assert.equal(validateEventName('EventName', 'contact.created'), 'contact.created');
});
