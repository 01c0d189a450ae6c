// SPDX-License-Identifier: MIT
// ConfirmChannel: 1,000 publishes, each with a callback, then
// waitForConfirms; every one acked, all in the queue.
'use strict';

const { amqp, run } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  const q = `${prefix}.confirms`;
  await ch.assertQueue(q, { durable: false });
  const n = 1000;
  let acked = 0;
  let nacked = 0;
  for (let i = 0; i < n; i++) {
    ch.sendToQueue(q, Buffer.from(`m${i}`), {}, (err) => {
      if (err) nacked++;
      else acked++;
    });
  }
  const t0 = Date.now();
  await ch.waitForConfirms();
  const waitMs = Date.now() - t0;
  const { messageCount } = await ch.checkQueue(q);
  await ch.deleteQueue(q);
  await conn.close();
  return { published: n, acked, nacked, messageCount, waitMs };
});
