// SPDX-License-Identifier: MIT
// A 2 MiB body (many frames at the negotiated frame-max) round trips
// byte for byte, through consume and through get.
'use strict';

const crypto = require('node:crypto');
const { amqp, SLOW, run, waitFor } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const q = `${prefix}.large`;
  await ch.assertQueue(q, { durable: false });
  const body = crypto.randomBytes(2 * 1024 * 1024);
  const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

  ch.sendToQueue(q, body, { messageId: 'big-1' });
  ch.sendToQueue(q, body, { messageId: 'big-2' });
  const viaGet = await (async () => {
    const deadline = Date.now() + 5000 * SLOW;
    while (Date.now() < deadline) {
      const m = await ch.get(q, { noAck: false });
      if (m) {
        ch.ack(m);
        return m;
      }
    }
    return null;
  })();
  let viaConsume = null;
  await ch.consume(q, (m) => {
    if (m === null) return;
    viaConsume = m;
    ch.ack(m);
  });
  await waitFor(() => viaConsume !== null, 10000, 'the consumed 2 MiB message');
  await ch.deleteQueue(q);
  await conn.close();
  const describe = (m) => ({ length: m.content.length, sha256: sha(m.content), messageId: m.properties.messageId });
  return {
    frameMax: conn.connection.frameMax,
    sent: { length: body.length, sha256: sha(body) },
    viaGet: viaGet && describe(viaGet),
    viaConsume: describe(viaConsume),
  };
});
