// DevSearch example client: log in, browse and vote on projects, read the inbox.
// Plain ES module, no build step. Every request goes through api(); the tokens
// live in the `session` variable below and nowhere else (no localStorage, no
// cookies), so a reload logs out. API text reaches the page only as text nodes.

const DEFAULT_API = 'http://localhost:8000';

/** The signed-in state: in memory only. */
const session = { access: null, refresh: null, user: null };
/** Bumped at every login and logout: answers that belong to an older session are dropped. */
let epoch = 0;
/** The one token refresh in flight (a promise of true/false), shared by every caller. */
let refreshing = null;
let apiBase = DEFAULT_API;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------
// The API client

/** A failed call: HTTP status (0: the API could not be reached) and the JSON error body. */
class ApiError extends Error {
  constructor(status, body) {
    super(typeof body?.detail === 'string' ? body.detail : `HTTP ${status}`);
    this.status = status;
    this.body = body ?? {};
  }
}

/** A call whose answer arrived after the session it belonged to ended; nothing to show. */
class StaleAnswer extends Error {}

/**
 * Call the API: `path` is "/api/...", `body` is sent as JSON. With `auth` (the
 * default) the access token goes along; a 401 `token_not_valid` then refreshes
 * the pair once (one refresh shared by concurrent callers) and retries once.
 * Resolves to the parsed JSON body (null for 204); throws ApiError.
 */
export async function api(path, { method = 'GET', body, auth = true } = {}) {
  if (auth && refreshing) await refreshing; // no point sending a token that is being replaced
  const mine = epoch;
  const token = auth ? session.access : null;
  let res = await send(path, method, body, token);
  if (res.status === 401 && token && res.data?.code === 'token_not_valid' && session.refresh
      && await refreshTokens(token)) {
    res = await send(path, method, body, session.access);
  }
  // Still refused (the refresh failed, or the account was deactivated): this login is over.
  if (res.status === 401 && token && mine === epoch) {
    endSession('Your session has ended. Please log in again.');
  }
  if (token && mine !== epoch) throw new StaleAnswer();
  if (res.status < 200 || res.status > 299) throw new ApiError(res.status, res.data);
  return res.data;
}

/** One HTTP exchange (the only fetch() of this client): { status, data }. */
async function send(path, method, body, token) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(apiBase + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, {
      detail: `Cannot reach the API at ${apiBase}. Is it running, and does its CORS_ALLOWED_ORIGINS list ${location.origin}?`,
    });
  }
  const text = res.status === 204 ? '' : await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: `The API answered ${res.status} with something that is not JSON.` };
    }
  }
  return { status: res.status, data };
}

/**
 * Get a fresh token pair after `stale` (the access token a call was refused
 * with) stopped working. Refresh tokens rotate and a replayed one ends the whole
 * login, so there is never more than one refresh in flight: later callers share
 * it, and a caller whose token was already replaced just uses the new one.
 * Resolves to true when session.access holds a usable token.
 */
