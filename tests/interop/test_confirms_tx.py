# SPDX-License-Identifier: MIT
"""Publisher confirms (RabbitMQ confirm class) and transactions (tx class).
Raw checks of confirm delivery tags and `multiple` are in tests/proto."""

import pika.exceptions
import pytest

from helpers import channel_error, get_all, wait_count


def test_confirm_every_publish_acked(ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    ch.confirm_delivery()
    for i in range(200):
        # BlockingChannel waits for basic.ack; a nack raises NackError
        ch.basic_publish("", uniq, b"%d" % i, mandatory=True)
    assert wait_count(ch, uniq, 200) == 200


def test_confirm_unroutable_is_acked_after_return(ch, uniq):
    """Unroutable + mandatory: basic.return then basic.ack (not nack)."""
    ch.confirm_delivery()
    with pytest.raises(pika.exceptions.UnroutableError) as ei:
        ch.basic_publish("", uniq + "-nowhere", b"lost", mandatory=True)
    (ret,) = ei.value.messages
    assert (ret.method.reply_code, ret.method.routing_key, ret.body) == \
        (312, uniq + "-nowhere", b"lost")
    # not mandatory: silently dropped, still acked
    ch.basic_publish("", uniq + "-nowhere", b"lost", mandatory=False)
    ch.exchange_declare(uniq, exchange_type="fanout")
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, uniq)
    ch.queue_unbind(q, uniq)
    ch.basic_publish(uniq, "", b"no bindings", mandatory=False)
    ch.exchange_delete(uniq)


def test_confirm_fanout_many_queues_acked(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="fanout", auto_delete=True)
    qs = [ch.queue_declare("", exclusive=True).method.queue for _ in range(10)]
    for q in qs:
        ch.queue_bind(q, uniq)
    ch.confirm_delivery()
    for i in range(20):
        ch.basic_publish(uniq, "", b"%d" % i)
    for q in qs:
        assert wait_count(ch, q, 20) == 20


def test_confirm_select_on_tx_channel_is_406(conn):
    ch = conn.channel()
    ch.tx_select()
    with channel_error(406):
        ch.confirm_delivery()


def test_tx_select_on_confirm_channel_is_406(conn):
    ch = conn.channel()
    ch.confirm_delivery()
    with channel_error(406):
        ch.tx_select()


def test_tx_rollback_discards_publishes(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True)
    ch.tx_select()
    for i in range(3):
        ch.basic_publish("", uniq, b"%d" % i)
    probe = conn.channel()
    assert probe.queue_declare(uniq, passive=True).method.message_count == 0
    ch.tx_rollback()
    assert probe.queue_declare(uniq, passive=True).method.message_count == 0
    ch.basic_publish("", uniq, b"after rollback")
    ch.tx_commit()
    assert [b for _, _, b in get_all(probe, uniq)] == [b"after rollback"]


def test_tx_commit_delivers_in_order(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True)
    ch.tx_select()
    for i in range(5):
        ch.basic_publish("", uniq, b"%d" % i)
    probe = conn.channel()
    assert probe.queue_declare(uniq, passive=True).method.message_count == 0
    ch.tx_commit()
    assert wait_count(probe, uniq, 5) == 5
    assert [b for _, _, b in get_all(probe, uniq)] == [b"%d" % i for i in range(5)]
    ch.tx_commit()  # empty commit is fine


def test_tx_ack_rollback_then_commit(conn, uniq):
    probe = conn.channel()
    probe.queue_declare(uniq, exclusive=True)
    for i in range(2):
        probe.basic_publish("", uniq, b"%d" % i)
    assert wait_count(probe, uniq, 2) == 2
    ch = conn.channel()
    ch.tx_select()
    m0, _, _ = ch.basic_get(uniq, auto_ack=False)
    m1, _, _ = ch.basic_get(uniq, auto_ack=False)
    ch.basic_ack(m0.delivery_tag)
    ch.tx_rollback()
    # the ack was discarded: the message is still unacked and can be acked again
    ok = probe.queue_declare(uniq, passive=True).method
    assert ok.message_count == 0
    ch.basic_ack(m0.delivery_tag)
    ch.tx_commit()
    ch.close()  # requeues only what is still unacked: message "1"
    got = get_all(probe, uniq)
    assert [(b, m.redelivered) for m, _, b in got] == [(b"1", True)]


def test_tx_rolled_back_ack_requeued_on_close(conn, uniq):
    probe = conn.channel()
    probe.queue_declare(uniq, exclusive=True)
    probe.basic_publish("", uniq, b"x")
    assert wait_count(probe, uniq, 1) == 1
    ch = conn.channel()
    ch.tx_select()
    m, _, _ = ch.basic_get(uniq, auto_ack=False)
    ch.basic_ack(m.delivery_tag)
    ch.tx_rollback()
    ch.close()
    got = get_all(probe, uniq)
    assert [(b, m.redelivered) for m, _, b in got] == [(b"x", True)]


def test_tx_commit_without_select_is_406(conn):
    ch = conn.channel()
    with channel_error(406):
        ch.tx_commit()
    ch = conn.channel()
    with channel_error(406):
        ch.tx_rollback()
