# SPDX-License-Identifier: MIT
"""basic/confirm class behaviour that clients hide: confirm delivery tags,
server-generated consumer tags, exact field-table bytes, frame splitting,
pipelining, and hostile content headers."""

import struct
import time
import uuid

import pytest

from broker import external_broker
from frames import (FRAME_BODY, FRAME_HEADER, ConnectionClosed, RawClient,
                    Typed, decode_header, frame, header_frame, header_payload,
                    method_frame, method_payload, publish_frames)


def uname(tag):
    return "proto-%s-%s" % (tag, uuid.uuid4().hex[:8])


@pytest.fixture
def client(broker):
    c = RawClient(*broker)
    c.handshake()
    c.open_channel(1)
    yield c
    c.close()


def declare(c, ch=1, name="", **kw):
    return c.rpc(ch, "queue.declare", "queue.declare_ok", queue=name,
                 exclusive=True, **kw).queue


def collect_confirms(c, n, channel=1):
    """Read basic.ack frames until tag n is confirmed; return [(tag, multiple)]."""
    acks = []
    last = 0
    while last < n:
        ch, m = c.recv_method()
        assert ch == channel and m.name == "basic.ack", m
        acks.append((m.delivery_tag, m.multiple))
        last = m.delivery_tag
    return acks


def test_confirm_tags_sequential_with_multiple(client):
    """RabbitMQ confirm class: publishes are numbered 1, 2, 3... on the
    channel; each basic.ack confirms one tag, or all tags up to it if
    multiple is set. Every tag is confirmed exactly once, in order."""
    q = declare(client)
    client.rpc(1, "confirm.select", "confirm.select_ok")
    n = 1000
    client.send(b"".join(publish_frames(1, b"m%d" % i, routing_key=q) for i in range(n)))
    acks = collect_confirms(client, n)
    covered = []
    prev = 0
    for tag, multiple in acks:
        assert tag > prev
        covered += list(range(prev + 1, tag + 1)) if multiple else [tag]
        if not multiple:
            assert tag == prev + 1, acks  # a single ack may not skip tags
        prev = tag
    assert covered == list(range(1, n + 1))
    client.send_method(1, "queue.declare", queue=q, passive=True)
    ok = client.expect("queue.declare_ok", 1)
    assert ok.message_count == n


def test_confirm_tags_one_by_one(client):
    """Publishing one at a time and waiting: each ack is exactly the next tag."""
    q = declare(client)
    client.rpc(1, "confirm.select", "confirm.select_ok")
    for i in range(1, 21):
        client.send(publish_frames(1, b"x", routing_key=q))
        m = client.expect("basic.ack", 1)
        assert m.delivery_tag == i
        # multiple may be set, but it then covers only tag i itself
    client.send(publish_frames(1, b"x", routing_key="no-such-queue-" + q))
    assert client.expect("basic.ack", 1).delivery_tag == 21  # unroutable: acked


def test_confirm_unroutable_mandatory_return_before_ack(client):
    client.rpc(1, "confirm.select", "confirm.select_ok")
    client.send(publish_frames(1, b"lost", routing_key=uname("none"), mandatory=True))
    ch, ret = client.recv_message()
    assert ret.method.name == "basic.return" and ret.method.reply_code == 312
    assert ret.body == b"lost"
    ack = client.expect("basic.ack", 1)
    assert ack.delivery_tag == 1


def test_confirm_select_nowait_and_twice(client):
    client.send_method(1, "confirm.select", nowait=True)
    client.rpc(1, "confirm.select", "confirm.select_ok")  # again: fine
    q = declare(client)
    client.send(publish_frames(1, b"x", routing_key=q))
    assert client.expect("basic.ack", 1).delivery_tag == 1


def test_confirm_tags_are_per_channel(client):
    client.open_channel(2)
    q = declare(client)
    for ch in (1, 2):
        client.rpc(ch, "confirm.select", "confirm.select_ok")
    client.send(publish_frames(1, b"a", routing_key=q))
    assert client.expect("basic.ack", 1).delivery_tag == 1
    client.send(publish_frames(2, b"b", routing_key=q))
    assert client.expect("basic.ack", 2).delivery_tag == 1
    client.send(publish_frames(1, b"c", routing_key=q))
    assert client.expect("basic.ack", 1).delivery_tag == 2


