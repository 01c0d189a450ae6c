// SPDX-License-Identifier: MIT
// Admin: users (tags, password, permissions, topic permissions), virtual
// hosts, policies and operator policies, vhost and user limits.

import * as api from '../api.js';
import { h, clear, num, section, table, kv, link, badge, form, field, input, select, val, argsEditor, act, confirmBox, toast, json } from '../dom.js';
import { href, loadVhosts } from '../app.js';

const SUBS = [
  ['users', 'Users', true],
  ['vhosts', 'Virtual hosts', true],
  ['policies', 'Policies', false],
  ['limits', 'Limits', true],
];

export async function render(view, params, ctx) {
  const subs = SUBS.filter(([, , admin]) => ctx.isAdmin || !admin);
  const sub = subs.some(([k]) => k === params[0]) ? params[0] : subs[0][0];
  const content = h('div.admin-body');
  view.append(
    h('h1.page-title', 'Admin'),
    h('div.admin',
      h('nav.subnav', subs.map(([k, t]) => h('a', { href: href('admin', k), class: k === sub ? 'active' : null }, t))),
      content));
  if (sub === 'users') return params[1] ? user(content, params[1], ctx) : users(content, ctx);
  if (sub === 'vhosts') return vhosts(content, ctx);
  if (sub === 'policies') return policies(content, ctx);
  return limits(content, ctx);
}

const TAGS = ['administrator', 'monitoring', 'policymaker', 'management', 'impersonator'];

function tagsInput(value = '') {
  const inp = input('tags', { value, placeholder: 'comma separated', autocomplete: 'off' });
  const quick = h('span.quick-args', 'Set ', TAGS.map((t) => h('button.linkish', {
    type: 'button',
    onclick: () => {
      const cur = inp.value.split(',').map((s) => s.trim()).filter(Boolean);
      if (!cur.includes(t)) cur.push(t);
      inp.value = cur.join(', ');
    },
  }, t)), h('button.linkish', { type: 'button', onclick: () => { inp.value = ''; } }, 'none'));
  return [inp, quick];
}

const tagList = (tags) => (Array.isArray(tags) ? tags : String(tags || '').split(',')).filter(Boolean);

async function users(el) {
  const body = h('div');
  const [tagsEl, quick] = tagsInput();
  const add = form('stack add-user', [
    h('div.row',
      field('Username', input('username', { required: true, autocomplete: 'off' })),
      field('Password', input('password', { type: 'password', autocomplete: 'new-password' })),
      field('Password (again)', input('password2', { type: 'password', autocomplete: 'new-password' }))),
    field('Tags', tagsEl, null),
    quick,
    h('div.row', h('button.primary', { type: 'submit' }, 'Add user')),
  ], async (f) => {
    const name = val(f, 'username').trim();
    if (val(f, 'password') !== val(f, 'password2')) {
      toast('The passwords differ', 'error');
      return;
    }
    const ok = await act(async () => {
      await api.put('users/' + api.seg(name), { password: val(f, 'password'), tags: val(f, 'tags') });
      return true;
    });
    if (ok) {
      toast(`User ${name} added`);
      f.reset();
      await refresh();
    }
  });
  el.append(section('Users', body), section('Add a user', add));
  async function refresh() {
    const [us, perms] = await Promise.all([api.get('users'), api.get('permissions')]);
    clear(body, table([
      { title: 'Name', get: (u) => link(href('admin', 'users', u.name), u.name) },
      { title: 'Tags', get: (u) => (tagList(u.tags).length ? h('span.feats', tagList(u.tags).map((t) => badge(t, t === 'administrator' ? 'pol' : 'feat'))) : h('span.dim', 'none')) },
      { title: 'Can access virtual hosts', get: (u) => perms.filter((p) => p.user === u.name).map((p) => p.vhost).join(', ') || h('span.dim', 'no access') },
      { title: 'Has password', get: (u) => (u.password_hash ? 'yes' : 'no') },
    ], us));
  }
  await refresh();
  return { refresh };
}

