# SPDX-License-Identifier: MIT
"""Interop at the py-amqp level (Debian python3-amqp, the transport under
kombu's "pyamqp://"): publisher confirms and x-overflow=reject-publish
nacks, basic.get, field tables of every type py-amqp encodes, channel and
connection errors mapped to amqp exceptions, heartbeats, consumer cancel
notification and connection.blocked / unblocked.

Every blocking call has a deadline: connect_timeout, read/write timeouts,
channel.wait/drain_events(timeout=), and tests/conftest.py arms a SIGALRM.
"""

import socket
import time
from datetime import datetime
from decimal import Decimal

import amqp
import amqp.exceptions as ax
import pytest
from kombu import Connection, Producer, Queue

from broker import SLOW  # tests/proto/broker.py: > 1 under valgrind
from kombu_helpers import WAIT, drain, url, wait_ready


def test_confirm_publish_every_message_acked(aconns, uniq):
    """Connection(confirm_publish=True): py-amqp puts channels in confirm
    mode (RabbitMQ confirm.select) and basic_publish waits for each
    basic.ack; 200 publishes return and all 200 are in the queue."""
    c = aconns(confirm_publish=True)
    ch = c.channel()
    ch.queue_declare(uniq, exclusive=True)
    for i in range(200):
        ch.basic_publish(amqp.Message(b"%d" % i), "", uniq,
                         confirm_timeout=WAIT)
    assert wait_ready(c, uniq, 200) == 200


def test_reject_publish_overflow_is_nacked(aconns, uniq):
    """RabbitMQ x-max-length + x-overflow=reject-publish: with confirms the
    publish past the limit is basic.nack'ed, which py-amqp raises as
    MessageNacked; the queue keeps the first messages; after a get, a
    publish fits again."""
    c = aconns(confirm_publish=True)
    ch = c.channel()
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-max-length": 2, "x-overflow": "reject-publish"})
    for i in range(2):
        ch.basic_publish(amqp.Message(b"%d" % i), "", uniq, confirm_timeout=WAIT)
    with pytest.raises(ax.MessageNacked):
        ch.basic_publish(amqp.Message(b"2"), "", uniq, confirm_timeout=WAIT)
    assert ch.is_open
    assert wait_ready(c, uniq, 2) == 2
    m = ch.basic_get(uniq, no_ack=True)
    assert m.body == b"0"
    ch.basic_publish(amqp.Message(b"3"), "", uniq, confirm_timeout=WAIT)
    bodies = []
    while True:
        m = ch.basic_get(uniq, no_ack=True)
        if m is None:
            break
        bodies.append(m.body)
    assert bodies == [b"1", b"3"]


def test_kombu_confirm_publish_nack_raises(broker, uniq):
    """The same through kombu: transport_options confirm_publish=True makes
    Producer.publish raise MessageNacked for a rejected publish."""
    conn = Connection(url(broker), connect_timeout=WAIT,
                      transport_options={"confirm_publish": True})
    try:
        q = Queue(uniq, exclusive=True,
                  queue_arguments={"x-max-length": 1,
                                   "x-overflow": "reject-publish"})
        p = Producer(conn.channel())
        p.publish(b"a", routing_key=uniq, declare=[q], timeout=WAIT)
        with pytest.raises(ax.MessageNacked):
            p.publish(b"b", routing_key=uniq, timeout=WAIT)
    finally:
        conn.release()


def test_basic_get(aconn, uniq):
    """basic.get-ok: body, delivery tag, redelivered, exchange/routing key,
    message_count (messages left); None on get-empty; a nack'ed get comes
    back redelivered."""
    ch = aconn.channel()
    ch.queue_declare(uniq, exclusive=True)
    for i in range(3):
        ch.basic_publish(amqp.Message(b"m%d" % i, content_type="text/plain"),
                         "", uniq)
    assert wait_ready(aconn, uniq, 3) == 3
    m = ch.basic_get(uniq)
    assert m.body == b"m0"
    assert m.content_type == "text/plain"
    info = m.delivery_info
    assert (info["delivery_tag"], info["redelivered"], info["exchange"],
            info["routing_key"], info["message_count"]) == (1, False, "", uniq, 2)
    ch.basic_reject(m.delivery_tag, requeue=True)
    m = ch.basic_get(uniq)
    assert (m.body, m.delivery_info["redelivered"],
            m.delivery_info["delivery_tag"]) == (b"m0", True, 2)
    ch.basic_ack(m.delivery_tag)
    assert ch.basic_get(uniq, no_ack=True).body == b"m1"
    assert ch.basic_get(uniq, no_ack=True).body == b"m2"
    assert ch.basic_get(uniq, no_ack=True) is None


