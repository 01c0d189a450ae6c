# SPDX-License-Identifier: MIT
"""Exchanges, queues and bindings through the management API: declare
(PUT), delete, bind (POST), unbind by properties key, purge; the same
checks and error texts as AMQP (one shared implementation), mapped to
RabbitMQ's HTTP errors."""

import pika
import pika.exceptions
import pytest

from mgmt_client import q


def test_exchange_put_get_delete(api, amqp, uniq):
    path = "exchanges/%2F/" + q(uniq)
    r = api.put(path, {"type": "topic", "durable": True,
                       "arguments": {"alternate-exchange": "ae"}})
    assert r.status == 201
    x = api.ok("GET", path)
    assert (x["name"], x["type"], x["durable"], x["auto_delete"],
            x["internal"]) == (uniq, "topic", True, False, False)
    assert x["arguments"] == {"alternate-exchange": "ae"}
    # An equivalent redeclare is fine (204), through AMQP too.
    assert api.put(path, {"type": "topic", "durable": True, "arguments": {
        "alternate-exchange": "ae"}}).status == 204
    amqp().channel().exchange_declare(uniq, "topic", durable=True, arguments={
        "alternate-exchange": "ae"})
    assert api.delete(path).status == 204
    assert api.get(path).status == 404
    assert api.delete(path).status == 404


def test_exchange_defaults_and_string_booleans(api, uniq):
    """rabbitmqadmin sends booleans as strings; the type defaults to
    direct, durable and auto_delete to false."""
    path = "exchanges/%2F/" + q(uniq)
    assert api.put(path, {}).status == 201
    x = api.ok("GET", path)
    assert (x["type"], x["durable"], x["auto_delete"]) == ("direct", False, False)
    path2 = path + "2"
    assert api.put(path2, {"type": "fanout", "durable": "true",
                           "auto_delete": "false"}).status == 201
    assert api.ok("GET", path2)["durable"] is True


def test_exchange_inequivalent_is_406(api, amqp, uniq):
    path = "exchanges/%2F/" + q(uniq)
    api.ok("PUT", path, {"type": "topic"})
    r = api.put(path, {"type": "fanout"})
    assert r.status == 400
    assert r.json["error"] == "bad_request"
    assert ("inequivalent arg 'type' for exchange '%s' in vhost '/': received "
            "'fanout' but current is 'topic'" % uniq) in r.json["reason"]
    # The same text as AMQP's channel.close.
    ch = amqp().channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.exchange_declare(uniq, "fanout")
    assert ei.value.reply_code == 406
    assert ei.value.reply_text.split(" - ", 1)[1] in r.json["reason"]


@pytest.mark.warren_only
def test_error_reasons_name_the_amqp_code(api, uniq):
    path = "queues/%2F/" + q(uniq)
    api.ok("PUT", path, {"durable": False})
    r = api.put(path, {"durable": True})
    assert r.status == 400
    assert r.json["reason"] == ("PRECONDITION_FAILED - inequivalent arg "
                                "'durable' for queue '%s' in vhost '/': "
                                "received 'true' but current is 'false'"
                                % uniq)


def test_exchange_unknown_type(api, uniq):
    r = api.put("exchanges/%2F/" + q(uniq), {"type": "nope"})
    assert r.status == 400
    assert "unknown exchange type 'nope'" in r.json["reason"]


def test_reserved_and_default_exchange(api):
    for path, body in (("exchanges/%2F/amq.newone", {"type": "direct"}),
                       ("exchanges/%2F/amq.default", {"type": "direct"})):
        r = api.put(path, body)
        assert r.status == 401, path
        assert r.json["error"] == "not_authorised"
    for path in ("exchanges/%2F/amq.direct", "exchanges/%2F/amq.default"):
        assert api.delete(path).status == 401
    assert api.get("exchanges/%2F/amq.direct").status == 200


def test_exchange_delete_if_unused(api, uniq):
    api.ok("PUT", "exchanges/%2F/" + q(uniq), {"type": "fanout"})
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    api.ok("POST", "bindings/%2F/e/" + q(uniq) + "/q/" + q(uniq), {})
    r = api.delete("exchanges/%2F/" + q(uniq) + "?if-unused=true")
    assert r.status == 400
    assert "in use" in r.json["reason"]
    assert api.delete("exchanges/%2F/" + q(uniq)).status == 204
    # Deleting the source removed the binding.
    assert [b for b in api.ok("GET", "queues/%2F/" + q(uniq) + "/bindings")
            if b["source"] == uniq] == []


