# SPDX-License-Identifier: MIT
"""Interop through kombu (Debian python3-kombu on python3-amqp, "py-amqp",
an AMQP 0-9-1 implementation independent of pika): what kombu users do.
Connections and ensure_connection, kombu entities (Exchange, Queue) of
every exchange type, Producer.publish with the json serializer and raw
bytes and every basic property, Consumer callbacks with manual ack, reject
and requeue, prefetch, SimpleQueue, a large message and competing
consumers. RabbitMQ extensions through kombu are in test_kombu_features.py,
the py-amqp level in test_kombu_amqp.py, helpers in kombu_helpers.py.
"""

import socket
import threading
import time

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

from broker import SLOW  # tests/proto/broker.py: > 1 under valgrind
from kombu_helpers import (WAIT, collect, drain, quiet, ready_count,
                           shared_queue, wait_ready)


def test_ensure_connection_and_capabilities(kconns):
    """kombu's ensure_connection connects; the server announces the RabbitMQ
    capabilities py-amqp negotiates (consumer_cancel_notify, connection.blocked,
    authentication_failure_close) and publisher confirms."""
    c = kconns()
    assert c.connected
    caps = c.connection.server_properties["capabilities"]
    for cap in ("publisher_confirms", "consumer_cancel_notify",
                "connection.blocked", "authentication_failure_close",
                "basic.nack", "exchange_exchange_bindings"):
        assert caps.get(cap) is True, cap
    assert c.connection.frame_max >= 4096
    c.release()
    assert not c.connected
    c.ensure_connection(max_retries=1, timeout=WAIT)  # reconnects
    assert c.connected


def test_bad_password_is_access_refused(broker):
    """RabbitMQ: a wrong password is refused with connection.close 403
    (authentication_failure_close); kombu surfaces it as AccessRefused."""
    from amqp.exceptions import AccessRefused
    host, port = broker
    c = Connection("amqp://guest:wrong@%s:%d//" % (host, port),
                   connect_timeout=WAIT)
    with pytest.raises(AccessRefused) as ei:
        c.connect()
    assert ei.value.reply_code == 403
    c.release()


@pytest.mark.parametrize("kind, key, args, routed", [
    ("direct", "k1", {}, {"a"}),
    ("topic", "stock.usd.nyse", {}, {"a", "b"}),
    ("fanout", "ignored", {}, {"a", "b", "c"}),
    ("headers", "", {"format": "pdf", "type": "report"}, {"a", "c"}),
])
def test_entities_declare_and_route(kconn, uniq, kind, key, args, routed):
    """kombu Exchange/Queue/binding declaration for every exchange type
    (AMQP 0-9-1 3.1.3 exchange types, RabbitMQ headers x-match) and where
    one publish is routed."""
    ex = Exchange(uniq, type=kind, auto_delete=True)
    bindings = {
        "direct": {"a": {"routing_key": "k1"}, "b": {"routing_key": "k2"},
                   "c": {"routing_key": "k3"}},
        "topic": {"a": {"routing_key": "stock.#"},
                  "b": {"routing_key": "*.usd.*"},
                  "c": {"routing_key": "stock.eur.*"}},
        "fanout": {"a": {}, "b": {}, "c": {}},
        "headers": {"a": {"binding_arguments": {"x-match": "all", "format": "pdf"}},
                    "b": {"binding_arguments": {"x-match": "all", "format": "pdf",
                                        "type": "log"}},
                    "c": {"binding_arguments": {"x-match": "any", "type": "report",
                                        "format": "zip"}}},
    }[kind]
    queues = {n: Queue("%s-%s" % (uniq, n), exchange=ex, exclusive=True, **kw)
              for n, kw in bindings.items()}
    ch = kconn.channel()
    for q in queues.values():
        q(ch).declare()
    Producer(ch, exchange=ex).publish(b"hi", routing_key=key, headers=args,
                                      serializer=None)
    got = {}
    for n, q in queues.items():
        m = q(ch).get(no_ack=True)
        if m is not None:
            got[n] = m.body
    assert got == {n: b"hi" for n in routed}


def test_json_serializer_round_trip(kconn, uniq):
    """Producer.publish(serializer='json'): content_type application/json,
    content_encoding utf-8, the payload decoded back to the same object."""
    q = Queue(uniq, exclusive=True)
    obj = {"n": 1, "f": 2.5, "s": "héllo ☃", "l": [1, None, True],
           "d": {"x": "y"}}
    with kconn.channel() as ch:
        Producer(ch).publish(obj, routing_key=uniq, serializer="json",
                             declare=[q])
        (body, m), = collect(kconn, q, 1)
    assert body == obj
    assert m.content_type == "application/json"
    assert m.content_encoding == "utf-8"
    assert m.delivery_info["routing_key"] == uniq
    assert m.delivery_info["redelivered"] is False


