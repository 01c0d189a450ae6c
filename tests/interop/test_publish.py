# SPDX-License-Identifier: MIT
"""basic.publish: mandatory/basic.return, body sizes across frame boundaries,
round trip of the 14 basic properties, priority queues (x-max-priority)."""

import datetime
import decimal
import random

import pika
import pytest

from helpers import channel_error, consume_n, flush, get_all, wait_count


def test_mandatory_unroutable_is_returned_312(conn, ch, uniq):
    returned = []
    ch.add_on_return_callback(lambda c, m, p, b: returned.append((m, p, b)))
    ch.exchange_declare(uniq, exchange_type="direct", auto_delete=True)
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, uniq, "bound")
    body = b"unroutable \x00\xff body"
    ch.basic_publish(uniq, "unbound-key", body,
                     pika.BasicProperties(message_id="mid-1", content_type="x/y"),
                     mandatory=True)
    ch.basic_publish(uniq, "bound", b"routable", mandatory=True)
    ch.basic_publish(uniq, "unbound-key", b"not mandatory", mandatory=False)
    ch.basic_publish("", uniq + "-no-queue", b"default exchange", mandatory=True)
    for _ in range(50):
        if len(returned) >= 2:
            break
        flush(conn, 0.1)
    flush(conn, 0.2)
    assert len(returned) == 2
    (m1, p1, b1), (m2, p2, b2) = returned
    assert (m1.reply_code, m1.reply_text, m1.exchange, m1.routing_key) == \
        (312, "NO_ROUTE", uniq, "unbound-key")
    assert b1 == body
    assert (p1.message_id, p1.content_type) == ("mid-1", "x/y")
    assert (m2.reply_code, m2.exchange, m2.routing_key, b2) == \
        (312, "", uniq + "-no-queue", b"default exchange")
    assert [b for _, _, b in get_all(ch, q)] == [b"routable"]


def test_mandatory_routed_to_one_of_two_is_not_returned(conn, ch, uniq):
    returned = []
    ch.add_on_return_callback(lambda *a: returned.append(a))
    ch.exchange_declare(uniq, exchange_type="fanout", auto_delete=True)
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, uniq)
    ch.basic_publish(uniq, "", b"x", mandatory=True)
    assert wait_count(ch, q, 1) == 1
    flush(conn, 0.2)
    assert returned == []


def body_sizes(frame_max):
    return [0, 1, 2, frame_max - 9, frame_max - 8, frame_max - 7,
            2 * (frame_max - 8), 2 * (frame_max - 8) + 1,
            1 << 20, 5 << 20]


def pattern(n, seed):
    r = random.Random(seed)
    return r.randbytes(n)


def test_body_sizes_intact(conn, ch, uniq):
    frame_max = conn._impl.params.frame_max
    assert frame_max >= 4096
    ch.queue_declare(uniq, exclusive=True)
    sizes = body_sizes(frame_max)
    for i, n in enumerate(sizes):
        ch.basic_publish("", uniq, pattern(n, i),
                         pika.BasicProperties(message_id=str(n)))
    got = consume_n(ch, uniq, len(sizes), auto_ack=True, timeout=10)
    ch.cancel()
    assert [p.message_id for _, p, _ in got] == [str(n) for n in sizes]
    for i, ((_, _, body), n) in enumerate(zip(got, sizes)):
        assert len(body) == n
        assert body == pattern(n, i), "body of %d bytes corrupted" % n


def test_body_sizes_small_frame_max(broker, connections, uniq):
    """frame_max negotiated down to the minimum 4096: bodies split correctly."""
    conn = connections(frame_max=4096)
    assert conn._impl.params.frame_max == 4096
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True)
    sizes = [0, 4087, 4088, 4089, 8176, 8177, 100000]
    for i, n in enumerate(sizes):
        ch.basic_publish("", uniq, pattern(n, 100 + i))
    got = [b for _, _, b in get_all(ch, uniq)]
    assert [len(b) for b in got] == sizes
    assert all(b == pattern(n, 100 + i) for i, (b, n) in enumerate(zip(got, sizes)))


HEADERS = {
    "str": "text é",
    "int": 42,
    "neg": -7,
    "big": 2 ** 40,
    "true": True,
    "false": False,
    "dec": decimal.Decimal("3.14"),
    "ts": datetime.datetime(2024, 5, 17, 12, 30, 45),
    "bytes": b"\x00\x01\xfe\xff",
    "void": None,
    "nested": {"a": {"b": [1, "two", {"c": False}]}, "n": 0},
    "array": [1, "s", True, [2, 3], {"k": "v"}, decimal.Decimal("1.5")],
    "empty-table": {},
    "empty-array": [],
}


