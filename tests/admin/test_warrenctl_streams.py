# SPDX-License-Identifier: MIT
"""Super streams and stream queues through build/warrenctl, black-box:
add_super_stream makes the layout of RabbitMQ 3.10's rabbitmq-streams
add_super_stream (a direct exchange with x-super-stream = true, streams
NAME-0..N-1 bound with their partition keys and
x-stream-partition-order), pika publishes through the exchange by routing
key into the partitions, delete_super_stream leaves nothing; bad input
gives one readable line and its exit status. list_streams and
list_stream_consumers show a stream's offsets, size on disk, segments and
each consumer's offset and lag; list_stream_tracking shows the offsets
server-side offset tracking stored for a pika consumer's tag."""

import json
import os

import pika
import pytest

from mgmt_client import q
from test_warrenctl import WARRENCTL, Ctl, one_line_error, out

pytestmark = pytest.mark.warren_only


@pytest.fixture
def ctl(mgmt):
    if not os.access(WARRENCTL, os.X_OK):
        pytest.fail("%s is not built" % WARRENCTL)
    return Ctl(mgmt)


def rows(p):
    return json.loads(out(p))


def read_partition(conn, name, n):
    """The bodies of the first n messages of stream name, from first."""
    ch = conn.channel()
    ch.basic_qos(prefetch_count=100)
    got = []

    def on(c, m, props, body):
        got.append(body)
        c.basic_ack(m.delivery_tag)

    tag = ch.basic_consume(name, on, arguments={"x-stream-offset": "first"})
    deadline = 30
    while len(got) < n and deadline > 0:
        conn.process_data_events(time_limit=0.5)
        deadline -= 0.5
    ch.basic_cancel(tag)
    conn.process_data_events(time_limit=0.2)  # nothing more is owed
    ch.close()
    return got


def test_add_super_stream_layout_routing_and_delete(ctl, api, amqp, uniq):
    p = ctl("add_super_stream", uniq, "--partitions", "3")
    assert out(p) == "Super stream %s has been created\n" % uniq
    x = api.ok("GET", "exchanges/%2F/" + q(uniq))
    assert (x["type"], x["durable"], x["auto_delete"], x["internal"]) == \
        ("direct", True, False, False)
    assert x["arguments"] == {"x-super-stream": True}
    names = ["%s-%d" % (uniq, i) for i in range(3)]
    for n in names:
        qu = api.ok("GET", "queues/%2F/" + q(n))
        assert qu["type"] == "stream"
        assert qu["durable"] is True
        assert qu["arguments"] == {"x-queue-type": "stream"}
    binds = sorted((b["routing_key"], b["destination"], b["arguments"])
                   for b in api.ok("GET", "exchanges/%%2F/%s/bindings/source"
                                   % q(uniq)))
    assert binds == [(str(i), names[i], {"x-stream-partition-order": i})
                     for i in range(3)]
    listed = [r for r in rows(ctl("-f", "json", "list_super_streams"))
              if r["name"] == uniq]
    assert listed == [{"name": uniq, "vhost": "/", "partitions": names,
                       "binding_keys": ["0", "1", "2"]}]

    # pika, through the exchange by routing key into the partitions
    conn = amqp()
    ch = conn.channel()
    ch.confirm_delivery()
    sent = {0: [], 1: [], 2: []}
    for i, key in enumerate([1, 0, 2, 1, 1, 0]):
        body = b"%s-%d" % (uniq.encode(), i)
        ch.basic_publish(uniq, str(key), body,
                         pika.BasicProperties(delivery_mode=2),
                         mandatory=True)
        sent[key].append(body)
    with pytest.raises(pika.exceptions.UnroutableError):
        ch.basic_publish(uniq, "3", b"nowhere", mandatory=True)
    for i, n in enumerate(names):
        assert read_partition(conn, n, len(sent[i])) == sent[i]
    streams = {r["name"]: r for r in rows(ctl("-f", "json", "list_streams"))}
    for i, n in enumerate(names):
        s = streams[n]
        assert s["messages"] == len(sent[i])
        assert s["first_offset"] == 0
        assert s["last_offset"] == len(sent[i]) - 1
        assert s["segments"] >= 1 and s["disk_bytes"] > 0
    conn.close()

    p = ctl("delete_super_stream", uniq)
    assert out(p) == "Super stream %s has been deleted\n" % uniq
    assert api.get("exchanges/%2F/" + q(uniq)).status == 404
    for n in names:
        assert api.get("queues/%2F/" + q(n)).status == 404
    assert not [b for b in api.ok("GET", "bindings/%2F")
                if b["source"] == uniq or b["destination"] in names]
    assert uniq not in [r["name"] for r in
                        rows(ctl("-f", "json", "list_super_streams"))]
    assert not [r for r in rows(ctl("-f", "json", "list_streams"))
                if r["name"] in names]


