# SPDX-License-Identifier: MIT
"""basic.consume / basic.get / basic.qos / basic.cancel with pika."""

import threading
import time

import pytest

from helpers import (WAIT, channel_error, connection_error, consume_n, flush,
                     wait_count)


def pump(conn, cond, timeout=WAIT):
    """process_data_events until cond() is true or timeout; returns cond()."""
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    return cond()


def test_competing_consumers_disjoint_and_complete(connections, uniq):
    """Two consumers, each on its own connection and thread (two workers)."""
    n = 1000
    got = {"a": [], "b": []}
    conns = {}
    for name in got:
        cconn = connections()
        c = cconn.channel()
        c.queue_declare(uniq, auto_delete=True)
        c.basic_qos(prefetch_count=20)

        def cb(c_, m, p, b, name=name):
            got[name].append(b)
            c_.basic_ack(m.delivery_tag)
        c.basic_consume(uniq, cb)
        conns[name] = cconn
    deadline = time.monotonic() + 20

    def worker(cconn):
        while len(got["a"]) + len(got["b"]) < n and time.monotonic() < deadline:
            cconn.process_data_events(time_limit=0.02)
        flush(cconn, 0.1)
    threads = [threading.Thread(target=worker, args=(c,)) for c in conns.values()]
    for t in threads:
        t.start()
    pch = connections().channel()
    for i in range(n):
        pch.basic_publish("", uniq, b"%d" % i)
    for t in threads:
        t.join(25)
    a, b = got["a"], got["b"]
    assert len(a) + len(b) == n
    assert set(a).isdisjoint(b)
    assert set(a) | set(b) == {b"%d" % i for i in range(n)}
    # round-robin: both get a share, each in publish order
    assert len(a) >= n // 10 and len(b) >= n // 10, (len(a), len(b))
    assert a == sorted(a, key=int) and b == sorted(b, key=int)
    assert pch.queue_declare(uniq, passive=True).method.message_count == 0


def test_round_robin_strict_alternation_without_prefetch_limit(connections, uniq):
    """Two consumers on an empty queue: messages alternate between them."""
    cconn = connections()
    c = cconn.channel()
    c.queue_declare(uniq, exclusive=True)
    order = []
    c.basic_consume(uniq, lambda c_, m, p, b: order.append((m.consumer_tag, b)),
                    auto_ack=True, consumer_tag="c1")
    c.basic_consume(uniq, lambda c_, m, p, b: order.append((m.consumer_tag, b)),
                    auto_ack=True, consumer_tag="c2")
    for i in range(10):
        c.basic_publish("", uniq, b"%d" % i)
    assert pump(cconn, lambda: len(order) >= 10)
    tags = [t for t, _ in order]
    assert [b for _, b in order] == [b"%d" % i for i in range(10)]
    assert tags.count("c1") == 5 and tags.count("c2") == 5
    assert all(tags[i] != tags[i + 1] for i in range(9))


def test_client_generated_consumer_tag(conn, ch, uniq):
    """Server-generated tags and duplicate tags are in tests/proto (pika
    always generates a tag itself and refuses duplicates locally)."""
    ch.queue_declare(uniq, exclusive=True)
    seen = []
    tag = ch.basic_consume(uniq, lambda c, m, p, b: seen.append(m.consumer_tag),
                           auto_ack=True, consumer_tag="my-tag-" + uniq)
    assert tag == "my-tag-" + uniq
    for i in range(4):
        ch.basic_publish("", uniq, b"%d" % i)
    assert pump(conn, lambda: len(seen) >= 4)
    assert seen == [tag] * 4


def test_exclusive_consumer_blocks_others_403(connections, uniq):
    c1 = connections().channel()
    c1.queue_declare(uniq, auto_delete=True)
    c1.basic_consume(uniq, lambda *a: None, exclusive=True)
    other = connections()
    with channel_error(403):
        other.channel().basic_consume(uniq, lambda *a: None)
    with channel_error(403):
        other.channel().basic_consume(uniq, lambda *a: None, exclusive=True)


def test_exclusive_consumer_refused_when_queue_has_consumer_403(connections, uniq):
    c1 = connections().channel()
    c1.queue_declare(uniq, auto_delete=True)
    c1.basic_consume(uniq, lambda *a: None)
    with channel_error(403):
        connections().channel().basic_consume(uniq, lambda *a: None, exclusive=True)


def test_consume_missing_queue_is_404(ch, uniq):
    with channel_error(404):
        ch.basic_consume(uniq, lambda *a: None)


