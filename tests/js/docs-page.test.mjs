// GET /api/docs: Swagger UI over GET /api/openapi.yaml, every file served by the
// binary itself (api/docs.c, assets copied by the Makefile). The HTTP checks
// look at the page, its headers and the asset whitelist; the browser check
// renders the page in headless Chromium, tries GET /api/health through the UI
// and proves no request left 127.0.0.1 (no CDN).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './lib/server.mjs';
import { haveChromium, launch } from './lib/browser.mjs';

const ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'init.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** GET a raw request target, exactly as written (fetch() would resolve "..").  */
function rawGet(base, target) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: target, method: 'GET', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${target}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

describe('GET /api/docs', { timeout: 120000 }, () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server?.stop(); });

  it('answers a small HTML page with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${server.base}/api/docs`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    assert.deepEqual(directives['script-src'], ["'self'"], `CSP: ${csp}`);
    assert.deepEqual(directives['default-src'], ["'none'"], `CSP: ${csp}`);
    assert.deepEqual(directives['connect-src'], ["'self'"], `CSP: ${csp}`);
    const html = await res.text();
    assert.match(html, /<title>DevSearch API docs<\/title>/);
    for (const name of ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'init.js']) {
      assert.ok(html.includes(`"/api/docs/assets/${name}"`), `the page loads ${name}`);
    }
    assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]|\son[a-z]+=|https?:\/\//i, 'no inline script, handler or absolute URL');
  });

  it('is listed in GET /api; its assets are not', async () => {
    const routes = await (await fetch(`${server.base}/api`)).json();
    const paths = routes.map((r) => r.GET).filter(Boolean);
    assert.ok(paths.includes('/api/docs'));
    assert.ok(!paths.some((p) => p.startsWith('/api/docs/assets')), JSON.stringify(paths));
  });

  it('serves each asset of the whitelist with its type and a Cache-Control', async () => {
    for (const [name, type] of Object.entries(ASSETS)) {
      const res = await fetch(`${server.base}/api/docs/assets/${name}`);
      assert.equal(res.status, 200, `${name}: is node_modules installed and the build done? (make test does both)`);
      assert.equal(res.headers.get('content-type'), type, name);
      assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/, name);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', name);
      const body = Buffer.from(await res.arrayBuffer());
      assert.ok(body.length > 0, name);
      assert.equal(Number(res.headers.get('content-length')), body.length, name);
    }
    const init = await (await fetch(`${server.base}/api/docs/assets/init.js`)).text();
    assert.equal(init, fs.readFileSync(new URL('../../assets/docs/init.js', import.meta.url), 'utf8'));
    assert.match(init, /url: '\/api\/openapi\.yaml'/);
  });

  it('answers 404 to every other name, never reading a path from the URL', async () => {
    const targets = [
      '/api/docs/assets/../../etc/passwd',
      '/api/docs/assets/../../../../../../etc/passwd',
      '/api/docs/assets/..%2f..%2f..%2fetc%2fpasswd',
      '/api/docs/assets/%2e%2e/%2e%2e/etc/passwd',
      '/api/docs/assets//etc/passwd',
      '/api/docs/assets/./init.js',
      '/api/docs/assets/init.js%00.png',
      '/api/docs/assets/INIT.JS',
      '/api/docs/assets/index.html', // in swagger-ui-dist, not in the whitelist
      '/api/docs/assets/swagger-ui-bundle.js.map',
      '/api/docs/assets/package.json',
      '/api/docs/assets/nope.js',
      '/api/docs/assets/',
    ];
    for (const target of targets) {
      const res = await rawGet(server.base, target);
      // A client that resolves ".." itself ends on /etc/passwd, a 404 of the router too.
      assert.equal(res.status, 404, target);
      assert.doesNotMatch(res.body, /root:/, target);
    }
  });

  it('serves from DOCS_ASSETS_DIR only the whitelisted names, and 404 for missing files', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devsearch-docs-'));
    let other;
    try {
      fs.writeFileSync(path.join(dir, 'init.js'), '// from DOCS_ASSETS_DIR\n');
      fs.writeFileSync(path.join(dir, 'secret.txt'), 'secret\n');
      other = await startServer({ DOCS_ASSETS_DIR: dir });
      const init = await fetch(`${other.base}/api/docs/assets/init.js`);
      assert.equal(init.status, 200);
      assert.equal(await init.text(), '// from DOCS_ASSETS_DIR\n');
      assert.equal((await rawGet(other.base, '/api/docs/assets/secret.txt')).status, 404);
      // Whitelisted but not installed (a build without node_modules): 404, and a warning.
      assert.equal((await rawGet(other.base, '/api/docs/assets/swagger-ui-bundle.js')).status, 404);
      const warned = /docs: cannot read .*swagger-ui-bundle\.js/;
      for (let i = 0; i < 40 && !warned.test(other.log()); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(other.log(), warned);
      // The page itself still answers, and says what is missing.
      const page = await (await fetch(`${other.base}/api/docs`)).text();
      assert.match(page, /no Swagger UI assets/);
    } finally {
      await other?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders the document in Chromium and tries GET /api/health from the page', async (t) => {
    if (!haveChromium()) {
      t.skip('Chromium is not installed');
      return;
    }
    const expectedHost = new URL(server.base).host;
    const requests = [];
    const offHost = [];
    const problems = [];
    const { browser, close } = await launch();
    try {
      const context = await browser.newContext();
      // Anything for another host is recorded and never sent.
      await context.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (/^https?:$/.test(url.protocol) && url.host !== expectedHost) {
          offHost.push(url.href);
          return route.abort();
        }
        return route.continue();
      });
      const page = await context.newPage();
      page.setDefaultTimeout(20000);
      page.on('request', (r) => requests.push(r.url()));
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
      });
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
          console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
        });
      });

      const res = await page.goto(`${server.base}/api/docs`);
      assert.equal(res.status(), 200);
      assert.equal(await page.title(), 'DevSearch API docs');

      // The document is rendered: its title and the projects tag with its operations.
      const title = page.locator('.swagger-ui .info .title');
      await title.waitFor();
      assert.match(await title.innerText(), /^DevSearch API/);
      const projects = page.locator('.opblock-tag-section', { has: page.locator('#operations-tag-projects') });
      await projects.waitFor();
      const projectPaths = await projects.locator('.opblock-summary-path').allInnerTexts();
      assert.ok(projectPaths.map((p) => p.replace(/\u200b/g, '').trim()).includes('/api/projects'),
        `projects operations: ${JSON.stringify(projectPaths)}`);

      // The page's own configuration (assets/docs/init.js).
      const configs = await page.evaluate(() => {
        const c = window.ui.getConfigs();
        return { url: c.url, tryItOutEnabled: c.tryItOutEnabled, persistAuthorization: c.persistAuthorization };
      });
      assert.deepEqual(configs, { url: '/api/openapi.yaml', tryItOutEnabled: true, persistAuthorization: true });

      // Try GET /api/health through the UI: expand, (Try it out,) Execute.
      const health = page.locator('.opblock.opblock-get', {
        has: page.locator('.opblock-summary-path[data-path="/api/health"]'),
      }).first();
      await health.locator('.opblock-summary-control').click();
      const tryItOut = health.locator('button.try-out__btn', { hasText: 'Try it out' });
      // tryItOutEnabled opens every operation ready to send; click if a build of the page does not.
      if (await tryItOut.isVisible()) await tryItOut.click();
      await health.locator('button.execute').click();
      const status = health.locator('.live-responses-table .response .response-col_status');
      await status.waitFor();
      assert.equal((await status.innerText()).trim(), '200');
      const body = await health.locator('.live-responses-table .response-col_description pre').first().innerText();
      assert.match(body, /"status":\s*"ok"/);

      // Every request stayed on this server: the page, its assets, the document, the call.
      assert.deepEqual(offHost, [], `requests to other hosts: ${offHost.join(', ')}`);
      for (const url of requests) {
        if (url.startsWith('data:') || url.startsWith('blob:')) continue;
        assert.equal(new URL(url).host, expectedHost, url);
      }
      for (const p of ['/api/docs/assets/swagger-ui-bundle.js', '/api/docs/assets/init.js', '/api/openapi.yaml', '/api/health']) {
        assert.ok(requests.some((u) => new URL(u).pathname === p), `the page requested ${p}: ${requests.join(', ')}`);
      }
      assert.deepEqual(problems, [], 'no script errors nor CSP violations');
    } finally {
      await close();
    }
  });
});
