// The documentation in docs/ against the code it describes, so the pages cannot
// drift: every setting the C code reads is on docs/configuration.md (and every
// setting listed there is read), every table and column of the migrated test
// database is drawn in docs/data-model.svg, and relative links resolve.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE_DIRS = ['core', 'api', 'models', 'serializers', 'auth'];
const read = (rel) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

/** Every environment variable the C sources read, with the files reading it. */
function settingsReadByCode() {
  const found = new Map();
  const add = (name, file) => found.set(name, [...(found.get(name) ?? []), file]);
  // config.c reads through its helpers env(), env_dup(), env_int(), env_duration(), env_interval(), env_rate().
  const config = read('core/config.c');
  for (const m of config.matchAll(/\benv(?:_dup|_int|_duration|_interval|_rate)?\(\s*"([A-Z][A-Z0-9_]*)"/g)) add(m[1], 'core/config.c');
  for (const dir of SOURCE_DIRS) {
    for (const file of fs.readdirSync(path.join(ROOT, dir)).sort()) {
      if (!/\.[ch]$/.test(file)) continue;
      const text = read(`${dir}/${file}`);
      for (const m of text.matchAll(/\b(?:secure_)?getenv\(\s*"([A-Z][A-Z0-9_]*)"\s*\)/g)) add(m[1], `${dir}/${file}`);
    }
  }
  return found;
}

/** The first column of the table under "## Settings of `devsearch`". */
function settingsListedInTable(doc) {
  const start = doc.indexOf('## Settings of `devsearch`');
  assert.ok(start >= 0, 'docs/configuration.md lost its "## Settings of `devsearch`" section');
  const section = doc.slice(start).split(/\n## |\n### /)[0];
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);
}

test('docs/configuration.md names every setting the C code reads', () => {
  const doc = read('docs/configuration.md');
  const settings = settingsReadByCode();
  // A scan that finds nothing would pass vacuously.
  assert.ok(settings.size >= 25, `only ${settings.size} settings found in the sources: is the scan broken?`);
  assert.ok(settings.has('DATABASE_URL') && settings.has('DEVSEARCH_PASSWORD'));
  const missing = [...settings.keys()].filter((name) => !doc.includes(`\`${name}\``));
  assert.deepEqual(missing, [], `read by the code but not documented in docs/configuration.md: ${missing
    .map((n) => `${n} (${settings.get(n).join(', ')})`).join('; ')}`);
});

test('every setting in the table of docs/configuration.md is read by the C code', () => {
  const listed = settingsListedInTable(read('docs/configuration.md'));
  const settings = settingsReadByCode();
  assert.ok(listed.length >= 25, `only ${listed.length} rows found in the settings table`);
  const stale = listed.filter((name) => !settings.has(name));
  assert.deepEqual(stale, [], `documented but read by no C code: ${stale.join(', ')}`);
  const unlisted = [...settings.keys()].filter((name) => !listed.includes(name));
  assert.deepEqual(unlisted, [], `read by the code but missing from the settings table: ${unlisted.join(', ')}`);
});

/** psql on PATH, else the newest server's. */
function psqlPath() {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore', timeout: 10000 });
    return 'psql';
  } catch {
    const dirs = fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql') : [];
    const found = dirs.map((v) => `/usr/lib/postgresql/${v}/bin/psql`).filter((p) => fs.existsSync(p));
    if (!found.length) throw new Error('psql not found');
    return found.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).at(-1);
  }
}

/** table -> [column, type, column, type, ...] of the public schema, types as the diagram writes them. */
function schemaOfTestDatabase() {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with make test');
  const sql = `
    SELECT c.relname, a.attname,
           replace(replace(format_type(a.atttypid, a.atttypmod),
                   'timestamp with time zone', 'timestamptz'), 'character varying', 'varchar')
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
     ORDER BY c.relname, a.attnum`;
  const out = execFileSync(psqlPath(), [url, '-X', '-q', '-t', '-A', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    encoding: 'utf8', timeout: 20000,
  });
  const tables = new Map();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [table, column, type] = line.split('\t');
    tables.set(table, [...(tables.get(table) ?? []), column, type]);
  }
  return tables;
}

function decodeEntities(text) {
  return text
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** node title -> its texts without the flag cells (PK, FK, generated, null): [table, col, type, ...]. */
function tablesOfDiagram(svg) {
  const nodes = new Map();
  for (const chunk of svg.split('<g id="').slice(1)) {
    if (!chunk.startsWith('node')) continue;
    const title = chunk.match(/<title>([^<]*)<\/title>/);
    if (!title) continue;
    const texts = [...chunk.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => decodeEntities(m[1]));
    nodes.set(decodeEntities(title[1]), texts.filter((t) => !/^(?:PK|FK|generated|null)(?: (?:PK|FK|generated|null))*$/.test(t)));
  }
  return nodes;
}

test('docs/data-model.svg draws every table and column of the migrated database', () => {
  const schema = schemaOfTestDatabase();
  assert.ok(schema.has('users') && schema.has('schema_migrations'), 'the test database is not migrated');
  const drawn = tablesOfDiagram(read('docs/data-model.svg'));
  const problems = [];
  for (const [table, columns] of schema) {
    if (!drawn.has(table)) problems.push(`table ${table} is not drawn`);
    else if (JSON.stringify(drawn.get(table)) !== JSON.stringify([table, ...columns])) {
      problems.push(`table ${table}: drawn ${JSON.stringify(drawn.get(table).slice(1))}, `
        + `database has ${JSON.stringify(columns)}`);
    }
  }
  for (const table of drawn.keys()) if (!schema.has(table)) problems.push(`table ${table} is drawn but does not exist`);
  assert.deepEqual(problems, [], `docs/data-model.svg is stale; run make data-model:\n${problems.join('\n')}`);
});

test('docs: the index links every page, and relative links resolve', () => {
  const index = read('docs/README.md');
  const pages = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => /\.(md|svg)$/.test(f) && f !== 'README.md');
  const unlinked = pages.filter((f) => !index.includes(`](${f})`));
  assert.deepEqual(unlinked, [], `docs/README.md does not link: ${unlinked.join(', ')}`);

  const broken = [];
  const files = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  for (const file of files) {
    for (const m of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1].split('#')[0];
      if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // in-page anchor or absolute URL
      const rel = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), decodeURIComponent(target)));
      if (fs.existsSync(path.join(ROOT, rel))) continue;
      broken.push(`${file}: ${m[1]}`);
    }
  }
  assert.deepEqual(broken, [], `links to missing files: ${broken.join(', ')}`);
});
