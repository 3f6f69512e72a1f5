// The repository's OpenAPI document for the tests: its operations, and a checker
// that sends real requests and validates each answer (status, content type, body,
// headers) against the documented response, with ajv (JSON Schema 2020-12).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const OPENAPI_FILE = path.join(ROOT, 'openapi.yaml');

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const DOC_ID = 'urn:devsearch:openapi';

/** The parsed openapi.yaml. */
export function loadDocument() {
  return YAML.parse(fs.readFileSync(OPENAPI_FILE, 'utf8'));
}

/** Every operation of doc as { key: 'GET /api/x', method: 'GET', path, op }. */
export function operations(doc) {
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths ?? {})) {
    for (const m of METHODS) {
      if (item[m]) ops.push({ key: `${m.toUpperCase()} ${p}`, method: m.toUpperCase(), path: p, op: item[m] });
    }
  }
  return ops;
}

/** A JSON Pointer token (RFC 6901). */
const escapePointer = (s) => s.replaceAll('~', '~0').replaceAll('/', '~1');

/** The object a local "#/..." $ref points at. */
function deref(doc, node) {
  while (node && node.$ref) {
    node = node.$ref.slice(2).split('/')
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce((o, t) => o?.[t], doc);
  }
  return node;
}

/** The media type without parameters, lower case ("application/json"). */
const mediaType = (contentType) => (contentType ?? '').split(';')[0].trim().toLowerCase();

/**
 * An ajv instance holding the whole document, so that every schema (inline or a
 * component) is compiled by its JSON Pointer and its "#/components/..." refs resolve.
 */
export function documentAjv(doc) {
  // Strict, except that a schema may require a property its allOf part defines
  // (OwnProfile requires the email that Profile describes).
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  // Emails may have an internationalised domain (as Django's EmailValidator allows);
  // ajv-formats has no idn-email, so: one @, no spaces, a dot in the domain.
  ajv.addFormat('idn-email', /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/u);
  // The OpenAPI keywords around the schemas are not schema keywords.
  ajv.addVocabulary(['openapi', 'info', 'servers', 'tags', 'paths', 'components', 'security',
    'webhooks', 'externalDocs', 'jsonSchemaDialect']);
  ajv.addSchema({ ...doc, $id: DOC_ID });
  return {
    /** The validate function of the schema at pointer ("#/components/schemas/X"). */
    validator(pointer) {
      const v = ajv.getSchema(`${DOC_ID}${pointer}`);
      if (!v) throw new Error(`no schema at ${pointer}`);
      return v;
    },
  };
}

