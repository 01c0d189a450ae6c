// SPDX-License-Identifier: MIT
// DOM building and formatting helpers shared by the pages. Everything is
// built with createElement and textContent: no HTML strings, so names
// from the broker can never become markup.

// h('div.card#id', {attrs}, children...): an element. A child may be a
// string, a number, a node, null/false (skipped) or an array of those.
export function h(spec, attrs, ...children) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const el = document.createElement((m && m[1]) || 'div');
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// ---- formatting -----------------------------------------------------------

const nf = new Intl.NumberFormat('en-US');
export const num = (n) => (n === undefined || n === null ? '–' : nf.format(n));

export function rate(r) {
  if (r === undefined || r === null) return '–';
  if (r === 0) return '0/s';
  if (r < 10) return r.toFixed(1) + '/s';
  return nf.format(Math.round(r)) + '/s';
}

// A byte rate: 1.2 KiB/s.
export function byteRate(r) {
  if (r === undefined || r === null) return '–';
  return bytes(Math.round(r)) + '/s';
}

export function bytes(n) {
  if (n === undefined || n === null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

export function duration(ms) {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hh = Math.floor(s / 3600);
  s -= hh * 3600;
  const mm = Math.floor(s / 60);
  s -= mm * 60;
  if (d) return d + 'd ' + hh + 'h';
  if (hh) return hh + 'h ' + mm + 'm';
  if (mm) return mm + 'm ' + s + 's';
  return s + 's';
}

export const detailRate = (o, key) => (o && o[key + '_details'] ? o[key + '_details'].rate : undefined);

export function json(v) {
  return JSON.stringify(v, null, 2);
}

// ---- widgets --------------------------------------------------------------

export function toast(text, kind = 'ok') {
  const t = h('div.toast.' + kind, { role: kind === 'error' ? 'alert' : 'status' }, text);
  document.getElementById('toasts').append(t);
  setTimeout(() => t.classList.add('gone'), kind === 'error' ? 6000 : 3000);
  setTimeout(() => t.remove(), kind === 'error' ? 6500 : 3500);
}

// Runs fn (async); shows its error as a toast, ok text when it succeeds.
export async function act(fn, ok) {
  try {
    const r = await fn();
    if (ok) toast(typeof ok === 'function' ? ok(r) : ok);
    return r;
  } catch (e) {
    toast(e.message || String(e), 'error');
    return undefined;
  }
}

// A modal confirmation; resolves true or false.
export function confirmBox(text, action = 'Delete') {
  return new Promise((resolve) => {
    const done = (v) => {
      back.remove();
      resolve(v);
    };
    const ok = h('button.danger', { type: 'button', onclick: () => done(true) }, action);
    const back = h('div.modal-back', { onclick: (e) => e.target === back && done(false) },
      h('div.modal', { role: 'dialog', 'aria-modal': 'true' },
        h('p', text),
        h('div.row.end',
          h('button.ghost', { type: 'button', onclick: () => done(false) }, 'Cancel'),
          ok)));
    back.addEventListener('keydown', (e) => e.key === 'Escape' && done(false));
    document.body.append(back);
    ok.focus();
  });
}

// A titled section; collapsible like RabbitMQ's.
export function section(title, ...body) {
  const s = h('section.panel', h('h2', h('button.fold', { type: 'button', 'aria-expanded': 'true' }, title)), h('div.panel-body', body));
  const btn = s.querySelector('.fold');
  btn.addEventListener('click', () => {
    const open = btn.getAttribute('aria-expanded') === 'true';
    btn.setAttribute('aria-expanded', String(!open));
    s.classList.toggle('closed', open);
  });
  return s;
}

// A key/value table (for detail pages).
export function kv(rows) {
  return h('table.kv', h('tbody', rows.filter(Boolean).map(([k, v]) => h('tr', h('th', k), h('td', v)))));
}

// A data table. cols: [{title, get(row) -> node|string, cls, sort}],
// rows: array. Empty text when there are none.
export function table(cols, rows, opts = {}) {
  const head = h('tr', cols.map((c) => {
    const th = h('th', { class: c.cls }, c.title);
    if (c.sort && opts.onSort) {
      th.classList.add('sortable');
      if (opts.sort === c.sort) th.classList.add(opts.reverse ? 'desc' : 'asc');
      th.tabIndex = 0;
      th.addEventListener('click', () => opts.onSort(c.sort));
      th.addEventListener('keydown', (e) => e.key === 'Enter' && opts.onSort(c.sort));
    }
    return th;
  }));
  const body = rows.length
    ? rows.map((r) => h('tr', cols.map((c) => h('td', { class: c.cls }, c.get(r)))))
    : h('tr', h('td.empty', { colspan: String(cols.length) }, opts.empty || 'Nothing here yet.'));
  return h('div.table-wrap', h('table.data', h('thead', head), h('tbody', body)));
}

export const link = (href, text) => h('a', { href }, text);

export function badge(text, kind = '') {
  return h('span.badge' + (kind ? '.' + kind : ''), text);
}

export function stateBadge(state) {
  const kind = state === 'running' || state === 'up' ? 'good' : state === 'blocked' || state === 'blocking' ? 'warn' : 'dim';
  return badge(state || 'unknown', kind);
}

// Form helpers: a labelled field. field('Name', input)
export function field(label, input, hint) {
  return h('label.field', h('span.label', label), input, hint ? h('span.hint', hint) : null);
}

export function input(name, attrs = {}) {
  return h('input', { name, ...attrs });
}

export function select(name, options, value) {
  return h('select', { name }, options.map((o) => {
    const [v, t] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: v === value ? true : null }, t);
  }));
}

