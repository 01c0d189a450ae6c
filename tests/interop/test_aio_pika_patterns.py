# SPDX-License-Identifier: MIT
"""aio-pika usage patterns against the broker: RPC over direct reply-to and
over aio_pika.patterns.RPC (exclusive callback queue, headers dead-letter
exchange), channel errors (404, 405, 406) with the connection surviving,
transactions, a 2 MiB message, 5,000 messages to competing consumers,
consumer cancel notifications, auto-delete and exclusive lifetimes,
heartbeats, connection.close 320 on broker shutdown, and connect_robust
restoring its topology after a broker restart.

Every test that is not warren_only passes against RabbitMQ 3.10 too.
"""

import asyncio
import os
import socket

import aio_pika
import aio_pika.exceptions
import aiormq
import pytest
from aio_pika import ExchangeType, Message
from aio_pika.patterns import RPC

from aio_helpers import (WAIT, connect, get_message, message_count, run,
                         take, wait_count, within)

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"


async def _wait_for(pred, timeout=WAIT):
    """Poll pred() until true; return its last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred() and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return pred()


# -- RPC ----------------------------------------------------------------------


def test_rpc_direct_reply_to(broker, uniq):
    """RabbitMQ direct reply-to: the client consumes amq.rabbitmq.reply-to
    (no-ack) and publishes with reply_to=amq.rabbitmq.reply-to; the server
    sees a per-channel amq.rabbitmq.reply-to.* name and its reply, sent on
    another connection through the default exchange, reaches the client
    with its correlation id. No queue is declared for replies."""
    async def main():
        async with await connect(broker) as srv_conn, \
                await connect(broker) as cli_conn:
            srv = await within(srv_conn.channel())
            requests = await within(srv.declare_queue(uniq, exclusive=True))
            seen_reply_to = []

            async def serve(msg):
                async with msg.process():
                    seen_reply_to.append(msg.reply_to)
                    await srv.default_exchange.publish(
                        Message(msg.body.upper(),
                                correlation_id=msg.correlation_id),
                        msg.reply_to)
            await within(requests.consume(serve))

            cli = await within(cli_conn.channel())
            replies = await within(cli.get_queue(DIRECT_REPLY_TO,
                                                 ensure=False))
            got = {}
            done = asyncio.get_running_loop().create_future()

            def on_reply(msg):
                got[msg.correlation_id] = msg.body
                if len(got) == 3 and not done.done():
                    done.set_result(None)
            await within(replies.consume(on_reply, no_ack=True))
            for i in range(3):
                await within(cli.default_exchange.publish(
                    Message(b"ping-%d" % i, correlation_id="c%d" % i,
                            reply_to=DIRECT_REPLY_TO), uniq))
            await within(done)
            assert got == {"c%d" % i: b"PING-%d" % i for i in range(3)}
            assert all(r.startswith(DIRECT_REPLY_TO + ".")
                       for r in seen_reply_to), seen_reply_to
            assert len(set(seen_reply_to)) == 1  # one channel, one name
    run(main())


def test_rpc_pattern_exclusive_callback_queue(broker, uniq):
    """aio_pika.patterns.RPC: calls travel to a queue named after the
    method and results come back on the caller's exclusive, server-named
    callback queue; an exception in the remote function is re-raised."""
    async def main():
        async with await connect(broker) as srv_conn, \
                await connect(broker) as cli_conn:
            server = await within(RPC.create(await within(srv_conn.channel())))

            def multiply(*, x, y):
                if y == 0:
                    raise ValueError("y is zero")
                return x * y
            await within(server.register(uniq, multiply, auto_delete=True))

            client = await within(RPC.create(await within(cli_conn.channel())))
            assert client.result_queue.name.startswith("amq.gen-")
            results = await within(asyncio.gather(*(
                client.proxy.__getattr__(uniq)(x=i, y=3) for i in range(20))))
            assert results == [i * 3 for i in range(20)]
            with pytest.raises(ValueError, match="y is zero"):
                await within(client.call(uniq, dict(x=1, y=0)))
            await within(client.close())
            await within(server.close())
    run(main())


def test_rpc_pattern_expired_call_dead_letters_back(broker, uniq):
    """aio_pika.patterns.RPC call(expiration=...): nobody consumes the
    method queue, the call expires (per-message TTL), is dead-lettered
    through the headers exchange rpc.dlx (x-match any on "From") back to the
    caller's callback queue, and the call raises asyncio.TimeoutError."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            client = await within(RPC.create(ch))
            await within(ch.declare_queue(uniq, auto_delete=False, arguments={
                "x-dead-letter-exchange": RPC.DLX_NAME}))
            try:
                with pytest.raises(asyncio.TimeoutError) as ei:
                    await within(client.call(uniq, dict(x=1), expiration=0.2))
                # from the dead-lettered call, not from within()'s deadline
                assert len(ei.value.args) == 2, ei.value
                assert ei.value.args[1].headers["x-death"][0]["reason"] == \
                    "expired"
            finally:
                await within(ch.queue_delete(uniq))
                await within(client.close())
    run(main())


