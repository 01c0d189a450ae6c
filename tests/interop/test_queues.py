# SPDX-License-Identifier: MIT
"""Queues (AMQP 0-9-1 class queue): naming, declare-ok counts, exclusive and
auto-delete lifetimes, bind/unbind, purge, delete with conditions, argument
equivalence."""

import pytest

from helpers import (channel_error, consume_n, flush, get_all, wait_count,
                     wait_gone, wait_until)


def test_server_named_queue(ch):
    ok = ch.queue_declare("", exclusive=True).method
    assert ok.queue.startswith("amq.gen-")
    assert len(ok.queue) > len("amq.gen-")
    assert (ok.message_count, ok.consumer_count) == (0, 0)
    other = ch.queue_declare("", exclusive=True).method.queue
    assert other.startswith("amq.gen-") and other != ok.queue
    ch.basic_publish("", ok.queue, b"to server-named")
    assert wait_count(ch, ok.queue, 1) == 1


def test_passive_declare_missing_is_404(ch, uniq):
    with channel_error(404):
        ch.queue_declare(uniq, passive=True)


def test_declare_reserved_amq_prefix_is_403(ch, uniq):
    with channel_error(403):
        ch.queue_declare("amq.foo-" + uniq)


def test_declare_ok_counts(conn, uniq):
    ch = conn.channel()
    ok = ch.queue_declare(uniq, auto_delete=False).method
    assert (ok.queue, ok.message_count, ok.consumer_count) == (uniq, 0, 0)
    for i in range(5):
        ch.basic_publish("", uniq, b"%d" % i)
    assert wait_count(ch, uniq, 5) == 5
    ok = ch.queue_declare(uniq).method  # active redeclare reports counts too
    assert (ok.message_count, ok.consumer_count) == (5, 0)
    # two consumers with prefetch 1: two messages move to unacked
    c1, c2 = conn.channel(), conn.channel()
    for c in (c1, c2):
        c.basic_qos(prefetch_count=1)
        c.basic_consume(uniq, lambda *a: None)
    flush(conn)
    ok = ch.queue_declare(uniq, passive=True).method
    assert (ok.message_count, ok.consumer_count) == (3, 2)
    c1.close()  # its unacked message goes back to ready
    assert wait_until(lambda: tuple(ch.queue_declare(uniq, passive=True).method.__dict__[k]
                                    for k in ("message_count", "consumer_count")),
                      (4, 1)) == (4, 1)
    c2.close()
    assert wait_count(ch, uniq, 5) == 5
    ok = ch.queue_declare(uniq, passive=True).method
    assert (ok.message_count, ok.consumer_count) == (5, 0)
    assert ch.queue_delete(uniq).method.message_count == 5


def test_exclusive_queue_locked_for_other_connections(connections, uniq):
    owner = connections()
    och = owner.channel()
    och.queue_declare(uniq, exclusive=True)
    och.basic_publish("", uniq, b"mine")
    other = connections()
    ops = [
        lambda c: c.queue_declare(uniq, passive=True),
        lambda c: c.queue_declare(uniq, exclusive=True),
        lambda c: c.queue_declare(uniq),
        lambda c: c.basic_consume(uniq, lambda *a: None),
        lambda c: c.basic_get(uniq),
        lambda c: c.queue_purge(uniq),
        lambda c: c.queue_delete(uniq),
        lambda c: c.queue_bind(uniq, "amq.direct", "k"),
    ]
    for op in ops:
        c = other.channel()
        with channel_error(405):
            op(c)
    assert other.is_open
    # the owner still has it, untouched
    assert wait_count(och, uniq, 1) == 1


def test_exclusive_queue_deleted_when_connection_closes(connections, uniq):
    owner = connections()
    owner.channel().queue_declare(uniq, exclusive=True)
    other = connections()
    with channel_error(405):  # exists, but locked
        other.channel().queue_declare(uniq, passive=True)
    owner.close()
    assert wait_gone(other, "queue", uniq)