def test_raw_bytes_and_properties_round_trip(kconn, uniq):
    """Every basic property kombu sets survives the broker unchanged
    (AMQP 0-9-1 basic content header), body bytes byte for byte."""
    q = Queue(uniq, exclusive=True, max_priority=10)
    body = bytes(range(256)) * 4
    ch = kconn.channel()
    Producer(ch).publish(
        body, routing_key=uniq, declare=[q], serializer=None,
        content_type="application/x-thing", content_encoding="binary",
        headers={"h1": "v1", "n": 42, "nested": {"k": [1, "two"]}},
        priority=7, expiration=60, correlation_id="corr-1",
        reply_to="reply.here", delivery_mode=2, message_id="mid-9",
        timestamp=1700000000, type="kind", user_id="guest", app_id="app")
    m = q(ch).get(no_ack=True, accept=["application/x-thing"])
    assert m.body == body
    assert m.content_type == "application/x-thing"
    assert m.content_encoding == "binary"
    assert m.headers == {"h1": "v1", "n": 42, "nested": {"k": [1, "two"]}}
    p = m.properties
    assert p["priority"] == 7
    assert p["expiration"] == "60000"  # kombu sends seconds as ms
    assert p["correlation_id"] == "corr-1"
    assert p["reply_to"] == "reply.here"
    assert p["delivery_mode"] == 2
    assert p["message_id"] == "mid-9"
    assert p["type"] == "kind"
    assert p["user_id"] == "guest"
    assert p["app_id"] == "app"
    assert p["timestamp"] == 1700000000


def test_consumer_callbacks_manual_ack(kconn, uniq):
    """Consumer with callbacks and no_ack=False: every message delivered once
    in order; acked ones are gone, an unacked one is requeued with
    redelivered=True when the consumer's channel closes."""
    q = shared_queue(uniq)
    ch = kconn.channel()
    p = Producer(ch, serializer="json")
    q(ch).declare()
    for i in range(5):
        p.publish({"i": i}, routing_key=uniq)
    got = []

    def on_message(body, message):
        got.append(body["i"])
        if body["i"] != 3:
            message.ack()

    cch = kconn.channel()
    c = Consumer(cch, [q], callbacks=[on_message], accept=["json"])
    c.consume()
    assert drain(kconn, lambda: len(got) == 5)
    quiet(kconn)
    assert got == [0, 1, 2, 3, 4]
    c.cancel()
    cch.close()
    m = q(ch).get(no_ack=True)
    assert m.payload == {"i": 3}
    assert m.delivery_info["redelivered"] is True
    assert q(ch).get(no_ack=True) is None


def test_reject_requeue_redelivered(kconn, uniq):
    """message.reject(requeue=True) and message.requeue(): the message comes
    back to the consumer with redelivered=True (basic.reject requeue)."""
    q = shared_queue(uniq)
    ch = kconn.channel()
    Producer(ch).publish(b"x", routing_key=uniq, declare=[q])
    seen = []

    def on_message(body, message):
        seen.append(message.delivery_info["redelivered"])
        if len(seen) == 1:
            message.reject(requeue=True)
        elif len(seen) == 2:
            message.requeue()
        else:
            message.ack()

    with Consumer(kconn.channel(), [q], callbacks=[on_message]):
        assert drain(kconn, lambda: len(seen) == 3)
        quiet(kconn)
    assert seen == [False, True, True]
    assert ready_count(kconn, uniq) == 0


def test_reject_without_requeue_drops(kconn, uniq):
    """message.reject() (requeue=False): the message is discarded."""
    q = Queue(uniq, exclusive=True)
    ch = kconn.channel()
    Producer(ch).publish(b"x", routing_key=uniq, declare=[q])
    m = q(ch).get()
    m.reject()
    assert q(ch).get() is None
    ch.close()
    assert ready_count(kconn, uniq) == 0


