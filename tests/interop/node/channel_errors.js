// SPDX-License-Identifier: MIT
// Channel errors: each closes only its channel (an 'error' then a 'close'
// event with the AMQP reply code), and the connection stays usable.
'use strict';

const { amqp, run, once } = require('./common');

// Open a channel, run op(ch), and report how the channel died.
async function expectChannelError(conn, op) {
  const ch = await conn.createChannel();
  const errors = [];
  ch.on('error', (err) => errors.push(err));
  const closed = once(ch, 'close', 5000);
  let rejected = null;
  try {
    await op(ch);
  } catch (err) {
    rejected = { code: err.code, message: err.message };
  }
  await closed;
  return {
    rejected,
    errorEvents: errors.map((e) => ({ code: e.code, classId: e.classId, methodId: e.methodId })),
    closeEvent: true,
  };
}

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  let connErrors = 0;
  conn.on('error', () => connErrors++);
  const out = {};
  const q = `${prefix}.err`;
  const ex = `${prefix}.err.x`;

  out.checkMissingQueue = await expectChannelError(conn, (ch) => ch.checkQueue(`${prefix}.missing`));
  out.checkMissingExchange = await expectChannelError(conn, (ch) => ch.checkExchange(`${prefix}.missing`));

  // Still usable: a new channel declares and gets.
  const ch = await conn.createChannel();
  out.afterError = await ch.assertQueue(q, { durable: false });
  await ch.assertExchange(ex, 'direct', { durable: false });

  out.queueArgsMismatch = await expectChannelError(conn, (c) =>
    c.assertQueue(q, { durable: false, arguments: { 'x-max-length': 5 } }),
  );
  out.queueDurableMismatch = await expectChannelError(conn, (c) => c.assertQueue(q, { durable: true }));
  out.exchangeTypeMismatch = await expectChannelError(conn, (c) => c.assertExchange(ex, 'fanout', { durable: false }));
  // Errors after a publish arrive asynchronously: the following RPC fails.
  out.publishMissingExchange = await expectChannelError(conn, async (c) => {
    c.publish(`${prefix}.missing`, 'k', Buffer.from('x'));
    await c.checkQueue(q);
  });
  out.publishWrongUserId = await expectChannelError(conn, async (c) => {
    c.sendToQueue(q, Buffer.from('x'), { userId: 'not-the-login' });
    await c.checkQueue(q);
  });

  out.stillUsable = await ch.checkQueue(q);
  await ch.deleteQueue(q);
  await ch.deleteExchange(ex);
  await conn.close();
  out.connErrors = connErrors;
  return out;
});
