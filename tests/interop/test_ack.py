# SPDX-License-Identifier: MIT
"""Acknowledgement semantics: ack, ack multiple, nack/reject with and without
requeue, unknown delivery tags, basic.recover, requeue on channel close, and
basic.cancel leaving unacked messages alone."""

import time

from helpers import channel_error, consume_n, flush, get_all, wait_count


def fill(ch, q, n, prefix=b""):
    ch.queue_declare(q, exclusive=True)
    for i in range(n):
        ch.basic_publish("", q, prefix + b"%d" % i)
    assert wait_count(ch, q, n) == n


def gets(ch, q, n):
    out = []
    for _ in range(n):
        m, p, b = ch.basic_get(q, auto_ack=False)
        assert m is not None
        out.append((m, b))
    return out


def state(ch, q):
    """[(body, redelivered)] of everything ready in q (consumes it)."""
    return [(b, m.redelivered) for m, _, b in get_all(ch, q)]


def test_ack_removes_message(conn, uniq):
    ch = conn.channel()
    fill(ch, uniq, 3)
    (m, b), = gets(ch, uniq, 1)
    ch.basic_ack(m.delivery_tag)
    ch.close()  # would requeue anything unacked
    ch = conn.channel()
    assert state(ch, uniq) == [(b"1", False), (b"2", False)]


def test_ack_multiple(conn, uniq):
    ch = conn.channel()
    fill(ch, uniq, 5)
    got = gets(ch, uniq, 5)
    assert [m.delivery_tag for m, _ in got] == [1, 2, 3, 4, 5]
    ch.basic_ack(3, multiple=True)  # acks 1, 2, 3
    ch.close()
    ch = conn.channel()
    assert state(ch, uniq) == [(b"3", True), (b"4", True)]


def test_ack_multiple_zero_acks_everything(conn, uniq):
    """RabbitMQ: delivery-tag 0 with multiple=true acks all outstanding."""
    ch = conn.channel()
    fill(ch, uniq, 4)
    gets(ch, uniq, 4)
    ch.basic_ack(0, multiple=True)
    ch.close()
    ch = conn.channel()
    assert state(ch, uniq) == []


def test_nack_requeue_goes_back_to_head_in_order(ch, uniq):
    fill(ch, uniq, 6)
    got = gets(ch, uniq, 3)  # 0 1 2 unacked, 3 4 5 ready
    ch.basic_nack(got[2][0].delivery_tag, multiple=True, requeue=True)
    assert wait_count(ch, uniq, 6) == 6
    assert state(ch, uniq) == [(b"0", True), (b"1", True), (b"2", True),
                               (b"3", False), (b"4", False), (b"5", False)]


def test_nack_requeue_single_out_of_order(ch, uniq):
    fill(ch, uniq, 4)
    got = gets(ch, uniq, 3)
    ch.basic_nack(got[1][0].delivery_tag, multiple=False, requeue=True)  # "1"
    ch.basic_nack(got[0][0].delivery_tag, multiple=False, requeue=True)  # "0"
    assert wait_count(ch, uniq, 3) == 3
    assert state(ch, uniq) == [(b"0", True), (b"1", True), (b"3", False)]
    ch.basic_ack(got[2][0].delivery_tag)


def test_requeue_restores_original_order_whatever_the_nack_order(ch, uniq):
    """Requeued messages go back ahead of the never-delivered ones, in their
    original publish order, not in the order they were nacked."""
    fill(ch, uniq, 5)
    got = gets(ch, uniq, 3)  # 0 1 2 unacked, 3 4 ready
    for i in (0, 2, 1):
        ch.basic_nack(got[i][0].delivery_tag, requeue=True)
    assert wait_count(ch, uniq, 5) == 5
    assert state(ch, uniq) == [(b"0", True), (b"1", True), (b"2", True),
                               (b"3", False), (b"4", False)]


def test_requeued_message_redelivered_to_consumer(conn, ch, uniq):
    fill(ch, uniq, 2)
    first = consume_n(ch, uniq, 2, auto_ack=False)
    assert [(b, m.redelivered) for m, _, b in first] == [(b"0", False), (b"1", False)]
    ch.basic_nack(first[1][0].delivery_tag, multiple=True, requeue=True)
    again = consume_n(ch, uniq, 2, auto_ack=False)
    assert [(b, m.redelivered) for m, _, b in again] == [(b"0", True), (b"1", True)]
    assert [m.delivery_tag for m, _, _ in again] == [3, 4]  # tags never reused
    ch.basic_ack(4, multiple=True)
    ch.cancel()


def test_nack_without_requeue_drops(conn, uniq):
    ch = conn.channel()
    fill(ch, uniq, 4)
    got = gets(ch, uniq, 3)
    ch.basic_nack(got[1][0].delivery_tag, multiple=True, requeue=False)  # 0, 1
    ch.basic_nack(got[2][0].delivery_tag, requeue=False)  # 2
    ch.close()
    ch = conn.channel()
    assert state(ch, uniq) == [(b"3", False)]


