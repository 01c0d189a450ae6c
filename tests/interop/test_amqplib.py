# SPDX-License-Identifier: MIT
"""amqplib (Node.js, npm) against the broker, through the promise API.

Each scenario is a small CommonJS script in tests/interop/node/ that takes
the broker URL and a name prefix, runs one scenario under its own deadline
and prints one JSON line; the assertions are here. amqplib is pinned in
tests/interop/node/package-lock.json and installed by `make test-interop`
(npm ci). A missing node or amqplib fails these tests: it does not skip
them.
"""

import json
import os
import shutil
import subprocess

import pytest

from broker import SLOW  # tests/proto/broker.py: > 1 under valgrind

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
INSTALL_HINT = ("run `make test-interop` (it runs `npm ci --no-audit --no-fund` "
                "in tests/interop/node), or that npm ci by hand")


@pytest.fixture(scope="module")
def node():
    """Path of the node binary, once amqplib is known to be installed."""
    exe = shutil.which("node")
    if exe is None:
        pytest.fail("node is not installed: run `make deps` (scripts/deps.sh "
                    "installs Debian's nodejs and npm), then " + INSTALL_HINT,
                    pytrace=False)
    pkg = os.path.join(NODE_DIR, "node_modules", "amqplib", "package.json")
    if not os.path.isfile(pkg):
        pytest.fail("amqplib is not installed in tests/interop/node: "
                    + INSTALL_HINT, pytrace=False)
    with open(os.path.join(NODE_DIR, "package.json")) as f:
        want = json.load(f)["dependencies"]["amqplib"]
    with open(pkg) as f:
        have = json.load(f)["version"]
    if have != want:
        pytest.fail("tests/interop/node has amqplib %s, package.json pins %s: "
                    % (have, want) + INSTALL_HINT, pytrace=False)
    return exe


@pytest.fixture
def scenario(node, broker, uniq):
    """scenario(name, timeout=30) runs node/NAME.js and returns its JSON."""
    host, port = broker
    if ":" in host:
        host = "[%s]" % host
    url = "amqp://guest:guest@%s:%d/" % (host, port)

    def run(name, timeout=30):
        limit = timeout * SLOW
        cmd = [node, name + ".js", url, uniq, "%g" % limit]
        env = dict(os.environ, WARREN_TEST_SLOW="%g" % SLOW)
        try:
            p = subprocess.run(cmd, cwd=NODE_DIR, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=limit + 10)
        except subprocess.TimeoutExpired as e:
            pytest.fail("%s.js did not exit within %.0f s; stderr:\n%s"
                        % (name, limit + 10, (e.stderr or b"").decode()),
                        pytrace=False)
        err = p.stderr.decode("utf-8", "replace")
        assert p.returncode == 0, "%s.js failed (exit %d):\n%s" % (
            name, p.returncode, err)
        lines = p.stdout.decode().strip().splitlines()
        assert lines, "%s.js printed no result; stderr:\n%s" % (name, err)
        return json.loads(lines[-1])

    return run


def buf(data):
    """How common.js prints a Buffer."""
    return {"$buffer": data.hex()}


def test_connect_and_close_cleanly(scenario):
    r = scenario("connect_close")
    assert r["closeEventError"] is None and r["errorEvents"] == 0
    caps = r["capabilities"]
    for cap in ("publisher_confirms", "exchange_exchange_bindings",
                "basic.nack", "consumer_cancel_notify", "connection.blocked",
                "authentication_failure_close", "per_consumer_qos",
                "direct_reply_to"):
        assert caps.get(cap) is True, cap
    # amqplib asks for 131072 and no channel limit; the broker's wins
    assert r["frameMax"] == 131072
    assert r["channelMax"] == 2047


