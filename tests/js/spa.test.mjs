// The example browser client (examples/spa) against the real server, in headless
// Chromium: the SPA is served from its own origin, so every API call is a real
// cross-origin request (CORS preflight included). Register, list, search and page
// through projects, vote, read the inbox, survive an expired access token with
// exactly one refresh, log out and find the refresh token blacklisted.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, account, unique } from './lib/server.mjs';
import { haveChromium, launch } from './lib/browser.mjs';

const SPA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/spa');
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
};
const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** A tiny static file server for examples/spa on a free loopback port. */
async function serveSpa() {
  const server = http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://127.0.0.1');
    const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = path.resolve(SPA_DIR, rel);
    try {
      if (req.method !== 'GET' || !file.startsWith(SPA_DIR + path.sep)) throw new Error('no');
      const body = await fs.readFile(file);
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function post(url, body, access) {
  const headers = { ...JSON_HEADERS };
  if (access) headers.Authorization = `Bearer ${access}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('the example SPA logs in, browses, votes, reads the inbox, refreshes once and logs out', {
  timeout: 90000,
}, async (t) => {
  if (!haveChromium()) {
    t.skip('Chromium is not installed');
    return;
  }
  let spa = null;
  let api = null;
  let browser = null;
  try {
    spa = await serveSpa();
    api = await startServer({ CORS_ALLOWED_ORIGINS: spa.origin, ACCESS_TOKEN_LIFETIME: '3s', LOG_LEVEL: 'info' });
    const { base } = api;

    // Someone else's projects, all with one tag unique to this run, one with HTML in its title.
    // Access tokens live 3 s here: Bob logs in again for each thing he does.
    const bob = await account(base, 'spabob');
    const bobAccess = async () => {
      const pair = await post(`${base}/api/users/token`, { username: bob.username, password: bob.password });
      assert.equal(pair.status, 200);
      return pair.body.access;
    };
    const tag = unique('spatag');
    const titles = [`Alpha ${tag}`, `Beta ${tag}`, `<img src=x onerror="window.pwned=1"><b>Gamma</b> ${tag}`];
    const projectIds = {};
    const bobMaking = await bobAccess();
    for (const title of titles) {
      const made = await post(`${base}/api/projects`, {
        title, description: 'Made for the SPA test', tags: [tag, 'JavaScript'],
      }, bobMaking);
      assert.equal(made.status, 201, JSON.stringify(made.body));
      projectIds[title] = made.body.id;
    }

    browser = await launch();
    const context = await browser.browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10000);

    const requests = [];
    const consoleErrors = [];
    const refreshPairs = [];
    let blacklisted = null;
    context.on('request', (req) => {
      requests.push({ method: req.method(), url: req.url() });
      if (req.url().endsWith('/api/users/token/blacklist')) blacklisted = req.postDataJSON()?.refresh;
    });
    page.on('response', async (res) => {
      if (res.url().endsWith('/api/users/token/refresh') && res.status() === 200) {
        refreshPairs.push(await res.json());
      }
    });
    page.on('console', (msg) => {
      // A refused call shows up as "Failed to load resource: ... 401"; anything else is a fault.
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(String(err)));
    const count = (pred) => requests.filter(pred).length;
    const isRefresh = (r) => r.method === 'POST' && r.url.endsWith('/api/users/token/refresh');

    await page.goto(`${spa.origin}/?api=${encodeURIComponent(base)}`);
    assert.equal(await page.locator('#api-base').inputValue(), base);

    // Register through the form: a validation error first, shown beside its field.
    const username = unique('spauser');
    const name = `Spa Tester ${username}`;
    const reg = page.locator('#register-form');
    await reg.locator('[name=username]').fill(username);
    await reg.locator('[name=email]').fill(`${username}@example.com`);
    await reg.locator('[name=name]').fill(name);
    await reg.locator('[name=password]').fill('short');
    await reg.locator('button[type=submit]').click();
    await reg.locator('.field-error', { hasText: 'too short' }).waitFor();
    assert.equal(await reg.locator('[name=password]').getAttribute('aria-invalid'), 'true');

    await reg.locator('[name=password]').fill('Tr0ub4dor&3-horse');
    await reg.locator('button[type=submit]').click();
    await page.locator('#app-view').waitFor();
    assert.match(await page.locator('#whoami').textContent(), new RegExp(username));
    await page.locator('#projects-summary', { hasText: /^\d+ projects?$/ }).waitFor();

    // Search (the run's tag), two a page: previous and next.
    const search = page.locator('#search-form');
    await search.locator('[name=search]').fill(tag);
    await search.locator('[name=page_size]').fill('2');
    await search.locator('button[type=submit]').click();
    await page.locator('#projects-summary', { hasText: `3 projects matching “${tag}”` }).waitFor();
    const cards = page.locator('#projects-list > li.project');
    assert.equal(await cards.count(), 2);
    assert.equal(await page.locator('#projects-prev').isDisabled(), true);
    assert.equal(await page.locator('#projects-next').isDisabled(), false);
    const firstPage = await cards.locator('h3').allTextContents();

    await page.locator('#projects-next').click();
    await page.locator('#projects-page', { hasText: 'Page 2' }).waitFor();
    assert.equal(await cards.count(), 1);
    assert.equal(await page.locator('#projects-next').isDisabled(), true);
    assert.equal(await page.locator('#projects-prev').isDisabled(), false);
    const secondPage = await cards.locator('h3').allTextContents();
    assert.deepEqual([...firstPage, ...secondPage].sort(), [...titles].sort());

    await page.locator('#projects-prev').click();
    await page.locator('#projects-page', { hasText: 'Page 1' }).waitFor();
    assert.deepEqual(await cards.locator('h3').allTextContents(), firstPage);

    // API text is rendered as text: the HTML title shows literally and runs nothing.
    const htmlTitle = titles[2];
    const onPage = firstPage.includes(htmlTitle) ? 1 : 2;
    if (onPage === 2) await page.locator('#projects-next').click();
    const gamma = page.locator('#projects-list h3', { hasText: 'Gamma' });
    assert.equal(await gamma.textContent(), htmlTitle);
    assert.equal(await gamma.evaluate((h) => h.children.length), 0);
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.evaluate(() => window.pwned), undefined);

    // Vote on Bob's "Alpha" project: the card shows the new totals.
    await search.locator('[name=search]').fill(titles[0]);
    await search.locator('button[type=submit]').click();
    await page.locator('#projects-summary', { hasText: `1 project matching “${titles[0]}”` }).waitFor();
    const alpha = cards.filter({ hasText: titles[0] });
    await alpha.locator('button.vote-up').click();
    await alpha.locator('.votes', { hasText: /^1 vote · 100% positive$/ }).waitFor();
    assert.equal(await alpha.locator('.vote-total').textContent(), '1');
    assert.equal(await alpha.locator('.vote-ratio').textContent(), '100');
    await alpha.locator('button.vote-down').click();
    await alpha.locator('.votes', { hasText: /^1 vote · 0% positive$/ }).waitFor();
    const voted = await (await fetch(`${base}/api/projects/${projectIds[titles[0]]}`)).json();
    assert.equal(voted.vote_total, 1);
    assert.equal(voted.vote_ratio, 0);

    // Bob writes to the new user; the inbox shows it unread, opening it marks it read.
    const profiles = await (await fetch(`${base}/api/profiles?search=${encodeURIComponent(name)}`)).json();
    assert.equal(profiles.count, 1);
    const sent = await post(`${base}/api/profiles/${profiles.results[0].id}/messages`, {
      subject: 'Hello <b>there</b>', body: 'Nice projects.\nSecond line.',
    }, await bobAccess());
    assert.equal(sent.status, 201, JSON.stringify(sent.body));

    await page.locator('#tab-inbox').click();
    await page.locator('#inbox-summary', { hasText: /^1 message, 1 unread$/ }).waitFor();
    assert.equal(await page.locator('#unread-badge').textContent(), '1');
    const item = page.locator('#inbox-list .message-link');
    assert.equal(await item.count(), 1);
    assert.equal(await item.evaluate((b) => b.classList.contains('unread')), true);
    await item.click();
    await page.locator('#message-body', { hasText: 'Second line.' }).waitFor();
    assert.equal(await page.locator('#message-subject').textContent(), 'Hello <b>there</b>');
    assert.equal(await page.locator('#message-body').textContent(), 'Nice projects.\nSecond line.');
    await page.locator('#inbox-summary', { hasText: /^1 message, 0 unread$/ }).waitFor();
    assert.equal(await page.locator('#unread-badge').isHidden(), true);

    // The tokens are nowhere but in the page's memory.
    assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]), [0, 0, '']);
    assert.deepEqual(await context.cookies(), []);

    // Let the access token expire, then one action that makes two calls at once
    // (the projects page and the unread count): both are refused, ONE refresh
    // serves both, and both are retried with the new token.
    await sleep(4000);
    const before = requests.length;
    const projectsOk = page.waitForResponse((r) => r.url().startsWith(`${base}/api/projects?`) && r.status() === 200);
    const unreadOk = page.waitForResponse((r) => r.url().startsWith(`${base}/api/inbox?page_size=1`) && r.status() === 200);
    await page.locator('#tab-projects').click();
    await Promise.all([projectsOk, unreadOk]);
    await page.locator('#projects-summary', { hasText: `1 project matching “${titles[0]}”` }).waitFor();
    const after = requests.slice(before);
    assert.equal(after.filter(isRefresh).length, 1, JSON.stringify(after));
    const refusedThenRetried = (p) => after.filter((r) => r.method === 'GET' && r.url.startsWith(`${base}${p}`)).length;
    assert.equal(refusedThenRetried('/api/projects?'), 2);
    assert.equal(refusedThenRetried('/api/inbox?page_size=1'), 2);
    assert.ok(refreshPairs.length >= 1);
    assert.match(api.log(), /POST \/api\/users\/token\/refresh 200/);

    // Log out: the SPA blacklists its (rotated) refresh token and forgets both.
    const blacklistOk = page.waitForResponse((r) => r.url().endsWith('/api/users/token/blacklist'));
    await page.locator('#logout').click();
    assert.equal((await blacklistOk).status(), 200);
    await page.locator('#login-form').waitFor();
    assert.equal(await page.locator('#app-view').isHidden(), true);
    assert.ok(blacklisted, 'the SPA sent its refresh token to /api/users/token/blacklist');
    assert.equal(blacklisted, refreshPairs.at(-1).refresh);
    const replay = await post(`${base}/api/users/token/refresh`, { refresh: blacklisted });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, 'token_not_valid');

    // Log in again through the login form, then end every login of this user
    // elsewhere (logout-all): the next call is refused, its one refresh fails,
    // and the SPA shows the login form again.
    const login = page.locator('#login-form');
    await login.locator('[name=username]').fill(username);
    await login.locator('[name=password]').fill('Tr0ub4dor&3-horse');
    await login.locator('button[type=submit]').click();
    await page.locator('#app-view').waitFor();
    await page.locator('#projects-summary', { hasText: `1 project matching “${titles[0]}”` }).waitFor();
    const elsewhere = await post(`${base}/api/users/token`, { username, password: 'Tr0ub4dor&3-horse' });
    assert.equal((await post(`${base}/api/users/logout-all`, {}, elsewhere.body.access)).status, 200);
    const mark = requests.length;
    await page.locator('#tab-inbox').click();
    await page.locator('#notice', { hasText: 'Your session has ended' }).waitFor();
    await page.locator('#login-form').waitFor();
    assert.equal(await page.locator('#app-view').isHidden(), true);
    assert.equal(requests.slice(mark).filter(isRefresh).length, 1);

    // Only the two loopback origins were ever contacted; the API answered the
    // preflights that the Authorization and JSON calls need.
    const origins = new Set(requests.map((r) => new URL(r.url).origin));
    assert.deepEqual([...origins].sort(), [base, spa.origin].sort());
    assert.ok(count((r) => r.url.startsWith(`${base}/api/`)) > 10);
    const preflights = api.log().match(/OPTIONS \/api\/\S* 200/g) ?? [];
    assert.ok(preflights.length >= 3, `preflights answered: ${preflights.length}\n${api.log()}`);
    assert.deepEqual(consoleErrors, []);
  } finally {
    if (browser) await browser.close();
    if (api) await api.stop();
    if (spa) await spa.close();
  }
});