async function user(el, name, ctx) {
  const base = 'users/' + api.seg(name);
  const u0 = await api.get(base);
  const info = h('div');
  const perms = h('div');
  const tperms = h('div');
  const setPerm = form('stack', [
    h('div.row',
      field('Virtual host', select('vhost', ctx.vhosts, ctx.vhosts[0])),
      field('Configure regexp', input('configure', { value: '.*' })),
      field('Write regexp', input('write', { value: '.*' })),
      field('Read regexp', input('read', { value: '.*' }))),
    h('div.row', h('button.primary', { type: 'submit' }, 'Set permission')),
  ], async (f) => {
    if (await act(async () => {
      await api.put(`permissions/${api.seg(val(f, 'vhost'))}/${api.seg(name)}`, { configure: val(f, 'configure'), write: val(f, 'write'), read: val(f, 'read') });
      return true;
    }, 'Permission set')) await refresh();
  });
  const setTopic = form('stack', [
    h('div.row',
      field('Virtual host', select('vhost', ctx.vhosts, ctx.vhosts[0])),
      field('Exchange', input('exchange', { value: 'amq.topic' })),
      field('Write regexp', input('write', { value: '.*' })),
      field('Read regexp', input('read', { value: '.*' }))),
    h('div.row', h('button.primary', { type: 'submit' }, 'Set topic permission')),
  ], async (f) => {
    if (await act(async () => {
      await api.put(`topic-permissions/${api.seg(val(f, 'vhost'))}/${api.seg(name)}`, { exchange: val(f, 'exchange'), write: val(f, 'write'), read: val(f, 'read') });
      return true;
    }, 'Topic permission set')) await refresh();
  });
  const [tagsEl, quick] = tagsInput(tagList(u0.tags).join(', '));
  const update = form('stack', [
    h('div.row',
      field('Password', input('password', { type: 'password', autocomplete: 'new-password', placeholder: 'unchanged when empty' })),
      field('Password (again)', input('password2', { type: 'password', autocomplete: 'new-password' }))),
    field('Tags', tagsEl),
    quick,
    h('div.row', h('button.primary', { type: 'submit' }, 'Update user')),
  ], async (f) => {
    if (val(f, 'password') !== val(f, 'password2')) {
      toast('The passwords differ', 'error');
      return;
    }
    const cur = await api.get(base);
    const body = { tags: val(f, 'tags') };
    if (val(f, 'password')) body.password = val(f, 'password');
    else body.password_hash = cur.password_hash;
    if (await act(async () => { await api.put(base, body); return true; }, 'User updated')) await refresh();
  });
  const del = h('button.danger', { type: 'button' }, 'Delete user');
  del.addEventListener('click', async () => {
    if (!(await confirmBox(`Delete user ${name}?`))) return;
    if (await act(async () => { await api.del(base); return true; }, `User ${name} deleted`)) location.hash = href('admin', 'users');
  });
  el.append(
    h('p.crumbs', link(href('admin', 'users'), 'Users'), ' / '),
    h('h2.sub-title', name),
    section('Overview', info),
    section('Permissions', perms, h('h3', 'Set permission'), setPerm),
    section('Topic permissions', tperms, h('h3', 'Set topic permission'), setTopic),
    section('Update this user', update),
    section('Delete', del));
  async function refresh() {
    const [u, p, tp] = await Promise.all([api.get(base), api.get(base + '/permissions'), api.get(base + '/topic-permissions')]);
    clear(info, kv([
      ['Tags', tagList(u.tags).join(', ') || 'none'],
      ['Password', u.password_hash ? 'set' : 'none (cannot log in with a password)'],
      ['Limits', Object.keys(u.limits || {}).length ? h('code', json(u.limits)) : 'none'],
    ]));
    clear(perms, table([
      { title: 'Virtual host', get: (x) => x.vhost },
      { title: 'Configure', get: (x) => h('code', x.configure) },
      { title: 'Write', get: (x) => h('code', x.write) },
      { title: 'Read', get: (x) => h('code', x.read) },
      { title: '', cls: 'actions', get: (x) => h('button.small.ghost', { type: 'button', onclick: async () => { if (await act(async () => { await api.del(`permissions/${api.seg(x.vhost)}/${api.seg(name)}`); return true; }, 'Permission cleared')) refresh(); } }, 'Clear') },
    ], p, { empty: 'No permissions: this user can reach no virtual host.' }));
    clear(tperms, table([
      { title: 'Virtual host', get: (x) => x.vhost },
      { title: 'Exchange', get: (x) => x.exchange },
      { title: 'Write', get: (x) => h('code', x.write) },
      { title: 'Read', get: (x) => h('code', x.read) },
      { title: '', cls: 'actions', get: (x) => h('button.small.ghost', { type: 'button', onclick: async () => { if (await act(async () => { await api.del(`topic-permissions/${api.seg(x.vhost)}/${api.seg(name)}`); return true; }, 'Topic permission cleared')) refresh(); } }, 'Clear') },
    ], tp, { empty: 'No topic permissions.' }));
  }
  await refresh();
  return { refresh };
}

