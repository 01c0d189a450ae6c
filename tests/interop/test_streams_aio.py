# SPDX-License-Identifier: MIT
"""Stream queues (issue 16) through aio-pika (asyncio, aiormq and the pamqp
codec): declare a stream, publish with confirms, consumers from first, an
offset and the tail, x-stream-offset on every delivery (pamqp's long),
acks that remove nothing, what a stream refuses (basic.get's 540, a
consumer without a prefetch). Passes against RabbitMQ 3.10 too
(WARREN_TEST_BROKER).
"""

import asyncio

import aio_pika
import aiormq
import pytest
from aio_pika import Message

from aio_helpers import WAIT, connect, run, within

STREAM = {"x-queue-type": "stream"}


async def collect(queue, n, offset, prefetch=50):
    """n messages from a new consumer at offset (on its own channel):
    [(offset header, body)]; acks each."""
    ch = queue.channel
    got = []
    done = asyncio.Event()

    async def on_msg(msg):
        got.append((msg.headers["x-stream-offset"], msg.body))
        await msg.ack()
        if len(got) >= n:
            done.set()

    tag = await within(queue.consume(
        on_msg, arguments={"x-stream-offset": offset}))
    if n:
        await within(done.wait())
    return got, tag, ch


def test_aio_stream_roundtrip(broker, uniq):
    async def main():
        conn = await connect(broker)
        async with conn:
            pub = await within(conn.channel(publisher_confirms=True))
            q = await within(pub.declare_queue(uniq, durable=True,
                                               arguments=STREAM))
            for i in range(20):
                await within(pub.default_exchange.publish(
                    Message(b"e%d" % i, headers={"n": i}), routing_key=uniq))
            results = []
            for offset in ("first", 15, "first"):
                ch = await within(conn.channel())
                await within(ch.set_qos(prefetch_count=7))
                sq = await within(ch.declare_queue(uniq, durable=True,
                                                   arguments=STREAM))
                want = 20 if offset == "first" else 5
                got, _, _ = await collect(sq, want, offset)
                results.append(got)
            first, mid, again = results
            assert [o for o, _ in first] == list(range(20))
            assert [b for _, b in first] == [b"e%d" % i for i in range(20)]
            assert [o for o, _ in mid] == list(range(15, 20))
            assert again == first  # the acks removed nothing
            # a consumer at the tail gets what comes next
            ch = await within(conn.channel())
            await within(ch.set_qos(prefetch_count=5))
            sq = await within(ch.declare_queue(uniq, durable=True,
                                               arguments=STREAM))
            tail, _, _ = await collect(sq, 0, "next")
            await within(pub.default_exchange.publish(Message(b"late"),
                                                      routing_key=uniq))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WAIT
            while not tail and loop.time() < deadline:
                await asyncio.sleep(0.02)
            assert tail == [(20, b"late")]
            await within(q.delete(if_unused=False, if_empty=False))
    run(main())


def test_aio_stream_refusals(broker, uniq):
    async def main():
        conn = await connect(broker)
        async with conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(uniq, durable=True,
                                              arguments=STREAM))
            # no prefetch: channel error 406
            with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed) \
                    as ei:
                await within(q.consume(lambda m: None))
            assert "consumer prefetch count is not set" in str(ei.value)
        conn = await connect(broker)
        async with conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(uniq, durable=True,
                                              arguments=STREAM))
            # basic.get: the connection closes with 540
            with pytest.raises(aiormq.exceptions.AMQPError) as ei:
                await within(q.get(fail=False))
            assert "basic.get not supported by stream queues" in \
                str(ei.value)
        conn = await connect(broker)
        async with conn:
            ch = await within(conn.channel())
            await within(ch.queue_delete(uniq))
    run(main())
