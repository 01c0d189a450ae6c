// SPDX-License-Identifier: MIT
// Connections: the list, one connection's detail (client properties,
// channels) and closing it with a reason.

import * as api from '../api.js';
import { h, clear, num, rate, bytes, byteRate, detailRate, duration, section, table, kv, link, stateBadge, badge, form, field, input, val, toast, confirmBox, act, json } from '../dom.js';
import { href } from '../app.js';
import { Chart } from '../chart.js';
import { pagedList } from '../paged.js';

export function client(c) {
  const p = c.client_properties || {};
  const name = [p.product, p.version].filter(Boolean).join(' ');
  return name ? h('span', name, p.platform ? h('span.dim', ' · ' + p.platform) : null) : h('span.dim', '–');
}

export async function render(view, params, ctx) {
  return params.length ? detail(view, params[0], ctx) : list(view, ctx);
}

async function list(view, ctx) {
  const pl = pagedList({
    id: 'connections',
    what: 'connections',
    path: () => (ctx.vhost ? `vhosts/${api.seg(ctx.vhost)}/connections` : 'connections'),
    cols: [
      { title: 'Name', get: (c) => link(href('connections', c.name), c.name), sort: 'name' },
      { title: 'Virtual host', get: (c) => c.vhost, sort: 'vhost' },
      { title: 'User', get: (c) => c.user, sort: 'user' },
      { title: 'Client', get: client, sort: 'client_properties.product' },
      { title: 'State', get: (c) => stateBadge(c.state), sort: 'state' },
      { title: 'TLS', get: (c) => (c.ssl ? badge('TLS', 'good') : h('span.dim', '–')), sort: 'ssl' },
      { title: 'Protocol', get: (c) => c.protocol, cls: 'nowrap' },
      { title: 'Channels', get: (c) => num(c.channels), cls: 'num', sort: 'channels' },
      { title: 'From client', get: (c) => byteRate(detailRate(c, 'recv_oct')), cls: 'num', sort: 'recv_oct_details.rate' },
      { title: 'To client', get: (c) => byteRate(detailRate(c, 'send_oct')), cls: 'num', sort: 'send_oct_details.rate' },
      { title: 'Connected', get: (c) => (c.connected_at ? duration(Date.now() - c.connected_at) + ' ago' : '–'), cls: 'num', sort: 'connected_at' },
    ],
  });
  view.append(h('h1.page-title', 'Connections', pl.count), section('All connections', pl.toolbar, pl.body, pl.pager));
  await pl.refresh();
  return { refresh: pl.refresh };
}

async function detail(view, name) {
  const path = 'connections/' + api.seg(name);
  const info = h('div');
  const props = h('div');
  const chans = h('div');
  const traffic = new Chart('conn:' + name, [{ key: 'recv', label: 'From client' }, { key: 'send', label: 'To client' }], 'bytes');
  const close = form('inline', [
    field('Reason', input('reason', { value: 'Closed via management UI', size: '40' })),
    h('button.danger', { type: 'submit' }, 'Force close'),
  ], async (f) => {
    if (!(await confirmBox(`Close connection ${name}?`, 'Close'))) return;
    await act(async () => {
      await api.del(path, { 'X-Reason': val(f, 'reason') });
      toast('Connection closed');
      location.hash = href('connections');
    });
  });
  view.append(
    h('p.crumbs', link(href('connections'), 'Connections'), ' / '),
    h('h1.page-title', name),
    h('div.grid2', section('Overview', info), section('Data rates', traffic.el)),
    section('Channels', chans),
    section('Client properties', props),
    section('Close this connection', close));
  async function refresh() {
    const [c, ch] = await Promise.all([api.get(path), api.get(path + '/channels')]);
    clear(info, kv([
      ['Virtual host', c.vhost],
      ['User', c.user],
      ['State', stateBadge(c.state)],
      ['Protocol', c.protocol],
      ['TLS', c.ssl ? 'yes' : 'no'],
      ['Peer', `${c.peer_host}:${c.peer_port}`],
      ['Server port', String(c.port)],
      ['Heartbeat', c.timeout ? c.timeout + ' s' : 'off'],
      ['Frame max', num(c.frame_max) + ' bytes'],
      ['Received', `${bytes(c.recv_oct)} in ${num(c.recv_cnt)} frames`],
      ['Sent', bytes(c.send_oct)],
      ['Channel max', num(c.channel_max)],
      ['Connected at', c.connected_at ? new Date(c.connected_at).toLocaleString() : '–'],
    ]));
    traffic.push({ recv: detailRate(c, 'recv_oct') || 0, send: detailRate(c, 'send_oct') || 0 });
    const cp = c.client_properties || {};
    clear(props, kv(Object.entries(cp).map(([k, v]) => [k, typeof v === 'object' ? h('pre.small', json(v)) : String(v)])));
    clear(chans, table([
      { title: 'Channel', get: (x) => link(href('channels', x.name), x.name) },
      { title: 'Mode', get: mode },
      { title: 'Prefetch', get: (x) => num(x.prefetch_count), cls: 'num' },
      { title: 'Consumers', get: (x) => num(x.consumer_count), cls: 'num' },
      { title: 'Unacked', get: (x) => num(x.messages_unacknowledged), cls: 'num' },
      { title: 'Publish', get: (x) => rate(detailRate(x.message_stats, 'publish')), cls: 'num' },
      { title: 'Deliver / get', get: (x) => rate(detailRate(x.message_stats, 'deliver_get')), cls: 'num' },
      { title: 'State', get: (x) => stateBadge(x.state) },
    ], ch, { empty: 'No channels.' }));
  }
  await refresh();
  return { refresh };
}

export function mode(x) {
  const out = [];
  if (x.confirm) out.push(badge('C', 'feat'));
  if (x.transactional) out.push(badge('T', 'feat'));
  return out.length ? h('span.feats', out) : h('span.dim', '–');
}
