# SPDX-License-Identifier: MIT
"""Local shovels: RabbitMQ's dynamic shovel parameters
(PUT/GET/DELETE /api/parameters/shovel/{vhost}/{name}), their status
(GET /api/shovels), kept in the definitions file; messages moved inside
the broker with acks, so none is lost or duplicated."""

import threading
import time

import pika
import pytest

from helpers import SLOW

N = 10000


def shovel(api, name, value, vhost="%2F"):
    return api.put("parameters/shovel/%s/%s" % (vhost, name),
                   {"value": value})


def base(src, dest, **kw):
    v = {"src-protocol": "amqp091", "src-uri": "amqp://", "src-queue": src,
         "dest-protocol": "amqp091", "dest-uri": "amqp://",
         "dest-queue": dest}
    v.update(kw)
    return v


def qcount(api, q):
    r = api.get("queues/%%2F/%s" % q)
    return r.json["messages_ready"] if r.status == 200 else None


def wait(pred, timeout=20):
    deadline = time.monotonic() + timeout * SLOW
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def fill(conn, q, n, prefix=b""):
    ch = conn.channel()
    ch.queue_declare(q, durable=True)
    ch.confirm_delivery()
    for i in range(n):
        ch.basic_publish("", q, prefix + b"%d" % i)
    return ch


def drain(ch, q):
    """Every message of q (basic.get with ack), bodies in order."""
    out = []
    while True:
        m, _, body = ch.basic_get(q, auto_ack=True)
        if m is None:
            return out
        out.append(body)


def ready(ch, q):
    return ch.queue_declare(q, passive=True).method.message_count


def test_moves_10000_none_lost_or_duplicated(api, amqp, uniq):
    src, dst = uniq + "-src", uniq + "-dst"
    ch = fill(amqp(), src, N)
    ch.queue_declare(dst, durable=True)
    assert shovel(api, uniq, base(src, dst)).status == 201
    assert wait(lambda: ready(ch, dst) == N and ready(ch, src) == 0)
    got = drain(ch, dst)
    assert sorted(got) == sorted(b"%d" % i for i in range(N))
    assert got == [b"%d" % i for i in range(N)]  # one source: in order
    st = [s for s in api.ok("GET", "shovels") if s["name"] == uniq][0]
    assert st["state"] == "running" and st["type"] == "dynamic"
    assert st["src_queue"] == src and st["dest_queue"] == dst
    assert st["messages_moved"] == N
    # a running shovel moves what arrives later
    ch.basic_publish("", src, b"late")
    assert wait(lambda: ready(ch, dst) == 1)
    assert api.delete("parameters/shovel/%%2F/%s" % uniq).status == 204
    assert api.get("parameters/shovel/%%2F/%s" % uniq).status == 404


