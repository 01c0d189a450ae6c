# SPDX-License-Identifier: MIT
"""Exchanges (AMQP 0-9-1 class exchange, RabbitMQ exchange.bind): types,
declare rules, routing of direct/fanout/topic/headers, exchange-to-exchange
bindings, internal and auto-delete exchanges."""

import pika
import pytest

from helpers import channel_error, connection_error, get_all, wait_count


def bodies(ch, q):
    return [b for _, _, b in get_all(ch, q)]


def exclusive_queue(ch):
    return ch.queue_declare("", exclusive=True).method.queue


@pytest.mark.parametrize("xtype", ["direct", "fanout", "topic", "headers"])
def test_declare_each_type_then_passive_then_delete(ch, uniq, xtype):
    ch.exchange_declare(uniq, exchange_type=xtype)
    ch.exchange_declare(uniq, exchange_type=xtype)  # idempotent redeclare
    ch.exchange_declare(uniq, passive=True)
    ch.exchange_delete(uniq)
    with channel_error(404):
        ch.exchange_declare(uniq, passive=True)


def test_passive_declare_missing_is_404(ch, uniq):
    with channel_error(404):
        ch.exchange_declare(uniq, passive=True)


def test_redeclare_with_other_type_is_406(conn, uniq):
    ch = conn.channel()
    ch.exchange_declare(uniq, exchange_type="direct")
    with channel_error(406):
        ch.exchange_declare(uniq, exchange_type="fanout")
    ch = conn.channel()
    with channel_error(406):
        ch.exchange_declare(uniq, exchange_type="direct", auto_delete=True)
    ch = conn.channel()
    ch.exchange_declare(uniq, passive=True)  # still there, unchanged
    ch.exchange_delete(uniq)


def test_unknown_exchange_type_is_503(conn, uniq):
    """RabbitMQ: unknown exchange type -> connection.close 503 COMMAND_INVALID."""
    ch = conn.channel()
    with connection_error(503):
        ch.exchange_declare(uniq, exchange_type="no-such-type")


def test_declare_reserved_amq_prefix_is_403(ch, uniq):
    with channel_error(403):
        ch.exchange_declare("amq.foo-" + uniq, exchange_type="direct")


def test_delete_builtin_exchange_is_403(conn):
    # RabbitMQ 3.10's texts (rabbit_channel, exchange.delete)
    ch = conn.channel()
    with channel_error(403) as ei:
        ch.exchange_delete("amq.direct")
    assert ei.value.reply_text == ("ACCESS_REFUSED - deletion of system "
                                   "exchange 'amq.direct' in vhost '/' not "
                                   "allowed")
    ch = conn.channel()
    with channel_error(403) as ei:
        ch.exchange_delete("")
    assert ei.value.reply_text == ("ACCESS_REFUSED - operation not permitted "
                                   "on the default exchange")


@pytest.mark.parametrize("name,xtype", [
    ("amq.direct", "direct"), ("amq.fanout", "fanout"), ("amq.topic", "topic"),
    ("amq.headers", "headers"), ("amq.match", "headers")])
def test_builtin_exchanges_exist(ch, name, xtype):
    ch.exchange_declare(name, passive=True)
    q = exclusive_queue(ch)
    args = {"x-match": "all", "k": "v"} if xtype == "headers" else None
    ch.queue_bind(q, name, routing_key="rk", arguments=args)
    ch.basic_publish(name, "rk", b"via " + name.encode(),
                     pika.BasicProperties(headers={"k": "v"}))
    assert wait_count(ch, q, 1) == 1
    assert bodies(ch, q) == [b"via " + name.encode()]


def test_trace_exchange_exists_internal(conn):
    """RabbitMQ's firehose exchange amq.rabbitmq.trace: a durable, internal
    topic exchange in every vhost; clients may not publish to it."""
    ch = conn.channel()
    ch.exchange_declare("amq.rabbitmq.trace", "topic", passive=True)
    ch.exchange_declare("amq.rabbitmq.trace", "topic", durable=True,
                        internal=True)
    with channel_error(403) as ei:
        ch.basic_publish("amq.rabbitmq.trace", "publish.x", b"no")
        ch.queue_declare("", exclusive=True)  # a round trip to see it
    assert ei.value.reply_text == ("ACCESS_REFUSED - cannot publish to "
                                   "internal exchange 'amq.rabbitmq.trace' "
                                   "in vhost '/'")


