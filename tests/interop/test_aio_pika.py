# SPDX-License-Identifier: MIT
"""aio-pika (asyncio, on aiormq and the pamqp codec) against the broker:
connect and connect_robust, topology (every exchange type, bindings,
exchange-to-exchange), every basic property and field-table type round
trip, consuming with queue iterators and message.process(), nack/reject,
QoS, publisher confirms (acks, reject-publish nacks) and mandatory returns.

RPC, channel errors, transactions, large and many messages, cancel
notifications and broker shutdown are in test_aio_pika_patterns.py.
Every test that is not warren_only passes against RabbitMQ 3.10 too.
"""

import asyncio
import datetime
import decimal

import aio_pika
import aiormq
import pytest
from aio_pika import DeliveryMode, ExchangeType, Message

from aio_helpers import (WAIT, connect, get_message, message_count, run,
                         take, wait_count, within)


# -- connection ---------------------------------------------------------------


def test_connect_server_capabilities(broker):
    """connection.start server-properties: the capabilities aiormq reads
    (RabbitMQ extensions: basic.nack, consumer_cancel_notify,
    exchange_exchange_bindings, publisher_confirms, ...) are all true."""
    async def main():
        conn = await connect(broker)
        try:
            amqp = conn.transport.connection
            caps = amqp.server_capabilities
            for cap in ("publisher_confirms", "basic.nack",
                        "consumer_cancel_notify", "exchange_exchange_bindings",
                        "connection.blocked", "authentication_failure_close",
                        "per_consumer_qos", "direct_reply_to"):
                assert caps.get(cap) is True, cap
            assert amqp.basic_nack and amqp.consumer_cancel_notify
            assert amqp.exchange_exchange_bindings and amqp.publisher_confirms
            assert amqp.server_properties.get("product")
            assert not conn.is_closed
        finally:
            await within(conn.close())
        assert conn.is_closed
    run(main())


def test_connect_robust_round_trip(broker, uniq):
    """connect_robust: a robust channel declares, publishes (confirmed) and
    gets like a plain one."""
    async def main():
        conn = await connect(broker, robust=True)
        async with conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(uniq, exclusive=True))
            await within(ch.default_exchange.publish(Message(b"robust"), uniq))
            msg = await get_message(q)
            assert msg.body == b"robust" and msg.routing_key == uniq
            await within(msg.ack())
            assert await message_count(ch, uniq) == 0
        assert conn.is_closed
    run(main())


def test_connect_bad_password_refused(broker):
    """RabbitMQ authentication_failure_close: a wrong password ends with
    connection.close 403 ACCESS_REFUSED, which aiormq reports as a
    ProbableAuthenticationError (aiormq's name for a 403 in the handshake),
    never a hang."""
    async def main():
        host, port = broker
        with pytest.raises(
                aiormq.exceptions.ProbableAuthenticationError) as ei:
            await within(aio_pika.connect(host=host, port=port, login="guest",
                                          password="not-the-password",
                                          timeout=WAIT))
        assert "ACCESS_REFUSED" in ei.value.args[0]
    run(main())


# -- topology -----------------------------------------------------------------


async def _queue(ch, **kw):
    return await within(ch.declare_queue("", exclusive=True, **kw))


async def _drain(q, timeout=0.3):
    """Bodies of everything q holds (auto-ack), waiting `timeout` s for
    stragglers."""
    out = []
    while True:
        msg = await get_message(q, timeout=timeout, no_ack=True)
        if msg is None:
            return out
        out.append(msg.body)


