// SPDX-License-Identifier: MIT
// The screenshots in docs/ui/: one per tab of a broker with some traffic
// (docs_screenshots.py starts it). node shots.mjs BASE_URL OUT_DIR

import { chromium } from 'playwright-core';
import path from 'node:path';

const [base, outDir] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
page.setDefaultTimeout(20000);
const shot = (name) => page.screenshot({ path: path.join(outDir, name + '.png') });
const tab = async (name) => {
  await page.locator('#tabs a', { hasText: name }).click();
  await page.locator('.page-title', { hasText: name }).first().waitFor();
  await page.mouse.move(720, 890); // no hover effect in the picture
  await page.waitForTimeout(600);
};
try {
  await page.goto(base + '/');
  await page.fill('#username', 'guest');
  await page.fill('#password', 'guest');
  await page.click('#login-form button[type=submit]');
  await page.locator('.page-title', { hasText: 'Overview' }).waitFor();
  await page.mouse.move(720, 890);
  await page.waitForTimeout(Number(process.env.HISTORY_MS || '60000')); // chart history
  await shot('overview');
  await tab('Connections');
  await shot('connections');
  await tab('Channels');
  await shot('channels');
  await tab('Exchanges');
  await shot('exchanges');
  await tab('Queues');
  await shot('queues');
  await tab('Admin');
  await shot('admin');
  await page.goto(base + '/#/queues/orders/orders.created');
  await page.locator('.page-title', { hasText: 'orders.created' }).waitFor();
  await page.waitForTimeout(11000);
  await shot('queue');
} finally {
  await browser.close();
}
