# SPDX-License-Identifier: MIT
"""RabbitMQ's official Java client (Debian's librabbitmq-client-java,
com.rabbitmq:amqp-client 5.0.0) against the broker.

tests/interop/java/Scenarios.java holds one method per scenario; a
session fixture compiles it once with javac into a temporary directory
(nothing compiled is committed), and each test runs
`java Scenarios NAME URI PREFIX TIMEOUT`, which prints one JSON line; the
assertions are here. Every blocking call in the Java code has a deadline
and a watchdog ends the JVM past TIMEOUT. A missing JDK or client jar
fails these tests, naming the Debian package to install: it does not skip
them.
"""

import glob
import json
import os
import select
import shutil
import socket
import subprocess
import time

import pytest

from broker import SLOW  # tests/proto/broker.py: > 1 under valgrind

JAVA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "java")
AMQP_JAR = "/usr/share/java/amqp-client.jar"
# amqp-client needs slf4j at run time (Debian: libslf4j-java, a dependency
# of librabbitmq-client-java); slf4j-simple sends the client's own log
# lines to stderr, which the failure messages show.
SLF4J_JARS = ["/usr/share/java/slf4j-api.jar", "/usr/share/java/slf4j-simple.jar"]
# A scenario is short: C1 only starts the JVM faster.
JVM_FLAGS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k"]


@pytest.fixture(scope="session")
def java_run(tmp_path_factory):
    """Compile tests/interop/java/*.java once; the java command with its
    run-time class path."""
    missing = []
    tools = {t: shutil.which(t) for t in ("javac", "java")}
    for tool, path in tools.items():
        if path is None:
            missing.append("%s is not installed: install Debian's "
                           "default-jdk-headless" % tool)
    if not os.path.isfile(AMQP_JAR):
        missing.append("%s is missing: install Debian's "
                       "librabbitmq-client-java" % AMQP_JAR)
    for jar in SLF4J_JARS:
        if not os.path.isfile(jar):
            missing.append("%s is missing: install Debian's libslf4j-java "
                           "(librabbitmq-client-java depends on it)" % jar)
    if missing:
        pytest.fail("; ".join(missing), pytrace=False)
    out = str(tmp_path_factory.mktemp("java-classes"))
    sources = sorted(glob.glob(os.path.join(JAVA_DIR, "*.java")))
    p = subprocess.run([tools["javac"], "-encoding", "UTF-8", "-Xlint:all", "-Werror",
                        "-cp", AMQP_JAR, "-d", out] + sources,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=180)
    if p.returncode != 0:
        pytest.fail("javac failed:\n" + p.stdout.decode("utf-8", "replace"),
                    pytrace=False)
    return [tools["java"]] + JVM_FLAGS + [
        "-cp", os.pathsep.join([out, AMQP_JAR] + SLF4J_JARS)]


def _uri(address):
    host, port = address
    if ":" in host:
        host = "[%s]" % host
    return "amqp://guest:guest@%s:%d/%%2F" % (host, port)  # vhost "/"


@pytest.fixture
def java_cmd(java_run, broker, uniq):
    """java_cmd(name, limit, address=None) -> the command line of a scenario."""
    def cmd(name, limit, address=None):
        return java_run + ["Scenarios", name, _uri(address or broker), uniq,
                           "%g" % limit]
    return cmd


def _result(name, returncode, out, err):
    err = err.decode("utf-8", "replace")
    assert returncode == 0, "scenario %s failed (exit %d):\n%s" % (
        name, returncode, err)
    lines = out.decode().strip().splitlines()
    assert lines, "scenario %s printed no result; stderr:\n%s" % (name, err)
    return json.loads(lines[-1])


