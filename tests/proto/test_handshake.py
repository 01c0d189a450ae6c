# SPDX-License-Identifier: MIT
"""Connection negotiation on a raw socket (AMQP 0-9-1 class connection):
protocol header, start/start-ok (PLAIN, AMQPLAIN), tune, open, heartbeats."""

import time

import pytest

from frames import (FRAME_HEARTBEAT, FRAME_METHOD, METHODS, PROTOCOL_HEADER,
                    ConnectionClosed, RawClient, enc_table, enc_table_body,
                    heartbeat_frame, method_frame)

METHOD_IDS = {v[0]: k for k, v in METHODS.items()}


def test_connection_start_fields(broker):
    with RawClient(*broker) as c:
        c.send(PROTOCOL_HEADER)
        f = c.recv_frame()
        assert (f.type, f.channel) == (FRAME_METHOD, 0)
        start = f.method
        assert start.name == "connection.start"
        assert (start.version_major, start.version_minor) == (0, 9)
        assert set(start.mechanisms.split()) >= {b"PLAIN", b"AMQPLAIN"}
        assert b"en_US" in start.locales.split()
        caps = start.server_properties["capabilities"]
        for cap in ("publisher_confirms", "exchange_exchange_bindings", "basic.nack",
                    "consumer_cancel_notify", "connection.blocked", "per_consumer_qos",
                    "authentication_failure_close"):
            assert caps.get(cap) is True, cap


def test_tune_values(broker):
    with RawClient(*broker) as c:
        c.handshake()
        t = c.tune
        assert t.frame_max == 0 or t.frame_max >= 4096
        assert t.channel_max == 0 or t.channel_max >= 1
        c.close_connection()


def test_plain_login(broker):
    with RawClient(*broker) as c:
        c.handshake(mechanism="PLAIN")
        c.open_channel(1)
        c.close_connection()


def test_amqplain_login(broker):
    """AMQPLAIN: the response is a field table's entries WITHOUT the table's
    4-byte length prefix (as RabbitMQ and rabbitmq-c do), LOGIN and PASSWORD."""
    with RawClient(*broker) as c:
        c.handshake(mechanism="AMQPLAIN",
                    response=enc_table_body({"LOGIN": "guest", "PASSWORD": "guest"}))
        c.open_channel(1)
        q = c.rpc(1, "queue.declare", "queue.declare_ok", queue="", exclusive=True)
        assert q.queue.startswith("amq.gen-")
        c.close_connection()


def test_amqplain_bad_password_403(broker):
    with RawClient(*broker) as c:
        c.send(PROTOCOL_HEADER)
        c.expect("connection.start")
        c.send_method(0, "connection.start_ok",
                      client_properties={"capabilities": {"authentication_failure_close": True}},
                      mechanism="AMQPLAIN",
                      response=enc_table_body({"LOGIN": "guest", "PASSWORD": "nope"}),
                      locale="en_US")
        m = c.expect_connection_close()
        assert m.reply_code == 403


def test_plain_bad_password_403(broker):
    """authentication_failure_close: connection.close 403 ACCESS_REFUSED."""
    with RawClient(*broker) as c:
        c.send(PROTOCOL_HEADER)
        c.expect("connection.start")
        c.send_method(0, "connection.start_ok",
                      client_properties={"capabilities": {"authentication_failure_close": True}},
                      mechanism="PLAIN", response=b"\0guest\0wrong", locale="en_US")
        m = c.expect_connection_close()
        assert m.reply_code == 403
        assert m.reply_text.startswith("ACCESS_REFUSED")
        assert c.wait_closed() == b""


def test_plain_malformed_response_403(broker):
    with RawClient(*broker) as c:
        c.send(PROTOCOL_HEADER)
        c.expect("connection.start")
        c.send_method(0, "connection.start_ok", client_properties={},
                      mechanism="PLAIN", response=b"no-nul-bytes", locale="en_US")
        try:
            m = c.expect_connection_close()
            assert m.reply_code == 403
        except ConnectionClosed:
            pass  # closing without a reply is fine too; never a tune


def test_unknown_mechanism_closes_without_data(broker):
    """AMQP 0-9-1 connection.start-ok mechanism: if the mechanism was not
    offered, the server MUST close the connection without sending any
    further data."""
    with RawClient(*broker, timeout=10) as c:
        c.send(PROTOCOL_HEADER)
        c.expect("connection.start")
        c.send_method(0, "connection.start_ok", client_properties={},
                      mechanism="NOT-A-MECHANISM", response=b"x", locale="en_US")
        assert c.wait_closed() == b""


