/**
 * The admin page's create and edit form, and a delivery's "what was sent", in Debian's headless Chromium
 * (playwright-core) against the real app with its worker and a loopback receiver: a hook created with every member
 * from the keyboard, an edit refused with the API's message next to the field it names (announced, focused, marked
 * invalid), then saved keeping the secret and a header value the page never saw; a delivery's body and headers as
 * the receiver got them, with the signature but never the secret; axe-core on the new pages at 1280 and 390 px.
 * Screenshots go to test-output/admin/ (TEST_OUTPUT_DIR overrides): docs/screenshots/ takes the *-1280/-390 ones.
 *
 * Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium); skipped with the reason without it, failed under CI=true.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startApp, startReceiver, type Receiver, type TestApp } from '../helpers/app.js';
import { buildAdmin } from '../../scripts/build-admin.mjs';
import { chromiumArgs, chromiumAvailability, chromiumPath } from '../helpers/chromium.js';
import { adminShotDir, axeViolations as axeViolationsOf, until } from '../helpers/admin-browser.js';

const outDir = adminShotDir;

describe('admin page: create, edit, what was sent (Chromium)', chromiumAvailability(), () => {
  let app: TestApp;
  let rx: Receiver;
  let browser: Browser;
  let page: Page;
  let uiDir: string;
  let hookId = 0;
  const restHook = async (id: number) => (await (await fetch(`${app.baseUrl}/api/v1/Webhook/${id}`, {
    headers: { Authorization: `SOTicket ${app.ticket}` },
  })).json()) as Record<string, unknown>;
  const axeViolations = () => axeViolationsOf(page);
  const focusedId = () => page.evaluate(() => document.activeElement?.id ?? '');
  const unlabelled = () => page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((i) => (i as HTMLInputElement).labels?.length === 0 && !i.getAttribute('aria-label')).map((i) => i.id));

  before(async () => {
    mkdirSync(outDir, { recursive: true });
    uiDir = await buildAdmin(mkdtempSync(join(tmpdir(), 'wa-admin-ui-')));
    app = await startApp('sqlite', { startWorker: true, adminUiDir: uiDir, env: { POLL_INTERVAL_MS: '50' } });
    rx = await startReceiver(200);
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${app.baseUrl}/admin/`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill('app-test-password');
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await rx?.close();
    await app?.close();
    if (uiDir) rmSync(uiDir, { recursive: true, force: true });
  });

  test('create a webhook with every member, from the keyboard', async () => {
    await page.getByRole('link', { name: 'New webhook' }).click();
    await page.getByRole('heading', { name: 'New webhook' }).waitFor();
    assert.deepEqual(await unlabelled(), [], 'every field has a label');
    await page.getByLabel('Name', { exact: true }).focus();
    await page.keyboard.type('Orders to ERP');
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(), 'targetUrl');
    await page.keyboard.type(rx.url);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('sale.created, sale.changed');
    await page.getByLabel('State').selectOption('Active');
    await page.getByLabel('Secret', { exact: true }).fill('erp-signing-secret');
    await page.getByRole('button', { name: 'Add header' }).press('Enter');
    await until(async () => (await focusedId()) === 'header-name-0', 'a new header row to take focus');
    await page.keyboard.type('X-Api-Key');
    await page.keyboard.press('Tab');
    await page.keyboard.type('erp-key-123');
    await page.getByLabel('Properties').fill('{"tenant": "north", "source": {"system": "crm"}}');
    await page.getByLabel('Description').fill('Sales to the ERP');
    await page.getByLabel('Error e-mail').fill('erp-ops@example.com');
    await page.getByLabel('E-mail', { exact: true }).check();
    await page.getByLabel('On the first failure').check();
    await page.screenshot({ path: join(outDir, 'create-1280.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create webhook' }).press('Enter');
    await page.getByRole('status').filter({ hasText: /Webhook \d+ created \(Active\)\./ }).waitFor();
    hookId = Number(/#\/webhooks\/(\d+)/.exec(page.url())?.[1]);
    assert.ok(hookId > 0);
    assert.equal(await page.getByText('erp-signing-secret').count(), 0);
    assert.equal(await page.getByText('erp-key-123').count(), 0);
    const stored = await restHook(hookId);
    assert.deepEqual([stored.Name, stored.TargetUrl, stored.Events, stored.State, stored.Secret, stored.Headers, stored.Properties, stored.Description,
      stored.ErrorsEmail, stored.NotifyVia, stored.NotifyWhen], ['Orders to ERP', rx.url, ['sale.created', 'sale.changed'], 'Active',
      'erp-signing-secret', { 'X-Api-Key': 'erp-key-123' }, { tenant: 'north', source: { system: 'crm' } }, 'Sales to the ERP',
      'erp-ops@example.com', 'Email', 'FirstFailure']);
    assert.equal(rx.requests.length, 1, 'the save pinged the target');
  });

  test('edit: a refusal is shown next to its field, announced and focused; then saved, keeping the secret and header value', async () => {
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit Orders to ERP' }).waitFor();
    assert.equal(await page.getByLabel('Secret', { exact: true }).inputValue(), '', 'the secret is never sent to the page');
    assert.equal(await page.getByLabel('Header 1 value').inputValue(), '', 'nor a header value');
    await page.getByLabel('Events').fill('sale.created, not an event');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const message = "Events[1]: 'not an event' is not an event name of the form entity.verb, nor entity.* or *";
    await page.getByRole('alert').filter({ hasText: message }).waitFor();
    await until(async () => (await focusedId()) === 'events', 'focus on the field the refusal names');
    const events = page.getByLabel('Events');
    assert.equal(await events.getAttribute('aria-invalid'), 'true');
    const describedBy = (await events.getAttribute('aria-describedby')) ?? '';
    assert.match(describedBy, /events-error/);
    assert.equal(await page.locator('#events-error').innerText(), message, 'the message is next to the field');
    assert.equal(await page.locator('#events + p + #events-error, #events ~ #events-error').count(), 1);
    assert.deepEqual(await axeViolations(), [], 'the form with an error at 1280 px');
    await page.screenshot({ path: join(outDir, 'edit-error-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    assert.deepEqual(await axeViolations(), [], 'the form with an error at 390 px');
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'no horizontal scrolling');
    await page.screenshot({ path: join(outDir, 'edit-error-390.png') });
    await page.setViewportSize({ width: 1280, height: 900 });

    await events.fill('sale.created, sale.*');
    await page.getByLabel('Name', { exact: true }).fill('Orders to ERP (v2)');
    await page.getByRole('button', { name: 'Add header' }).click();
    await until(async () => (await focusedId()) === 'header-name-1', 'the new row to take focus');
    await page.keyboard.type('X-Tenant');
    await page.keyboard.press('Tab');
    await page.keyboard.type('north');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Changes saved.' }).waitFor();
    await page.getByRole('heading', { name: 'Orders to ERP (v2)' }).waitFor();
    const stored = await restHook(hookId);
    assert.deepEqual(stored.Events, ['sale.created', 'sale.*']);
    assert.equal(stored.Secret, 'erp-signing-secret', 'an empty secret field kept the secret');
    assert.deepEqual(stored.Headers, { 'X-Api-Key': 'erp-key-123', 'X-Tenant': 'north' }, 'an empty stored header value kept it');
  });

  test('axe-core: no violations on the new and edit forms at 1280 px and 390 px', async () => {
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      for (const [hash, heading, name] of [['#/new', 'New webhook', 'create'], [`#/webhooks/${hookId}/edit`, 'Edit Orders to ERP (v2)', 'edit']] as const) {
        await page.goto(`${app.baseUrl}/admin/${hash}`);
        await page.getByRole('heading', { name: heading }).waitFor();
        assert.deepEqual(await axeViolations(), [], `${hash} at ${width} px`);
        if (width === 390) assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, `${hash} fits`);
        if (name === 'edit' || width === 390) await page.screenshot({ path: join(outDir, `${name}-${width}.png`), fullPage: true });
      }
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('a delivery shows what was sent: the body and headers the receiver got, the signature, never the secret', async () => {
    const n = rx.requests.length;
    const signal = await fetch(`${app.baseUrl}/api/v1/Webhook/sale.created/7001`, {
      method: 'POST', body: JSON.stringify({ heading: 'Ten licences', amount: 12500 }),
      headers: { Authorization: `SOTicket ${app.ticket}`, 'Content-Type': 'application/json' },
    });
    assert.equal(signal.status, 204);
    await until(async () => rx.requests.length > n, 'the delivery to reach the receiver');
    const got = rx.requests[n];
    const d = await app.db.knex('wa_delivery').where({ webhook_id: hookId }).orderBy('delivery_id', 'desc').first('delivery_id');
    await until(async () => (await app.db.knex('wa_delivery').where({ delivery_id: d.delivery_id }).first('status')).status === 'succeeded', 'recorded');
    await page.goto(`${app.baseUrl}/admin/#/deliveries/${d.delivery_id}`);
    const section = page.locator('section[aria-labelledby="sent-title"]');
    await page.getByRole('heading', { name: 'What was sent' }).waitFor();
    await section.getByRole('region', { name: 'Body sent', exact: true }).waitFor();
    const body = JSON.parse(got.body.toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(JSON.parse(await section.getByRole('region', { name: 'Body sent', exact: true }).innerText()), body);
    assert.deepEqual(body.FieldValues, { heading: 'Ten licences', amount: 12500 });
    const rows = await section.locator('table.headers tbody tr').evaluateAll((trs) => trs.map((tr) => [
      tr.querySelector('th')?.textContent ?? '', tr.querySelector('td')?.textContent ?? '']));
    for (const [name, value] of rows) assert.equal(value, got.headers[name.toLowerCase()], name);
    assert.ok(rows.some(([name]) => name === 'X-SuperOffice-Signature'), 'the signature is shown');
    assert.ok(rows.some(([name, value]) => name === 'X-Api-Key' && value === 'erp-key-123'), 'header values are shown to an admin');
    assert.equal(await page.getByText('erp-signing-secret').count(), 0, 'the secret is not');
    assert.equal((await page.content()).includes('erp-signing-secret'), false);
    await section.getByText("The body's exact text").click();
    assert.equal(await section.getByRole('region', { name: 'Body sent, exact text' }).innerText(), got.body.toString('utf8'));
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      assert.deepEqual(await axeViolations(), [], `what was sent at ${width} px`);
      if (width === 390) assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'fits at 390 px');
      await section.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(outDir, `sent-${width}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