function refreshTokens(stale) {
  if (session.access !== stale) return Promise.resolve(session.access !== null);
  if (!refreshing) {
    const mine = epoch;
    refreshing = (async () => {
      try {
        const pair = await api('/api/users/token/refresh', {
          method: 'POST', body: { refresh: session.refresh }, auth: false,
        });
        if (mine !== epoch) return false;
        session.access = pair.access;
        if (pair.refresh) session.refresh = pair.refresh;
        return true;
      } catch {
        return false;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

async function login(username, password) {
  const pair = await api('/api/users/token', { method: 'POST', body: { username, password }, auth: false });
  epoch += 1;
  session.access = pair.access;
  session.refresh = pair.refresh;
  try {
    session.user = await api('/api/users/me');
  } catch (err) {
    await logout();
    throw err;
  }
  startApp();
}

/** Log out: blacklist the refresh token on the server, forget both tokens here. */
async function logout() {
  if (refreshing) await refreshing; // the token to blacklist may be about to change
  const refresh = session.refresh;
  endSession();
  if (!refresh) return;
  try {
    await api('/api/users/token/blacklist', { method: 'POST', body: { refresh }, auth: false });
    notify('You are logged out.', 'info');
  } catch (err) {
    notify(`Logged out here, but the server did not confirm it: ${err.message}`);
  }
}

/** Forget the tokens and show the login form (with `message`, if any). */
function endSession(message) {
  epoch += 1;
  session.access = null;
  session.refresh = null;
  session.user = null;
  $('session').hidden = true;
  $('app-view').hidden = true;
  $('auth-view').hidden = false;
  $('whoami').textContent = '';
  clear($('projects-list'));
  clear($('inbox-list'));
  $('message').hidden = true;
  if (message) notify(message);
}

// ---------------------------------------------------------------------------
// Rendering helpers: elements are built with text nodes, never from HTML strings.

/** createElement with a class name and children (strings become text nodes). */
function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) {
  node.replaceChildren();
}

/** Show a message above the page (`kind`: error or info); empty hides it. */
function notify(message, kind = 'error') {
  const box = $('notice');
  box.className = kind;
  box.replaceChildren(...(Array.isArray(message) ? message.map((m) => el('p', null, m)) : [el('p', null, message)]));
  box.hidden = !message || (Array.isArray(message) && message.length === 0);
}

/** Every message string in a DRF error value (a list, a string, or nested). */
function messagesOf(value) {
  if (value === null || value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(messagesOf);
  if (typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => messagesOf(v).map((m) => `${k}: ${m}`));
  }
  return [String(value)];
}

function clearFieldErrors(form) {
  for (const node of form.querySelectorAll('.field-error')) node.remove();
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

/**
 * Show what went wrong: `{detail}` above the page, validation errors
 * (`{field: [...]}`) next to the matching input of `form`, the rest above the page.
 */
function showError(err, form) {
  if (err instanceof StaleAnswer) return;
  if (!(err instanceof ApiError)) {
    console.error(err);
    notify(`Something went wrong: ${err.message}`);
    return;
  }
  const body = err.body;
  if (typeof body.detail === 'string') {
    notify(body.detail);
    return;
  }
  const general = [];
  for (const [field, value] of Object.entries(body)) {
    const input = form?.elements.namedItem(field);
    const messages = messagesOf(value);
    if (input instanceof HTMLElement && field !== 'non_field_errors') {
      input.setAttribute('aria-invalid', 'true');
      input.closest('label').append(el('span', 'field-error', messages.join(' ')));
    } else if (field === 'non_field_errors') {
      general.push(...messages);
    } else {
      general.push(...messages.map((m) => `${field}: ${m}`));
    }
  }
  if (general.length === 0 && !form) general.push(`The API answered ${err.status}.`);
  if (general.length) notify(general);
  else notify('Please correct the fields marked below.');
}

/** Run a form's action with its fields, its button disabled and errors shown. */
function onSubmit(form, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    notify('');
    clearFieldErrors(form);
    const fields = Object.fromEntries(new FormData(form));
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await action(fields);
    } catch (err) {
      showError(err, form);
    } finally {
      button.disabled = false;
    }
  });
}

/** The query string (with "?") of a DRF next/previous link, or null: it is
 * re-applied to our own API base, whatever host the server put in the link. */
function queryOf(link) {
  if (!link) return null;
  try {
    return new URL(link).search || '?';
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// Projects

const projects = { query: '', prev: null, next: null };

function projectQuery(fields) {
  const params = new URLSearchParams();
  const search = (fields.search ?? '').trim();
  if (search) params.set('search', search);
  const size = Number.parseInt(fields.page_size, 10);
  if (size >= 1 && size <= 100) params.set('page_size', String(size));
  const text = params.toString();
  return text ? `?${text}` : '';
}

async function loadProjects(query = projects.query) {
  const page = await api(`/api/projects${query}`);
  projects.query = query;
  projects.prev = queryOf(page.previous);
  projects.next = queryOf(page.next);
  const list = $('projects-list');
  list.replaceChildren(...page.results.map(projectCard));
  const params = new URLSearchParams(query);
  const search = params.get('search');
  $('projects-summary').textContent = `${page.count} project${page.count === 1 ? '' : 's'}`
    + (search ? ` matching “${search}”` : '');
  const pageNumber = params.get('page') ?? '1';
  $('projects-page').textContent = page.count ? `Page ${pageNumber}` : '';
  $('projects-prev').disabled = projects.prev === null;
  $('projects-next').disabled = projects.next === null;
}

function voteText(project) {
  return [
    el('span', 'vote-total', project.vote_total),
    project.vote_total === 1 ? ' vote · ' : ' votes · ',
    el('span', 'vote-ratio', project.vote_ratio),
    '% positive',
  ];
}

function projectCard(project) {
  const owner = project.owner;
  const votes = el('p', 'votes', ...voteText(project));
  const card = el('li', 'project',
    el('h3', 'title', project.title),
    el('p', 'owner', owner ? `by ${displayName(owner.name, owner.username)}` : 'by a deleted account'),
    project.description ? el('p', 'description', truncate(project.description, 280)) : null,
    project.tags.length ? el('ul', 'tags', ...project.tags.map((t) => el('li', null, t.name))) : null,
    votes);
  card.dataset.id = project.id;
  if (owner && owner.id === session.user?.profile?.id) {
    card.append(el('p', 'mine', 'Your project'));
    return card;
  }
  const buttons = el('div', 'vote-buttons');
  for (const [value, label] of [['up', '▲ Up'], ['down', '▼ Down']]) {
    const button = el('button', `vote-${value}`, label);
    button.type = 'button';
    button.addEventListener('click', async () => {
      notify('');
      for (const b of buttons.children) b.disabled = true;
      try {
        const updated = await api(`/api/projects/${encodeURIComponent(project.id)}/vote`, {
          method: 'POST', body: { value },
        });
        votes.replaceChildren(...voteText(updated));
        card.dataset.voted = value;
      } catch (err) {
        showError(err);
      } finally {
        for (const b of buttons.children) b.disabled = false;
      }
    });
    buttons.append(button);
  }
  card.append(buttons);
  return card;
}

/** "Name (@username)", or just the username when the name is empty or the same. */
function displayName(name, username) {
  return name && name !== username ? `${name} (@${username})` : username;
}

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// ---------------------------------------------------------------------------
// Inbox

const inbox = { query: '', prev: null, next: null };

function showUnread(count) {
  const badge = $('unread-badge');
  badge.textContent = String(count);
  badge.hidden = !count;
}

async function loadUnread() {
  const page = await api('/api/inbox?page_size=1');
  showUnread(page.unread_count);
}

async function loadInbox(query = inbox.query) {
  const page = await api(`/api/inbox${query}`);
  inbox.query = query;
  inbox.prev = queryOf(page.previous);
  inbox.next = queryOf(page.next);
  $('inbox-summary').textContent =
    `${page.count} message${page.count === 1 ? '' : 's'}, ${page.unread_count} unread`;
  showUnread(page.unread_count);
  $('inbox-list').replaceChildren(...page.results.map(messageItem));
  $('inbox-prev').disabled = inbox.prev === null;
  $('inbox-next').disabled = inbox.next === null;
}

function senderOf(message) {
  return message.sender ? message.sender.name || message.sender.username : message.name || 'someone';
}

function messageItem(message) {
  const button = el('button', message.is_read ? 'message-link' : 'message-link unread',
    el('span', 'subject', message.subject),
    el('span', 'from', ` — ${senderOf(message)}`),
    el('span', 'date', ` · ${new Date(message.created).toLocaleString()}`));
  button.type = 'button';
  button.dataset.id = message.id;
  button.addEventListener('click', () => openMessage(message.id).catch(showError));
  return el('li', null, button);
}

async function openMessage(id) {
  notify('');
  const message = await api(`/api/inbox/${encodeURIComponent(id)}`); // reading marks it read
  $('message-subject').textContent = message.subject;
  $('message-meta').textContent = `From ${senderOf(message)}${message.email ? ` <${message.email}>` : ''}`
    + ` · ${new Date(message.created).toLocaleString()}`;
  $('message-body').textContent = message.body;
  $('message').dataset.id = message.id;
  $('message').hidden = false;
  await loadInbox();
}

// ---------------------------------------------------------------------------
// Views and wiring

function selectTab(name) {
  $('tab-projects').setAttribute('aria-pressed', String(name === 'projects'));
  $('tab-inbox').setAttribute('aria-pressed', String(name === 'inbox'));
  $('projects-view').hidden = name !== 'projects';
  $('inbox-view').hidden = name !== 'inbox';
}

/** The projects page and the unread count, fetched side by side. */
async function showProjects() {
  selectTab('projects');
  await Promise.all([loadProjects(), loadUnread()]);
}

async function showInbox() {
  selectTab('inbox');
  $('message').hidden = true;
  await loadInbox();
}

function startApp() {
  notify('');
  const user = session.user;
  $('whoami').textContent = displayName(user.name, user.username);
  $('session').hidden = false;
  $('auth-view').hidden = true;
  $('app-view').hidden = false;
  for (const form of document.querySelectorAll('#auth-view form')) form.reset();
  projects.query = projectQuery(Object.fromEntries(new FormData($('search-form'))));
  inbox.query = '';
  showProjects().catch(showError);
}

/** The API base URL from text: http(s) only, no trailing slash; null if unusable. */
function parseBase(text) {
  try {
    const url = new URL(text.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.origin + url.pathname.replace(/\/+$/, '');
  } catch {
    return null;
  }
}

function init() {
  apiBase = parseBase(new URLSearchParams(location.search).get('api') ?? '') ?? DEFAULT_API;
  $('api-base').value = apiBase;

  onSubmit($('api-form'), async ({ api: text }) => {
    const base = parseBase(text ?? '');
    if (!base) throw new ApiError(400, { api: ['Enter an http:// or https:// URL.'] });
    if (base === apiBase) return;
    if (session.refresh) await logout(); // the tokens belong to the old API
    apiBase = base;
    $('api-base').value = base;
    const url = new URL(location.href);
    url.searchParams.set('api', base);
    history.replaceState(null, '', url);
    notify(`Using the API at ${base}.`, 'info');
  });

  onSubmit($('login-form'), ({ username, password }) => login(username, password));

  onSubmit($('register-form'), async ({ username, email, name, password }) => {
    const body = { username, email, password };
    if (name.trim()) body.name = name.trim();
    await api('/api/users/register', { method: 'POST', body, auth: false });
    await login(username, password);
  });

  onSubmit($('search-form'), (fields) => loadProjects(projectQuery(fields)));

  const clicks = {
    logout: () => logout(),
    'tab-projects': showProjects,
    'tab-inbox': showInbox,
    'projects-prev': () => loadProjects(projects.prev),
    'projects-next': () => loadProjects(projects.next),
    'inbox-prev': () => loadInbox(inbox.prev),
    'inbox-next': () => loadInbox(inbox.next),
  };
  for (const [id, action] of Object.entries(clicks)) {
    $(id).addEventListener('click', () => {
      notify('');
      action().catch(showError);
    });
  }
}

init();
