import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createSender, sendTestEvent, type DeliveryJob, type Sender } from '../../src/outbox/send/sender.js';
import type { Resolve } from '../../src/outbox/send/target-guard.js';
import { pythonSignature } from '../helpers/python-signature.js';
import { requires } from '../helpers/requires.js';
import { startReceiver, testConfig, headerPairs, type Receiver } from './delivery-support.js';

const job = (url: string, over: Partial<DeliveryJob> = {}): DeliveryJob => ({
  hook: { name: 'Name you provided', targetUrl: url, secret: null, headers: null, properties: null },
  eventUuid: '8337ae4a-1dd6-40fd-8dc7-a050664a0af7',
  attemptNo: 1,
  eventName: 'contact.changed',
  primaryKey: 994863,
  data: { contact_id: 994863, name: 'Ålesund AS' },
  changedByAssociateId: 316,
  timestamp: new Date(Date.UTC(2018, 3, 24, 7, 50, 50, 681)),
  ...over,
});

const python3 = await requires('python3');

describe('sender against a loopback receiver', () => {
  let rx: Receiver;
  let sender: Sender;
  const config = testConfig({ userAgent: 'NetServer-Webhook/8.8 (test)', contextIdentifier: 'Cust1234', deliveryTimeoutMs: 500, responseCapBytes: 4096 });

  before(async () => {
    rx = await startReceiver();
    sender = createSender({ config });
  });
  after(async () => {
    sender.close();
    await rx.close();
  });

  test('POSTs exactly the NetServer headers and body; the signature verifies independently', python3, async () => {
    const before = rx.requests.length;
    const secret = 'my shared sëcret';
    const outcome = await sender.deliver(job(rx.url, {
      attemptNo: 2,
      hook: { name: 'Name you provided', targetUrl: rx.url, secret, headers: { Authorization: 'Bearer abc', 'X-SuperOffice-Event': 'forged' },
        properties: { tenant: 'north', EventId: 'forged' } },
    }));
    assert.equal(outcome.kind, 'success');
    const r = rx.requests[before];
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/hook');
    assert.equal(r.body.toString('utf8'),
      '{"EventId":"8337ae4a-1dd6-40fd-8dc7-a050664a0af7","Timestamp":"2018-04-24T07:50:50.681Z","Changes":["contact_id","name"],' +
      '"Event":"contact.changed","PrimaryKey":994863,"Entity":"contact","ContextIdentifier":"Cust1234","ChangedByAssociateId":316,' +
      '"WebhookName":"Name you provided","FieldValues":{"contact_id":994863,"name":"Ålesund AS"},"tenant":"north"}');
    const sent = headerPairs(r).filter(([n]) => !/^(content-length|accept-encoding|host|connection)$/i.test(n));
    assert.deepEqual(sent, [
      ['Content-Type', 'application/json; charset=utf-8'],
      ['User-Agent', 'NetServer-Webhook/8.8 (test)'],
      ['X-SuperOffice-Event', 'contact.changed'],
      ['X-SuperOffice-EventId', '8337ae4a-1dd6-40fd-8dc7-a050664a0af7'],
      ['X-SuperOffice-Retry', '1'],
      ['X-SuperOffice-Signature', pythonSignature(secret, r.body)],
      ['Authorization', 'Bearer abc'],
    ]);
    assert.equal(r.headers['content-length'], String(r.body.length));
    assert.equal(r.headers.accept, undefined);
  });

  test('no X-SuperOffice-Signature when the hook has no secret', async () => {
    const before = rx.requests.length;
    await sender.deliver(job(rx.url));
    assert.equal(rx.requests[before].headers['x-superoffice-signature'], undefined);
    assert.equal(rx.requests[before].headers['x-superoffice-retry'], '0');
  });

  test('sendTestEvent: the test event, and the response as status line + headers + body', python3, async () => {
    const before = rx.requests.length;
    rx.respond(() => ({ status: 200, headers: { 'X-Receiver': 'yes' }, body: 'pong' }));
    const result = await sendTestEvent({ name: 'Hook', targetUrl: rx.url, secret: 'k', headers: null, properties: null },
      { config, changedByAssociateId: 316 });
    rx.respond(() => ({ status: 200, body: 'ok' }));
    assert.equal(result.ok, true);
    assert.equal(result.status, 200);
    assert.match(result.message, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(result.message, /\r\nX-Receiver: yes\r\n/);
    assert.match(result.message, /\r\n\r\npong$/);
    const r = rx.requests[before];
    assert.equal(r.headers['x-hook-test'], 'true');
    assert.equal(r.headers['x-superoffice-event'], 'test');
    assert.equal(r.headers['x-superoffice-eventid'], r.json.EventId);
    assert.equal(r.headers['x-superoffice-signature'], pythonSignature('k', r.body));
    assert.deepEqual(Object.keys(r.json), ['EventId', 'Timestamp', 'Changes', 'Event', 'PrimaryKey', 'Entity', 'ContextIdentifier',
      'ChangedByAssociateId', 'WebhookName']);
    assert.deepEqual([r.json.Event, r.json.Entity, r.json.PrimaryKey, r.json.Changes, r.json.ChangedByAssociateId], ['test', 'test', 0, [], 316]);
    assert.match(String(r.json.EventId), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('sendTestEvent reports a failing target with ok=false and its answer, capped at 4000 characters', async () => {
    rx.respond(() => ({ status: 500, body: 'E'.repeat(10_000) }));
    const result = await sendTestEvent({ name: 'Hook', targetUrl: rx.url, secret: null, headers: null, properties: null }, { config });
    rx.respond(() => ({ status: 200, body: 'ok' }));
    assert.equal(result.ok, false);
    assert.equal(result.status, 500);
    assert.match(result.message, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.equal(result.message.length, 4000);
  });

  test('redirects are not followed: a 3xx is a failed attempt', async () => {
    const before = rx.requests.length;
    rx.respond(() => ({ status: 302, headers: { Location: '/elsewhere' } }));
    const outcome = await sender.deliver(job(rx.url));
    rx.respond(() => ({ status: 200, body: 'ok' }));
    assert.equal(outcome.kind, 'failure');
    assert.equal(rx.requests.length, before + 1);
  });

  test('410 is gone, 413 is too_large, 429/503 with Retry-After is retry_after (seconds, HTTP-date, capped)', async () => {
    const cases: Array<[number, Record<string, string>, string, unknown]> = [
      [410, {}, 'gone', undefined],
      [413, {}, 'failure', undefined],
      [429, { 'Retry-After': '7' }, 'retry_after', 7000],
      [503, { 'Retry-After': new Date(Date.now() + 3_600_000).toUTCString() }, 'retry_after', 'capped'],
      [503, {}, 'failure', undefined],
    ];
    const s = createSender({ config: { ...config, retryAfterCapMs: 600_000 } });
    try {
      for (const [status, headers, kind, retryAfter] of cases) {
        rx.respond(() => ({ status, headers, body: 'x' }));
        const o = await s.deliver(job(rx.url));
        assert.equal(o.kind, kind, `status ${status}`);
        if (o.kind === 'failure' && status === 413) assert.equal(o.errorClass, 'too_large');
        if (o.kind === 'retry_after') assert.equal(o.retryAfterMs, retryAfter === 'capped' ? 600_000 : retryAfter);
      }
    } finally {
      s.close();
      rx.respond(() => ({ status: 200, body: 'ok' }));
    }
  });

  test('a target that does not answer in time is a timeout', async () => {
    rx.respond(() => 'hang');
    const o = await sender.deliver(job(rx.url));
    rx.respond(() => ({ status: 200, body: 'ok' }));
    assert.equal(o.kind, 'failure');
    assert.equal(o.kind === 'failure' && o.errorClass, 'timeout');
  });

  test('connection refused is a connect failure', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const o = await sender.deliver(job(`http://127.0.0.1:${port}/`));
    assert.equal(o.kind === 'failure' && o.errorClass, 'connect');
  });
});

test('a large response body is not read past responseCapBytes: the connection is dropped', async () => {
  let finished = false;
  let closedEarly: Promise<boolean> = Promise.resolve(false);
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'z');
      let sent = 0;
      closedEarly = new Promise((resolve) => {
        res.on('close', () => resolve(!finished));
      });
      res.on('finish', () => { finished = true; });
      const pump = () => {
        while (sent < 100 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const s = createSender({ config: testConfig({ responseCapBytes: 1024 }) });
  try {
    const o = await s.deliver(job(url));
    assert.equal(o.kind, 'failure');
    assert.ok(o.report.length <= 4000);
    assert.match(o.report, /z{1000}/);
    assert.equal(await closedEarly, true, 'the 100 MB response was cut off, not drained');
  } finally {
    s.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

describe('target guard at send time (nothing but loopback is ever dialled)', () => {
  let connections = 0;
  let server: net.Server;
  let port = 0;
  // Maps every name to loopback, as a rebinding DNS answer would.
  const toLoopback: Resolve = async () => [{ address: '127.0.0.1', family: 4 }];
  const strict = testConfig({ allowInsecureTargets: false, deliveryTimeoutMs: 1000 });

  before(async () => {
    server = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('a name resolving to a loopback address is refused before connecting', async () => {
    const s = createSender({ config: strict, lookup: toLoopback });
    try {
      const o = await s.deliver(job(`https://hooks.example.test:${port}/x`));
      assert.equal(o.kind, 'refused_target');
      assert.match(o.report, /loopback/);
      assert.equal(connections, 0);
    } finally {
      s.close();
    }
  });

  test('literal loopback addresses are refused before connecting, in any spelling', async () => {
    const s = createSender({ config: strict, lookup: toLoopback });
    try {
      for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '2130706433', 'localhost']) {
        const o = await s.deliver(job(`https://${host}:${port}/`));
        assert.equal(o.kind, 'refused_target', host);
      }
      assert.equal(connections, 0);
    } finally {
      s.close();
    }
  });

  test('http is refused by default', async () => {
    const o = await sendTestEvent({ name: 'h', targetUrl: `http://hooks.example.test:${port}/`, secret: null, headers: null, properties: null },
      { config: strict, lookup: toLoopback });
    assert.equal(o.ok, false);
    assert.match(o.message, /^Target refused: .*https/);
    assert.equal(connections, 0);
  });

  test('control: allowlisting the name lets the same request connect', async () => {
    const s = createSender({ config: { ...strict, targetAllowlist: ['hooks.example.test'] }, lookup: toLoopback });
    try {
      const o = await s.deliver(job(`https://hooks.example.test:${port}/x`));
      assert.equal(o.kind, 'failure'); // the TCP server hangs up during the TLS handshake
      assert.equal(connections, 1);
    } finally {
      s.close();
    }
  });
});