# -- channel errors -----------------------------------------------------------


def test_get_queue_missing_is_404(broker, uniq):
    """AMQP 0-9-1 queue.declare passive on a missing queue: channel.close
    404 NOT_FOUND, raised as aiormq ChannelNotFoundEntity by
    get_queue(ensure=True); the connection opens a new channel and works."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity) as ei:
                await within(ch.get_queue(uniq + "-missing", ensure=True))
            assert "NOT_FOUND" in ei.value.args[0]
            assert ch.is_closed and not conn.is_closed
            with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
                ch2 = await within(conn.channel())
                await within(ch2.get_exchange(uniq + "-missing", ensure=True))
            ch3 = await within(conn.channel())
            q = await within(ch3.declare_queue(uniq, exclusive=True))
            await within(ch3.default_exchange.publish(Message(b"ok"), uniq))
            assert (await get_message(q, no_ack=True)).body == b"ok"
    run(main())


def test_redeclare_mismatch_is_406(broker, uniq):
    """AMQP 0-9-1 queue.declare / exchange.declare with different
    arguments or type than the existing entity: 406 PRECONDITION_FAILED,
    raised as ChannelPreconditionFailed; the entity is unchanged."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            await within(ch.declare_queue(uniq, auto_delete=True,
                                          arguments={"x-max-length": 5}))
            with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
                await within(ch.declare_queue(uniq, auto_delete=True,
                                              arguments={"x-max-length": 6}))
            assert ch.is_closed
            ch = await within(conn.channel())
            await within(ch.declare_exchange(uniq, ExchangeType.TOPIC,
                                             auto_delete=True))
            with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
                await within(ch.declare_exchange(uniq, ExchangeType.FANOUT,
                                                 auto_delete=True))
            ch = await within(conn.channel())
            await within(ch.declare_exchange(uniq, ExchangeType.TOPIC,
                                             auto_delete=True))
            await within(ch.declare_queue(uniq, auto_delete=True,
                                          arguments={"x-max-length": 5}))
            await within(ch.queue_delete(uniq))
            await within(ch.exchange_delete(uniq))
    run(main())


def test_exclusive_queue_other_connection_is_405(broker, uniq):
    """AMQP 0-9-1 exclusive queues: another connection declaring or
    consuming it gets 405 RESOURCE_LOCKED (ChannelLockedResource); the
    queue goes away with its owner's connection (then 404)."""
    async def main():
        async with await connect(broker) as other:
            owner = await connect(broker)
            och = await within(owner.channel())
            await within(och.declare_queue(uniq, exclusive=True))
            ch = await within(other.channel())
            with pytest.raises(aiormq.exceptions.ChannelLockedResource):
                await within(ch.declare_queue(uniq, exclusive=True))
            ch = await within(other.channel())
            q = await within(ch.get_queue(uniq, ensure=False))
            with pytest.raises(aiormq.exceptions.ChannelLockedResource):
                await within(q.consume(lambda m: None))
            await within(owner.close())

            async def gone():
                c = await within(other.channel())
                try:
                    await within(c.get_queue(uniq, ensure=True))
                except aiormq.exceptions.ChannelNotFoundEntity:
                    return True
                except aiormq.exceptions.ChannelLockedResource:
                    return False
                await within(c.close())
                return False
            for _ in range(100):
                if await gone():
                    break
                await asyncio.sleep(0.02)
            else:
                pytest.fail("exclusive queue outlived its connection")
    run(main())


# -- transactions -------------------------------------------------------------


