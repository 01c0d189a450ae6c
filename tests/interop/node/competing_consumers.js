// SPDX-License-Identifier: MIT
// 5,000 messages to two competing consumers on separate connections: each
// message is delivered to exactly one of them (union complete, disjoint).
'use strict';

const { amqp, run, waitFor } = require('./common');

run(async (url, prefix) => {
  const n = 5000;
  const q = `${prefix}.compete`;
  const conns = [await amqp.connect(url), await amqp.connect(url)];
  const got = [[], []];
  for (const [i, conn] of conns.entries()) {
    const ch = await conn.createChannel();
    await ch.assertQueue(q, { durable: false });
    await ch.prefetch(50);
    await ch.consume(q, (m) => {
      if (m === null) return;
      got[i].push(Number(m.content.toString()));
      ch.ack(m);
    });
  }
  const pconn = await amqp.connect(url);
  const pch = await pconn.createConfirmChannel();
  for (let i = 0; i < n; i++) pch.sendToQueue(q, Buffer.from(String(i)));
  await pch.waitForConfirms();
  await waitFor(() => got[0].length + got[1].length >= n, 20000, `${n} deliveries`);

  const seen = new Set();
  let duplicates = 0;
  for (const x of got[0].concat(got[1])) {
    if (seen.has(x)) duplicates++;
    seen.add(x);
  }
  let missing = 0;
  for (let i = 0; i < n; i++) if (!seen.has(i)) missing++;
  // Each consumer sees its share in publish order.
  const inOrder = got.map((g) => g.every((x, j) => j === 0 || g[j - 1] < x));
  await pch.deleteQueue(q);
  for (const c of conns.concat([pconn])) await c.close();
  return { n, counts: [got[0].length, got[1].length], duplicates, missing, distinct: seen.size, inOrder };
});