def test_delete_mid_move_loses_nothing(api, amqp, broker, uniq):
    """The shovel is deleted while messages still stream into its source:
    every message ends up in exactly one of the two queues."""
    src, dst = uniq + "-src", uniq + "-dst"
    ch = amqp().channel()
    ch.queue_declare(src, durable=True)
    ch.queue_declare(dst, durable=True)
    assert shovel(api, uniq, base(src, dst, **{"prefetch-count": 10})
                  ).status == 201
    done = []

    def publisher():
        c = pika.BlockingConnection(pika.ConnectionParameters(
            *broker, credentials=pika.PlainCredentials("guest", "guest")))
        pch = c.channel()
        pch.confirm_delivery()
        for i in range(N):
            pch.basic_publish("", src, b"%d" % i)
        c.close()
        done.append(True)

    t = threading.Thread(target=publisher)
    t.start()
    assert wait(lambda: ready(ch, dst) > N // 5, timeout=20)
    assert api.delete("parameters/shovel/%%2F/%s" % uniq).status == 204
    mid = not done
    t.join(60 * SLOW)
    assert done
    left, moved = drain(ch, src), drain(ch, dst)
    assert mid and 0 < len(moved) < N and len(left) > 0, (len(moved), mid)
    assert sorted(left + moved) == sorted(b"%d" % i for i in range(N))
    assert len(set(left) & set(moved)) == 0
    assert [s for s in api.ok("GET", "shovels") if s["name"] == uniq] == []


def test_refusing_destination_pauses_then_delete_loses_nothing(api, amqp,
                                                                uniq):
    """A destination that refuses (x-overflow reject-publish) stops the
    move with the refused message back in the source; deleting the
    shovel then leaves every message in exactly one of the queues."""
    src, dst = uniq + "-src", uniq + "-dst"
    ch = fill(amqp(), src, 3000)
    ch.queue_declare(dst, durable=True, arguments={
        "x-max-length": 1000, "x-overflow": "reject-publish"})
    assert shovel(api, uniq, base(src, dst, **{"reconnect-delay": 30})
                  ).status == 201
    assert wait(lambda: ready(ch, dst) == 1000)
    st = api.wait_for("shovels/%2F", lambda l: any(
        s["name"] == uniq and s["blocked_status"] == "blocked" for s in l))
    assert [s["messages_moved"] for s in st if s["name"] == uniq] == [1000]
    assert ready(ch, src) == 2000
    assert api.delete("parameters/shovel/%%2F/%s" % uniq).status == 204
    left, moved = drain(ch, src), drain(ch, dst)
    assert moved == [b"%d" % i for i in range(1000)]
    assert sorted(left) == sorted(b"%d" % i for i in range(1000, 3000))


def test_src_delete_after_queue_length(api, amqp, uniq):
    src, dst = uniq + "-src", uniq + "-dst"
    ch = fill(amqp(), src, 500)
    assert shovel(api, uniq, base(src, dst, **{
        "src-delete-after": "queue-length"})).status == 201
    # moves the 500 there were, then deletes itself
    assert wait(lambda: api.get("parameters/shovel/%%2F/%s" % uniq).status
                == 404)
    assert ready(ch, dst) == 500
    ch.basic_publish("", src, b"after")
    time.sleep(0.3)
    assert ready(ch, src) == 1 and ready(ch, dst) == 500


def test_src_delete_after_number(api, amqp, uniq):
    src, dst = uniq + "-src", uniq + "-dst"
    ch = fill(amqp(), src, 300)
    assert shovel(api, uniq, base(src, dst, **{
        "src-delete-after": 120})).status == 201
    assert wait(lambda: api.get("parameters/shovel/%%2F/%s" % uniq).status
                == 404)
    assert (ready(ch, src), ready(ch, dst)) == (180, 120)
    assert drain(ch, dst) == [b"%d" % i for i in range(120)]


@pytest.mark.parametrize("mode", ["on-publish", "no-ack"])
def test_ack_modes(api, amqp, uniq, mode):
    src, dst = uniq + "-src", uniq + "-dst"
    ch = fill(amqp(), src, 1000)
    assert shovel(api, uniq, base(src, dst, **{"ack-mode": mode})
                  ).status == 201
    assert wait(lambda: ready(ch, dst) == 1000)
    assert ready(ch, src) == 0
    api.delete("parameters/shovel/%%2F/%s" % uniq)


def test_exchange_to_exchange(api, amqp, uniq):
    ch = amqp().channel()
    sx, dx, dq = uniq + "-sx", uniq + "-dx", uniq + "-dq"
    ch.exchange_declare(sx, "topic")
    ch.exchange_declare(dx, "direct")
    ch.queue_declare(dq, exclusive=True)
    ch.queue_bind(dq, dx, routing_key="moved")
    assert shovel(api, uniq, {
        "src-uri": "amqp://", "src-exchange": sx, "src-exchange-key": "a.#",
        "dest-uri": "amqp://", "dest-exchange": dx,
        "dest-exchange-key": "moved"}).status == 201
    api.wait_for("shovels", lambda l: any(
        s["name"] == uniq and s["state"] == "running" for s in l))
    ch.basic_publish(sx, "a.b", b"yes", pika.BasicProperties(
        headers={"h": 1}, message_id="m1"))
    ch.basic_publish(sx, "b.b", b"no")
    assert wait(lambda: ready(ch, dq) == 1)
    m, props, body = ch.basic_get(dq, auto_ack=True)
    assert body == b"yes" and m.exchange == dx and m.routing_key == "moved"
    assert props.headers == {"h": 1} and props.message_id == "m1"
    st = [s for s in api.ok("GET", "shovels/%2F") if s["name"] == uniq][0]
    assert st["src_exchange"] == sx and st["src_exchange_key"] == "a.#"
    # the shovel's own queue goes with it
    assert api.delete("parameters/shovel/%%2F/%s" % uniq).status == 204
    assert not [q for q in api.ok("GET", "queues")
                if q["name"].startswith("amq.gen-shovel")]


def test_declares_missing_queues(api, amqp, uniq):
    src, dst = uniq + "-src", uniq + "-dst"
    assert shovel(api, uniq, base(src, dst)).status == 201
    assert api.wait_for("queues/%%2F/%s" % src, lambda q: q["durable"])
    assert api.ok("GET", "queues/%%2F/%s" % dst)["durable"] is True
    ch = amqp().channel()
    ch.basic_publish("", src, b"x")
    assert wait(lambda: ready(ch, dst) == 1)
    api.delete("parameters/shovel/%%2F/%s" % uniq)


def test_source_queue_deleted_restarts(api, amqp, uniq):
    src, dst = uniq + "-src", uniq + "-dst"
    ch = amqp().channel()
    assert shovel(api, uniq, base(src, dst, **{"reconnect-delay": 0.2})
                  ).status == 201
    api.wait_for("queues/%%2F/%s" % src, lambda q: q["consumers"] == 1)
    ch.queue_delete(src)
    # terminated, then back, re-declaring its source
    api.wait_for("queues/%%2F/%s" % src, lambda q: q["consumers"] == 1)
    ch.basic_publish("", src, b"again")
    assert wait(lambda: ready(ch, dst) == 1)
    api.delete("parameters/shovel/%%2F/%s" % uniq)


def test_get_and_replace(api, uniq):
    v = base(uniq + "-a", uniq + "-b")
    assert shovel(api, uniq, v).status == 201
    got = api.ok("GET", "parameters/shovel/%%2F/%s" % uniq)
    assert got == {"value": v, "vhost": "/", "component": "shovel",
                   "name": uniq}
    assert uniq in [p["name"] for p in api.ok("GET", "parameters/shovel")]
    assert uniq in [p["name"] for p in api.ok("GET",
                                              "parameters/shovel/%2F")]
    assert shovel(api, uniq, dict(v, **{"prefetch-count": 5})).status == 204
    assert api.ok("GET", "parameters/shovel/%%2F/%s" % uniq)["value"][
        "prefetch-count"] == 5
    assert api.delete("parameters/shovel/%%2F/%s" % uniq).status == 204
    assert api.delete("parameters/shovel/%%2F/%s" % uniq).status == 404


REFUSED = [
    ({"src-uri": "amqp://", "dest-uri": "amqp://", "dest-queue": "d"},
     "Must specify 'src-exchange' or 'src-queue'"),
    ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "s",
      "src-exchange": "x"}, "Cannot specify 'src-exchange' and 'src-queue'"),
    ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "s",
      "dest-queue": "d", "dest-exchange": "x"},
     "Cannot specify 'dest-exchange' and 'dest-queue'"),
    ({"dest-uri": "amqp://", "src-queue": "s"}, 'Key <<"src-uri">> not found'),
    ({"src-uri": "amqp://other-host:5672", "dest-uri": "amqp://",
      "src-queue": "s"}, "remote URIs are not supported"),
    ({"src-uri": "amqps://h", "dest-uri": "amqp://", "src-queue": "s"},
     "local only"),
    ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "s",
      "ack-mode": "sometimes"}, "ack-mode should be one of"),
    ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "s",
      "src-delete-after": "later"},
     'should be number, "never" or "queue-length"'),
    ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "s",
      "ack-mode": "no-ack", "src-delete-after": 5},
     "Cannot specify 'no-ack' and numerical 'delete-after'"),
    ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "s",
      "src-protocol": "amqp10"}, "amqp091"),
    ({"src-uri": "amqp://", "dest-uri": "amqp://", "src-queue": "s",
      "bogus": 1}, "Unrecognised terms"),
]


