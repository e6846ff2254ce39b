/**
 * Cross-site writes on the JSON faces (issue 18, item 4), in Chromium: the browser has Basic credentials cached for
 * the service (it answered a 401 challenge once), then a page of another origin posts plain HTML forms at the
 * service: a bodiless DeleteWebhook on the Agents face and a SignalEvent on the RESTful face. A browser sends the
 * cached credentials with such a form; the service must refuse both (403 for the Origin / Sec-Fetch-Site, or 415 for
 * the form's media type), and nothing may be deleted or signalled. Two attacker origins: another port of the
 * service's host (same site) and another loopback address (cross site).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { startApp, startReceiver, textAt, webhookXml, TEST_ADMIN, TEST_ADMIN_PASSWORD, type Receiver, type TestApp } from '../helpers/app.js';
import { chromiumArgs, chromiumAvailability, chromiumPath } from '../helpers/chromium.js';

/** A page with two forms that submit themselves one after the other into iframes (no script needed from the service). */
function attackerPage(service: string, webhookId: number): string {
  return `<!doctype html><html><body>
<iframe name="f1"></iframe><iframe name="f2"></iframe>
<form id="del" method="POST" target="f1" action="${service}/api/v1/Agents/Webhook/DeleteWebhook?webhookId=${webhookId}"></form>
<form id="sig" method="POST" target="f2" enctype="text/plain" action="${service}/api/v1/Webhook/contact.created/7">
<input name='{"x":"' value='"}'></form>
<script>document.getElementById('del').submit(); document.getElementById('sig').submit();</script>
</body></html>`;
}

async function serveAttacker(host: string, html: () => string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html());
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

describe('no cross-site writes on /api/v1 (Chromium, cached Basic credentials)', chromiumAvailability(), () => {
  let app: TestApp;
  let rx: Receiver;
  let browser: Browser;
  let context: BrowserContext;
  let webhookId: number;

  before(async () => {
    app = await startApp('sqlite', { startWorker: true, env: { POLL_INTERVAL_MS: '50' } });
    rx = await startReceiver(200);
    const r = await app.call(88, 'SaveWebhook', webhookXml({ id: 0, name: 'victim', events: ['contact.created'], targetUrl: rx.url }));
    assert.equal(r.succeeded, true, r.text);
    webhookId = Number(textAt(r.response, 'WebhookId'));
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    context = await browser.newContext({ httpCredentials: { username: TEST_ADMIN, password: TEST_ADMIN_PASSWORD } });
    // The user once opened the API in this browser and answered the Basic challenge: the credentials are cached.
    const page = await context.newPage();
    const own = await page.goto(`${app.baseUrl}/api/v1/Webhook/${webhookId}`);
    assert.equal(own?.status(), 200, 'the browser is signed in to the API with Basic credentials');
    await page.close();
  });

  after(async () => {
    await browser?.close();
    await rx?.close();
    await app?.close();
  });

  for (const [label, host] of [['another port of the same host (same site)', '127.0.0.1'], ['another loopback address (cross site)', '127.0.0.2']] as const) {
    test(`forms posted from ${label} are refused; nothing is deleted or signalled`, async () => {
      const attacker = await serveAttacker(host, () => attackerPage(app.baseUrl, webhookId));
      try {
        const page = await context.newPage();
        const statuses = new Map<string, number>();
        page.on('response', (res) => {
          const u = new URL(res.url());
          if (u.pathname.startsWith('/api/v1/') && res.request().method() === 'POST') statuses.set(u.pathname, res.status());
        });
        await page.goto(attacker.url);
        const end = Date.now() + 15_000;
        while (statuses.size < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
        await page.close();
        assert.equal(statuses.size, 2, `both forms were answered: ${JSON.stringify([...statuses])}`);
        for (const [path, status] of statuses) assert.ok(status === 403 || status === 415, `${path} answered ${status}`);

        const hook = await app.db.knex('webhook').where({ webhook_id: webhookId }).first();
        assert.ok(hook, 'the webhook was not deleted');
        const events = await app.db.knex('wa_delivery').where({ webhook_id: webhookId }).count({ n: '*' }).first();
        assert.equal(Number(events?.n), 0, 'no event was signalled');
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(rx.requests.filter((q) => q.headers['x-superoffice-event'] === 'contact.created').length, 0, 'the receiver got no event');
      } finally {
        await attacker.close();
      }
    });
  }
});