@pytest.fixture
def scenario(java_cmd):
    """scenario(name, timeout=30, address=None) runs one Java scenario
    (against the broker under test unless address is given) and returns
    its JSON result."""
    def run(name, timeout=30, address=None):
        limit = timeout * SLOW
        env = dict(os.environ, WARREN_TEST_SLOW="%g" % SLOW)
        try:
            p = subprocess.run(java_cmd(name, limit, address), env=env,
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=limit + 10)
        except subprocess.TimeoutExpired as e:
            pytest.fail("scenario %s did not exit within %.0f s; stderr:\n%s"
                        % (name, limit + 10, (e.stderr or b"").decode()),
                        pytrace=False)
        return _result(name, p.returncode, p.stdout, p.stderr)
    return run


def test_connect_with_uri_server_properties_and_clean_close(scenario):
    r = scenario("connect_close")
    # what the client keeps from connection.start: longstr values and a
    # capabilities table, every capability RabbitMQ 3.10 announces
    types = r["serverPropertyTypes"]
    assert types.pop("capabilities") == "HashMap"
    assert types == dict.fromkeys(("cluster_name", "copyright", "information",
                                   "platform", "product", "version"),
                                  "ByteArrayLongString")
    assert r["capabilities"] == dict.fromkeys(
        ("publisher_confirms", "exchange_exchange_bindings", "basic.nack",
         "consumer_cancel_notify", "connection.blocked", "consumer_priorities",
         "authentication_failure_close", "per_consumer_qos", "direct_reply_to"),
        True)
    assert r["product"]
    # the client asks for no frame limit, 2047 channels, 60 s heartbeats
    assert (r["frameMax"], r["channelMax"], r["heartbeat"]) == (131072, 2047, 60)
    assert r["vhost"] == "/" and r["username"] == "guest"  # %2F decoded
    assert r["clientName"] == "java-interop"
    assert r["channelNumber"] == 1 and r["channelOpenAfterClose"] is False
    assert r["openAfterClose"] is False
    assert r["close"] == {"byApp": True, "hard": True, "code": 200, "text": "OK"}


def test_declare_every_exchange_type_bind_unbind_e2e(scenario, uniq):
    r = scenario("declare_bind")
    for t in ("direct", "fanout", "topic", "headers"):
        assert r["queues"][t] == {"queue": "%s.q.%s" % (uniq, t),
                                  "messageCount": 0, "consumerCount": 0}
    assert r["got"] == {
        "direct": ["direct-0"],
        # e2e -route.#-> fanout: routed through the exchange binding
        "fanout": ["fanout-0", "fanout-1", "e2e-routed"],
        "topic": ["topic-0"],
        "headers": ["headers-0"],  # x-match all: both headers needed
    }  # nothing published after the unbinds arrived
    assert r["serverNamed"].startswith("amq.gen-")
    assert r["purged"] == 2 and r["deletedWith"] == 1
    assert r["deleted"] == dict.fromkeys(r["got"], 0)


def test_every_basic_property_round_trips(scenario, uniq):
    r = scenario("properties")
    full, bare, persistent = r["seen"]
    assert full["body"] == "full" and full["props"] == r["sent"]
    assert full["props"]["userId"] == r["login"] == "guest"
    assert full["env"] == {"deliveryTag": 1, "redelivered": False,
                           "exchange": "", "routingKey": uniq + ".props"}
    assert bare["body"] == "bare"
    assert set(bare["props"].values()) == {None}  # no property flags at all
    # MessageProperties.PERSISTENT_TEXT_PLAIN
    assert persistent["props"] == dict(bare["props"], contentType="text/plain",
                                       deliveryMode=2, priority=0)


def _t(kind, value=None):
    return {"t": kind} if kind == "null" else {"t": kind, "v": value}