def test_no_ack_consumer(conn, ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    for i in range(20):
        ch.basic_publish("", uniq, b"%d" % i)
    got = consume_n(ch, uniq, 20, auto_ack=True)
    assert [b for _, _, b in got] == [b"%d" % i for i in range(20)]
    ch.cancel()
    # nothing is unacked: closing the channel requeues nothing
    ch.close()
    probe = conn.channel()
    assert probe.queue_declare(uniq, passive=True).method.message_count == 0


def test_basic_cancel_stops_deliveries(conn, ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    got = []
    tag = ch.basic_consume(uniq, lambda c, m, p, b: got.append(b), auto_ack=True)
    ch.basic_publish("", uniq, b"before")
    assert pump(conn, lambda: got)
    ch.basic_cancel(tag)
    ch.basic_publish("", uniq, b"after")
    assert wait_count(ch, uniq, 1) == 1
    flush(conn, 0.1)
    assert got == [b"before"]
    assert ch.queue_declare(uniq, passive=True).method.consumer_count == 0
    # cancelling an unknown tag is not an error (RabbitMQ: cancel-ok)
    ch.basic_cancel("no-such-tag")
    assert ch.is_open


def test_queue_deleted_while_consumed_sends_cancel(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq)
    cancelled = []
    ch.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    tag = ch.basic_consume(uniq, lambda *a: None)
    other = conn.channel()
    other.queue_delete(uniq)
    assert pump(conn, lambda: cancelled)
    assert cancelled == [tag]
    assert ch.is_open


def test_basic_get_and_get_empty(ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    m, p, b = ch.basic_get(uniq)
    assert (m, p, b) == (None, None, None)  # basic.get-empty
    for i in range(3):
        ch.basic_publish("", uniq, b"%d" % i)
    assert wait_count(ch, uniq, 3) == 3
    counts = []
    for i in range(3):
        m, p, b = ch.basic_get(uniq, auto_ack=False)
        assert b == b"%d" % i
        assert m.delivery_tag == i + 1 and not m.redelivered
        assert (m.exchange, m.routing_key) == ("", uniq)
        counts.append(m.message_count)
    assert counts == [2, 1, 0]
    assert ch.basic_get(uniq)[0] is None
    ch.basic_ack(3, multiple=True)


def test_basic_get_missing_queue_is_404(ch, uniq):
    with channel_error(404):
        ch.basic_get(uniq)


@pytest.mark.parametrize("prefetch", [1, 3, 10])
def test_prefetch_count_limits_unacked(connections, uniq, prefetch):
    pconn = connections()
    pch = pconn.channel()
    pch.queue_declare(uniq, auto_delete=True)
    conn = connections()
    ch = conn.channel()
    ch.basic_qos(prefetch_count=prefetch)
    got = []
    ch.basic_consume(uniq, lambda c, m, p, b: got.append((m, b)))
    for i in range(prefetch + 5):
        pch.basic_publish("", uniq, b"%d" % i)
    assert pump(conn, lambda: len(got) >= prefetch)
    flush(conn, 0.3)
    assert len(got) == prefetch
    assert wait_count(pch, uniq, 5) == 5
    ch.basic_ack(got[0][0].delivery_tag)  # one slot frees: exactly one more
    assert pump(conn, lambda: len(got) >= prefetch + 1)
    flush(conn, 0.3)
    assert len(got) == prefetch + 1
    assert [b for _, b in got] == [b"%d" % i for i in range(prefetch + 1)]


def test_prefetch_size_is_not_implemented(conn):
    """RabbitMQ 3.10 refuses a prefetch window in bytes: connection.close
    540 NOT_IMPLEMENTED."""
    ch = conn.channel()
    with connection_error(540) as ei:
        ch.basic_qos(prefetch_size=10, prefetch_count=5)
    assert ei.value.reply_text == "NOT_IMPLEMENTED - prefetch_size!=0 (10)"


def test_prefetch_per_consumer_vs_global(connections, uniq):
    """RabbitMQ semantics: global=false limits each consumer, global=true
    limits the whole channel."""
    pch = connections().channel()
    qs = [uniq + "-a", uniq + "-b"]
    for q in qs:
        pch.queue_declare(q)
    results = {}
    for glob in (False, True):
        conn = connections()
        ch = conn.channel()
        ch.basic_qos(prefetch_count=3, global_qos=glob)
        got = []
        for q in qs:
            ch.basic_consume(q, lambda c, m, p, b: got.append(b))
        for q in qs:
            for i in range(10):
                pch.basic_publish("", q, b"%s-%d" % (q.encode(), i))
        pump(conn, lambda: len(got) >= (3 if glob else 6))
        flush(conn, 0.3)
        results[glob] = len(got)
        conn.close()  # requeues everything
        for q in qs:
            pch.queue_purge(q)
    for q in qs:
        pch.queue_delete(q)
    assert results == {False: 6, True: 3}


def test_per_consumer_qos_lifts_the_global_limit(connections, uniq):
    """As RabbitMQ 3.10: a basic.qos with global=false after one with
    global=true lifts the channel's limit (its consumers then have 10
    each); a global one after it limits the channel again."""
    pch = connections().channel()
    pch.queue_declare(uniq)
    results = []
    for seq in ([(1, True), (10, False)], [(10, False), (1, True)],
                [(1, True), (0, False)]):
        conn = connections()
        ch = conn.channel()
        for n, glob in seq:
            ch.basic_qos(prefetch_count=n, global_qos=glob)
        for i in range(50):
            pch.basic_publish("", uniq, b"%d" % i)
        got = []
        for _ in range(2):
            ch.basic_consume(uniq, lambda c, m, p, b: got.append(b))
        want = {(1, True): 1, (10, False): 20, (0, False): 50}[seq[-1]]
        pump(conn, lambda: len(got) >= want)
        flush(conn, 0.3)
        results.append(len(got))
        conn.close()  # requeues everything
        pch.queue_purge(uniq)
    pch.queue_delete(uniq)
    assert results == [20, 1, 50]


def test_prefetch_zero_is_unlimited(conn, ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    ch.basic_qos(prefetch_count=0)
    for i in range(300):
        ch.basic_publish("", uniq, b"%d" % i)
    got = []
    ch.basic_consume(uniq, lambda c, m, p, b: got.append(b))
    assert pump(conn, lambda: len(got) >= 300)
    assert len(got) == 300
