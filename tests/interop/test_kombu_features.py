# SPDX-License-Identifier: MIT
"""RabbitMQ's AMQP extensions and queue features as kombu users reach them:
multiple bindings and unbind, exchange-to-exchange bindings, per-message
and per-queue TTL, x-max-length, priority queues, consumer priorities,
global prefetch, basic.recover, dead-lettering with x-death, direct
reply-to, mandatory returns, and the durable flag of exclusive queues.
"""

import datetime
import time

import pytest
from kombu import Consumer, Exchange, Producer, Queue, binding

from kombu_helpers import (WAIT, drain, quiet, shared_queue, wait_ready)


def test_binding_list_and_unbind(kconn, uniq):
    """kombu Queue(bindings=[binding(...)]): several keys on one queue, then
    unbind_from removes one (queue.unbind)."""
    ex = Exchange(uniq, type="direct", auto_delete=True)
    q = Queue(uniq, exclusive=True,
              bindings=[binding(ex, routing_key="red"),
                        binding(ex, routing_key="blue")])
    ch = kconn.channel()
    bq = q(ch)
    bq.declare()
    p = Producer(ch, exchange=ex, serializer="json")
    for color in ("red", "blue", "green"):
        p.publish({"c": color}, routing_key=color)
    bodies = [m.payload["c"] for m in iter(lambda: bq.get(no_ack=True), None)]
    assert bodies == ["red", "blue"]
    bq.unbind_from(ex, routing_key="red")
    for color in ("red", "blue"):
        p.publish({"c": color}, routing_key=color)
    bodies = [m.payload["c"] for m in iter(lambda: bq.get(no_ack=True), None)]
    assert bodies == ["blue"]


def test_exchange_to_exchange_binding(kconn, uniq):
    """RabbitMQ exchange.bind via kombu Exchange.bind_to: messages flow from
    the source exchange through the destination to its queue."""
    src = Exchange(uniq + "-src", type="topic", auto_delete=True)
    dst = Exchange(uniq + "-dst", type="fanout", auto_delete=True)
    ch = kconn.channel()
    src(ch).declare()
    dst(ch).declare()
    q = Queue(uniq, exchange=dst, exclusive=True)(ch)
    q.declare()
    dst(ch).bind_to(src, routing_key="a.*")
    p = Producer(ch, exchange=src)
    p.publish(b"yes", routing_key="a.b")
    p.publish(b"no", routing_key="b.a")
    assert [m.body for m in iter(lambda: q.get(no_ack=True), None)] == [b"yes"]


def test_exclusive_queue_durable_flag_ignored(kconn, uniq):
    """kombu's Queue is durable by default, exclusive or not; RabbitMQ never
    makes an exclusive queue durable (rabbit_channel: Durable = durable
    andalso not exclusive), so Queue(exclusive=True) and
    Queue(exclusive=True, durable=False) declare the same queue: no 406."""
    ch = kconn.channel()
    Queue(uniq, exclusive=True)(ch).declare()
    Queue(uniq, exclusive=True, durable=False)(ch).declare()
    Producer(ch).publish(b"x", routing_key=uniq)
    assert Queue(uniq, exclusive=True)(ch).get(no_ack=True).body == b"x"


def test_expiration_drops_message(kconn, uniq):
    """Per-message TTL (RabbitMQ expiration property): expired messages are
    never delivered."""
    q = Queue(uniq, exclusive=True)
    ch = kconn.channel()
    p = Producer(ch, serializer="json")
    p.publish({"i": 0}, routing_key=uniq, declare=[q], expiration=0.05)
    p.publish({"i": 1}, routing_key=uniq)
    time.sleep(0.2)
    m = q(ch).get(no_ack=True)
    assert m.payload == {"i": 1}
    assert q(ch).get(no_ack=True) is None


def test_priority_queue_order(kconn, uniq):
    """kombu Queue(max_priority=) is x-max-priority: higher priority first,
    FIFO within one priority (RabbitMQ priority queues)."""
    q = Queue(uniq, exclusive=True, max_priority=5)
    ch = kconn.channel()
    p = Producer(ch, serializer="json")
    q(ch).declare()
    for i, prio in enumerate([1, 5, 3, 5, 0, 9]):
        p.publish({"i": i}, routing_key=uniq, priority=prio)
    order = [m.payload["i"] for m in iter(lambda: q(ch).get(no_ack=True), None)]
    # 9 is capped at max_priority 5
    assert order == [1, 3, 5, 2, 0, 4]