def test_server_generated_consumer_tag(client):
    q = declare(client)
    a = client.rpc(1, "basic.consume", "basic.consume_ok", queue=q).consumer_tag
    b = client.rpc(1, "basic.consume", "basic.consume_ok", queue=q).consumer_tag
    assert a.startswith("amq.ctag-") and b.startswith("amq.ctag-") and a != b
    client.send(publish_frames(1, b"hello", routing_key=q))
    ch, msg = client.recv_message()
    assert msg.method.name == "basic.deliver"
    assert msg.method.consumer_tag in (a, b)
    assert (msg.method.delivery_tag, msg.method.redelivered) == (1, False)
    assert (msg.method.exchange, msg.method.routing_key, msg.body) == ("", q, b"hello")
    c = client.rpc(1, "basic.cancel", "basic.cancel_ok", consumer_tag=a)
    assert c.consumer_tag == a


def test_duplicate_consumer_tag_530(client):
    q = declare(client)
    client.rpc(1, "basic.consume", "basic.consume_ok", queue=q, consumer_tag="dup")
    client.send_method(1, "basic.consume", queue=q, consumer_tag="dup")
    m = client.expect_connection_close()
    assert (m.reply_code, m.class_id, m.method_id) == (530, 60, 20)


def test_same_consumer_tag_on_two_channels_is_fine(client):
    client.open_channel(2)
    q = declare(client)
    for ch in (1, 2):
        assert client.rpc(ch, "basic.consume", "basic.consume_ok", queue=q,
                          consumer_tag="same").consumer_tag == "same"


def test_consume_nowait_then_deliver(client):
    q = declare(client)
    client.send_method(1, "basic.consume", queue=q, consumer_tag="nw", no_wait=True,
                       no_ack=True)
    client.send(publish_frames(1, b"x", routing_key=q))
    ch, msg = client.recv_message()
    assert (msg.method.name, msg.method.consumer_tag, msg.body) == ("basic.deliver", "nw", b"x")


ALL_TYPES = {
    "t": Typed("t", True), "f": Typed("t", False),
    "b": Typed("b", -5), "B": Typed("B", 250),
    "s": Typed("s", -30000), "u": Typed("u", 60000),
    "I": Typed("I", -2000000000), "i": Typed("i", 4000000000),
    "l": Typed("l", -(2 ** 62)),
    "flt": Typed("f", 1.5), "dbl": Typed("d", -2.25),
    "D": Typed("D", __import__("decimal").Decimal("12.345")),
    "S": Typed("S", "longstr \u00e9"), "x": Typed("x", b"\x00\xff\x01"),
    "T": Typed("T", 1700000000), "V": Typed("V", None),
    "A": Typed("A", [1, "two", Typed("d", 3.0), [Typed("b", 4)], {"k": "v"}]),
    "F": Typed("F", {"inner": {"deeper": Typed("u", 7)}, "e": {}}),
    "empty-A": Typed("A", []),
}

PROPS = {
    "content_type": "application/octet-stream", "content_encoding": "identity",
    "headers": ALL_TYPES, "delivery_mode": 2, "priority": 3,
    "correlation_id": "c" * 255, "reply_to": "r", "expiration": "600000",
    "message_id": "", "timestamp": 2 ** 40, "type": "t", "user_id": "guest",
    "app_id": "a", "cluster_id": "cl",
}


def test_content_header_bytes_round_trip(client):
    """Every field-table type and all 14 properties arrive byte-identical:
    the broker must not re-encode (e.g. narrow or widen) any value."""
    q = declare(client)
    body = b"payload"
    sent_header = header_payload(len(body), PROPS)
    client.send(method_frame(1, "basic.publish", routing_key=q)
                + frame(FRAME_HEADER, 1, sent_header) + frame(FRAME_BODY, 1, body))
    client.send_method(1, "basic.get", queue=q, no_ack=True)
    ch, m = client.recv_method()
    assert m.name == "basic.get_ok"
    h = client.recv_frame()
    assert h.type == FRAME_HEADER
    assert h.payload == sent_header
    _, size, props = decode_header(h.payload)
    assert size == len(body)
    b = client.recv_frame()
    assert (b.type, b.payload) == (FRAME_BODY, body)


