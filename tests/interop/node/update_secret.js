// SPDX-License-Identifier: MIT
// connection.update-secret (amqplib updateSecret) with the same password
// is answered with update-secret-ok and the connection carries on.
'use strict';

const { amqp, run } = require('./common');

run(async (url, prefix) => {
  const pass = decodeURIComponent(new URL(url).password || 'guest');
  const conn = await amqp.connect(url);
  let okEvents = 0;
  conn.on('update-secret-ok', () => okEvents++);
  const reply = await conn.updateSecret(Buffer.from(pass), 'interop test');
  const ch = await conn.createChannel();
  const q = await ch.assertQueue(`${prefix}.secret`, { durable: false, autoDelete: true });
  await ch.deleteQueue(q.queue);
  await conn.close();
  return { reply: reply === undefined ? null : reply, okEvents };
});
