# SPDX-License-Identifier: MIT
"""Bunny (Ruby, Debian's ruby-bunny 2.19 on ruby-amq-protocol) against the
broker.

Each scenario is a small script in tests/interop/ruby/ that takes the
broker URL and a name prefix, runs one scenario under its own deadline
(Timeout, with Bunny's continuation timeout on every protocol wait) and
prints one JSON line; the assertions are here. Recovery and heartbeats are
off except in the tests about them. A missing ruby or Bunny fails these
tests: it does not skip them.
"""

import json
import os
import select
import shutil
import socket
import subprocess
import time

import pytest

from broker import SLOW  # tests/proto/broker.py: > 1 under valgrind

RUBY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ruby")
INSTALL_HINT = "install the Debian package ruby-bunny (apt-get install ruby-bunny)"


@pytest.fixture(scope="module")
def ruby():
    """Path of the ruby binary, once Bunny is known to load."""
    exe = shutil.which("ruby")
    if exe is None:
        pytest.fail("ruby is not installed: " + INSTALL_HINT, pytrace=False)
    p = subprocess.run([exe, "-e", 'require "bunny"; print Bunny::VERSION'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    if p.returncode != 0:
        pytest.fail("ruby cannot load Bunny (%s): %s"
                    % (p.stderr.decode(errors="replace").strip()[:300],
                       INSTALL_HINT), pytrace=False)
    return exe


def _url(address):
    host, port = address
    if ":" in host:
        host = "[%s]" % host
    # %2F: the vhost "/" (an empty path would be the vhost "")
    return "amqp://guest:guest@%s:%d/%%2F" % (host, port)


def _command(ruby, name, address, uniq, limit):
    return [ruby, name + ".rb", _url(address), uniq, "%g" % limit]


def _env():
    return dict(os.environ, WARREN_TEST_SLOW="%g" % SLOW)


def _result(name, returncode, out, err):
    err = err.decode("utf-8", "replace")
    assert returncode == 0, "%s.rb failed (exit %d):\n%s" % (
        name, returncode, err)
    lines = out.decode().strip().splitlines()
    assert lines, "%s.rb printed no result; stderr:\n%s" % (name, err)
    return json.loads(lines[-1])


@pytest.fixture
def scenario(ruby, broker, uniq):
    """scenario(name, timeout=20) runs ruby/NAME.rb and returns its JSON."""
    def run(name, timeout=20):
        limit = timeout * SLOW
        try:
            p = subprocess.run(_command(ruby, name, broker, uniq, limit),
                               cwd=RUBY_DIR, env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=limit + 10)
        except subprocess.TimeoutExpired as e:
            pytest.fail("%s.rb did not exit within %.0f s; stderr:\n%s"
                        % (name, limit + 10, (e.stderr or b"").decode()),
                        pytrace=False)
        return _result(name, p.returncode, p.stdout, p.stderr)

    return run


def test_connect_server_properties_and_clean_close(scenario):
    r = scenario("connect_close")
    assert r["opened"] == {"open": True, "status": "open"}
    assert r["channel_open"] is True
    assert r["has_version"] is True and r["product"]
    caps = r["capabilities"]
    for cap in ("publisher_confirms", "exchange_exchange_bindings",
                "basic.nack", "consumer_cancel_notify", "connection.blocked",
                "authentication_failure_close", "per_consumer_qos",
                "direct_reply_to"):
        assert caps.get(cap) is True, cap
    # Bunny asks for 131072 frames, 2047 channels and (here) no heartbeat
    assert r["frame_max"] == 131072
    assert r["channel_max"] == 2047
    assert r["heartbeat"] == 0
    assert r["closed"] == {"closed": True, "status": "closed"}


def test_unknown_vhost_raises_not_allowed_with_rabbitmq_text(scenario):
    r = scenario("unknown_vhost")
    # "amqp://host:port/" names the vhost "" (AMQP URI spec), which does
    # not exist; RabbitMQ 3.10's text names the vhost without quotes
    assert r["vhost_from_empty_path"] == ""
    assert r["empty"] == {
        "raised": "Bunny::NotAllowedError", "code": 530,
        "message": "Connection-level error: NOT_ALLOWED - vhost  not found"}
    assert r["missing"] == {
        "raised": "Bunny::NotAllowedError", "code": 530,
        "message": "Connection-level error: NOT_ALLOWED - "
                   "vhost no-such-vhost not found"}
    assert r["default_path"] == {"raised": None}  # no path: "/"

def test_each_exchange_type_bind_unbind_and_exchange_to_exchange(
        scenario, uniq):
    r = scenario("declare_bind")
    # one match per type; the misses, and the publishes after the unbinds
    # (queue.unbind, exchange.unbind), went nowhere
    assert r["got"] == {
        "direct": ["direct-0"],
        "fanout": ["fanout-0"],
        "topic": ["topic-0"],
        "headers": ["headers-0"],
        "e2e": ["e2e-routed"],  # topic src -route.#-> fanout dst -> queue
    }
    assert r["server_named"].startswith("amq.gen-")
    assert r["deleted_counts"] == {
        "%s.q.%s" % (uniq, t): 0
        for t in ("direct", "fanout", "topic", "headers", "e2e")}


def test_every_message_property_round_trips(scenario, uniq):
    r = scenario("properties")
    full, bare = r["seen"]
    sent = r["sent"]
    assert full["body"] == "full"
    # persistent: true goes out as delivery_mode 2; the timestamp comes
    # back as a Time
    want = {k: v for k, v in sent.items() if k != "persistent"}
    want.update(delivery_mode=2, timestamp={"$time": sent["timestamp"]})
    assert full["props"] == want
    assert full["timestamp_class"] == "Time"
    assert full["props"]["user_id"] == r["login"] == "guest"
    assert (full["exchange"], full["routing_key"]) == ("", uniq + ".props")
    assert full["redelivered"] is False
    # Bunny fills in these three when the publisher sets nothing
    assert bare["body"] == "bare"
    assert bare["props"] == {"content_type": "application/octet-stream",
                             "delivery_mode": 2, "priority": 0}
    assert [m["delivery_tag"] for m in r["seen"]] == [1, 2]


def test_header_table_value_types_round_trip(scenario):
    r = scenario("headers_table")
    # every value comes back equal and of the same Ruby class, except the
    # fractional BigDecimal that amq-protocol itself mangles (it decodes
    # its own encoding of 12.345 as 12.0, broker or no broker)
    assert r["differs"] == ["decimal_frac"]
    assert r["equal_to_local_round_trip"] is True
    assert r["classes"] == r["sent_classes"]
    h = r["headers"]
    assert h == {
        "small": 42, "negative": -7, "large": 2 ** 40 + 3,
        "min64": -(2 ** 63), "max64": 2 ** 63 - 1,
        "float": 3.25, "negfloat": -0.5,
        "decimal": {"$decimal": "12345.0"},
        "decimal_frac": {"$decimal": "12.0"},
        "time": {"$time": 1700000000},
        "yes": True, "no": False,
        "str": "hello", "utf8": "h\u00e9llo \u2713", "empty": "",
        "long": "x" * 1000,
        "nested": {"a": {"b": "deep", "n": 2 ** 35}, "list": ["x"], "e": {}},
        "array": [1, "two", True, None, [3, [4]], {"k": "v"}, 2.5],
        "empty_array": [],
        "nil": None,
    }
    assert r["keys"] == list(h)  # field order kept too


def test_manual_ack_nack_requeue_and_reject_drop(scenario):
    r = scenario("ack_nack_reject")
    assert [(d["body"], d["redelivered"]) for d in r["deliveries"]] == [
        ("ack-me", False),
        ("nack-me", False),
        ("reject-me", False),
        ("nack-me", True),  # nack(requeue) -> redelivered?
    ]
    assert [d["delivery_tag"] for d in r["deliveries"]] == [1, 2, 3, 4]
    assert r["message_count_after"] == 0  # reject(requeue=false) dropped it


def test_prefetch_limits_unacked_in_flight(scenario):
    r = scenario("prefetch")
    assert r["in_flight_before_ack"] == r["prefetch"] == 3
    assert r["in_flight_after_one_ack"] == 3
    assert r["max_in_flight"] == 3
    assert r["order"] == list(range(r["total"]))
    assert r["message_count_after"] == 0


def test_confirm_select_1000_publishes_wait_for_confirms(scenario):
    r = scenario("confirms")
    assert r["published"] == 1000
    assert r["wait_for_confirms"] is True
    assert r["unconfirmed"] == 0 and r["nacked"] == []
    assert r["message_count"] == 1000


def test_reject_publish_overflow_makes_wait_for_confirms_false(scenario):
    r = scenario("reject_publish")
    assert r["first"] is True and r["first_nacked"] == []
    # the second publish (sequence number 2) is nacked, as RabbitMQ does
    assert r["second"] is False and r["nacked"] == [2]
    assert r["unconfirmed"] == 0
    assert r["message_count"] == 1 and r["kept"] == "first"


def test_mandatory_unroutable_comes_back_through_on_return(scenario, uniq):
    r = scenario("mandatory_return")
    # only the unroutable mandatory one: not the routable one, not the
    # unroutable non-mandatory one
    assert r["returns"] == [{
        "reply_code": 312, "reply_text": "NO_ROUTE",
        "exchange": uniq + ".mand", "routing_key": "nowhere",
        "body": "unroutable", "message_id": "m-1", "headers": {"h": 1},
    }]
    assert r["message_count"] == 1


def test_rpc_over_direct_reply_to(scenario):
    r = scenario("direct_reply_to")
    assert [(m["corr"], m["body"]) for m in r["replies"]] == [
        ("c%d" % i, str(i * i)) for i in range(1, 6)]
    # the server saw one per-channel name, not the pseudo-queue itself,
    # and the replies arrive with it as their routing key
    assert len(set(r["reply_tos"])) == 1
    reply_to = r["reply_tos"][0]
    assert reply_to.startswith("amq.rabbitmq.reply-to.")
    assert {(m["exchange"], m["routing_key"]) for m in r["replies"]} == {
        ("", reply_to)}


def _raised(res, klass, code, class_method):
    assert (res["raised"], res["code"]) == ("Bunny::" + klass, code), res
    assert (res["class_id"], res["method_id"]) == class_method, res
    assert res["channel_open"] is False


def test_channel_errors_raise_bunny_exceptions(scenario, uniq):
    r = scenario("channel_errors")
    _raised(r["not_found"], "NotFound", 404, (50, 10))
    assert r["not_found"]["text"] == (
        "NOT_FOUND - no queue '%s.missing' in vhost '/'" % uniq)
    _raised(r["precondition"], "PreconditionFailed", 406, (50, 10))
    assert "inequivalent arg 'durable'" in r["precondition"]["text"]
    _raised(r["locked"], "ResourceLocked", 405, (50, 10))
    assert r["locked"]["text"].startswith(
        "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue "
        "'%s.exclusive'" % uniq)
    _raised(r["access"], "AccessRefused", 403, (40, 10))
    assert "reserved prefix 'amq.*'" in r["access"]["text"]
    # only the channels closed: the connection works on a new one
    assert r["connection_open"] is True
    assert r["after"] == "still usable"


def test_consumer_cancellation_when_the_queue_is_deleted(scenario):
    r = scenario("consumer_cancel")
    assert r["got"] == ["before"]
    assert r["cancelled"] == [r["consumer_tag"]]  # on_cancellation ran
    assert r["deleted_message_count"] == 0
    assert r["channel_open"] is True


def test_tx_commit_and_rollback(scenario):
    r = scenario("tx")
    assert (r["before_commit"], r["after_commit"]) == (0, 2)
    assert r["after_rollback"] == 2  # "c" was rolled back
    assert r["got"] == "a"
    # the ack was rolled back: "a" stays unacked, back on channel close
    assert r["after_ack_rollback"] == 1 and r["after_close"] == 2
    assert r["got_again"] == ["a", True]
    assert r["after_ack_commit"] == 1
    assert r["using_tx"] is True


def test_basic_get_and_message_count(scenario):
    r = scenario("basic_get")
    assert r["empty"] == [True, True, True]  # get-empty: three nils
    assert r["count_before"] == 3
    assert [(p["body"], p["message_id"], p["message_count"])
            for p in r["pops"]] == [("g0", "id0", 2), ("g1", "id1", 1),
                                    ("g2", "id2", 0)]
    assert [p["delivery_tag"] for p in r["pops"]] == [1, 2, 3]
    assert not any(p["redelivered"] for p in r["pops"])
    assert r["count_while_unacked"] == 0 and r["consumer_count"] == 0
    assert r["after_ack"] == [True, True, True]  # multiple ack took all 3


def test_2mib_message_round_trip(scenario):
    r = scenario("large_message")
    assert r["sent"]["length"] == 2 * 1024 * 1024
    assert r["via_get"] == dict(r["sent"], message_id="big-1")
    assert r["via_consume"] == dict(r["sent"], message_id="big-2")
    assert r["frame_max"] == 131072


def test_5000_messages_to_two_competing_consumers(scenario):
    r = scenario("competing_consumers", timeout=40)
    assert r["missing"] == 0 and r["duplicates"] == 0  # complete, disjoint
    assert r["distinct"] == sum(r["counts"]) == 5000
    assert min(r["counts"]) > 0, r["counts"]  # both took a share
    assert r["in_order"] == [True, True]


def test_heartbeat_1s_survives_4s_idle(scenario):
    r = scenario("heartbeat")
    assert r["heartbeat"] == 1
    assert r["open_after_idle"] is True
    assert r["got"] == "after idle"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.warren_only
def test_automatic_recovery_after_broker_restart(ruby, broker_factory, uniq):
    """Bunny's automatic recovery across a broker restart on the same port
    (a private broker, so warren only): it reconnects, re-declares the
    exchange, queue and binding, re-registers the consumer, and a publish
    after the restart reaches the same block."""
    port = _free_port()
    srv = broker_factory("--port", str(port))
    limit = 30 * SLOW
    p = subprocess.Popen(_command(ruby, "recovery", srv.address, uniq, limit),
                         cwd=RUBY_DIR, env=_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10 * SLOW
        line = b""
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([p.stdout], [], [], 0.1)
            if ready:
                c = os.read(p.stdout.fileno(), 1)
                if not c:
                    break
                line += c
        if line != b"ready\n":
            p.kill()
            _, err = p.communicate(timeout=10)
            pytest.fail("recovery.rb did not print 'ready' (got %r); "
                        "stderr:\n%s" % (line, err.decode(errors="replace")),
                        pytrace=False)
        assert srv.terminate() == 0
        broker_factory("--port", str(port))
        try:
            out, err = p.communicate(timeout=limit + 10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate(timeout=10)
            pytest.fail("recovery.rb did not exit within %.0f s; stderr:\n%s"
                        % (limit + 10, err.decode(errors="replace")),
                        pytrace=False)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    r = _result("recovery", p.returncode, out, err)
    assert r["got"] == ["before", "after"]
    assert r["attempts"] >= 1
    assert r["open"] is True and r["channel_open"] is True
    assert r["consumers"] == 1
    assert r["message_count"] == 0