def test_queue_put_get_delete(api, amqp, uniq):
    path = "queues/%2F/" + q(uniq)
    r = api.put(path, {"durable": True, "arguments": {"x-max-priority": 5,
                                                      "x-custom": "v"}})
    assert r.status == 201
    o = api.ok("GET", path)
    assert (o["name"], o["durable"], o["auto_delete"], o["exclusive"]) == (
        uniq, True, False, False)
    assert o["arguments"] == {"x-max-priority": 5, "x-custom": "v"}
    # Declared over AMQP with the same arguments: equivalent.
    ch = amqp().channel()
    ch.queue_declare(uniq, durable=True, arguments={"x-max-priority": 5})
    assert api.put(path, {"durable": True,
                          "arguments": {"x-max-priority": 5}}).status == 204
    assert api.delete(path).status == 204
    assert api.get(path).status == 404
    assert api.delete(path).status == 404


def test_queue_priority_argument_works(api, amqp, uniq):
    """Arguments given as JSON reach the queue: x-max-priority makes a
    priority queue."""
    api.ok("PUT", "queues/%2F/" + q(uniq), {"arguments": {"x-max-priority": 9}})
    ch = amqp().channel()
    for p in (1, 9, 5):
        ch.basic_publish("", uniq, b"p%d" % p,
                         pika.BasicProperties(priority=p))
    got = api.ok("POST", "queues/%2F/" + q(uniq) + "/get",
                 {"count": 3, "ackmode": "ack_requeue_false",
                  "encoding": "auto"})
    assert [m["payload"] for m in got] == ["p9", "p5", "p1"]


def test_queue_bad_arguments(api, uniq):
    path = "queues/%2F/" + q(uniq)
    r = api.put(path, {"arguments": {"x-max-priority": "high"}})
    assert r.status == 400
    assert "x-max-priority" in r.json["reason"]
    r = api.put(path, {"durable": "yes"})
    assert r.status == 400
    assert api.get(path).status == 404


@pytest.mark.warren_only
def test_queue_arguments_not_an_object(api, uniq):
    # RabbitMQ 3.10 answers 500.
    r = api.put("queues/%2F/" + q(uniq), {"arguments": "nope"})
    assert r.status == 400
    assert r.json["reason"] == "arguments: expected a JSON object"


def test_queue_reserved_name(api):
    r = api.put("queues/%2F/amq.mine", {})
    assert r.status == 401
    assert r.json["error"] == "not_authorised"


def test_queue_delete_if_empty_if_unused(api, amqp, uniq):
    path = "queues/%2F/" + q(uniq)
    api.ok("PUT", path, {})
    ch = amqp().channel()
    ch.basic_publish("", uniq, b"x")
    api.wait_for(path, lambda o: o.get("messages") == 1, timeout=12)
    r = api.delete(path + "?if-empty=true")
    assert r.status == 400 and "not empty" in r.json["reason"]
    ch.basic_consume(uniq, lambda *a: None, auto_ack=True)
    api.wait_for(path, lambda o: o.get("consumers") == 1, timeout=12)
    r = api.delete(path + "?if-unused=true")
    assert r.status == 400 and "in use" in r.json["reason"]
    assert api.delete(path).status == 204


def test_exclusive_queue_is_locked(api, amqp, uniq):
    ch = amqp().channel()
    ch.queue_declare(uniq, exclusive=True)
    path = "queues/%2F/" + q(uniq)
    o = api.ok("GET", path)
    assert o["exclusive"] is True
    for method, p, body in (("PUT", path, {}),
                            ("DELETE", path, None),
                            ("DELETE", path + "/contents", None),
                            ("POST", path + "/get",
                             {"count": 1, "ackmode": "ack_requeue_true",
                              "encoding": "auto"}),
                            ("POST", "bindings/%2F/e/amq.fanout/q/" + q(uniq),
                             {})):
        r = api.request(method, p, body=body)
        assert r.status == 400, (method, p, r)
        assert "exclusive access to locked queue" in r.json["reason"]
    # Exclusive queues are not exported.
    defs = api.ok("GET", "definitions")
    assert uniq not in [x["name"] for x in defs["queues"]]