def test_exclusive_queue_survives_channel_close(conn, uniq):
    c1 = conn.channel()
    c1.queue_declare(uniq, exclusive=True)
    c1.close()
    c2 = conn.channel()
    assert c2.queue_declare(uniq, passive=True).method.queue == uniq


def test_auto_delete_queue_removed_after_last_consumer_cancels(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, auto_delete=True)
    ch.basic_publish("", uniq, b"x")
    # never consumed: stays
    assert wait_count(ch, uniq, 1) == 1
    t1 = ch.basic_consume(uniq, lambda *a: None, auto_ack=True)
    t2 = ch.basic_consume(uniq, lambda *a: None, auto_ack=True)
    ch.basic_cancel(t1)
    probe = conn.channel()
    assert probe.queue_declare(uniq, passive=True).method.consumer_count == 1
    ch.basic_cancel(t2)
    assert wait_gone(conn, "queue", uniq)


def test_auto_delete_queue_removed_when_consumer_channel_closes(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, auto_delete=True)
    ch.basic_consume(uniq, lambda *a: None)
    ch.close()
    assert wait_gone(conn, "queue", uniq)


def test_bind_unbind(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="direct", auto_delete=True)
    ch.queue_declare(uniq, exclusive=True)
    ch.queue_bind(uniq, uniq, "k1")
    ch.queue_bind(uniq, uniq, "k2")
    ch.basic_publish(uniq, "k1", b"1")
    ch.basic_publish(uniq, "k2", b"2")
    ch.queue_unbind(uniq, uniq, "k1")
    ch.basic_publish(uniq, "k1", b"3")
    ch.basic_publish(uniq, "k2", b"4")
    ch.queue_unbind(uniq, uniq, "no-such-binding")  # RabbitMQ: unbind-ok
    assert wait_count(ch, uniq, 3) == 3
    assert [b for _, _, b in get_all(ch, uniq)] == [b"1", b"2", b"4"]


def test_bind_missing_exchange_or_queue_is_404(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True)
    with channel_error(404):
        ch.queue_bind(uniq, uniq + "-no-exchange", "k")
    ch = conn.channel()
    with channel_error(404):
        ch.queue_bind(uniq + "-no-queue", "amq.direct", "k")


def test_purge_returns_count_and_keeps_unacked(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True)
    for i in range(7):
        ch.basic_publish("", uniq, b"%d" % i)
    assert wait_count(ch, uniq, 7) == 7
    m, _, body = ch.basic_get(uniq, auto_ack=False)  # 1 unacked
    assert body == b"0"
    assert ch.queue_purge(uniq).method.message_count == 6
    assert ch.queue_purge(uniq).method.message_count == 0
    ch.basic_nack(m.delivery_tag, requeue=True)
    assert wait_count(ch, uniq, 1) == 1
    m, _, body = ch.basic_get(uniq, auto_ack=True)
    assert body == b"0" and m.redelivered


def test_purge_missing_is_404(ch, uniq):
    with channel_error(404):
        ch.queue_purge(uniq)


def test_delete_if_unused_with_consumer_is_406(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True)
    ch.basic_consume(uniq, lambda *a: None)
    d = conn.channel()
    with channel_error(406):
        d.queue_delete(uniq, if_unused=True)
    d = conn.channel()
    assert d.queue_declare(uniq, passive=True).method.consumer_count == 1


def test_delete_if_empty_with_messages_is_406(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True)
    ch.basic_publish("", uniq, b"x")
    assert wait_count(ch, uniq, 1) == 1
    with channel_error(406):
        ch.queue_delete(uniq, if_empty=True)
    ch = conn.channel()
    assert ch.queue_declare(uniq, passive=True).method.message_count == 1
    ch.basic_get(uniq, auto_ack=True)
    assert ch.queue_delete(uniq, if_empty=True, if_unused=True).method.message_count == 0


def test_delete_ok_message_count(ch, uniq):
    ch.queue_declare(uniq)
    for i in range(13):
        ch.basic_publish("", uniq, b"%d" % i)
    assert wait_count(ch, uniq, 13) == 13
    assert ch.queue_delete(uniq).method.message_count == 13
    with channel_error(404):
        ch.queue_declare(uniq, passive=True)