// A grid of key / value / type rows for AMQP arguments and headers.
// Returns {el, value()} where value() is the object entered.
export function argsEditor(kind = 'argument') {
  const rows = h('div.args');
  const addRow = (key = '', type = 'string') => {
    const r = h('div.args-row',
      h('input', { placeholder: 'key', 'aria-label': kind + ' key', class: 'k' }),
      h('input', { placeholder: 'value', 'aria-label': kind + ' value', class: 'v' }),
      select('argtype', [['string', 'String'], ['number', 'Number'], ['boolean', 'Boolean'], ['list', 'List (JSON)']], type));
    r.querySelector('.k').value = key;
    r.querySelector('.k').addEventListener('input', () => {
      if (r === rows.lastChild && r.querySelector('.k').value) addRow();
    });
    rows.append(r);
    return r;
  };
  addRow();
  return {
    el: rows,
    // Puts key (of type) in the first empty row, keeping one empty row.
    set(key, type) {
      const last = rows.lastChild;
      last.querySelector('.k').value = key;
      last.querySelector('select').value = type;
      addRow();
      last.querySelector('.v').focus();
    },
    reset() {
      rows.replaceChildren();
      addRow();
    },
    value() {
      const out = {};
      for (const r of rows.children) {
        const k = r.querySelector('.k').value.trim();
        if (!k) continue;
        const raw = r.querySelector('.v').value;
        const t = r.querySelector('select').value;
        if (t === 'number') {
          if (raw.trim() === '' || isNaN(Number(raw))) throw new Error(k + ': not a number');
          out[k] = Number(raw);
        } else if (t === 'boolean') out[k] = raw.trim() === 'true';
        else if (t === 'list') out[k] = JSON.parse(raw || '[]');
        else out[k] = raw;
      }
      return out;
    },
  };
}

// A form: submit calls fn(formData-ish object) with the button disabled
// meanwhile. Returns the form element.
export function form(cls, children, fn) {
  const f = h('form', { class: cls }, children);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const btn = f.querySelector('button[type=submit]');
    if (btn) btn.disabled = true;
    try {
      await fn(f);
    } finally {
      if (btn) btn.disabled = false;
    }
  });
  return f;
}

export const val = (f, name) => f.elements[name].value;
export const checked = (f, name) => f.elements[name].checked;

// The RabbitMQ feature letters for a queue or exchange.
export function features(o) {
  const out = [];
  if (o.durable) out.push(badge('D', 'feat', 'durable'));
  if (o.auto_delete) out.push(badge('AD', 'feat'));
  if (o.exclusive) out.push(badge('Excl', 'feat'));
  if (o.internal) out.push(badge('I', 'feat'));
  const args = o.arguments || {};
  for (const k of Object.keys(args)) out.push(badge(k.replace(/^x-/, ''), 'arg'));
  if (o.policy) out.push(badge('policy ' + o.policy, 'pol'));
  return out.length ? h('span.feats', out) : h('span.dim', '–');
}
