// SPDX-License-Identifier: MIT
// Forms shared by the exchange and queue pages: publish a message, and
// show messages (get, peek).

import * as api from '../api.js';
import { h, clear, num, json, form, field, input, select, val, argsEditor, toast, act } from '../dom.js';

const PROPS = ['content_type', 'content_encoding', 'correlation_id', 'reply_to', 'expiration', 'message_id', 'type', 'user_id', 'app_id', 'priority', 'timestamp', 'cluster_id'];

// vhost, exchange name ('' = default); queue: publish to it through the
// default exchange (the routing key is fixed).
export function publishForm(vhost, exchange, queue) {
  const headers = argsEditor('header');
  const props = argsEditor('property');
  for (const sel of props.el.querySelectorAll('select')) sel.value = 'string';
  const keyField = queue
    ? field('Routing key', h('input', { name: 'routing_key', value: queue, readonly: true }), 'The default exchange routes it to this queue only.')
    : field('Routing key', input('routing_key', { placeholder: 'e.g. orders.created' }));
  const f = form('stack publish', [
    h('div.row',
      keyField,
      field('Delivery mode', select('delivery_mode', [['1', '1 - Non-persistent'], ['2', '2 - Persistent']], '1'))),
    field('Headers', headers.el),
    field('Properties', props.el, 'Any of: ' + PROPS.join(', ') + '.'),
    field('Payload', h('textarea', { name: 'payload', rows: '5', spellcheck: 'false' })),
    h('div.row',
      field('Payload encoding', select('payload_encoding', [['string', 'String (UTF-8)'], ['base64', 'Base64']], 'string')),
      h('div.spacer'),
      h('button.primary', { type: 'submit' }, 'Publish message')),
  ], async (fm) => {
    await act(async () => {
      const properties = { delivery_mode: Number(val(fm, 'delivery_mode')) };
      for (const [k, v] of Object.entries(props.value())) {
        if (!PROPS.includes(k)) throw new Error('Unknown property: ' + k);
        properties[k] = k === 'priority' || k === 'timestamp' ? Number(v) : v;
      }
      const hdrs = headers.value();
      if (Object.keys(hdrs).length) properties.headers = hdrs;
      const r = await api.post(`exchanges/${api.seg(vhost)}/${api.seg(exchange || 'amq.default')}/publish`, {
        routing_key: val(fm, 'routing_key'),
        payload: val(fm, 'payload'),
        payload_encoding: val(fm, 'payload_encoding'),
        properties,
      });
      if (r.routed) toast('Message published');
      else toast('Message published, but it was not routed to any queue', 'warn');
    });
  });
  return f;
}

// A list of messages as POST .../get or GET .../peek return them.
export function messageList(msgs, what) {
  if (!msgs.length) return h('p.dim.msg-none', 'The queue is empty: no message to ' + what + '.');
  return h('div.messages', msgs.map((m, i) => h('article.message',
    h('header',
      h('strong', `Message ${i + 1}`),
      h('span.dim', ` · ${num(m.payload_bytes)} bytes · exchange ${m.exchange === '' ? '(AMQP default)' : m.exchange} · routing key ${m.routing_key}`),
      m.redelivered ? h('span.badge.warn', 'redelivered') : null),
    h('dl.props',
      Object.entries(m.properties || {}).map(([k, v]) => [h('dt', k), h('dd', typeof v === 'object' ? json(v) : String(v))])),
    h('pre.payload', m.payload),
    m.payload_encoding === 'base64' ? h('p.hint', 'Payload shown as base64: it is not UTF-8 text.') : null)));
}

// Get and peek for a queue.
export function getForm(vhost, queue) {
  const out = h('div.msg-out');
  const base = `queues/${api.seg(vhost)}/${api.seg(queue)}`;
  const f = form('stack get', [
    h('div.row',
      field('Ack mode', select('ackmode', [
        ['ack_requeue_true', 'Nack message requeue true'],
        ['ack_requeue_false', 'Automatic ack'],
        ['reject_requeue_true', 'Reject requeue true'],
        ['reject_requeue_false', 'Reject requeue false'],
      ], 'ack_requeue_true')),
      field('Encoding', select('encoding', [['auto', 'Auto string / base64'], ['base64', 'base64']], 'auto')),
      field('Messages', input('count', { type: 'number', min: '1', value: '1', size: '4' })),
      field('Truncate (bytes)', input('truncate', { type: 'number', min: '0', value: '50000', size: '7' }))),
    h('div.row',
      h('button.primary', { type: 'submit' }, 'Get messages'),
      h('button', { type: 'button', class: 'peek', onclick: () => peek() }, 'Peek (leave them in the queue)')),
    h('p.hint', 'Get takes messages as basic.get does, then acks or requeues them (a requeued message comes back marked redelivered). Peek shows the head of the queue and changes nothing.'),
  ], async (fm) => {
    const msgs = await act(() => api.post(base + '/get', {
      count: Number(val(fm, 'count')) || 1,
      ackmode: val(fm, 'ackmode'),
      encoding: val(fm, 'encoding'),
      truncate: Number(val(fm, 'truncate')) || 50000,
    }));
    if (msgs) clear(out, messageList(msgs, 'get'));
  });
  async function peek() {
    const q = `?count=${Number(val(f, 'count')) || 1}&encoding=${val(f, 'encoding')}&truncate=${Number(val(f, 'truncate')) || 50000}`;
    const msgs = await act(() => api.get(base + '/peek' + q));
    if (msgs) clear(out, messageList(msgs, 'peek'));
  }
  return h('div', f, out);
}
