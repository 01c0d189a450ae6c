// SPDX-License-Identifier: MIT
// amqplib's CC and BCC publish options (RabbitMQ sender-selected
// distribution): the message also goes to the CC and BCC routing keys,
// and BCC is removed from the delivered headers.
'use strict';

const { amqp, run } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const qs = ['to', 'cc1', 'cc2', 'bcc', 'none'].map((s) => `${prefix}.${s}`);
  for (const q of qs) await ch.assertQueue(q, { durable: false });
  ch.sendToQueue(qs[0], Buffer.from('sds'), {
    CC: [qs[1], qs[2]],
    BCC: qs[3],
    headers: { other: 1 },
  });
  const got = {};
  for (const q of qs) {
    const m = await ch.get(q, { noAck: true });
    got[q.slice(prefix.length + 1)] = m ? { routingKey: m.fields.routingKey, headers: m.properties.headers } : null;
  }
  for (const q of qs) await ch.deleteQueue(q);
  await conn.close();
  return { got };
});