HEADERS = {
    "str": "plain",
    "unicode": "héllo ☃ 😀",
    "empty": "",
    "long": "x" * 1000,
    "bytes": b"\xff\x00\xfe binary",  # not UTF-8: comes back as bytes
    "true": True,
    "false": False,
    "zero": 0,
    "int": 123456,
    "neg": -42,
    "int32max": 2147483647,
    "large": 2 ** 40 + 7,  # 'L' long-long
    "neglarge": -(2 ** 62),
    "float": 3.25,
    "negfloat": -1.0e-300,
    "decimal": Decimal("3.14"),
    "negdecimal": Decimal("-271.828"),
    "datetime": datetime(2021, 6, 1, 12, 30, 45),
    "none": None,
    "list": [1, "two", 3.5, True, None, [4, [5]], {"k": "v"}],
    "emptylist": [],
    "emptydict": {},
    "nested": {"a": {"b": {"c": [1, 2, {"d": Decimal("0.5")}]}},
               "t": datetime(1999, 12, 31, 23, 59, 59)},
}


def test_header_table_every_type_round_trips(aconn, uniq):
    """application_headers with every field type py-amqp encodes (S t d I L
    D T V F A; AMQP 0-9-1 4.2.5.5 field tables, RabbitMQ's type set) come
    back unchanged through basic.get and basic.deliver."""
    ch = aconn.channel()
    ch.queue_declare(uniq, exclusive=True)
    ch.basic_publish(amqp.Message(b"t", application_headers=HEADERS), "", uniq)
    ch.basic_publish(amqp.Message(b"t", application_headers=HEADERS), "", uniq)
    m = None
    deadline = time.monotonic() + WAIT
    while m is None and time.monotonic() < deadline:
        m = ch.basic_get(uniq, no_ack=True)
    assert m is not None
    assert m.headers == HEADERS
    got = []
    ch.basic_consume(uniq, no_ack=True, callback=got.append)
    assert drain(aconn, lambda: got)
    assert got[0].headers == HEADERS
    for k, v in HEADERS.items():  # types too, not just equal values
        assert type(got[0].headers[k]) is type(v), k


def test_queue_and_exchange_arguments_tables(aconn, uniq):
    """Field tables in method arguments: a queue re-declared with the same
    arguments (int, str) is declare-ok, and headers binding arguments of
    several types match (RabbitMQ headers exchange compares typed values)."""
    ch = aconn.channel()
    args = {"x-message-ttl": 60000, "x-max-length": 10, "x-overflow": "drop-head"}
    ch.queue_declare(uniq, exclusive=True, arguments=args)
    ch.queue_declare(uniq, exclusive=True, arguments=args)
    ch.exchange_declare(uniq, "headers", auto_delete=True)
    ch.queue_bind(uniq, uniq, arguments={"x-match": "all", "n": 7, "s": "v",
                                         "b": True})
    ch.basic_publish(amqp.Message(b"yes", application_headers={
        "n": 7, "s": "v", "b": True, "other": 1.5}), uniq, "")
    ch.basic_publish(amqp.Message(b"no", application_headers={
        "n": 8, "s": "v", "b": True}), uniq, "")
    assert wait_ready(aconn, uniq, 1) == 1
    assert ch.basic_get(uniq, no_ack=True).body == b"yes"


def channel_error(conn, exc_type, code, fn):
    """Run fn(channel); expect channel.close with `code` raised as exc_type.
    py-amqp answers close-ok and at once re-opens the same channel id
    (Channel._do_revive): that channel and a new one must both work."""
    ch = conn.channel()
    with pytest.raises(exc_type) as ei:
        fn(ch)
    assert ei.value.reply_code == code, ei.value
    assert conn.connected
    assert ch.is_open
    ch.queue_declare("", exclusive=True)  # the revived channel works
    probe = conn.channel()
    probe.queue_declare("", exclusive=True)
    probe.close()
    return ei.value


def test_passive_declare_missing_queue_is_404(aconn, uniq):
    """AMQP 0-9-1 queue.declare passive: a missing queue is 404 NOT_FOUND,
    py-amqp NotFound; the connection stays usable."""
    e = channel_error(aconn, ax.NotFound, 404,
                      lambda ch: ch.queue_declare(uniq, passive=True))
    assert uniq in e.reply_text


