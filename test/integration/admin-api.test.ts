/**
 * The admin HTTP/JSON API without a browser: ticket authentication (SOTicket), sessions, the error shape and status
 * per error code, bad input, and what it never shows (secrets, header values). The page itself is driven in
 * test/browser/admin-page.test.ts.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startReceiver, textAt, webhookXml, type Receiver, type TestApp } from '../helpers/app.js';
import { enqueueEvent } from '../../src/outbox/outbox-repository.js';

describe('admin API', () => {
  let app: TestApp;
  let rx: Receiver;
  let hookId: number;
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${app.baseUrl}/admin/api${path}`, { headers: { Authorization: `SOTicket ${app.ticket}`, ...headers } });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => fetch(`${app.baseUrl}/admin/api${path}`, {
    method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { Authorization: `SOTicket ${app.ticket}`, 'Content-Type': 'application/json', ...headers },
  });

  before(async () => {
    app = await startApp('sqlite', { metrics: true });
    rx = await startReceiver(200);
    const r = await app.call(88, 'SaveWebhook', webhookXml({
      id: 0, name: 'api hook', events: ['contact.created'], targetUrl: rx.url, secret: 'secret-not-shown', headers: { 'X-Api-Key': 'header-value-not-shown' },
    }));
    hookId = Number(textAt(r.response, 'WebhookId'));
    await enqueueEvent(app.db.knex, { eventName: 'contact.created', primaryKey: 5, data: {}, changedByAssociateId: 1, timestamp: new Date() }, [hookId]);
  });
  after(async () => {
    await rx.close();
    await app.close();
  });

  test('no credentials, a bad ticket: 401 with the error shape', async () => {
    const none = await fetch(`${app.baseUrl}/admin/api/webhooks`);
    assert.equal(none.status, 401);
    const body = (await none.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'unauthenticated');
    assert.equal((await get('/webhooks', { Authorization: 'SOTicket 7T:bogus' })).status, 401);
    assert.equal((await fetch(`${app.baseUrl}/admin/api/webhooks`, { headers: { Cookie: 'wa_admin_session=bogus' } })).status, 401);
    // Issue 18: a cookie that is not valid percent-encoding answered 500 (with a stack in the log).
    for (const value of ['%', '%E0%A4%A', 'abc%zz']) {
      const r = await fetch(`${app.baseUrl}/admin/api/webhooks`, { headers: { Cookie: `wa_admin_session=${value}` } });
      assert.equal(r.status, 401, `cookie ${value}`);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'unauthenticated');
    }
  });

  test('webhooks and deliveries with a ticket; no secret or header value in any answer', async () => {
    const list = await get('/webhooks');
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('cache-control'), 'no-store');
    const text = await list.text();
    assert.doesNotMatch(text, /secret-not-shown|header-value-not-shown/);
    const hooks = (JSON.parse(text) as { webhooks: Array<{ webhookId: number; hasSecret: boolean; headers: string[] }> }).webhooks;
    assert.deepEqual(hooks.map((h) => [h.webhookId, h.hasSecret, h.headers]), [[hookId, true, ['X-Api-Key']]]);
    const deliveries = (await (await get(`/webhooks/${hookId}/deliveries?status=pending`)).json()) as { deliveries: Array<{ deliveryId: number; status: string }> };
    assert.deepEqual(deliveries.deliveries.map((d) => d.status), ['pending']);
    const one = (await (await get(`/deliveries/${deliveries.deliveries[0].deliveryId}`)).json()) as { attemptLog: unknown[]; eventName: string };
    assert.equal(one.eventName, 'contact.created');
    assert.deepEqual(one.attemptLog, []);
    const csv = await get(`/webhooks/${hookId}/deliveries.csv`);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(csv.headers.get('content-disposition') ?? '', /attachment; filename="?webhook-\d+-deliveries\.csv"?/);
    const lines = (await csv.text()).split('\r\n');
    assert.equal(lines[0], 'deliveryId,eventId,eventName,primaryKey,status,attempts,signalledAt,finishedAt,lastStatus,lastError');
    assert.match(lines[1], new RegExp(`^${deliveries.deliveries[0].deliveryId},[0-9a-f-]{36},contact\\.created,5,pending,0,\\d{4}-\\d\\d-\\d\\dT[^,]+Z,,,$`));
    assert.equal((await get('/webhooks/99999/deliveries.csv')).status, 404);
    const chart = (await (await get(`/webhooks/${hookId}/chart`)).json()) as { buckets: unknown[] };
    assert.equal(chart.buckets.length, 24);
    const basic = (pw: string) => ({ Authorization: `Basic ${Buffer.from(`admin:${pw}`).toString('base64')}` });
    assert.equal((await get('/webhooks', basic('app-test-password'))).status, 200, 'HTTP Basic, as the other JSON faces');
    assert.equal((await get('/webhooks', basic('wrong'))).status, 401);
  });

  test('bad input: 400 naming the field; unknown ids 404; unknown routes 404; broken JSON 400', async () => {
    const bad = await get(`/webhooks/${hookId}/deliveries?status=nope`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { field: string } }).error.field, 'status');
    assert.equal((await get('/webhooks/abc')).status, 400);
    assert.equal((await get('/webhooks/99999')).status, 404);
    assert.equal((await get('/deliveries/99999')).status, 404);
    assert.equal((await get('/nothing-here')).status, 404);
    assert.equal((await post(`/webhooks/${hookId}/state`, { state: 'Sleeping' })).status, 400);
    assert.equal((await post(`/webhooks/${hookId}/redeliver`, {})).status, 400, 'since is required');
    const broken = await post(`/webhooks/${hookId}/state`, '{"state":');
    assert.equal(broken.status, 400);
    assert.equal(((await broken.json()) as { error: { code: string } }).error.code, 'invalid_argument');
    assert.equal((await get('/webhooks')).status, 200, 'still serving');
  });

  test('session: sign in sets the cookie, the cookie authenticates reads, sign out revokes it', async () => {
    const wrong = await post('/session', { userName: 'admin', password: 'wrong' }, { Authorization: '' });
    assert.equal(wrong.status, 401);
    const missing = await post('/session', { userName: 'admin' });
    assert.equal(((await missing.json()) as { error: { field: string } }).error.field, 'password');
    const ok = await post('/session', { userName: 'admin', password: 'app-test-password' });
    assert.equal(ok.status, 200);
    const setCookie = ok.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^wa_admin_session=[^;]+; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const cookie = setCookie.split(';')[0];
    assert.equal((await fetch(`${app.baseUrl}/admin/api/webhooks`, { headers: { Cookie: cookie } })).status, 200);
    const noHeader = await fetch(`${app.baseUrl}/admin/api/session`, { method: 'DELETE', headers: { Cookie: cookie } });
    assert.equal(noHeader.status, 401, 'a cookie-authenticated change needs X-Admin-Request');
    const out = await fetch(`${app.baseUrl}/admin/api/session`, { method: 'DELETE', headers: { Cookie: cookie, 'X-Admin-Request': '1' } });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assert.equal((await fetch(`${app.baseUrl}/admin/api/webhooks`, { headers: { Cookie: cookie } })).status, 401, 'the ticket behind it is gone');
  });

  test('the page is served with a strict CSP; admin calls are counted in /metrics', async () => {
    const page = await fetch(`${app.baseUrl}/admin`, { redirect: 'manual' });
    assert.equal(page.status, 301);
    assert.equal(page.headers.get('location'), '/admin/');
    const index = await fetch(`${app.baseUrl}/admin/`);
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'.*script-src 'self'.*frame-ancestors 'none'/);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    assert.match(metrics, /webhook_agent_requests_total\{face="admin",operation="GetAllWebhooks",outcome="ok"\} [1-9]/);
    assert.match(metrics, /webhook_agent_requests_total\{face="admin",operation="ListDeliveries",outcome="invalid_argument"\} 1/);
    assert.match(metrics, /webhook_agent_logins_total\{outcome="failure"\} 2/);
  });

  test('behind a trusted proxy the same-origin check uses the forwarded host and proto, as the WSDL address does', async () => {
    const proxied = await startApp('sqlite', { env: { TRUST_PROXY: 'true' } });
    try {
      const forwarded = { 'X-Forwarded-Host': 'agent.example.com', 'X-Forwarded-Proto': 'https' };
      const signIn = (app2: TestApp, headers: Record<string, string>) => fetch(`${app2.baseUrl}/admin/api/session`, {
        method: 'POST', body: JSON.stringify({ userName: 'admin', password: 'app-test-password' }),
        headers: { 'Content-Type': 'application/json', ...headers },
      });
      const ok = await signIn(proxied, { ...forwarded, Origin: 'https://agent.example.com' });
      assert.equal(ok.status, 200, await ok.clone().text());
      assert.match(ok.headers.get('set-cookie') ?? '', /; Secure;/, 'HTTPS at the proxy: the cookie is Secure');
      const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0];
      const change = await fetch(`${proxied.baseUrl}/admin/api/session`, {
        method: 'DELETE', headers: { ...forwarded, Origin: 'https://agent.example.com', Cookie: cookie, 'X-Admin-Request': '1' },
      });
      assert.equal(change.status, 200, 'a cookie-authenticated change through the proxy');
      assert.equal((await signIn(proxied, { ...forwarded, Origin: 'https://evil.example' })).status, 401, 'another origin');
      assert.equal((await signIn(proxied, { ...forwarded, Origin: 'http://agent.example.com' })).status, 401, 'another scheme');
      const wsdl = await (await fetch(`${proxied.baseUrl}/Remote/Services88/Webhook.svc?wsdl`, { headers: forwarded })).text();
      assert.match(wsdl, /location="https:\/\/agent\.example\.com\/Remote\/Services88\/Webhook\.svc"/);
      // Without TRUST_PROXY the forwarded host is the client's word and counts for nothing.
      assert.equal((await signIn(app, { ...forwarded, Origin: 'https://agent.example.com' })).status, 401);
    } finally {
      await proxied.close();
    }
  });
});