def test_exchange_types_route(broker, uniq):
    """AMQP 0-9-1 exchange types: direct (exact key), fanout (every
    binding), topic (* one word, # zero or more), headers (x-match all/any)."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            ex = {}
            for kind in ExchangeType.DIRECT, ExchangeType.FANOUT, \
                    ExchangeType.TOPIC, ExchangeType.HEADERS:
                ex[kind] = await within(ch.declare_exchange(
                    "%s-%s" % (uniq, kind.value), kind, auto_delete=True))
            d1, d2 = await _queue(ch), await _queue(ch)
            await within(d1.bind(ex[ExchangeType.DIRECT], "k1"))
            await within(d2.bind(ex[ExchangeType.DIRECT], "k2"))
            f1, f2 = await _queue(ch), await _queue(ch)
            await within(f1.bind(ex[ExchangeType.FANOUT]))
            await within(f2.bind(ex[ExchangeType.FANOUT], "ignored"))
            t1, t2 = await _queue(ch), await _queue(ch)
            await within(t1.bind(ex[ExchangeType.TOPIC], "a.*.c"))
            await within(t2.bind(ex[ExchangeType.TOPIC], "a.#"))
            h_all, h_any = await _queue(ch), await _queue(ch)
            await within(h_all.bind(ex[ExchangeType.HEADERS], arguments={
                "x-match": "all", "kind": "x", "n": 1}))
            await within(h_any.bind(ex[ExchangeType.HEADERS], arguments={
                "x-match": "any", "kind": "x", "n": 1}))

            async def pub(kind, key, body, headers=None):
                await within(ex[kind].publish(Message(body, headers=headers),
                                              key))

            await pub(ExchangeType.DIRECT, "k1", b"d-1")
            await pub(ExchangeType.DIRECT, "k2", b"d-2")
            await pub(ExchangeType.DIRECT, "k3", b"d-none")
            await pub(ExchangeType.FANOUT, "whatever", b"f")
            for key in "a.b.c", "a", "a.b.c.d", "x.b.c":
                await pub(ExchangeType.TOPIC, key, key.encode())
            await pub(ExchangeType.HEADERS, "", b"h-both",
                      {"kind": "x", "n": 1})
            await pub(ExchangeType.HEADERS, "", b"h-one", {"kind": "x"})
            await pub(ExchangeType.HEADERS, "", b"h-none", {"kind": "y"})

            assert await _drain(d1) == [b"d-1"]
            assert await _drain(d2) == [b"d-2"]
            assert await _drain(f1) == [b"f"]
            assert await _drain(f2) == [b"f"]
            assert await _drain(t1) == [b"a.b.c"]
            assert await _drain(t2) == [b"a.b.c", b"a", b"a.b.c.d"]
            assert await _drain(h_all) == [b"h-both"]
            assert await _drain(h_any) == [b"h-both", b"h-one"]
    run(main())


def test_bind_unbind(broker, uniq):
    """queue.unbind removes exactly the binding given: later publishes with
    that key are not routed, the other binding still is."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            ex = await within(ch.declare_exchange(uniq, ExchangeType.DIRECT,
                                                  auto_delete=True))
            q = await _queue(ch)
            await within(q.bind(ex, "a"))
            await within(q.bind(ex, "b"))
            await within(ex.publish(Message(b"a1"), "a"))
            await within(q.unbind(ex, "a"))
            await within(ex.publish(Message(b"a2"), "a"))
            await within(ex.publish(Message(b"b1"), "b"))
            assert await _drain(q) == [b"a1", b"b1"]
    run(main())


def test_exchange_to_exchange_binding(broker, uniq):
    """RabbitMQ exchange.bind: a topic source routes into a fanout
    destination; exchange.unbind stops it. Routing through both is
    deduplicated per queue. (The source is not auto-delete: RabbitMQ
    deletes an auto-delete exchange with its last binding as source.)"""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            src = await within(ch.declare_exchange(
                uniq + "-src", ExchangeType.TOPIC))
            dst = await within(ch.declare_exchange(
                uniq + "-dst", ExchangeType.FANOUT, auto_delete=True))
            q = await _queue(ch)
            await within(q.bind(dst))
            await within(dst.bind(src, "orders.*"))
            await within(q.bind(src, "orders.#"))  # a second path to q
            await within(src.publish(Message(b"o1"), "orders.new"))
            await within(src.publish(Message(b"x"), "other.new"))
            await within(dst.unbind(src, "orders.*"))
            await within(q.unbind(src, "orders.#"))
            await within(src.publish(Message(b"o2"), "orders.new"))
            assert await _drain(q) == [b"o1"]
            await within(src.delete())
    run(main())


