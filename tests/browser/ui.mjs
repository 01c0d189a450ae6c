// SPDX-License-Identifier: MIT
// warren's web UI in Debian's chromium, headless, through playwright-core:
// log in, declare, bind, publish, get, peek, move, purge, delete from the
// UI, page and filter 10,000-queue-style lists, and check the CSP, that
// no request leaves the origin and no console error appears.
//
// node ui.mjs BASE_URL ARTIFACT_DIR  (run by test_ui.py, which starts the
// broker). Prints one line per step; exits non-zero on the first failure.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const [base, outDir] = process.argv.slice(2);
const SLOW = Number(process.env.WARREN_TEST_SLOW || '1');
const origin = new URL(base).origin;
fs.mkdirSync(outDir, { recursive: true });

const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
context.setDefaultTimeout(10000 * SLOW);
const page = await context.newPage();

const offOrigin = [];
const consoleErrors = [];
let expectAuthErrors = false; // while logging in with bad credentials
let expectCspReport = false; // while checking that the CSP blocks inline code
page.on('request', (r) => {
  const u = r.url();
  if (!u.startsWith(origin + '/') && !u.startsWith('blob:' + origin) && !u.startsWith('data:')) offOrigin.push(u);
});
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  if (expectAuthErrors && /status of 401/.test(m.text())) return;
  if (expectCspReport && /violates the following Content Security Policy/.test(m.text())) return;
  consoleErrors.push(m.text());
});
page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));

// The API, from the test's side (not the page's), to check what the UI did.
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

