// SPDX-License-Identifier: MIT
// assertQueue's option spellings (deadLetterExchange, deadLetterRoutingKey,
// messageTtl, maxLength): a rejected, an expired and an overflowed message
// are dead-lettered with the x-death header RabbitMQ writes, and a message
// rejected a second time has its x-death entry's count bumped. Key order
// shows: amqplib decodes a table into an object in wire order.
'use strict';

const { amqp, run, waitFor } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const dlx = `${prefix}.dlx`;
  const dead = `${prefix}.dead`;
  const work = `${prefix}.work`;
  const ttl = `${prefix}.ttl`;
  const capped = `${prefix}.capped`;
  await ch.assertExchange(dlx, 'direct', { durable: false });
  await ch.assertQueue(dead, { durable: false });
  await ch.bindQueue(dead, dlx, 'dead');
  await ch.assertQueue(work, { durable: false, deadLetterExchange: dlx, deadLetterRoutingKey: 'dead' });
  await ch.assertQueue(ttl, { durable: false, deadLetterExchange: dlx, deadLetterRoutingKey: 'dead', messageTtl: 50 });
  await ch.assertQueue(capped, { durable: false, deadLetterExchange: dlx, deadLetterRoutingKey: 'dead', maxLength: 1 });

  ch.sendToQueue(work, Buffer.from('rejected'), { headers: { keep: 'me' } });
  const m = await (async () => {
    for (let i = 0; i < 100; i++) {
      const g = await ch.get(work);
      if (g) return g;
    }
    throw new Error('no message in the work queue');
  })();
  ch.reject(m, false);

  const deadMsgs = [];
  await ch.consume(dead, (d) => {
    if (d === null) return;
    deadMsgs.push({
      body: d.content.toString(),
      routingKey: d.fields.routingKey,
      exchange: d.fields.exchange,
      headers: d.properties.headers,
      keys: Object.keys(d.properties.headers),
      deathKeys: d.properties.headers['x-death'].map((e) => Object.keys(e)),
      expiration: d.properties.expiration,
    });
    ch.ack(d);
  });
  await waitFor(() => deadMsgs.length >= 1, 5000, 'the rejected message');
  ch.sendToQueue(ttl, Buffer.from('expired'), { expiration: '60000' });
  await waitFor(() => deadMsgs.length >= 2, 5000, 'the expired message');
  ch.sendToQueue(capped, Buffer.from('oldest'));
  ch.sendToQueue(capped, Buffer.from('newest'));
  await waitFor(() => deadMsgs.length >= 3, 5000, 'the overflowed message');

  // Dead again in the same queue for the same reason: one x-death entry
  // per (queue, reason), its count bumped.
  ch.sendToQueue(work, Buffer.from('rejected twice'), { headers: deadMsgs[0].headers });
  let again = null;
  while (!(again = await ch.get(work)));
  ch.reject(again, false);
  await waitFor(() => deadMsgs.length >= 4, 5000, 'the twice rejected message');

  const cappedLeft = await ch.checkQueue(capped);
  for (const q of [dead, work, ttl, capped]) await ch.deleteQueue(q);
  await ch.deleteExchange(dlx);
  await conn.close();
  return { dead: deadMsgs, cappedLeft: cappedLeft.messageCount };
});
