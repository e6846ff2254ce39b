/**
 * Debian's headless Chromium for the browser suites (CHROMIUM_PATH, default /usr/bin/chromium; Debian packages
 * chromium and chromium-driver). Without it a suite is skipped with the reason, except under CI=true where that is
 * a failure.
 */
import { accessSync, constants } from 'node:fs';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumArgs = ['--no-sandbox', '--disable-dev-shm-usage'];

function runnable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The describe() options of a browser suite: skipped with the reason when Chromium is missing (a failure under CI). */
export function chromiumAvailability(): { skip?: string } {
  if (runnable(chromiumPath)) return {};
  const reason = `Chromium not found at ${chromiumPath} (apt-get install chromium chromium-driver, or set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') throw new Error(`CI requires every suite: ${reason}`);
  return { skip: reason };
}
