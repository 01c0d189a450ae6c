# SPDX-License-Identifier: MIT
"""Issue 9: consumer priorities (x-priority), single active consumer
(x-single-active-consumer) with failover, exclusive consumers, x-queue-type
and the capabilities the broker announces."""

import time

import pika
import pytest

from helpers import WAIT, channel_error, flush


def pump(conns, cond, timeout=WAIT):
    """Process events on every connection until cond() or timeout."""
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        for c in conns:
            c.process_data_events(time_limit=0.02)
    return cond()


def test_capabilities_announced(conn):
    caps = conn._impl.server_capabilities
    assert caps.get("consumer_priorities") is True
    assert caps.get("direct_reply_to") is True


# ---- consumer priorities ----------------------------------------------------

def test_high_priority_consumer_first_until_blocked(connections, uniq):
    """RabbitMQ: the highest priority consumer that can take a message gets
    it; lower ones get messages only while the higher are blocked (here by
    prefetch)."""
    conn = connections()
    setup = conn.channel()
    setup.queue_declare(uniq, exclusive=True)
    hi, lo = conn.channel(), conn.channel()
    got = {"hi": [], "lo": []}
    hi.basic_qos(prefetch_count=2)
    lo.basic_qos(prefetch_count=10)
    hi.basic_consume(uniq, lambda c, m, p, b: got["hi"].append((m, b)),
                     arguments={"x-priority": 10})
    lo.basic_consume(uniq, lambda c, m, p, b: got["lo"].append((m, b)))
    for i in range(6):
        setup.basic_publish("", uniq, b"%d" % i)
    assert pump([conn], lambda: len(got["hi"]) + len(got["lo"]) == 6)
    assert [b for _, b in got["hi"]] == [b"0", b"1"]
    assert [b for _, b in got["lo"]] == [b"2", b"3", b"4", b"5"]
    # credit back to the high one: new messages go there again
    for m, _ in got["hi"]:
        hi.basic_ack(m.delivery_tag)
    setup.basic_publish("", uniq, b"6")
    assert pump([conn], lambda: len(got["hi"]) == 3)
    assert got["hi"][-1][1] == b"6"
    assert len(got["lo"]) == 4


def test_equal_priorities_round_robin(connections, uniq):
    conn = connections()
    setup = conn.channel()
    setup.queue_declare(uniq, exclusive=True)
    got = {}
    for name, prio in (("a", 5), ("b", 5), ("low", -1)):
        c = conn.channel()
        got[name] = []
        c.basic_consume(uniq, lambda c_, m, p, b, n=name: got[n].append(b),
                        auto_ack=True, arguments={"x-priority": prio})
    for i in range(6):
        setup.basic_publish("", uniq, b"%d" % i)
    assert pump([conn], lambda: sum(map(len, got.values())) == 6)
    assert len(got["a"]) == 3 and len(got["b"]) == 3
    assert got["low"] == []