def test_declare_each_exchange_type_and_bind(scenario, uniq):
    r = scenario("declare_bind")
    for t in ("direct", "fanout", "topic", "headers"):
        assert r["exchanges"][t] == {"exchange": "%s.%s" % (uniq, t)}
        assert r["queues"][t] == {"queue": "%s.q.%s" % (uniq, t),
                                  "messageCount": 0, "consumerCount": 0}
        assert r["queues"][t + ".deleted"] == {"messageCount": 0}
    assert r["got"] == {
        "direct": ["direct-0"],
        "fanout": ["fanout-0", "fanout-1"],
        "topic": ["topic-0"],
        "headers": ["headers-0"],
        "e2e": ["e2e-routed"],  # src -route.#-> dst (fanout) -> queue
    }
    assert r["serverNamed"] is True  # assertQueue('') -> amq.gen-...
    assert r["bindExchange"] == {} and r["unbindExchange"] == {}


def test_every_message_property_round_trips(scenario, uniq):
    r = scenario("properties")
    full, persistent, bare = r["seen"]
    assert full["body"] == "full"
    assert full["properties"] == r["sent"]
    assert full["properties"]["userId"] == r["login"] == "guest"
    assert full["fields"]["exchange"] == ""
    assert full["fields"]["routingKey"] == uniq + ".props"
    assert full["fields"]["redelivered"] is False
    # persistent: true is deliveryMode 2; a numeric expiration is sent as
    # a string; amqplib always sends a (here empty) headers table
    assert persistent["body"] == "persistent"
    assert persistent["properties"] == {"headers": {}, "deliveryMode": 2,
                                        "expiration": "30000"}
    assert persistent["fields"]["exchange"] == uniq + ".props.x"
    assert persistent["fields"]["routingKey"] == "rk"
    assert bare["body"] == "bare" and bare["properties"] == {"headers": {}}
    assert [m["fields"]["deliveryTag"] for m in r["seen"]] == [1, 2, 3]


def test_header_table_value_types_round_trip(scenario):
    h = scenario("headers_table")["headers"]
    expected = {
        "str": "hello",
        "utf8": "h\u00e9llo \u2713",
        "empty": "",
        "longstr": "x" * 1000,
        "yes": True,
        "no": False,
        "i8": -5,
        "i16": 1000,
        "i32": 100000,
        "above2p31": 2 ** 31,
        "i64": 2 ** 40 + 3,
        "neg64": -(2 ** 33),
        "dbl": 3.25,
        "negdbl": -0.5,
        "buf": buf(bytes([0, 1, 2, 254, 255])),
        "nul": None,
        "arr": [1, "two", True, None, [3, [4]], {"k": "v"}, 2.5, buf(b"ab")],
        "emptyArr": [],
        "nested": {"a": {"b": {"c": "deep", "n": 2 ** 35}}, "list": ["x"],
                   "e": {}},
        # explicit {'!': type, value} forms: amqplib decodes most of them
        # back to plain numbers, timestamps and decimals to the same form
        "x_float": 1.5,
        "x_double": 2,
        "x_int8": -3,
        "x_uint8": 200,
        "x_int16": -300,
        "x_uint16": 60000,
        "x_int32": -5,
        "x_uint32": 4000000000,
        "x_int64": 5,
        "x_timestamp": {"!": "timestamp", "value": 1700000000},
        "x_decimal": {"!": "decimal", "value": {"places": 2, "digits": 12345}},
    }
    assert h == expected
    assert list(h) == list(expected)  # field order kept too


def test_ack_nack_requeue_and_reject_drop(scenario):
    r = scenario("ack_nack_reject")
    assert [(d["body"], d["redelivered"]) for d in r["deliveries"]] == [
        ("ack-me", False),
        ("nack-me", False),
        ("reject-me", False),
        ("nack-me", True),  # nack(requeue) -> redelivered
    ]
    assert [d["deliveryTag"] for d in r["deliveries"]] == [1, 2, 3, 4]
    assert r["messageCountAfter"] == 0  # reject(requeue=false) dropped it


def test_prefetch_limits_unacked_in_flight(scenario):
    r = scenario("prefetch")
    assert r["inFlightBeforeAck"] == r["prefetch"] == 3
    assert r["inFlightAfterOneAck"] == 3
    assert r["maxInFlight"] == 3
    assert r["order"] == list(range(r["total"]))
    assert r["messageCountAfter"] == 0