def test_purge(api, amqp, uniq):
    path = "queues/%2F/" + q(uniq)
    api.ok("PUT", path, {})
    ch = amqp().channel()
    for _ in range(4):
        ch.basic_publish("", uniq, b"x")
    api.wait_for(path, lambda o: o.get("messages") == 4, timeout=12)
    assert api.delete(path + "/contents").status == 204
    api.wait_for(path, lambda o: o.get("messages") == 0, timeout=12)
    assert api.delete("queues/%2F/" + q(uniq + "-none") + "/contents").status == 404


def test_bindings_queue(api, amqp, uniq):
    x, qn = uniq + "-x", uniq + "-q"
    api.ok("PUT", "exchanges/%2F/" + q(x), {"type": "topic"})
    api.ok("PUT", "queues/%2F/" + q(qn), {})
    base = "bindings/%2F/e/" + q(x) + "/q/" + q(qn)
    r = api.post(base, {"routing_key": "a.*", "arguments": {"k": 1}})
    assert r.status == 201
    assert r.headers["Location"].startswith(q(qn) + "/")
    r = api.post(base, {"routing_key": "b b/~%", "arguments": {}})
    assert r.status == 201
    listed = api.ok("GET", base)
    assert sorted(b["routing_key"] for b in listed) == ["a.*", "b b/~%"]
    for b in listed:
        assert (b["source"], b["destination"], b["destination_type"],
                b["vhost"]) == (x, qn, "queue", "/")
        one = api.ok("GET", base + "/" + q(b["properties_key"]))
        assert one == b
    # The binding routes: publish to the topic exchange.
    ch = amqp().channel()
    ch.basic_publish(x, "a.z", b"routed")
    api.wait_for("queues/%2F/" + q(qn), lambda o: o.get("messages") == 1, timeout=12)
    # In the vhost's and the queue's lists, with the default binding.
    qb = api.ok("GET", "queues/%2F/" + q(qn) + "/bindings")
    assert ("", qn) in [(b["source"], b["routing_key"]) for b in qb]
    assert len([b for b in qb if b["source"] == x]) == 2
    assert len([b for b in api.ok("GET", "bindings/%2F")
                if b["source"] == x]) == 2
    assert len([b for b in api.ok("GET", "bindings")
                if b["source"] == x]) == 2
    src = api.ok("GET", "exchanges/%2F/" + q(x) + "/bindings/source")
    assert len(src) == 2
    # Delete each by its properties key.
    for b in listed:
        assert api.delete(base + "/" + q(b["properties_key"])).status == 204
    assert api.ok("GET", base) == []
    assert api.delete(base + "/nosuch").status == 404


def test_bindings_exchange_to_exchange(api, amqp, uniq):
    a, b, qn = uniq + "-a", uniq + "-b", uniq + "-q"
    api.ok("PUT", "exchanges/%2F/" + q(a), {"type": "fanout"})
    api.ok("PUT", "exchanges/%2F/" + q(b), {"type": "direct"})
    api.ok("PUT", "queues/%2F/" + q(qn), {})
    assert api.post("bindings/%2F/e/" + q(a) + "/e/" + q(b),
                    {"routing_key": "k"}).status == 201
    api.ok("POST", "bindings/%2F/e/" + q(b) + "/q/" + q(qn), {"routing_key": "k"})
    dest = api.ok("GET", "exchanges/%2F/" + q(b) + "/bindings/destination")
    assert [(d["source"], d["destination_type"]) for d in dest] == [
        (a, "exchange")]
    r = api.ok("POST", "exchanges/%2F/" + q(a) + "/publish",
               {"routing_key": "k", "payload": "hi", "properties": {},
                "payload_encoding": "string"})
    assert r == {"routed": True}
    api.wait_for("queues/%2F/" + q(qn), lambda o: o.get("messages") == 1, timeout=12)
    e2e = api.ok("GET", "bindings/%2F/e/" + q(a) + "/e/" + q(b))
    assert len(e2e) == 1
    assert api.delete("bindings/%2F/e/" + q(a) + "/e/" + q(b) + "/" +
                      q(e2e[0]["properties_key"])).status == 204
    assert api.ok("GET", "bindings/%2F/e/" + q(a) + "/e/" + q(b)) == []


