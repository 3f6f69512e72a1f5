// The JSON of every imported object, from the Django version and from this server,
// compared field by field (tests/django/run.sh calls it after the import).
//
//   node tests/django/compare.mjs PEER_BASE OUR_BASE TOKENS_FILE
//
// TOKENS_FILE: "username access_token" per line, tokens issued by the Django version
// (they must work on both servers). Anonymously: every page of the profile, project
// and tag lists, the default first page of each, every profile and project by id.
// As each user: users/me, account, the own profile, the notes and the inbox (lists,
// then every note and message by id), and for a staff user the admin users list.
// One "django: ok" line per identical response; one "django: FAIL" line per
// difference, with its JSON path and both values. The last line:
// "compare: N passed, M failed". Only node's standard library.
import { readFileSync } from "node:fs";

const [peerBase, ourBase, tokensFile] = process.argv.slice(2);
if (!peerBase || !ourBase || !tokensFile) {
  console.error("usage: compare.mjs PEER_BASE OUR_BASE TOKENS_FILE");
  process.exit(2);
}
const MAX_FAIL_LINES = 300; // past that, failures are counted but not printed
let passed = 0;
let failed = 0;

function ok(what) {
  passed++;
  console.log(`django: ok   ${what}`);
}
function fail(what) {
  failed++;
  if (failed <= MAX_FAIL_LINES) console.log(`django: FAIL ${what}`);
  else if (failed === MAX_FAIL_LINES + 1) console.log("django: FAIL ... (further failures counted, not printed)");
}

// The only thing that must differ: absolute URLs name each server's own origin.
function normalise(value) {
  if (typeof value === "string") return value.split(peerBase).join("<origin>").split(ourBase).join("<origin>");
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

const show = (v) => (v === undefined ? "(absent)" : JSON.stringify(v)).slice(0, 200);

// Every difference between a (the peer's) and b (ours) as [path, a, b].
function differences(a, b, path = "$", out = []) {
  const kind = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
  if (kind(a) !== kind(b)) {
    out.push([path, a, b]);
  } else if (kind(a) === "array") {
    for (let i = 0; i < Math.max(a.length, b.length); i++) differences(a[i], b[i], `${path}[${i}]`, out);
  } else if (kind(a) === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) differences(a[k], b[k], `${path}.${k}`, out);
  } else if (a !== b) {
    out.push([path, a, b]);
  }
  return out;
}

async function get(base, path, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  try {
    const res = await fetch(base + path, { headers, signal: AbortSignal.timeout(30000) });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = { "(not JSON)": text.slice(0, 200) };
    }
    return { status: res.status, json };
  } catch (err) {
    return { status: 0, json: { "(request failed)": String(err) } };
  }
}

// GET PATH on both servers (the peer first), compare; returns the peer's body.
async function compare(label, path, token) {
  const peer = await get(peerBase, path, token);
  const ours = await get(ourBase, path, token);
  const what = `${label} GET ${path}`;
  if (peer.status !== ours.status) {
    fail(`${what}: status peer ${peer.status}, ours ${ours.status}` +
      (ours.status >= 400 ? ` ${show(ours.json)}` : ""));
    return peer.json;
  }
  if (peer.status !== 200) {
    fail(`${what}: both answered ${peer.status}, expected 200 ${show(peer.json)}`);
    return peer.json;
  }
  const diffs = differences(normalise(peer.json), normalise(ours.json));
  if (diffs.length === 0) ok(`${what} same on both`);
  for (const [p, a, b] of diffs) fail(`${what}: ${p} peer ${show(a)}, ours ${show(b)}`);
  return peer.json;
}

// Every page of a list at page_size=100 (and the default first page): the items
// the peer listed.
async function compareList(label, path, token) {
  await compare(label, path, token);
  const items = [];
  const sep = path.includes("?") ? "&" : "?";
  for (let page = 1; page <= 50; page++) {
    const body = await compare(label, `${path}${sep}page_size=100&page=${page}`, token);
    if (!Array.isArray(body?.results)) break;
    items.push(...body.results);
    if (!body.next) break;
  }
  return items;
}

const tokens = readFileSync(tokensFile, "utf8")
  .split("\n")
  .filter((line) => line.trim())
  .map((line) => {
    const [username, access] = line.trim().split(/\s+/);
    return { username, access };
  });

const profiles = await compareList("anonymous", "/api/profiles");
const projects = await compareList("anonymous", "/api/projects");
await compareList("anonymous", "/api/tags");
for (const p of profiles) await compare("anonymous", `/api/profiles/${p.id}`);
for (const p of projects) await compare("anonymous", `/api/projects/${p.id}`);

const messageReads = [];
for (const { username, access } of tokens) {
  const label = `as ${username}`;
  const me = await compare(label, "/api/users/me", access);
  await compare(label, "/api/account", access);
  if (me?.profile?.id) await compare(label, `/api/profiles/${me.profile.id}`, access);
  if (me?.is_staff) await compareList(label, "/api/admin/users", access);
  const notes = await compareList(label, "/api/notes", access);
  for (const n of notes) await compare(label, `/api/notes/${n.id}`, access);
  const inbox = await compareList(label, "/api/inbox", access);
  for (const m of inbox) messageReads.push([label, `/api/inbox/${m.id}`, access]);
}
// Reading a message marks it read: the details last, once every list is compared.
for (const [label, path, access] of messageReads) await compare(label, path, access);

console.log(`compare: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
