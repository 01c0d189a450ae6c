# SPDX-License-Identifier: MIT
"""Issue 9: length limits (x-max-length, x-max-length-bytes, x-overflow)
and dead-letter exchanges (x-dead-letter-exchange, -routing-key): x-death,
x-first-death-*, cycle detection, and the delivery limit. RabbitMQ's
max-length and DLX docs are the reference."""

import time

import pika
import pika.exceptions
import pytest

from helpers import WAIT, wait_count


def get_within(ch, queue, timeout=WAIT, auto_ack=True):
    """basic.get until a message comes or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        m, p, b = ch.basic_get(queue, auto_ack=auto_ack)
        if m is not None or time.monotonic() > deadline:
            return m, p, b
        time.sleep(0.02)


def dlx_pair(ch, uniq, kind="fanout", key=""):
    dlx, dlq = uniq + "-dlx", uniq + "-dlq"
    ch.exchange_declare(dlx, kind, auto_delete=True)
    ch.queue_declare(dlq, exclusive=True)
    ch.queue_bind(dlq, dlx, key)
    return dlx, dlq


# ---- length limits ----------------------------------------------------------

def test_max_length_drop_head_dead_letters_oldest(ch, uniq):
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-max-length": 2,
                                "x-dead-letter-exchange": dlx})
    for i in range(5):
        ch.basic_publish("", uniq, b"%d" % i)
    assert wait_count(ch, uniq, 2) == 2
    assert wait_count(ch, dlq, 3) == 3
    dead = [get_within(ch, dlq) for _ in range(3)]
    assert [b for _, _, b in dead] == [b"0", b"1", b"2"]
    death = dead[0][1].headers["x-death"][0]
    assert (death["reason"], death["queue"]) == ("maxlen", uniq)
    assert [ch.basic_get(uniq, auto_ack=True)[2] for _ in range(2)] == \
        [b"3", b"4"]


def test_max_length_bytes_counts_bodies(ch, uniq):
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-max-length-bytes": 10})
    for body in (b"aaaa", b"bbbb", b"cccc"):  # 12 bytes: the first goes
        ch.basic_publish("", uniq, body)
    assert wait_count(ch, uniq, 2) == 2
    assert ch.basic_get(uniq, auto_ack=True)[2] == b"bbbb"


def test_max_length_counts_ready_messages_only(ch, uniq):
    ch.queue_declare(uniq, exclusive=True, arguments={"x-max-length": 1})
    ch.basic_publish("", uniq, b"a")
    m, _, _ = get_within(ch, uniq, auto_ack=False)
    ch.basic_publish("", uniq, b"b")  # "a" is unacked: "b" fits
    assert wait_count(ch, uniq, 1) == 1
    # RabbitMQ applies drop-head after a requeue as well: the requeued
    # message is the head, and goes
    ch.basic_nack(m.delivery_tag, requeue=True)
    assert wait_count(ch, uniq, 1) == 1
    assert ch.basic_get(uniq, auto_ack=True)[2] == b"b"


def test_reject_publish_nacks_under_confirms(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-max-length": 2,
                                "x-overflow": "reject-publish"})
    ch.confirm_delivery()
    ch.basic_publish("", uniq, b"1")
    ch.basic_publish("", uniq, b"2")
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", uniq, b"3")
    assert wait_count(ch, uniq, 2) == 2
    assert ch.basic_get(uniq, auto_ack=True)[2] == b"1"  # head kept
    ch.basic_publish("", uniq, b"4")  # room again: acked
    assert [ch.basic_get(uniq, auto_ack=True)[2] for _ in range(2)] == \
        [b"2", b"4"]


def test_reject_publish_without_confirms_drops_silently(ch, uniq):
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-max-length": 1,
                                "x-overflow": "reject-publish"})
    for i in range(3):
        ch.basic_publish("", uniq, b"%d" % i)
    assert wait_count(ch, uniq, 1) == 1
    assert ch.basic_get(uniq, auto_ack=True)[2] == b"0"
    assert ch.is_open


def test_reject_publish_dlx_dead_letters_the_refused(conn, uniq):
    ch = conn.channel()
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-max-length": 1,
                                "x-overflow": "reject-publish-dlx",
                                "x-dead-letter-exchange": dlx})
    ch.confirm_delivery()
    ch.basic_publish("", uniq, b"kept")
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", uniq, b"refused")
    m, p, b = get_within(ch, dlq)
    assert b == b"refused"
    assert p.headers["x-death"][0]["reason"] == "maxlen"
    assert ch.basic_get(uniq, auto_ack=True)[2] == b"kept"


def test_reject_publish_on_one_of_several_queues_nacks(conn, uniq):
    """RabbitMQ: a message refused by any of its queues is nacked; the
    queues that took it keep it."""
    ch = conn.channel()
    x = uniq + "-fan"
    ch.exchange_declare(x, "fanout", auto_delete=True)
    full, roomy = uniq + "-full", uniq + "-roomy"
    ch.queue_declare(full, exclusive=True,
                     arguments={"x-max-length": 0,
                                "x-overflow": "reject-publish"})
    ch.queue_declare(roomy, exclusive=True)
    ch.queue_bind(full, x)
    ch.queue_bind(roomy, x)
    ch.confirm_delivery()
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish(x, "", b"m")
    assert wait_count(ch, roomy, 1) == 1
    assert wait_count(ch, full, 0) == 0


# ---- dead-lettering -------------------------------------------------------

def test_reject_and_nack_dead_letter_with_x_death(ch, uniq):
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-dead-letter-exchange": dlx})
    for i in range(3):
        ch.basic_publish("", uniq, b"%d" % i,
                         pika.BasicProperties(headers={"CC": ["cc-key"]}))
    assert wait_count(ch, uniq, 3) == 3
    tags = [ch.basic_get(uniq)[0].delivery_tag for _ in range(3)]
    ch.basic_reject(tags[0], requeue=False)
    ch.basic_nack(tags[2], multiple=True, requeue=False)
    dead = [get_within(ch, dlq) for _ in range(3)]
    assert sorted(b for _, _, b in dead) == [b"0", b"1", b"2"]
    for m, p, b in dead:
        assert m.exchange == dlx and m.routing_key == uniq
        (d,) = p.headers["x-death"]
        assert d["reason"] == "rejected"
        assert d["queue"] == uniq
        assert d["count"] == 1
        assert d["exchange"] == ""
        assert d["routing-keys"] == [uniq, "cc-key"]  # CC kept, in order
        assert p.headers["x-first-death-reason"] == "rejected"
        assert p.headers["x-first-death-queue"] == uniq
        assert p.headers["x-first-death-exchange"] == ""
        assert p.headers["CC"] == ["cc-key"]


def test_requeue_true_does_not_dead_letter(ch, uniq):
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish("", uniq, b"x")
    m, _, _ = get_within(ch, uniq, auto_ack=False)
    ch.basic_nack(m.delivery_tag, requeue=True)
    assert wait_count(ch, uniq, 1) == 1
    assert wait_count(ch, dlq, 0, timeout=0.3) == 0


def test_dead_letter_routing_key_replaces_keys(ch, uniq):
    dlx, dlq = dlx_pair(ch, uniq, kind="direct", key="dead")
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-dead-letter-exchange": dlx,
                                "x-dead-letter-routing-key": "dead"})
    ch.basic_publish("", uniq, b"x",
                     pika.BasicProperties(headers={"CC": ["other"]}))
    m, _, _ = get_within(ch, uniq, auto_ack=False)
    ch.basic_reject(m.delivery_tag, requeue=False)
    m, p, b = get_within(ch, dlq)
    assert m.routing_key == "dead"
    assert "CC" not in p.headers  # replaced by the dead-letter key
    assert p.headers["x-death"][0]["routing-keys"] == [uniq, "other"]


def test_dead_letter_to_default_exchange(ch, uniq):
    target = uniq + "-target"
    ch.queue_declare(target, exclusive=True)
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-message-ttl": 100,
                                "x-dead-letter-exchange": "",
                                "x-dead-letter-routing-key": target})
    ch.basic_publish("", uniq, b"x")
    m, p, b = get_within(ch, target)
    assert b == b"x" and m.exchange == "" and m.routing_key == target


def test_missing_dead_letter_exchange_drops(ch, uniq):
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-message-ttl": 100,
                                "x-dead-letter-exchange": uniq + "-nowhere"})
    ch.basic_publish("", uniq, b"x")
    assert wait_count(ch, uniq, 0) == 0
    assert ch.is_open


def test_x_death_count_grows_for_same_queue_and_reason(ch, uniq):
    """Rejections are never a cycle: a queue dead-lettering to itself counts
    up one x-death entry per (queue, reason)."""
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-dead-letter-exchange": "",
                                "x-dead-letter-routing-key": uniq})
    ch.basic_publish("", uniq, b"boomerang")
    for n in (1, 2, 3):
        m, p, _ = get_within(ch, uniq, auto_ack=False)
        assert m is not None
        if n > 1:
            (d,) = p.headers["x-death"]
            assert d["count"] == n - 1
            assert d["reason"] == "rejected"
        ch.basic_reject(m.delivery_tag, requeue=False)


def test_expiry_cycle_is_cut(ch, uniq):
    """RabbitMQ's cycle detection: a message that expires back into a queue
    it already died in, with no rejection on the way, is dropped."""
    a, b = uniq + "-a", uniq + "-b"
    ch.queue_declare(a, exclusive=True,
                     arguments={"x-message-ttl": 100,
                                "x-dead-letter-exchange": "",
                                "x-dead-letter-routing-key": b})
    ch.queue_declare(b, exclusive=True,
                     arguments={"x-message-ttl": 100,
                                "x-dead-letter-exchange": "",
                                "x-dead-letter-routing-key": a})
    def held():
        return sum(ch.queue_declare(q, passive=True).method.message_count
                   for q in (a, b))

    ch.basic_publish("", a, b"round and round")
    # it arrives (publishing is asynchronous in RabbitMQ) ...
    deadline = time.monotonic() + WAIT
    while held() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    # ... goes a -> b -> (a: cycle, dropped) ...
    deadline = time.monotonic() + WAIT
    while held() != 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    # ... and stays gone: were it still bouncing, a sample would find it
    for _ in range(10):
        assert held() == 0
        time.sleep(0.05)


def test_cycle_with_a_rejection_is_not_cut(ch, uniq):
    a, b = uniq + "-a", uniq + "-b"
    ch.queue_declare(a, exclusive=True,
                     arguments={"x-dead-letter-exchange": "",
                                "x-dead-letter-routing-key": b})
    ch.queue_declare(b, exclusive=True,
                     arguments={"x-message-ttl": 100,
                                "x-dead-letter-exchange": "",
                                "x-dead-letter-routing-key": a})
    ch.basic_publish("", a, b"x")
    m, _, _ = get_within(ch, a, auto_ack=False)
    ch.basic_reject(m.delivery_tag, requeue=False)  # a -> b (rejected)
    # b expires it back into a: a rejection is in the cycle, so it arrives
    m, p, _ = get_within(ch, a)
    assert m is not None
    reasons = [(d["queue"], d["reason"]) for d in p.headers["x-death"]]
    assert reasons == [(b, "expired"), (a, "rejected")]


def test_max_length_and_dlx_and_ttl_together(ch, uniq):
    """Interplay: a bounded queue with TTL dead-letters both the overflow
    and the expired messages."""
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-max-length": 1, "x-message-ttl": 200,
                                "x-dead-letter-exchange": dlx})
    ch.basic_publish("", uniq, b"first")
    ch.basic_publish("", uniq, b"second")
    got = [get_within(ch, dlq) for _ in range(2)]
    assert [(b, p.headers["x-death"][0]["reason"]) for _, p, b in got] == \
        [(b"first", "maxlen"), (b"second", "expired")]


# ---- delivery limit (warren's classic queues; RabbitMQ 3.10 has it on
# ---- quorum queues only) ---------------------------------------------------

@pytest.mark.warren_only
def test_delivery_limit_dead_letters_with_delivery_count(conn, uniq):
    ch = conn.channel()
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-delivery-limit": 2,
                                "x-dead-letter-exchange": dlx})
    ch.basic_publish("", uniq, b"poison")
    counts = []
    for _ in range(3):
        m, p, _ = get_within(ch, uniq, auto_ack=False)
        assert m is not None
        counts.append((m.redelivered,
                       (p.headers or {}).get("x-delivery-count")))
        ch.basic_nack(m.delivery_tag, requeue=True)
    assert counts == [(False, None), (True, 1), (True, 2)]
    m, p, b = get_within(ch, dlq)
    assert b == b"poison"
    assert p.headers["x-death"][0]["reason"] == "delivery_limit"
    assert p.headers["x-delivery-count"] == 3
    assert wait_count(ch, uniq, 0) == 0


@pytest.mark.warren_only
def test_delivery_limit_counts_channel_close(connections, uniq):
    """Every return counts, a consumer's channel closing with the message
    unacked included."""
    owner = connections()
    och = owner.channel()
    och.queue_declare(uniq, arguments={"x-delivery-limit": 1})
    och.basic_publish("", uniq, b"m")
    for _ in range(2):
        c = connections()
        cch = c.channel()
        m, _, _ = get_within(cch, uniq, auto_ack=False)
        assert m is not None
        c.close()  # unacked: returned
    # the second return passed the limit (no DLX: dropped)
    assert wait_count(och, uniq, 0) == 0
    och.queue_delete(uniq)


def test_delivery_limit_rejected_by_rabbitmq_classic_argument_parsing(ch, uniq):
    """Negative limits are refused everywhere."""
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.queue_declare(uniq, exclusive=True,
                         arguments={"x-delivery-limit": -1})
    assert ei.value.reply_code == 406



@pytest.mark.parametrize("xdeath", [
    "not an array",
    # RabbitMQ 3.10 loses this message (its x-death grouping expects
    # tables); warren keeps the foreign entries as they are
    pytest.param(["not a table", 42], marks=pytest.mark.warren_only),
    [{"queue": 7, "reason": ["odd"]}, {}],
    [{"count": "many", "queue": "q", "reason": "rejected", "exchange": ""}],
])
def test_client_made_x_death_does_not_break_dead_lettering(ch, uniq, xdeath):
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish("", uniq, b"x", pika.BasicProperties(
        headers={"x-death": xdeath, "x-first-death-queue": "made-up"}))
    m, _, _ = get_within(ch, uniq, auto_ack=False)
    ch.basic_reject(m.delivery_tag, requeue=False)
    m, p, b = get_within(ch, dlq)
    assert b == b"x"
    assert p.headers["x-death"][0]["queue"] == uniq
    assert p.headers["x-death"][0]["reason"] == "rejected"


def test_many_cc_keys(ch, uniq):
    x = uniq + "-x"
    ch.exchange_declare(x, "direct", auto_delete=True)
    q = uniq + "-q"
    ch.queue_declare(q, exclusive=True)
    ch.queue_bind(q, x, "k500")
    keys = ["k%d" % i for i in range(1000)]
    ch.basic_publish(x, "none", b"x",
                     pika.BasicProperties(headers={"CC": keys}))
    assert get_within(ch, q)[2] == b"x"
    assert wait_count(ch, q, 0) == 0  # once, not once per key