def test_header_table_value_types_round_trip_with_java_types(scenario):
    h = scenario("headers_table")["headers"]
    ls = lambda s: _t("LongString", s)  # noqa: E731 (strings come back as LongString)
    assert h == {
        "int": _t("Integer", 123456),
        "negInt": _t("Integer", -7),
        "long": _t("Long", 2 ** 40),
        "negLong": _t("Long", -(2 ** 33)),
        "short": _t("Short", -1234),
        "byte": _t("Byte", -5),
        "float": _t("Float", "1.5"),
        "double": _t("Double", 3.25),
        "decimal": _t("BigDecimal", "123.45"),
        "negDecimal": _t("BigDecimal", "-1.5"),
        "date": _t("Date", 1700000000000),  # whole seconds on the wire
        "true": _t("Boolean", True),
        "false": _t("Boolean", False),
        "bytes": _t("byte[]", "000102feff"),
        "string": ls("hello"),
        "utf8": ls("h\u00e9llo \u2713"),
        "empty": ls(""),
        "longString": ls("long string"),
        "null": _t("null"),
        "map": _t("Map", {"a": _t("Integer", 1),
                          "inner": _t("Map", {"b": ls("deep"),
                                              "n": _t("Long", 2)})}),
        "emptyMap": _t("Map", {}),
        "list": _t("List", [_t("Integer", 1), ls("two"), _t("Boolean", True),
                            _t("null"), _t("Double", 2.5),
                            _t("List", [_t("Long", 3)]),
                            _t("Map", {"k": ls("v")})]),
        "emptyList": _t("List", []),
        "array": _t("List", [_t("Byte", 1), ls("x")]),  # Object[] -> 'A'
    }


def test_manual_ack_nack_requeue_reject_drop(scenario):
    r = scenario("ack_nack_reject")
    assert r["deliveries"] == [
        {"body": "ack-me", "redelivered": False, "deliveryTag": 1},
        {"body": "nack-me", "redelivered": False, "deliveryTag": 2},
        {"body": "reject-me", "redelivered": False, "deliveryTag": 3},
        {"body": "nack-me", "redelivered": True, "deliveryTag": 4},
    ]
    assert r["extra"] is None  # the rejected one did not come back
    assert r["messageCountAfter"] == 0


def test_basic_qos_prefetch_limits_unacked(scenario):
    r = scenario("prefetch")
    assert r["inFlightBeforeAck"] == r["prefetch"] == 3
    assert r["inFlightAfterOneAck"] == 3
    assert r["maxInFlight"] == 3
    assert r["order"] == list(range(r["total"]))
    assert r["messageCountAfter"] == 0


def test_confirm_select_1000_publishes_wait_for_confirms_or_die(scenario):
    r = scenario("confirms")
    assert (r["firstSeqNo"], r["nextSeqNo"]) == (1, 1001)
    assert r["acked"] == r["published"] == 1000 and r["nacked"] == 0
    assert r["messageCount"] == 1000


def test_reject_publish_overflow_nacks_to_confirm_listener(scenario):
    r = scenario("reject_publish")
    assert r["firstOk"] is True and r["secondOk"] is False
    # a lone ack is single; RabbitMQ coalesces a nack below every
    # unconfirmed publish into multiple=true (settling tag 2 alone here)
    assert r["events"] == [{"ack": 1, "multiple": False},
                           {"nack": 2, "multiple": True}]
    assert r["messageCount"] == 1 and r["kept"] == "first"


def test_mandatory_unroutable_to_return_listener(scenario, uniq):
    r = scenario("mandatory_return")
    ret = r["returned"]
    assert {k: ret[k] for k in ("replyCode", "replyText", "exchange",
                                "routingKey", "body")} == {
        "replyCode": 312, "replyText": "NO_ROUTE",
        "exchange": uniq + ".mand", "routingKey": "nowhere",
        "body": "unroutable"}
    assert ret["props"]["messageId"] == "m-1"
    assert ret["props"]["headers"] == {"h": "1"}
    assert r["more"] is None  # not the routable one, not the non-mandatory
    assert r["messageCount"] == 1