let shot = 0;
async function screenshot(name) {
  shot++;
  await page.screenshot({ path: path.join(outDir, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: false });
}

const step = (s) => console.log('step: ' + s);
const main = page.locator('#main');
async function toast(text) {
  await page.locator('.toast', { hasText: text }).first().waitFor();
}
async function tab(name) {
  await page.locator('#tabs a', { hasText: name }).click();
  await page.locator('.page-title', { hasText: name }).first().waitFor();
}
const exact = (text) => new RegExp('^' + text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$');
const section = (title) => main.locator('section.panel', { has: page.locator('h2', { hasText: exact(title) }) });
const kvValue = (title, key) => section(title).locator('table.kv tr', { has: page.locator('th', { hasText: new RegExp('^' + key + '$') }) }).locator('td');

try {
  step('the page, its headers');
  const resp = await page.goto(base + '/');
  const csp = resp.headers()['content-security-policy'];
  assert.ok(csp, 'no Content-Security-Policy header');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe/);
  assert.equal(resp.headers()['content-type'], 'text/html; charset=utf-8');
  await page.locator('#login-form').waitFor();

  step('the CSP is enforced: an injected inline script does not run');
  expectCspReport = true;
  const ran = await page.evaluate(() => new Promise((resolve) => {
    window.__inline = false;
    const s = document.createElement('script');
    s.textContent = 'window.__inline = true';
    document.addEventListener('securitypolicyviolation', () => resolve(window.__inline), { once: true });
    document.body.append(s);
    setTimeout(() => resolve(window.__inline), 2000);
  }));
  assert.equal(ran, false, 'an inline script ran');
  expectCspReport = false;

  step('a wrong password and a user without a management tag are refused');
  expectAuthErrors = true;
  await page.fill('#username', 'guest');
  await page.fill('#password', 'wrong');
  await page.click('#login-form button[type=submit]');
  await page.locator('#login-error', { hasText: 'Login failed' }).waitFor();
  await page.fill('#username', 'plain');
  await page.fill('#password', 'plainpw');
  await page.click('#login-form button[type=submit]');
  await page.locator('#login-error', { hasText: 'no management tag' }).waitFor();
  assert.equal(await page.locator('#app').isHidden(), true);
  await screenshot('login-refused');
  expectAuthErrors = false;

  step('log in as guest');
  await page.fill('#username', 'guest');
  await page.fill('#password', 'guest');
  await page.click('#login-form button[type=submit]');
  await page.locator('.page-title', { hasText: 'Overview' }).waitFor();
  assert.equal(await page.locator('#who').textContent(), 'guest');
  // kept for the browser session only
  const stored = await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie]);
  assert.deepEqual(stored.slice(1), [0, '']);
  assert.ok(stored[0] >= 1);
  await page.locator('.tile-value[data-total=connections]').waitFor();
  await page.locator('.chart-svg polyline').first().waitFor({ state: 'attached' });
  await screenshot('overview');

  step('the overview refreshes on its own, as often as the footer says');
  await page.locator('#refresh-every').selectOption('0');
  const before = await page.locator('#refreshed').textContent();
  await page.locator('#refresh-every').selectOption('5000');
  await page.waitForFunction((t) => document.getElementById('refreshed').textContent !== t, before, { timeout: 12000 * SLOW });

  step('declare a queue and a dead-letter queue from the UI');
  await page.locator('#vhost-filter').selectOption('/');
  await tab('Queues');
  for (const q of ['ui-orders', 'ui-orders-dlq']) {
    const f = main.locator('form.add-queue');
    await f.locator('[name=name]').fill(q);
    await f.locator('button[type=submit]').click();
    await toast(`Queue ${q} added`);
    await main.locator('table.data a', { hasText: new RegExp('^' + q + '$') }).waitFor();
  }
  assert.equal((await api('GET', 'queues/%2F/ui-orders')).durable, true);

  step('declare an exchange from the UI');
  await tab('Exchanges');
  {
    const f = main.locator('form.add-exchange');
    await f.locator('[name=name]').fill('ui-events');
    await f.locator('[name=type]').selectOption('topic');
    await f.locator('button[type=submit]').click();
    await toast('Exchange ui-events added');
  }
  assert.equal((await api('GET', 'exchanges/%2F/ui-events')).type, 'topic');

  step('bind the exchange to the queue');
  await main.locator('table.data a', { hasText: /^ui-events$/ }).click();
  await page.locator('.page-title', { hasText: 'ui-events' }).waitFor();
  {
    const f = main.locator('form.bind');
    await f.locator('[name=dest]').fill('ui-orders');
    await f.locator('[name=routing_key]').fill('order.*');
    await f.locator('button[type=submit]').click();
    await toast('Binding added');
    await section('Bindings from this exchange').locator('td', { hasText: 'order.*' }).waitFor();
  }
  const b = await api('GET', 'bindings/%2F/e/ui-events/q/ui-orders');
  assert.equal(b.length, 1);
  assert.equal(b[0].routing_key, 'order.*');

  step('publish from the UI through the exchange');
  {
    const f = main.locator('form.publish');
    await f.locator('[name=routing_key]').fill('order.created');
    await f.locator('[name=delivery_mode]').selectOption('2');
    await f.locator('.args-row .k').first().fill('tenant');
    await f.locator('.args-row .v').first().fill('acme');
    await f.locator('[name=payload]').fill('{"order": 42}');
    await f.locator('button[type=submit]').click();
    await toast('Message published');
  }
  await screenshot('exchange');

  step('the queue count changes');
  await tab('Queues');
  const row = main.locator('table.data tr', { has: page.locator('a', { hasText: /^ui-orders$/ }) });
  await row.locator('td').nth(6).filter({ hasText: /^1$/ }).waitFor();
  await row.locator('a').click();
  await page.locator('.page-title', { hasText: 'ui-orders' }).waitFor();
  await kvValue('Overview', 'Ready').filter({ hasText: /^1$/ }).waitFor();

  step('peek: the message stays');
  const gf = main.locator('form.get');
  await gf.locator('button.peek').click();
  await main.locator('.message .payload', { hasText: '{"order": 42}' }).waitFor();
  await main.locator('.message dd', { hasText: 'acme' }).waitFor();
  assert.equal(await main.locator('.message .badge', { hasText: 'redelivered' }).count(), 0);
  assert.equal((await api('GET', 'queues/%2F/ui-orders')).messages_ready, 1);

  step('get with requeue: the message comes back, redelivered');
  await gf.locator('[name=ackmode]').selectOption('ack_requeue_true');
  await gf.locator('button[type=submit]').click();
  await main.locator('.message .payload', { hasText: '{"order": 42}' }).waitFor();
  assert.equal((await api('GET', 'queues/%2F/ui-orders')).messages_ready, 1);
  await gf.locator('button.peek').click();
  await main.locator('.message .badge', { hasText: 'redelivered' }).waitFor();

  step('publish to the dead-letter queue, then move its messages back');
  await page.goto(base + '/#/queues/%2F/ui-orders-dlq');
  await page.locator('.page-title', { hasText: 'ui-orders-dlq' }).waitFor();
  for (const body of ['retry-1', 'retry-2']) {
    const f = main.locator('form.publish');
    await f.locator('[name=payload]').fill(body);
    await f.locator('button[type=submit]').click();
    await toast('Message published');
    await page.locator('.toast').first().waitFor({ state: 'detached' });
  }
  await kvValue('Overview', 'Ready').filter({ hasText: /^2$/ }).waitFor({ timeout: 15000 * SLOW });
  {
    const f = main.locator('form.move');
    await f.locator('[name=destination]').fill('ui-orders');
    await f.locator('button[type=submit]').click();
    await toast('Moved 2 messages to ui-orders');
  }
  await kvValue('Overview', 'Ready').filter({ hasText: /^0$/ }).waitFor();
  const moved = await api('GET', 'queues/%2F/ui-orders/peek?count=10');
  assert.deepEqual(moved.map((m) => m.payload), ['{"order": 42}', 'retry-1', 'retry-2']);

  step('the queue page shows it all');
  await page.goto(base + '/#/queues/%2F/ui-orders');
  await kvValue('Overview', 'Ready').filter({ hasText: /^3$/ }).waitFor();
  await main.locator('form.get button.peek').click();
  await main.locator('.message').nth(0).waitFor();
  await screenshot('queue');

  step('purge');
  await main.locator('button', { hasText: 'Purge messages' }).click();
  await page.locator('.modal button.danger').click();
  await toast('Queue ui-orders purged');
  await kvValue('Overview', 'Ready').filter({ hasText: /^0$/ }).waitFor();
  assert.equal((await api('GET', 'queues/%2F/ui-orders')).messages, 0);

  step('definitions: download, then upload a file');
  await tab('Overview');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    main.locator('button', { hasText: 'Download broker definitions' }).click(),
  ]);
  const defs = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  assert.ok(defs.queues.some((x) => x.name === 'ui-orders' && x.vhost === '/'));
  assert.ok(defs.exchanges.some((x) => x.name === 'ui-events'));
  await main.locator('input[type=file]').setInputFiles({
    name: 'more.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify({ queues: [{ name: 'ui-imported', vhost: '/', durable: true, auto_delete: false, arguments: {} }] })),
  });
  await main.locator('button', { hasText: 'Upload broker definitions' }).click();
  await toast('Definitions imported');
  assert.equal((await api('GET', 'queues/%2F/ui-imported')).durable, true);
  await api('DELETE', 'queues/%2F/ui-imported');

  step('paging, filter and sort on the server');
  await tab('Queues');
  await page.locator('#vhost-filter').selectOption('bulk');
  await main.locator('.page-title .count', { hasText: '1,200' }).waitFor();
  await main.locator('.pager', { hasText: 'Page 1 of 12' }).waitFor();
  const firstName = () => main.locator('table.data tbody tr').first().locator('td').nth(1).textContent();
  assert.equal(await firstName(), 'bulk-0000');
  await main.locator('.pager button', { hasText: 'Next' }).click();
  await main.locator('.pager', { hasText: 'Page 2 of 12' }).waitFor();
  assert.equal(await firstName(), 'bulk-0100');
  await main.locator('th', { hasText: 'Name' }).click(); // now descending
  await main.locator('table.data tbody tr').first().locator('td', { hasText: 'bulk-1099' }).waitFor();
  await main.locator('input.filter').fill('bulk-00[0-4]7');
  await main.locator('label.check', { hasText: 'Regex' }).locator('input').check();
  await main.locator('.page-title .count', { hasText: '5 of 1,200' }).waitFor();
  assert.equal(await main.locator('table.data tbody tr').count(), 5);
  await main.locator('label.check', { hasText: 'Regex' }).locator('input').uncheck();
  await main.locator('input.filter').fill('bulk-111');
  await main.locator('.page-title .count', { hasText: '10 of 1,200' }).waitFor();
  await main.locator('input.filter').fill('');
  await page.locator('#vhost-filter').selectOption('/');

  step('delete a queue and an exchange');
  await page.goto(base + '/#/queues/%2F/ui-orders-dlq');
  await main.locator('button', { hasText: 'Delete queue' }).click();
  await page.locator('.modal button.danger').click();
  await toast('Queue ui-orders-dlq deleted');
  await page.goto(base + '/#/exchanges/%2F/ui-events');
  await main.locator('button', { hasText: 'Delete this exchange' }).click();
  await page.locator('.modal button.danger').click();
  await toast('Exchange ui-events deleted');
  const names = (await api('GET', 'queues/%2F')).map((q) => q.name);
  assert.ok(!names.includes('ui-orders-dlq') && names.includes('ui-orders'));
  assert.ok(!(await api('GET', 'exchanges/%2F')).some((x) => x.name === 'ui-events'));

  step('connections and channels');
  await tab('Connections');
  await main.locator('table.data td', { hasText: 'Pika Python Client Library' }).first().waitFor();
  await screenshot('connections');
  await main.locator('input.filter').fill('no-such-connection');
  await main.locator('td.empty', { hasText: 'No connections match the filter.' }).waitFor();
  await main.locator('.page-title .count', { hasText: '0 of 1' }).waitFor();
  await main.locator('input.filter').fill('');
  await main.locator('.page-title .count', { hasText: /^1$/ }).waitFor();
  await tab('Channels');
  await main.locator('table.data tbody tr a').first().waitFor();
  await screenshot('channels');
  await tab('Exchanges');
  await screenshot('exchanges');
  await tab('Queues');
  await screenshot('queues');

  step('admin: a user, its permissions, a policy, a vhost limit');
  await tab('Admin');
  await main.locator('table.data a', { hasText: /^guest$/ }).waitFor();
  await screenshot('admin');
  {
    const f = main.locator('form.add-user');
    await f.locator('[name=username]').fill('ui-ops');
    await f.locator('[name=password]').fill('ops-secret');
    await f.locator('[name=password2]').fill('ops-secret');
    await f.locator('button.linkish', { hasText: /^management$/ }).click();
    await f.locator('button[type=submit]').click();
    await toast('User ui-ops added');
  }
  assert.deepEqual((await api('GET', 'users/ui-ops')).tags, ['management']);
  await main.locator('table.data a', { hasText: /^ui-ops$/ }).click();
  await main.locator('.sub-title', { hasText: 'ui-ops' }).waitFor();
  await section('Permissions').locator('form button[type=submit]').click();
  await toast('Permission set');
  const perm = await api('GET', 'permissions/%2F/ui-ops');
  assert.deepEqual([perm.configure, perm.write, perm.read], ['.*', '.*', '.*']);
  await main.locator('.subnav a', { hasText: 'Policies' }).click();
  {
    const f = main.locator('form.add-policy').first();
    await f.locator('[name=vhost]').selectOption('/');
    await f.locator('[name=name]').fill('ui-ttl');
    await f.locator('[name=pattern]').fill('^ui-');
    await f.locator('[name=apply]').selectOption('queues');
    await f.locator('.args-row .k').first().fill('message-ttl');
    await f.locator('.args-row .v').first().fill('60000');
    await f.locator('.args-row select').first().selectOption('number');
    await f.locator('button[type=submit]').click();
    await toast('Policy ui-ttl set');
  }
  const pol = await api('GET', 'policies/%2F/ui-ttl');
  assert.deepEqual([pol.pattern, pol['apply-to'], pol.definition], ['^ui-', 'queues', { 'message-ttl': 60000 }]);
  await page.goto(base + '/#/queues/%2F/ui-orders');
  await kvValue('Arguments and policy', 'Policy').filter({ hasText: 'ui-ttl' }).waitFor();
  await page.goto(base + '/#/admin/limits');
  {
    const f = main.locator('section.panel', { has: page.locator('h2', { hasText: 'Virtual host limits' }) }).locator('form');
    await f.locator('[name=target]').selectOption('bulk');
    await f.locator('[name=limit]').selectOption('max-queues');
    await f.locator('[name=value]').fill('5000');
    await f.locator('button[type=submit]').click();
    await toast('Limit set');
  }
  assert.deepEqual(await api('GET', 'vhost-limits/bulk'), [{ vhost: 'bulk', value: { 'max-queues': 5000 } }]);

  step('close a connection with a reason');
  await tab('Connections');
  await main.locator('table.data a').first().click();
  await section('Close this connection').locator('[name=reason]').fill('closed from the UI test');
  await section('Close this connection').locator('button[type=submit]').click();
  await page.locator('.modal button.danger').click();
  await toast('Connection closed');
  await page.locator('.page-title', { hasText: 'Connections' }).waitFor();
  for (let i = 0; i < 50 && (await api('GET', 'connections')).length; i++) await page.waitForTimeout(100);
  assert.deepEqual(await api('GET', 'connections'), []);

  step('log out');
  await page.click('#logout');
  await page.locator('#login-form').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('warren.auth')), null);

  step('a user with only the management tag sees its vhosts, no Admin tab');
  await page.fill('#username', 'ui-ops');
  await page.fill('#password', 'ops-secret');
  await page.click('#login-form button[type=submit]');
  await page.locator('.page-title', { hasText: 'Overview' }).waitFor();
  assert.equal(await page.locator('#tabs a[data-tab=admin]').isHidden(), true);
  assert.deepEqual(await page.locator('#vhost-filter option').allTextContents(), ['All', '/']);
  for (const t of ['Connections', 'Channels', 'Exchanges', 'Queues', 'Overview']) await tab(t);
  await page.goto(base + '/#/queues');
  await main.locator('table.data a', { hasText: /^ui-orders$/ }).waitFor();
  assert.equal(await main.locator('table.data a', { hasText: /^bulk-/ }).count(), 0);
  await page.click('#logout');
  await page.locator('#login-form').waitFor();

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
