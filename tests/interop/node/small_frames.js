// SPDX-License-Identifier: MIT
// frameMax=4096 in the URL: the connection is tuned to it, and a 100 KiB
// body with a large headers table crosses in 4 KiB frames both ways.
'use strict';

const { amqp, run, waitFor } = require('./common');

run(async (url, prefix) => {
  const u = new URL(url);
  u.searchParams.set('frameMax', '4096');
  const conn = await amqp.connect(u.toString());
  const ch = await conn.createChannel();
  const q = `${prefix}.frames`;
  await ch.assertQueue(q, { durable: false });
  const body = Buffer.alloc(100 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = i % 251;
  const headers = { pad: 'y'.repeat(3000) };
  ch.sendToQueue(q, body, { headers });
  let got = null;
  await ch.consume(q, (m) => {
    if (m === null) return;
    got = m;
    ch.ack(m);
  });
  await waitFor(() => got !== null, 5000, 'the delivery');
  await ch.deleteQueue(q);
  await conn.close();
  return {
    frameMax: conn.connection.frameMax,
    same: Buffer.compare(got.content, body) === 0,
    length: got.content.length,
    padLength: got.properties.headers.pad.length,
  };
});
