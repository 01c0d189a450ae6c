# SPDX-License-Identifier: MIT
"""Disk use tracks what is queued (issue 15; docs/internals/STORE.md
"Compaction"): a slow durable queue that keeps a message in every segment
of the message log while another queue pushes traffic through does not pin
those segments whole: they are compacted down to their live records. After
SIGKILL and a restart the slow queue's messages are all there, with their
properties, and nothing else is; a message delivered before its segment
was compacted and acked after is not delivered again. Through pika.
"""

import glob
import os
import time

import pytest

import broker as broker_mod  # tests/proto/broker.py
from restarts import conn, no_broker_left, persistent, start, stop  # noqa: F401 (no_broker_left: autouse)

pytestmark = pytest.mark.warren_only  # restarts its own brokers; a seam

SEGMENT = 16384  # WARREN_TEST_MSGS_SEGMENT: small msgs/ segments
ROUNDS = 20      # slow messages, each followed by a segment's worth of traffic
FAST = 40        # fast messages a round, 512 B each: more than a segment
WAIT = 30.0 * broker_mod.SLOW


def msgs_bytes(data):
    """Sizes of the msgs/ store's segment files, in bytes, and their count."""
    files = glob.glob(str(data / "msgs" / "*.seg"))
    return sum(os.path.getsize(f) for f in files), len(files)


def push_through(ch, q, n, tag):
    for i in range(n):
        ch.basic_publish("", q, b"%s-%d-" % (tag, i) + b"x" * 500,
                         properties=persistent())
    got = 0
    while got < n:
        m, _, _ = ch.basic_get(q, auto_ack=False)
        assert m is not None, "a confirmed message is missing"
        ch.basic_ack(m.delivery_tag)
        got += 1


@pytest.mark.timeout(300)
def test_slow_queue_does_not_pin_segments(tmp_path, monkeypatch):
    monkeypatch.setenv("WARREN_TEST_MSGS_SEGMENT", str(SEGMENT))
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    for q in ("slow", "fast", "held"):
        ch.queue_declare(q, durable=True)
    # a message delivered now, its segment compacted under it, acked later
    ch.basic_publish("", "held", b"held-body", properties=persistent())
    held, _, _ = ch.basic_get("held", auto_ack=False)
    assert held is not None
    for r in range(ROUNDS):
        ch.basic_publish(
            "", "slow", b"slow-%d" % r,
            properties=persistent(
                message_id="m%d" % r, content_type="text/plain",
                correlation_id="c%d" % r, headers={"round": r}))
        push_through(ch, "fast", FAST, b"r%d" % r)
    ch.basic_ack(held.delivery_tag)
    # the traffic spanned many segments; the slow queue holds one message
    # in most of them, which alone would keep every one of them whole
    total = ROUNDS * FAST * 512
    assert total > 10 * SEGMENT
    bound = 8 * SEGMENT
    deadline = time.monotonic() + WAIT
    size, files = msgs_bytes(data)
    while size > bound and time.monotonic() < deadline:
        time.sleep(0.1)
        size, files = msgs_bytes(data)
    assert size <= bound, "msgs/ holds %d bytes in %d files" % (size, files)

    # the acks are in (an ack lost in a crash would only redeliver)
    c.close()
    stop(srv, "kill")
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    got = []
    while True:
        m, p, body = ch.basic_get("slow", auto_ack=False)
        if m is None:
            break
        got.append((m, p, body))
    assert [b for _, _, b in got] == [b"slow-%d" % r for r in range(ROUNDS)]
    for r, (m, p, _) in enumerate(got):
        assert m.redelivered
        assert p.delivery_mode == 2
        assert p.message_id == "m%d" % r
        assert p.content_type == "text/plain"
        assert p.correlation_id == "c%d" % r
        assert p.headers == {"round": r}
    for q in ("fast", "held"):
        m, _, body = ch.basic_get(q, auto_ack=True)
        assert m is None, "%s gave back %r" % (q, body)
    c.close()
    stop(srv, "stop")