def test_default_exchange_routes_by_queue_name(ch, uniq):
    ch.queue_declare(uniq)
    ch.basic_publish("", uniq, b"one")
    ch.basic_publish("", uniq + "-nobody", b"lost")
    ch.basic_publish("", uniq, b"two")
    assert wait_count(ch, uniq, 2) == 2
    assert bodies(ch, uniq) == [b"one", b"two"]
    ch.queue_delete(uniq)


def test_default_exchange_declare_is_403(ch):
    """RabbitMQ: any exchange.declare of "" (even passive) -> 403."""
    with channel_error(403):
        ch.exchange_declare("", passive=True)


def test_bind_to_default_exchange_is_403(ch, uniq):
    ch.queue_declare(uniq, exclusive=True)
    with channel_error(403):
        ch.queue_bind(uniq, "", routing_key="x")


def test_delete_if_unused_on_bound_exchange_is_406(conn, uniq):
    ch = conn.channel()
    ch.exchange_declare(uniq, exchange_type="fanout")
    q = exclusive_queue(ch)
    ch.queue_bind(q, uniq)
    with channel_error(406):
        ch.exchange_delete(uniq, if_unused=True)
    ch = conn.channel()
    ch.exchange_declare(uniq, passive=True)
    ch.queue_unbind(q, uniq)
    ch.exchange_delete(uniq, if_unused=True)
    with channel_error(404):
        ch.exchange_declare(uniq, passive=True)


def test_delete_missing_exchange_is_ok(ch, uniq):
    """RabbitMQ 3.x: exchange.delete of a missing exchange succeeds: the
    reply is exchange.delete-ok and the channel stays open."""
    ok = ch.exchange_delete(uniq)
    assert isinstance(ok.method, pika.spec.Exchange.DeleteOk), ok
    assert ch.is_open
    with channel_error(404):
        ch.exchange_declare(uniq, passive=True)


def test_direct_routing_exact_key(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="direct", auto_delete=True)
    qa, qb = exclusive_queue(ch), exclusive_queue(ch)
    ch.queue_bind(qa, uniq, "a")
    ch.queue_bind(qb, uniq, "b")
    ch.queue_bind(qb, uniq, "a")  # qb gets both keys
    ch.queue_bind(qb, uniq, "a")  # duplicate binding is a no-op
    for key in ["a", "b", "c", "A", "a.b", ""]:
        ch.basic_publish(uniq, key, key.encode() or b"<empty>")
    ch.basic_publish("", qb, b"marker")
    assert wait_count(ch, qb, 3) == 3
    assert bodies(ch, qa) == [b"a"]
    assert bodies(ch, qb) == [b"a", b"b", b"marker"]
    ch.exchange_delete(uniq)


def test_direct_routing_one_copy_per_queue(ch, uniq):
    """A queue bound twice with different keys still gets each message once."""
    ch.exchange_declare(uniq, exchange_type="direct", auto_delete=True)
    q = exclusive_queue(ch)
    ch.queue_bind(q, uniq, "a")
    ch.queue_bind(q, uniq, "b")
    ch.basic_publish(uniq, "a", b"1")
    ch.basic_publish(uniq, "b", b"2")
    ch.basic_publish(uniq, "c", b"3")
    assert wait_count(ch, q, 2) == 2
    assert bodies(ch, q) == [b"1", b"2"]


def test_fanout_copies_to_every_bound_queue(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="fanout", auto_delete=True)
    qs = [exclusive_queue(ch) for _ in range(5)]
    for q in qs:
        ch.queue_bind(q, uniq, routing_key="ignored-%s" % q)
    ch.basic_publish(uniq, "any-key", b"m1")
    ch.basic_publish(uniq, "", b"m2")
    for q in qs:
        assert wait_count(ch, q, 2) == 2
        assert bodies(ch, q) == [b"m1", b"m2"]


# pattern -> keys that match; every key in TOPIC_KEYS not listed must not match.
# AMQP 0-9-1 exchange "topic": words separated by '.', '*' is exactly one word,
# '#' is zero or more words; words may be empty ("a..b" has an empty middle word).
TOPIC_KEYS = ["a", "b", "a.b", "a.c", "b.a", "a.b.c", "a.x.c", "a..c", "a.b.b.c",
              "x.y.b", "a.x.y.b", "ab", "A", "", "a.", ".a", "a.b.c.d", "a..b"]
