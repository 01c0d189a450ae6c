# SPDX-License-Identifier: MIT
"""Issue 9: message TTL (x-message-ttl, the expiration property), TTL with
dead-lettering, queue expiry (x-expires) and the queue-argument checks, as
RabbitMQ's TTL docs describe them. Short TTLs, polled with deadlines: never
a tight timing assertion. Under valgrind (SLOW > 1) every TTL and wait
here is SLOW times longer: a message must still be there for the get that
follows its publish."""

import datetime
import time

import pika
import pytest

from broker import SLOW
from helpers import WAIT, channel_error, flush, wait_count, wait_gone

TTL = int(150 * SLOW)  # ms


def get_within(ch, queue, timeout=WAIT):
    """basic.get (auto-ack) until a message comes or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        m, p, b = ch.basic_get(queue, auto_ack=True)
        if m is not None or time.monotonic() > deadline:
            return m, p, b
        time.sleep(0.02)


def dlx_pair(ch, uniq):
    """A fanout dead-letter exchange and the queue bound to it."""
    dlx, dlq = uniq + "-dlx", uniq + "-dlq"
    ch.exchange_declare(dlx, "fanout", auto_delete=True)
    ch.queue_declare(dlq, exclusive=True)
    ch.queue_bind(dlq, dlx)
    return dlx, dlq


def test_queue_ttl_expires_messages(ch, uniq):
    ch.queue_declare(uniq, exclusive=True, arguments={"x-message-ttl": TTL})
    for i in range(3):
        ch.basic_publish("", uniq, b"m%d" % i)
    assert wait_count(ch, uniq, 0) == 0
    assert ch.basic_get(uniq, auto_ack=True)[0] is None


def test_message_ttl_expires_only_that_message(ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    ch.basic_publish("", uniq, b"short",
                     pika.BasicProperties(expiration=str(TTL)))
    ch.basic_publish("", uniq, b"long",
                     pika.BasicProperties(expiration="60000"))
    ch.basic_publish("", uniq, b"forever")
    # RabbitMQ drops expired messages at the head; so does warren (and
    # anywhere else).
    assert wait_count(ch, uniq, 2) == 2
    bodies = [ch.basic_get(uniq, auto_ack=True)[2] for _ in range(2)]
    assert bodies == [b"long", b"forever"]


@pytest.mark.parametrize("queue_ttl,msg_ttl", [(60000, str(TTL)),
                                               (TTL, "60000")])
def test_smaller_ttl_wins(ch, uniq, queue_ttl, msg_ttl):
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-message-ttl": queue_ttl})
    ch.basic_publish("", uniq, b"x", pika.BasicProperties(expiration=msg_ttl))
    assert wait_count(ch, uniq, 0) == 0


def test_expired_message_never_delivered(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True, arguments={"x-message-ttl": TTL})
    ch.basic_publish("", uniq, b"stale")
    time.sleep(TTL / 1000 + 0.3 * SLOW)
    got = []
    ch.basic_consume(uniq, lambda c, m, p, b: got.append(b), auto_ack=True)
    flush(conn, 0.5)
    ch.basic_publish("", uniq, b"fresh")
    flush(conn, 0.5)
    assert got == [b"fresh"]


@pytest.mark.warren_only
def test_expires_on_time_behind_a_long_lived_head(ch, uniq):
    """Unlike RabbitMQ, an expired message does not wait to reach the head:
    it leaves the queue (and is dead-lettered) on time."""
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish("", uniq, b"head")  # no TTL: stays
    ch.basic_publish("", uniq, b"middle",
                     pika.BasicProperties(expiration=str(TTL)))
    ch.basic_publish("", uniq, b"tail")
    assert wait_count(ch, uniq, 2) == 2
    m, p, b = get_within(ch, dlq)
    assert b == b"middle"
    assert p.headers["x-death"][0]["reason"] == "expired"
    assert [ch.basic_get(uniq, auto_ack=True)[2] for _ in range(2)] == \
        [b"head", b"tail"]


def test_ttl_zero_reaches_a_waiting_consumer_only(conn, uniq):
    """RabbitMQ: TTL 0 expires a message unless a consumer can take it at
    once."""
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True, arguments={"x-message-ttl": 0})
    ch.basic_publish("", uniq, b"nobody")
    assert wait_count(ch, uniq, 0) == 0
    got = []
    ch.basic_consume(uniq, lambda c, m, p, b: got.append(b), auto_ack=True)
    ch.basic_publish("", uniq, b"somebody")
    deadline = time.monotonic() + WAIT
    while not got and time.monotonic() < deadline:
        flush(conn, 0.05)
    assert got == [b"somebody"]


def test_requeued_message_keeps_its_expiry(ch, uniq):
    """The original expiry time is kept across a requeue: a message that
    passed it while unacked is expired when it comes back."""
    ch.queue_declare(uniq, exclusive=True, arguments={"x-message-ttl": TTL})
    ch.basic_publish("", uniq, b"x")
    m, _, _ = ch.basic_get(uniq)
    assert m is not None
    time.sleep(TTL / 1000 + 0.3 * SLOW)  # unacked: not expired meanwhile
    ch.basic_nack(m.delivery_tag, requeue=True)
    assert wait_count(ch, uniq, 0) == 0
    assert ch.basic_get(uniq, auto_ack=True)[0] is None


def test_unacked_message_does_not_expire(ch, uniq):
    ch.queue_declare(uniq, exclusive=True, arguments={"x-message-ttl": TTL})
    ch.basic_publish("", uniq, b"x")
    m, _, b = ch.basic_get(uniq)
    time.sleep(TTL / 1000 + 0.3 * SLOW)
    ch.basic_ack(m.delivery_tag)  # still known: no 406
    assert b == b"x"


def test_ttl_dead_letters_with_x_death(ch, uniq):
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-message-ttl": 60000,
                                "x-dead-letter-exchange": dlx})
    ch.basic_publish("", uniq, b"per-message",
                     pika.BasicProperties(expiration=str(TTL),
                                          headers={"app": "kept"},
                                          content_type="text/plain"))
    m, p, b = get_within(ch, dlq)
    assert b == b"per-message"
    assert m.exchange == dlx and m.routing_key == uniq
    assert p.expiration is None  # removed so it does not expire again
    assert p.content_type == "text/plain"
    assert p.headers["app"] == "kept"
    (death,) = p.headers["x-death"]
    assert death["queue"] == uniq
    assert death["reason"] == "expired"
    assert death["count"] == 1
    assert death["exchange"] == ""
    assert death["routing-keys"] == [uniq]
    assert death["original-expiration"] == str(TTL)
    assert isinstance(death["time"], datetime.datetime)  # a timestamp
    assert abs((death["time"] - datetime.datetime.utcnow())
               .total_seconds()) < 120
    assert p.headers["x-first-death-reason"] == "expired"
    assert p.headers["x-first-death-queue"] == uniq
    assert p.headers["x-first-death-exchange"] == ""


def test_queue_ttl_dead_letter_has_no_original_expiration(ch, uniq):
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-message-ttl": TTL,
                                "x-dead-letter-exchange": dlx})
    ch.basic_publish("", uniq, b"q")
    m, p, b = get_within(ch, dlq)
    assert b == b"q"
    assert "original-expiration" not in p.headers["x-death"][0]


@pytest.mark.parametrize("value,why", [
    ("abc", "no_integer"),
    ("-5", "{value_negative,-5}"),
    ("1.5", '{leftover_string,".5"}'),
])
def test_invalid_expiration_is_406(ch, uniq, value, why):
    ch.queue_declare(uniq, exclusive=True)
    with channel_error(406) as ei:
        ch.basic_publish("", uniq, b"x", pika.BasicProperties(expiration=value))
        ch.basic_qos(prefetch_count=1)  # a round trip to see the error
    assert "invalid expiration" in ei.value.reply_text
    assert why in ei.value.reply_text


# ---- x-expires ------------------------------------------------------------

def expired_within(conn, queue, timeout=WAIT):
    """Polls until queue is gone, without using it: a passive declare would
    count as use (RabbitMQ resets x-expires on it), a mandatory publish to
    the default exchange does not and comes back once the queue is gone."""
    ch = conn.channel()
    ch.confirm_delivery()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                ch.basic_publish("", queue, b"probe", mandatory=True)
            except pika.exceptions.UnroutableError:
                return True
            time.sleep(0.05)
        return False
    finally:
        ch.close()

def test_unused_queue_expires(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, arguments={"x-expires": int(300 * SLOW)})
    ch.basic_publish("", uniq, b"messages do not keep it alive")
    assert expired_within(conn, uniq)
    assert wait_gone(conn, "queue", uniq, timeout=0.1)


def test_queue_with_consumer_does_not_expire(conn, uniq):
    ch = conn.channel()
    ch.queue_declare(uniq, arguments={"x-expires": int(300 * SLOW)})
    tag = ch.basic_consume(uniq, lambda *a: None)
    flush(conn, 1.0)
    probe = conn.channel()
    assert probe.queue_declare(uniq, passive=True).method.consumer_count == 1
    ch.basic_cancel(tag)
    # unused from the cancel on: gone within the interval (and a margin)
    assert expired_within(conn, uniq)
    assert ch.is_open  # an expiring queue is no error for anybody


def test_queue_use_resets_expiry(conn, uniq):
    ch = conn.channel()
    expires = int(600 * SLOW)
    ch.queue_declare(uniq, arguments={"x-expires": expires})
    end = time.monotonic() + 1.5 * SLOW
    while time.monotonic() < end:  # basic.get counts as use
        ch.basic_get(uniq, auto_ack=True)
        time.sleep(0.15 * SLOW)
    ch.queue_declare(uniq, arguments={"x-expires": expires})  # so does declare
    assert expired_within(conn, uniq)


# ---- argument checks -----------------------------------------------------

@pytest.mark.parametrize("args,why", [
    ({"x-message-ttl": -1}, "{value_negative,-1}"),
    ({"x-message-ttl": "100"}, "expected integer, got longstr"),
    ({"x-expires": 0}, "{value_zero,0}"),
    ({"x-max-length": -1}, "{value_negative,-1}"),
    ({"x-max-length-bytes": -2}, "{value_negative,-2}"),
    ({"x-overflow": "drop-tail"}, "invalid_overflow"),
    ({"x-dead-letter-routing-key": "k"}, "routing_key_but_no_dlx_defined"),
    ({"x-single-active-consumer": 1}, "{unacceptable_type,signedint}"),
])
def test_invalid_queue_arguments_are_406(ch, uniq, args, why):
    with channel_error(406) as ei:
        ch.queue_declare(uniq, exclusive=True, arguments=args)
    (key,) = args
    assert ("invalid arg '%s'" % key) in ei.value.reply_text
    assert why in ei.value.reply_text