def test_confirm_channel_1000_publishes_wait_for_confirms(scenario):
    r = scenario("confirms")
    assert r["acked"] == r["published"] == 1000
    assert r["nacked"] == 0
    assert r["messageCount"] == 1000


def test_reject_publish_overflow_nacks_on_confirm_channel(scenario):
    r = scenario("reject_publish")
    assert (r["first"], r["second"]) == ("ack", "nack")
    # amqplib's waitForConfirms resolves once everything is settled, nacks
    # included (each nack went to its own callback)
    assert r["waitError"] is None
    assert r["messageCount"] == 1 and r["kept"] == "first"


def test_mandatory_unroutable_comes_back_as_return(scenario, uniq):
    r = scenario("mandatory_return")
    assert r["returns"] == 1  # not the routable one, not the non-mandatory
    assert r["fields"] == {"replyCode": 312, "replyText": "NO_ROUTE",
                           "exchange": uniq + ".mand",
                           "routingKey": "nowhere"}
    assert r["body"] == "unroutable"
    assert r["messageId"] == "m-1" and r["headers"] == {"h": 1}
    assert r["messageCount"] == 1


def test_rpc_over_direct_reply_to(scenario):
    r = scenario("direct_reply_to")
    assert r["replies"] == [{"corr": "c%d" % i, "body": str(i * i)}
                            for i in range(1, 6)]
    # the server saw a per-channel name, not the pseudo-queue itself
    assert len(set(r["replyTos"])) == 1
    reply_to = r["replyTos"][0]
    assert reply_to.startswith("amq.rabbitmq.reply-to.")
    assert r["replyExchange"] == "" and r["replyRoutingKey"] == reply_to


def _channel_error(res, code, class_method):
    assert res["rejected"]["code"] == code, res
    assert res["errorEvents"] == [{"code": code, "classId": class_method[0],
                                   "methodId": class_method[1]}], res
    assert res["closeEvent"] is True


def test_channel_errors_close_only_the_channel(scenario, uniq):
    r = scenario("channel_errors")
    _channel_error(r["checkMissingQueue"], 404, (50, 10))
    assert ("no queue '%s.missing' in vhost '/'" % uniq
            in r["checkMissingQueue"]["rejected"]["message"])
    _channel_error(r["checkMissingExchange"], 404, (40, 10))
    # the connection carries on: a new channel declares
    assert r["afterError"]["queue"] == uniq + ".err"
    _channel_error(r["queueArgsMismatch"], 406, (50, 10))
    assert "inequivalent arg 'x-max-length'" in \
        r["queueArgsMismatch"]["rejected"]["message"]
    _channel_error(r["queueDurableMismatch"], 406, (50, 10))
    _channel_error(r["exchangeTypeMismatch"], 406, (40, 10))
    _channel_error(r["publishMissingExchange"], 404, (60, 40))
    _channel_error(r["publishWrongUserId"], 406, (60, 40))
    assert "user_id property set to 'not-the-login'" in \
        r["publishWrongUserId"]["rejected"]["message"]
    assert r["stillUsable"]["queue"] == uniq + ".err"
    assert r["connErrors"] == 0


def test_2mib_message_round_trip(scenario):
    r = scenario("large_message")
    assert r["sent"]["length"] == 2 * 1024 * 1024
    assert r["viaGet"] == dict(r["sent"], messageId="big-1")
    assert r["viaConsume"] == dict(r["sent"], messageId="big-2")


@pytest.mark.timeout(90)
def test_5000_messages_to_two_competing_consumers(scenario):
    r = scenario("competing_consumers", timeout=60)
    assert r["missing"] == 0 and r["duplicates"] == 0  # complete, disjoint
    assert r["distinct"] == sum(r["counts"]) == 5000
    assert min(r["counts"]) > 0, r["counts"]  # both took a share
    assert r["inOrder"] == [True, True]