def test_transaction_commit_and_rollback(broker, uniq):
    """AMQP 0-9-1 tx class through channel.transaction(): publishes are
    held until tx.commit (async with exits cleanly), discarded by
    tx.rollback (an exception inside), and a channel may run several
    transactions one after the other."""
    async def main():
        async with await connect(broker) as conn:
            probe = await within(conn.channel())
            await within(probe.declare_queue(uniq, exclusive=True))
            ch = await within(conn.channel(publisher_confirms=False))
            async with ch.transaction():
                for i in range(3):
                    await within(ch.default_exchange.publish(
                        Message(b"c%d" % i), uniq))
                await asyncio.sleep(0.1)
                assert await message_count(probe, uniq) == 0
            assert await wait_count(probe, uniq, 3) == 3

            with pytest.raises(RuntimeError, match="changed my mind"):
                async with ch.transaction():
                    await within(ch.default_exchange.publish(
                        Message(b"r"), uniq))
                    raise RuntimeError("changed my mind")
            await asyncio.sleep(0.1)
            assert await message_count(probe, uniq) == 3

            tx = ch.transaction()
            await within(tx.select())
            await within(ch.default_exchange.publish(Message(b"c3"), uniq))
            await within(tx.rollback())
            await within(ch.default_exchange.publish(Message(b"c4"), uniq))
            await within(tx.commit())
            q = await within(probe.get_queue(uniq))
            bodies = [(await get_message(q, no_ack=True)).body
                      for _ in range(4)]
            assert bodies == [b"c0", b"c1", b"c2", b"c4"]
            assert await get_message(q, timeout=0.2) is None
    run(main())


def test_transaction_on_confirm_channel_is_406(broker):
    """RabbitMQ: tx.select on a channel in confirm mode (aio-pika's default
    channel) is 406 PRECONDITION_FAILED. aio-pika refuses it itself, so
    the broker is asked through the aiormq channel underneath."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            with pytest.raises(RuntimeError, match="publisher confirms"):
                ch.transaction()
            with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
                await within(ch.channel.tx_select())
            assert ch.is_closed and not conn.is_closed
    run(main())


# -- volume -------------------------------------------------------------------


def test_2mib_message_round_trip(broker, uniq):
    """A 2 MiB body crosses as many body frames (frame-max 128 KiB) both
    ways and comes back byte for byte, confirmed, through a consumer."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(uniq, exclusive=True))
            body = os.urandom(2 * 1024 * 1024)
            ok = await within(ch.default_exchange.publish(
                Message(body, message_id="big"), uniq), 20)
            assert isinstance(ok, aiormq.spec.Basic.Ack)
            async with q.iterator() as it:
                (msg,) = await take(it, 1, 20)
                async with msg.process():
                    assert msg.body_size == len(body)
                    assert msg.body == body and msg.message_id == "big"
    run(main(), 60)


def test_5000_messages_two_competing_consumers(broker, uniq):
    """Competing consumers (AMQP 0-9-1 round-robin among a queue's
    consumers): 5,000 confirmed messages to two consumers on separate
    connections; each message goes to exactly one of them, none is lost,
    and both get a share."""
    n = 5000

    async def main():
        async with await connect(broker) as c1, await connect(broker) as c2, \
                await connect(broker) as pub_conn:
            pub = await within(pub_conn.channel())
            await within(pub.declare_queue(uniq, auto_delete=True))
            seen = [[], []]
            done = asyncio.get_running_loop().create_future()

            def make(i):
                async def on_message(msg):
                    seen[i].append(int(msg.body))
                    await msg.ack()
                    if len(seen[0]) + len(seen[1]) == n and not done.done():
                        done.set_result(None)
                return on_message
            for i, c in enumerate((c1, c2)):
                ch = await within(c.channel())
                await within(ch.set_qos(prefetch_count=50))
                q = await within(ch.get_queue(uniq))
                await within(q.consume(make(i)))
            for start in range(0, n, 1000):
                await within(asyncio.gather(*(
                    pub.default_exchange.publish(Message(b"%d" % j), uniq)
                    for j in range(start, start + 1000))), 30)
            await within(done, 30)
            a, b = set(seen[0]), set(seen[1])
            assert len(a) == len(seen[0]) and len(b) == len(seen[1])
            assert not (a & b)
            assert a | b == set(range(n))
            assert len(a) > 0 and len(b) > 0
            assert await wait_count(pub, uniq, 0) == 0
    run(main(), 60)


# -- lifetimes and notifications ----------------------------------------------


def test_consumer_cancel_notify_on_queue_delete(broker, uniq):
    """RabbitMQ consumer_cancel_notify: deleting a queue sends basic.cancel
    to its consumers; aiormq drops the consumer, the channel stays open and
    usable, and unacked messages do not come back."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(uniq, auto_delete=False))
            await within(ch.default_exchange.publish(Message(b"held"), uniq))
            got = asyncio.Queue()
            tag = await within(q.consume(got.put))
            held = await within(got.get())
            assert tag in ch.channel.consumers
            other = await within(conn.channel())
            await within(other.queue_delete(uniq))
            assert await _wait_for(lambda: tag not in ch.channel.consumers)
            assert not ch.is_closed
            q2 = await within(ch.declare_queue("", exclusive=True))
            await within(ch.default_exchange.publish(Message(b"again"),
                                                     q2.name))
            assert (await get_message(q2, no_ack=True)).body == b"again"
            assert held.body == b"held"
    run(main())


def test_auto_delete_queue_and_exchange_lifetimes(broker, uniq):
    """AMQP 0-9-1 auto-delete: a queue goes when its last consumer is
    cancelled; RabbitMQ: an exchange goes when its last binding as source
    is removed."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            ex = await within(ch.declare_exchange(uniq, ExchangeType.FANOUT,
                                                  auto_delete=True))
            q = await within(ch.declare_queue(uniq, auto_delete=True))
            await within(q.bind(ex))
            tag = await within(q.consume(lambda m: None))
            await within(q.unbind(ex))
            await within(q.cancel(tag))
            for kind, getter in (("queue", "get_queue"),
                                 ("exchange", "get_exchange")):
                c = await within(conn.channel())
                with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
                    await within(getattr(c, getter)(uniq, ensure=True))
    run(main())