async function vhosts(el) {
  const body = h('div');
  const add = form('stack add-vhost', [
    h('div.row',
      field('Name', input('name', { required: true, autocomplete: 'off' })),
      field('Description', input('description', { size: '30' })),
      field('Tags', input('tags', { placeholder: 'comma separated' }))),
    h('div.row', h('button.primary', { type: 'submit' }, 'Add virtual host')),
  ], async (f) => {
    const name = val(f, 'name').trim();
    if (await act(async () => {
      await api.put('vhosts/' + api.seg(name), { description: val(f, 'description'), tags: val(f, 'tags') });
      return true;
    }, `Virtual host ${name} added`)) {
      f.reset();
      await loadVhosts();
      await refresh();
    }
  });
  el.append(section('Virtual hosts', body), section('Add a virtual host', add));
  async function refresh() {
    const vs = await api.get('vhosts');
    clear(body, table([
      { title: 'Name', get: (v) => v.name },
      { title: 'Description', get: (v) => v.description || h('span.dim', '–') },
      { title: 'Tags', get: (v) => (v.tags || []).join(', ') || h('span.dim', '–') },
      { title: 'Ready', get: (v) => num(v.messages_ready), cls: 'num' },
      { title: 'Unacked', get: (v) => num(v.messages_unacknowledged), cls: 'num' },
      { title: 'Total', get: (v) => num(v.messages), cls: 'num' },
      {
        title: '', cls: 'actions', get: (v) => h('button.small.ghost', {
          type: 'button',
          onclick: async () => {
            if (!(await confirmBox(`Delete virtual host ${v.name} with everything in it?`))) return;
            if (await act(async () => { await api.del('vhosts/' + api.seg(v.name)); return true; }, `Virtual host ${v.name} deleted`)) {
              await loadVhosts();
              refresh();
            }
          },
        }, 'Delete'),
      },
    ], vs));
  }
  await refresh();
  return { refresh };
}

function policyPart(el, ctx, kind, title, one) {
  const body = h('div');
  const def = argsEditor('definition');
  const add = form('stack add-policy', [
    h('div.row',
      field('Virtual host', select('vhost', ctx.vhosts, ctx.vhost || ctx.vhosts[0])),
      field('Name', input('name', { required: true, autocomplete: 'off' })),
      field('Pattern', input('pattern', { required: true, placeholder: '^orders\\.' })),
      field('Apply to', select('apply', kind === 'policies'
        ? [['all', 'Exchanges and queues'], ['queues', 'Queues'], ['exchanges', 'Exchanges']]
        : [['queues', 'Queues']], kind === 'policies' ? 'all' : 'queues')),
      field('Priority', input('priority', { type: 'number', value: '0', size: '4' }))),
    field('Definition', def.el, 'e.g. message-ttl (Number), max-length (Number), dead-letter-exchange (String), overflow (String)'),
    h('div.row', h('button.primary', { type: 'submit' }, 'Add / update ' + (kind === 'policies' ? 'policy' : 'operator policy'))),
  ], async (f) => {
    const name = val(f, 'name').trim();
    if (await act(async () => {
      await api.put(`${kind}/${api.seg(val(f, 'vhost'))}/${api.seg(name)}`, {
        pattern: val(f, 'pattern'),
        'apply-to': val(f, 'apply'),
        priority: Number(val(f, 'priority')) || 0,
        definition: def.value(),
      });
      return true;
    }, `Policy ${name} set`)) {
      f.reset();
      def.reset();
      await refresh();
    }
  });
  el.append(section(title, body), section('Add / update ' + one, add));
  async function refresh() {
    const ps = await api.get(ctx.vhost ? `${kind}/${api.seg(ctx.vhost)}` : kind);
    clear(body, table([
      { title: 'Virtual host', get: (p) => p.vhost },
      { title: 'Name', get: (p) => p.name },
      { title: 'Pattern', get: (p) => h('code', p.pattern) },
      { title: 'Apply to', get: (p) => p['apply-to'] },
      { title: 'Definition', get: (p) => h('code', json(p.definition)) },
      { title: 'Priority', get: (p) => String(p.priority), cls: 'num' },
      {
        title: '', cls: 'actions', get: (p) => h('button.small.ghost', {
          type: 'button',
          onclick: async () => {
            if (!(await confirmBox(`Delete policy ${p.name}?`))) return;
            if (await act(async () => { await api.del(`${kind}/${api.seg(p.vhost)}/${api.seg(p.name)}`); return true; }, `Policy ${p.name} deleted`)) refresh();
          },
        }, 'Delete'),
      },
    ], ps, { empty: 'No policies.' }));
  }
  return refresh;
}

