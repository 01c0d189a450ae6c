// SPDX-License-Identifier: MIT
// A headers table with every value type amqplib encodes, including its
// explicit {'!': type, value} forms; prints the table the consumer decoded.
'use strict';

const { amqp, run, waitFor } = require('./common');

run(async (url, prefix) => {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const q = `${prefix}.headers`;
  await ch.assertQueue(q, { durable: false });

  const headers = {
    str: 'hello',
    utf8: 'h\u00e9llo \u2713',
    empty: '',
    longstr: 'x'.repeat(1000),
    yes: true,
    no: false,
    i8: -5, // amqplib picks 'b'
    i16: 1000, // 's'
    i32: 100000, // 'I'
    above2p31: 2 ** 31, // 'l'
    i64: 2 ** 40 + 3, // 'l'
    neg64: -(2 ** 33), // 'l'
    dbl: 3.25, // 'd'
    negdbl: -0.5,
    buf: Buffer.from([0, 1, 2, 254, 255]),
    nul: null, // 'V'
    arr: [1, 'two', true, null, [3, [4]], { k: 'v' }, 2.5, Buffer.from('ab')],
    emptyArr: [],
    nested: { a: { b: { c: 'deep', n: 2 ** 35 } }, list: ['x'], e: {} },
    x_float: { '!': 'float', value: 1.5 },
    x_double: { '!': 'double', value: 2 },
    x_int8: { '!': 'int8', value: -3 },
    x_uint8: { '!': 'uint8', value: 200 },
    x_int16: { '!': 'int16', value: -300 },
    x_uint16: { '!': 'uint16', value: 60000 },
    x_int32: { '!': 'int32', value: -5 },
    x_uint32: { '!': 'uint32', value: 4000000000 },
    x_int64: { '!': 'int64', value: 5 },
    x_timestamp: { '!': 'timestamp', value: 1700000000 },
    x_decimal: { '!': 'decimal', value: { places: 2, digits: 12345 } },
  };
  ch.sendToQueue(q, Buffer.from('tbl'), { headers });

  let got = null;
  await ch.consume(q, (m) => {
    if (m === null) return;
    got = m.properties.headers;
    ch.ack(m);
  });
  await waitFor(() => got !== null, 5000, 'the delivery');
  await ch.deleteQueue(q);
  await conn.close();
  return { headers: got };
});