TOPIC_TABLE = {
    "a":         ["a"],
    "a.#":       ["a", "a.b", "a.c", "a.b.c", "a.x.c", "a..c", "a.b.b.c", "a.x.y.b",
                  "a.", "a.b.c.d", "a..b"],
    "#.b":       ["b", "a.b", "x.y.b", "a.x.y.b", "a..b"],
    "a.*.c":     ["a.b.c", "a.x.c", "a..c"],
    "#":         TOPIC_KEYS,
    "*":         ["a", "b", "ab", "A"],
    "*.*":       ["a.b", "a.c", "b.a", "a.", ".a"],
    "a.*":       ["a.b", "a.c", "a."],
    "*.a":       ["b.a", ".a"],
    "a.#.c":     ["a.c", "a.b.c", "a.x.c", "a..c", "a.b.b.c"],
    "#.a.#":     ["a", "a.b", "a.c", "b.a", "a.b.c", "a.x.c", "a..c", "a.b.b.c",
                  "a.x.y.b", "a.", ".a", "a.b.c.d", "a..b"],
    "*.#":       [k for k in TOPIC_KEYS if k != ""],
    "#.*":       [k for k in TOPIC_KEYS if k != ""],
    "a.#.#.b":   ["a.b", "a.x.y.b", "a..b"],
    "#.#":       TOPIC_KEYS,
    "a..c":      ["a..c"],
    "a..b":      ["a..b"],
    "*.b.*":     ["a.b.c"],
    "a.b.c":     ["a.b.c"],
    "A":         ["A"],
    "":          [""],
    "a.b.c.d.#": ["a.b.c.d"],
}


def test_topic_pattern_table(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="topic", auto_delete=True)
    queues = {}
    for pattern in TOPIC_TABLE:
        q = exclusive_queue(ch)
        ch.queue_bind(q, uniq, routing_key=pattern)
        queues[pattern] = q
    for key in TOPIC_KEYS:
        ch.basic_publish(uniq, key, key.encode())
    # a marker through "#" tells us everything before it was routed
    ch.basic_publish(uniq, "zz.end", b"zz.end")
    assert wait_count(ch, queues["#"], len(TOPIC_KEYS) + 1) == len(TOPIC_KEYS) + 1
    failures = []
    for pattern, q in queues.items():
        got = [b.decode() for b in bodies(ch, q) if b != b"zz.end"]
        want = [k for k in TOPIC_KEYS if k in TOPIC_TABLE[pattern]]
        if got != want:
            failures.append((pattern, got, want))
    assert failures == []


def test_topic_unbind_stops_routing(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="topic", auto_delete=True)
    q = exclusive_queue(ch)
    ch.queue_bind(q, uniq, "a.*")
    ch.queue_bind(q, uniq, "#.z")
    ch.basic_publish(uniq, "a.z", b"1")  # matches both bindings: one copy
    ch.queue_unbind(q, uniq, "a.*")
    ch.basic_publish(uniq, "a.b", b"2")  # no longer matches
    ch.basic_publish(uniq, "y.z", b"3")
    assert wait_count(ch, q, 2) == 2
    assert bodies(ch, q) == [b"1", b"3"]


HEADER_MSGS = [
    ("m-ab", {"a": 1, "b": "two"}),
    ("m-a", {"a": 1}),
    ("m-b", {"b": "two"}),
    ("m-a2", {"a": 2, "b": "two"}),
    ("m-abc", {"a": 1, "b": "two", "c": True}),
    ("m-none", None),
    ("m-str1", {"a": "1", "b": "two"}),
    ("m-x", {"x-tag": "t", "a": 1}),
]


@pytest.mark.parametrize("match,want", [
    ("all", ["m-ab", "m-abc"]),
    ("any", ["m-ab", "m-a", "m-b", "m-a2", "m-abc", "m-str1", "m-x"]),
])
def test_headers_exchange_x_match(ch, uniq, match, want):
    ch.exchange_declare(uniq, exchange_type="headers", auto_delete=True)
    q = exclusive_queue(ch)
    ch.queue_bind(q, uniq, arguments={"x-match": match, "a": 1, "b": "two"})
    for name, headers in HEADER_MSGS:
        ch.basic_publish(uniq, "", name.encode(), pika.BasicProperties(headers=headers))
    ch.basic_publish(uniq, "", b"end", pika.BasicProperties(headers={"a": 1, "b": "two"}))
    assert wait_count(ch, q, len(want) + 1) == len(want) + 1
    assert [b.decode() for b in bodies(ch, q)] == want + ["end"]


def test_headers_exchange_default_is_all(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="headers", auto_delete=True)
    q = exclusive_queue(ch)
    ch.queue_bind(q, uniq, arguments={"a": 1, "b": "two"})
    for name, headers in HEADER_MSGS:
        ch.basic_publish(uniq, "", name.encode(), pika.BasicProperties(headers=headers))
    assert wait_count(ch, q, 2) == 2
    assert bodies(ch, q) == [b"m-ab", b"m-abc"]