def test_rpc_client_over_direct_reply_to(scenario):
    r = scenario("rpc")
    assert [(x["corr"], x["body"]) for x in r["replies"]] == [
        (str(i), str(i * i)) for i in range(1, 6)]
    assert r["stringCall"] == "144"
    # the server saw one per-channel name, never the pseudo-queue itself
    assert len(set(r["replyTos"])) == 1
    reply_to = r["replyTos"][0]
    assert reply_to.startswith("amq.rabbitmq.reply-to.")
    assert {(x["exchange"], x["routingKey"]) for x in r["replies"]} == {
        ("", reply_to)}


def _channel_error(e, code, class_method, exception="java.io.IOException"):
    assert e["exception"] == exception, e
    assert (e["code"], e["classId"], e["methodId"]) == (code,) + class_method, e
    assert e["hard"] is False and e["byApp"] is False
    assert e["channelOpen"] is False and e["connectionOpen"] is True


def test_channel_errors_close_only_the_channel(scenario, uniq):
    r = scenario("channel_errors")
    _channel_error(r["missingQueue"], 404, (50, 10))
    assert r["missingQueue"]["text"] == (
        "NOT_FOUND - no queue '%s.missing' in vhost '/'" % uniq)
    _channel_error(r["missingExchange"], 404, (40, 10))
    assert r["afterError"] == uniq + ".err"
    _channel_error(r["queueArgsMismatch"], 406, (50, 10))
    assert "inequivalent arg 'x-max-length'" in r["queueArgsMismatch"]["text"]
    _channel_error(r["queueDurableMismatch"], 406, (50, 10))
    assert "inequivalent arg 'durable'" in r["queueDurableMismatch"]["text"]
    _channel_error(r["exchangeTypeMismatch"], 406, (40, 10))
    # the publish fails asynchronously: a ShutdownListener hears it, and
    # the next call finds the channel closed for the same reason
    _channel_error(r["publishMissingExchange"], 404, (60, 40),
                   exception="com.rabbitmq.client.ShutdownSignalException")
    _channel_error(r["callAfterClose"], 404, (60, 40),
                   exception="com.rabbitmq.client.AlreadyClosedException")
    for key, cm in (("exclusiveDeclare", (50, 10)), ("exclusivePassive", (50, 10)),
                    ("exclusiveConsume", (60, 20)), ("exclusiveDelete", (50, 40))):
        _channel_error(r[key], 405, cm)
        assert r[key]["text"].startswith(
            "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue "
            "'%s.excl' in vhost '/'" % uniq), key
    assert r["stillUsable"] == uniq + ".err"
    assert r["ownerStillOpen"] and r["connectionOpen"] and r["otherOpen"]


def test_consumer_cancel_notification_on_queue_delete(scenario):
    r = scenario("consumer_cancel")
    assert r["calls"] == ["delivery:before", "cancel:" + r["consumerTag"]]
    assert r["extra"] is None  # handleCancel, not handleCancelOk
    assert r["deleted"] == 0
    assert r["channelOpen"] is True and r["channelUsable"] is True


