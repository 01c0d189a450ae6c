# SPDX-License-Identifier: MIT
"""POST /api/exchanges/{vhost}/{name}/publish and
POST /api/queues/{vhost}/{name}/get: routing exactly as basic.publish,
properties and headers both ways, payload encodings, ack modes."""

import base64

import pika
import pytest

from mgmt_client import Api, q


def publish(api, exchange, rkey, payload, props=None, enc="string"):
    return api.post("exchanges/%2F/" + q(exchange) + "/publish",
                    {"routing_key": rkey, "payload": payload,
                     "payload_encoding": enc, "properties": props or {}})


def get(api, queue, count=1, ackmode="ack_requeue_false", encoding="auto",
        **kw):
    body = {"count": count, "ackmode": ackmode, "encoding": encoding}
    body.update(kw)
    return api.post("queues/%2F/" + q(queue) + "/get", body)


def test_publish_default_exchange_and_get(api, uniq):
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    r = publish(api, "amq.default", uniq, "hello")
    assert r.status == 200 and r.json == {"routed": True}
    r = publish(api, "amq.default", uniq + "-nobody", "lost")
    assert r.json == {"routed": False}
    msgs = get(api, uniq).json
    assert len(msgs) == 1
    m = msgs[0]
    assert m["payload"] == "hello"
    assert m["payload_encoding"] == "string"
    assert m["payload_bytes"] == 5
    assert m["exchange"] == "" and m["routing_key"] == uniq
    assert m["redelivered"] is False
    assert m["message_count"] == 0
    assert get(api, uniq).json == []


@pytest.mark.warren_only  # RabbitMQ sends integers as 'l', which pika misreads
def test_publish_properties_reach_amqp_consumer(api, amqp, uniq):
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    props = {"content_type": "text/plain", "content_encoding": "utf-8",
             "delivery_mode": 2, "priority": 3, "correlation_id": "c1",
             "reply_to": "r1", "expiration": "60000", "message_id": "m1",
             "timestamp": 1700000000, "type": "t1", "user_id": "guest",
             "app_id": "a1",
             "headers": {"s": "str", "i": -5, "big": 2 ** 40, "b": True,
                         "l": [1, "two", {"x": 3}],
                         "t": {"nested": {"deep": 1}}}}
    r = publish(api, "amq.default", uniq, "body", props)
    assert r.json == {"routed": True}
    ch = amqp().channel()
    method, p, body = ch.basic_get(uniq, auto_ack=True)
    assert body == b"body"
    assert p.content_type == "text/plain"
    assert p.content_encoding == "utf-8"
    assert p.delivery_mode == 2 and p.priority == 3
    assert (p.correlation_id, p.reply_to, p.expiration, p.message_id) == (
        "c1", "r1", "60000", "m1")
    assert p.timestamp == 1700000000
    assert (p.type, p.user_id, p.app_id) == ("t1", "guest", "a1")
    h = p.headers
    assert h["s"] in ("str", b"str")
    assert h["i"] == -5 and h["b"] is True
    assert h["l"][0] == 1 and h["l"][2]["x"] == 3
    assert h["t"]["nested"]["deep"] == 1


@pytest.mark.warren_only
def test_header_values_round_trip(api, uniq):
    """Every JSON type survives API publish -> table -> API get (RabbitMQ
    refuses null header values)."""
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    headers = {"s": "str", "i": -5, "big": -2 ** 40, "f": 1.5, "b": False,
               "n": None, "l": [1, "two", {"x": 3}, [], None],
               "t": {"nested": {"deep": 1}}, "u": "ünï"}
    assert publish(api, "amq.default", uniq, "x",
                   {"headers": headers}).json["routed"]
    m = get(api, uniq).json[0]
    assert m["properties"]["headers"] == headers