def test_delete_missing_queue_is_ok(ch, uniq):
    """RabbitMQ 3.x: queue.delete of a missing queue -> delete-ok, count 0."""
    assert ch.queue_delete(uniq).method.message_count == 0


def test_delete_queue_removes_its_bindings(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="fanout", auto_delete=False)
    ch.queue_declare(uniq)
    ch.queue_bind(uniq, uniq)
    ch.queue_delete(uniq)
    ch.queue_declare(uniq)  # same name, no bindings now
    ch.basic_publish(uniq, "", b"not routed")
    ch.basic_publish("", uniq, b"marker")
    assert wait_count(ch, uniq, 1) == 1
    ch.queue_delete(uniq)
    ch.exchange_delete(uniq)


@pytest.mark.parametrize("first,second", [
    ({"x-max-length": 10}, {"x-max-length": 20}),
    ({"x-max-length": 10}, {}),
    ({}, {"x-message-ttl": 1000}),
    ({"x-max-priority": 5}, {"x-max-priority": 6}),
])
def test_redeclare_with_different_arguments_is_406(conn, uniq, first, second):
    ch = conn.channel()
    ch.queue_declare(uniq, arguments=first)
    ch.queue_declare(uniq, arguments=first)  # same again: fine
    with channel_error(406):
        ch.queue_declare(uniq, arguments=second)
    ch = conn.channel()
    ch.queue_declare(uniq, passive=True, arguments=second)  # passive ignores args
    ch.queue_delete(uniq)


@pytest.mark.parametrize("flag", ["durable", "exclusive", "auto_delete"])
def test_redeclare_with_different_flags_is_406(conn, uniq, flag):
    ch = conn.channel()
    ch.queue_declare(uniq)
    with channel_error(406 if flag != "exclusive" else 405):
        ch.queue_declare(uniq, **{flag: True})
    ch = conn.channel()
    ch.queue_delete(uniq)


@pytest.mark.parametrize("key,first,second,why", [
    ("durable", {}, {"durable": True},
     "received 'true' but current is 'false'"),
    ("auto_delete", {"auto_delete": True}, {},
     "received 'false' but current is 'true'"),
    ("x-max-length", {"arguments": {"x-max-length": 10}},
     {"arguments": {"x-max-length": 20}}, "received '20' but current is '10'"),
    ("x-max-length", {}, {"arguments": {"x-max-length": 20}},
     "received the value '20' of type 'signedint' but current is none"),
    ("x-overflow", {"arguments": {"x-overflow": "reject-publish"}}, {},
     "received none but current is the value 'reject-publish' of type "
     "'longstr'"),
])
def test_redeclare_406_text_is_rabbitmqs(conn, uniq, key, first, second, why):
    # RabbitMQ 3.10: "inequivalent arg 'K' for queue 'Q' in vhost '/': WHY"
    ch = conn.channel()
    ch.queue_declare(uniq, **first)
    with channel_error(406) as ei:
        ch.queue_declare(uniq, **second)
    assert ei.value.reply_text == (
        "PRECONDITION_FAILED - inequivalent arg '%s' for queue '%s' in vhost "
        "'/': %s" % (key, uniq, why))
    ch = conn.channel()
    ch.queue_delete(uniq)


def test_queue_fifo_order(ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    n = 500
    for i in range(n):
        ch.basic_publish("", uniq, b"%d" % i)
    got = consume_n(ch, uniq, n, auto_ack=True)
    ch.cancel()
    assert [b for _, _, b in got] == [b"%d" % i for i in range(n)]


def test_queue_max_length_drops_head(ch, uniq):
    ch.queue_declare(uniq, exclusive=True, arguments={"x-max-length": 3})
    for i in range(5):
        ch.basic_publish("", uniq, b"%d" % i)
    assert wait_count(ch, uniq, 3) == 3
    assert [b for _, _, b in get_all(ch, uniq)] == [b"2", b"3", b"4"]
