// SPDX-License-Identifier: MIT
// Queues: the list (paged, filtered and sorted by the broker, so that
// 10,000 queues cost one page), the add form, and one queue's detail:
// counts, charts, consumers, bindings, publish, get, peek, move, purge,
// delete.

import * as api from '../api.js';
import { h, clear, num, rate, bytes, detailRate, section, table, kv, link, features, stateBadge, form, field, input, select, val, argsEditor, act, confirmBox, toast, json } from '../dom.js';
import { href, listPath } from '../app.js';
import { Chart } from '../chart.js';
import { pagedList } from '../paged.js';
import { bindingsTable, bindForm } from './bindings.js';
import { publishForm, getForm } from './messages.js';

const COLUMNS = 'name,vhost,type,state,durable,auto_delete,exclusive,arguments,policy,consumers,messages_ready,messages_unacknowledged,messages,message_stats.publish_details,message_stats.deliver_get_details,message_stats.ack_details';

// RabbitMQ's quick-add argument links.
const ARGS = [
  ['x-message-ttl', 'number', 'Message TTL'],
  ['x-expires', 'number', 'Auto expire'],
  ['x-max-length', 'number', 'Max length'],
  ['x-max-length-bytes', 'number', 'Max length bytes'],
  ['x-overflow', 'string', 'Overflow behaviour'],
  ['x-dead-letter-exchange', 'string', 'Dead letter exchange'],
  ['x-dead-letter-routing-key', 'string', 'Dead letter routing key'],
  ['x-max-priority', 'number', 'Maximum priority'],
  ['x-single-active-consumer', 'boolean', 'Single active consumer'],
  ['x-delivery-limit', 'number', 'Delivery limit'],
];

export async function render(view, params, ctx) {
  return params.length >= 2 ? detail(view, params[0], params[1], ctx) : list(view, ctx);
}

async function list(view, ctx) {
  const pl = pagedList({
    id: 'queues',
    what: 'queues',
    path: () => listPath('queues'),
    columns: COLUMNS,
    cols: [
      { title: 'Virtual host', get: (x) => x.vhost, sort: 'vhost' },
      { title: 'Name', get: (x) => link(href('queues', x.vhost, x.name), x.name), sort: 'name' },
      { title: 'Type', get: (x) => x.type || 'classic', cls: 'nowrap' },
      { title: 'Features', get: features },
      { title: 'State', get: (x) => stateBadge(x.state), sort: 'state' },
      { title: 'Consumers', get: (x) => num(x.consumers), cls: 'num', sort: 'consumers' },
      { title: 'Ready', get: (x) => num(x.messages_ready), cls: 'num', sort: 'messages_ready' },
      { title: 'Unacked', get: (x) => num(x.messages_unacknowledged), cls: 'num', sort: 'messages_unacknowledged' },
      { title: 'Total', get: (x) => num(x.messages), cls: 'num', sort: 'messages' },
      { title: 'Incoming', get: (x) => rate(detailRate(x.message_stats, 'publish')), cls: 'num', sort: 'message_stats.publish_details.rate' },
      { title: 'Deliver / get', get: (x) => rate(detailRate(x.message_stats, 'deliver_get')), cls: 'num', sort: 'message_stats.deliver_get_details.rate' },
      { title: 'Ack', get: (x) => rate(detailRate(x.message_stats, 'ack')), cls: 'num', sort: 'message_stats.ack_details.rate' },
    ],
  });
  const refresh = pl.refresh;
  const args = argsEditor();
  const add = form('stack add-queue', [
    h('div.row',
      field('Virtual host', select('vhost', ctx.vhosts, ctx.vhost || ctx.vhosts[0])),
      field('Type', select('qtype', [['classic', 'Classic'], ['stream', 'Stream']], 'classic')),
      field('Name', input('name', { required: true, autocomplete: 'off' })),
      field('Durability', select('durable', [['true', 'Durable'], ['false', 'Transient']], 'true')),
      h('label.check', input('auto_delete', { type: 'checkbox' }), 'Auto delete')),
    field('Arguments', args.el),
    h('p.quick-args', 'Add ', ARGS.map(([k, t, label]) => h('button.linkish', { type: 'button', title: k, onclick: () => args.set(k, t) }, label))),
    h('div.row', h('button.primary', { type: 'submit' }, 'Add queue')),
  ], async (f) => {
    const name = val(f, 'name').trim();
    const stream = val(f, 'qtype') === 'stream';
    const ok = await act(async () => {
      // a stream is x-queue-type stream, durable, not auto-delete (as
      // RabbitMQ's form sends it)
      await api.put(`queues/${api.seg(val(f, 'vhost'))}/${api.seg(name)}`, {
        durable: stream || val(f, 'durable') === 'true',
        auto_delete: !stream && f.elements.auto_delete.checked,
        arguments: stream ? { ...args.value(), 'x-queue-type': 'stream' } : args.value(),
      });
      return true;
    });
    if (ok) {
      toast(`Queue ${name} added`);
      f.elements.name.value = '';
      args.reset();
      await refresh();
    }
  });
  view.append(
    h('h1.page-title', 'Queues', pl.count),
    section('All queues', pl.toolbar, pl.body, pl.pager),
    section('Add a new queue', add));
  await refresh();
  return { refresh };
}

