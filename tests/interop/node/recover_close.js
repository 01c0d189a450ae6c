// SPDX-License-Identifier: MIT
// basic.recover redelivers unacked messages (redelivered true); closing a
// channel with unacked messages puts them back in the queue; promise
// cancel answers with the consumer tag.
'use strict';

const { amqp, run, waitFor } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const q = `${prefix}.recover`;
  await ch.assertQueue(q, { durable: false });
  for (const b of ['a', 'b', 'c']) ch.sendToQueue(q, Buffer.from(b));
  const seen = [];
  const { consumerTag } = await ch.consume(q, (m) => {
    if (m === null) return;
    seen.push({ body: m.content.toString(), redelivered: m.fields.redelivered });
  });
  await waitFor(() => seen.length >= 3, 5000, '3 deliveries');
  await ch.recover();
  await waitFor(() => seen.length >= 6, 5000, '3 redeliveries after recover');
  const cancelled = await ch.cancel(consumerTag);
  await ch.close(); // 3 unacked: back to the queue

  const ch2 = await conn.createChannel();
  const { messageCount } = await ch2.checkQueue(q);
  const again = await ch2.get(q, { noAck: true });
  await ch2.deleteQueue(q);
  await conn.close();
  return {
    seen,
    cancelled,
    consumerTag,
    messageCountAfterClose: messageCount,
    afterClose: { body: again.content.toString(), redelivered: again.fields.redelivered },
  };
});
