// SPDX-License-Identifier: MIT
// prefetch(N): at most N unacked deliveries in flight; each ack lets one
// more through.
'use strict';

const { amqp, run, waitFor, sleep } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const q = `${prefix}.prefetch`;
  await ch.assertQueue(q, { durable: false });
  const total = 20;
  const prefetch = 3;
  for (let i = 0; i < total; i++) ch.sendToQueue(q, Buffer.from(String(i)));
  await ch.prefetch(prefetch);

  const held = [];
  const order = [];
  let maxInFlight = 0;
  await ch.consume(q, (m) => {
    if (m === null) return;
    held.push(m);
    order.push(Number(m.content.toString()));
    maxInFlight = Math.max(maxInFlight, held.length);
  });
  await waitFor(() => held.length >= prefetch, 5000, `${prefetch} deliveries`);
  await sleep(300); // a broker ignoring basic.qos would send more by now
  const inFlightBeforeAck = held.length;

  ch.ack(held.shift());
  await waitFor(() => held.length >= prefetch, 5000, 'one more after an ack');
  await sleep(200);
  const inFlightAfterOneAck = held.length;

  // Ack the rest one at a time as they come.
  while (order.length < total || held.length > 0) {
    if (held.length > 0) ch.ack(held.shift());
    else await waitFor(() => held.length > 0, 5000, 'the next delivery');
  }
  const after = await ch.checkQueue(q);
  await ch.deleteQueue(q);
  await conn.close();
  return { prefetch, total, inFlightBeforeAck, inFlightAfterOneAck, maxInFlight, order, messageCountAfter: after.messageCount };
});