async function detail(view, vhost, name) {
  const base = `queues/${api.seg(vhost)}/${api.seg(name)}`;
  const info = h('div');
  const argsBox = h('div');
  const queued = new Chart(`q:${vhost}:${name}:len`, [{ key: 'ready', label: 'Ready' }, { key: 'unacked', label: 'Unacked' }], 'count');
  const rates = new Chart(`q:${vhost}:${name}:rates`, [
    { key: 'publish', label: 'Publish' },
    { key: 'deliver_get', label: 'Deliver / get' },
    { key: 'ack', label: 'Ack' },
    { key: 'redeliver', label: 'Redeliver' },
  ]);
  const consumers = h('div');
  const bindings = h('div');
  const log = h('div');
  const q0 = await api.get(base);

  const dests = h('datalist#move-dests');
  const move = form('stack move', [
    h('div.row',
      field('Destination queue', input('destination', { required: true, list: 'move-dests', autocomplete: 'off', placeholder: 'queue in ' + vhost })),
      field('Messages', input('count', { type: 'number', min: '1', placeholder: 'all', size: '8' })),
      h('div.spacer'),
      h('button.primary', { type: 'submit' }, 'Move messages')),
    dests,
    h('p.hint', 'Moves ready messages from the head of this queue to the tail of the destination, unchanged: for example a dead-letter queue back to the queue its messages came from. RabbitMQ needs the shovel plugin for this.'),
  ], async (f) => {
    const body = { destination: val(f, 'destination') };
    if (val(f, 'count')) body.count = Number(val(f, 'count'));
    const r = await act(() => api.post(base + '/move', body));
    if (r) {
      toast(`Moved ${num(r.moved)} message${r.moved === 1 ? '' : 's'} to ${body.destination}`);
      await refresh();
    }
  });
  move.elements.destination.addEventListener('focus', async () => {
    if (dests.childElementCount) return;
    const r = await api.get(`queues/${api.seg(vhost)}?page=1&page_size=500&columns=name&sort=name`);
    clear(dests, r.items.filter((x) => x.name !== name).map((x) => h('option', { value: x.name })));
  }, { once: true });

  const purge = h('button.danger', { type: 'button' }, 'Purge messages');
  purge.addEventListener('click', async () => {
    if (!(await confirmBox(`Purge every ready message of ${name}?`, 'Purge'))) return;
    if (await act(async () => { await api.del(base + '/contents'); return true; })) {
      toast(`Queue ${name} purged`);
      await refresh();
    }
  });
  const del = h('button.danger', { type: 'button' }, 'Delete queue');
  del.addEventListener('click', async () => {
    if (!(await confirmBox(`Delete queue ${name} and its messages?`))) return;
    if (await act(async () => { await api.del(base); return true; })) {
      toast(`Queue ${name} deleted`);
      location.hash = href('queues');
    }
  });

  // A stream is a log: nothing is taken from it (basic.get, purge and a
  // move are refused), consumers read from their own offsets.
  const stream = q0.type === 'stream';
  view.append(...[
    h('p.crumbs', link(href('queues'), 'Queues'), ' / ', vhost, ' / '),
    h('h1.page-title', name, stateBadge(q0.state)),
    h('div.grid2', section('Overview', info), section('Arguments and policy', argsBox)),
    stream ? h('div.grid2', section('Stream', log), section('Message rates', rates.el))
      : h('div.grid2', section('Queued messages', queued.el), section('Message rates', rates.el)),
    section('Consumers', consumers),
    section('Bindings', bindings, h('h3', 'Add a binding to this queue'), bindForm(vhost, { destination: name }, () => refresh())),
    section('Publish message', publishForm(vhost, '', name)),
    stream ? null : section('Get messages', getForm(vhost, name)),
    stream ? null : section('Move messages', move),
    section(stream ? 'Delete' : 'Delete / purge', stream ? h('div.row', del) : h('div.row', del, purge)),
  ].filter(Boolean));

  async function refresh() {
    const [q, b] = await Promise.all([api.get(base), api.get(base + '/bindings')]);
    const ms = q.message_stats || {};
    const isStream = q.type === 'stream';
    const offset = (o) => (o === null || o === undefined ? h('span.dim', 'none') : num(o));
    clear(info, kv([
      ['Virtual host', q.vhost],
      ['Type', q.type || 'classic'],
      ['State', stateBadge(q.state)],
      ['Features', features(q)],
      ['Consumers', num(q.consumers)],
      ...(isStream ? [['Messages', num(q.messages)]] : [
        ['Ready', num(q.messages_ready)],
        ['Unacked', num(q.messages_unacknowledged)],
        ['Total', num(q.messages)],
        ['Ready bytes', bytes(q.message_bytes_ready)],
      ]),
      ['Memory', bytes(q.memory)],
      ['Published', num(ms.publish)],
      ['Delivered / got', num(ms.deliver_get)],
      ['Acked', num(ms.ack)],
      ['Redelivered', num(ms.redeliver)],
    ]));
    if (isStream) {
      clear(log, kv([
        ['First offset', offset(q.first_offset)],
        ['Last offset', offset(q.last_offset)],
        ['Committed offset', offset(q.committed_offset)],
        ['Size on disk', bytes(q.disk_bytes)],
        ['Segments', num(q.segments)],
        ['Members', (q.members || []).join(', ')],
      ]));
    }
    const eff = q.effective_policy_definition || {};
    clear(argsBox, kv([
      ['Arguments', Object.keys(q.arguments || {}).length ? h('pre.small', json(q.arguments)) : h('span.dim', 'none')],
      ['Policy', q.policy ? link(href('admin', 'policies'), q.policy) : h('span.dim', 'none')],
      ['Operator policy', q.operator_policy || h('span.dim', 'none')],
      ['Effective policy definition', Object.keys(eff).length ? h('pre.small', json(eff)) : h('span.dim', 'none')],
      ['Exclusive consumer', q.exclusive_consumer_tag || h('span.dim', 'none')],
    ]));
    queued.push({ ready: q.messages_ready || 0, unacked: q.messages_unacknowledged || 0 });
    rates.push({
      publish: detailRate(ms, 'publish') || 0,
      deliver_get: detailRate(ms, 'deliver_get') || 0,
      ack: detailRate(ms, 'ack') || 0,
      redeliver: detailRate(ms, 'redeliver') || 0,
    });
    clear(consumers, table([
      { title: 'Channel', get: (c) => link(href('channels', c.channel_details.name), c.channel_details.name) },
      { title: 'Consumer tag', get: (c) => c.consumer_tag },
      { title: 'Ack required', get: (c) => (c.ack_required ? 'yes' : 'no') },
      { title: 'Exclusive', get: (c) => (c.exclusive ? 'yes' : 'no') },
      { title: 'Prefetch', get: (c) => num(c.prefetch_count), cls: 'num' },
      ...(isStream ? [
        { title: 'Offset', get: (c) => offset(c.offset), cls: 'num' },
        { title: 'Lag', get: (c) => num(c.offset_lag), cls: 'num' },
      ] : []),
      { title: 'Active', get: (c) => stateBadge(c.activity_status) },
      { title: 'Arguments', get: (c) => (Object.keys(c.arguments || {}).length ? h('code', json(c.arguments)) : h('span.dim', '–')) },
    ], q.consumer_details || [], { empty: 'No consumers.' }));
    clear(bindings, bindingsTable(b, 'destination', refresh));
  }
  await refresh();
  return { refresh };
}