def test_get_shows_amqp_properties(api, amqp, uniq):
    ch = amqp().channel()
    ch.queue_declare(uniq)
    ch.basic_publish("", uniq, b"x", pika.BasicProperties(
        content_type="application/json", delivery_mode=2,
        headers={"k": "v", "n": 7, "arr": [1, 2]}, priority=1))
    api.wait_for("queues/%2F/" + q(uniq), lambda o: o.get("messages") == 1,
                 timeout=12)
    m = get(api, uniq, ackmode="ack_requeue_true").json[0]
    p = m["properties"]
    assert p["content_type"] == "application/json"
    assert p["delivery_mode"] == 2
    assert p["priority"] == 1
    assert p["headers"] == {"k": "v", "n": 7, "arr": [1, 2]}


def test_publish_routes_like_basic_publish(api, amqp, uniq):
    """Topic, headers and exchange-to-exchange routing through the API."""
    ch = amqp().channel()
    ch.exchange_declare(uniq + "-t", "topic")
    ch.exchange_declare(uniq + "-h", "headers")
    ch.exchange_declare(uniq + "-f", "fanout")
    for n in ("a", "b", "c"):
        ch.queue_declare(uniq + n)
    ch.queue_bind(uniq + "a", uniq + "-t", "*.orange.*")
    ch.queue_bind(uniq + "b", uniq + "-t", "lazy.#")
    ch.queue_bind(uniq + "c", uniq + "-h", arguments={"x-match": "all",
                                                       "color": "red"})
    ch.exchange_bind(uniq + "-t", uniq + "-f")
    assert publish(api, uniq + "-t", "quick.orange.rabbit", "1").json["routed"]
    assert publish(api, uniq + "-t", "lazy.orange.elephant", "2").json["routed"]
    assert not publish(api, uniq + "-t", "quick.brown.fox", "3").json["routed"]
    assert publish(api, uniq + "-h", "", "4",
                   {"headers": {"color": "red"}}).json["routed"]
    assert not publish(api, uniq + "-h", "", "5",
                       {"headers": {"color": "blue"}}).json["routed"]
    assert publish(api, uniq + "-f", "lazy.x", "6").json["routed"]
    for n, count in (("a", 2), ("b", 2), ("c", 1)):
        api.wait_for("queues/%2F/" + q(uniq + n),
                     lambda o: o.get("messages") == count, timeout=12)
    x = api.wait_for("exchanges/%2F/" + q(uniq + "-t"),
                     lambda o: "message_stats" in o, timeout=12)
    # publish_in counts what publishers sent to it, not what arrived
    # through an exchange-to-exchange binding.
    assert x["message_stats"]["publish_in"] == 3


def test_base64_payloads(api, uniq):
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    raw = bytes(range(256))
    r = publish(api, "amq.default", uniq, base64.b64encode(raw).decode(),
                enc="base64")
    assert r.json == {"routed": True}
    publish(api, "amq.default", uniq, "plain text")
    msgs = get(api, uniq, count=2, ackmode="ack_requeue_true").json
    assert msgs[0]["payload_encoding"] == "base64"
    assert base64.b64decode(msgs[0]["payload"]) == raw
    assert msgs[1]["payload_encoding"] == "string"
    msgs = get(api, uniq, count=2, encoding="base64").json
    assert [m["payload_encoding"] for m in msgs] == ["base64", "base64"]
    assert base64.b64decode(msgs[1]["payload"]) == b"plain text"


def test_get_ackmodes(api, uniq):
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    for i in range(3):
        publish(api, "amq.default", uniq, "m%d" % i)
    # requeue: the same messages come back, marked redelivered
    msgs = get(api, uniq, count=2, ackmode="ack_requeue_true").json
    assert [m["payload"] for m in msgs] == ["m0", "m1"]
    assert [m["message_count"] for m in msgs] == [2, 1]
    msgs = get(api, uniq, count=5, ackmode="reject_requeue_true").json
    assert [m["payload"] for m in msgs] == ["m0", "m1", "m2"]
    assert [m["redelivered"] for m in msgs] == [True, True, False]
    api.wait_for("queues/%2F/" + q(uniq), lambda o: o.get("messages") == 3,
                 timeout=12)
    # without requeue: gone
    msgs = get(api, uniq, count=1, ackmode="reject_requeue_false").json
    assert msgs[0]["payload"] == "m0"
    msgs = get(api, uniq, count=10, ackmode="ack_requeue_false").json
    assert [m["payload"] for m in msgs] == ["m1", "m2"]
    api.wait_for("queues/%2F/" + q(uniq), lambda o: o.get("messages") == 0,
                 timeout=12)


