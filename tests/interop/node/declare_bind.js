// SPDX-License-Identifier: MIT
// assertQueue, assertExchange of each type, bindQueue and bindExchange
// (exchange to exchange), and where a message published to each lands.
'use strict';

const { amqp, run } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const out = { exchanges: {}, queues: {} };

  // One queue per exchange type, bound so that exactly one message of
  // the two published should land.
  const types = ['direct', 'fanout', 'topic', 'headers'];
  for (const type of types) {
    const ex = `${prefix}.${type}`;
    out.exchanges[type] = await ch.assertExchange(ex, type, { durable: false, autoDelete: false });
    const q = await ch.assertQueue(`${prefix}.q.${type}`, { durable: false });
    out.queues[type] = q;
    if (type === 'headers') {
      await ch.bindQueue(q.queue, ex, '', { 'x-match': 'all', colour: 'red' });
    } else {
      await ch.bindQueue(q.queue, ex, type === 'topic' ? 'a.*.c' : 'k1');
    }
  }
  const pubs = {
    direct: [['k1', {}], ['k2', {}]],
    fanout: [['any', {}], ['other', {}]],
    topic: [['a.b.c', {}], ['a.b.d', {}]],
    headers: [['', { headers: { colour: 'red' } }], ['', { headers: { colour: 'blue' } }]],
  };
  for (const type of types) {
    for (const [i, [key, opts]] of pubs[type].entries()) {
      ch.publish(`${prefix}.${type}`, key, Buffer.from(`${type}-${i}`), opts);
    }
  }

  // Exchange to exchange: src (topic) -> dst (fanout) -> queue.
  const src = `${prefix}.e2e.src`;
  const dst = `${prefix}.e2e.dst`;
  await ch.assertExchange(src, 'topic', { durable: false });
  await ch.assertExchange(dst, 'fanout', { durable: false });
  out.bindExchange = await ch.bindExchange(dst, src, 'route.#');
  const e2eq = (await ch.assertQueue('', { exclusive: true })).queue;
  out.serverNamed = e2eq.startsWith('amq.gen-');
  await ch.bindQueue(e2eq, dst, '');
  ch.publish(src, 'route.x.y', Buffer.from('e2e-routed'));
  ch.publish(src, 'elsewhere', Buffer.from('e2e-dropped'));

  // Drain every queue with get. The gets follow the publishes on the same
  // channel, so every message has been routed by the time they run.
  const got = {};
  const names = types.map((t) => [t, `${prefix}.q.${t}`]).concat([['e2e', e2eq]]);
  for (const [k, q] of names) {
    got[k] = [];
    for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) {
      got[k].push(m.content.toString());
      if (got[k].length > 10) break;
    }
  }
  out.got = got;

  out.unbindExchange = await ch.unbindExchange(dst, src, 'route.#');
  for (const type of types) {
    await ch.unbindQueue(`${prefix}.q.${type}`, `${prefix}.${type}`, type === 'topic' ? 'a.*.c' : 'k1',
      type === 'headers' ? { 'x-match': 'all', colour: 'red' } : {});
    out.queues[`${type}.deleted`] = await ch.deleteQueue(`${prefix}.q.${type}`);
    await ch.deleteExchange(`${prefix}.${type}`);
  }
  await ch.deleteExchange(src);
  await ch.deleteExchange(dst);
  await conn.close();
  return out;
});
