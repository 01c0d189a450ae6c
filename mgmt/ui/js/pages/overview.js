// SPDX-License-Identifier: MIT
// Overview: totals, queued messages and message rates as live charts,
// the node, alarms, listeners, definitions export and import.

import * as api from '../api.js';
import { h, clear, num, bytes, duration, detailRate, section, table, badge, act, toast } from '../dom.js';
import { Chart } from '../chart.js';

const RATES = [
  { key: 'publish', label: 'Publish' },
  { key: 'confirm', label: 'Confirm' },
  { key: 'deliver_get', label: 'Deliver / get' },
  { key: 'ack', label: 'Ack' },
  { key: 'redeliver', label: 'Redeliver' },
];

function tile(label, value, id, target) {
  const body = [h('span.tile-value', { 'data-total': id }, value), h('span.tile-label', label)];
  return target ? h('a.tile', { href: target }, body) : h('div.tile', body);
}

export async function render(view, _params, ctx) {
  const totals = h('div.tiles');
  const queued = new Chart('overview-queued', [
    { key: 'ready', label: 'Ready' },
    { key: 'unacked', label: 'Unacked' },
    { key: 'total', label: 'Total' },
  ], 'count');
  const rates = new Chart('overview-rates', RATES, 'rate');
  const node = h('div');
  const listeners = h('div');

  const exportBtn = h('button', { type: 'button' }, 'Download broker definitions');
  exportBtn.addEventListener('click', () => act(async () => {
    const defs = await api.get('definitions');
    const blob = new Blob([JSON.stringify(defs, null, 2)], { type: 'application/json' });
    const a = h('a', { href: URL.createObjectURL(blob), download: 'warren-definitions.json' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }));
  const file = h('input', { type: 'file', accept: 'application/json,.json', 'aria-label': 'Definitions file' });
  const importBtn = h('button', { type: 'button' }, 'Upload broker definitions');
  importBtn.addEventListener('click', () => act(async () => {
    if (!file.files.length) throw new Error('Choose a definitions file first');
    const text = await file.files[0].text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error('That file is not JSON');
    }
    await api.post('definitions', body);
    file.value = '';
    toast('Definitions imported');
  }));
  const defs = ctx.isAdmin
    ? section('Import / export definitions',
      h('div.defs',
        h('div', h('h3', 'Export'), h('p.dim', 'Exchanges, queues, bindings, users, vhosts, permissions and policies as RabbitMQ\u2019s JSON.'), exportBtn),
        h('div', h('h3', 'Import'), h('p.dim', 'Adds what the file declares; a malformed file changes nothing.'), h('div.row', file, importBtn))))
    : null;

  view.append(
    h('h1.page-title', 'Overview'),
    totals,
    h('div.grid2',
      section('Queued messages', queued.el),
      section('Message rates', rates.el)),
    section('Node', node),
    section('Ports and contexts', listeners),
    defs);

  async function refresh() {
    const [o, nodes] = await Promise.all([
      api.get('overview'),
      ctx.isMonitor ? api.get('nodes') : Promise.resolve([]),
    ]);
    const ot = o.object_totals || {};
    const qt = o.queue_totals || {};
    clear(totals,
      tile('Connections', num(ot.connections), 'connections', '#/connections'),
      tile('Channels', num(ot.channels), 'channels', '#/channels'),
      tile('Exchanges', num(ot.exchanges), 'exchanges', '#/exchanges'),
      tile('Queues', num(ot.queues), 'queues', '#/queues'),
      tile('Consumers', num(ot.consumers), 'consumers'),
      tile('Ready', num(qt.messages_ready), 'ready'),
      tile('Unacked', num(qt.messages_unacknowledged), 'unacked'),
      tile('Total messages', num(qt.messages), 'messages'));
    queued.push({ ready: qt.messages_ready || 0, unacked: qt.messages_unacknowledged || 0, total: qt.messages || 0 });
    const ms = o.message_stats || {};
    const r = {};
    for (const s of RATES) r[s.key] = detailRate(ms, s.key) || 0;
    rates.push(r);
    clear(node, nodes.length ? table([
      { title: 'Name', get: (n) => n.name },
      { title: 'Memory', get: (n) => h('div.meter-cell', meter(n.mem_used, n.mem_limit), h('span', bytes(n.mem_used) + ' of ' + bytes(n.mem_limit))) },
      { title: 'File descriptors', get: (n) => (n.fd_total > 0 ? h('div.meter-cell', meter(n.fd_used, n.fd_total), h('span', `${num(n.fd_used)} of ${num(n.fd_total)}`)) : num(n.fd_used)) },
      { title: 'Sockets', get: (n) => num(n.sockets_used), cls: 'num' },
      { title: 'Processors', get: (n) => num(n.processors), cls: 'num' },
      { title: 'Uptime', get: (n) => duration(n.uptime), cls: 'num' },
      { title: 'Alarms', get: (n) => (n.mem_alarm || n.disk_free_alarm
        ? h('span', n.mem_alarm ? badge('memory alarm', 'bad') : null, n.disk_free_alarm ? badge('disk alarm', 'bad') : null)
        : badge('none', 'good')) },
      { title: 'Rates mode', get: (n) => n.rates_mode },
    ], nodes) : h('p.dim', 'Node details need the monitoring or administrator tag.'));
    clear(listeners, table([
      { title: 'Protocol', get: (l) => l.protocol },
      { title: 'Bound to', get: (l) => l.ip_address },
      { title: 'Port', get: (l) => String(l.port), cls: 'num' },
    ], o.listeners || []));
  }
  await refresh();
  return { refresh };
}

function meter(used, limit) {
  const m = h('meter', { min: '0', max: String(limit || 1), value: String(used || 0), high: String((limit || 1) * 0.8) });
  return m;
}
