/** Reading the headers and properties JSON blobs of a webhook row, including rows other tools wrote. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHeaders, parseProperties } from '../../src/store/webhook-repository.js';

test('headers: string values as stored; other values become strings; empty or corrupt blobs read as null', () => {
  assert.deepEqual(parseHeaders('{"X-Tenant":"Cust1","X-Empty":""}'), { 'X-Tenant': 'Cust1', 'X-Empty': '' });
  assert.deepEqual(parseHeaders('{"A":"x","N":5,"B":true,"Z":null,"O":{"k":1}}'), { A: 'x', N: '5', B: 'true', Z: '', O: '{"k":1}' });
  for (const blob of [null, '', '   ', 'not json', '[1,2]', '"text"', '42']) assert.equal(parseHeaders(blob), null, String(blob));
});

test('headers: a "__proto__" name is an ordinary header, never the prototype', () => {
  const h = parseHeaders('{"__proto__":"v","A":"b"}');
  assert.ok(h);
  assert.equal(Object.getPrototypeOf(h), Object.prototype);
  assert.deepEqual(Object.entries(h), [['__proto__', 'v'], ['A', 'b']]);
});

test('properties: every JSON value read back as stored, nested ones and key order included', () => {
  const parsed = parseProperties('{"s":"x","n":1.5,"b":false,"z":null,"a":["p","q"],"m":[1,"r"],"o":{"k":1,"a":[{"z":2,"y":3}]}}');
  assert.deepEqual(parsed, { s: 'x', n: 1.5, b: false, z: null, a: ['p', 'q'], m: [1, 'r'], o: { k: 1, a: [{ z: 2, y: 3 }] } });
  assert.equal(JSON.stringify(parsed), '{"s":"x","n":1.5,"b":false,"z":null,"a":["p","q"],"m":[1,"r"],"o":{"k":1,"a":[{"z":2,"y":3}]}}');
  assert.equal(parseProperties('{oops'), null);
});
