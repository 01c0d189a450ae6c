// SPDX-License-Identifier: MIT
// sendToQueue and publish with every message property amqplib supports;
// prints the properties and delivery fields the consumer saw.
'use strict';

const { amqp, run, waitFor } = require('./common');

run(async (url, prefix) => {
  const login = decodeURIComponent(new URL(url).username || 'guest');
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const q = `${prefix}.props`;
  const ex = `${prefix}.props.x`;
  await ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 10 } });
  await ch.assertExchange(ex, 'direct', { durable: false });
  await ch.bindQueue(q, ex, 'rk');

  const full = {
    contentType: 'application/json',
    contentEncoding: 'gzip',
    headers: { 'x-app': 'warren-test', n: 7 },
    deliveryMode: 2,
    priority: 5,
    correlationId: 'corr-42',
    replyTo: 'reply.queue',
    expiration: '60000',
    messageId: 'msg-1',
    timestamp: 1700000000,
    type: 'order.created',
    appId: 'amqplib-interop',
    userId: login,
  };
  ch.sendToQueue(q, Buffer.from('full'), full);
  // The convenience spellings: persistent, a numeric expiration.
  ch.publish(ex, 'rk', Buffer.from('persistent'), { persistent: true, expiration: 30000 });
  ch.publish(ex, 'rk', Buffer.from('bare'));

  const seen = [];
  await ch.consume(q, (m) => {
    if (m === null) return; // cancelled by the deleteQueue below
    seen.push({ body: m.content.toString(), fields: m.fields, properties: m.properties });
    ch.ack(m);
  });
  await waitFor(() => seen.length >= 3, 5000, '3 deliveries');
  await ch.deleteQueue(q);
  await ch.deleteExchange(ex);
  await conn.close();
  return { login, sent: full, seen };
});