@pytest.mark.parametrize("value,text", REFUSED,
                         ids=[str(i) for i in range(len(REFUSED))])
def test_refused_definitions(api, uniq, value, text):
    r = shovel(api, uniq, value)
    assert r.status == 400, r
    assert r.json["error"] == "bad_request"
    assert r.json["reason"].startswith("Validation failed")
    assert text in r.json["reason"], r.json["reason"]
    assert api.get("parameters/shovel/%%2F/%s" % uniq).status == 404


def test_put_without_value_is_400(api, uniq):
    assert api.put("parameters/shovel/%%2F/%s" % uniq, {"x": 1}).status == 400
    assert api.put("parameters/nope/%%2F/%s" % uniq,
                   {"value": {}}).status == 400


@pytest.mark.warren_only
def test_shovels_survive_restart(fresh, tmp_path):
    defs = tmp_path / "defs.json"
    srv, api = fresh("definitions.file = %s" % defs)
    v = base("persist-src", "persist-dst")
    assert shovel(api, "keep", v).status == 201
    assert '"component": "shovel"' in defs.read_text()
    exported = api.ok("GET", "definitions")["parameters"]
    assert {"value": v, "vhost": "/", "component": "shovel",
            "name": "keep"} in exported
    srv.terminate()
    srv, api = fresh("definitions.file = %s" % defs)
    assert api.ok("GET", "parameters/shovel/%2F/keep")["value"] == v
    api.wait_for("shovels", lambda l: [s["state"] for s in l] == ["running"])
    # running again: it moves what is published now
    c = pika.BlockingConnection(pika.ConnectionParameters(
        *srv.address, credentials=pika.PlainCredentials("guest", "guest")))
    ch = c.channel()
    ch.basic_publish("", "persist-src", b"x")
    assert wait(lambda: ready(ch, "persist-dst") == 1)
    c.close()
    assert api.delete("parameters/shovel/%2F/keep").status == 204
    srv.terminate()
    srv, api = fresh("definitions.file = %s" % defs)
    assert api.get("parameters/shovel/%2F/keep").status == 404


