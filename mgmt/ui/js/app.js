// SPDX-License-Identifier: MIT
// The web UI's shell: login, tabs, the hash router (#/queues/%2F/jobs)
// and the refresh timer. Each page is a module under pages/.

import * as api from './api.js';
import { h, clear, toast } from './dom.js';
import * as overview from './pages/overview.js';
import * as connections from './pages/connections.js';
import * as channels from './pages/channels.js';
import * as exchanges from './pages/exchanges.js';
import * as queues from './pages/queues.js';
import * as admin from './pages/admin.js';

// How often the page re-reads the API (the footer's choice, per session).
let refreshMs = Number(sessionStorage.getItem('warren.refresh') || '5000');
const pages = { overview, connections, channels, exchanges, queues, admin };

const $ = (id) => document.getElementById(id);

// What every page may read: the user, the vhost picked at the top, the
// list of vhosts.
export const ctx = {
  whoami: null,
  vhost: sessionStorage.getItem('warren.vhost') || '',
  vhosts: [],
  isAdmin: false,
  canPolicy: false,
  isMonitor: false,
};

let current = null; // {page, stop, refresh}
let timer = null;
let renderSeq = 0;

function showLogin(message) {
  stopTimer();
  current = null;
  $('app').hidden = true;
  $('login').hidden = false;
  const err = $('login-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('password').value = '';
  $(ctx.whoami ? 'password' : 'username').focus();
}

async function startSession() {
  const who = await api.get('whoami');
  ctx.whoami = who;
  const tags = Array.isArray(who.tags) ? who.tags : String(who.tags || '').split(',');
  ctx.isAdmin = tags.includes('administrator');
  ctx.isMonitor = ctx.isAdmin || tags.includes('monitoring');
  ctx.canPolicy = ctx.isAdmin || tags.includes('policymaker');
  $('who').textContent = who.name;
  $('who').title = 'tags: ' + (tags.filter(Boolean).join(', ') || 'none');
  $('login').hidden = true;
  $('app').hidden = false;
  document.querySelector('[data-tab=admin]').hidden = !(ctx.isAdmin || ctx.canPolicy);
  await loadVhosts();
  api.get('overview').then((o) => {
    $('version').textContent = `${o.product_name || 'warren'} ${o.product_version || ''} · ${o.node || ''}`;
  }).catch(() => {});
  route();
}

export async function loadVhosts() {
  ctx.vhosts = (await api.get('vhosts?columns=name')).map((v) => v.name);
  const sel = $('vhost-filter');
  clear(sel, h('option', { value: '' }, 'All'), ctx.vhosts.map((v) => h('option', { value: v }, v)));
  if (ctx.vhost && !ctx.vhosts.includes(ctx.vhost)) ctx.vhost = '';
  sel.value = ctx.vhost;
}

// The list path for a kind, narrowed to the picked vhost.
export function listPath(kind) {
  return ctx.vhost ? `${kind}/${api.seg(ctx.vhost)}` : kind;
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const parts = raw ? raw.split('/').map((p) => decodeURIComponent(p)) : [];
  const name = parts[0] || 'overview';
  return { name: pages[name] ? name : 'overview', params: parts.slice(1) };
}

export function href(...parts) {
  return '#/' + parts.map((p) => encodeURIComponent(p)).join('/');
}

async function route() {
  if (!ctx.whoami) return;
  const { name, params } = parseHash();
  const seq = ++renderSeq;
  stopTimer();
  if (current && current.stop) current.stop();
  current = null;
  for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('active', a.dataset.tab === name);
  const view = h('div.view');
  clear($('main'), view);
  try {
    const page = (await pages[name].render(view, params, ctx)) || {};
    if (seq !== renderSeq) return;
    current = page;
    markRefreshed();
    startTimer();
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e.status === 401 && e.body && e.body.error === 'not_authorized') return;
    clear(view, h('div.notice.error', e.status === 404 ? 'Not found: ' + e.message : e.message));
  }
}

function markRefreshed() {
  $('refreshed').textContent = 'Updated ' + new Date().toLocaleTimeString();
}

function startTimer() {
  stopTimer();
  if (!refreshMs) return;
  timer = setInterval(async () => {
    if (document.hidden || !current || !current.refresh) return;
    try {
      await current.refresh();
      markRefreshed();
    } catch (e) {
      if (e.status !== 401) $('refreshed').textContent = 'Refresh failed: ' + e.message;
    }
  }, refreshMs);
}

function stopTimer() {
  if (timer) clearInterval(timer);
  timer = null;
}

export function rerender() {
  route();
}

function init() {
  api.setLoggedOutHandler(() => {
    api.clearLogin();
    ctx.whoami = null;
    showLogin('Your session has ended: log in again.');
  });
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const user = $('username').value.trim();
    const pass = $('password').value;
    const btn = e.target.querySelector('button');
    btn.disabled = true;
    api.setLogin(user, pass);
    try {
      await startSession();
    } catch (err) {
      api.clearLogin();
      ctx.whoami = null;
      // RabbitMQ's texts: a bad password, or a user without a management tag.
      const text = err.status === 401
        ? (err.body && err.body.reason === 'Not management user'
          ? 'This user may not use the management UI (it has no management tag).'
          : err.body && err.body.reason === 'User can only log in via localhost'
            ? 'This user can only log in from localhost.'
            : 'Login failed: wrong username or password.')
        : 'Cannot reach the broker: ' + err.message;
      showLogin(text);
    } finally {
      btn.disabled = false;
    }
  });
  $('logout').addEventListener('click', () => {
    api.clearLogin();
    ctx.whoami = null;
    sessionStorage.removeItem('warren.vhost');
    location.hash = '#/';
    showLogin();
  });
  $('vhost-filter').addEventListener('change', (e) => {
    ctx.vhost = e.target.value;
    sessionStorage.setItem('warren.vhost', ctx.vhost);
    route();
  });
  const every = $('refresh-every');
  every.value = String(refreshMs);
  every.addEventListener('change', () => {
    refreshMs = Number(every.value);
    sessionStorage.setItem('warren.refresh', String(refreshMs));
    if (current) startTimer();
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('unhandledrejection', (e) => {
    if (e.reason && e.reason.status === 401) return;
    toast(String((e.reason && e.reason.message) || e.reason), 'error');
  });
  if (api.login()) {
    startSession().catch(() => {
      api.clearLogin();
      showLogin();
    });
  } else {
    showLogin();
  }
}

init();
