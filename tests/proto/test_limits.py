# SPDX-License-Identifier: MIT
"""consumer_max_per_channel with raw frames: what pika cannot send (an
empty consumer tag, a reused one at the limit, a flood of consumes in one
write), and that a client flooding basic.consume costs the broker nothing
once it is closed (docs/internals/MEMORY.md)."""

import time

import pytest

import broker as broker_mod
from frames import RawClient, method_frame

pytestmark = pytest.mark.warren_only

MAX = 50


@pytest.fixture(scope="module")
def srv():
    if broker_mod.external_broker() is not None:
        pytest.skip("needs its own warren-server")
    try:
        s = broker_mod.WarrenServer(
            ["--set", "consumer_max_per_channel=%d" % MAX,
             "--set", "heartbeat=0"]).start()
    except broker_mod.BrokerError as e:
        pytest.fail(str(e), pytrace=False)
    yield s
    s.stop_checked()


def client(srv):
    c = RawClient(*srv.address)
    c.handshake()
    c.open_channel(1)
    q = c.rpc(1, "queue.declare", "queue.declare_ok", queue="",
              exclusive=True).queue
    return c, q


def test_empty_tags_are_new_consumers(srv):
    """An empty tag makes a server-named consumer: each one counts."""
    c, q = client(srv)
    for _ in range(MAX):
        c.rpc(1, "basic.consume", "basic.consume_ok", queue=q, consumer_tag="")
    c.send_method(1, "basic.consume", queue=q, consumer_tag="")
    close = c.expect_connection_close()
    assert close.reply_code == 530
    assert close.reply_text == \
        "NOT_ALLOWED - reached maximum (%d) of consumers per channel" % MAX
    assert close.class_id == 60 and close.method_id == 20


def test_reused_tag_at_the_limit(srv):
    """A tag in use is RabbitMQ's "reuse" error, not the limit's."""
    c, q = client(srv)
    for i in range(MAX):
        c.rpc(1, "basic.consume", "basic.consume_ok", queue=q,
              consumer_tag="t%d" % i)
    c.send_method(1, "basic.consume", queue=q, consumer_tag="t0")
    close = c.expect_connection_close()
    assert close.reply_code == 530
    assert close.reply_text == "NOT_ALLOWED - attempt to reuse consumer tag 't0'"


def wait_conns(srv, n, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        st = srv.stats()
        if st["connections"] == n or time.monotonic() > deadline:
            assert st["connections"] == n, st
            return st
        time.sleep(0.05)


def test_consume_flood_is_bounded(srv):
    """10,000 basic.consume frames in one write: the connection is closed
    at the limit and the broker's memory comes back."""

    def flood():
        c, q = client(srv)
        c.send(b"".join(method_frame(1, "basic.consume", queue=q,
                                     consumer_tag="f%d" % i)
                        for i in range(10000)))
        close = c.expect_connection_close(timeout=10)
        assert close.reply_code == 530
        c.wait_closed()
        c.close()

    flood()
    before = wait_conns(srv, 0)["alloc_used"]
    for _ in range(3):
        flood()
    after = wait_conns(srv, 0)["alloc_used"]
    assert after - before < 16 * 1024, (before, after)
    # the broker keeps serving
    c, q = client(srv)
    c.rpc(1, "basic.consume", "basic.consume_ok", queue=q, consumer_tag="ok")
    c.close_connection()
