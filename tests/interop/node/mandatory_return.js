// SPDX-License-Identifier: MIT
// A mandatory publish that no queue takes comes back as a 'return' event
// (basic.return 312 NO_ROUTE); a routable one does not.
'use strict';

const { amqp, run, once, sleep } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  const ex = `${prefix}.mand`;
  const q = `${prefix}.mand.q`;
  await ch.assertExchange(ex, 'direct', { durable: false });
  await ch.assertQueue(q, { durable: false });
  await ch.bindQueue(q, ex, 'bound');
  const returns = [];
  ch.on('return', (m) => returns.push(m));
  const first = once(ch, 'return', 5000);
  ch.publish(ex, 'nowhere', Buffer.from('unroutable'), { mandatory: true, messageId: 'm-1', headers: { h: 1 } });
  ch.publish(ex, 'bound', Buffer.from('routable'), { mandatory: true });
  ch.publish(ex, 'nowhere', Buffer.from('not-mandatory'));
  const [ret] = await first;
  await ch.waitForConfirms();
  await sleep(100);
  const { messageCount } = await ch.checkQueue(q);
  await ch.deleteQueue(q);
  await ch.deleteExchange(ex);
  await conn.close();
  return {
    returns: returns.length,
    fields: ret.fields,
    body: ret.content.toString(),
    messageId: ret.properties.messageId,
    headers: ret.properties.headers,
    messageCount,
  };
});