def test_binding_errors(api, uniq):
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    r = api.post("bindings/%2F/e/" + q(uniq + "-none") + "/q/" + q(uniq), {})
    assert r.status == 404
    assert r.json["error"] == "not_found"
    assert "no exchange" in r.json["reason"]
    r = api.post("bindings/%2F/e/amq.direct/q/" + q(uniq + "-none"), {})
    assert r.status == 404 and "no queue" in r.json["reason"]
    r = api.post("bindings/%2F/e/amq.default/q/" + q(uniq), {})
    assert r.status == 401
    r = api.post("bindings/%2F/e/amq.headers/q/" + q(uniq),
                 {"arguments": {"x-match": "neither"}})
    assert r.status == 400
    assert api.get("bindings/nosuch").status == 404


@pytest.mark.warren_only
def test_missing_ends_are_404(api, uniq):
    # RabbitMQ 3.10 lists nothing (200 []) for these.
    assert api.get("bindings/%2F/e/amq.direct/q/" + q(uniq)).status == 404
    assert api.get("queues/%2F/" + q(uniq) + "/bindings").status == 404


@pytest.mark.warren_only
def test_binding_key_checked(api, uniq):
    """AMQP's routing keys are short strings: RabbitMQ's API takes longer
    ones (and numbers) that AMQP clients could never send."""
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    r = api.post("bindings/%2F/e/amq.direct/q/" + q(uniq),
                 {"routing_key": "k" * 256})
    assert r.status == 400
    r = api.post("bindings/%2F/e/amq.direct/q/" + q(uniq), {"routing_key": 5})
    assert r.status == 400


def test_vhost_not_found(api):
    for path in ("exchanges/nosuch", "exchanges/nosuch/x", "queues/nosuch",
                 "queues/nosuch/x", "bindings/nosuch"):
        assert api.get(path).status == 404, path
    assert api.put("queues/nosuch/x", {}).status == 404
    assert api.put("exchanges/nosuch/x", {"type": "direct"}).status == 404
    assert api.delete("queues/nosuch/x").status == 404
    assert api.post("bindings/nosuch/e/a/q/b", {}).status == 404


def test_unicode_names(api, amqp, uniq):
    name = uniq + "-ünï/cødé %"
    path = "queues/%2F/" + q(name)
    assert api.put(path, {}).status == 201
    assert api.ok("GET", path)["name"] == name
    ch = amqp().channel()
    ch.queue_declare(name, passive=True)
    assert api.delete(path).status == 204


@pytest.mark.warren_only
def test_name_too_long(api):
    assert api.put("queues/%2F/" + "q" * 256, {}).status == 400
    assert api.put("exchanges/%2F/" + "x" * 256, {}).status == 400


def test_amqp_sees_api_objects(api, amqp, uniq):
    api.ok("PUT", "exchanges/%2F/" + q(uniq), {"type": "direct"})
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    api.ok("POST", "bindings/%2F/e/" + q(uniq) + "/q/" + q(uniq),
           {"routing_key": "rk"})
    ch = amqp().channel()
    ch.basic_publish(uniq, "rk", b"via amqp")
    api.wait_for("queues/%2F/" + q(uniq), lambda o: o.get("messages") == 1, timeout=12)
    _, _, body = ch.basic_get(uniq, auto_ack=True)
    assert body == b"via amqp"


def test_binding_properties_key_encoded_once_or_twice(api, uniq):
    """The properties key of routing key 'a.#' is 'a.%23'; rabbitmqadmin
    puts it in the path encoded again ('a.%2523'), curl users often do not
    ('a.%23', which arrives as 'a.#'). RabbitMQ finds the binding both
    ways."""
    api.ok("PUT", "exchanges/%2F/" + q(uniq), {"type": "topic"})
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    api.ok("POST", "bindings/%2F/e/" + q(uniq) + "/q/" + q(uniq),
           {"routing_key": "a.#"})
    base = "bindings/%2F/e/" + q(uniq) + "/q/" + q(uniq) + "/"
    for pk in ("a.%2523", "a.%23"):
        assert api.ok("GET", base + pk)["routing_key"] == "a.#", pk
    assert api.get(base + "a.%2524").status == 404
    assert api.delete(base + "a.%23").status == 204
    assert api.ok("GET", base[:-1]) == []
    api.ok("DELETE", "queues/%2F/" + q(uniq))
    api.ok("DELETE", "exchanges/%2F/" + q(uniq))
