# SPDX-License-Identifier: MIT
"""Connection and channel lifecycle with pika (AMQP 0-9-1 classes connection, channel)."""

import pika
import pika.exceptions
import pytest

import broker as broker_mod
from helpers import channel_error, connect, get_all, wait_count


def test_connect_and_close(broker):
    c = connect(broker)
    assert c.is_open
    ch = c.channel()
    assert ch.is_open
    ch.close()
    assert ch.is_closed
    c.close()
    assert c.is_closed


def test_server_properties_capabilities(conn):
    """RabbitMQ extensions: the capabilities clients test before using them."""
    props = conn._impl.server_properties
    caps = props["capabilities"]
    for cap in ("publisher_confirms", "exchange_exchange_bindings", "basic.nack",
                "consumer_cancel_notify", "connection.blocked", "per_consumer_qos",
                "authentication_failure_close"):
        assert caps.get(cap) is True, cap
    for key in ("product", "version", "platform"):
        assert isinstance(props.get(key), (str, bytes)) and props[key], key


def test_bad_password_access_refused(broker):
    """authentication_failure_close: wrong password -> connection.close 403."""
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as ei:
        connect(broker, password="not-the-password")
    assert "(403)" in str(ei.value) and "ACCESS_REFUSED" in str(ei.value)


def test_unknown_user_access_refused(broker):
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as ei:
        connect(broker, user="no-such-user-x", password="guest")
    assert "(403)" in str(ei.value)


def test_unknown_vhost_not_allowed(broker):
    """connection.open of a vhost that does not exist -> 530 NOT_ALLOWED."""
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as ei:
        connect(broker, vhost="/no-such-vhost-warren")
    assert "(530)" in str(ei.value) and "NOT_ALLOWED" in str(ei.value)


def test_negotiated_frame_max_and_heartbeat(broker):
    c = connect(broker, frame_max=65536, heartbeat=30)
    try:
        assert c._impl.params.frame_max == 65536
        assert c._impl.params.heartbeat == 30
        ch = c.channel()
        q = ch.queue_declare("", exclusive=True).method.queue
        body = bytes(range(256)) * 1024  # 256 KiB, spans several 64 KiB frames
        ch.basic_publish("", q, body)
        m, _, got = ch.basic_get(q, auto_ack=True)
        assert got == body
    finally:
        c.close()


def test_many_channels_on_one_connection(conn, uniq):
    """200 channels, each with its own queue and message, all independent."""
    chans = [conn.channel() for _ in range(200)]
    numbers = [c.channel_number for c in chans]
    assert len(set(numbers)) == 200
    for i, c in enumerate(chans):
        c.queue_declare("%s-%d" % (uniq, i), auto_delete=False)
        c.basic_publish("", "%s-%d" % (uniq, i), b"msg-%d" % i)
    for i, c in enumerate(chans):
        m, _, body = c.basic_get("%s-%d" % (uniq, i), auto_ack=True)
        assert body == b"msg-%d" % i
        c.queue_delete("%s-%d" % (uniq, i))
    for c in chans[::2]:
        c.close()
    for c in chans[1::2]:
        assert c.is_open
        c.close()
    assert conn.is_open


def test_channel_error_closes_only_that_channel(conn, uniq):
    good = conn.channel()
    bad = conn.channel()
    good.queue_declare(uniq)
    with channel_error(404):
        bad.queue_declare(uniq + "-missing", passive=True)
    assert bad.is_closed
    assert conn.is_open and good.is_open
    good.basic_publish("", uniq, b"still works")
    m, _, body = good.basic_get(uniq, auto_ack=True)
    assert body == b"still works"
    # a new channel on the same connection works as well
    again = conn.channel()
    assert again.queue_declare(uniq, passive=True).method.message_count == 0
    good.queue_delete(uniq)


def test_channel_close_and_reopen_many_times(conn, uniq):
    first = conn.channel()
    first.queue_declare(uniq)
    for i in range(50):
        c = conn.channel()
        c.basic_publish("", uniq, b"%d" % i)
        c.close()
    assert wait_count(first, uniq, 50) == 50
    bodies = [b for _, _, b in get_all(first, uniq)]
    assert bodies == [b"%d" % i for i in range(50)]
    first.queue_delete(uniq)


def test_client_connection_close_is_clean(broker, uniq):
    c = connect(broker)
    ch = c.channel()
    ch.queue_declare(uniq)
    c.close()
    with pytest.raises(pika.exceptions.ConnectionWrongStateError):
        c.channel()
    c2 = connect(broker)
    ch2 = c2.channel()
    assert ch2.queue_declare(uniq, passive=True).method.queue == uniq
    ch2.queue_delete(uniq)
    c2.close()


@pytest.fixture
def localhost_port(broker):
    """The port of a broker listening on `localhost`: RabbitMQ's (it
    listens on every address of both families), or a private warren's
    started with --bind localhost."""
    if broker_mod.external_broker() is not None:
        yield broker[1]
        return
    srv = broker_mod.WarrenServer(["--bind", "localhost"]).start()
    try:
        yield srv.port
    finally:
        srv.stop_checked()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_localhost_listens_on_ipv4_and_ipv6(localhost_port, host, uniq):
    """localhost means 127.0.0.1 and ::1, as RabbitMQ listens on both
    families: pika connects over either, on the same port, and a message
    published over one is there for the other."""
    c = connect((host, localhost_port))
    try:
        ch = c.channel()
        ch.queue_declare(queue=uniq, auto_delete=False)
        ch.basic_publish(exchange="", routing_key=uniq, body=host.encode())
        other = connect(("::1" if host != "::1" else "127.0.0.1",
                         localhost_port))
        try:
            _, _, body = other.channel().basic_get(uniq, auto_ack=True)
            assert body == host.encode()
        finally:
            other.close()
        ch.queue_delete(uniq)
    finally:
        c.close()