def test_passive_declare_missing_exchange_is_404(aconn, uniq):
    channel_error(aconn, ax.NotFound, 404,
                  lambda ch: ch.exchange_declare(uniq, "direct", passive=True))


def test_redeclare_queue_different_args_is_406(aconn, uniq):
    """RabbitMQ: re-declaring a queue with different x-arguments is 406
    PRECONDITION_FAILED, py-amqp PreconditionFailed."""
    ch = aconn.channel()
    ch.queue_declare(uniq, exclusive=True, arguments={"x-max-length": 5})
    e = channel_error(aconn, ax.PreconditionFailed, 406,
                      lambda c: c.queue_declare(uniq, exclusive=True,
                                                arguments={"x-max-length": 6}))
    assert "x-max-length" in e.reply_text


def test_redeclare_durable_flag_exclusive_ignored(aconn, uniq):
    """RabbitMQ (rabbit_channel: Durable = durable andalso not exclusive):
    a different durable flag is 406 for a shared queue, but an exclusive
    queue is never durable, so kombu's Queue(exclusive=True) (durable=True
    by default) and py-amqp's queue_declare (durable=False by default)
    declare the same queue without error."""
    ch = aconn.channel()
    ch.queue_declare(uniq + "-shared", durable=False, auto_delete=True)
    channel_error(aconn, ax.PreconditionFailed, 406,
                  lambda c: c.queue_declare(uniq + "-shared", durable=True,
                                            auto_delete=True))
    ch.queue_delete(uniq + "-shared")
    ch.queue_declare(uniq, durable=True, exclusive=True)  # kombu's flags
    ok = ch.queue_declare(uniq, exclusive=True)  # py-amqp's: durable=False
    assert ok.queue == uniq
    ch.queue_declare(uniq, durable=True, exclusive=True)


def test_redeclare_exchange_different_type_is_406(aconn, uniq):
    ch = aconn.channel()
    ch.exchange_declare(uniq, "direct", auto_delete=True)
    channel_error(aconn, ax.PreconditionFailed, 406,
                  lambda c: c.exchange_declare(uniq, "fanout", auto_delete=True))


def test_declare_amq_prefix_is_403(aconn, uniq):
    """AMQP 0-9-1 exchange.declare: names starting "amq." are reserved,
    403 ACCESS_REFUSED (py-amqp AccessRefused)."""
    channel_error(aconn, ax.AccessRefused, 403,
                  lambda ch: ch.exchange_declare("amq." + uniq, "direct"))


def test_publish_to_missing_exchange_is_404(aconn, uniq):
    """A publish to a missing exchange closes the channel with 404 (seen on
    the next synchronous call)."""
    def fn(ch):
        ch.basic_publish(amqp.Message(b"x"), uniq + "-nowhere", "k")
        ch.queue_declare("", exclusive=True)
    channel_error(aconn, ax.NotFound, 404, fn)


def test_ack_unknown_tag_is_406(aconn, uniq):
    """RabbitMQ: basic.ack of an unknown delivery tag is 406
    PRECONDITION_FAILED."""
    def fn(ch):
        ch.basic_ack(42)
        ch.queue_declare("", exclusive=True)
    channel_error(aconn, ax.PreconditionFailed, 406, fn)


def test_exclusive_queue_of_other_connection_is_405(aconns, uniq):
    """RabbitMQ: declaring or consuming another connection's exclusive
    queue is 405 RESOURCE_LOCKED."""
    owner = aconns()
    owner.channel().queue_declare(uniq, exclusive=True)
    other = aconns()
    channel_error(other, ax.ResourceLocked, 405,
                  lambda ch: ch.basic_consume(uniq))


def test_delete_if_unused_and_if_empty_are_406(aconn, uniq):
    """queue.delete if-unused with a consumer, if-empty with a message: 406
    PRECONDITION_FAILED with RabbitMQ's texts; without the flags the queue
    goes and delete-ok counts its messages."""
    ch = aconn.channel()
    ch.queue_declare(uniq, exclusive=True, auto_delete=False)
    ch.basic_consume(uniq, consumer_tag="c1", callback=lambda m: None)
    e = channel_error(aconn, ax.PreconditionFailed, 406,
                      lambda c: c.queue_delete(uniq, if_unused=True))
    assert e.reply_text == ("PRECONDITION_FAILED - queue '%s' in vhost '/' "
                            "in use" % uniq)
    ch.basic_cancel("c1")
    ch.basic_publish(amqp.Message(b"x"), "", uniq)
    assert wait_ready(aconn, uniq, 1) == 1
    e = channel_error(aconn, ax.PreconditionFailed, 406,
                      lambda c: c.queue_delete(uniq, if_empty=True))
    assert e.reply_text == ("PRECONDITION_FAILED - queue '%s' in vhost '/' "
                            "not empty" % uniq)
    assert ch.queue_delete(uniq) == 1