@pytest.mark.warren_only
def test_redeliver_counts_requeues(api, uniq):
    """warren's redeliver counter counts messages put back into the queue
    (RabbitMQ counts deliveries of redelivered messages instead)."""
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    publish(api, "amq.default", uniq, "m")
    get(api, uniq, count=1, ackmode="ack_requeue_true")
    get(api, uniq, count=1, ackmode="reject_requeue_true")
    o = api.ok("GET", "queues/%2F/" + q(uniq))
    assert o["message_stats"]["redeliver"] == 2
    assert o["message_stats"]["deliver_get"] == 2


def test_get_truncate(api, uniq):
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    publish(api, "amq.default", uniq, "0123456789")
    m = get(api, uniq, truncate=4).json[0]
    assert m["payload"] == "0123"
    assert m["payload_bytes"] == 10


def test_get_requeue_reaches_consumer(api, amqp, uniq):
    """A requeued message is offered to consumers again."""
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    publish(api, "amq.default", uniq, "again")
    assert len(get(api, uniq, ackmode="ack_requeue_true").json) == 1
    ch = amqp().channel()
    got = []
    ch.basic_consume(uniq, lambda c, m, p, b: got.append((m.redelivered, b)),
                     auto_ack=True)
    ch.connection.process_data_events(time_limit=2)
    assert got == [(True, b"again")]


def test_publish_errors(api, uniq):
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    path = "exchanges/%2F/amq.default/publish"
    ok = {"routing_key": uniq, "payload": "x", "payload_encoding": "string",
          "properties": {}}

    def bad(change, status=400):
        body = dict(ok)
        body.update(change)
        body = {k: v for k, v in body.items() if v is not None}
        r = api.post(path, body)
        assert r.status == status, (change, r)
        return r

    bad({"payload": None})
    bad({"routing_key": None})
    bad({"payload_encoding": "rot13"})
    bad({"payload_encoding": "base64", "payload": "!!!"})
    bad({"properties": {"delivery_mode": "x"}})
    bad({"properties": {"headers": "x"}})
    bad({"properties": 5})
    r = api.post("exchanges/%2F/" + q(uniq + "-none") + "/publish", ok)
    assert r.status in (400, 404)
    assert api.post("exchanges/nosuch/amq.default/publish", ok).status == 404


@pytest.mark.warren_only
def test_publish_checks_amqp_limits(api, uniq):
    """What AMQP cannot carry is refused (RabbitMQ 3.10 takes it and
    truncates)."""
    path = "exchanges/%2F/amq.default/publish"
    for change in ({"properties": {"priority": 300}},
                   {"properties": {"nosuch": 1}},
                   {"properties": {"content_type": "c" * 256}},
                   {"routing_key": "k" * 256}):
        body = {"routing_key": uniq, "payload": "x",
                "payload_encoding": "string", "properties": {}}
        body.update(change)
        assert api.post(path, body).status == 400, change


def test_publish_internal_exchange_refused(api, uniq):
    api.ok("PUT", "exchanges/%2F/" + q(uniq), {"type": "fanout",
                                                 "internal": True})
    r = publish(api, uniq, "", "x")
    assert r.status == 400
    assert "ACCESS_REFUSED - cannot publish to internal exchange" in \
        r.json["reason"]


@pytest.mark.warren_only
def test_publish_size_limit(fresh, uniq):
    srv, api = fresh("max_message_size = 1000")
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    assert publish(api, "amq.default", uniq, "x" * 1000).json["routed"]
    r = publish(api, "amq.default", uniq, "x" * 1001)
    assert r.status == 400 and "max_message_size" in r.json["reason"]
    r = publish(api, "amq.default", uniq,
                base64.b64encode(b"x" * 1001).decode(), enc="base64")
    assert r.status == 400