def test_queue_declare_ok_counts_and_delete(broker, uniq):
    """queue.declare-ok carries message and consumer counts; queue.purge
    and queue.delete report how many messages went."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(uniq, auto_delete=False))
            for i in range(3):
                await within(ch.default_exchange.publish(
                    Message(b"%d" % i), uniq))
            assert await wait_count(ch, uniq, 3) == 3
            again = await within(ch.declare_queue(uniq))
            assert again.declaration_result.message_count == 3
            assert again.declaration_result.consumer_count == 0
            purged = await within(q.purge())
            assert purged.message_count == 3
            await within(ch.default_exchange.publish(Message(b"x"), uniq))
            deleted = await within(q.delete(if_unused=True, if_empty=False))
            assert deleted.message_count == 1
    run(main())


# -- properties and headers ---------------------------------------------------


def test_every_basic_property_round_trips(broker, uniq):
    """AMQP 0-9-1 basic content properties: all 13 the client can set come
    back unchanged (user-id equal to the login, as RabbitMQ requires)."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(
                uniq, exclusive=True, arguments={"x-max-priority": 9}))
            ts = datetime.datetime(2024, 5, 6, 7, 8, 9)
            sent = Message(
                b'{"k": 1}', content_type="application/json",
                content_encoding="utf-8", headers={"h": "v", "n": 7},
                delivery_mode=DeliveryMode.PERSISTENT, priority=7,
                correlation_id="corr-1", reply_to="reply-q",
                expiration=60, message_id="mid-1", timestamp=ts,
                type="order.created", user_id="guest", app_id="app-1")
            await within(ch.default_exchange.publish(sent, uniq))
            got = await get_message(q)
            assert got is not None
            assert got.body == b'{"k": 1}'
            assert got.content_type == "application/json"
            assert got.content_encoding == "utf-8"
            assert dict(got.headers) == {"h": "v", "n": 7}
            assert got.delivery_mode == DeliveryMode.PERSISTENT
            assert got.priority == 7
            assert got.correlation_id == "corr-1"
            assert got.reply_to == "reply-q"
            assert got.expiration == 60.0  # "60000" ms on the wire
            assert got.message_id == "mid-1"
            assert got.timestamp == ts
            assert got.type == "order.created"
            assert got.user_id == "guest"
            assert got.app_id == "app-1"
            assert (got.exchange, got.routing_key, got.redelivered) == \
                ("", uniq, False)
            await within(got.ack())
    run(main())


def test_user_id_not_login_is_406(broker, uniq):
    """RabbitMQ validated user-id: a publish whose user-id is not the
    authenticated user closes the channel with 406 PRECONDITION_FAILED;
    the confirm-waiting publish raises it, and the connection stays usable."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            await within(ch.declare_queue(uniq, auto_delete=True))
            with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
                await within(ch.default_exchange.publish(
                    Message(b"x", user_id="mallory"), uniq))
            assert ch.is_closed
            ch2 = await within(conn.channel())
            assert await message_count(ch2, uniq) == 0
    run(main())


# Every field-table value type pamqp 3 encodes, chosen to pick each
# integer width (b s u I i l), with values that survive a 32-bit float;
# pamqp decodes each back to the same Python type (naive UTC datetimes,
# bytearray for 'x'), so sent and received compare equal, type included.
HEADER_TABLE = {
    "bool-t": True,
    "bool-f": False,
    "int8": 5,  # pamqp packs 'b' as an unsigned octet: no negatives
    "int16": -30000,
    "uint16": 40000,
    "int32": -2000000000,
    "uint32": 3000000000,
    "int64": -(2 ** 62),
    "float": 1.5,
    "decimal": decimal.Decimal("3.25"),
    "str": "h\u00e9llo",
    "datetime": datetime.datetime(2023, 1, 2, 3, 4, 5),
    "bytes": bytearray(b"\x00\x01\xfe\xff"),
    "void": None,
    "list": [1, "two", True, None, [3], {"k": "v"}],
    "table": {"nested": {"deep": -200, "s": "x"}, "empty": {}, "arr": []},
}


def test_header_table_every_type_round_trips(broker, uniq):
    """AMQP 0-9-1 field tables with RabbitMQ's type set (t b s u I i l f D
    S T F A x V): every value pamqp encodes comes back with the same value
    at the wire level (aiormq), nested tables and arrays included."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            await within(ch.declare_queue(uniq, exclusive=True))
            raw = ch.channel  # the aiormq channel: pamqp tables, unconverted
            await within(raw.basic_publish(
                b"t", routing_key=uniq,
                properties=aiormq.spec.Basic.Properties(
                    headers=HEADER_TABLE)))
            got = None
            for _ in range(100):
                got = await within(raw.basic_get(uniq, no_ack=True))
                if isinstance(got.delivery, aiormq.spec.Basic.GetOk):
                    break
                await asyncio.sleep(0.02)
            assert isinstance(got.delivery, aiormq.spec.Basic.GetOk)
            headers = got.header.properties.headers
            assert set(headers) == set(HEADER_TABLE)
            for k, v in HEADER_TABLE.items():
                assert headers[k] == v and type(headers[k]) is type(v), k
    run(main())


