# SPDX-License-Identifier: MIT
"""SIGTERM on a private warren-server: every open connection gets
connection.close 320 CONNECTION_FORCED and the process exits 0 promptly,
even when peers never answer (warren's own behaviour, so warren_only)."""

import signal
import time

import pytest

from frames import PROTOCOL_HEADER, ConnectionClosed, RawClient, publish_frames

pytestmark = pytest.mark.warren_only


def test_sigterm_sends_320_to_every_connection(broker_factory):
    srv = broker_factory()
    clients = []
    for i in range(3):
        c = RawClient(*srv.address)
        c.handshake()
        c.open_channel(1)
        clients.append(c)
    # one publisher, one consumer holding an unacked message, one idle
    q = clients[0].rpc(1, "queue.declare", "queue.declare_ok", queue="", auto_delete=True).queue
    clients[1].rpc(1, "basic.consume", "basic.consume_ok", queue=q)
    clients[0].send(publish_frames(1, b"x", routing_key=q))
    assert clients[1].recv_message()[1].body == b"x"
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    for c in clients:
        m = c.expect_connection_close(timeout=5)
        assert m.reply_code == 320
        assert m.reply_text.startswith("CONNECTION_FORCED")
        c.close()
    assert srv.proc.wait(10) == 0, srv.log_tail()
    assert time.monotonic() - t0 < 5


def test_sigterm_does_not_wait_for_silent_peers(broker_factory):
    """Peers that never send close-ok (or are mid-handshake) do not keep the
    broker alive."""
    srv = broker_factory()
    silent = RawClient(*srv.address)
    silent.handshake()
    half = RawClient(*srv.address)
    half.send(PROTOCOL_HEADER)  # start arrives, we never answer
    nothing = RawClient(*srv.address)  # TCP connected, not a byte sent
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(10) == 0, srv.log_tail()
    assert time.monotonic() - t0 < 5
    for c in (silent, half, nothing):
        try:
            c.wait_closed(timeout=5)
        except TimeoutError:
            pytest.fail("socket left open after the broker exited")
        except ConnectionClosed:
            pass
        c.close()


def test_port_closed_after_sigterm(broker_factory):
    import socket
    srv = broker_factory()
    host, port = srv.address
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(10) == 0
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=1).close()
