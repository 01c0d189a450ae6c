# SPDX-License-Identifier: MIT
"""Connection negotiation on a raw socket (AMQP 0-9-1 class connection):
protocol header, start/start-ok (PLAIN, AMQPLAIN), tune, open, heartbeats."""

import time

import pytest

from frames import (FRAME_HEARTBEAT, FRAME_METHOD, PROTOCOL_HEADER,
                    ConnectionClosed, RawClient, enc_table, enc_table_body,
                    heartbeat_frame)


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
        # RabbitMQ's words, the name unquoted (a Java client's
        # IOException shows them)
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


def test_channel_close_handshake_and_reuse(broker):
    with RawClient(*broker) as c:
        c.handshake()
        for _ in range(3):
            c.open_channel(7)
            c.rpc(7, "channel.close", "channel.close_ok", reply_code=200, reply_text="")
        c.close_connection()


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