def test_reject_requeue_and_drop(conn, uniq):
    ch = conn.channel()
    fill(ch, uniq, 3)
    got = gets(ch, uniq, 2)
    ch.basic_reject(got[0][0].delivery_tag, requeue=False)
    ch.basic_reject(got[1][0].delivery_tag, requeue=True)
    assert wait_count(ch, uniq, 2) == 2
    ch.close()
    ch = conn.channel()
    assert state(ch, uniq) == [(b"1", True), (b"2", False)]


def test_ack_unknown_delivery_tag_is_406(conn, uniq):
    ch = conn.channel()
    fill(ch, uniq, 1)
    with channel_error(406) as ei:
        ch.basic_ack(99)
        ch.queue_declare(uniq, passive=True)  # sync point
    assert "PRECONDITION_FAILED" in str(ei.value)
    ch = conn.channel()
    assert state(ch, uniq) == [(b"0", False)]


def test_double_ack_is_406(conn, uniq):
    ch = conn.channel()
    fill(ch, uniq, 1)
    (m, _), = gets(ch, uniq, 1)
    ch.basic_ack(m.delivery_tag)
    with channel_error(406):
        ch.basic_ack(m.delivery_tag)
        ch.queue_declare(uniq, passive=True)


def test_nack_unknown_delivery_tag_is_406(ch, uniq):
    fill(ch, uniq, 0)
    with channel_error(406):
        ch.basic_nack(7, requeue=True)
        ch.queue_declare(uniq, passive=True)


def test_reject_unknown_delivery_tag_is_406(ch, uniq):
    fill(ch, uniq, 0)
    with channel_error(406):
        ch.basic_reject(7, requeue=False)
        ch.queue_declare(uniq, passive=True)


def test_ack_on_other_channel_is_406(conn, uniq):
    """Delivery tags are per channel."""
    ch = conn.channel()
    fill(ch, uniq, 1)
    gets(ch, uniq, 1)
    other = conn.channel()
    with channel_error(406):
        other.basic_ack(1)
        other.queue_declare(uniq, passive=True)
    assert ch.is_open
    ch.basic_ack(1)


def test_recover_requeue_redelivers(conn, ch, uniq):
    fill(ch, uniq, 3)
    gets(ch, uniq, 3)
    ch.basic_recover(requeue=True)
    assert wait_count(ch, uniq, 3) == 3
    assert state(ch, uniq) == [(b"0", True), (b"1", True), (b"2", True)]


def test_recover_requeue_redelivers_to_consumer(conn, ch, uniq):
    fill(ch, uniq, 3)
    first = consume_n(ch, uniq, 3)
    ch.basic_recover(requeue=True)
    again = consume_n(ch, uniq, 3)
    assert [(b, m.redelivered) for m, _, b in again] == \
        [(b"0", True), (b"1", True), (b"2", True)]
    ch.basic_ack(again[-1][0].delivery_tag, multiple=True)
    ch.cancel()
    assert len(first) == 3


def test_channel_close_requeues_unacked_in_order(conn, uniq):
    ch = conn.channel()
    fill(ch, uniq, 10)
    got = consume_n(ch, uniq, 10, auto_ack=False)
    assert len(got) == 10
    ch.basic_ack(got[4][0].delivery_tag)  # "4" acked; the rest unacked
    ch.close()
    ch = conn.channel()
    assert wait_count(ch, uniq, 9) == 9
    assert state(ch, uniq) == [(b"%d" % i, True) for i in range(10) if i != 4]


def test_connection_close_requeues_unacked(connections, uniq):
    keeper = connections().channel()
    keeper.queue_declare(uniq)
    for i in range(5):
        keeper.basic_publish("", uniq, b"%d" % i)
    c = connections()
    ch = c.channel()
    got = consume_n(ch, uniq, 5)
    assert len(got) == 5
    c.close()
    assert wait_count(keeper, uniq, 5) == 5
    assert state(keeper, uniq) == [(b"%d" % i, True) for i in range(5)]
    keeper.queue_delete(uniq)


def test_cancel_does_not_requeue(conn, uniq):
    ch = conn.channel()
    fill(ch, uniq, 4)
    got = []
    tag = ch.basic_consume(uniq, lambda c, m, p, b: got.append(m))
    deadline = time.monotonic() + 5
    while len(got) < 4 and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    assert len(got) == 4
    ch.basic_cancel(tag)
    flush(conn, 0.2)
    probe = conn.channel()
    ok = probe.queue_declare(uniq, passive=True).method
    assert (ok.message_count, ok.consumer_count) == (0, 0)  # still unacked
    ch.basic_ack(got[1].delivery_tag, multiple=True)  # acks after cancel work
    ch.basic_nack(got[2].delivery_tag, requeue=True)
    assert wait_count(probe, uniq, 1) == 1
    ch.close()  # requeues the one still unacked ("3")
    assert wait_count(probe, uniq, 2) == 2
    assert state(probe, uniq) == [(b"2", True), (b"3", True)]
