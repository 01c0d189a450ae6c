# SPDX-License-Identifier: MIT
"""amqp091-go (RabbitMQ's official Go client) against the broker.

tests/interop/go/ is one Go program (package main) built once per session
offline against Debian's GOPATH tree (golang-github-rabbitmq-amqp091-go-dev
in /usr/share/gocode, golang-go); each test runs one scenario of it
(`scenarios NAME URL PREFIX TIMEOUT`) under a deadline and asserts on the
one JSON line it prints. A missing go or amqp091-go fails these tests with
the Debian package to install: it does not skip them.
"""

import json
import os
import select
import shutil
import subprocess
import tempfile
import time

import pytest

from broker import SLOW  # tests/proto/broker.py: > 1 under valgrind

HERE = os.path.dirname(os.path.abspath(__file__))
GO_DIR = os.path.join(HERE, "go")
GOPATH = "/usr/share/gocode"
AMQP091 = os.path.join(GOPATH, "src", "github.com", "rabbitmq", "amqp091-go")


@pytest.fixture(scope="session")
def go_scenarios():
    """Path of the built scenario program (built once, in a temp dir)."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("go is not installed: apt-get install golang-go",
                    pytrace=False)
    if not os.path.isfile(os.path.join(AMQP091, "channel.go")):
        pytest.fail("amqp091-go is not in %s: apt-get install "
                    "golang-github-rabbitmq-amqp091-go-dev" % AMQP091,
                    pytrace=False)
    tmp = tempfile.mkdtemp(prefix="warren-go-")
    exe = os.path.join(tmp, "scenarios")
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOPROXY="off",
               GOFLAGS="", GOCACHE=os.path.join(tmp, "cache"),
               GOTOOLCHAIN="local")
    try:
        p = subprocess.run([go, "build", "-o", exe, "."], cwd=GO_DIR, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=180)
    except subprocess.TimeoutExpired:
        pytest.fail("go build did not finish within 180 s", pytrace=False)
    if p.returncode != 0:
        pytest.fail("go build of tests/interop/go failed:\n"
                    + p.stdout.decode("utf-8", "replace"), pytrace=False)
    yield exe
    shutil.rmtree(tmp, ignore_errors=True)


def url_of(address):
    host, port = address
    if ":" in host:
        host = "[%s]" % host
    return "amqp://guest:guest@%s:%d/" % (host, port)


def command(exe, name, address, prefix, limit):
    return [exe, name, url_of(address), prefix, "%g" % limit]


def env_for(**extra):
    return dict(os.environ, WARREN_TEST_SLOW="%g" % SLOW, **extra)


def run_scenario(exe, name, address, prefix, timeout=20, **env):
    """Run one scenario; return its JSON result."""
    limit = timeout * SLOW
    try:
        p = subprocess.run(command(exe, name, address, prefix, limit),
                           env=env_for(**env), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=limit + 10)
    except subprocess.TimeoutExpired as e:
        pytest.fail("scenario %s did not exit within %.0f s; stderr:\n%s"
                    % (name, limit + 10, (e.stderr or b"").decode()),
                    pytrace=False)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, "scenario %s failed (exit %d):\n%s" % (
        name, p.returncode, err)
    lines = p.stdout.decode().strip().splitlines()
    assert lines, "scenario %s printed no result; stderr:\n%s" % (name, err)
    return json.loads(lines[-1])


@pytest.fixture
def scenario(go_scenarios, broker, uniq):
    """scenario(name, timeout=20, **env) runs it against the broker under test."""
    def run(name, timeout=20, **env):
        return run_scenario(go_scenarios, name, broker, uniq, timeout, **env)
    return run


def test_dial_dialconfig_server_properties_and_clean_close(scenario):
    r = scenario("connect")
    caps = r["serverProperties"]["capabilities"]
    for cap in ("publisher_confirms", "exchange_exchange_bindings",
                "basic.nack", "consumer_cancel_notify", "connection.blocked",
                "authentication_failure_close", "per_consumer_qos",
                "direct_reply_to", "consumer_priorities"):
        assert caps.get(cap) is True, cap
    assert set(r["capabilityTypes"].values()) == {"bool"}
    assert r["serverProperties"]["version"] == "string"
    assert r["serverProperties"]["product"]
    assert r["serverNamed"].startswith("amq.gen-")
    # Close: no error, NotifyClose closed without a value, IsClosed
    assert r["closeErr"] is None
    assert r["notifyCloseClosed"] is True and r["notifyCloseValue"] is False
    assert r["isClosed"] is True
    assert r["closeErrors"] == []  # 30 more Dial + Close, all clean
    # DialConfig: the client's heartbeat (10 s) is lower than the server's
    # and wins; frame max and channel max are the server's
    assert r["config"] == {"frameSize": 131072, "channelMax": 2047,
                           "heartbeat": 10, "locale": "en_US"}
    # the exclusive server-named queue went with its connection
    gone = r["queueGoneWithConnection"]
    assert gone["code"] == 404 and gone["server"] is True
    assert gone["reason"] == "NOT_FOUND - no queue '%s' in vhost '/'" % (
        r["serverNamed"])


def test_connection_name_from_dialconfig_in_management_api(go_scenarios,
                                                           broker, mgmt,
                                                           uniq):
    r = run_scenario(go_scenarios, "connection_name", broker, uniq,
                     WARREN_TEST_MGMT_URL="http://%s:%d" % mgmt)
    assert r["clientProperties"]["connection_name"] == uniq + ".named"
    assert r["userProvidedName"] == uniq + ".named"


def test_declare_every_exchange_type_bind_unbind(scenario, uniq):
    r = scenario("declare")
    for t in ("direct", "fanout", "topic", "headers"):
        assert r["exchanges"][t] is True
        assert r["queues"][t] == {"name": "%s.q.%s" % (uniq, t),
                                  "messages": 0, "consumers": 0}
        assert r["queues"][t + ".deleted"] == 0
        # the match routed, the miss and the one after unbind did not
        assert r["got"][t] == [t + "-match"], t
    assert r["got"]["e2e"] == ["e2e-routed"]  # exchange.bind, then unbind
    assert r["serverNamed"].startswith("amq.gen-")
    assert r["purged"] == 2
    # auto-delete: the exchange went with its last binding, the queue with
    # its last consumer
    for what, kind in (("autoDeleteExchange", "exchange"),
                       ("autoDeleteQueue", "queue")):
        e = r[what]
        assert e["same"] is True, e
        assert e["returned"]["code"] == 404
        suffix = ".auto.x" if kind == "exchange" else ".auto.q"
        assert e["returned"]["reason"] == (
            "NOT_FOUND - no %s '%s%s' in vhost '/'" % (kind, uniq, suffix))


def test_every_publishing_field_round_trips(scenario, uniq):
    r = scenario("properties")
    full, bare, got = r["seen"]
    want = {
        "headers": {"h": "v", "n": 7},
        "contentType": "application/json",
        "contentEncoding": "gzip",
        "deliveryMode": 2,
        "priority": 5,
        "correlationId": "corr-1",
        "replyTo": "reply.q",
        "expiration": "60000",
        "messageId": "msg-1",
        "timestamp": r["sentTimestamp"],
        "timestampZero": False,
        "type": "kind.x",
        "userId": "guest",  # = the login: accepted and kept
        "appId": "warren-go-test",
        "body": '{"full":true}',
        "exchange": "",
        "routingKey": uniq + ".props",
        "redelivered": False,
    }
    for d, tag, ctag in ((full, 1, uniq + ".ctag"), (got, 3, "")):
        assert {k: d[k] for k in want} == want
        assert d["deliveryTag"] == tag and d["consumerTag"] == ctag
    assert got["messageCount"] == 0
    assert bare["body"] == "bare" and bare["headers"] is None
    assert bare["timestampZero"] is True and bare["deliveryMode"] == 0
    assert all(bare[k] == "" for k in ("contentType", "messageId", "userId",
                                       "expiration", "appId", "type"))


def test_table_value_types_round_trip_with_go_types(scenario):
    r = scenario("table")
    h = r["headers"]

    def t(type_, value):
        return {"type": type_, "value": value}

    assert h == {
        "bool_t": t("bool", True),
        "bool_f": t("bool", False),
        "int8": t("int8", -5),
        "uint8": t("uint8", 200),
        "int16": t("int16", -300),
        "int32": t("int32", -100000),
        "int": t("int32", 123456),  # int goes out as 'I' (32-bit)
        "int64": t("int64", str(2 ** 40)),
        "int64neg": t("int64", str(-(2 ** 33))),
        "float32": t("float32", 1.5),
        "float64": t("float64", -2.25),
        "string": t("string", "h\u00e9llo \u2713"),
        "empty": t("string", ""),
        "bytes": t("[]uint8", "000102feff"),
        "decimal": t("amqp091.Decimal", {"scale": 2, "value": 12345}),
        "time": t("time.Time", 1700000000),
        "nil": t("<nil>", None),
        "nested": t("amqp091.Table", {
            "a": t("amqp091.Table", {"b": t("string", "deep"),
                                     "n": t("int64", "7")}),
            "e": t("amqp091.Table", {})}),
        "array": t("[]interface {}", [
            t("int32", 1), t("string", "two"), t("bool", True),
            t("<nil>", None), t("[]interface {}", [t("int16", 3)]),
            t("amqp091.Table", {"k": t("string", "v")}),
            t("float64", 2.5), t("[]uint8", "6162")]),
        "emptyArray": t("[]interface {}", []),
    }


def test_manual_ack_nack_requeue_reject_drop(scenario):
    r = scenario("ack_nack_reject")
    assert r["deliveries"] == [
        {"body": "ack-me", "redelivered": False, "deliveryTag": 1},
        {"body": "nack-me", "redelivered": False, "deliveryTag": 2},
        {"body": "reject-me", "redelivered": False, "deliveryTag": 3},
        {"body": "nack-me", "redelivered": True, "deliveryTag": 4},
    ]
    assert r["extra"] is False
    assert r["messagesAfter"] == 0  # reject(requeue=false) dropped it


def test_qos_prefetch_limits_unacked(scenario):
    r = scenario("qos")
    assert r["fourthBeforeAck"] is False and r["fifthBeforeAck"] is False
    assert r["order"] == list(range(10))
    assert r["messagesAfter"] == 0


def test_confirm_mode_1000_publishes_all_acked(scenario):
    r = scenario("confirms")
    assert r["acked"] == r["published"] == 1000
    assert r["nacked"] == 0 and r["inOrder"] is True
    assert r["messages"] == 1000


def test_reject_publish_overflow_nacks_the_second_publish(scenario):
    r = scenario("reject_publish")
    assert r["confirms"] == [{"tag": 1, "ack": True}, {"tag": 2, "ack": False}]
    assert r["messages"] == 1 and r["kept"] == "first"


def test_mandatory_unroutable_notify_return_312(scenario, uniq):
    r = scenario("mandatory_return")
    assert (r["replyCode"], r["replyText"]) == (312, "NO_ROUTE")
    assert r["exchange"] == uniq + ".mand" and r["routingKey"] == "nowhere"
    assert r["body"] == "unroutable" and r["messageId"] == "m-1"
    assert r["contentType"] == "text/plain" and r["headers"] == {"h": 1}
    assert r["anotherReturn"] is False
    assert r["messages"] == 1


def test_rpc_over_direct_reply_to(scenario):
    r = scenario("direct_reply_to")
    assert r["replies"] == [{"corr": "c%d" % i, "body": str(i * i)}
                            for i in range(1, 6)]
    (reply_to,) = set(r["replyTos"])
    assert reply_to.startswith("amq.rabbitmq.reply-to.")
    assert r["replyExchange"] == "" and r["replyRoutingKey"] == reply_to


def _closed_with(res, code, reason_start, sync=True):
    """The channel error came back from the call (sync) and NotifyClose."""
    n = res["notified"]
    assert n["code"] == code and n["server"] is True, res
    assert n["recover"] is True  # a channel error: soft
    assert n["reason"].startswith(reason_start), n["reason"]
    if sync:
        assert res["same"] is True, res
    else:
        assert res["returned"] is None  # Publish does not wait


def test_channel_errors_close_only_the_channel(scenario, uniq):
    r = scenario("channel_errors")
    _closed_with(r["passiveMissing"], 404,
                 "NOT_FOUND - no queue '%s.missing' in vhost '/'" % uniq)
    _closed_with(r["exchangeMissing"], 404,
                 "NOT_FOUND - no exchange '%s.nox' in vhost '/'" % uniq)
    _closed_with(r["argsMismatch"], 406,
                 "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for "
                 "queue '%s.q' in vhost '/': received '20' but current is '10'"
                 % uniq)
    _closed_with(r["durableMismatch"], 406,
                 "PRECONDITION_FAILED - inequivalent arg 'durable'")
    _closed_with(r["exchangeTypeMismatch"], 406,
                 "PRECONDITION_FAILED - inequivalent arg 'type' for exchange")
    locked = ("RESOURCE_LOCKED - cannot obtain exclusive access to locked "
              "queue '%s.excl' in vhost '/'" % uniq)
    _closed_with(r["exclusiveDeclare"], 405, locked)
    _closed_with(r["exclusiveConsume"], 405, locked)
    _closed_with(r["publishMissingExchange"], 404,
                 "NOT_FOUND - no exchange '%s.nox' in vhost '/'" % uniq,
                 sync=False)
    _closed_with(r["wrongUserId"], 406,
                 "PRECONDITION_FAILED - user_id property set to "
                 "'not-the-login' but authenticated user was 'guest'",
                 sync=False)
    assert r["afterErrors"] == uniq + ".q"
    assert r["connClosed"] is False


def test_consumer_cancel_notify_on_queue_delete(scenario, uniq):
    r = scenario("consumer_cancel")
    assert r["cancelledTag"] == uniq + ".ctag"
    assert r["deletedMessages"] == 0
    assert r["deliveriesClosed"] is True
    assert r["channelClosed"] is False and r["declareAfter"] is None


def test_tx_commit_and_rollback(scenario):
    r = scenario("tx")
    assert r["afterRollback"] == ""  # rolled-back publish never arrived
    assert r["beforeCommit"] == ""  # not visible before tx.commit
    assert r["committed"] == "committed"
    # the ack was rolled back: closing the channel requeued the message
    assert r["requeued"] is True and r["redelivered"] is True


def test_2mib_message_round_trip(scenario):
    r = scenario("large_message")
    assert r["sent"]["length"] == 2 * 1024 * 1024
    assert r["viaGet"] == dict(r["sent"], messageId="big-1")
    assert r["viaConsume"] == dict(r["sent"], messageId="big-2")


@pytest.mark.timeout(90)
def test_5000_messages_two_competing_consumers(scenario):
    r = scenario("competing_consumers", timeout=60)
    assert r["missing"] == 0 and r["duplicates"] == 0  # complete, disjoint
    assert r["distinct"] == sum(r["counts"]) == 5000
    assert min(r["counts"]) > 0, r["counts"]  # both took a share
    assert r["inOrder"] == [True, True]
    assert r["leftInQueue"] == 0


def test_heartbeat_1s_survives_4s_idle(scenario):
    r = scenario("heartbeat")
    assert r["heartbeat"] == 1
    assert r["closedDuringIdle"] is False and r["closeError"] is None
    assert r["got"] == "after idle"


@pytest.mark.warren_only  # needs a private broker with a tiny watermark
@pytest.mark.timeout(60)
def test_notify_blocked_on_memory_alarm(go_scenarios, broker_factory, uniq):
    srv = broker_factory("--set", "vm_memory_high_watermark.absolute=4194304")
    r = run_scenario(go_scenarios, "blocked", srv.address, uniq, timeout=40)
    assert r["blocked"] == {"Active": True, "Reason": "low on memory"}
    assert r["unblocked"] == {"Active": False, "Reason": ""}
    assert r["purged"] is True


@pytest.mark.warren_only  # needs a private broker to shut down
def test_broker_shutdown_closes_connection_320(go_scenarios, broker_factory,
                                               uniq):
    srv = broker_factory()
    limit = 20 * SLOW
    p = subprocess.Popen(command(go_scenarios, "shutdown", srv.address, uniq,
                                 limit),
                         env=env_for(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10 * SLOW
        ready = b""
        while not ready.endswith(b"\n") and time.monotonic() < deadline:
            if select.select([p.stdout], [], [], 0.1)[0]:
                c = p.stdout.read1(1) if hasattr(p.stdout, "read1") else \
                    p.stdout.read(1)
                if not c:
                    break
                ready += c
        assert json.loads(ready) == {"ready": True}, ready
        assert srv.terminate() == 0
        out, err = p.communicate(timeout=limit + 10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
    assert p.returncode == 0, err.decode("utf-8", "replace")
    r = json.loads(out.decode().strip().splitlines()[-1])
    assert r["connection"] == {
        "code": 320, "server": True, "recover": False,
        "reason": "CONNECTION_FORCED - broker forced connection closure "
                  "with reason 'shutdown'"}
    assert r["isClosed"] is True
    # amqp091-go hands the connection's error to its channels too
    assert r["channel"] == r["connection"]


def _expect(res, kind, code=None, reason=None):
    """kind: None (nothing closed), "sync" (the call returned the channel
    error and NotifyClose heard it), "async" (the call returned nil, then
    the channel closed), "other" (another channel of the case failed),
    "conn" (a connection error, heard by the channel and the connection)."""
    if kind is None:
        assert res == {"returned": None, "channel": None,
                       "connection": None}, res
        return
    err = res["channel"] if kind in ("sync", "async", "conn") \
        else res["returned"]
    assert err["code"] == code and err["reason"] == reason, res
    assert err["server"] is True and err["recover"] is (kind != "conn")
    if kind == "sync":
        assert res["returned"] == err and res["connection"] is None
    elif kind == "async":
        assert res["returned"] is None and res["connection"] is None
    elif kind == "other":
        assert res["channel"] is None and res["connection"] is None
    else:
        assert res["returned"] == err == res["connection"]


def test_edge_cases_reply_codes_and_texts(scenario, uniq):
    """Misuse a Go application can make, with RabbitMQ 3.10's reply code,
    reply text, and whether it closes the call's channel, another one or
    the connection."""
    r = scenario("edges", timeout=30)
    pre = "PRECONDITION_FAILED - "
    q = "'%s.edge' in vhost '/'" % uniq

    def arg(name, queue, why):
        return (pre + "invalid arg '%s' for queue '%s.%s' in vhost '/': %s"
                % (name, uniq, queue, why))

    expected = {
        "ackUnknownTag": ("async", 406, pre + "unknown delivery tag 99"),
        "doubleAck": ("async", 406, pre + "unknown delivery tag 1"),
        "nackMultipleZero": (None,),
        "qosPrefetchSize": ("conn", 540,
                            "NOT_IMPLEMENTED - prefetch_size!=0 (1000)"),
        "qosGlobal": (None,),
        "flowOn": (None,),
        "flowOff": ("conn", 540, "NOT_IMPLEMENTED - active=false"),
        "commitWithoutTx": ("sync", 406, pre + "channel is not transactional"),
        "rollbackWithoutTx": ("sync", 406,
                              pre + "channel is not transactional"),
        "confirmAfterTx": ("sync", 406,
                           pre + "cannot switch from tx to confirm mode"),
        "txAfterConfirm": ("sync", 406,
                           pre + "cannot switch from confirm to tx mode"),
        "reservedExchange": ("sync", 403,
                             "ACCESS_REFUSED - exchange name 'amq.%s' "
                             "contains reserved prefix 'amq.*'" % uniq),
        "reservedQueue": ("sync", 403,
                          "ACCESS_REFUSED - queue name 'amq.%s' contains "
                          "reserved prefix 'amq.*'" % uniq),
        "deleteDefaultExchange": ("sync", 403,
                                  "ACCESS_REFUSED - deletion of system "
                                  "exchange 'amq.direct' in vhost '/' not "
                                  "allowed"),
        "unknownExchangeType": ("conn", 503, "COMMAND_INVALID - unknown "
                                "exchange type 'no-such-type'"),
        "queueDeleteIfEmpty": ("sync", 406, pre + "queue %s not empty" % q),
        "queueDeleteIfUnused": ("other", 406, pre + "queue %s in use" % q),
        "exchangeDeleteIfUnused": ("sync", 406,
                                   pre + "exchange '%s.used' in vhost '/' "
                                   "in use" % uniq),
        "queueDeleteMissing": (None,),  # idempotent since RabbitMQ 3.x
        "exchangeDeleteMissing": (None,),
        "bindMissingQueue": ("sync", 404, "NOT_FOUND - no queue '%s.never' "
                             "in vhost '/'" % uniq),
        "unbindMissingBinding": (None,),
        "exclusiveConsumerTaken": ("other", 403, "ACCESS_REFUSED - queue %s "
                                   "in exclusive use" % q),
        "consumeWhileExclusive": ("other", 403, "ACCESS_REFUSED - queue %s "
                                  "in exclusive use" % q),
        "recover": (None,),
        "cancelUnknown": (None,),
        "publishToReplyToWithoutConsumer": (
            "async", 406, pre + "fast reply consumer does not exist"),
        "badExpiration": ("async", 406,
                          pre + "invalid expiration 'soon': no_integer"),
        "xMaxLengthString": ("sync", 406, arg(
            "x-max-length", "bad", '"expected integer, got longstr"')),
        "xMaxPriorityTooBig": ("sync", 406, arg(
            "x-max-priority", "prio", "{max_value_exceeded,256}")),
        "xExpiresZero": ("sync", 406, arg("x-expires", "exp",
                                          "{value_zero,0}")),
        "xMessageTtlNegative": ("sync", 406, arg(
            "x-message-ttl", "ttl", "{value_negative,-1}")),
        "xOverflowBad": ("sync", 406, arg("x-overflow", "ovf",
                                          "invalid_overflow")),
        "xQueueTypeStream": ("sync", 406, arg(
            "x-queue-type", "qt", "\"unsupported queue type 'whatever'\"")),
    }
    assert set(r) == set(expected) | {"confirmMandatoryOrder"}
    for name, want in expected.items():
        try:
            _expect(r[name], *want)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (name, e)) from None
    # mandatory + confirm, unroutable: basic.return before basic.ack
    assert r["confirmMandatoryOrder"] == {"order": ["return NO_ROUTE", "ack"]}