def test_add_super_stream_routing_keys(ctl, api, amqp, uniq):
    ctl("add_super_stream", uniq, "--routing-keys", "amer,emea,apac",
        "--max-length-bytes", "20mb")
    names = [uniq + "-" + k for k in ("amer", "emea", "apac")]
    binds = sorted((b["arguments"]["x-stream-partition-order"],
                    b["routing_key"], b["destination"])
                   for b in api.ok("GET", "exchanges/%%2F/%s/bindings/source"
                                   % q(uniq)))
    assert binds == [(0, "amer", names[0]), (1, "emea", names[1]),
                     (2, "apac", names[2])]
    for n in names:
        assert api.ok("GET", "queues/%2F/" + q(n))["arguments"] == \
            {"x-queue-type": "stream", "x-max-length-bytes": 20000000}
    conn = amqp()
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish(uniq, "emea", b"to emea", mandatory=True)
    assert read_partition(conn, names[1], 1) == [b"to emea"]
    conn.close()
    ctl("delete_super_stream", uniq)
    for n in names:
        assert api.get("queues/%2F/" + q(n)).status == 404


def test_super_stream_bad_input(ctl, api, uniq):
    ctl("add_super_stream", uniq, "--partitions", "2")
    # an existing name: refused, nothing changed
    p = ctl("add_super_stream", uniq, "--partitions", "3", expect=1)
    assert one_line_error(p) == (
        "warrenctl: there is already an exchange named %s\n" % uniq)
    assert api.get("queues/%2F/" + q(uniq + "-2")).status == 404
    # a partition's name taken by a queue
    api.ok("PUT", "queues/%2F/" + q(uniq + "x-1"), {"durable": True})
    p = ctl("add_super_stream", uniq + "x", expect=1)
    assert one_line_error(p) == (
        "warrenctl: there is already a queue named %sx-1\n" % uniq)
    assert api.get("exchanges/%2F/" + q(uniq + "x")).status == 404
    for bad in (["--partitions", "0"], ["--partitions=-2"]):
        p = ctl("add_super_stream", uniq + "y", *bad, expect=2)
        assert one_line_error(p) == (
            "warrenctl: add_super_stream: The partition number must be "
            "greater than 0 (see 'warrenctl help add_super_stream')\n")
    p = ctl("add_super_stream", uniq + "y", "--partitions", "two", expect=2)
    assert "--partitions: expected a number" in one_line_error(p)
    p = ctl("add_super_stream", uniq + "y", "--partitions", "2",
            "--routing-keys", "a,b", expect=2)
    assert "not both" in one_line_error(p)
    p = ctl("add_super_stream", "amq." + uniq, expect=1)
    assert one_line_error(p) == (
        "warrenctl: amq.%s is not a correct name for a super stream\n"
        % uniq)
    assert api.get("exchanges/%2F/" + q(uniq + "y")).status == 404
    # a vhost that does not exist
    p = ctl("-V", "nope-" + uniq, "add_super_stream", uniq, expect=5)
    assert one_line_error(p) == "warrenctl: not found: vhost 'nope-%s'\n" \
        % uniq
    p = ctl("-V", "nope-" + uniq, "list_super_streams", expect=5)
    assert one_line_error(p) == "warrenctl: not found: vhost 'nope-%s'\n" \
        % uniq
    p = ctl("-V", "nope-" + uniq, "delete_super_stream", uniq, expect=5)
    one_line_error(p)
    # not a super stream: a plain direct exchange is left alone
    api.ok("PUT", "exchanges/%2F/" + q(uniq + "d"), {"type": "direct"})
    p = ctl("delete_super_stream", uniq + "d", expect=5)
    assert one_line_error(p) == (
        "warrenctl: not found: super stream '%sd' in vhost '/'\n" % uniq)
    assert api.get("exchanges/%2F/" + q(uniq + "d")).status == 200
    ctl("delete_super_stream", uniq)
    p = ctl("delete_super_stream", uniq, expect=5)
    one_line_error(p)