def test_get_errors(api, uniq):
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    path = "queues/%2F/" + q(uniq) + "/get"
    for body in ({"count": "x", "ackmode": "ack_requeue_true",
                  "encoding": "auto"},
                 {"count": 1, "ackmode": "keep", "encoding": "auto"},
                 {"count": 1, "ackmode": "ack_requeue_true",
                  "encoding": "hex"}):
        assert api.post(path, body).status == 400, body
    assert api.post("queues/%2F/" + q(uniq + "-none") + "/get",
                    {"count": 1, "ackmode": "ack_requeue_true",
                     "encoding": "auto"}).status == 404


@pytest.mark.warren_only
def test_stats_count_unroutable(fresh, uniq):
    srv, api = fresh()
    conn = pika.BlockingConnection(pika.ConnectionParameters(*srv.address))
    ch = conn.channel()
    ch.basic_publish("amq.direct", "nowhere", b"x", mandatory=True)
    ch.basic_publish("amq.direct", "nowhere", b"y")
    conn.process_data_events(time_limit=0.5)
    ms = api.ok("GET", "overview")["message_stats"]
    assert ms["return_unroutable"] == 1
    assert ms["drop_unroutable"] == 1
    assert ms["publish"] == 2
    conn.close()


# ---- peek (warren's addition; issue 9) ---------------------------------------

def test_peek_shows_head_without_taking(api, amqp, uniq):
    """GET .../peek returns the first N ready messages in delivery order and
    changes nothing: the same messages come out of a real consumer next,
    not marked redelivered."""
    api.ok("PUT", "queues/%2F/" + q(uniq), {"arguments": {"x-max-priority": 5}})
    for body, prio in ((b"low-1", 1), (b"high", 5), (b"low-2", 1)):
        ch = amqp().channel()
        ch.basic_publish("", uniq, body, pika.BasicProperties(priority=prio))
    path = "queues/%2F/" + q(uniq) + "/peek"
    for _ in range(2):  # twice: peeking does not consume
        got = api.ok("GET", path + "?count=2")
        assert [m["payload"] for m in got] == ["high", "low-1"]
        assert all(m["redelivered"] is False for m in got)
        assert got[0]["message_count"] == 3
    assert len(api.ok("GET", path + "?count=10")) == 3
    assert api.ok("GET", "queues/%2F/" + q(uniq))["messages_ready"] == 3
    ch = amqp().channel()
    order = []
    for _ in range(3):
        m, _p, body = ch.basic_get(uniq, auto_ack=True)
        assert m.redelivered is False
        order.append(body)
    assert order == [b"high", b"low-1", b"low-2"]
    assert api.ok("GET", path) == []


def test_peek_errors(api, uniq):
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    path = "queues/%2F/" + q(uniq) + "/peek"
    assert api.get(path + "?count=-1").status == 400
    assert api.get(path + "?count=x").status == 400
    assert api.get(path + "?encoding=hex").status == 400
    assert api.get("queues/%2F/" + q(uniq + "-none") + "/peek").status == 404
    assert api.post(path, {}).status == 405


# ---- move (warren's addition; issue 18) --------------------------------------

def move(api, queue, body):
    return api.post("queues/%2F/" + q(queue) + "/move", body)


