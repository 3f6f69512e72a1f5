// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by
// playwright-core (no browser download), with the flags this sandbox needs.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** True when the browser tests can run here. */
export function haveChromium() {
  return fs.existsSync(CHROMIUM);
}

/** Launch a fresh headless browser with its own empty profile; close() removes it. */
export async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'devsearch-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
