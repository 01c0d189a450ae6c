// SPDX-License-Identifier: MIT
// Exchanges: the list with the add form, one exchange's detail with its
// bindings both ways, publish, delete.

import * as api from '../api.js';
import { h, clear, num, rate, detailRate, section, table, kv, link, features, form, field, input, select, val, checked, argsEditor, act, confirmBox, toast, json } from '../dom.js';
import { href, listPath } from '../app.js';
import { Chart } from '../chart.js';
import { pagedList } from '../paged.js';
import { bindingsTable, bindForm } from './bindings.js';
import { publishForm } from './messages.js';

const exName = (n) => (n === '' ? '(AMQP default)' : n);
// The types the broker has (the overview's exchange_types), or AMQP's four.
async function exchangeTypes() {
  try {
    const types = (await api.get('overview')).exchange_types || [];
    if (types.length) return types.map((t) => t.name);
  } catch {
    // the four below
  }
  return ['direct', 'fanout', 'topic', 'headers'];
}

export async function render(view, params, ctx) {
  return params.length >= 2 ? detail(view, params[0], params[1], ctx) : list(view, ctx);
}

async function list(view, ctx) {
  const pl = pagedList({
    id: 'exchanges',
    what: 'exchanges',
    path: () => listPath('exchanges'),
    columns: 'name,vhost,type,durable,auto_delete,internal,arguments,policy,message_stats.publish_in_details,message_stats.publish_out_details',
    cols: [
      { title: 'Virtual host', get: (x) => x.vhost, sort: 'vhost' },
      { title: 'Name', get: (x) => link(href('exchanges', x.vhost, x.name || 'amq.default'), exName(x.name)), sort: 'name' },
      { title: 'Type', get: (x) => x.type, sort: 'type' },
      { title: 'Features', get: features },
      { title: 'Message rate in', get: (x) => rate(detailRate(x.message_stats, 'publish_in')), cls: 'num', sort: 'message_stats.publish_in_details.rate' },
      { title: 'Message rate out', get: (x) => rate(detailRate(x.message_stats, 'publish_out')), cls: 'num', sort: 'message_stats.publish_out_details.rate' },
    ],
  });
  const refresh = pl.refresh;
  const args = argsEditor();
  const add = form('stack add-exchange', [
    h('div.row',
      field('Virtual host', select('vhost', ctx.vhosts, ctx.vhost || ctx.vhosts[0])),
      field('Name', input('name', { required: true, autocomplete: 'off' })),
      field('Type', select('type', await exchangeTypes(), 'direct'))),
    h('div.row',
      field('Durability', select('durable', [['true', 'Durable'], ['false', 'Transient']], 'true')),
      h('label.check', input('auto_delete', { type: 'checkbox' }), 'Auto delete'),
      h('label.check', input('internal', { type: 'checkbox' }), 'Internal')),
    field('Arguments', args.el, 'e.g. alternate-exchange'),
    h('div.row', h('button.primary', { type: 'submit' }, 'Add exchange')),
  ], async (f) => {
    const name = val(f, 'name').trim();
    const ok = await act(async () => {
      await api.put(`exchanges/${api.seg(val(f, 'vhost'))}/${api.seg(name)}`, {
        type: val(f, 'type'),
        durable: val(f, 'durable') === 'true',
        auto_delete: checked(f, 'auto_delete'),
        internal: checked(f, 'internal'),
        arguments: args.value(),
      });
      return true;
    });
    if (ok) {
      toast(`Exchange ${name} added`);
      f.elements.name.value = '';
      args.reset();
      await refresh();
    }
  });
  view.append(h('h1.page-title', 'Exchanges', pl.count), section('All exchanges', pl.toolbar, pl.body, pl.pager), section('Add a new exchange', add));
  await refresh();
  return { refresh };
}

async function detail(view, vhost, name) {
  const path = `exchanges/${api.seg(vhost)}/${api.seg(name)}`;
  const info = h('div');
  const chart = new Chart(`x:${vhost}:${name}`, [{ key: 'in', label: 'Publish in' }, { key: 'out', label: 'Publish out' }]);
  const outB = h('div');
  const inB = h('div');
  const x0 = await api.get(path);
  const isDefault = x0.name === '';
  const del = h('button.danger', { type: 'button' }, 'Delete this exchange');
  del.addEventListener('click', async () => {
    if (!(await confirmBox(`Delete exchange ${name}?`))) return;
    const ok = await act(async () => {
      await api.del(path);
      return true;
    });
    if (ok) {
      toast(`Exchange ${name} deleted`);
      location.hash = href('exchanges');
    }
  });
  view.append(
    h('p.crumbs', link(href('exchanges'), 'Exchanges'), ' / ', vhost, ' / '),
    h('h1.page-title', exName(x0.name), h('span.badge.dim', x0.type)),
    h('div.grid2', section('Overview', info), section('Message rates', chart.el)),
    section('Bindings from this exchange', outB, isDefault ? null : h('h3', 'Add a binding from this exchange'),
      isDefault ? h('p.dim', 'The default exchange binds every queue by its name; those bindings cannot be changed.') : bindForm(vhost, { source: name }, () => refresh())),
    section('Bindings to this exchange', inB),
    section('Publish message', publishForm(vhost, x0.name)),
    x0.name.startsWith('amq.') || isDefault ? null : section('Delete', del));
  async function refresh() {
    const [x, out, inn] = await Promise.all([
      api.get(path),
      api.get(path + '/bindings/source'),
      isDefault ? Promise.resolve([]) : api.get(path + '/bindings/destination'),
    ]);
    clear(info, kv([
      ['Virtual host', x.vhost],
      ['Type', x.type],
      ['Features', features(x)],
      ['Arguments', Object.keys(x.arguments || {}).length ? h('code', json(x.arguments)) : '–'],
      ['Policy', x.policy || '–'],
      ['Published in', num(x.message_stats && x.message_stats.publish_in)],
      ['Published out', num(x.message_stats && x.message_stats.publish_out)],
    ]));
    chart.push({ in: detailRate(x.message_stats, 'publish_in') || 0, out: detailRate(x.message_stats, 'publish_out') || 0 });
    clear(outB, bindingsTable(out, 'source', refresh));
    clear(inB, bindingsTable(inn, 'destination', refresh));
  }
  await refresh();
  return { refresh };
}