def test_header_aio_pika_converted_values(broker, uniq):
    """aio-pika's own header conversion (bytes -> 'x' byte array, tuple ->
    array, str) survives the broker, and bind arguments reach a headers
    exchange unchanged (x-match matches on int and str values)."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            ex = await within(ch.declare_exchange(uniq, ExchangeType.HEADERS,
                                                  auto_delete=True))
            q = await _queue(ch)
            await within(q.bind(ex, arguments={"x-match": "all",
                                               "n": 300, "s": "v"}))
            await within(ex.publish(Message(b"m", headers={
                "n": 300, "s": "v", "raw": b"\x00bin", "tup": (1, 2)}), ""))
            await within(ex.publish(Message(b"miss", headers={
                "n": 301, "s": "v"}), ""))
            msg = await get_message(q, no_ack=True)
            assert msg is not None and msg.body == b"m"
            assert msg.headers_raw["raw"] == bytearray(b"\x00bin")
            assert msg.headers_raw["tup"] == [1, 2]
            assert msg.headers_raw["n"] == 300
            assert await get_message(q, timeout=0.3) is None
    run(main())


# -- consuming ----------------------------------------------------------------


def test_iterator_process_acks(broker, uniq):
    """queue.iterator() + `async with message.process()`: each message is
    acked on a clean exit, so nothing is left or redelivered after the
    channel closes."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(uniq, auto_delete=False))
            for i in range(10):
                await within(ch.default_exchange.publish(
                    Message(b"%d" % i), uniq))
            got = []
            async with q.iterator() as it:
                async for msg in it:
                    async with msg.process():
                        got.append(msg.body)
                    if len(got) == 10:
                        break
            assert got == [b"%d" % i for i in range(10)]
            await within(ch.close())
            ch2 = await within(conn.channel())
            assert await message_count(ch2, uniq) == 0
            await within(ch2.queue_delete(uniq))
    run(main())


def test_process_exception_requeues_redelivered(broker, uniq):
    """message.process(requeue=True): an exception inside rejects with
    requeue, and the message comes back marked redelivered (AMQP 0-9-1
    basic.reject, redelivered flag)."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(uniq, exclusive=True))
            await within(ch.default_exchange.publish(Message(b"job"), uniq))
            async with q.iterator() as it:
                (first,) = await take(it, 1)
                with pytest.raises(ZeroDivisionError):
                    async with first.process(requeue=True):
                        1 / 0
                (again,) = await take(it, 1)
                async with again.process():
                    assert (first.redelivered, again.redelivered) == \
                        (False, True)
                    assert again.body == b"job"
            assert await message_count(ch, uniq) == 0
    run(main())


def test_nack_reject_requeue_and_drop(broker, uniq):
    """basic.nack/basic.reject with requeue put the message back,
    redelivered; without requeue they drop it (no dead-letter exchange)."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(uniq, exclusive=True))
            for body in b"a", b"b":
                await within(ch.default_exchange.publish(Message(body), uniq))
            assert await wait_count(ch, uniq, 2) == 2
            a = await get_message(q)
            b = await get_message(q)
            await within(a.nack(requeue=True))
            await within(b.reject(requeue=True))
            again = [await get_message(q), await get_message(q)]
            assert sorted((m.body, m.redelivered) for m in again) == \
                [(b"a", True), (b"b", True)]
            await within(again[0].nack(requeue=False))
            await within(again[1].reject(requeue=False))
            assert await get_message(q, timeout=0.3) is None
    run(main())


def test_qos_prefetch_limits_in_flight(broker, uniq):
    """basic.qos prefetch_count=3: a consumer holds at most 3 unacked
    messages; each ack lets exactly one more through."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            await within(ch.set_qos(prefetch_count=3))
            q = await within(ch.declare_queue(uniq, exclusive=True))
            for i in range(10):
                await within(ch.default_exchange.publish(
                    Message(b"%d" % i), uniq))
            got = asyncio.Queue()
            await within(q.consume(got.put))
            held = [await within(got.get()) for _ in range(3)]
            await asyncio.sleep(0.3)
            assert got.qsize() == 0  # the fourth waits for an ack
            assert await message_count(ch, uniq) == 7
            await within(held[0].ack())
            held.append(await within(got.get()))
            await asyncio.sleep(0.2)
            assert got.qsize() == 0
            assert [m.body for m in held] == [b"0", b"1", b"2", b"3"]
            await within(held[-1].ack(multiple=True))
            rest = [await within(got.get()) for _ in range(3)]
            assert [m.body for m in rest] == [b"4", b"5", b"6"]
    run(main())


def test_priority_queue_delivers_highest_first(broker, uniq):
    """RabbitMQ priority queues (x-max-priority=5): messages waiting in
    the queue come out highest priority first, FIFO within a priority;
    priorities above the maximum count as the maximum."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            q = await within(ch.declare_queue(
                uniq, exclusive=True, arguments={"x-max-priority": 5}))
            for body, prio in ((b"p0", 0), (b"p3a", 3), (b"p9", 9),
                               (b"p3b", 3), (b"p1", 1)):
                await within(ch.default_exchange.publish(
                    Message(body, priority=prio), uniq))
            assert await wait_count(ch, uniq, 5) == 5
            got = [(await get_message(q, no_ack=True)) for _ in range(5)]
            assert [(m.body, m.priority) for m in got] == [
                (b"p9", 9), (b"p3a", 3), (b"p3b", 3), (b"p1", 1), (b"p0", 0)]
    run(main())