def test_consumer_cancel_notification_on_queue_delete(scenario):
    r = scenario("consumer_cancel")
    assert r["calls"] == ["before", None]  # callback(null) on basic.cancel
    assert r["deleted"] == {"messageCount": 0}
    assert r["channelClosed"] is False


def test_heartbeat_1s_survives_4s_idle(scenario):
    r = scenario("heartbeat")
    assert r["heartbeat"] == 1
    assert r["eventsDuringIdle"] == []  # no heartbeat timeout either side
    assert r["got"] == "after idle"


def _x_death(entry, reason, queue, **extra):
    assert entry["time"]["!"] == "timestamp"
    rest = {k: v for k, v in entry.items() if k != "time"}
    assert rest == dict({"count": 1, "reason": reason, "queue": queue,
                         "exchange": "", "routing-keys": [queue]}, **extra)


FIRST_DEATH_KEYS = ["count", "reason", "queue", "time", "exchange",
                    "routing-keys"]


def test_dead_letter_options_and_x_death(scenario, uniq):
    r = scenario("dead_letter")
    rejected, expired, capped, twice = r["dead"]
    for m, body, reason, q in ((rejected, "rejected", "rejected", "work"),
                               (expired, "expired", "expired", "ttl"),
                               (capped, "oldest", "maxlen", "capped")):
        q = "%s.%s" % (uniq, q)
        assert m["body"] == body
        assert m["exchange"] == uniq + ".dlx" and m["routingKey"] == "dead"
        h = m["headers"]
        assert len(h["x-death"]) == 1
        extra = {"original-expiration": "60000"} if m is expired else {}
        _x_death(h["x-death"][0], reason, q, **extra)
        assert h["x-first-death-reason"] == reason
        assert h["x-first-death-queue"] == q
        assert h["x-first-death-exchange"] == ""
        # RabbitMQ writes the first x-death entry in this order...
        assert m["deathKeys"] == [FIRST_DEATH_KEYS + list(extra)]
    # ...and sorts the headers it rewrites by key (rabbit_misc:
    # sort_field_table): amqplib shows that order in the object
    assert rejected["keys"] == ["keep", "x-death", "x-first-death-exchange",
                                "x-first-death-queue", "x-first-death-reason"]
    assert rejected["headers"]["keep"] == "me"
    # the per-message expiration is taken off (kept in x-death above)
    assert "expiration" not in expired
    assert r["cappedLeft"] == 1
    # dead again in the same queue for the same reason: the same entry,
    # count 2, its fields now sorted by key as well
    assert twice["body"] == "rejected twice"
    (entry,) = twice["headers"]["x-death"]
    assert entry["count"] == 2 and entry["queue"] == uniq + ".work"
    assert twice["deathKeys"] == [sorted(FIRST_DEATH_KEYS)]
    assert twice["keys"] == rejected["keys"]
    assert twice["headers"]["x-first-death-reason"] == "rejected"


def test_cc_and_bcc_publish_options(scenario, uniq):
    got = scenario("cc_bcc")["got"]
    cc = [uniq + ".cc1", uniq + ".cc2"]
    for q in ("to", "cc1", "cc2", "bcc"):
        assert got[q] == {"routingKey": uniq + ".to",
                          "headers": {"other": 1, "CC": cc}}, q
    assert got["none"] is None


def test_recover_and_channel_close_requeue(scenario):
    r = scenario("recover_close")
    assert r["seen"] == [{"body": b, "redelivered": red}
                         for red in (False, True) for b in "abc"]
    assert r["cancelled"] == {"consumerTag": r["consumerTag"]}
    assert r["messageCountAfterClose"] == 3
    assert r["afterClose"] == {"body": "a", "redelivered": True}


def test_frame_max_4096_from_url(scenario):
    r = scenario("small_frames")
    assert r["frameMax"] == 4096
    assert r["same"] is True and r["length"] == 100 * 1024
    assert r["padLength"] == 3000


def test_update_secret(scenario):
    r = scenario("update_secret")
    assert r["okEvents"] == 1  # update-secret-ok, then the channel works