def test_all_basic_properties_round_trip(ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    props = pika.BasicProperties(
        content_type="application/x-warren",
        content_encoding="gzip",
        headers=HEADERS,
        delivery_mode=2,
        priority=7,
        correlation_id="corr-123",
        reply_to="reply-queue",
        expiration="3600000",
        message_id="msg-456",
        timestamp=1700000000,
        type="type-x",
        user_id="guest",
        app_id="warren-tests",
        cluster_id="cluster-9",
    )
    ch.basic_publish("", uniq, b"props", props)
    m, p, body = consume_n(ch, uniq, 1, auto_ack=True)[0]
    ch.cancel()
    assert body == b"props"
    for name in ("content_type", "content_encoding", "delivery_mode", "priority",
                 "correlation_id", "reply_to", "expiration", "message_id",
                 "timestamp", "type", "user_id", "app_id", "cluster_id"):
        assert getattr(p, name) == getattr(props, name), name
    assert p.headers == HEADERS


def test_no_properties_round_trip(ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    ch.basic_publish("", uniq, b"bare")
    m, p, body = ch.basic_get(uniq, auto_ack=True)
    assert body == b"bare"
    for name in ("content_type", "content_encoding", "headers", "delivery_mode",
                 "priority", "correlation_id", "reply_to", "expiration",
                 "message_id", "timestamp", "type", "user_id", "app_id",
                 "cluster_id"):
        assert getattr(p, name) is None, name


def test_wrong_user_id_is_406(conn, uniq):
    """RabbitMQ validated user-id: user_id must be the connection's user."""
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True)
    with channel_error(406):
        ch.basic_publish("", uniq, b"x", pika.BasicProperties(user_id="mallory"))
        ch.queue_declare(uniq, passive=True)  # sync point


def test_delivery_fields(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="topic", auto_delete=True)
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, uniq, "a.#")
    ch.basic_publish(uniq, "a.b.c", b"x")
    m, _, _ = consume_n(ch, q, 1, auto_ack=False)[0]
    assert (m.exchange, m.routing_key, m.redelivered, m.delivery_tag) == \
        (uniq, "a.b.c", False, 1)
    ch.basic_ack(m.delivery_tag)
    ch.cancel()


# ---------------------------------------------------------------- priorities

def test_priority_queue_order(ch, uniq):
    """x-max-priority=10: higher priority first, FIFO within a priority,
    priority above the maximum counts as the maximum, none counts as 0."""
    ch.queue_declare(uniq, exclusive=True, arguments={"x-max-priority": 10})
    msgs = []
    for prio in list(range(11)) + [200, 11, None]:
        for k in range(3):
            msgs.append(prio)
    random.Random(7).shuffle(msgs)
    expected = []
    for seq, prio in enumerate(msgs):
        body = b"%d:%s" % (seq, str(prio).encode())
        ch.basic_publish("", uniq, body, pika.BasicProperties(priority=prio))
        eff = 0 if prio is None else min(prio, 10)
        expected.append((-eff, seq, body))
    assert wait_count(ch, uniq, len(msgs)) == len(msgs)
    got = consume_n(ch, uniq, len(msgs), auto_ack=False, ack=True)
    ch.cancel()
    assert [b for _, _, b in got] == [b for _, _, b in sorted(expected)]
    # the priority property itself is delivered unchanged
    assert sorted(p.priority or 0 for _, p, _ in got) == sorted(p or 0 for p in msgs)


def test_priority_queue_basic_get_and_requeue(ch, uniq):
    ch.queue_declare(uniq, exclusive=True, arguments={"x-max-priority": 10})
    for prio, body in [(1, b"low"), (9, b"high"), (5, b"mid")]:
        ch.basic_publish("", uniq, body, pika.BasicProperties(priority=prio))
    assert wait_count(ch, uniq, 3) == 3
    m, _, body = ch.basic_get(uniq, auto_ack=False)
    assert body == b"high"
    ch.basic_publish("", uniq, b"high2", pika.BasicProperties(priority=9))
    ch.basic_nack(m.delivery_tag, requeue=True)
    assert wait_count(ch, uniq, 4) == 4
    got = get_all(ch, uniq)
    assert [b for _, _, b in got] == [b"high", b"high2", b"mid", b"low"]
    assert [m.redelivered for m, _, _ in got] == [True, False, False, False]


def test_non_priority_queue_ignores_priority(ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    for prio in [0, 9, 3, 255]:
        ch.basic_publish("", uniq, b"%d" % prio, pika.BasicProperties(priority=prio))
    assert [b for _, _, b in get_all(ch, uniq)] == [b"0", b"9", b"3", b"255"]


@pytest.mark.parametrize("value", [0, 1, 255])
def test_max_priority_accepted_values(ch, uniq, value):
    """RabbitMQ 3.10 accepts 0..255."""
    ch.queue_declare(uniq, exclusive=True, arguments={"x-max-priority": value})
    for prio in [0, 3, 9]:
        ch.basic_publish("", uniq, b"%d" % prio, pika.BasicProperties(priority=prio))
    got = [b for _, _, b in get_all(ch, uniq)]
    if value == 0:
        assert got == [b"0", b"3", b"9"]
    elif value == 1:
        assert got == [b"3", b"9", b"0"]
    else:
        assert got == [b"9", b"3", b"0"]


@pytest.mark.parametrize("value", [256, -1, 2 ** 40, "5", True])
def test_max_priority_invalid_is_406(ch, uniq, value):
    with channel_error(406):
        ch.queue_declare(uniq, exclusive=True, arguments={"x-max-priority": value})