/** "$.results[0].owner: must be object" lines for ajv errors. */
function formatErrors(errors) {
  return (errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message}${
    e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
}

/**
 * Sends requests to base and checks every answer against doc. Mismatches are
 * collected (never thrown) so that one test lists all of its own; flush() throws
 * them. coverage maps an operation key to the statuses seen.
 */
export class ContractChecker {
  constructor(doc, base) {
    this.doc = doc;
    this.base = base;
    this.ajv = documentAjv(doc);
    this.ops = new Map(operations(doc).map((o) => [o.key, o]));
    this.coverage = new Map([...this.ops.keys()].map((k) => [k, new Set()]));
    this.mismatches = [];
  }

  /**
   * Call operation key ("PATCH /api/projects/{id}") and check the answer.
   *   params   path parameters ({id: ...})
   *   query    query parameters
   *   token    a Bearer token
   *   json     a body to send as JSON
   *   body, contentType   a raw body and its Content-Type
   *   form     a FormData body (multipart)
   *   expect   the status this call must get
   *   label    what the call is about, for messages
   *   base     another server than the checker's
   * Resolves to { status, headers, text, bytes, json }.
   */
  async call(key, { params = {}, query, token, json, body, contentType, form, expect, label, base = this.base } = {}) {
    const entry = this.ops.get(key);
    const name = `${key}${label ? ` (${label})` : ''}`;
    if (!entry) {
      this.mismatches.push(`${name}: not an operation of openapi.yaml`);
      return { status: 0, headers: new Headers(), text: '', json: undefined };
    }
    let url = entry.path.replace(/\{(\w+)\}/g, (_, p) => {
      if (params[p] === undefined) throw new Error(`${name}: no value for {${p}}`);
      return p === 'path' ? String(params[p]) : encodeURIComponent(params[p]);
    });
    if (query) url += `?${new URLSearchParams(query)}`;
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(json);
    } else if (form) {
      payload = form;
    } else if (body !== undefined) {
      if (contentType) headers['Content-Type'] = contentType;
      payload = body;
    }
    const res = await fetch(base + url, { method: entry.method, headers, body: payload, redirect: 'manual' });
    const buf = Buffer.from(await res.arrayBuffer());
    const out = { status: res.status, headers: res.headers, text: buf.toString('utf8'), bytes: buf, json: undefined };
    if (mediaType(res.headers.get('content-type')) === 'application/json' && buf.length) {
      try {
        out.json = JSON.parse(out.text);
      } catch {
        this.mismatches.push(`${name}: ${res.status} body is not JSON: ${out.text.slice(0, 200)}`);
      }
    }
    this.coverage.get(key).add(res.status);
    if (expect !== undefined && res.status !== expect) {
      this.mismatches.push(`${name}: expected ${expect}, got ${res.status}: ${out.text.slice(0, 300)}`);
    }
    this.#checkResponse(entry, name, out);
    return out;
  }

  #checkResponse(entry, name, res) {
    const status = String(res.status);
    const documented = entry.op.responses?.[status];
    if (!documented) {
      this.mismatches.push(`${name}: status ${status} is not documented: ${res.text.slice(0, 300)}`);
      return;
    }
    const response = deref(this.doc, documented);
    const base = documented.$ref
      ? documented.$ref
      : `#/paths/${escapePointer(entry.path)}/${entry.method.toLowerCase()}/responses/${status}`;
    // Headers: every required one is there, every documented one has a valid value.
    for (const [h, hdr] of Object.entries(response.headers ?? {})) {
      const spec = deref(this.doc, hdr);
      const value = res.headers.get(h);
      if (value === null) {
        if (spec.required) this.mismatches.push(`${name}: ${status} without the ${h} header`);
        continue;
      }
      const pointer = hdr.$ref ? `${hdr.$ref}/schema` : `${base}/headers/${escapePointer(h)}/schema`;
      const v = this.ajv.validator(pointer);
      const typed = spec.schema?.type === 'integer' && /^\d+$/.test(value) ? Number(value) : value;
      if (!v(typed)) this.mismatches.push(`${name}: ${status} header ${h}: ${JSON.stringify(value)} ${formatErrors(v.errors).join('; ')}`);
    }
    // Body: none when none is documented; else a documented media type and a valid body.
    if (!response.content) {
      if (res.bytes.length) this.mismatches.push(`${name}: ${status} has a body where none is documented: ${res.text.slice(0, 200)}`);
      return;
    }
    const type = mediaType(res.headers.get('content-type'));
    if (!response.content[type]) {
      this.mismatches.push(`${name}: ${status} Content-Type ${type || '(none)'}; documented: ${Object.keys(response.content).join(', ')}`);
      return;
    }
    const pointer = `${base}/content/${escapePointer(type)}/schema`;
    const v = this.ajv.validator(pointer);
    const instance = type === 'application/json' ? res.json : res.text;
    if (type === 'application/json' && instance === undefined) return; // reported above
    if (!v(instance)) {
      this.mismatches.push(`${name}: ${status} body does not match ${pointer}:\n    ${
        formatErrors(v.errors).join('\n    ')}\n    body: ${res.text.slice(0, 400)}`);
    }
  }

  /** Throws an AssertionError listing the mismatches so far (and forgets them). */
  flush(what) {
    const list = this.mismatches.splice(0);
    if (list.length) {
      const err = new Error(`${what}: ${list.length} mismatch(es) with openapi.yaml:\n  - ${list.join('\n  - ')}`);
      err.name = 'AssertionError';
      throw err;
    }
  }
}
