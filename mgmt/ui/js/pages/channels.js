// SPDX-License-Identifier: MIT
// Channels: the list and one channel's detail with its consumers.

import * as api from '../api.js';
import { h, clear, num, rate, detailRate, section, table, kv, link, stateBadge } from '../dom.js';
import { href } from '../app.js';
import { Chart } from '../chart.js';
import { pagedList } from '../paged.js';
import { mode } from './connections.js';

export async function render(view, params, ctx) {
  return params.length ? detail(view, params[0]) : list(view, ctx);
}

async function list(view, ctx) {
  const pl = pagedList({
    id: 'channels',
    what: 'channels',
    path: () => (ctx.vhost ? `vhosts/${api.seg(ctx.vhost)}/channels` : 'channels'),
    cols: [
      { title: 'Channel', get: (c) => link(href('channels', c.name), c.name), sort: 'name' },
      { title: 'Virtual host', get: (c) => c.vhost, sort: 'vhost' },
      { title: 'User', get: (c) => c.user, sort: 'user' },
      { title: 'Mode', get: mode },
      { title: 'State', get: (c) => stateBadge(c.state), sort: 'state' },
      { title: 'Prefetch', get: (c) => num(c.prefetch_count), cls: 'num', sort: 'prefetch_count' },
      { title: 'Consumers', get: (c) => num(c.consumer_count), cls: 'num', sort: 'consumer_count' },
      { title: 'Unacked', get: (c) => num(c.messages_unacknowledged), cls: 'num', sort: 'messages_unacknowledged' },
      { title: 'Publish', get: (c) => rate(detailRate(c.message_stats, 'publish')), cls: 'num', sort: 'message_stats.publish_details.rate' },
      { title: 'Confirm', get: (c) => rate(detailRate(c.message_stats, 'confirm')), cls: 'num', sort: 'message_stats.confirm_details.rate' },
      { title: 'Deliver / get', get: (c) => rate(detailRate(c.message_stats, 'deliver_get')), cls: 'num', sort: 'message_stats.deliver_get_details.rate' },
      { title: 'Ack', get: (c) => rate(detailRate(c.message_stats, 'ack')), cls: 'num', sort: 'message_stats.ack_details.rate' },
    ],
  });
  view.append(h('h1.page-title', 'Channels', pl.count), section('All channels', pl.toolbar, pl.body, pl.pager));
  await pl.refresh();
  return { refresh: pl.refresh };
}

async function detail(view, name) {
  const info = h('div');
  const consumers = h('div');
  const RATES = [
    { key: 'publish', label: 'Publish' },
    { key: 'confirm', label: 'Confirm' },
    { key: 'deliver_get', label: 'Deliver / get' },
    { key: 'ack', label: 'Ack' },
  ];
  const rates = new Chart('chan:' + name, RATES);
  view.append(
    h('p.crumbs', link(href('channels'), 'Channels'), ' / '),
    h('h1.page-title', name),
    h('div.grid2', section('Overview', info), section('Message rates', rates.el)),
    section('Consumers', consumers));
  async function refresh() {
    const c = await api.get('channels/' + api.seg(name));
    const cons = (await api.get('consumers/' + api.seg(c.vhost))).filter((x) => x.channel_details && x.channel_details.name === name);
    const cd = c.connection_details || {};
    const r = {};
    for (const s of RATES) r[s.key] = detailRate(c.message_stats, s.key) || 0;
    rates.push(r);
    clear(info, kv([
      ['Connection', link(href('connections', cd.name), cd.name)],
      ['Virtual host', c.vhost],
      ['User', c.user],
      ['Number', String(c.number)],
      ['State', stateBadge(c.state)],
      ['Mode', c.confirm ? 'confirm' : c.transactional ? 'transactional' : 'plain'],
      ['Prefetch', `${num(c.prefetch_count)} per consumer, ${num(c.global_prefetch_count)} per channel`],
      ['Unacked', num(c.messages_unacknowledged)],
      ['Unconfirmed', num(c.messages_unconfirmed)],
      ['Uncommitted', `${num(c.messages_uncommitted)} messages, ${num(c.acks_uncommitted)} acks`],
      ['Published', num(c.message_stats && c.message_stats.publish)],
      ['Confirmed', num(c.message_stats && c.message_stats.confirm)],
      ['Delivered / got', num(c.message_stats && c.message_stats.deliver_get)],
      ['Acked', num(c.message_stats && c.message_stats.ack)],
    ]));
    clear(consumers, table([
      { title: 'Consumer tag', get: (x) => x.consumer_tag },
      { title: 'Queue', get: (x) => link(href('queues', x.queue.vhost, x.queue.name), x.queue.name) },
      { title: 'Ack required', get: (x) => (x.ack_required ? 'yes' : 'no') },
      { title: 'Exclusive', get: (x) => (x.exclusive ? 'yes' : 'no') },
      { title: 'Prefetch', get: (x) => num(x.prefetch_count), cls: 'num' },
      { title: 'Active', get: (x) => stateBadge(x.activity_status) },
    ], cons, { empty: 'No consumers.' }));
  }
  await refresh();
  return { refresh };
}
