// SPDX-License-Identifier: MIT
// Connect with a URL, open and close a channel, close the connection cleanly.
'use strict';

const { amqp, run, once } = require('./common');

run(async (url) => {
  const conn = await amqp.connect(url);
  const props = conn.connection.serverProperties;
  let errorEvents = 0;
  conn.on('error', () => errorEvents++);
  const ch = await conn.createChannel();
  await ch.close();
  const closed = once(conn, 'close', 5000);
  await conn.close();
  const [closeArg] = await closed;
  return {
    capabilities: props.capabilities,
    frameMax: conn.connection.frameMax,
    channelMax: conn.connection.channelMax,
    closeEventError: closeArg === undefined ? null : String(closeArg),
    errorEvents,
  };
});
