// SPDX-License-Identifier: MIT
// A stream's page in the web UI, in Debian's chromium, headless, through
// playwright-core: its offsets, size on disk and segments, each consumer's
// offset and lag (moving as the consumer acks), no get / move / purge
// forms, the type in the list, and a stream added from the add-queue form.
//
// node streams.mjs BASE_URL ARTIFACT_DIR STREAM CONSUMER_TAG CONTROL_FILE
// (run by test_ui_streams.py, which starts the broker and holds a pika
// consumer of STREAM; writing "ack" to CONTROL_FILE makes it ack what it
// has). Prints one line per step; exits non-zero on the first failure.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const [base, outDir, stream, ctag, control] = process.argv.slice(2);
const SLOW = Number(process.env.WARREN_TEST_SLOW || '1');
const origin = new URL(base).origin;
fs.mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
context.setDefaultTimeout(10000 * SLOW);
const page = await context.newPage();
const offOrigin = [];
const consoleErrors = [];
page.on('request', (r) => {
  const u = r.url();
  if (!u.startsWith(origin + '/') && !u.startsWith('blob:' + origin) && !u.startsWith('data:')) offOrigin.push(u);
});
page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));

const auth = 'Basic ' + Buffer.from('guest:guest').toString('base64');
async function api(method, p, body) {
  const r = await fetch(base + '/api/' + p, {
    method,
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
async function screenshot(name) {
  await page.screenshot({ path: path.join(outDir, `stream-${name}.png`), fullPage: true });
}
const step = (s) => console.log('step: ' + s);
const main = page.locator('#main');
const exact = (text) => new RegExp('^' + text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$');
const section = (title) => main.locator('section.panel', { has: page.locator('h2', { hasText: exact(title) }) });
const kvValue = (title, key) => section(title).locator('table.kv tr', { has: page.locator('th', { hasText: exact(key) }) }).locator('td');
async function kvIs(title, key, want) {
  await page.waitForFunction(([t, k, w]) => {
    for (const s of document.querySelectorAll('#main section.panel')) {
      if (s.querySelector('h2')?.textContent !== t) continue;
      for (const tr of s.querySelectorAll('table.kv tr'))
        if (tr.querySelector('th')?.textContent === k) return tr.querySelector('td')?.textContent === w;
    }
    return false;
  }, [title, key, want], { timeout: 15000 * SLOW });
}
// The consumer row of ctag: {header: cell text}.
async function consumerRow() {
  return page.evaluate((tag) => {
    const s = [...document.querySelectorAll('#main section.panel')].find((x) => x.querySelector('h2')?.textContent === 'Consumers');
    const heads = [...s.querySelectorAll('table.data th')].map((x) => x.textContent);
    for (const tr of s.querySelectorAll('table.data tbody tr')) {
      const cells = [...tr.querySelectorAll('td')].map((x) => x.textContent);
      if (cells.includes(tag)) return Object.fromEntries(heads.map((k, i) => [k, cells[i]]));
    }
    return null;
  }, ctag);
}
async function consumerIs(offset, lag) {
  const deadline = Date.now() + 15000 * SLOW;
  let row;
  while (Date.now() < deadline) {
    row = await consumerRow();
    if (row && row.Offset === offset && row.Lag === lag) return row;
    await page.waitForTimeout(200);
  }
  assert.fail(`consumer row ${JSON.stringify(row)}, wanted offset ${offset} lag ${lag}`);
}

try {
  step('log in');
  await page.goto(base + '/');
  await page.fill('#username', 'guest');
  await page.fill('#password', 'guest');
  await page.click('#login-form button[type=submit]');
  await page.locator('.page-title', { hasText: 'Overview' }).waitFor();
  await page.locator('#refresh-every').selectOption('5000');

  step('the list shows the stream as a stream');
  await page.goto(base + '/#/queues');
  const row = main.locator('table.data tr', { has: page.locator('a', { hasText: exact(stream) }) });
  await row.waitFor();
  assert.ok((await row.locator('td').allTextContents()).includes('stream'));

  step("the stream's page: offsets, size on disk, segments");
  await page.goto(base + '/#/queues/%2F/' + encodeURIComponent(stream));
  await section('Stream').waitFor();
  const q = await api('GET', 'queues/%2F/' + encodeURIComponent(stream));
  assert.equal(q.type, 'stream');
  assert.equal(q.messages, 25);
  await kvIs('Overview', 'Type', 'stream');
  await kvIs('Overview', 'Messages', '25');
  await kvIs('Stream', 'First offset', '0');
  await kvIs('Stream', 'Last offset', '24');
  await kvIs('Stream', 'Committed offset', '24');
  await kvIs('Stream', 'Segments', '1');
  const size = await kvValue('Stream', 'Size on disk').textContent();
  assert.match(size, /^[\d.,]+ (B|KiB|kB|KB)$/, size);
  assert.notEqual(size.trim(), '0 B');

  step("the consumer's offset and lag");
  const r1 = await consumerIs('5', '20');
  assert.equal(r1['Prefetch'], '5');
  assert.match(r1['Arguments'], /"x-stream-offset":\s*"first"/);
  await screenshot('page');

  step('the lag moves as the consumer acks');
  fs.writeFileSync(control, 'ack\n');
  await consumerIs('10', '15');

  step('a log has no get, move or purge');
  for (const t of ['Get messages', 'Move messages', 'Delete / purge']) assert.equal(await section(t).count(), 0, t);
  await section('Delete').waitFor();
  await section('Publish message').waitFor();

  step('add a stream from the add-queue form');
  await page.goto(base + '/#/queues');
  const f = main.locator('form.add-queue');
  await f.locator('[name=vhost]').selectOption('/');
  await f.locator('[name=qtype]').selectOption('stream');
  await f.locator('[name=name]').fill('ui-added-stream');
  await f.locator('button[type=submit]').click();
  await page.locator('.toast', { hasText: 'Queue ui-added-stream added' }).first().waitFor();
  const added = await api('GET', 'queues/%2F/ui-added-stream');
  assert.equal(added.type, 'stream');
  assert.equal(added.durable, true);
  assert.deepEqual(added.arguments, { 'x-queue-type': 'stream' });
  await page.goto(base + '/#/queues/%2F/ui-added-stream');
  await kvIs('Stream', 'First offset', 'none');
  await kvIs('Stream', 'Segments', '0');

  step('nothing left the origin, nothing went to the console');
  assert.deepEqual(offOrigin, []);
  assert.deepEqual(consoleErrors, []);
  console.log('ok');
} catch (e) {
  await screenshot('failure').catch(() => {});
  console.error(e.stack || String(e));
  console.error('console errors: ' + JSON.stringify(consoleErrors));
  process.exitCode = 1;
} finally {
  await browser.close();
}