@pytest.mark.warren_only
def test_move_takes_head_to_tail_unchanged(api, amqp, uniq):
    """POST .../move takes ready messages from the head of one queue and
    puts them, properties and all, at the tail of another; a consumer of
    the destination gets them in order, not marked redelivered."""
    src, dst = uniq + "-dlq", uniq
    for name in (src, dst):
        api.ok("PUT", "queues/%2F/" + q(name), {})
    publish(api, "amq.default", dst, "already-there")
    for i in range(3):
        publish(api, "amq.default", src, "m%d" % i,
                {"headers": {"n": i}, "content_type": "text/plain"})
    r = move(api, src, {"destination": dst, "count": 2})
    assert r.status == 200 and r.json == {"moved": 2}
    assert api.ok("GET", "queues/%2F/" + q(src))["messages_ready"] == 1
    r = move(api, src, {"destination": dst})  # no count: all of them
    assert r.json == {"moved": 1}
    assert move(api, src, {"destination": dst}).json == {"moved": 0}
    ch = amqp().channel()
    got = []
    for _ in range(4):
        m, props, body = ch.basic_get(dst, auto_ack=True)
        assert m.redelivered is False
        got.append((body, props.headers, props.content_type))
    assert got == [(b"already-there", None, None),
                   (b"m0", {"n": 0}, "text/plain"),
                   (b"m1", {"n": 1}, "text/plain"),
                   (b"m2", {"n": 2}, "text/plain")]
    assert ch.basic_get(dst, auto_ack=True) == (None, None, None)


@pytest.mark.warren_only
def test_move_to_a_consumer(api, amqp, uniq):
    """A moved message reaches a consumer of the destination at once."""
    src, dst = uniq + "-src", uniq
    for name in (src, dst):
        api.ok("PUT", "queues/%2F/" + q(name), {})
    publish(api, "amq.default", src, "wake")
    ch = amqp().channel()
    got = []
    ch.basic_consume(dst, lambda c, m, p, b: got.append(b), auto_ack=True)
    assert move(api, src, {"destination": dst}).json == {"moved": 1}
    deadline = 50
    while not got and deadline:
        ch.connection.process_data_events(time_limit=0.1)
        deadline -= 1
    assert got == [b"wake"]


@pytest.mark.warren_only
def test_move_stops_at_a_full_destination(api, uniq):
    """A destination with x-overflow reject-publish takes what fits; the
    rest stays in the source, in order."""
    src, dst = uniq + "-src", uniq
    api.ok("PUT", "queues/%2F/" + q(src), {})
    api.ok("PUT", "queues/%2F/" + q(dst),
           {"arguments": {"x-max-length": 2, "x-overflow": "reject-publish"}})
    for i in range(4):
        publish(api, "amq.default", src, "m%d" % i)
    assert move(api, src, {"destination": dst}).json == {"moved": 2}
    left = get(api, src, count=10).json
    assert [m["payload"] for m in left] == ["m2", "m3"]
    assert [m["payload"] for m in get(api, dst, count=10).json] == ["m0", "m1"]


@pytest.mark.warren_only
def test_move_errors(api, fresh, uniq):
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    r = move(api, uniq, {"destination": uniq + "-none"})
    assert r.status == 404
    assert r.json["reason"] == ("NOT_FOUND - no queue '%s-none' in vhost '/'"
                                % uniq)
    assert move(api, uniq + "-none", {"destination": uniq}).status == 404
    assert move(api, uniq, {"destination": uniq}).status == 400
    assert move(api, uniq, {}).status == 400
    assert move(api, uniq, {"destination": uniq, "count": -1}).status == 400
    assert move(api, uniq, {"destination": 5}).status == 400
    assert api.get("queues/%2F/" + q(uniq) + "/move").status == 405
    # read on the source and write on the destination, as a shovel needs
    srv, admin = fresh()
    for name in ("src", "dst", "other"):
        admin.ok("PUT", "queues/%2F/" + name, {})
    admin.ok("PUT", "users/mover", {"password": "pw", "tags": "management"})
    admin.ok("PUT", "permissions/%2F/mover",
             {"configure": "", "write": "^dst$", "read": "^src$"})
    mover = Api(*srv.mgmt_address, user="mover", password="pw")
    publish(admin, "amq.default", "src", "x")
    assert mover.post("queues/%2F/src/move",
                      {"destination": "other"}).status == 401
    assert mover.post("queues/%2F/other/move",
                      {"destination": "dst"}).status == 401
    r = mover.post("queues/%2F/src/move", {"destination": "dst"})
    assert r.status == 200 and r.json == {"moved": 1}
