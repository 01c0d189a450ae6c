// SPDX-License-Identifier: MIT
// Bindings tables and the add-binding form (exchange and queue pages).

import * as api from '../api.js';
import { h, table, link, form, field, input, select, val, argsEditor, act, confirmBox, toast, json } from '../dom.js';
import { href } from '../app.js';

const exName = (n) => (n === '' ? '(AMQP default)' : n);

export function bindingPath(b) {
  const t = b.destination_type === 'queue' ? 'q' : 'e';
  return `bindings/${api.seg(b.vhost)}/e/${api.seg(b.source || 'amq.default')}/${t}/${api.seg(b.destination)}/${api.seg(b.properties_key)}`;
}

// side: 'source' lists the destinations, 'destination' the sources.
export function bindingsTable(list, side, onChange) {
  const cols = [];
  if (side !== 'source') {
    cols.push({ title: 'From exchange', get: (b) => link(href('exchanges', b.vhost, b.source || 'amq.default'), exName(b.source)) });
  }
  if (side !== 'destination') {
    cols.push({
      title: 'To', get: (b) => h('span', h('span.badge.dim', b.destination_type), ' ',
        link(href(b.destination_type === 'queue' ? 'queues' : 'exchanges', b.vhost, b.destination), b.destination)),
    });
  }
  cols.push({ title: 'Routing key', get: (b) => h('code', b.routing_key) });
  cols.push({ title: 'Arguments', get: (b) => (Object.keys(b.arguments || {}).length ? h('code', json(b.arguments)) : h('span.dim', '–')) });
  cols.push({
    title: '', cls: 'actions', get: (b) => (b.source === ''
      ? h('span.dim', 'implicit')
      : h('button.small.ghost', {
        type: 'button',
        onclick: async () => {
          if (!(await confirmBox(`Remove the binding from ${b.source} to ${b.destination} (${b.routing_key || 'no key'})?`, 'Unbind'))) return;
          await act(() => api.del(bindingPath(b)), 'Binding removed');
          onChange();
        },
      }, 'Unbind')),
  });
  return table(cols, list, { empty: 'No bindings.' });
}

// Adds a binding. fixed: {source} for an exchange page, {destination,
// destination_type: 'queue'} for a queue page.
export function bindForm(vhost, fixed, onChange) {
  const args = argsEditor('binding argument');
  const children = [];
  if (fixed.source !== undefined) {
    children.push(h('div.row',
      field('To', select('dtype', [['q', 'Queue'], ['e', 'Exchange']], 'q')),
      field('Name', input('dest', { required: true, placeholder: 'queue or exchange name' }))));
  } else {
    children.push(field('From exchange', input('source', { required: true, placeholder: 'e.g. amq.topic' })));
  }
  children.push(field('Routing key', input('routing_key')));
  children.push(field('Arguments', args.el));
  children.push(h('div.row', h('button.primary', { type: 'submit' }, 'Bind')));
  return form('stack bind', children, async (f) => {
    const ok = await act(async () => {
      const source = fixed.source !== undefined ? fixed.source : val(f, 'source');
      const t = fixed.source !== undefined ? val(f, 'dtype') : 'q';
      const dest = fixed.source !== undefined ? val(f, 'dest') : fixed.destination;
      await api.post(`bindings/${api.seg(vhost)}/e/${api.seg(source)}/${t}/${api.seg(dest)}`, {
        routing_key: val(f, 'routing_key'),
        arguments: args.value(),
      });
      return true;
    });
    if (ok) {
      toast('Binding added');
      f.reset();
      args.reset();
      onChange();
    }
  });
}
