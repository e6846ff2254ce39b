/** What the admin page's browser suites share: where screenshots go, polling for a condition, axe-core's findings. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import axe from 'axe-core';
import type { Page } from 'playwright-core';

/** Screenshots: test-output/admin/ (TEST_OUTPUT_DIR overrides); docs/screenshots/ takes the *-1280/-390 ones. */
export const adminShotDir = process.env.TEST_OUTPUT_DIR ? join(process.env.TEST_OUTPUT_DIR, 'admin')
  : fileURLToPath(new URL('../../test-output/admin/', import.meta.url));

export async function until(fn: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** axe-core's violations on the page as shown (injected through the debugger protocol, so the page's CSP stays strict). */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  return page.evaluate(async () => {
    const r = await (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }> }> } }).axe.run();
    return r.violations.map((v) => `${v.impact} ${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
  });
}
