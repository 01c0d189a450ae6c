// SPDX-License-Identifier: MIT
// x-max-length 1 with x-overflow reject-publish: on a ConfirmChannel the
// first publish is acked and the second nacked; the queue keeps the first.
'use strict';

const { amqp, run } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  const q = `${prefix}.overflow`;
  await ch.assertQueue(q, {
    durable: false,
    arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
  });
  const outcome = (body) =>
    new Promise((resolve) => {
      ch.sendToQueue(q, Buffer.from(body), {}, (err) => resolve(err ? 'nack' : 'ack'));
    });
  const first = await outcome('first');
  const second = await outcome('second');
  let waitError = null;
  try {
    await ch.waitForConfirms();
  } catch (err) {
    waitError = String(err && err.message ? err.message : err);
  }
  const { messageCount } = await ch.checkQueue(q);
  const kept = await ch.get(q, { noAck: true });
  await ch.deleteQueue(q);
  await conn.close();
  return { first, second, waitError, messageCount, kept: kept ? kept.content.toString() : null };
});