def test_basic_get_empty_raises_queue_empty(broker, uniq):
    """basic.get-empty: queue.get() raises aio_pika QueueEmpty, get(fail=
    False) returns None, and the channel stays open."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(uniq, exclusive=True))
            with pytest.raises(aio_pika.exceptions.QueueEmpty):
                await within(q.get())
            assert await within(q.get(fail=False)) is None
            assert not ch.is_closed
    run(main())


@pytest.mark.warren_only
def test_broker_shutdown_closes_with_320(broker_factory):
    """AMQP 0-9-1 connection.close 320 CONNECTION_FORCED on broker
    shutdown (SIGTERM): aio-pika's close callback gets an aiormq
    ConnectionClosed carrying 320, and the broker exits 0. (Needs a
    private broker to stop.)"""
    srv = broker_factory()

    async def main():
        conn = await connect(srv.address)
        closed = asyncio.get_running_loop().create_future()
        conn.close_callbacks.add(
            lambda _c, exc: closed.done() or closed.set_result(exc))
        ch = await within(conn.channel())
        await within(ch.declare_queue("", exclusive=True))
        loop = asyncio.get_running_loop()
        rc = await loop.run_in_executor(None, srv.terminate)
        exc = await within(closed)
        assert rc == 0
        return exc

    exc = run(main())
    assert isinstance(exc, aiormq.exceptions.ConnectionClosed), repr(exc)
    assert exc.args[0] == 320, exc.args


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.warren_only
def test_connect_robust_restores_topology_after_restart(broker_factory, uniq):
    """connect_robust across a broker restart: the connection is closed
    with 320, aio-pika reconnects to the new broker on the same port and
    replays its channel's qos, exchange, queue, binding and consumer, so
    a publish after the restart reaches the same callback. (Needs a
    private broker to restart.)"""
    port = _free_port()
    srv = broker_factory("--port", str(port))

    async def main():
        nonlocal srv
        conn = await connect(srv.address, robust=True, reconnect_interval=0.1)
        async with conn:
            reconnected = asyncio.Event()
            conn.reconnect_callbacks.add(lambda *_: reconnected.set())
            ch = await within(conn.channel())
            await within(ch.set_qos(prefetch_count=5))
            ex = await within(ch.declare_exchange(uniq, ExchangeType.TOPIC,
                                                  auto_delete=True))
            q = await within(ch.declare_queue(uniq, auto_delete=True))
            await within(q.bind(ex, "a.#"))
            got = asyncio.Queue()

            async def on_message(msg):
                async with msg.process():
                    await got.put(msg.body)
            await within(q.consume(on_message))
            await within(ex.publish(Message(b"before"), "a.1"))
            assert await within(got.get()) == b"before"

            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, srv.terminate) == 0
            srv = broker_factory("--port", str(port))
            await within(reconnected.wait(), 10 * WAIT)
            await within(ch.channel.basic_qos(prefetch_count=5))  # reopened
            await within(ex.publish(Message(b"after"), "a.2"))
            assert await within(got.get()) == b"after"
    run(main(), 60)


def test_heartbeats_keep_idle_connection_open(broker, uniq):
    """AMQP 0-9-1 heartbeats: with heartbeat=1 negotiated both ways, a
    connection idle for over 3 heartbeat intervals stays open (the broker
    sends heartbeats aiormq accepts and accepts aiormq's) and works."""
    async def main():
        host, port = broker
        conn = await within(aio_pika.connect(
            "amqp://guest:guest@%s:%d/?heartbeat=1" % (host, port),
            timeout=WAIT))
        async with conn:
            assert conn.transport.connection.connection_tune.heartbeat == 1
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(uniq, exclusive=True))
            await asyncio.sleep(3.5)
            assert not conn.is_closed
            await within(ch.default_exchange.publish(Message(b"hb"), uniq))
            assert (await get_message(q, no_ack=True)).body == b"hb"
    run(main())