def test_consumer_priority_must_be_an_integer(ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    with channel_error(406) as ei:
        ch.basic_consume(uniq, lambda *a: None,
                         arguments={"x-priority": "high"})
    assert "x-priority" in ei.value.reply_text


# ---- single active consumer -----------------------------------------------

def sac_queue(ch, uniq):
    ch.queue_declare(uniq, arguments={"x-single-active-consumer": True})


def test_single_active_consumer_gets_everything(connections, uniq):
    conn = connections()
    setup = conn.channel()
    sac_queue(setup, uniq)
    got = {"first": [], "second": []}
    for name in ("first", "second"):
        c = conn.channel()
        c.basic_consume(uniq, lambda c_, m, p, b, n=name: got[n].append(b),
                        auto_ack=True)
    for i in range(5):
        setup.basic_publish("", uniq, b"%d" % i)
    assert pump([conn], lambda: len(got["first"]) == 5)
    flush(conn, 0.2)
    assert got["second"] == []
    setup.queue_delete(uniq)


def test_single_active_consumer_failover_on_consumer_kill(connections, uniq):
    """The active consumer's connection dies with messages unacked: they
    come back (redelivered) and the next consumer in line takes over."""
    victim, survivor, producer = connections(), connections(), connections()
    pch = producer.channel()
    sac_queue(pch, uniq)
    vch = victim.channel()
    vch.basic_qos(prefetch_count=3)
    vgot = []
    vch.basic_consume(uniq, lambda c, m, p, b: vgot.append(b))  # never acks
    sch = survivor.channel()
    sgot = []

    def on_msg(c, m, p, b):
        sgot.append((b, m.redelivered))
        c.basic_ack(m.delivery_tag)

    sch.basic_consume(uniq, on_msg)
    for i in range(5):
        pch.basic_publish("", uniq, b"%d" % i)
    assert pump([victim, survivor], lambda: len(vgot) == 3)
    flush(survivor, 0.2)
    assert sgot == []  # standby while the active one is merely blocked
    victim._impl._transport._sock.close()  # dies without closing cleanly
    assert pump([survivor], lambda: len(sgot) == 5, timeout=10)
    assert sorted(sgot) == [(b"0", True), (b"1", True), (b"2", True),
                            (b"3", False), (b"4", False)]
    pch.queue_delete(uniq)


def test_single_active_consumer_failover_on_cancel(connections, uniq):
    conn = connections()
    setup = conn.channel()
    sac_queue(setup, uniq)
    first, second = conn.channel(), conn.channel()
    got = []
    tag = first.basic_consume(uniq, lambda c, m, p, b: got.append(("1", b)),
                              auto_ack=True)
    second.basic_consume(uniq, lambda c, m, p, b: got.append(("2", b)),
                         auto_ack=True)
    setup.basic_publish("", uniq, b"a")
    assert pump([conn], lambda: len(got) == 1)
    first.basic_cancel(tag)
    setup.basic_publish("", uniq, b"b")
    assert pump([conn], lambda: len(got) == 2)
    assert got == [("1", b"a"), ("2", b"b")]
    setup.queue_delete(uniq)


# ---- exclusive consumers, cancel notification, queue types ----------------

def test_exclusive_consumer_then_others_after_cancel(connections, uniq):
    a, b = connections().channel(), connections().channel()
    a.queue_declare(uniq)
    tag = a.basic_consume(uniq, lambda *x: None, exclusive=True)
    with channel_error(403):
        b.basic_consume(uniq, lambda *x: None)
    a.basic_cancel(tag)
    c = connections().channel()
    c.basic_consume(uniq, lambda *x: None)  # free again
    c.queue_delete(uniq)


def test_consumer_hears_cancel_when_its_queue_goes(connections, uniq):
    conn = connections()
    ch = conn.channel()
    ch.queue_declare(uniq, arguments={"x-expires": 60000})
    cancelled = []
    ch.add_on_cancel_callback(lambda frame: cancelled.append(frame))
    ch.basic_consume(uniq, lambda *a: None)
    connections().channel().queue_delete(uniq)
    assert pump([conn], lambda: cancelled)


@pytest.mark.parametrize("qtype", ["quorum", "stream"])
def test_unsupported_queue_types_are_406(ch, uniq, qtype):
    with channel_error(406) as ei:
        ch.queue_declare(uniq, arguments={"x-queue-type": qtype})
    assert "x-queue-type" in ei.value.reply_text or \
        "non-durable" in ei.value.reply_text


@pytest.mark.warren_only
@pytest.mark.parametrize("qtype", ["quorum"])
def test_unsupported_queue_type_message_is_clear(ch, uniq, qtype):
    with channel_error(406) as ei:
        ch.queue_declare(uniq, durable=True,
                         arguments={"x-queue-type": qtype})
    assert ("queue type '%s' is not supported" % qtype) in \
        ei.value.reply_text


def test_classic_queue_type_accepted(ch, uniq):
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-queue-type": "classic"})
    ch.basic_publish("", uniq, b"x")
    assert ch.basic_get(uniq, auto_ack=True)[2] in (b"x", None)


def test_properties_survive_features(ch, uniq):
    """A message through TTL, CC and a priority consumer keeps every
    property it was published with."""
    ch.queue_declare(uniq, exclusive=True, arguments={"x-message-ttl": 60000})
    props = pika.BasicProperties(content_type="application/json",
                                 correlation_id="c", message_id="m",
                                 priority=3, delivery_mode=2,
                                 headers={"CC": [uniq + "-none"], "k": "v"})
    ch.basic_publish("", uniq, b"{}", props)
    m = None
    deadline = time.monotonic() + WAIT
    while m is None and time.monotonic() < deadline:
        m, p, b = ch.basic_get(uniq, auto_ack=True)
    assert (p.content_type, p.correlation_id, p.message_id, p.priority,
            p.delivery_mode) == ("application/json", "c", "m", 3, 2)
    assert p.headers == {"CC": [uniq + "-none"], "k": "v"}
