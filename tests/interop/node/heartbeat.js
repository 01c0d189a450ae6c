// SPDX-License-Identifier: MIT
// heartbeat=1 in the URL: the connection is tuned to 1 s, idles 4 s with
// only heartbeats on the wire, and is still open and usable after.
'use strict';

const { amqp, run, sleep } = require('./common');

run(async (url, prefix) => {
  const u = new URL(url);
  u.searchParams.set('heartbeat', '1');
  const conn = await amqp.connect(u.toString());
  const events = [];
  conn.on('error', (e) => events.push(`error: ${e.message}`));
  conn.on('close', (e) => events.push(`close: ${e ? e.message : ''}`));
  const heartbeat = conn.connection.heartbeat;
  const ch = await conn.createChannel();
  const q = `${prefix}.hb`;
  await ch.assertQueue(q, { durable: false });
  await sleep(4000);
  const eventsDuringIdle = events.slice();
  ch.sendToQueue(q, Buffer.from('after idle'));
  const m = await ch.get(q, { noAck: true });
  const { messageCount } = await ch.deleteQueue(q);
  await conn.close();
  return { heartbeat, eventsDuringIdle, got: m ? m.content.toString() : null, messageCount };
});