def test_qos_global_shared_by_consumers(kconn, uniq):
    """RabbitMQ basic.qos global=true (kombu apply_global=True): the limit is
    shared by every consumer on the channel, not per consumer."""
    ch = kconn.channel()
    qs = [shared_queue("%s-%d" % (uniq, i)) for i in range(2)]
    p = Producer(ch)
    for q in qs:
        q(ch).declare()
        for i in range(5):
            p.publish(b"%d" % i, routing_key=q.name)
    got = []
    c = Consumer(kconn.channel(), qs, callbacks=[lambda b, m: got.append(m)])
    c.qos(prefetch_count=3, apply_global=True)
    c.consume()
    assert drain(kconn, lambda: len(got) >= 3)
    quiet(kconn)
    assert len(got) == 3
    for m in got:
        m.ack()
    assert drain(kconn, lambda: len(got) >= 6)
    quiet(kconn)
    assert len(got) == 6
    c.cancel()
    for q in qs:
        q(ch).delete()


def test_consumer_priority(kconn, uniq):
    """RabbitMQ consumer priorities (consumer_arguments x-priority): while
    the high-priority consumer has credit it gets every message."""
    ch = kconn.channel()
    q = Queue(uniq, exclusive=True)
    q(ch).declare()
    low, high = [], []
    c_low = Consumer(kconn.channel(), [q],
                     callbacks=[lambda b, m: low.append(b)], no_ack=True)
    c_high = Consumer(kconn.channel(),
                      [Queue(uniq, exclusive=True,
                             consumer_arguments={"x-priority": 10})],
                      callbacks=[lambda b, m: high.append(b)], no_ack=True)
    c_low.consume()
    c_high.consume()
    p = Producer(ch)
    for i in range(20):
        p.publish(b"%d" % i, routing_key=uniq)
    assert drain(kconn, lambda: len(low) + len(high) >= 20)
    assert (len(low), len(high)) == (0, 20)


def test_recover_requeue(kconn, uniq):
    """Consumer.recover(requeue=True) is basic.recover: every unacked
    delivery comes back, redelivered=True."""
    q = shared_queue(uniq)
    ch = kconn.channel()
    q(ch).declare()
    p = Producer(ch)
    for i in range(3):
        p.publish(b"%d" % i, routing_key=uniq)
    got = []
    c = Consumer(kconn.channel(), [q], callbacks=[lambda b, m: got.append(m)])
    c.consume()
    assert drain(kconn, lambda: len(got) >= 3)
    c.recover(requeue=True)
    assert drain(kconn, lambda: len(got) >= 6)
    again = got[3:]
    assert sorted(m.body for m in again) == [b"0", b"1", b"2"]
    assert all(m.delivery_info["redelivered"] for m in again)
    for m in again:
        m.ack()
    c.cancel()
    q(ch).delete()