def test_empty_body_has_no_body_frame(client):
    """AMQP 0-9-1 4.2.6: content of size 0 is a header with no body frames."""
    q = declare(client)
    client.send(method_frame(1, "basic.publish", routing_key=q) + header_frame(1, 0))
    client.send_method(1, "basic.get", queue=q, no_ack=True)
    assert client.expect("basic.get_ok", 1).message_count == 0
    h = client.recv_frame()
    assert h.type == FRAME_HEADER and decode_header(h.payload)[1] == 0
    # the next frame is the reply to this, not an empty body frame
    client.send_method(1, "basic.get", queue=q, no_ack=True)
    assert client.expect("basic.get_empty", 1)


def test_delivered_body_frames_respect_frame_max(broker):
    """Bodies are split into frames of at most frame_max - 8 payload bytes."""
    with RawClient(*broker) as c:
        c.handshake(frame_max=4096)
        c.open_channel(1)
        q = declare(c)
        body = bytes(range(256)) * 64  # 16 KiB
        c.send(publish_frames(1, body, routing_key=q, frame_max=4096))
        c.send_method(1, "basic.get", queue=q, no_ack=True)
        c.expect("basic.get_ok", 1)
        h = c.recv_frame()
        assert decode_header(h.payload)[1] == len(body)
        got = b""
        sizes = []
        while len(got) < len(body):
            f = c.recv_frame()
            assert f.type == FRAME_BODY
            sizes.append(len(f.payload))
            got += f.payload
        assert got == body
        assert max(sizes) <= 4096 - 8
        assert len(sizes) == 5  # ceil(16384 / 4088)


def test_publish_in_many_small_body_frames(client):
    """A body may come in any number of body frames (here 1 byte each)."""
    q = declare(client)
    body = b"0123456789" * 30
    data = method_frame(1, "basic.publish", routing_key=q) + header_frame(1, len(body))
    data += b"".join(frame(FRAME_BODY, 1, body[i:i + 1]) for i in range(len(body)))
    client.send(data)
    client.send_method(1, "basic.get", queue=q, no_ack=True)
    ch, msg = client.recv_message()
    assert msg.body == body


def test_interleaved_channels_publishing(client):
    """Content frames of different channels may interleave (4.2.6)."""
    client.open_channel(2)
    q = declare(client)
    a, b = b"A" * 10, b"B" * 10
    client.send(method_frame(1, "basic.publish", routing_key=q) + header_frame(1, 10)
                + method_frame(2, "basic.publish", routing_key=q) + header_frame(2, 10)
                + frame(FRAME_BODY, 1, a[:5]) + frame(FRAME_BODY, 2, b[:5])
                + frame(FRAME_BODY, 2, b[5:]) + frame(FRAME_BODY, 1, a[5:]))
    bodies = []
    for _ in range(2):
        client.send_method(1, "basic.get", queue=q, no_ack=True)
        bodies.append(client.recv_message()[1].body)
    # both arrive whole; their order across channels is not defined
    assert sorted(bodies) == [a, b]


def test_pipelined_rpcs_answered_in_order(client):
    """Many synchronous methods in one write are all answered, in order."""
    names = [uname("pipe") for _ in range(50)]
    client.send(b"".join(method_frame(1, "queue.declare", queue=n, exclusive=True)
                         for n in names))
    got = [client.expect("queue.declare_ok", 1).queue for _ in names]
    assert got == names


def test_get_ok_message_count_and_redelivered(client):
    q = declare(client)
    client.send(b"".join(publish_frames(1, b"%d" % i, routing_key=q) for i in range(3)))
    client.send_method(1, "basic.get", queue=q)
    ch, msg = client.recv_message()
    m = msg.method
    assert (m.delivery_tag, m.redelivered, m.exchange, m.routing_key, m.message_count) == \
        (1, False, "", q, 2)
    client.send_method(1, "basic.reject", delivery_tag=1, requeue=True)
    client.send_method(1, "basic.get", queue=q)
    ch, msg = client.recv_message()
    assert (msg.method.delivery_tag, msg.method.redelivered, msg.body) == (2, True, b"0")


def test_basic_recover_sync_ok(client):
    """basic.recover (sync) answers recover-ok."""
    declare(client)
    client.rpc(1, "basic.recover", "basic.recover_ok", requeue=True)


# ---------------------------------------------------------------- hostile input