def test_list_streams_and_consumers(ctl, api, amqp, uniq):
    """A stream of 10 messages; a consumer from first with prefetch 2 has
    taken offsets 0 and 1 (offset 2, lag 8), then 2 and 3 once it acks
    (offset 4, lag 6); a classic queue is not listed."""
    conn = amqp()
    ch = conn.channel()
    ch.queue_declare(uniq, durable=True,
                     arguments={"x-queue-type": "stream"})
    ch.queue_declare(uniq + "-classic", durable=True)
    ch.confirm_delivery()
    for i in range(10):
        ch.basic_publish("", uniq, b"m%d" % i)
    ch.basic_qos(prefetch_count=2)
    got = []
    ch.basic_consume(uniq, lambda c, m, p_, b: got.append(m.delivery_tag),
                     arguments={"x-stream-offset": "first"},
                     consumer_tag="ctag-" + uniq)
    while len(got) < 2:
        conn.process_data_events(time_limit=0.5)

    def consumer(offset):
        for _ in range(100):
            cs = [c for c in rows(ctl("-f", "json", "list_stream_consumers"))
                  if c["queue"]["name"] == uniq]
            if cs and cs[0]["offset"] == offset:
                return cs
            conn.process_data_events(time_limit=0.1)
        return cs

    streams = [r for r in rows(ctl("-f", "json", "list_streams"))
               if r["name"].startswith(uniq)]
    assert len(streams) == 1
    s = streams[0]
    assert (s["name"], s["messages"], s["first_offset"], s["last_offset"],
            s["consumers"]) == (uniq, 10, 0, 9, 1)
    assert s["segments"] == 1 and s["disk_bytes"] > 10 * 2
    cs = consumer(2)
    assert len(cs) == 1
    assert (cs[0]["consumer_tag"], cs[0]["offset"], cs[0]["offset_lag"]) \
        == ("ctag-" + uniq, 2, 8)
    assert cs[0]["channel_details"]["name"].endswith("(1)")
    ch.basic_ack(got[-1], multiple=True)
    while len(got) < 4:
        conn.process_data_events(time_limit=0.5)
    cs = consumer(4)
    assert (cs[0]["offset"], cs[0]["offset_lag"]) == (4, 6)
    # the table: a header and one row with these columns
    table = out(ctl("list_stream_consumers")).splitlines()
    assert table[0].split() == ["stream", "consumer_tag", "channel",
                                "offset", "offset_lag"]
    row = [ln for ln in table if ln.startswith(uniq + " ")]
    assert len(row) == 1 and row[0].split()[-2:] == ["4", "6"]
    table = out(ctl("list_streams")).splitlines()
    assert table[0].split() == ["name", "messages", "first_offset",
                                "last_offset", "disk_bytes", "segments",
                                "consumers"]
    row = [ln.split() for ln in table if ln.startswith(uniq + " ")]
    assert row == [[uniq, "10", "0", "9", str(s["disk_bytes"]), "1", "1"]]
    # list_queues' type column
    types = dict(ln.split() for ln in
                 out(ctl("list_queues", "name", "type")).splitlines()[1:]
                 if ln.startswith(uniq))
    assert types == {uniq: "stream", uniq + "-classic": "classic"}
    ch.queue_delete(uniq + "-classic")
    ch.queue_delete(uniq)
    conn.close()


