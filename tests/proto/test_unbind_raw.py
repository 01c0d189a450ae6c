# SPDX-License-Identifier: MIT
"""queue.unbind / exchange.unbind and the order of bind errors, as
RabbitMQ 3.10 does them (rabbit_channel:binding_action, rabbit_binding):
the default exchange is refused (403) before anything is looked up, a bind
reports a missing source exchange before a missing destination, and
unbinding what is not bound is unbind-ok even when the queue or an
exchange does not exist or the queue is another connection's (405 only
when the binding is there). AMQP 0-9-1 itself says 404 for a missing
queue; clients rely on RabbitMQ's idempotent unbind: aio-pika's RPC.close
unbinds its auto-delete reply queue after cancelling its consumer has
deleted it."""

import uuid

import pytest

from frames import RawClient, publish_frames


def uname(tag):
    return "proto-%s-%s" % (tag, uuid.uuid4().hex[:8])


@pytest.fixture
def client(broker):
    c = RawClient(*broker)
    c.handshake()
    c.open_channel(1)
    yield c
    c.close()


def close_code(c, name, **args):
    """Send method `name` on channel 1, expect channel.close; return
    (reply_code, reply_text) and reopen channel 1."""
    c.send_method(1, name, **args)
    m = c.expect_channel_close(1)
    c.open_channel(1)
    return m.reply_code, m.reply_text


@pytest.mark.parametrize("queue,exchange", [
    ("missing", "existing"), ("existing", "missing"), ("missing", "missing")])
def test_queue_unbind_missing_end_is_unbind_ok(client, queue, exchange):
    """RabbitMQ rabbit_binding:remove: no such binding -> queue.unbind-ok,
    whichever end is missing."""
    x, q = uname("x"), uname("q")
    client.rpc(1, "exchange.declare", "exchange.declare_ok", exchange=x,
               type="direct", auto_delete=False)
    client.rpc(1, "queue.declare", "queue.declare_ok", queue=q, exclusive=True)
    names = {"existing": (q, x), "missing": (uname("nq"), uname("nx"))}
    client.rpc(1, "queue.unbind", "queue.unbind_ok", queue=names[queue][0],
               exchange=names[exchange][1], routing_key="k")
    # the channel is still open and the entities untouched
    client.rpc(1, "exchange.delete", "exchange.delete_ok", exchange=x)


@pytest.mark.parametrize("missing", ["destination", "source"])
def test_exchange_unbind_missing_end_is_unbind_ok(client, missing):
    x = uname("x")
    client.rpc(1, "exchange.declare", "exchange.declare_ok", exchange=x,
               type="fanout")
    ends = {"destination": x, "source": x, missing: uname("nx")}
    client.rpc(1, "exchange.unbind", "exchange.unbind_ok", **ends,
               routing_key="")
    client.rpc(1, "exchange.delete", "exchange.delete_ok", exchange=x)


def test_unbind_after_auto_delete_queue_went(client):
    """The aio-pika RPC.close sequence: consume an auto-delete queue bound
    to a headers exchange, cancel (the queue is deleted), then unbind."""
    q = client.rpc(1, "queue.declare", "queue.declare_ok", queue="",
                   auto_delete=True).queue
    args = {"x-match": "any", "From": q}
    client.rpc(1, "queue.bind", "queue.bind_ok", queue=q,
               exchange="amq.headers", arguments=args)
    tag = client.rpc(1, "basic.consume", "basic.consume_ok", queue=q,
                     no_ack=True).consumer_tag
    client.rpc(1, "basic.cancel", "basic.cancel_ok", consumer_tag=tag)
    client.rpc(1, "queue.unbind", "queue.unbind_ok", queue=q,
               exchange="amq.headers", arguments=args)
    assert close_code(client, "queue.declare", queue=q, passive=True)[0] == 404


def test_unbind_existing_binding_removes_it(client):
    q = client.rpc(1, "queue.declare", "queue.declare_ok", queue="",
                   exclusive=True).queue
    client.rpc(1, "queue.bind", "queue.bind_ok", queue=q,
               exchange="amq.direct", routing_key="k")
    client.rpc(1, "queue.unbind", "queue.unbind_ok", queue=q,
               exchange="amq.direct", routing_key="k")
    client.send(publish_frames(1, b"m", exchange="amq.direct",
                               routing_key="k", mandatory=True))
    ret = client.expect("basic.return", 1)
    assert ret.reply_code == 312


def test_default_exchange_refused_before_lookup(client):
    """rabbit_channel:binding_action checks the default exchange (403)
    before looking either end up: 403, not 404, for a missing queue."""
    for name in "queue.bind", "queue.unbind":
        code, text = close_code(client, name, queue=uname("nq"), exchange="",
                                routing_key="k")
        assert code == 403, (name, text)
    code, _ = close_code(client, "exchange.unbind", destination="",
                         source=uname("nx"), routing_key="k")
    assert code == 403


def test_bind_reports_missing_source_first(client):
    """rabbit_binding:add looks the source exchange up before the queue:
    both missing -> 404 naming the exchange."""
    nx = uname("nx")
    code, text = close_code(client, "queue.bind", queue=uname("nq"),
                            exchange=nx, routing_key="k")
    assert code == 404 and "exchange '%s'" % nx in text, text


def test_unbind_other_connections_exclusive_queue(broker, client):
    """Another connection's exclusive queue: unbinding a binding it does
    not have is unbind-ok; unbinding one it has is 405 RESOURCE_LOCKED and
    leaves the binding in place."""
    with RawClient(*broker) as owner:
        owner.handshake()
        owner.open_channel(1)
        q = owner.rpc(1, "queue.declare", "queue.declare_ok", queue="",
                      exclusive=True).queue
        owner.rpc(1, "queue.bind", "queue.bind_ok", queue=q,
                  exchange="amq.direct", routing_key="bound")
        client.rpc(1, "queue.unbind", "queue.unbind_ok", queue=q,
                   exchange="amq.direct", routing_key="other")
        client.rpc(1, "queue.unbind", "queue.unbind_ok", queue=q,
                   exchange=uname("nx"), routing_key="bound")
        code, _ = close_code(client, "queue.unbind", queue=q,
                             exchange="amq.direct", routing_key="bound")
        assert code == 405
        # still bound: a publish reaches the queue
        owner.send(publish_frames(1, b"m", exchange="amq.direct",
                                  routing_key="bound"))
        ok = owner.rpc(1, "queue.declare", "queue.declare_ok", queue=q,
                       passive=True)
        assert ok.message_count == 1
        owner.close_connection()