def test_huge_declared_body_size_does_not_hurt_others(broker, client):
    """A content header announcing 2^62 bytes must not make the broker
    allocate it; other connections keep working."""
    client.send(method_frame(1, "basic.publish", routing_key="x")
                + frame(FRAME_HEADER, 1, struct.pack("!HHQH", 60, 0, 2 ** 62, 0))
                + frame(FRAME_BODY, 1, b"x" * 1000))
    with RawClient(*broker) as other:
        other.handshake()
        other.open_channel(1)
        q = declare(other)
        other.send(publish_frames(1, b"fine", routing_key=q))
        other.send_method(1, "basic.get", queue=q, no_ack=True)
        assert other.recv_message()[1].body == b"fine"


def test_long_table_length_overrun_is_error(client):
    """A field table whose length runs past the frame: 501 or 502."""
    payload = method_payload("queue.declare", queue="x")[:-4] + struct.pack("!I", 10 ** 6)
    client.send(frame(1, 1, payload))
    m = client.expect_connection_close()
    assert m.reply_code in (501, 502), m


@pytest.mark.warren_only  # RabbitMQ 3.10 resets the TCP connection instead
def test_unknown_method_540(client):
    client.send(frame(1, 1, struct.pack("!HH", 60, 999)))
    m = client.expect_connection_close()
    assert (m.reply_code, m.class_id, m.method_id) == (540, 60, 999)


@pytest.mark.warren_only  # RabbitMQ 3.10 resets the TCP connection instead
def test_unknown_class_540(client):
    client.send(frame(1, 1, struct.pack("!HH", 77, 10)))
    m = client.expect_connection_close()
    assert (m.reply_code, m.class_id, m.method_id) == (540, 77, 10)


def test_unknown_method_closes_connection(client):
    """An unknown method ends the connection: warren with connection.close
    540 NOT_IMPLEMENTED naming the method, RabbitMQ 3.10 by resetting the
    socket without a connection.close."""
    client.send(frame(1, 1, struct.pack("!HH", 60, 999)))
    if external_broker():
        with pytest.raises(ConnectionClosed):
            client.expect_connection_close()
        return
    m = client.expect_connection_close()
    assert (m.reply_code, m.class_id, m.method_id) == (540, 60, 999), m


@pytest.mark.warren_only  # RabbitMQ 3.10 accepts the extra bytes silently
def test_body_longer_than_declared_501(client):
    """AMQP 0-9-1 4.2.6.2: the body frames add up to the header's body size;
    more bytes than announced is a malformed frame: 501 FRAME_ERROR."""
    q = declare(client)
    client.send(method_frame(1, "basic.publish", routing_key=q) + header_frame(1, 2)
                + frame(FRAME_BODY, 1, b"abc"))
    m = client.expect_connection_close()
    assert m.reply_code == 501


@pytest.mark.warren_only  # RabbitMQ 3.10 resets the TCP connection instead
def test_unknown_field_type_in_table_is_decode_error(client):
    """A field table value with an undefined type octet ('Z')."""
    table = struct.pack("!I", 6) + b"\x01k" + b"Z" + b"abc"
    payload = (struct.pack("!HH", 50, 10) + struct.pack("!H", 0) + b"\x01q" + b"\x00"
               + table)
    client.send(frame(1, 1, payload))
    m = client.expect_connection_close()
    assert m.reply_code in (501, 502), m  # FRAME_ERROR or SYNTAX_ERROR
    assert (m.class_id, m.method_id) == (50, 10)


def test_channel_flow_active_false_540(client):
    """channel.flow active=false from a client: connection.close 540
    NOT_IMPLEMENTED "active=false", as RabbitMQ 3.10 answers (client
    libraries' test suites expect it); active=true is answered with
    flow-ok."""
    client.rpc(1, "channel.flow", "channel.flow_ok", active=True)
    client.send_method(1, "channel.flow", active=False)
    m = client.expect_connection_close()
    assert (m.reply_code, m.reply_text, m.class_id, m.method_id) == (
        540, "NOT_IMPLEMENTED - active=false", 20, 20)


