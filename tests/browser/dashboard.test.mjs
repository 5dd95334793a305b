// The dashboard end to end in headless Chromium (Debian's `chromium`),
// driven by playwright-core: a real `partnerops serve` on 127.0.0.1:0 with
// a temporary database loaded with examples/gigakick. Screenshots of every
// page at 1280 and 390 px go to target/screenshots/ for review, and axe-core
// checks each page for serious or critical accessibility violations.
//
// Run: `node --test tests/browser/` after `cargo build` (PARTNEROPS_BIN and
// CHROMIUM override where the binary and the browser are). Without chromium
// the tests are skipped, unless CI is set: then they fail.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = process.env.PARTNEROPS_BIN ?? join(root, 'target', 'debug', 'partnerops');
const chromiumPath = process.env.CHROMIUM
  ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const shots = join(root, 'target', 'screenshots');
const program = 'gigakick';

const missing = !chromiumPath ? 'chromium is not installed (apt-get install -y chromium)' : null;
if (missing && process.env.CI) {
  throw new Error(`${missing}; CI must run the browser tests`);
}
const skip = missing ?? false;

let work, db, server, base, admin, partnerToken, partners, browser;

/** Runs the partnerops CLI on the test database; stdout as text. */
function cli(...args) {
  return execFileSync(bin, [...args, '--db', db], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'partnerops-browser-'));
  db = join(work, 'engine.db');
  cli('apply', join(root, 'examples', 'gigakick'), '--yes');
  cli('events', 'send', join(root, 'examples', 'gigakick', 'events.ndjson'));
  admin = cli('token', 'create', '--scope', 'admin').trim();
  partners = JSON.parse(cli('partners', '--format', 'json'));
  assert.ok(partners.length >= 2, 'the example has partners');
  partnerToken = cli('token', 'create', '--scope', `partner:${partners[0].key}`).trim();
  server = spawn(bin, ['serve', '--db', db, '--listen', '127.0.0.1:0', '--sweep-every', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  base = await new Promise((ok, fail) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`serve did not start:\n${seen}`)), 20000);
    const look = (chunk) => {
      seen += chunk;
      const m = seen.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    };
    server.stdout.on('data', look);
    server.stderr.on('data', look);
    server.on('exit', (code) => fail(new Error(`serve exited ${code}:\n${seen}`)));
  });
  const { chromium } = require('playwright-core');
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A browser context signed in with `token` through the form, at `width`. */
async function signedIn(token, width = 1280) {
  // bypassCSP lets axe-core's script in; the pages themselves load none.
  const context = await browser.newContext({
    viewport: { width, height: 900 },
    bypassCSP: true,
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const urls = [];
  page.on('request', (r) => urls.push(r.url()));
  await page.goto(`${base}/`);
  assert.match(page.url(), /\/login$/);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState('load');
  for (const u of urls) assert.ok(!u.includes(token), `the token is in a URL: ${u}`);
  const cookie = (await context.cookies()).find((c) => c.name === 'partnerops_session');
  assert.ok(cookie, 'signed in with a session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  return { context, page, urls };
}

/** axe-core on the page: no serious or critical violation. */
async function accessible(page, name) {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(async () => await window.axe.run(document));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `${name}: accessibility violations`,
  );
}

const pages = [
  ['overview', `/programs/${program}`],
  ['partners', `/programs/${program}/partners`],
  ['partner', () => `/programs/${program}/partners/${partners[0].key}`],
  ['ledger', `/programs/${program}/ledger`],
  ['payouts', `/programs/${program}/payouts`],
  ['waiting', `/programs/${program}/transactions`],
  ['products', `/programs/${program}/products`],
  ['history', `/programs/${program}/history`],
  ['revision', `/programs/${program}/history/1`],
  ['deliveries', `/programs/${program}/deliveries`],
  ['portal', () => `/programs/${program}/partners/${partners[0].key}/portal`],
];

test('every page renders, fits 1280 and 390 px, passes axe, and is screenshot', { skip }, async () => {
  for (const width of [1280, 390]) {
    const { context, page } = await signedIn(admin, width);
    for (const [name, path] of pages) {
      const url = `${base}${typeof path === 'function' ? path() : path}`;
      const response = await page.goto(url);
      assert.equal(response.status(), 200, `${name} at ${url}`);
      await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
      // Nothing but a table's own scrolling region is wider than the screen.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${name} is ${overflow} px wider than ${width} px`);
      await accessible(page, `${name} at ${width} px`);
    }
    await context.close();
  }
});

test('sign in, filter partners by tag, open a partner timeline', { skip }, async () => {
  const { context, page } = await signedIn(admin);
  assert.match(page.url(), new RegExp(`/programs/${program}$`));
  await page.getByRole('link', { name: 'Partners', exact: true }).click();
  // A tag some partners hold and some do not.
  const counts = {};
  for (const p of partners) for (const t of p.tags) counts[t] = (counts[t] ?? 0) + 1;
  const tag = Object.keys(counts).find((t) => counts[t] < partners.length);
  assert.ok(tag, 'the example has a tag not everyone holds');
  const expected = JSON.parse(cli('partners', '--tag', tag, '--format', 'json')).map((p) => p.key).sort();
  await page.getByLabel('Tag').selectOption(tag);
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForLoadState('load');
  const shown = (await page.locator('#partners tbody th a').allTextContents()).sort();
  assert.deepEqual(shown, expected);
  await page.screenshot({ path: join(shots, 'partners-filtered-1280.png'), fullPage: true });

  // Sorting by revenue, highest first, orders the rows by it.
  await page.getByRole('link', { name: /Revenue/ }).click();
  await page.waitForLoadState('load');
  assert.match(page.url(), /sort=revenue/);

  const key = expected[0];
  await page.getByRole('link', { name: key, exact: true }).click();
  await page.waitForLoadState('load');
  await assert.doesNotReject(page.getByRole('heading', { name: `Partner ${key}` }).waitFor());
  const timeline = await page.locator('#timeline li').allTextContents();
  assert.ok(timeline.some((t) => t.includes('Joined')), 'the timeline starts with the join');
  assert.ok(timeline.some((t) => t.includes(`Tag added: ${tag}`)), `the timeline shows ${tag} being added`);
  assert.ok(timeline.some((t) => /automation `/.test(t)), 'tag changes name their cause');
  await context.close();
});

test('ledger totals equal `partnerops commissions`, and the CSV is the same lines', { skip }, async () => {
  const { context, page } = await signedIn(admin);
  await page.goto(`${base}/programs/${program}/ledger`);
  const last = cli('commissions').trim().split('\n').pop();
  const m = last.match(/^(\d+) lines?, (-?[\d.]+) in all$/);
  assert.ok(m, `commissions ends with a total: ${last}`);
  assert.equal(await page.locator('#total-lines').textContent(), m[1]);
  assert.equal(await page.locator('#total-net').textContent(), m[2]);

  // Filtered by each status, both agree too (with no line, the CLI prints
  // its total as `0`, the page as `0.00`).
  for (const status of ['pending', 'approved', 'paid']) {
    await page.getByLabel('Status').selectOption(status);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForLoadState('load');
    const [, lines, net] = cli('commissions', '--status', status).trim().split('\n').pop()
      .match(/^(\d+) lines?, (-?[\d.]+) in all$/);
    assert.equal(await page.locator('#total-lines').textContent(), lines, status);
    const shown = await page.locator('#total-net').textContent();
    if (lines === '0') assert.equal(Number(shown), 0, status);
    else assert.equal(shown, net, status);
  }

  await page.goto(`${base}/programs/${program}/ledger`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv').click()]);
  const file = join(work, 'download.csv');
  await download.saveAs(file);
  assert.equal(readFileSync(file, 'utf8'), cli('commissions', '--format', 'csv'));
  await context.close();
});

test('a partner token sees its own portal and no other page', { skip }, async () => {
  const { context, page } = await signedIn(partnerToken);
  const own = partners[0].key;
  assert.match(page.url(), new RegExp(`/programs/${program}/portal$`));
  await assert.doesNotReject(page.getByRole('heading', { name: `Portal of ${own}` }).waitFor());
  await page.screenshot({ path: join(shots, 'partner-portal-390.png'), fullPage: true });
  await accessible(page, 'partner portal');
  const other = partners[1].key;
  for (const path of [
    `/programs/${program}/partners/${other}`,
    `/programs/${program}/partners/${other}/portal`,
    `/programs/${program}/partners/${own}`,
    `/programs/${program}/partners`,
    `/programs/${program}/ledger`,
    `/programs/${program}/ledger.csv`,
    `/programs/${program}`,
  ]) {
    const response = await page.goto(`${base}${path}`);
    assert.equal(response.status(), 403, path);
  }
  await page.screenshot({ path: join(shots, 'partner-forbidden-1280.png'), fullPage: true });
  await context.close();
});

test('the keyboard reaches the content first and every link', { skip }, async () => {
  const { context, page } = await signedIn(admin);
  await page.goto(`${base}/programs/${program}/partners`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  // Tabbing on reaches the tag filter, then the partners' links.
  const reached = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    reached.push(await page.evaluate(() => document.activeElement.id || document.activeElement.tagName));
  }
  assert.ok(reached.includes('tag'), `tab order: ${reached.join(', ')}`);
  await context.close();
});