def test_prefetch_count_limits_unacked(kconn, uniq):
    """basic.qos prefetch_count=3 (per consumer in RabbitMQ): only 3
    deliveries until one is acked, then exactly one more."""
    q = Queue(uniq, exclusive=True)
    ch = kconn.channel()
    p = Producer(ch)
    q(ch).declare()
    for i in range(10):
        p.publish(b"%d" % i, routing_key=uniq)
    got = []
    c = Consumer(kconn.channel(), [q], callbacks=[lambda b, m: got.append(m)])
    c.qos(prefetch_count=3)
    c.consume()
    assert drain(kconn, lambda: len(got) >= 3)
    quiet(kconn)
    assert [m.body for m in got] == [b"0", b"1", b"2"]
    got[0].ack()
    assert drain(kconn, lambda: len(got) >= 4)
    quiet(kconn)
    assert len(got) == 4
    got[1].ack()
    got[2].ack()
    assert drain(kconn, lambda: len(got) >= 6)
    quiet(kconn)
    assert [m.body for m in got] == [b"%d" % i for i in range(6)]
    c.cancel()


def test_simple_queue_put_get(kconn, uniq):
    """kombu SimpleQueue: put with the json serializer, qsize, get_nowait
    (basic.get), clear (queue.purge), get (a consumer) and Empty raised
    within get's timeout on an empty queue."""
    sq = kconn.SimpleQueue(uniq, queue_opts={"exclusive": True})
    try:
        for i in range(3):
            sq.put({"i": i})
        assert wait_ready(kconn, uniq, 3) == 3
        assert sq.qsize() == 3
        m = sq.get_nowait()
        assert m.payload == {"i": 0}
        m.ack()
        assert sq.clear() == 2
        sq.put({"i": 3})
        m = sq.get(block=True, timeout=WAIT)
        assert m.payload == {"i": 3}
        assert m.delivery_info["redelivered"] is False
        m.ack()
        t0 = time.monotonic()
        with pytest.raises(sq.Empty):
            sq.get(block=True, timeout=0.3)
        assert time.monotonic() - t0 < WAIT
    finally:
        sq.close()


def test_simple_buffer_no_ack(kconn, uniq):
    """kombu SimpleBuffer (no_ack consumer): messages arrive and are gone."""
    sb = kconn.SimpleBuffer(uniq, queue_opts={"exclusive": True})
    try:
        sb.put(b"raw", serializer=None)
        m = sb.get(timeout=WAIT)
        assert m.body == b"raw"
        assert sb.qsize() == 0
    finally:
        sb.close()


@pytest.mark.timeout(60)
def test_large_message_round_trip(kconn, uniq):
    """A 2 MiB body spans many frames (frame_max 128 KiB) and arrives intact
    through both basic.get and basic.consume."""
    q = Queue(uniq, exclusive=True)
    body = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(2 << 20))
    ch = kconn.channel()
    p = Producer(ch)
    p.publish(body, routing_key=uniq, declare=[q], serializer=None)
    p.publish(body[::-1], routing_key=uniq, serializer=None)
    m = q(ch).get(no_ack=True)
    assert len(m.body) == len(body) and m.body == body
    (got, _), = collect(kconn, q, 1)
    assert got == body[::-1]


@pytest.mark.timeout(120)
def test_competing_consumers_5000(kconns, uniq):
    """5,000 messages consumed by 2 kombu consumers on their own connections
    with prefetch 50: the union is complete and the two sets are disjoint
    (round-robin among consumers, each message delivered once)."""
    n = 5000
    pub = kconns()
    q = Queue(uniq, auto_delete=False)
    ch = pub.channel()
    q(ch).declare()
    seen = [[], []]
    errors = []
    stop = threading.Event()
    started = threading.Barrier(3, timeout=WAIT)

    def worker(idx):
        try:
            c = kconns()
            with Consumer(c, [q], accept=["json"],
                          callbacks=[lambda b, m: (seen[idx].append(b["i"]),
                                                   m.ack())]) as cons:
                cons.qos(prefetch_count=50)
                started.wait()
                deadline = time.monotonic() + 60 * SLOW
                while not stop.is_set() and time.monotonic() < deadline:
                    try:
                        c.drain_events(timeout=0.2)
                    except socket.timeout:
                        pass
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(2)]
    for t in threads:
        t.start()
    started.wait()
    p = Producer(ch, serializer="json")
    for i in range(n):
        p.publish({"i": i}, routing_key=uniq)
    deadline = time.monotonic() + 60 * SLOW
    while len(seen[0]) + len(seen[1]) < n and time.monotonic() < deadline \
            and not errors:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(WAIT)
    assert not errors, errors
    a, b = set(seen[0]), set(seen[1])
    assert len(a) == len(seen[0]) and len(b) == len(seen[1])  # no duplicates
    assert a.isdisjoint(b)
    assert a | b == set(range(n))
    assert len(a) > n // 10 and len(b) > n // 10  # both really competed
    assert ready_count(pub, uniq) == 0
    ch.queue_delete(uniq)