@pytest.mark.warren_only  # RabbitMQ has no such setting
def test_channel_flow_pause_setting(broker_factory):
    """With channel_flow_pause = true, active=false is honoured instead
    (AMQP 0-9-1 channel.flow): flow-ok, no content on the channel until
    active=true, then what was held back."""
    srv = broker_factory("--set", "channel_flow_pause=true")
    with RawClient(*srv.address) as client:
        client.handshake()
        client.open_channel(1)
        q = declare(client)
        client.rpc(1, "basic.consume", "basic.consume_ok", queue=q,
                   consumer_tag="f", no_ack=True)
        client.send_method(1, "channel.flow", active=False)
        ch, m = client.recv_method()
        assert (ch, m.name, m.active) == (1, "channel.flow_ok", False)
        client.open_channel(2)
        client.send(publish_frames(2, b"held", routing_key=q))
        with pytest.raises(TimeoutError):
            client.recv_frame(timeout=0.5)
        client.send_method(1, "channel.flow", active=True)
        seen = []
        while len(seen) < 2:
            ch, msg = client.recv_message()
            seen.append(msg.method.name)
            if msg.method.name == "basic.deliver":
                assert msg.body == b"held"
        assert sorted(seen) == ["basic.deliver", "channel.flow_ok"]


@pytest.mark.warren_only  # RabbitMQ waits for close-ok after a frame error
@pytest.mark.parametrize("bad", ["frame-end", "frame-type", "frame-size"])
def test_frame_error_closes_without_waiting_for_close_ok(client, bad):
    """After a frame error nothing the peer sends can be parsed, a close-ok
    included: the broker sends connection.close 501 and closes the socket
    as soon as it is written (issue 7; it used to stop reading and hold the
    socket for 3 s waiting for a close-ok it would never read). What the
    peer sends meanwhile is read and dropped, so the close is a FIN."""
    if bad == "frame-end":
        data = method_frame(1, "basic.qos", prefetch_count=1)[:-1] + b"\x00"
    elif bad == "frame-type":
        data = frame(0x42, 1, b"x")
    else:
        data = struct.pack("!BHI", 1, 1, 1 << 24)
    client.send(data + b"trailing garbage" * 100)
    t0 = time.monotonic()
    f = client.recv_frame()
    assert f.method.name == "connection.close" and f.method.reply_code == 501
    assert client.wait_closed(timeout=5) == b""
    assert time.monotonic() - t0 < 1.5


def test_acks_refill_window_in_order_with_confirms_and_replies(client):
    """One connection consumes (prefetch 10) and publishes with confirms;
    acks, publishes and an RPC sent in one write. Deliveries, confirms and
    the reply share the connection's output (warren encodes the deliveries
    of a pass back to back and refills the window once per read pass):
    every frame arrives whole, deliveries in publish order with rising
    tags, never more than 10 unacked, every publish confirmed once."""
    q = declare(client)
    client.rpc(1, "basic.qos", "basic.qos_ok", prefetch_count=10)
    client.rpc(1, "confirm.select", "confirm.select_ok")
    client.rpc(1, "basic.consume", "basic.consume_ok", queue=q,
               consumer_tag="c")
    n, bodies, confirmed, last_tag, unacked = 60, [], 0, 0, []
    sent = 0
    replies = 0

    def publish(k):
        nonlocal sent
        data = b"".join(publish_frames(1, b"m%d" % (sent + i), routing_key=q)
                        for i in range(k))
        sent += k
        return data

    client.send(publish(20))
    while len(bodies) < n or confirmed < sent or replies < 3:
        ch, msg = client.recv_message()
        assert ch == 1
        name = msg.method.name
        if name == "basic.deliver":
            assert msg.method.delivery_tag > last_tag
            last_tag = msg.method.delivery_tag
            bodies.append(msg.body)
            unacked.append(last_tag)
            assert len(unacked) <= 10
            if len(unacked) == 10:
                # acks one by one, more publishes and an RPC, in one write
                acks = b"".join(method_frame(1, "basic.ack", delivery_tag=t)
                                for t in unacked)
                unacked = []
                more = publish(20) if sent < n else b""
                rpc = b""
                if replies < 3:
                    rpc = method_frame(1, "queue.declare", queue=q,
                                       passive=True)
                client.send(acks + more + rpc)
        elif name == "basic.ack":
            assert msg.method.delivery_tag > confirmed
            confirmed = msg.method.delivery_tag
        elif name == "queue.declare_ok":
            replies += 1
        else:
            raise AssertionError(msg)
    assert bodies == [b"m%d" % i for i in range(n)]
    assert confirmed == n
