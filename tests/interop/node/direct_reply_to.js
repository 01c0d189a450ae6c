// SPDX-License-Identifier: MIT
// RPC over direct reply-to: the client consumes amq.rabbitmq.reply-to with
// noAck and sends requests with replyTo set to it; a server on another
// connection answers to the replyTo it receives.
'use strict';

const { amqp, run, waitFor } = require('./common');

run(async (url, prefix) => {
  const rq = `${prefix}.rpc`;
  const sconn = await amqp.connect(url);
  const sch = await sconn.createChannel();
  await sch.assertQueue(rq, { durable: false });
  const replyTos = [];
  await sch.consume(rq, (m) => {
    if (m === null) return;
    replyTos.push(m.properties.replyTo);
    const n = Number(m.content.toString());
    sch.sendToQueue(m.properties.replyTo, Buffer.from(String(n * n)), {
      correlationId: m.properties.correlationId,
    });
    sch.ack(m);
  });

  const cconn = await amqp.connect(url);
  const cch = await cconn.createChannel();
  const replies = [];
  const ok = await cch.consume(
    'amq.rabbitmq.reply-to',
    (m) => {
      if (m === null) return;
      replies.push({ corr: m.properties.correlationId, body: m.content.toString(), fields: m.fields });
    },
    { noAck: true },
  );
  for (let i = 1; i <= 5; i++) {
    cch.sendToQueue(rq, Buffer.from(String(i)), { replyTo: 'amq.rabbitmq.reply-to', correlationId: `c${i}` });
  }
  await waitFor(() => replies.length >= 5, 5000, '5 replies');
  await sch.deleteQueue(rq);
  await cconn.close();
  await sconn.close();
  return {
    consumeOk: ok,
    replies: replies.map((r) => ({ corr: r.corr, body: r.body })),
    replyExchange: replies[0].fields.exchange,
    replyRoutingKey: replies[0].fields.routingKey,
    replyTos,
  };
});
