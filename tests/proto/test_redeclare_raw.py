# SPDX-License-Identifier: MIT
"""406 reply texts on exchange.declare and queue.declare, word for word as
RabbitMQ 3.10 writes them (rabbit_misc:assert_args_equivalence,
rabbit_amqqueue:check_max_priority_arg): clients show them to users, the
Java client inside its IOException."""

import uuid

import pytest

from frames import RawClient


@pytest.fixture
def client(broker):
    c = RawClient(*broker)
    c.handshake()
    c.open_channel(1)
    yield c
    c.close()


def close_text(c, name, **args):
    """Send `name` on channel 1, expect channel.close 406; its text."""
    c.send_method(1, name, **args)
    m = c.expect_channel_close(1)
    assert m.reply_code == 406
    c.open_channel(1)
    return m.reply_text


@pytest.mark.parametrize("first,second,why", [
    ({"alternate-exchange": "a"}, {"alternate-exchange": "b"},
     "received 'b' but current is 'a'"),
    ({"alternate-exchange": "a"}, {},
     "received none but current is the value 'a' of type 'longstr'"),
    ({}, {"alternate-exchange": "b"},
     "received the value 'b' of type 'longstr' but current is none"),
])
def test_exchange_alternate_mismatch_text(client, first, second, why):
    x = "proto-ae-%s" % uuid.uuid4().hex[:8]
    client.rpc(1, "exchange.declare", "exchange.declare_ok", exchange=x,
               type="fanout", auto_delete=True, arguments=first)
    assert close_text(client, "exchange.declare", exchange=x, type="fanout",
                      auto_delete=True, arguments=second) == (
        "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for "
        "exchange '%s' in vhost '/': %s" % (x, why))
    client.rpc(1, "exchange.delete", "exchange.delete_ok", exchange=x)


@pytest.mark.parametrize("value,why", [
    (256, "{max_value_exceeded,256}"),
    (-1, "{value_negative,-1}"),
    ("10", '"expected integer, got longstr"'),
])
def test_max_priority_invalid_text(client, value, why):
    q = "proto-prio-%s" % uuid.uuid4().hex[:8]
    assert close_text(client, "queue.declare", queue=q, exclusive=True,
                      arguments={"x-max-priority": value}) == (
        "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '%s' "
        "in vhost '/': %s" % (q, why))