def test_headers_exchange_x_args_ignored_by_all_and_any(ch, uniq):
    """Binding keys starting with "x-" are not matched by x-match all/any."""
    ch.exchange_declare(uniq, exchange_type="headers", auto_delete=True)
    qall, qany = exclusive_queue(ch), exclusive_queue(ch)
    ch.queue_bind(qall, uniq, arguments={"x-match": "all", "a": 1, "x-tag": "t"})
    ch.queue_bind(qany, uniq, arguments={"x-match": "any", "x-tag": "t"})
    ch.basic_publish(uniq, "", b"a-only", pika.BasicProperties(headers={"a": 1}))
    ch.basic_publish(uniq, "", b"x-only", pika.BasicProperties(headers={"x-tag": "t"}))
    assert wait_count(ch, qall, 1) == 1
    assert bodies(ch, qall) == [b"a-only"]
    assert bodies(ch, qany) == []


@pytest.mark.parametrize("match,want", [
    ("all-with-x", ["both"]),
    ("any-with-x", ["both", "a-only", "x-only"]),
])
def test_headers_exchange_with_x(ch, uniq, match, want):
    """RabbitMQ 3.10: all-with-x / any-with-x also match "x-" binding keys."""
    ch.exchange_declare(uniq, exchange_type="headers", auto_delete=True)
    q = exclusive_queue(ch)
    ch.queue_bind(q, uniq, arguments={"x-match": match, "a": 1, "x-tag": "t"})
    for name, h in [("both", {"a": 1, "x-tag": "t"}), ("a-only", {"a": 1}),
                    ("x-only", {"x-tag": "t"}), ("neither", {"b": 1})]:
        ch.basic_publish(uniq, "", name.encode(), pika.BasicProperties(headers=h))
    ch.basic_publish(uniq, "", b"end", pika.BasicProperties(headers={"a": 1, "x-tag": "t"}))
    assert wait_count(ch, q, len(want) + 1) == len(want) + 1
    assert [b.decode() for b in bodies(ch, q)] == want + ["end"]


def test_headers_exchange_bad_x_match_is_406(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="headers", auto_delete=True)
    q = exclusive_queue(ch)
    with channel_error(406):
        ch.queue_bind(q, uniq, arguments={"x-match": "some", "a": 1})


def test_exchange_to_exchange_binding_and_unbind(ch, uniq):
    src, dst = uniq + "-src", uniq + "-dst"
    ch.exchange_declare(src, exchange_type="topic")
    ch.exchange_declare(dst, exchange_type="direct")
    q = exclusive_queue(ch)
    ch.queue_bind(q, dst, routing_key="k.1")
    ch.exchange_bind(destination=dst, source=src, routing_key="k.*")
    ch.basic_publish(src, "k.1", b"through")    # src -> dst -> q
    ch.basic_publish(src, "k.2", b"dst-drops")  # src -> dst, dst has no k.2
    ch.basic_publish(src, "j.1", b"src-drops")
    assert wait_count(ch, q, 1) == 1
    ch.exchange_unbind(destination=dst, source=src, routing_key="k.*")
    ch.basic_publish(src, "k.1", b"after-unbind")
    ch.basic_publish(dst, "k.1", b"direct")
    assert wait_count(ch, q, 2) == 2
    assert bodies(ch, q) == [b"through", b"direct"]
    ch.exchange_delete(src)
    ch.exchange_delete(dst)


def test_exchange_bind_missing_is_404(conn, uniq):
    ch = conn.channel()
    ch.exchange_declare(uniq, exchange_type="fanout", auto_delete=True)
    with channel_error(404):
        ch.exchange_bind(destination=uniq, source=uniq + "-missing")
    ch = conn.channel()
    with channel_error(404):
        ch.exchange_bind(destination=uniq + "-missing", source=uniq)


def test_exchange_binding_cycle_delivers_once(ch, uniq):
    """x1 -> x2 -> x1: a queue bound to both gets one copy and nothing loops."""
    x1, x2 = uniq + "-1", uniq + "-2"
    ch.exchange_declare(x1, exchange_type="fanout")
    ch.exchange_declare(x2, exchange_type="fanout")
    ch.exchange_bind(destination=x2, source=x1)
    ch.exchange_bind(destination=x1, source=x2)
    q1, q2 = exclusive_queue(ch), exclusive_queue(ch)
    ch.queue_bind(q1, x1)
    ch.queue_bind(q1, x2)
    ch.queue_bind(q2, x2)
    ch.basic_publish(x1, "", b"once-1")
    ch.basic_publish(x2, "", b"once-2")
    assert wait_count(ch, q1, 2) == 2
    assert wait_count(ch, q2, 2) == 2
    ch.basic_publish("", q1, b"marker")  # everything routed before is there
    assert bodies(ch, q1) == [b"once-1", b"once-2", b"marker"]
    assert bodies(ch, q2) == [b"once-1", b"once-2"]
    ch.exchange_delete(x1)
    ch.exchange_delete(x2)


