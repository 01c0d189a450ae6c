# SPDX-License-Identifier: MIT
"""Publisher confirms with x-overflow reject-publish (issue 9): a refused
publish is answered with basic.nack, and acks and nacks interleave in
publish order even when many publishes arrive in one read (warren batches
acks per read pass; a nack must first flush the acks owed before it)."""

import uuid

import pytest

from frames import RawClient, publish_frames


@pytest.fixture
def client(broker):
    c = RawClient(*broker)
    c.handshake()
    c.open_channel(1)
    yield c
    c.close()


def uname(tag):
    return "proto-%s-%s" % (tag, uuid.uuid4().hex[:8])


def collect(c, n, channel=1):
    """Reads basic.ack / basic.nack until all of 1..n are settled. Returns
    {tag: 'ack' | 'nack'}; checks each tag is settled once, in order."""
    seen = {}
    last = 0
    while last < n:
        ch, m = c.recv_method()
        assert ch == channel, m
        assert m.name in ("basic.ack", "basic.nack"), m
        kind = "ack" if m.name == "basic.ack" else "nack"
        assert m.delivery_tag > last, (m, seen)  # never backwards
        tags = range(last + 1, m.delivery_tag + 1) if m.multiple \
            else [m.delivery_tag]
        if not m.multiple:
            # a single confirm may not leave an earlier tag unsettled
            assert m.delivery_tag == last + 1, (m, seen)
        for t in tags:
            assert t not in seen
            seen[t] = kind
        last = m.delivery_tag
    return seen


@pytest.mark.warren_only  # RabbitMQ 3.10 may confirm out of order here
def test_acks_and_nacks_interleave_in_order(client):
    ok, full = uname("ok"), uname("full")
    client.rpc(1, "queue.declare", "queue.declare_ok", queue=ok,
               exclusive=True)
    client.rpc(1, "queue.declare", "queue.declare_ok", queue=full,
               exclusive=True,
               arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
    client.rpc(1, "confirm.select", "confirm.select_ok")
    plan = ["ok", "ok", "full", "ok", "full", "full", "ok", "ok", "ok",
            "full"]
    # one write: the broker sees them all in one read pass
    client.send(b"".join(
        publish_frames(1, b"m%d" % i, routing_key=ok if p == "ok" else full)
        for i, p in enumerate(plan)))
    got = collect(client, len(plan))
    assert [got[i + 1] for i in range(len(plan))] == \
        ["ack" if p == "ok" else "nack" for p in plan]
    ok_count = client.rpc(1, "queue.declare", "queue.declare_ok", queue=ok,
                          passive=True).message_count
    assert ok_count == plan.count("ok")


def test_reject_publish_dlx_nacks_too(client):
    q = uname("dlx")
    client.rpc(1, "queue.declare", "queue.declare_ok", queue=q,
               exclusive=True,
               arguments={"x-max-length": 1,
                          "x-overflow": "reject-publish-dlx",
                          "x-dead-letter-exchange": "amq.fanout"})
    client.rpc(1, "confirm.select", "confirm.select_ok")
    client.send(b"".join(publish_frames(1, b"x", routing_key=q)
                         for _ in range(3)))
    assert collect(client, 3) == {1: "ack", 2: "nack", 3: "nack"}


def test_lone_nack_is_multiple_as_rabbitmq(client):
    """RabbitMQ 3.10 (rabbit_channel:coalesce_and_send) sends a nack for a
    publish below every unconfirmed one with multiple=true, while a lone
    ack goes out with multiple=false; a Java ConfirmListener sees
    handleNack(2, true). Every earlier publish is acked by then, so it
    settles tag 2 alone either way."""
    q = uname("lone")
    client.rpc(1, "queue.declare", "queue.declare_ok", queue=q,
               exclusive=True,
               arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    client.rpc(1, "confirm.select", "confirm.select_ok")
    client.send(publish_frames(1, b"first", routing_key=q))
    _, m = client.recv_method()
    assert (m.name, m.delivery_tag, m.multiple) == ("basic.ack", 1, False)
    client.send(publish_frames(1, b"second", routing_key=q))
    _, m = client.recv_method()
    assert (m.name, m.delivery_tag, m.multiple) == ("basic.nack", 2, True)
