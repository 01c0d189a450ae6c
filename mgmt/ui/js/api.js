// SPDX-License-Identifier: MIT
// The management API client: every call the UI makes goes through here,
// to the same public /api/ paths rabbitmqadmin and scripts use. The
// login is kept in sessionStorage: gone when the browser session ends.

const KEY = 'warren.auth';

export class ApiError extends Error {
  constructor(status, body) {
    const reason = body && (body.reason || body.error);
    super(reason ? String(reason) : 'HTTP ' + status);
    this.status = status;
    this.body = body;
  }
}

function b64(s) {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function setLogin(user, password) {
  sessionStorage.setItem(KEY, JSON.stringify({ user, token: b64(user + ':' + password) }));
}

export function clearLogin() {
  sessionStorage.removeItem(KEY);
}

export function login() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

// Called with the ApiError when the stored login stops working (401
// not_authorized): the app shows the login form again.
let onLoggedOut = () => {};
export function setLoggedOutHandler(fn) {
  onLoggedOut = fn;
}

// method, path under /api/ (already encoded), optional JSON body.
// Resolves to the parsed JSON (null for an empty reply); rejects with
// ApiError.
export async function request(method, path, body, headers = {}) {
  const l = login();
  // X-Requested-With: no WWW-Authenticate on a 401, so the browser shows
  // no login dialog of its own.
  const h = { 'X-Requested-With': 'XMLHttpRequest', ...headers };
  if (l) h.Authorization = 'Basic ' + l.token;
  let data;
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    data = JSON.stringify(body);
  }
  const r = await fetch('api/' + path, { method, headers: h, body: data, credentials: 'omit', cache: 'no-store' });
  const text = await r.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = { reason: text };
    }
  }
  if (!r.ok) {
    const err = new ApiError(r.status, json);
    if (r.status === 401 && json && json.error === 'not_authorized') onLoggedOut(err);
    throw err;
  }
  return json;
}

export const get = (path) => request('GET', path);
export const put = (path, body) => request('PUT', path, body === undefined ? {} : body);
export const post = (path, body) => request('POST', path, body === undefined ? {} : body);
export const del = (path, headers) => request('DELETE', path, undefined, headers);

// One path segment (vhost, queue, exchange, user names).
export const seg = (s) => encodeURIComponent(s);