@pytest.mark.warren_only
def test_blocked_listener_on_memory_alarm(scenario, broker_factory):
    """connection.blocked / unblocked (RabbitMQ's memory alarm) through a
    BlockedListener. warren_only: RabbitMQ's watermark cannot be lowered
    per test; a private warren with 4 MiB does it."""
    srv = broker_factory("--set", "vm_memory_high_watermark.absolute=4MiB")
    # the scenario's own waits allow for a loaded machine (up to 30 s each)
    r = scenario("blocked", timeout=120, address=srv.address)
    events = r["events"]
    assert events[0].startswith("blocked:") and "memory" in events[0].lower()
    assert events[1:] == ["unblocked"]
    assert 0 < r["published"] < 64 and r["publisherDone"] is True


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_line(proc, deadline):
    """The next stdout line of proc, or None past the deadline."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            return proc.stdout.readline().decode()
    return None


@pytest.mark.warren_only
def test_automatic_connection_and_topology_recovery(java_cmd, broker_factory):
    """The broker restarts on the same port under a connected client with
    automatic recovery: it reconnects, redeclares the exchange, both
    queues (a server-named one under a new name), their bindings and the
    consumers, and a publish after the restart reaches them. warren_only:
    it needs a broker the test can restart."""
    port = _free_port()
    srv = broker_factory("--port", str(port))
    limit = 40 * SLOW
    env = dict(os.environ, WARREN_TEST_SLOW="%g" % SLOW)
    proc = subprocess.Popen(java_cmd("recovery", limit, srv.address), env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        line = _read_line(proc, time.monotonic() + 20 * SLOW)
        if line is None or line.strip() != "READY":
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail("no READY from the recovery scenario (got %r); "
                        "stderr:\n%s" % (line, err.decode()), pytrace=False)
        assert srv.terminate() == 0
        broker_factory("--port", str(port))
        out, err = proc.communicate(b"RESTARTED\n", timeout=limit + 10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    r = _result("recovery", proc.returncode, out, err)
    assert r["stdin"] == "RESTARTED"
    assert sorted(r["before"]) == ["named:before", "server-named:before"]
    assert r["lostCode"] == 320 and r["lostByApp"] is False  # CONNECTION_FORCED
    assert sorted(r["after"]) == ["named:after", "server-named:after"]
    assert r["open"] is True


def test_2mib_message_round_trip(scenario):
    r = scenario("large_message")
    assert r["sent"]["length"] == 2 * 1024 * 1024
    assert r["viaGet"] == dict(r["sent"], messageId="big-1")
    assert r["viaConsume"] == dict(r["sent"], messageId="big-2")


def test_5000_messages_to_two_competing_consumers(scenario):
    r = scenario("competing_consumers", timeout=45)
    assert r["missing"] == 0 and r["duplicates"] == 0  # complete, disjoint
    assert r["distinct"] == sum(r["counts"]) == 5000
    assert min(r["counts"]) > 0, r["counts"]  # both took a share
    assert r["inOrder"] == [True, True]


def test_heartbeat_1s_survives_4s_idle(scenario):
    r = scenario("heartbeat")
    assert r["heartbeat"] == 1
    assert r["eventsDuringIdle"] == [] and r["openAfterIdle"] is True
    assert r["got"] == "after idle"


# name -> (reply code, class id, method id, text), or None for success
EDGE_CASES = {
    "prefetchSize": (540, 60, 10, "NOT_IMPLEMENTED - prefetch_size!=0 (4096)"),
    "globalQos": None,
    "immediate": (540, 60, 40, "NOT_IMPLEMENTED - immediate=true"),
    "amqPrefixExchange": (403, 40, 10, "ACCESS_REFUSED - exchange name "
                          "'amq.{p}.' contains reserved prefix 'amq.*'"),
    "deleteAmqDirect": (403, 40, 20, "ACCESS_REFUSED - deletion of system "
                        "exchange 'amq.direct' in vhost '/' not allowed"),
    "amqPrefixQueue": (403, 50, 10, "ACCESS_REFUSED - queue name 'amq.{p}.' "
                       "contains reserved prefix 'amq.*'"),
    "unknownExchangeType": (503, 40, 10, "COMMAND_INVALID - unknown exchange "
                            "type 'x-no-such-type'"),
    "publishInternal": (403, 60, 40, "ACCESS_REFUSED - cannot publish to "
                        "internal exchange '{p}.internal' in vhost '/'"),
    "bindMissingExchange": (404, 50, 20, "NOT_FOUND - no exchange '{p}.nox' "
                            "in vhost '/'"),
    "bindMissingQueue": (404, 50, 20, "NOT_FOUND - no queue '{p}.noq' in "
                         "vhost '/'"),
    "unbindMissingBinding": None,
    "unknownDeliveryTag": (406, 60, 80, "PRECONDITION_FAILED - unknown "
                           "delivery tag 99"),
    "doubleAck": (406, 60, 80, "PRECONDITION_FAILED - unknown delivery tag 1"),
    "duplicateConsumerTag": (530, 60, 20, "NOT_ALLOWED - attempt to reuse "
                             "consumer tag 'tag-1'"),
    "exclusiveConsumerTaken": (403, 60, 20, "ACCESS_REFUSED - queue '{p}.q' "
                               "in vhost '/' in exclusive use"),
    "txCommitWithoutSelect": (406, 90, 20, "PRECONDITION_FAILED - channel is "
                              "not transactional"),
    "confirmAfterTx": (406, 85, 10, "PRECONDITION_FAILED - cannot switch from "
                       "tx to confirm mode"),
    "txAfterConfirm": (406, 90, 10, "PRECONDITION_FAILED - cannot switch from "
                       "confirm to tx mode"),
    "negativeTtl": (406, 50, 10, "PRECONDITION_FAILED - invalid arg "
                    "'x-message-ttl' for queue '{p}.ttl' in vhost '/': "
                    "{{value_negative,-1}}"),
    "stringMaxLength": (406, 50, 10, "PRECONDITION_FAILED - invalid arg "
                        "'x-max-length' for queue '{p}.ml' in vhost '/': "
                        '"expected integer, got longstr"'),
    "badOverflow": (406, 50, 10, "PRECONDITION_FAILED - invalid arg "
                    "'x-overflow' for queue '{p}.ov' in vhost '/': "
                    "invalid_overflow"),
    "badExpires": (406, 50, 10, "PRECONDITION_FAILED - invalid arg "
                   "'x-expires' for queue '{p}.ex' in vhost '/': "
                   "{{value_zero,0}}"),
    "maxPriorityTooBig": (406, 50, 10, "PRECONDITION_FAILED - invalid arg "
                          "'x-max-priority' for queue '{p}.pr' in vhost '/': "
                          "{{max_value_exceeded,256}}"),
    "purgeMissing": (404, 50, 30, "NOT_FOUND - no queue '{p}.noq' in "
                     "vhost '/'"),
    "deleteMissingQueue": None,
    "deleteMissingExchange": None,
    "deleteIfUnused": (406, 50, 40, "PRECONDITION_FAILED - queue '{p}.q' in "
                       "vhost '/' in use"),
    "deleteIfEmpty": (406, 50, 40, "PRECONDITION_FAILED - queue '{p}.full' "
                      "in vhost '/' not empty"),
    "exchangeDeleteIfUnused": (406, 40, 20, "PRECONDITION_FAILED - exchange "
                               "'{p}.used' in vhost '/' in use"),
    "redeclarePassiveMismatch": None,  # passive ignores the flags
    "internalMismatch": (406, 40, 10, "PRECONDITION_FAILED - inequivalent arg "
                         "'internal' for exchange '{p}.internal' in vhost "
                         "'/': received 'false' but current is 'true'"),
    "autoDeleteMismatch": (406, 40, 10, "PRECONDITION_FAILED - inequivalent "
                           "arg 'auto_delete' for exchange '{p}.internal' in "
                           "vhost '/': received 'true' but current is 'false'"),
    "exchangeArgsMismatch": (406, 40, 10, "PRECONDITION_FAILED - inequivalent "
                             "arg 'alternate-exchange' for exchange "
                             "'{p}.internal' in vhost '/': received the value "
                             "'ae' of type 'longstr' but current is none"),
    "publishDefaultExchangeMissingQueue": None,  # dropped silently
    "bindDefaultExchange": (403, 50, 20, "ACCESS_REFUSED - operation not "
                            "permitted on the default exchange"),
    "getMissingQueue": (404, 60, 70, "NOT_FOUND - no queue '{p}.noq' in "
                        "vhost '/'"),
    "consumeMissingQueue": (404, 60, 20, "NOT_FOUND - no queue '{p}.noq' in "
                            "vhost '/'"),
    "recover": None,
    "recoverNoRequeue": (540, 60, 110, "NOT_IMPLEMENTED - requeue=false"),
    "e2eMissingSource": (404, 40, 30, "NOT_FOUND - no exchange '{p}.nox' in "
                         "vhost '/'"),
    "e2eMissingDestination": (404, 40, 30, "NOT_FOUND - no exchange "
                              "'{p}.nox' in vhost '/'"),
}


@pytest.mark.timeout(90)
def test_error_codes_and_texts_as_rabbitmq(scenario, uniq):
    """Forty-odd mistakes a Java application can make, each on a fresh
    connection: the reply code, the failing method, the reply text the
    client puts in its exception (RabbitMQ 3.10's words), and whether only
    the channel or the whole connection went (codes >= 500)."""
    r = scenario("edge_cases", timeout=60)
    for name, want in EDGE_CASES.items():
        got = r[name]
        if want is None:
            assert got == {"ok": True, "channelOpen": True,
                           "connectionOpen": True}, name
            continue
        code, class_id, method_id, text = want
        # a reply-less method (publish, ack) fails on the next call or
        # while it waits: IOException or AlreadyClosedException
        assert got["exception"] in ("java.io.IOException",
                                    "com.rabbitmq.client.AlreadyClosedException"), (name, got)
        assert (got["code"], got["classId"], got["methodId"]) == (
            code, class_id, method_id), (name, got)
        assert got["text"] == text.format(p=uniq), name
        assert got["hard"] is (code >= 500), name
        assert got["connectionOpen"] is (code < 500), name
        # deleteIfUnused fails on a second channel
        assert got["channelOpen"] is (name == "deleteIfUnused"), name
    assert r["messageCount"] == 0 and r["consumerCount"] == 0
    # authentication_failure_close: a refused login is an
    # AuthenticationFailureException, not a dropped socket
    assert r["wrongPassword"]["exception"] == \
        "com.rabbitmq.client.AuthenticationFailureException"
    assert r["wrongPassword"]["message"].startswith(
        "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN")
    assert {k: r["missingVhost"][k] for k in ("code", "classId", "methodId", "text")} == {
        "code": 530, "classId": 10, "methodId": 40,
        "text": "NOT_ALLOWED - vhost %s.novhost not found" % uniq}


def test_counts_callbacks_amq_exchanges_ttl_priorities_small_frames(scenario, uniq):
    r = scenario("misc")
    assert r["getMessageCount"] == 2  # GetResponse: left after this one
    assert r["whileConsuming"] == {"messageCount": 0, "consumerCount": 1}
    assert r["consumerCalls"] == ["consumeOk:my-tag", "delivery:m1:false",
                                  "delivery:m2:false", "cancelOk:my-tag"]
    # basic.cancel leaves deliveries unacked; channel.close requeues them
    assert r["afterCancel"] is True
    assert r["afterClose"] == {"body": "m1", "redelivered": True,
                               "messageCount": 1}
    ok = {"ok": True, "channelOpen": True, "connectionOpen": True}
    assert r["redeclareAmqDirect"] == ok and r["passiveAmqTopic"] == ok
    e = r["redeclareAmqDirectTransient"]
    assert (e["code"], e["text"]) == (406, "PRECONDITION_FAILED - inequivalent "
                                      "arg 'durable' for exchange 'amq.direct' "
                                      "in vhost '/': received 'false' but "
                                      "current is 'true'")
    for k in ("declareDefaultExchange", "passiveDefaultExchange"):
        assert (r[k]["code"], r[k]["text"]) == (
            403, "ACCESS_REFUSED - operation not permitted on the default "
            "exchange"), k
    assert r["exclusiveAfterOwnerClosed"]["code"] == 404
    assert r["ttlZero"] == "kept"  # expiration "0" with nobody consuming
    assert r["priorityConsumers"] == ["high"] * 4
    assert r["customCloseOpen"] is False
    assert r["customCloseText"] == "app says bye"
    assert r["smallFrames"] == {"frameMax": 4096, "same": True}
    assert r["abortedOpen"] is False


def test_dead_letter_headers_with_java_types(scenario, uniq):
    """What a Java consumer of a dead-letter queue casts: x-death is a
    List of Map, count a Long, time a Date, the rest LongString."""
    r = scenario("dead_letter")
    h = r["headers"]
    ls = lambda s: _t("LongString", s)  # noqa: E731
    work = uniq + ".work"
    (death,) = h.pop("x-death")["v"]
    assert death["t"] == "Map"
    entry = death["v"]
    assert entry.pop("time")["t"] == "Date"
    assert entry == {"count": _t("Long", 1), "reason": ls("rejected"),
                     "queue": ls(work), "exchange": ls(""),
                     "routing-keys": _t("List", [ls(work)]),
                     "original-expiration": ls("60000")}
    assert h == {"keep": ls("me"), "x-first-death-reason": ls("rejected"),
                 "x-first-death-queue": ls(work),
                 "x-first-death-exchange": ls("")}
    assert r["expiration"] is None and r["routingKey"] == uniq + ".dlq"


@pytest.mark.warren_only
@pytest.mark.parametrize("how", ["kill", "stop"])
def test_persistent_messages_survive_a_restart(java_run, broker_factory, tmp_path,
                                               uniq, how):
    """tests/interop/java/Persist.java (issue 15): durable exchanges, queues
    and bindings (exchange-to-exchange too), persistent messages with their
    properties, order and priorities come back after kill -9 and after a
    clean stop; what the client acked stays gone, what it held unacked
    comes back redelivered, transient messages do not. warren_only: it
    restarts the broker on its data_dir."""
    data = str(tmp_path / "data")
    srv = broker_factory("--data-dir", data)
    limit = 40 * SLOW
    env = dict(os.environ, WARREN_TEST_SLOW="%g" % SLOW)
    proc = subprocess.Popen(
        java_run + ["Persist", "before", _uri(srv.address), uniq, "%g" % limit],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        line = _read_line(proc, time.monotonic() + limit)
        if not line:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail("Persist before printed nothing; stderr:\n%s"
                        % err.decode(), pytrace=False)
        before = json.loads(line)
        if how == "kill":
            srv.kill()  # the client still holds its unacked messages
        else:
            assert srv.terminate() == 0
    finally:
        proc.stdin.close()
        proc.wait(10 + limit)
    sent = [b for i in range(30)
            for b in (["m%d" % i, "t%d" % i] if i % 6 == 0 else ["m%d" % i])]
    assert before["acked"] == sent[:6] and before["held"] == sent[6:12]

    srv = broker_factory("--data-dir", data)
    p = subprocess.run(
        java_run + ["Persist", "after", _uri(srv.address), uniq, "%g" % limit],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=limit + 10)
    r = _result("Persist after", p.returncode, p.stdout, p.stderr)
    # the held ones and the rest, without the transient ones
    assert [m["body"] for m in r["q"]] == [b for b in sent[6:] if b[0] == "m"]
    for m in r["q"]:
        i = int(m["body"][1:])
        assert m["redelivered"] is True
        assert m["props"]["deliveryMode"] == 2
        assert m["props"]["contentType"] == "text/plain"
        assert m["props"]["messageId"] == "m%d" % i
        assert m["props"]["headers"] == {"n": str(i)}
        assert m["props"]["appId"] == "java"
    assert r["pq"] == ["r1", "r4", "r2", "r5", "r0", "r3"]
    assert r["priorities"] == [5, 5, 3, 2, 1, 0]
    assert r["e2e"] == "via-e2e" and r["e2eAfter"] == "after-e2e"
    assert srv.terminate() == 0
