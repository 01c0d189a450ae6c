# SPDX-License-Identifier: MIT
"""A stream queue in the management API (GET /api/queues and
/api/queues/VHOST/NAME): RabbitMQ 3.10's fields for a stream (type
"stream", messages and messages_ready what the log holds,
messages_unacknowledged 0, members, online, readers, the consumer's
arguments as given) checked against either broker;
warren's own (first_offset, last_offset, committed_offset, disk_bytes,
segments, and each stream consumer's offset and offset_lag; RabbitMQ 3.10
has none of them over AMQP 0-9-1) only against warren."""

import pytest

import broker as broker_mod  # tests/proto/broker.py
from mgmt_client import q

WARREN = broker_mod.external_broker() is None


def test_stream_queue_fields(api, amqp, uniq):
    conn = amqp()
    ch = conn.channel()
    ch.queue_declare(uniq, durable=True, arguments={"x-queue-type": "stream"})
    path = "queues/%2F/" + q(uniq)
    s = api.ok("GET", path)
    assert s["type"] == "stream"
    assert s.get("messages", 0) == 0  # RabbitMQ: none before its stats
    if WARREN:
        assert s["first_offset"] is None and s["last_offset"] is None
        assert s["committed_offset"] is None
        assert s["segments"] == 0 and s["disk_bytes"] == 0
    ch.confirm_delivery()
    for i in range(10):
        ch.basic_publish("", uniq, b"message %d" % i)
    ch.basic_qos(prefetch_count=2)
    got = []
    ch.basic_consume(uniq, lambda c, m, p, b: got.append(m.delivery_tag),
                     arguments={"x-stream-offset": "first"},
                     consumer_tag="ctag-" + uniq)
    while len(got) < 2:
        conn.process_data_events(time_limit=0.5)
    # RabbitMQ's statistics come every few seconds
    s = api.wait_for(path, lambda o: o.get("messages") == 10 and
                     o.get("consumers") == 1 and o.get("consumer_details"),
                     timeout=30)
    assert s["type"] == "stream"
    assert (s["messages"], s["messages_ready"],
            s["messages_unacknowledged"]) == (10, 10, 0)
    assert s["members"] == [s["node"]] and s["online"] == [s["node"]]
    assert s["readers"] == {s["node"]: 1}
    c = s["consumer_details"][0]
    assert c["consumer_tag"] == "ctag-" + uniq
    assert c["queue"] == {"name": uniq, "vhost": "/"}
    assert c["prefetch_count"] == 2 and c["ack_required"] is True
    assert c["arguments"] == {"x-stream-offset": "first"}
    if WARREN:
        assert (s["first_offset"], s["last_offset"],
                s["committed_offset"]) == (0, 9, 9)
        assert s["segments"] == 1
        assert s["disk_bytes"] > 10 * len(b"message 0")
        assert (c["offset"], c["offset_lag"]) == (2, 8)
        ch.basic_ack(got[-1], multiple=True)
        while len(got) < 4:
            conn.process_data_events(time_limit=0.5)
        s = api.wait_for(path, lambda o: o["consumer_details"] and
                         o["consumer_details"][0]["offset"] == 4, timeout=10)
        assert s["consumer_details"][0]["offset_lag"] == 6
        ch.basic_publish("", uniq, b"one more")
        s = api.wait_for(path, lambda o: o["messages"] == 11, timeout=10)
        assert s["last_offset"] == 10
        assert s["consumer_details"][0]["offset_lag"] == 7
    # the list shows the same type and counts
    row = [r for r in api.ok("GET", "queues/%2F") if r["name"] == uniq]
    assert len(row) == 1 and row[0]["type"] == "stream"
    assert row[0]["messages"] == s["messages"]
    if WARREN:
        assert row[0]["last_offset"] == s["last_offset"]
        assert row[0]["disk_bytes"] == s["disk_bytes"]
    # sorting by type puts it among the streams
    page = api.ok("GET", "queues/%2F?page=1&page_size=500&sort=type"
                  "&sort_reverse=true&name=" + q(uniq) + "&use_regex=false")
    assert [r["type"] for r in page["items"]] == ["stream"]
    ch.queue_delete(uniq)


@pytest.mark.warren_only
def test_classic_queue_has_no_stream_fields(api, amqp, uniq):
    ch = amqp().channel()
    ch.queue_declare(uniq)
    s = api.ok("GET", "queues/%2F/" + q(uniq))
    assert s["type"] == "classic"
    for k in ("first_offset", "last_offset", "committed_offset",
              "disk_bytes", "segments", "members", "readers"):
        assert k not in s
    ch.queue_delete(uniq)


def test_vhost_totals_count_a_stream(api, amqp, uniq):
    """A vhost's (and the overview's) message totals count what its
    streams hold, ready, none unacknowledged, as RabbitMQ's do."""
    vh = "vh-" + uniq
    api.ok("PUT", "vhosts/" + q(vh))
    api.ok("PUT", "permissions/%s/guest" % q(vh),
           {"configure": ".*", "write": ".*", "read": ".*"})
    try:
        conn = amqp(vhost=vh)
        ch = conn.channel()
        ch.queue_declare(uniq, durable=True,
                         arguments={"x-queue-type": "stream"})
        ch.confirm_delivery()
        for i in range(3):
            ch.basic_publish("", uniq, b"x")
        ch.basic_qos(prefetch_count=10)
        got = []
        ch.basic_consume(uniq, lambda c, m, p, b: got.append(m),
                         arguments={"x-stream-offset": "first"})
        while len(got) < 3:
            conn.process_data_events(time_limit=0.5)
        v = api.wait_for("vhosts/" + q(vh),
                         lambda o: o.get("messages") == 3, timeout=30)
        assert (v["messages_ready"], v["messages_unacknowledged"]) == (3, 0)
        conn.close()
    finally:
        api.delete("vhosts/" + q(vh))