def test_unknown_vhost_530(broker):
    with RawClient(*broker) as c:
        c.handshake(open_vhost=False)
        c.send_method(0, "connection.open", virtual_host="/no-such-vhost")
        m = c.expect_connection_close()
        assert (m.reply_code, m.class_id, m.method_id) == (530, 10, 40)
        # RabbitMQ 3.10's text exactly, the vhost name unquoted: Bunny,
        # pika and amqplib show it to the user as it is
        assert m.reply_text == "NOT_ALLOWED - vhost /no-such-vhost not found"


def test_connection_close_handshake(broker):
    with RawClient(*broker) as c:
        c.handshake()
        c.send_method(0, "connection.close", reply_code=200, reply_text="bye",
                      class_id=0, method_id=0)
        c.expect("connection.close_ok", 0)
        # close-ok tells the client it may close the socket; nothing follows
        with pytest.raises((TimeoutError, ConnectionClosed)):
            c.recv_frame(timeout=0.3)


def test_client_close_leaves_the_socket_to_the_client(broker):
    """AMQP 0-9-1 connection.close-ok: after it the client closes the
    socket, as RabbitMQ 3.10 leaves it to. A broker that closes first races
    the client's reader, which may see EOF before it has handled close-ok:
    amqp091-go then reports a clean Close as 501 "EOF" through NotifyClose
    (tests/interop/test_go_amqp091.py)."""
    with RawClient(*broker) as c:
        c.handshake()
        c.send_method(0, "connection.close", reply_code=200, reply_text="bye",
                      class_id=0, method_id=0)
        c.expect("connection.close_ok", 0)
        with pytest.raises(TimeoutError):
            c.recv_frame(timeout=0.5)


@pytest.mark.warren_only  # RabbitMQ waits longer (its heartbeat, up to 30 s)
def test_client_that_never_closes_after_close_ok_is_dropped(broker):
    """...but not for ever: warren drops the socket 3 s after close-ok."""
    with RawClient(*broker) as c:
        c.handshake()
        c.send_method(0, "connection.close", reply_code=200, reply_text="bye",
                      class_id=0, method_id=0)
        c.expect("connection.close_ok", 0)
        t = time.monotonic()
        assert c.wait_closed(timeout=10) == b""
        assert 2 < time.monotonic() - t < 8


def test_channel_close_handshake_and_reuse(broker):
    with RawClient(*broker) as c:
        c.handshake()
        for _ in range(3):
            c.open_channel(7)
            c.rpc(7, "channel.close", "channel.close_ok", reply_code=200, reply_text="")
        c.close_connection()


def test_channel_max_limits_open_channels_not_their_numbers(broker):
    """channel_max (here 3, asked for in tune-ok) is how many channels may
    be open at once, as in RabbitMQ: numbers up to 65535 open, a channel
    the broker closed still counts until its close-ok, a closed one frees
    its place, and any frame for one channel too many closes the
    connection with 530 NOT_ALLOWED (class and method 0)."""
    with RawClient(*broker) as c:
        c.handshake(channel_max=3)
        for ch in (100, 200, 65535):
            c.open_channel(ch)
        c.rpc(200, "channel.close", "channel.close_ok", reply_code=200,
              reply_text="", class_id=0, method_id=0)
        c.open_channel(7)
        # a channel error: channel 7 waits for our close-ok and counts
        c.send_method(7, "queue.declare", queue="nowhere-%s" % time.time(),
                      passive=True)
        ch, m = c.recv_method()
        assert (ch, m.name, m.reply_code) == (7, "channel.close", 404)
        c.send_method(8, "channel.open")
        m = c.expect_connection_close()
        assert (m.reply_code, m.reply_text, m.class_id, m.method_id) == (
            530, "NOT_ALLOWED - number of channels opened (3) has reached "
            "the negotiated channel_max (3)", 0, 0)


@pytest.mark.parametrize("what", ["channel.open", "queue.declare"])
def test_one_channel_too_many_at_the_default_channel_max(broker, what):
    """The broker's own channel_max (2047 in both brokers): 2047 channels
    open, the last as number 65535; the 2048th is refused with 530 whatever
    its first frame is (a frame for a channel that is not open is 504
    only while there is room)."""
    with RawClient(*broker, timeout=20) as c:
        c.handshake()
        assert c.tune.channel_max == 2047
        ids = list(range(1, 2047)) + [65535]
        c.send(b"".join(method_frame(ch, "channel.open") for ch in ids))
        opened = set()
        for _ in ids:  # RabbitMQ answers pipelined opens in any order
            ch, m = c.recv_method()
            assert m.name == "channel.open_ok", m
            opened.add(ch)
        assert opened == set(ids)
        c.send_method(2047, what, **({"queue": "x"} if what != "channel.open" else {}))
        m = c.expect_connection_close()
        assert (m.reply_code, m.reply_text) == (
            530, "NOT_ALLOWED - number of channels opened (2047) has "
            "reached the negotiated channel_max (2047)")


