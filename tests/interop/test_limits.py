# SPDX-License-Identifier: MIT
"""consumer_max_per_channel with pika: RabbitMQ's reply code and text
(530 NOT_ALLOWED, a connection error), what counts, and that the broker
keeps serving. RabbitMQ 3.10 has no such key (it came later), so the tests
that set it need a private warren (warren_only). The vhost limits
(max-connections, max-queues) need the management API to set them: see
tests/admin/test_api_limits.py."""

import pytest

from helpers import connect, connection_error, declare_queue


def limited(broker_factory, n):
    srv = broker_factory("--set", "consumer_max_per_channel=%d" % n)
    return srv.address


@pytest.mark.warren_only
def test_consumer_max_per_channel(broker_factory, uniq):
    b = limited(broker_factory, 3)
    c = connect(b)
    ch = c.channel()
    q = declare_queue(ch, uniq, exclusive=True).queue
    for i in range(3):
        ch.basic_consume(q, lambda *a: None, consumer_tag="c%d" % i)
    # a second channel has its own count
    ch2 = c.channel()
    for i in range(3):
        ch2.basic_consume(q, lambda *a: None)
    # cancelling makes room again
    ch.basic_cancel("c0")
    ch.basic_consume(q, lambda *a: None, consumer_tag="c3")
    with connection_error(530) as ei:
        ch.basic_consume(q, lambda *a: None, consumer_tag="c4")
    assert ei.value.reply_text == \
        "NOT_ALLOWED - reached maximum (3) of consumers per channel"
    # the broker keeps serving
    c2 = connect(b)
    ch = c2.channel()
    declare_queue(ch, uniq + "-2", exclusive=True)
    ch.basic_consume(uniq + "-2", lambda *a: None)
    c2.close()


@pytest.mark.warren_only
def test_consumer_max_checked_before_the_queue(broker_factory, uniq):
    """As RabbitMQ: the limit comes first, even for a queue that does not
    exist."""
    b = limited(broker_factory, 1)
    c = connect(b)
    ch = c.channel()
    declare_queue(ch, uniq, exclusive=True)
    ch.basic_consume(uniq, lambda *a: None)
    with connection_error(530) as ei:
        ch.basic_consume(uniq + "-missing", lambda *a: None)
    assert "reached maximum (1) of consumers per channel" in ei.value.reply_text


@pytest.mark.warren_only
def test_consumer_max_counts_the_reply_to_consumer(broker_factory, uniq):
    b = limited(broker_factory, 2)
    c = connect(b)
    ch = c.channel()
    declare_queue(ch, uniq, exclusive=True)
    ch.basic_consume("amq.rabbitmq.reply-to", lambda *a: None, auto_ack=True)
    ch.basic_consume(uniq, lambda *a: None)
    with connection_error(530) as ei:
        ch.basic_consume(uniq, lambda *a: None)
    assert "reached maximum (2)" in ei.value.reply_text


def test_consumers_unlimited_by_default(broker, uniq):
    """The default is RabbitMQ's: no limit."""
    c = connect(broker)
    ch = c.channel()
    declare_queue(ch, uniq, exclusive=True)
    for _ in range(300):
        ch.basic_consume(uniq, lambda *a: None)
    assert ch.is_open
    c.close()
