// SPDX-License-Identifier: MIT
// A list the broker filters, sorts and pages (RabbitMQ's page, page_size,
// name, use_regex, sort, sort_reverse): the browser gets one page, so a
// list of 10,000 costs what a list of 100 does.

import * as api from './api.js';
import { h, clear, num, table, select } from './dom.js';

// Survives refreshes and page changes, per list.
const states = new Map();

// opts: {id, what ('queues'), path() -> API path, columns (the API's
// columns parameter), cols (table columns with sort keys), sort (default
// key)}. Returns {toolbar, body, pager, count, refresh}.
export function pagedList(opts) {
  if (!states.has(opts.id)) states.set(opts.id, { page: 1, pageSize: 100, name: '', regex: false, sort: opts.sort || 'name', reverse: false });
  const state = states.get(opts.id);
  const body = h('div');
  const count = h('span.count');
  const pager = h('div.pager');
  const filter = h('input', { type: 'search', placeholder: 'Filter by name', value: state.name, 'aria-label': `Filter ${opts.what} by name`, class: 'filter' });
  const regex = h('input', { type: 'checkbox', checked: state.regex, 'aria-label': 'Regular expression' });
  const size = select('page_size', ['25', '100', '250', '500'], String(state.pageSize));
  const toolbar = h('div.toolbar', filter, h('label.check', regex, 'Regex'), h('div.spacer'), h('label.inline-label', 'Page size ', size));
  let typing;
  const again = () => {
    state.page = 1;
    refresh();
  };
  filter.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.name = filter.value;
      again();
    }, 250);
  });
  regex.addEventListener('change', () => {
    state.regex = regex.checked;
    again();
  });
  size.addEventListener('change', () => {
    state.pageSize = Number(size.value);
    again();
  });
  const onSort = (key) => {
    if (state.sort === key) state.reverse = !state.reverse;
    else {
      state.sort = key;
      state.reverse = key !== 'name' && key !== 'vhost' && key !== 'user';
    }
    refresh();
  };

  async function refresh() {
    const q = new URLSearchParams({
      page: String(state.page),
      page_size: String(state.pageSize),
      name: state.name,
      use_regex: String(state.regex),
      sort: state.sort,
      sort_reverse: String(state.reverse),
    });
    if (opts.columns) q.set('columns', opts.columns);
    let r;
    try {
      r = await api.get(opts.path() + '?' + q);
    } catch (e) {
      if (e.status === 400 && state.page > 1) { // the list shrank
        state.page = 1;
        return refresh();
      }
      if (e.status === 400) { // a regular expression being typed
        clear(body, h('div.notice.error', e.message));
        return undefined;
      }
      throw e;
    }
    count.textContent = r.filtered_count === r.total_count ? num(r.total_count) : `${num(r.filtered_count)} of ${num(r.total_count)}`;
    clear(body, table(opts.cols, r.items, {
      sort: state.sort,
      reverse: state.reverse,
      onSort,
      empty: state.name ? `No ${opts.what} match the filter.` : `No ${opts.what}.`,
    }));
    const go = (p) => {
      state.page = p;
      refresh();
    };
    clear(pager,
      h('button.small.ghost', { type: 'button', disabled: state.page <= 1, onclick: () => go(state.page - 1) }, '‹ Previous'),
      h('span.dim', `Page ${num(r.page)} of ${num(Math.max(r.page_count, 1))}`),
      h('button.small.ghost', { type: 'button', disabled: state.page >= r.page_count, onclick: () => go(state.page + 1) }, 'Next ›'));
    return undefined;
  }
  return { toolbar, body, pager, count, refresh };
}