@pytest.mark.parametrize("method,args", [
    ("connection.tune_ok", dict(channel_max=2047, frame_max=131072, heartbeat=0)),
    ("connection.open", dict(virtual_host="/")),
    ("connection.start_ok", dict(client_properties={}, mechanism="PLAIN",
                                 response=b"\0guest\0guest", locale="en_US")),
    ("connection.secure_ok", dict(response=b"x")),
    ("connection.tune", dict(channel_max=1, frame_max=4096, heartbeat=0)),
])
def test_handshake_method_on_an_open_connection_504(broker, method, args):
    """A second tune-ok (or open, start-ok, or a method only a server
    sends) once the connection is open: 504 CHANNEL_ERROR with RabbitMQ's
    text, naming the method."""
    with RawClient(*broker) as c:
        c.handshake()
        c.send_method(0, method, **args)
        m = c.expect_connection_close()
        assert (m.reply_code, m.reply_text) == (
            504, "CHANNEL_ERROR - unexpected method in connection state running")
        assert (m.class_id, m.method_id) == METHOD_IDS[method]


def test_byte_by_byte_handshake(broker):
    """Frames split into 1-byte writes are reassembled (partial reads)."""
    with RawClient(*broker) as c:
        for b in PROTOCOL_HEADER:
            c.send(bytes([b]))
            time.sleep(0.001)
        c.expect("connection.start")
        from frames import method_frame
        data = method_frame(0, "connection.start_ok", client_properties={},
                            mechanism="PLAIN", response=b"\0guest\0guest", locale="en_US")
        for i in range(len(data)):
            c.send(data[i:i + 1])
        c.expect("connection.tune")
        c.send_method(0, "connection.tune_ok", channel_max=10, frame_max=4096, heartbeat=0)
        c.send_method(0, "connection.open", virtual_host="/")
        c.expect("connection.open_ok")
        c.close_connection()


def test_heartbeat_timeout_closes_silent_client(broker):
    """heartbeat=1 negotiated, then silence: the broker sends heartbeats and,
    after about two intervals without traffic, closes the socket."""
    with RawClient(*broker, timeout=10) as c:
        c.handshake(heartbeat=1)
        t0 = time.monotonic()
        beats = 0
        try:
            while True:
                f = c.recv_frame(timeout=8, skip_heartbeats=False)
                # AMQP 0-9-1 4.2.7: type 8, channel 0, empty payload
                assert (f.type, f.channel, f.payload) == (FRAME_HEARTBEAT, 0, b"")
                beats += 1
        except ConnectionClosed:
            pass
        elapsed = time.monotonic() - t0
        assert 1.5 <= elapsed <= 5.0, elapsed
        assert beats >= 1


def test_heartbeats_keep_connection_alive(broker):
    with RawClient(*broker, timeout=10) as c:
        c.handshake(heartbeat=1)
        c.open_channel(1)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            c.send(heartbeat_frame())
            time.sleep(0.4)
        q = c.rpc(1, "queue.declare", "queue.declare_ok", queue="", exclusive=True)
        assert q.queue
        c.close_connection()


def test_no_heartbeat_when_disabled(broker):
    with RawClient(*broker, timeout=5) as c:
        c.handshake(heartbeat=0)  # RabbitMQ would beat every 0.5 s at heartbeat=1
        with pytest.raises(TimeoutError):
            c.recv_frame(timeout=1.5, skip_heartbeats=False)
        c.close_connection()


def test_amqplain_with_length_prefix_is_not_accepted(broker):
    """A full table (with its length) as AMQPLAIN response is not a login."""
    with RawClient(*broker) as c:
        c.send(PROTOCOL_HEADER)
        c.expect("connection.start")
        c.send_method(0, "connection.start_ok", client_properties={},
                      mechanism="AMQPLAIN",
                      response=enc_table({"LOGIN": "guest", "PASSWORD": "guest"}),
                      locale="en_US")
        with pytest.raises((ConnectionClosed, AssertionError, TimeoutError)):
            c.expect("connection.tune", timeout=4)