# -- publisher confirms and returns -------------------------------------------


def test_confirms_1000_in_flight(broker, uniq):
    """RabbitMQ publisher confirms (the aio-pika default): 1,000 publishes
    in flight at once, every one confirmed with basic.ack, all enqueued."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel(publisher_confirms=True))
            await within(ch.declare_queue(uniq, exclusive=True))
            results = await within(asyncio.gather(*(
                ch.default_exchange.publish(Message(b"%d" % i), uniq)
                for i in range(1000))), 30)
            assert len(results) == 1000
            assert all(isinstance(r, aiormq.spec.Basic.Ack) for r in results)
            assert await wait_count(ch, uniq, 1000) == 1000
    run(main())


def test_reject_publish_overflow_nacks(broker, uniq):
    """RabbitMQ x-overflow=reject-publish with x-max-length=1: the first
    publish is acked, the second is nacked, which aio-pika raises as
    DeliveryError carrying basic.nack; the queue keeps the first."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            await within(ch.declare_queue(uniq, exclusive=True, arguments={
                "x-max-length": 1, "x-overflow": "reject-publish"}))
            ok = await within(ch.default_exchange.publish(Message(b"1"), uniq))
            assert isinstance(ok, aiormq.spec.Basic.Ack)
            with pytest.raises(aiormq.exceptions.DeliveryError) as ei:
                await within(ch.default_exchange.publish(Message(b"2"), uniq))
            assert isinstance(ei.value.frame, aiormq.spec.Basic.Nack)
            assert await message_count(ch, uniq) == 1
            q = await within(ch.get_queue(uniq))
            assert (await get_message(q, no_ack=True)).body == b"1"
            # room again: the next publish is acked
            ok = await within(ch.default_exchange.publish(Message(b"3"), uniq))
            assert isinstance(ok, aiormq.spec.Basic.Ack)
    run(main())


def test_mandatory_unroutable_raises_publish_error(broker, uniq):
    """AMQP 0-9-1 basic.return 312 NO_ROUTE for a mandatory unroutable
    publish: with on_return_raises=True aio-pika raises PublishError
    (after basic.return, before the basic.ack RabbitMQ sends next)."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel(on_return_raises=True))
            with pytest.raises(aiormq.exceptions.PublishError) as ei:
                await within(ch.default_exchange.publish(
                    Message(b"lost", message_id="m-lost"),
                    uniq + "-nowhere", mandatory=True))
            ret = ei.value.message
            assert ret.delivery.reply_code == 312
            assert ret.delivery.reply_text == "NO_ROUTE"
            assert ret.delivery.routing_key == uniq + "-nowhere"
            assert ret.body == b"lost"
            # not mandatory: dropped silently, confirmed with an ack
            ok = await within(ch.default_exchange.publish(
                Message(b"lost"), uniq + "-nowhere", mandatory=False))
            assert isinstance(ok, aiormq.spec.Basic.Ack)
            assert not ch.is_closed
    run(main())


def test_mandatory_return_callback(broker, uniq):
    """Default channel (on_return_raises=False): a returned message reaches
    channel.return_callbacks as an IncomingMessage with its properties."""
    async def main():
        async with await connect(broker) as conn:
            ch = await within(conn.channel())
            returned = asyncio.get_running_loop().create_future()
            ch.return_callbacks.add(
                lambda _ch, m: returned.done() or returned.set_result(m))
            ex = await within(ch.declare_exchange(uniq, ExchangeType.DIRECT,
                                                  auto_delete=True))
            await within(ex.publish(
                Message(b"ret", correlation_id="c-1", headers={"a": 1}),
                "no-binding", mandatory=True))
            msg = await within(returned)
            assert (msg.body, msg.correlation_id, msg.headers["a"]) == \
                (b"ret", "c-1", 1)
            assert (msg.exchange, msg.routing_key) == (uniq, "no-binding")
    run(main())