def test_definitions_import(api, uniq):
    v = base(uniq + "-a", uniq + "-b")
    defs = {"parameters": [{"value": v, "vhost": "/", "component": "shovel",
                            "name": uniq}]}
    assert api.post("definitions", defs).status in (200, 204)
    assert api.ok("GET", "parameters/shovel/%%2F/%s" % uniq)["value"] == v
    bad = {"parameters": [{"value": {"src-uri": "amqp://"}, "vhost": "/",
                           "component": "shovel", "name": uniq + "x"}]}
    assert api.post("definitions", bad).status == 400
    assert api.get("parameters/shovel/%%2F/%sx" % uniq).status == 404
    api.delete("parameters/shovel/%%2F/%s" % uniq)


# ---- warrenctl ----------------------------------------------------------------

from test_warrenctl import ctl  # noqa: E402,F401  (the fixture)


@pytest.mark.warren_only
def test_warrenctl_shovel_commands(ctl, api, amqp, uniq):
    import json
    for cmd in ("set_parameter", "clear_parameter", "list_parameters",
                "shovel_status"):
        assert ("warrenctl " + cmd) in ctl("help", cmd, url=False
                                           ).stdout.decode()
    src, dst = uniq + "-src", uniq + "-dst"
    ch = fill(amqp(), src, 50)
    ctl("set_parameter", "shovel", uniq, json.dumps(base(src, dst)))
    assert wait(lambda: ready(ch, dst) == 50)
    rows = json.loads(ctl("-f", "json", "list_parameters").stdout)
    assert [(r["component"], r["value"]) for r in rows
            if r["name"] == uniq] == [("shovel", base(src, dst))]
    rows = json.loads(ctl("-f", "json", "shovel_status").stdout)
    mine = [r for r in rows if r["name"] == uniq]
    assert mine and mine[0]["state"] == "running"
    assert mine[0]["src_queue"] == src and mine[0]["messages_moved"] == 50
    assert uniq in ctl("shovel_status").stdout.decode()
    # refusals: the broker's reason, and only the shovel component
    p = ctl("set_parameter", "shovel", uniq + "x", '{"src-uri": "amqp://"}',
            expect=None)
    assert p.returncode != 0 and b"not found" in p.stderr
    p = ctl("set_parameter", "federation-upstream", "u", "{}", expect=None)
    assert p.returncode == 2
    ctl("clear_parameter", "shovel", uniq)
    assert api.get("parameters/shovel/%%2F/%s" % uniq).status == 404
    p = ctl("clear_parameter", "shovel", uniq, expect=None)
    assert p.returncode == 5
