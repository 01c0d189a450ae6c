# SPDX-License-Identifier: MIT
"""Issue 9: alternate exchanges, sender-selected distribution (CC and BCC
headers) and direct reply-to (amq.rabbitmq.reply-to), as RabbitMQ's docs
on each describe them."""

import time

import pika
import pika.exceptions
import pytest

from helpers import WAIT, channel_error, flush, wait_count


def get_within(ch, queue, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        m, p, b = ch.basic_get(queue, auto_ack=True)
        if m is not None or time.monotonic() > deadline:
            return m, p, b
        time.sleep(0.02)


# ---- alternate exchanges ----------------------------------------------------

def declare_with_ae(ch, uniq):
    ae, x = uniq + "-ae", uniq + "-x"
    ch.exchange_declare(ae, "fanout", auto_delete=True)
    ch.exchange_declare(x, "direct", auto_delete=True,
                        arguments={"alternate-exchange": ae})
    unrouted, routed = uniq + "-unrouted", uniq + "-routed"
    ch.queue_declare(unrouted, exclusive=True)
    ch.queue_declare(routed, exclusive=True)
    ch.queue_bind(unrouted, ae)
    ch.queue_bind(routed, x, "known")
    return x, routed, unrouted


def test_alternate_exchange_takes_unroutable(ch, uniq):
    x, routed, unrouted = declare_with_ae(ch, uniq)
    ch.basic_publish(x, "known", b"routed")
    ch.basic_publish(x, "unknown", b"alternate")
    m, _, b = get_within(ch, unrouted)
    assert b == b"alternate"
    assert (m.exchange, m.routing_key) == (x, "unknown")
    assert get_within(ch, routed)[2] == b"routed"
    assert wait_count(ch, unrouted, 0) == 0


def test_alternate_exchange_counts_as_routed_for_mandatory(conn, uniq):
    ch = conn.channel()
    x, routed, unrouted = declare_with_ae(ch, uniq)
    ch.confirm_delivery()
    ch.basic_publish(x, "unknown", b"m", mandatory=True)  # no return
    assert wait_count(ch, unrouted, 1) == 1


def test_missing_alternate_exchange_returns(conn, uniq):
    ch = conn.channel()
    x = uniq + "-x"
    ch.exchange_declare(x, "direct", auto_delete=False,
                        arguments={"alternate-exchange": uniq + "-nowhere"})
    ch.confirm_delivery()
    with pytest.raises(pika.exceptions.UnroutableError):
        ch.basic_publish(x, "k", b"m", mandatory=True)
    ch.exchange_delete(x)


def test_alternate_exchange_cycle_terminates(conn, uniq):
    ch = conn.channel()
    a, b = uniq + "-a", uniq + "-b"
    ch.exchange_declare(a, "direct", arguments={"alternate-exchange": b})
    ch.exchange_declare(b, "direct", arguments={"alternate-exchange": a})
    ch.confirm_delivery()
    with pytest.raises(pika.exceptions.UnroutableError):
        ch.basic_publish(a, "k", b"m", mandatory=True)
    ch.exchange_delete(a)
    ch.exchange_delete(b)


def test_alternate_exchange_chain(ch, uniq):
    a, b, c = uniq + "-a", uniq + "-b", uniq + "-c"
    ch.exchange_declare(c, "fanout", auto_delete=True)
    ch.exchange_declare(b, "direct", auto_delete=True,
                        arguments={"alternate-exchange": c})
    ch.exchange_declare(a, "topic", auto_delete=True,
                        arguments={"alternate-exchange": b})
    q = uniq + "-q"
    ch.queue_declare(q, exclusive=True)
    ch.queue_bind(q, c)
    ch.basic_publish(a, "nothing.matches", b"down the chain")
    assert get_within(ch, q)[2] == b"down the chain"


def test_alternate_exchange_redeclare_must_match(ch, uniq):
    x = uniq + "-x"
    ch.exchange_declare(x, "direct", auto_delete=True,
                        arguments={"alternate-exchange": "ae1"})
    ch.exchange_declare(x, "direct", auto_delete=True,
                        arguments={"alternate-exchange": "ae1"})
    with channel_error(406) as ei:
        ch.exchange_declare(x, "direct", auto_delete=True,
                            arguments={"alternate-exchange": "ae2"})
    assert "alternate-exchange" in ei.value.reply_text


# ---- CC and BCC -------------------------------------------------------------

def test_cc_and_bcc_route_to_more_queues(ch, uniq):
    x = uniq + "-x"
    ch.exchange_declare(x, "direct", auto_delete=True)
    qs = {k: "%s-%s" % (uniq, k) for k in ("to", "cc", "bcc", "none")}
    for k, q in qs.items():
        ch.queue_declare(q, exclusive=True)
        ch.queue_bind(q, x, k)
    ch.basic_publish(x, "to", b"m", pika.BasicProperties(
        headers={"CC": ["cc"], "BCC": ["bcc"], "app": 1}))
    for k in ("to", "cc", "bcc"):
        m, p, b = get_within(ch, qs[k])
        assert b == b"m", k
        assert m.routing_key == "to"  # the publish's routing key
        assert p.headers["CC"] == ["cc"]
        assert "BCC" not in p.headers  # receivers never see BCC
        assert p.headers["app"] == 1
    assert wait_count(ch, qs["none"], 0) == 0


def test_cc_on_default_exchange_and_duplicates_once(ch, uniq):
    a, b = uniq + "-a", uniq + "-b"
    ch.queue_declare(a, exclusive=True)
    ch.queue_declare(b, exclusive=True)
    ch.basic_publish("", a, b"x", pika.BasicProperties(
        headers={"CC": [b, a], "BCC": [b]}))
    assert wait_count(ch, a, 1) == 1
    assert wait_count(ch, b, 1) == 1


def test_cc_with_topic_patterns(ch, uniq):
    x = uniq + "-t"
    ch.exchange_declare(x, "topic", auto_delete=True)
    q = uniq + "-q"
    ch.queue_declare(q, exclusive=True)
    ch.queue_bind(q, x, "audit.#")
    ch.basic_publish(x, "orders.new", b"x", pika.BasicProperties(
        headers={"CC": ["audit.orders"]}))
    assert get_within(ch, q)[2] == b"x"


def test_cc_must_be_an_array(ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    with channel_error(406) as ei:
        ch.basic_publish("", uniq, b"x",
                         pika.BasicProperties(headers={"CC": "not-a-list"}))
        ch.basic_qos(prefetch_count=1)
    assert "unacceptable_type_in_header" in ei.value.reply_text


# ---- direct reply-to --------------------------------------------------------

def test_direct_reply_to_rpc(connections, uniq):
    client, server = connections(), connections()
    sch = server.channel()
    sch.queue_declare(uniq, exclusive=True)

    def on_request(c, m, p, body):
        c.basic_publish("", p.reply_to, body.upper(), pika.BasicProperties(
            correlation_id=p.correlation_id))
        c.basic_ack(m.delivery_tag)

    sch.basic_consume(uniq, on_request)
    cch = client.channel()
    replies = []
    tag = cch.basic_consume("amq.rabbitmq.reply-to",
                            lambda c, m, p, b: replies.append((m, p, b)),
                            auto_ack=True)
    for i in range(3):
        cch.basic_publish("", uniq, b"ping %d" % i, pika.BasicProperties(
            reply_to="amq.rabbitmq.reply-to", correlation_id=str(i)))
    deadline = time.monotonic() + WAIT
    while len(replies) < 3 and time.monotonic() < deadline:
        server.process_data_events(time_limit=0.05)
        client.process_data_events(time_limit=0.05)
    assert sorted((p.correlation_id, b) for _, p, b in replies) == \
        [("0", b"PING 0"), ("1", b"PING 1"), ("2", b"PING 2")]
    m = replies[0][0]
    assert m.consumer_tag == tag
    assert m.exchange == ""
    assert m.routing_key.startswith("amq.rabbitmq.reply-to.")


def test_reply_to_address_is_per_channel_and_checkable(connections, uniq):
    conn = connections()
    ch = conn.channel()
    ch.queue_declare(uniq, exclusive=True)
    ch.basic_consume("amq.rabbitmq.reply-to", lambda *a: None, auto_ack=True)
    ch.basic_publish("", uniq, b"q", pika.BasicProperties(
        reply_to="amq.rabbitmq.reply-to"))
    _, p, _ = get_within(ch, uniq)
    addr = p.reply_to
    assert addr.startswith("amq.rabbitmq.reply-to.") and len(addr) > 30
    # a responder may check the requester is still there
    other = connections().channel()
    assert other.queue_declare(addr, passive=True).method.queue == addr
    ch.close()
    with channel_error(404):
        other.queue_declare(addr, passive=True)


def test_reply_consumer_must_be_no_ack(ch):
    with channel_error(406) as ei:
        ch.basic_consume("amq.rabbitmq.reply-to", lambda *a: None,
                         auto_ack=False)
    assert "reply consumer cannot acknowledge" in ei.value.reply_text


def test_reply_to_without_consumer_is_406(ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    with channel_error(406) as ei:
        ch.basic_publish("", uniq, b"x", pika.BasicProperties(
            reply_to="amq.rabbitmq.reply-to"))
        ch.basic_qos(prefetch_count=1)
    assert "fast reply consumer does not exist" in ei.value.reply_text


def test_one_reply_consumer_per_channel(ch):
    ch.basic_consume("amq.rabbitmq.reply-to", lambda *a: None, auto_ack=True)
    with channel_error(406) as ei:
        ch.basic_consume("amq.rabbitmq.reply-to", lambda *a: None,
                         auto_ack=True)
    assert "reply consumer already set" in ei.value.reply_text


def test_reply_to_gone_requester_is_dropped(connections, uniq):
    conn = connections()
    ch = conn.channel()
    ch.confirm_delivery()
    # an unknown reply address: dropped (confirmed), the channel lives on
    ch.basic_publish("", "amq.rabbitmq.reply-to.no-such-channel", b"late")
    flush(conn, 0.1)
    assert ch.is_open
