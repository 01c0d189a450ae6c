# SPDX-License-Identifier: MIT
"""The x-consistent-hash exchange type, as RabbitMQ's
rabbitmq_consistent_hash_exchange plugin has it: binding keys are weights,
messages spread over the bound queues by the hash of their routing key (or
of a header, hash-header, or a property, hash-property)."""

import pika
import pytest

from helpers import channel_error, get_all

N = 6000


def queues(ch, n):
    return [ch.queue_declare("", exclusive=True).method.queue
            for _ in range(n)]


def counts(ch, qs):
    return [ch.queue_declare(q, passive=True).method.message_count
            for q in qs]


def test_spreads_by_weight(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="x-consistent-hash")
    qs = queues(ch, 3)
    for q, w in zip(qs, ("1", "2", "3")):
        ch.queue_bind(q, uniq, routing_key=w)
    for i in range(N):
        ch.basic_publish(uniq, "key-%d" % i, b"x")
    got = counts(ch, qs)
    assert sum(got) == N  # each message to exactly one queue
    # weights 1:2:3 -> 1/6, 2/6, 3/6 of the keys, within 4 points
    for c, w in zip(got, (1, 2, 3)):
        assert abs(c / N - w / 6) < 0.04, got


def test_same_key_same_queue(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="x-consistent-hash")
    qs = queues(ch, 4)
    for q in qs:
        ch.queue_bind(q, uniq, routing_key="10")
    for key in ("alpha", "beta", "gamma"):
        for _ in range(50):
            ch.basic_publish(uniq, key, b"x")
    got = counts(ch, qs)
    # 3 keys: each one's 50 messages land together
    assert sum(got) == 150
    assert all(c % 50 == 0 for c in got), got


def test_rebinding_moves_few_keys(ch, uniq):
    """Consistent: a new binding takes keys from the others, the rest stay."""
    ch.exchange_declare(uniq, exchange_type="x-consistent-hash")
    qs = queues(ch, 4)
    for q in qs[:3]:
        ch.queue_bind(q, uniq, routing_key="5")
    keys = ["k%d" % i for i in range(600)]
    for k in keys:
        ch.basic_publish(uniq, k, k.encode())
    before = {}
    for q in qs[:3]:
        for _, _, b in get_all(ch, q):
            before[b] = q
    ch.queue_bind(qs[3], uniq, routing_key="5")
    for k in keys:
        ch.basic_publish(uniq, k, k.encode())
    after = {}
    for q in qs:
        for _, _, b in get_all(ch, q):
            after[b] = q
    moved = [k for k in before if after[k] != before[k]]
    assert all(after[k] == qs[3] for k in moved)
    assert 0.1 < len(moved) / len(keys) < 0.4, len(moved)


def test_hash_header(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="x-consistent-hash",
                        arguments={"hash-header": "user"})
    qs = queues(ch, 4)
    for q in qs:
        ch.queue_bind(q, uniq, routing_key="20")
    for i in range(400):
        # the routing key changes, the header decides
        ch.basic_publish(uniq, "rk%d" % i, b"x", pika.BasicProperties(
            headers={"user": "u%d" % (i % 4)}))
    got = counts(ch, qs)
    assert sum(got) == 400
    assert all(c % 100 == 0 for c in got), got
    # many header values spread over every queue
    for i in range(2000):
        ch.basic_publish(uniq, "same", b"x", pika.BasicProperties(
            headers={"user": "v%d" % i}))
    assert all(c > 0 for c in counts(ch, qs))


def test_hash_property(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="x-consistent-hash",
                        arguments={"hash-property": "message_id"})
    qs = queues(ch, 4)
    for q in qs:
        ch.queue_bind(q, uniq, routing_key="20")
    for i in range(400):
        ch.basic_publish(uniq, "rk%d" % i, b"x", pika.BasicProperties(
            message_id="m%d" % (i % 4)))
    got = counts(ch, qs)
    assert sum(got) == 400
    assert all(c % 100 == 0 for c in got), got
    for i in range(2000):
        ch.basic_publish(uniq, "same", b"x",
                         pika.BasicProperties(message_id="id%d" % i))
    assert all(c > 0 for c in counts(ch, qs))


def test_hash_property_timestamp_and_correlation_id(ch, uniq):
    for prop, mk in (("timestamp", lambda i: {"timestamp": 1000 + i}),
                     ("correlation_id",
                      lambda i: {"correlation_id": "c%d" % i})):
        x = uniq + prop
        ch.exchange_declare(x, exchange_type="x-consistent-hash",
                            arguments={"hash-property": prop})
        qs = queues(ch, 3)
        for q in qs:
            ch.queue_bind(q, x, routing_key="10")
        for i in range(300):
            ch.basic_publish(x, "rk", b"x",
                             pika.BasicProperties(**mk(i % 3)))
        got = counts(ch, qs)
        assert sum(got) == 300 and all(c % 100 == 0 for c in got), got


def test_unbind_removes_weight(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="x-consistent-hash")
    qs = queues(ch, 2)
    ch.queue_bind(qs[0], uniq, routing_key="3")
    ch.queue_bind(qs[1], uniq, routing_key="3")
    ch.queue_unbind(qs[0], uniq, routing_key="3")
    for i in range(200):
        ch.basic_publish(uniq, "k%d" % i, b"x")
    assert counts(ch, qs) == [0, 200]


@pytest.mark.parametrize("key,text", [
    ("abc", 'The binding key must be an integer: <<"abc">>'),
    ("0", "The binding key must be greater than 0"),
    ("-4", "The binding key must be greater than 0"),
    ("", "The binding key must be an integer"),
])
def test_bad_weight_is_406(conn, uniq, key, text):
    ch = conn.channel()
    ch.exchange_declare(uniq, exchange_type="x-consistent-hash")
    q = ch.queue_declare("", exclusive=True).method.queue
    with channel_error(406) as ei:
        ch.queue_bind(q, uniq, routing_key=key)
    assert text in ei.value.reply_text


def test_header_and_property_exclusive_is_406(conn, uniq):
    ch = conn.channel()
    with channel_error(406) as ei:
        ch.exchange_declare(uniq, exchange_type="x-consistent-hash",
                            arguments={"hash-header": "h",
                                       "hash-property": "message_id"})
    assert "mutually exclusive" in ei.value.reply_text
    ch = conn.channel()
    with channel_error(406) as ei:
        ch.exchange_declare(uniq, exchange_type="x-consistent-hash",
                            arguments={"hash-property": "app_id"})
    assert "Unsupported property: app_id" in ei.value.reply_text