async function policies(el, ctx) {
  const parts = [policyPart(el, ctx, 'policies', 'User policies', 'a policy')];
  if (ctx.isAdmin) parts.push(policyPart(el, ctx, 'operator-policies', 'Operator policies', 'an operator policy'));
  const refresh = () => Promise.all(parts.map((p) => p()));
  await refresh();
  return { refresh };
}

async function limits(el, ctx) {
  const vl = h('div');
  const ul = h('div');
  const limitForm = (kind, who, names) => form('stack', [
    h('div.row',
      who,
      field('Limit', select('limit', names, names[0])),
      field('Value', input('value', { type: 'number', required: true, size: '8' })),
      h('div.spacer'),
      h('button.primary', { type: 'submit' }, 'Set limit')),
  ], async (f) => {
    const target = val(f, 'target');
    if (await act(async () => {
      await api.put(`${kind}/${api.seg(target)}/${api.seg(val(f, 'limit'))}`, { value: Number(val(f, 'value')) });
      return true;
    }, 'Limit set')) {
      f.elements.value.value = '';
      await refresh();
    }
  });
  const userNames = (await api.get('users')).map((u) => u.name);
  el.append(
    section('Virtual host limits', vl, h('h3', 'Set a virtual host limit'),
      limitForm('vhost-limits', field('Virtual host', select('target', ctx.vhosts, ctx.vhosts[0])), ['max-connections', 'max-queues'])),
    section('User limits', ul, h('h3', 'Set a user limit'),
      limitForm('user-limits', field('User', select('target', userNames, userNames[0])), ['max-connections', 'max-channels'])));
  const rows = (list, key) => list.flatMap((x) => Object.entries(x.value).map(([k, v]) => ({ who: x[key], name: k, value: v })));
  const clearBtn = (kind, r) => h('button.small.ghost', {
    type: 'button',
    onclick: async () => {
      if (await act(async () => { await api.del(`${kind}/${api.seg(r.who)}/${api.seg(r.name)}`); return true; }, 'Limit cleared')) refresh();
    },
  }, 'Clear');
  async function refresh() {
    const [v, u] = await Promise.all([api.get('vhost-limits'), api.get('user-limits')]);
    clear(vl, table([
      { title: 'Virtual host', get: (r) => r.who },
      { title: 'Limit', get: (r) => r.name },
      { title: 'Value', get: (r) => num(r.value), cls: 'num' },
      { title: '', cls: 'actions', get: (r) => clearBtn('vhost-limits', r) },
    ], rows(v, 'vhost'), { empty: 'No virtual host limits.' }));
    clear(ul, table([
      { title: 'User', get: (r) => r.who },
      { title: 'Limit', get: (r) => r.name },
      { title: 'Value', get: (r) => num(r.value), cls: 'num' },
      { title: '', cls: 'actions', get: (r) => clearBtn('user-limits', r) },
    ], rows(u, 'user'), { empty: 'No user limits.' }));
  }
  await refresh();
  return { refresh };
}
