// SPDX-License-Identifier: MIT
// consume with manual ack: ack, nack with requeue (comes back redelivered),
// reject without requeue (dropped); then the queue is empty.
'use strict';

const { amqp, run, waitFor, sleep } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const q = `${prefix}.ack`;
  await ch.assertQueue(q, { durable: false });
  for (const b of ['ack-me', 'nack-me', 'reject-me']) ch.sendToQueue(q, Buffer.from(b));

  const deliveries = [];
  const { consumerTag } = await ch.consume(
    q,
    (m) => {
      if (m === null) return;
      const body = m.content.toString();
      deliveries.push({ body, redelivered: m.fields.redelivered, deliveryTag: m.fields.deliveryTag });
      if (body === 'ack-me') ch.ack(m);
      else if (body === 'nack-me' && !m.fields.redelivered) ch.nack(m, false, true);
      else if (body === 'nack-me') ch.ack(m);
      else if (body === 'reject-me') ch.reject(m, false);
    },
    { noAck: false },
  );
  await waitFor(() => deliveries.length >= 4, 5000, '4 deliveries');
  await sleep(200); // anything more (a requeued reject) would show up now
  await ch.cancel(consumerTag);
  const after = await ch.checkQueue(q);
  await ch.deleteQueue(q);
  await conn.close();
  return { deliveries, messageCountAfter: after.messageCount };
});