def test_qos_prefetch_size_is_540_connection_error(aconns):
    """RabbitMQ: basic.qos with prefetch_size != 0 is a connection error,
    540 NOT_IMPLEMENTED; py-amqp raises AMQPNotImplementedError and the connection
    is closed."""
    c = aconns()
    ch = c.channel()
    with pytest.raises(ax.AMQPNotImplementedError) as ei:
        ch.basic_qos(prefetch_size=1000, prefetch_count=0, a_global=False)
    assert ei.value.reply_code == 540
    assert not c.connected


def test_many_channel_errors_then_normal_work(aconn, uniq):
    """Twenty channel errors in a row leave the connection (and py-amqp's
    channel-id reuse) working."""
    for _ in range(20):
        ch = aconn.channel()
        with pytest.raises(ax.NotFound):
            ch.queue_declare(uniq + "-missing", passive=True)
    ch = aconn.channel()
    ch.queue_declare(uniq, exclusive=True)
    ch.basic_publish(amqp.Message(b"ok"), "", uniq)
    assert wait_ready(aconn, uniq, 1) == 1
    assert ch.basic_get(uniq, no_ack=True).body == b"ok"


@pytest.mark.timeout(30)
def test_heartbeat_negotiated_and_kept_alive(aconns, uniq):
    """Connection(heartbeat=2): tune-ok carries 2 (the client's lower value
    wins over the server's 60); with heartbeat_tick called regularly and
    no other traffic for 6 s the connection stays open and usable."""
    c = aconns(heartbeat=2)
    assert c.heartbeat == 2
    ch = c.channel()
    ch.queue_declare(uniq, exclusive=True)
    end = time.monotonic() + 6
    while time.monotonic() < end:
        c.heartbeat_tick(rate=2)
        try:
            c.drain_events(timeout=0.25)
        except socket.timeout:
            pass
    assert c.connected
    ch.basic_publish(amqp.Message(b"alive"), "", uniq)
    assert wait_ready(c, uniq, 1) == 1
    assert ch.basic_get(uniq, no_ack=True).body == b"alive"


@pytest.mark.timeout(30)
def test_silent_client_is_dropped_after_missed_heartbeats(aconns):
    """AMQP 0-9-1 4.2.7: a peer that sends nothing for two heartbeat
    intervals is considered dead; RabbitMQ closes the socket. With
    heartbeat=1 and a client that never sends one, the broker closes the
    connection within a few seconds."""
    c = aconns(heartbeat=1)
    assert c.heartbeat == 1
    t0 = time.monotonic()
    with pytest.raises((ax.ConnectionForced, ConnectionError, OSError,
                        ax.RecoverableConnectionError)):
        while time.monotonic() - t0 < 10 * SLOW:
            try:
                c.drain_events(timeout=0.5)
            except socket.timeout:
                pass
    assert time.monotonic() - t0 < 10 * SLOW


@pytest.mark.warren_only
@pytest.mark.timeout(30)
def test_heartbeat_zero_from_client_disables_it(broker_factory, aconns):
    """AMQP 0-9-1 connection.tune-ok: heartbeat 0 means none. A private
    broker proposing 1 s: py-amqp's default (heartbeat=0) answers 0 and an
    idle connection outlives several intervals; a client asking for 5 gets
    the lower value, 1. (warren_only: needs its own broker.)"""
    srv = broker_factory("--set", "heartbeat=1")
    c = aconns(srv.address)
    assert (c.server_heartbeat, c.heartbeat) == (1, 0)
    end = time.monotonic() + 4
    while time.monotonic() < end:
        try:
            c.drain_events(timeout=0.5)
        except socket.timeout:
            pass
    assert c.channel().queue_declare("", exclusive=True).queue
    assert aconns(srv.address, heartbeat=5).heartbeat == 1


