// openapi.yaml: Redocly's linter finds nothing (no error, no warning), the document
// says what other parts rely on (version, title, tags), it lists exactly the
// operations the server registers (GET /api), and the server serves it as it is.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { startServer } from './lib/server.mjs';
import { ROOT, OPENAPI_FILE, loadDocument, operations, documentAjv } from './lib/openapi.mjs';

const run = promisify(execFile);
let server; // one server for the tests that need one
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

const TAGS = ['meta', 'users', 'profiles', 'skills', 'projects', 'tags', 'messages', 'notes', 'images', 'staff'];

test('redocly lint (recommended rules, redocly.yaml) reports no error and no warning', { timeout: 60000 }, async () => {
  const redocly = path.join(ROOT, 'node_modules/.bin/redocly');
  let stdout;
  try {
    ({ stdout } = await run(redocly, ['lint', '--config', 'redocly.yaml', '--format', 'json', 'openapi.yaml'], {
      cwd: ROOT,
      // No usage data and no update check: the linter stays off the network.
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 50000,
    }));
  } catch (err) {
    // Exit status 1 means errors were found; the report is on stdout all the same.
    if (!err.stdout) throw err;
    stdout = err.stdout;
  }
  const report = JSON.parse(stdout.slice(stdout.indexOf('{')));
  const problems = report.problems.map((p) =>
    `${p.severity} ${p.ruleId} at ${p.location?.[0]?.pointer ?? '?'}: ${p.message}`);
  assert.deepEqual(problems, [], `redocly lint found:\n  ${problems.join('\n  ')}`);
  assert.equal(report.totals.errors + report.totals.warnings, 0);
});

test('the document: OpenAPI 3.1.0, its title, one known tag per operation, schemas that compile', () => {
  const doc = loadDocument();
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.info.title, 'DevSearch API');
  assert.deepEqual(doc.tags.map((t) => t.name), TAGS);
  const badTags = operations(doc)
    .filter(({ op }) => op.tags?.length !== 1 || !TAGS.includes(op.tags[0]))
    .map(({ key, op }) => `${key}: ${JSON.stringify(op.tags)}`);
  assert.deepEqual(badTags, [], 'every operation has exactly one of the tags');
  const notProjects = operations(doc)
    .filter(({ path: p, op }) => /^\/api\/projects(\/\{id\}(\/(vote|tags.*))?)?$/.test(p) && op.tags[0] !== 'projects')
    .map(({ key }) => key);
  assert.deepEqual(notProjects, [], 'project operations are tagged projects');
  // Every schema of the document compiles in strict mode (ajv, JSON Schema 2020-12).
  const ajv = documentAjv(doc);
  for (const name of Object.keys(doc.components.schemas)) ajv.validator(`#/components/schemas/${name}`);
});

test('openapi.yaml lists exactly the operations the server registers (GET /api)', async () => {
  const doc = loadDocument();
  const res = await fetch(`${server.base}/api`);
  assert.equal(res.status, 200);
  const routes = (await res.json()).map((r) => {
    const [[method, p]] = Object.entries(r);
    return `${method} ${p}`;
  });
  // HEAD and OPTIONS are answered for every route but are not operations.
  const served = new Set(routes.filter((r) => !/^(HEAD|OPTIONS) /.test(r)));
  const documented = new Set(operations(doc).map((o) => o.key).filter((k) => !/^(HEAD|OPTIONS) /.test(k)));
  const undocumented = [...served].filter((k) => !documented.has(k)).sort();
  const notServed = [...documented].filter((k) => !served.has(k)).sort();
  assert.deepEqual({ undocumented, notServed }, { undocumented: [], notServed: [] },
    'GET /api and openapi.yaml disagree');
  assert.equal(routes.length, served.size, 'GET /api lists each route once');
});

test('GET /api/openapi.yaml serves the document byte for byte', async () => {
  const res = await fetch(`${server.base}/api/openapi.yaml`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/vnd\.oai\.openapi\b/);
  const text = await res.text();
  assert.equal(text, fs.readFileSync(OPENAPI_FILE, 'utf8'));
  assert.equal(YAML.parse(text).info.title, 'DevSearch API');
});