def test_list_stream_tracking(ctl, amqp, uniq):
    """A pika consumer with x-stream-automatic-offset-tracking acks offsets
    0..3 of 10: list_stream_tracking shows tracking_value 4 for its tag,
    before and after it goes (the next consumer with that tag starts
    there); an untracked consumer on the same stream leaves nothing; a
    classic queue and a missing one are errors."""
    conn = amqp()
    ch = conn.channel()
    ch.queue_declare(uniq, durable=True,
                     arguments={"x-queue-type": "stream"})
    ch.queue_declare(uniq + "-classic", durable=True)
    ch.confirm_delivery()
    for i in range(10):
        ch.basic_publish("", uniq, b"m%d" % i)

    def tracking(*extra):
        return rows(ctl("-f", "json", "list_stream_tracking", uniq, *extra))

    assert tracking() == []
    got = []
    ch.basic_qos(prefetch_count=10)
    tag = ch.basic_consume(
        uniq, lambda c, m, p_, b: got.append(
            (m.delivery_tag, p_.headers["x-stream-offset"])),
        consumer_tag="billing-" + uniq,
        arguments={"x-stream-automatic-offset-tracking": True,
                   "x-stream-offset": "first"})
    plain = conn.channel()
    plain.basic_qos(prefetch_count=10)
    seen = []
    plain.basic_consume(uniq, lambda c, m, p_, b: (
        seen.append(m.delivery_tag), c.basic_ack(m.delivery_tag)),
        consumer_tag="plain-" + uniq,
        arguments={"x-stream-offset": "first"})
    while len(got) < 10 or len(seen) < 10:
        conn.process_data_events(time_limit=0.5)
    assert [o for _, o in got] == list(range(10))
    ch.basic_ack([t for t, o in got if o == 3][0], multiple=True)
    ch.basic_qos(prefetch_count=10)  # a round trip: the acks are handled
    want = [{"type": "offset", "name": "billing-" + uniq,
             "tracking_value": 4}]
    assert tracking() == want
    assert tracking("--offset") == want
    assert tracking("--all") == want
    assert tracking("--writer") == []
    table = out(ctl("list_stream_tracking", uniq)).splitlines()
    assert [ln.split() for ln in table] == [
        ["type", "name", "tracking_value"], ["offset", "billing-" + uniq, "4"]]
    # the consumer gone, its offset stays
    ch.basic_cancel(tag)
    ch.close()
    plain.close()
    assert tracking() == want
    # the next consumer with the tag starts at tracking_value
    again = conn.channel()
    again.basic_qos(prefetch_count=1)
    first = []
    again.basic_consume(
        uniq, lambda c, m, p_, b: first.append(p_.headers["x-stream-offset"]),
        consumer_tag="billing-" + uniq,
        arguments={"x-stream-automatic-offset-tracking": True})
    while not first:
        conn.process_data_events(time_limit=0.5)
    assert first[0] == 4
    again.close()
    # errors: one line each
    p = ctl("list_stream_tracking", uniq + "-classic", expect=1)
    assert one_line_error(p) == (
        "warrenctl: queue '%s-classic' in vhost '/' is not a stream\n" % uniq)
    p = ctl("list_stream_tracking", uniq + "-none", expect=5)
    assert one_line_error(p) == (
        "warrenctl: not found: queue '%s-none' in vhost '/'\n" % uniq)
    p = ctl("list_stream_tracking", expect=2)
    assert "expected: list_stream_tracking STREAM" in one_line_error(p)
    p = ctl("list_stream_tracking", uniq, "--offset", "--writer", expect=2)
    one_line_error(p)
    help_page = out(ctl("help", "list_stream_tracking", url=False))
    assert help_page.startswith("NAME\n") and "tracking_value" in help_page
    ch = conn.channel()
    ch.queue_delete(uniq)
    ch.queue_delete(uniq + "-classic")


def test_super_stream_survives_kill_and_delete_removes_files(tmp_path):
    """kill -9 after confirmed publishes: the layout and every partition's
    messages come back; delete_super_stream then removes the streams'
    files."""
    import broker as broker_mod

    data = tmp_path / "data"
    started = []

    def start():
        srv = broker_mod.WarrenServer((), data_dir=str(data)).start()
        started.append(srv)
        return srv, Ctl(srv.mgmt_address)

    try:
        srv, c = start()
        c("add_super_stream", "orders", "--partitions", "2")
        conn = pika.BlockingConnection(pika.ConnectionParameters(
            host=srv.host, port=srv.port, heartbeat=0))
        ch = conn.channel()
        ch.confirm_delivery()
        for i in range(30):
            ch.basic_publish("orders", str(i % 2), b"order %d" % i,
                             pika.BasicProperties(delivery_mode=2))
        conn.close()
        srv.kill()
        srv, c = start()
        assert [r["partitions"] for r in
                rows(c("-f", "json", "list_super_streams"))] == \
            [["orders-0", "orders-1"]]
        streams = {r["name"]: (r["messages"], r["first_offset"],
                               r["last_offset"])
                   for r in rows(c("-f", "json", "list_streams"))}
        assert streams == {"orders-0": (15, 0, 14), "orders-1": (15, 0, 14)}
        conn = pika.BlockingConnection(pika.ConnectionParameters(
            host=srv.host, port=srv.port, heartbeat=0))
        assert read_partition(conn, "orders-1", 15) == \
            [b"order %d" % i for i in range(1, 30, 2)]
        conn.close()
        files = [p for p in (data / "streams").rglob("*") if p.is_file()]
        assert files
        c("delete_super_stream", "orders")
        assert rows(c("-f", "json", "list_streams")) == []
        assert [p for p in (data / "streams").rglob("*") if p.is_file()] \
            == []
    finally:
        for s in started:
            if s.alive():
                s.kill()
