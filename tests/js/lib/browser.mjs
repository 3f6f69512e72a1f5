// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by
// playwright-core (no browser download), with the flags this sandbox needs.
import { chromium } from 'playwright-core';
import fs from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** True when the browser tests can run here. */
export function haveChromium() {
  return fs.existsSync(CHROMIUM);
}

/** Launch a fresh headless browser (playwright-core gives it its own temporary profile). */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}
