import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decimalValue, isExactNumber, parseExact, stringifyExact } from '../../src/webhooks/exact-json.js';
import { payloadBytes } from '../../src/outbox/send/payload.js';

test('decimals: a number when a double keeps the digits, else the normalised text', () => {
  assert.equal(decimalValue('0.25'), 0.25);
  assert.equal(decimalValue('+007'), 7);
  assert.equal(decimalValue('-0'), 0);
  assert.equal(decimalValue('.5'), 0.5);
  for (const [text, kept] of [['12.50', '12.50'], ['+012.50', '12.50'], ['79228162514264337593543950335', '79228162514264337593543950335'],
    ['-0.1000000000000000000001', '-0.1000000000000000000001'], ['1.', '1']] as const) {
    const v = decimalValue(text);
    if (kept === '1') assert.equal(v, 1);
    else {
      assert.ok(isExactNumber(v), text);
      assert.equal(v.value, kept);
    }
  }
});

test('JSON keeps every digit both ways; longs come back as bigint', () => {
  const text = '{"a":9223372036854775807,"b":-9223372036854775808,"c":18446744073709551615,"d":12.50,"e":1.5,"f":"x"}';
  const v = parseExact(text) as Record<string, unknown>;
  assert.equal(v.a, 9223372036854775807n);
  assert.equal(v.b, -9223372036854775808n);
  assert.ok(isExactNumber(v.c) && isExactNumber(v.d));
  assert.equal(v.e, 1.5);
  assert.equal(stringifyExact(v), text);
});

test('the payload writes NaN and the infinities as NetServer does, longs and decimals with all their digits', () => {
  const body = payloadBytes({
    eventUuid: 'u', eventName: 'contact.created', primaryKey: 1, changedByAssociateId: 1, timestamp: new Date(0),
    webhookName: 'w', contextIdentifier: 'c',
    data: { nan: NaN, inf: Infinity, ninf: -Infinity, long: 9223372036854775807n, dec: decimalValue('79228162514264337593543950335.5') },
    properties: { p: -Infinity, q: 2n ** 63n - 1n },
  }).toString('utf8');
  assert.match(body, /"FieldValues":\{"nan":"NaN","inf":"Infinity","ninf":"-Infinity","long":9223372036854775807,"dec":79228162514264337593543950335\.5\},"p":"-Infinity","q":9223372036854775807\}$/);
});
