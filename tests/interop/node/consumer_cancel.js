// SPDX-License-Identifier: MIT
// Deleting a queue under a consumer: the broker sends basic.cancel
// (consumer_cancel_notify) and amqplib calls the consume callback with
// null; the channel stays open.
'use strict';

const { amqp, run, waitFor } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  let chClosed = false;
  ch.on('close', () => {
    chClosed = true;
  });
  const q = `${prefix}.cancel`;
  await ch.assertQueue(q, { durable: false });
  const calls = [];
  const { consumerTag } = await ch.consume(q, (m) => {
    calls.push(m === null ? null : m.content.toString());
    if (m) ch.ack(m);
  });
  ch.sendToQueue(q, Buffer.from('before'));
  await waitFor(() => calls.length >= 1, 5000, 'the first delivery');

  // Delete from another connection, as an operator would.
  const other = await amqp.connect(url);
  const och = await other.createChannel();
  const deleted = await och.deleteQueue(q);
  await waitFor(() => calls.includes(null), 5000, 'the consume callback with null');
  // The channel still works, and the cancelled tag is gone from it.
  const probe = await ch.assertQueue(`${prefix}.cancel.after`, { durable: false, autoDelete: true });
  await ch.deleteQueue(probe.queue);
  const channelClosed = chClosed;
  await other.close();
  await conn.close();
  return { consumerTag, calls, deleted, channelClosed };
});
