/** EventIds (outbox/outbox-repository.ts newEventUuid): RFC 9562 version 7, time-ordered, random below the time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newEventUuid } from '../../src/outbox/event-rows.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (u: string) => parseInt(u.slice(0, 8) + u.slice(9, 13), 16);

test('version 7 layout: 48-bit millisecond time, version 7, RFC variant', () => {
  for (const t of [0, 1, Date.UTC(2026, 0, 1), 0xffffffffffff]) {
    const u = newEventUuid(t);
    assert.match(u, V7);
    assert.equal(timeOf(u), t);
  }
  assert.equal(timeOf(newEventUuid(-5)), 0, 'a time before 1970 is clamped, not wrapped');
});

test('ordered by time as text (every dialect compares the column as a string), distinct within a millisecond', () => {
  const t = Date.UTC(2026, 5, 1);
  const later = newEventUuid(t + 1);
  const same = Array.from({ length: 50_000 }, () => newEventUuid(t));
  assert.equal(new Set(same).size, same.length);
  assert.ok(same.every((u) => u < later));
  assert.ok(newEventUuid(t + 1000) > later);
});
