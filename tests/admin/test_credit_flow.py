# SPDX-License-Identifier: MIT
"""Credit flow (issue 17), as RabbitMQ's credit_flow: a publisher faster
than the consumers of its queue is read from more slowly, so the backlog
stays bounded; the API shows its connection in state "flow" meanwhile, no
connection.blocked is sent and nothing is lost. A publisher into a queue
without consumers is not throttled: that backlog is wanted.

The publisher is a raw socket writing pre-encoded publishes as fast as
the kernel takes them; the consumer is pika, acking every message."""

import os
import struct
import sys
import threading
import time

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "proto"))

from frames import RawClient, method_frame, publish_frames  # noqa: E402
from helpers import connect  # noqa: E402  (tests/interop/helpers.py)
from mgmt_client import q  # noqa: E402

pytestmark = pytest.mark.warren_only

N = 40000
# Well below N: without credit flow the raw publisher is done before the
# consumer has taken a tenth of the messages, and nearly all of them wait
# in the queue at once. Not tighter: on a loaded machine (an ASan broker,
# a starved pika consumer) the consumer can take nothing for 200 ms, which
# lets the publisher go for a while (docs/internals/FLOW.md); peaks of
# 16,600 were seen so.
BACKLOG_BOUND = N // 2
PUBLISHER = "flow-test-publisher"


def publisher(host, port, queue, n, confirm=False):
    """Connects, then writes n publishes of an 8-byte sequence number to
    queue in large batches; returns the RawClient (open)."""
    c = RawClient(host, port, timeout=60)
    c.handshake()
    c.open_channel(1)
    if confirm:
        c.rpc(1, "confirm.select", "confirm.select_ok")
    batch = []
    for i in range(n):
        batch.append(publish_frames(1, struct.pack(">Q", i),
                                    routing_key=queue))
        if len(batch) == 1000:
            c.send(b"".join(batch))
            batch = []
    if batch:
        c.send(b"".join(batch))
    return c


def conn_states(api):
    """state of every connection that is the raw publisher (its client
    properties say product warren-proto-tests)."""
    r = api.get("/api/connections")
    assert r.status == 200, r
    return [c.get("state") for c in r.json
            if (c.get("client_properties") or {}).get("product") ==
            "warren-proto-tests"]


def test_fast_publisher_slow_consumer_is_throttled_not_dropped(fresh):
    srv, api = fresh()
    host, port = srv.address
    queue = "flow-slow-consumer"
    cconn = connect(srv.address)
    ch = cconn.channel()
    ch.queue_declare(queue)
    ch.basic_qos(prefetch_count=50)
    seen = set()
    done = threading.Event()

    def on_message(chan, method, props, body):
        seen.add(struct.unpack(">Q", body)[0])
        chan.basic_ack(method.delivery_tag)
        if len(seen) == N:
            done.set()

    ch.basic_consume(queue, on_message)
    result = {}

    def run_publisher():
        try:
            result["client"] = publisher(host, port, queue, N)
        except Exception as e:  # reported by the main thread
            result["error"] = e

    t = threading.Thread(target=run_publisher, daemon=True)
    t.start()
    max_ready, states = 0, set()
    deadline = time.monotonic() + 120
    last_poll = 0.0
    while not done.is_set() and time.monotonic() < deadline:
        cconn.process_data_events(time_limit=0.01)
        if time.monotonic() - last_poll > 0.05:
            last_poll = time.monotonic()
            r = api.get("/api/queues/%2F/" + q(queue))
            assert r.status == 200, r
            max_ready = max(max_ready, r.json["messages_ready"])
            states.update(conn_states(api))
    t.join(30)
    assert "error" not in result, result.get("error")
    assert done.is_set(), "consumer got %d of %d" % (len(seen), N)
    # Every message arrived, once each.
    assert seen == set(range(N))
    # The publisher was throttled while the consumer was behind...
    assert "flow" in states, states
    # ...so the queue never held more than a bounded backlog.
    assert max_ready < BACKLOG_BOUND, max_ready
    # No connection.blocked: the raw publisher's socket has only what the
    # broker sent during the handshake (nothing since).
    pub = result["client"]
    pub.sock.setblocking(False)
    try:
        extra = pub.sock.recv(65536)
    except BlockingIOError:
        extra = b""
    assert extra == b"", extra
    # After the run the state goes back to running (RabbitMQ shows flow
    # for a second after the last throttle).
    deadline = time.monotonic() + 10
    while conn_states(api) != ["running"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert conn_states(api) == ["running"]
    pub.close_connection()
    cconn.close()


def test_publisher_to_queue_without_consumers_is_not_throttled(fresh):
    srv, api = fresh()
    host, port = srv.address
    queue = "flow-no-consumer"
    c = connect(srv.address)
    c.channel().queue_declare(queue)
    states = set()
    result = {}

    def run_publisher():
        try:
            result["client"] = publisher(host, port, queue, N, confirm=True)
        except Exception as e:
            result["error"] = e

    t = threading.Thread(target=run_publisher, daemon=True)
    t.start()
    while t.is_alive():
        states.update(conn_states(api))
        time.sleep(0.02)
    t.join()
    assert "error" not in result, result.get("error")
    pub = result["client"]
    # Every publish is confirmed: the broker took all of them.
    acked = 0
    while acked < N:
        m = pub.expect("basic.ack", 1, timeout=30)
        acked = m.delivery_tag if m.multiple else acked + 1
    assert acked == N
    states.update(conn_states(api))
    assert "flow" not in states, states
    r = api.get("/api/queues/%2F/" + q(queue))
    assert r.json["messages_ready"] == N
    pub.close_connection()
    c.close()
