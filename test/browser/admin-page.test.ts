/**
 * The admin page in a real browser: Debian's headless Chromium driven by playwright-core, against the real app (its
 * worker running) and loopback receivers. Sign in with the keyboard, the webhook list, a failing hook's definition,
 * chart and delivery log, a delivery's attempts, redelivery to the receiver once it is healthy again (seen to
 * succeed), stop/activate, a test event; the session cookie's attributes and the CSRF refusals; phone width without
 * horizontal scrolling; the list paged, searched and filtered; focus after sign-in, actions and sign-out; axe-core on
 * every page at 1280 and 390 px; the favicon. A screenshot of each page goes to test-output/admin/ (TEST_OUTPUT_DIR overrides).
 *
 * Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium; Debian packages chromium and chromium-driver). Without
 * it the suite is skipped with the reason, except under CI=true where that is a failure.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startApp, startReceiver, textAt, webhookXml, type Receiver, type TestApp } from '../helpers/app.js';
import { buildAdmin } from '../../scripts/build-admin.mjs';
import { chromiumArgs, chromiumAvailability, chromiumPath } from '../helpers/chromium.js';
import { adminShotDir, axeViolations as axeViolationsOf, until } from '../helpers/admin-browser.js';

const outDir = adminShotDir;

describe('admin page in Chromium', chromiumAvailability(), () => {
  let app: TestApp;
  let healthy: Receiver;
  let failing: Receiver;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let uiDir: string;
  let failingId: number;
  let healthyId: number;
  const shot = async (name: string) => {
    await page.screenshot({ path: join(outDir, `${name}.png`), fullPage: true });
  };
  const axeViolations = () => axeViolationsOf(page);
  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    return el ? `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}:${(el.textContent ?? '').trim().slice(0, 30)}` : 'none';
  });
  const failedLoads: string[] = [];
  const noHorizontalScroll = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  before(async () => {
    mkdirSync(outDir, { recursive: true });
    uiDir = await buildAdmin(mkdtempSync(join(tmpdir(), 'wa-admin-ui-')));
    // A 2.5 s retry window: a failing delivery is tried twice (now, +1 s), then expires (the next would be 4 s later).
    app = await startApp('sqlite', { startWorker: true, metrics: true, adminUiDir: uiDir, env: { POLL_INTERVAL_MS: '50', RETRY_MAX_AGE_MS: '2500' } });
    healthy = await startReceiver(200);
    failing = await startReceiver(200);
    const save = async (name: string, url: string) => {
      const r = await app.call(88, 'SaveWebhook', webhookXml({ id: 0, name, events: ['contact.created'], targetUrl: url, secret: 'a-secret-the-page-never-shows' }));
      assert.equal(r.succeeded, true, r.text);
      return Number(textAt(r.response, 'WebhookId'));
    };
    healthyId = await save('Billing sync', healthy.url);
    failingId = await save('CRM mirror', failing.url);
    failing.status = 500;
    for (let pk = 1; pk <= 3; pk++) {
      assert.equal((await app.call(88, 'SignalEvent', `<EventName>contact.created</EventName><PrimaryKey>${pk}</PrimaryKey>`)).succeeded, true);
    }
    await until(async () => (await app.db.knex('wa_delivery').where({ webhook_id: failingId, status: 'expired' }).count({ n: '*' }).first())?.n == 3,
      'the failing hook\'s deliveries to expire');
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('response', (r) => { if (r.status() >= 400 && !r.url().includes('/admin/api/')) failedLoads.push(`${r.status()} ${r.url()}`); });
  });

  after(async () => {
    await browser?.close();
    await healthy?.close();
    await failing?.close();
    await app?.close();
    if (uiDir) rmSync(uiDir, { recursive: true, force: true });
  });

  test('sign in with the keyboard (a wrong password is refused first); the session cookie is HttpOnly and SameSite=Strict', async () => {
    await page.goto(`${app.baseUrl}/admin/`);
    await page.getByLabel('User name').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'userName', 'the user name field has focus');
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select')].filter((i) => (i as HTMLInputElement).labels?.length === 0).length);
    assert.equal(unlabelled, 0, 'every field has a label');
    await shot('01-sign-in');
    await page.keyboard.type('admin');
    await page.keyboard.press('Tab');
    await page.keyboard.type('not the password');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password' }).waitFor();
    await page.getByLabel('Password').fill('app-test-password');
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    assert.match(await focused(), /^main#main/, 'after sign-in the content has focus, not body');
    const cookie = (await context.cookies()).find((c) => c.name === 'wa_admin_session');
    assert.ok(cookie);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/admin');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the session is not readable by scripts');
    const bundle = await fetch(`${app.baseUrl}/admin/app.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(bundle.headers.get('content-encoding'), 'gzip', 'the bundle is sent compressed');
    const icon = await fetch(`${app.baseUrl}/admin/favicon.svg`);
    assert.equal(icon.status, 200);
    assert.match(icon.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    assert.deepEqual(failedLoads, [], 'nothing the page loads is missing (the favicon was a 404)');
  });

  test('webhook list with state, counters and last error', async () => {
    const rows = page.locator('tbody tr');
    await until(async () => (await rows.count()) === 2, 'two webhooks listed');
    const failingRow = rows.filter({ hasText: 'CRM mirror' });
    assert.match(await failingRow.innerText(), /Active[\s\S]*500/);
    assert.match(await rows.filter({ hasText: 'Billing sync' }).innerText(), /Active/);
    assert.equal(await page.getByText('a-secret-the-page-never-shows').count(), 0);
    await shot('02-webhooks');
  });

  test('a failing hook: definition, chart, delivery log; one delivery\'s attempts; redelivered to the healthy receiver it succeeds', async () => {
    await page.getByRole('link', { name: 'CRM mirror' }).click();
    await page.getByRole('heading', { name: 'CRM mirror' }).waitFor();
    await page.getByRole('heading', { name: 'Definition' }).waitFor();
    assert.match(await page.locator('dl').first().innerText(), new RegExp(failing.url.replace(/[.?]/g, '\\$&')));
    await page.getByText(/Attempts per hour, last 24 h: .*0 succeeded.*6 failed/).waitFor();
    const log = page.locator('section[aria-labelledby="log-title"] tbody tr');
    await until(async () => (await log.count()) === 3, 'three deliveries in the log');
    assert.match(await log.first().innerText(), /contact\.created[\s\S]*expired[\s\S]*2[\s\S]*500/);
    await shot('03-webhook-failing');

    await log.first().getByRole('link').click();
    await page.getByRole('heading', { name: /Delivery #\d+/ }).waitFor();
    const attempts = page.locator('ol.attempts > li');
    assert.equal(await attempts.count(), 2);
    assert.match(await attempts.first().innerText(), /Attempt 1[\s\S]*500[\s\S]*receiver answered 500/);
    await shot('04-delivery-failed');

    failing.status = 200;
    const before = failing.requests.length;
    await page.getByRole('button', { name: 'Redeliver', exact: true }).click();
    await page.getByRole('status').filter({ hasText: '1 delivery queued again.' }).waitFor();
    await until(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      return (await page.locator('.row .badge').first().innerText()) === 'succeeded';
    }, 'the redelivery to succeed');
    assert.equal(await attempts.count(), 3);
    assert.match(await attempts.nth(2).innerText(), /Attempt 3[\s\S]*200/);
    const replay = failing.requests[before];
    assert.equal(replay.headers['x-superoffice-retry'], '2');
    assert.equal(failing.requests.filter((r) => r.headers['x-superoffice-eventid'] === replay.headers['x-superoffice-eventid']).length, 3, 'same EventId');
    await shot('05-delivery-redelivered');
  });

  test('redeliver all failed since a time, stop and activate, send a test event', async () => {
    await page.getByRole('link', { name: /Webhook \d+/ }).click();
    await page.getByRole('heading', { name: 'CRM mirror' }).waitFor();
    await page.getByRole('button', { name: 'Redeliver failed' }).click();
    await page.getByRole('status').filter({ hasText: '2 deliveries queued again.' }).waitFor();
    await until(async () => (await app.db.knex('wa_delivery').where({ webhook_id: failingId, status: 'succeeded' }).count({ n: '*' }).first())?.n == 3,
      'all three delivered');
    await page.getByLabel('Show').selectOption('succeeded');
    await until(async () => (await page.locator('section[aria-labelledby="log-title"] tbody tr').count()) === 3, 'three succeeded in the log');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    assert.equal(download.suggestedFilename(), `webhook-${failingId}-deliveries.csv`);
    const csv = readFileSync(await download.path(), 'utf8').trimEnd().split('\r\n');
    assert.equal(csv[0], 'deliveryId,eventId,eventName,primaryKey,status,attempts,signalledAt,finishedAt,lastStatus,lastError');
    assert.deepEqual(csv.slice(1).map((l) => l.split(',').slice(2, 5)), [3, 2, 1].map((pk) => ['contact.created', String(pk), 'succeeded']));

    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('status').filter({ hasText: 'Webhook is now Stopped.' }).waitFor();
    assert.match(await focused(), /^button:Activate/, 'focus stays on the button pressed (it was body while the busy button was disabled)');
    assert.equal(await page.locator('.row .badge').first().innerText(), 'Stopped');
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByRole('status').filter({ hasText: 'Webhook is now Active.' }).waitFor();
    const n = failing.requests.length;
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByRole('status').filter({ hasText: 'Test event accepted' }).waitFor();
    assert.equal(failing.requests[n]?.headers['x-superoffice-event'], 'test');
    await shot('06-webhook-recovered');
    assert.ok(healthyId > 0);
  });

  test('phone width: list and webhook without horizontal scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${app.baseUrl}/admin/#/`);
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await page.getByRole('link', { name: 'CRM mirror' }).waitFor();
    assert.equal(await noHorizontalScroll(), true, 'list fits');
    await shot('07-phone-webhooks');
    await page.getByRole('link', { name: 'CRM mirror' }).click();
    await page.getByRole('heading', { name: 'Delivery log' }).waitFor();
    await page.locator('section[aria-labelledby="log-title"] tbody tr').first().waitFor();
    assert.equal(await noHorizontalScroll(), true, 'webhook page fits');
    await shot('08-phone-webhook');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('axe-core: no violations on the list, a webhook and a delivery, at 1280 px and 390 px', async () => {
    const delivery = await app.db.knex('wa_delivery').where({ webhook_id: failingId }).first('delivery_id');
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      const pages = [['#/', 'Webhooks', 'list'], [`#/webhooks/${failingId}`, 'Delivery log', 'webhook'], [`#/deliveries/${delivery.delivery_id}`, 'Attempts', 'delivery']] as const;
      for (const [hash, heading, name] of pages) {
        await page.goto(`${app.baseUrl}/admin/${hash}`);
        await page.getByRole('heading', { name: heading }).waitFor();
        await page.locator('[aria-busy="true"]').first().waitFor({ state: 'detached' }).catch(() => undefined);
        assert.deepEqual(await axeViolations(), [], `${hash} at ${width} px`);
        // The viewport only: docs/screenshots/ takes these (small files), the numbered full-page shots are for review.
        await page.screenshot({ path: join(outDir, `${name}-${width}.png`) });
      }
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('the list: 50 a page with the total, next and previous; search by name, target or event; filter by state', async () => {
    for (let i = 1; i <= 60; i++) {
      const r = await app.call(88, 'SaveWebhook', webhookXml({
        id: 0, name: `Bulk ${String(i).padStart(2, '0')}`, events: [i % 2 ? 'sale.changed' : 'person.created'],
        targetUrl: `${healthy.url}?bulk/${i}`, state: 'Stopped',
      }));
      assert.equal(r.succeeded, true, r.text);
    }
    const listed = await fetch(`${app.baseUrl}/admin/api/webhooks?limit=500`, { headers: { Authorization: `SOTicket ${app.ticket}`, 'Accept-Encoding': 'gzip' } });
    assert.equal(listed.headers.get('content-encoding'), 'gzip', 'the list is sent compressed');
    await page.goto(`${app.baseUrl}/admin/#/`);
    const rows = page.locator('tbody tr');
    await page.getByText('1–50 of 62').waitFor();
    assert.equal(await rows.count(), 50);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText('51–62 of 62').waitFor();
    assert.equal(await rows.count(), 12);
    assert.match(await focused(), /^button:Next page/);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText('1–50 of 62').waitFor();
    await page.screenshot({ path: join(outDir, 'list-paged-1280.png') });

    await page.getByLabel('Search', { exact: true }).fill('billing');
    await page.getByLabel('Search', { exact: true }).press('Enter');
    await page.getByText('1–1 of 1').waitFor();
    assert.match(await rows.first().innerText(), /Billing sync/);
    await page.getByLabel('Search', { exact: true }).fill('bulk/1');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('1–11 of 11').waitFor();
    await page.getByLabel('Search', { exact: true }).fill('SALE.CHANGED');
    await page.getByLabel('State').selectOption('Stopped');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('1–30 of 30').waitFor();
    await page.getByLabel('Search', { exact: true }).fill('');
    await page.getByLabel('State').selectOption('Active');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('1–2 of 2').waitFor();
    await page.getByLabel('Search', { exact: true }).fill('no such hook');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('No webhook matches.').waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByLabel('Search', { exact: true }).fill('');
    await page.getByLabel('State').selectOption('');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('1–50 of 62').waitFor();
    assert.equal(await noHorizontalScroll(), true);
    assert.deepEqual(await axeViolations(), [], 'paged list at 390 px');
    await page.screenshot({ path: join(outDir, 'list-paged-390.png') });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('delete asks first; declined nothing happens, accepted the hook is gone and the list has focus', async () => {
    const victim = await app.db.knex('webhook').where('name', 'Bulk 60').first('webhook_id');
    await page.goto(`${app.baseUrl}/admin/#/webhooks/${victim.webhook_id}`);
    await page.getByRole('heading', { name: 'Bulk 60' }).waitFor();
    const asked: string[] = [];
    page.once('dialog', (d) => { asked.push(d.message()); void d.dismiss(); });
    await page.getByRole('button', { name: 'Delete' }).click();
    await until(async () => asked.length === 1, 'the question');
    assert.match(asked[0], /Delete webhook "Bulk 60"\?/);
    assert.ok(await app.db.knex('webhook').where('webhook_id', victim.webhook_id).first(), 'declined: still there');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await page.getByText('1–50 of 61').waitFor();
    assert.match(await focused(), /^main#main/);
    assert.equal(await app.db.knex('webhook').where('webhook_id', victim.webhook_id).first(), undefined);
  });

  test('CSRF: a cookie-authenticated change without the header, or from another origin, is refused; a ticket works without a cookie', async () => {
    const status = await page.evaluate(async (id) => (await fetch(`/admin/api/webhooks/${id}/state`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ state: 'Stopped' }),
    })).status, failingId);
    assert.equal(status, 401);
    const cookie = (await context.cookies()).find((c) => c.name === 'wa_admin_session');
    const cross = await fetch(`${app.baseUrl}/admin/api/webhooks/${failingId}/state`, {
      method: 'POST', body: JSON.stringify({ state: 'Stopped' }),
      headers: { Cookie: `wa_admin_session=${cookie?.value}`, 'X-Admin-Request': '1', 'Content-Type': 'application/json', Origin: 'http://evil.example' },
    });
    assert.equal(cross.status, 401);
    assert.equal((await app.db.knex('webhook').where('webhook_id', failingId).first('state')).state, 1, 'still Active');
    const viaTicket = await fetch(`${app.baseUrl}/admin/api/webhooks`, { headers: { Authorization: `SOTicket ${app.ticket}` } });
    assert.equal(viaTicket.status, 200);
    assert.equal(((await viaTicket.json()) as { total: number }).total, 61);
  });

  test('sign out ends the session', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('User name').waitFor();
    assert.match(await focused(), /^input#userName/, 'after sign-out the user name field has focus');
    const r = await page.evaluate(async () => (await fetch('/admin/api/webhooks')).status);
    assert.equal(r, 401);
  });
});