def test_self_binding_exchange_delivers_once(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="fanout")
    ch.exchange_bind(destination=uniq, source=uniq)
    q = exclusive_queue(ch)
    ch.queue_bind(q, uniq)
    ch.basic_publish(uniq, "", b"x")
    ch.basic_publish("", q, b"marker")
    assert wait_count(ch, q, 2) == 2
    assert bodies(ch, q) == [b"x", b"marker"]
    ch.exchange_delete(uniq)


def test_internal_exchange_publish_is_403(conn, uniq):
    ch = conn.channel()
    ch.exchange_declare(uniq + "-int", exchange_type="fanout", internal=True)
    ch.exchange_declare(uniq + "-pub", exchange_type="fanout")
    ch.exchange_bind(destination=uniq + "-int", source=uniq + "-pub")
    q = exclusive_queue(ch)
    ch.queue_bind(q, uniq + "-int")
    ch.basic_publish(uniq + "-pub", "", b"routed via internal")
    assert wait_count(ch, q, 1) == 1
    bad = conn.channel()
    with channel_error(403):
        bad.basic_publish(uniq + "-int", "", b"direct to internal")
        bad.queue_declare(q, passive=True)  # sync point to receive the close
    assert bodies(ch, q) == [b"routed via internal"]
    ch.exchange_delete(uniq + "-int")
    ch.exchange_delete(uniq + "-pub")


def test_auto_delete_exchange_removed_with_last_queue_binding(conn, uniq):
    ch = conn.channel()
    ch.exchange_declare(uniq, exchange_type="direct", auto_delete=True)
    qa, qb = exclusive_queue(ch), exclusive_queue(ch)
    # not deleted before it ever had a binding
    ch.exchange_declare(uniq, passive=True)
    ch.queue_bind(qa, uniq, "a")
    ch.queue_bind(qb, uniq, "b")
    ch.queue_unbind(qa, uniq, "a")
    ch.exchange_declare(uniq, passive=True)  # one binding left
    ch.queue_unbind(qb, uniq, "b")
    with channel_error(404):
        ch.exchange_declare(uniq, passive=True)


def test_auto_delete_exchange_removed_when_bound_queue_deleted(conn, uniq):
    ch = conn.channel()
    ch.exchange_declare(uniq, exchange_type="fanout", auto_delete=True)
    ch.queue_declare(uniq)
    ch.queue_bind(uniq, uniq)
    ch.queue_delete(uniq)
    with channel_error(404):
        ch.exchange_declare(uniq, passive=True)


def test_auto_delete_exchange_removed_with_last_exchange_binding(conn, uniq):
    ch = conn.channel()
    src, dst = uniq + "-src", uniq + "-dst"
    ch.exchange_declare(src, exchange_type="fanout", auto_delete=True)
    ch.exchange_declare(dst, exchange_type="fanout")
    ch.exchange_bind(destination=dst, source=src)
    ch.exchange_unbind(destination=dst, source=src)
    with channel_error(404):
        ch.exchange_declare(src, passive=True)
    ch = conn.channel()
    ch.exchange_delete(dst)


def test_publish_to_missing_exchange_is_404(conn, uniq):
    ch = conn.channel()
    with channel_error(404):
        ch.basic_publish(uniq + "-missing", "k", b"x")
        ch.queue_declare("", exclusive=True)  # sync point
    assert conn.is_open


def test_deleted_exchange_bindings_are_gone(ch, uniq):
    ch.exchange_declare(uniq, exchange_type="fanout")
    q = exclusive_queue(ch)
    ch.queue_bind(q, uniq)
    ch.exchange_delete(uniq)
    ch.exchange_declare(uniq, exchange_type="fanout")  # same name, new exchange
    ch.basic_publish(uniq, "", b"no binding any more")
    ch.basic_publish("", q, b"marker")
    assert wait_count(ch, q, 1) == 1
    assert bodies(ch, q) == [b"marker"]
    ch.exchange_delete(uniq)