def test_dead_letter_x_death(kconn, uniq):
    """RabbitMQ dead-lettering (x-dead-letter-exchange / -routing-key): a
    rejected message lands in the DLQ with an x-death header py-amqp
    decodes to RabbitMQ's shape and types (count, reason, queue, time,
    exchange, routing-keys)."""
    ch = kconn.channel()
    dlq = Queue(uniq + "-dlq", exclusive=True)
    dlq(ch).declare()
    work = Queue(uniq, exclusive=True, queue_arguments={
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": uniq + "-dlq"})
    work(ch).declare()
    Producer(ch).publish({"job": 1}, routing_key=uniq, serializer="json",
                         headers={"mine": "kept"})
    m = None
    deadline = time.monotonic() + WAIT
    while m is None and time.monotonic() < deadline:
        m = work(ch).get()
    m.reject(requeue=False)
    d = None
    deadline = time.monotonic() + WAIT
    while d is None and time.monotonic() < deadline:
        d = dlq(ch).get(no_ack=True)
    assert d is not None and d.payload == {"job": 1}
    assert d.headers["mine"] == "kept"
    (death,) = d.headers["x-death"]
    assert death["count"] == 1 and type(death["count"]) is int
    assert death["reason"] == "rejected"
    assert death["queue"] == uniq
    assert death["exchange"] == ""
    assert death["routing-keys"] == [uniq]
    assert isinstance(death["time"], datetime.datetime)
    assert abs((datetime.datetime.utcnow() - death["time"]).total_seconds()) < 60
    assert d.headers["x-first-death-reason"] == "rejected"
    assert d.headers["x-first-death-queue"] == uniq
    assert d.headers["x-first-death-exchange"] == ""


def test_direct_reply_to_rpc(kconns, uniq):
    """RabbitMQ direct reply-to with kombu: the client consumes the
    amq.rabbitmq.reply-to pseudo-queue (no_ack), publishes a request with
    reply_to=amq.rabbitmq.reply-to, the server answers to the generated
    name with the correlation_id; the reply arrives on the client."""
    client, server = kconns(), kconns()
    rq = Queue(uniq, exclusive=False, auto_delete=True)
    sch = server.channel()
    served = []

    def serve(body, message):
        Producer(sch).publish(
            {"answer": body["n"] * 2}, serializer="json",
            routing_key=message.properties["reply_to"],
            correlation_id=message.properties["correlation_id"])
        served.append(message.properties["reply_to"])
        message.ack()

    replies = []
    reply_q = Queue("amq.rabbitmq.reply-to", no_ack=True, no_declare=True)
    cch = client.channel()
    with Consumer(sch, [rq], callbacks=[serve], accept=["json"]):
        with Consumer(cch, [reply_q], no_ack=True, accept=["json"],
                      callbacks=[lambda b, m: replies.append((b, m))]):
            Producer(cch).publish({"n": 21}, serializer="json",
                                  routing_key=uniq,
                                  reply_to="amq.rabbitmq.reply-to",
                                  correlation_id="c-1")
            assert drain(server, lambda: served)
            assert served[0].startswith("amq.rabbitmq.reply-to.")
            assert drain(client, lambda: replies)
    (body, m), = replies
    assert body == {"answer": 42}
    assert m.properties["correlation_id"] == "c-1"


def test_queue_arguments_and_purge(kconn, uniq):
    """Queue(message_ttl=, max_length=, expires=) map to x-message-ttl,
    x-max-length, x-expires; a redeclare with the same arguments is OK;
    queue.purge returns the count."""
    q = Queue(uniq, max_length=3, message_ttl=60, expires=30, auto_delete=True)
    ch = kconn.channel()
    bq = q(ch)
    bq.declare()
    bq.declare()  # same arguments: declare-ok
    p = Producer(ch)
    for i in range(5):
        p.publish(b"%d" % i, routing_key=uniq)
    assert wait_ready(kconn, uniq, 3) == 3  # x-max-length drops the head
    assert bq.get(no_ack=True).body == b"2"
    assert bq.purge() == 2
    bq.delete()


def test_mandatory_unroutable_returned(kconn, uniq):
    """publish(mandatory=True) to no queue: basic.return 312 NO_ROUTE to
    kombu's on_return callback."""
    returned = []
    ch = kconn.channel()

    def on_return(exc, exchange, routing_key, message):
        returned.append((exc.reply_code, routing_key, message.body))

    p = Producer(ch, on_return=on_return)
    p.publish(b"lost", routing_key=uniq + "-nowhere", mandatory=True)
    assert drain(kconn, lambda: returned)
    assert returned == [(312, uniq + "-nowhere", b"lost")]


def test_consumer_flow_false_closes_the_connection_540(kconn, uniq):
    """kombu Consumer.flow(False) sends channel.flow active=false: the
    connection is closed with 540 NOT_IMPLEMENTED "active=false", as
    RabbitMQ 3.10 does (warren's channel_flow_pause setting honours it
    instead; tests/proto/test_basic_raw.py)."""
    import amqp
    q = Queue(uniq, exclusive=True)
    c = Consumer(kconn.channel(), [q], no_ack=True)
    c.consume()
    c.flow(True)
    with pytest.raises(amqp.exceptions.AMQPNotImplementedError) as e:
        c.flow(False)
    assert e.value.code == 540
    assert e.value.reply_text == "NOT_IMPLEMENTED - active=false"