@pytest.mark.warren_only
def test_broker_shutdown_is_connection_forced(broker_factory):
    """A broker stopping (SIGTERM) closes every connection with
    connection.close 320 CONNECTION_FORCED, as RabbitMQ does on shutdown:
    a kombu consumer's drain_events raises py-amqp ConnectionForced, which
    kombu lists among its recoverable connection errors.
    (warren_only: needs its own broker.)"""
    srv = broker_factory()
    c = Connection(url(srv.address), connect_timeout=WAIT, heartbeat=0)
    try:
        c.ensure_connection(max_retries=1, timeout=WAIT)
        ch = c.channel()
        ch.queue_declare("", exclusive=True)
        assert srv.terminate() == 0
        with pytest.raises(ax.ConnectionForced) as ei:
            c.drain_events(timeout=WAIT)
        assert ei.value.reply_code == 320
        assert isinstance(ei.value, c.recoverable_connection_errors)
    finally:
        try:
            c.release()
        except Exception:
            pass


def test_consumer_cancel_notify_on_queue_delete(aconns, uniq):
    """RabbitMQ consumer_cancel_notify: deleting a consumed queue sends
    basic.cancel to the consumer; py-amqp calls on_cancel with the tag, and
    without on_cancel raises ConsumerCancelled. The channel stays open."""
    c = aconns()
    ch = c.channel()
    ch.queue_declare(uniq)
    ch.queue_declare(uniq + "-2")
    cancelled = []
    tag = ch.basic_consume(uniq, callback=lambda m: None,
                           on_cancel=cancelled.append)
    ch.basic_consume(uniq + "-2", consumer_tag="tag2", callback=lambda m: None)
    other = aconns().channel()
    other.queue_delete(uniq)
    assert drain(c, lambda: cancelled)
    assert cancelled == [tag]
    assert ch.is_open
    other.queue_delete(uniq + "-2")
    with pytest.raises(ax.ConsumerCancelled):
        c.drain_events(timeout=WAIT)
    assert ch.is_open
    ch.queue_declare("", exclusive=True)  # channel still works


def test_consumer_tag_and_cancel_ok(aconn, uniq):
    """basic.consume with a client tag echoes it; basic.cancel stops
    deliveries (later publishes stay in the queue)."""
    ch = aconn.channel()
    ch.queue_declare(uniq, exclusive=True, auto_delete=False)
    got = []
    tag = ch.basic_consume(uniq, consumer_tag="my-tag", no_ack=True,
                           callback=got.append)
    assert tag == "my-tag"
    ch.basic_publish(amqp.Message(b"1"), "", uniq)
    assert drain(aconn, lambda: got)
    assert got[0].delivery_info["consumer_tag"] == "my-tag"
    ch.basic_cancel("my-tag")
    ch.basic_publish(amqp.Message(b"2"), "", uniq)
    assert wait_ready(aconn, uniq, 1) == 1
    assert len(got) == 1


@pytest.mark.warren_only
@pytest.mark.timeout(60)
def test_connection_blocked_and_unblocked(broker_factory, aconns, uniq):
    """RabbitMQ memory alarm (connection.blocked extension): a private
    warren with a 4 MiB watermark; confirmed 256 KiB publishes fill it until
    py-amqp's on_blocked fires; a purge from another connection frees the
    memory and on_unblocked follows; publishing works again.
    (warren_only: RabbitMQ's watermark cannot be lowered per test.)"""
    srv = broker_factory("--set", "vm_memory_high_watermark.absolute=4MiB")
    events = []
    pub = aconns(srv.address, confirm_publish=True,
                 on_blocked=lambda reason: events.append(("blocked", reason)),
                 on_unblocked=lambda: events.append(("unblocked",)))
    ch = pub.channel()
    ch.queue_declare(uniq)
    body = b"x" * (256 << 10)
    published = 0
    with pytest.raises(socket.timeout):
        # the publish that crosses the watermark is confirmed, the next one
        # is not read: its confirm times out after blocked has arrived
        for _ in range(64):
            ch.basic_publish(amqp.Message(body), "", uniq,
                             confirm_timeout=1.0 * SLOW)
            published += 1
    assert events and events[0][0] == "blocked", events
    assert "memory" in events[0][1] or events[0][1]
    assert 0 < published < 64
    admin = aconns(srv.address).channel()
    assert admin.queue_purge(uniq) >= published
    assert drain(pub, lambda: len(events) >= 2, timeout=WAIT)
    assert events[1] == ("unblocked",)
