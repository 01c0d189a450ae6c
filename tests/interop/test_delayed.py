# SPDX-License-Identifier: MIT
"""The x-delayed-message exchange type, as RabbitMQ's
rabbitmq-delayed-message-exchange plugin has it: x-delayed-type picks the
routing, a positive x-delay header (ms) holds the message until it is due,
and the delivered message carries x-delay set to minus its delay.
Persistent messages held by a durable delayed exchange survive a clean
restart and kill -9, their due time absolute (the tests that restart are
warren_only: they restart a broker of their own; Debian's RabbitMQ does
not ship the plugin)."""

import base64
import json
import threading
import time
import urllib.request

import pika
import pytest

from helpers import SLOW, channel_error, connection_error, flush, get_all


def delayed(ch, name, xtype="direct", **kw):
    ch.exchange_declare(name, exchange_type="x-delayed-message",
                        arguments={"x-delayed-type": xtype}, **kw)


def bound_queue(ch, x, key=""):
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, x, routing_key=key)
    return q


def pub(ch, x, key, body, delay=None, **props):
    headers = props.pop("headers", {})
    if delay is not None:
        headers["x-delay"] = delay
    ch.basic_publish(x, key, body, pika.BasicProperties(headers=headers,
                                                        **props))


def count(ch, q):
    return ch.queue_declare(q, passive=True).method.message_count


def wait_for(ch, q, n, timeout):
    deadline = time.monotonic() + timeout * SLOW
    while count(ch, q) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return count(ch, q)


def test_arrives_after_its_delay_not_before(ch, uniq):
    delayed(ch, uniq)
    q = bound_queue(ch, uniq, "k")
    t0 = time.monotonic()
    pub(ch, uniq, "k", b"later", delay=1000)
    pub(ch, uniq, "k", b"now")  # no x-delay: routed at once
    assert [b for _, _, b in get_all(ch, q)] == [b"now"]
    assert wait_for(ch, q, 1, 10) == 1
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.95  # not before its delay (50 ms of clock slack)
    (_, props, body), = get_all(ch, q)
    assert body == b"later"
    assert props.headers["x-delay"] == -1000  # the plugin's swapped header


def test_ordering_by_due_time(ch, uniq):
    delayed(ch, uniq)
    q = bound_queue(ch, uniq, "k")
    for d in (900, 300, 600, 100):
        pub(ch, uniq, "k", str(d).encode(), delay=d)
    assert count(ch, q) == 0
    assert wait_for(ch, q, 4, 10) == 4
    assert [b for _, _, b in get_all(ch, q)] == [b"100", b"300", b"600",
                                                 b"900"]


def test_many_delays(ch, uniq):
    """2,000 messages with scattered delays all arrive, once each, in due
    order. Each publish waits for its confirm, so the broker took the
    message between the client's two clock readings around it and its due
    time lies between them plus the delay: a pair out of order is one
    whose due windows do not overlap, whatever the machine's load (no
    slack for how long a publish takes to arrive, only for the broker's
    coarse clock)."""
    delayed(ch, uniq)
    q = bound_queue(ch, uniq, "k")
    ch.confirm_delivery()
    n = 2000
    due = {}
    t0 = time.monotonic()
    for i in range(n):
        d = 1 + (i * 7919) % 700  # 1..700 ms, scattered
        before = (time.monotonic() - t0) * 1000
        pub(ch, uniq, "k", b"%d" % i, delay=d)
        due[b"%d" % i] = (before + d, (time.monotonic() - t0) * 1000 + d)
    assert wait_for(ch, q, n, 20) == n
    got = [b for _, _, b in get_all(ch, q)]
    assert sorted(got) == sorted(due)  # none lost, none twice
    # they leave by due time: none after one that was surely due later.
    # The broker reads a coarse monotonic clock (CLOCK_MONOTONIC_COARSE,
    # runtime/clock.c): its "now" may be a tick (4 ms) or, on a tickless
    # or virtual machine, a few behind ours; 20 ms covers that.
    late = [(a, b, due[a], due[b]) for a, b in zip(got, got[1:])
            if due[a][0] > due[b][1] + 20]
    assert late == []


@pytest.mark.parametrize("value", [-500, 0, "abc", None])
def test_no_delay_routes_at_once_untouched(ch, uniq, value):
    delayed(ch, uniq)
    q = bound_queue(ch, uniq, "k")
    pub(ch, uniq, "k", b"x", headers={"x-delay": value} if value is not None
        else {})
    (_, props, _), = get_all(ch, q)
    if value is not None:
        assert props.headers["x-delay"] == value


def test_string_delay_is_read(ch, uniq):
    delayed(ch, uniq)
    q = bound_queue(ch, uniq, "k")
    pub(ch, uniq, "k", b"x", delay="300")
    assert count(ch, q) == 0
    assert wait_for(ch, q, 1, 10) == 1


@pytest.mark.parametrize("xtype,key,bind_key,headers", [
    ("fanout", "anything", "", {}),
    ("topic", "a.b.c", "a.#", {}),
    ("headers", "", "", {"h": "v"}),
])
def test_inner_types_route(ch, uniq, xtype, key, bind_key, headers):
    delayed(ch, uniq, xtype)
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, uniq, routing_key=bind_key,
                  arguments={"h": "v"} if xtype == "headers" else None)
    pub(ch, uniq, key, b"x", delay=200, headers=dict(headers))
    pub(ch, uniq, key, b"y", headers=dict(headers))
    assert wait_for(ch, q, 2, 10) == 2
    assert sorted(b for _, _, b in get_all(ch, q)) == [b"x", b"y"]


def test_missing_delayed_type_is_406(conn, uniq):
    ch = conn.channel()
    with channel_error(406) as ei:
        ch.exchange_declare(uniq, exchange_type="x-delayed-message")
    assert "x-delayed-type" in ei.value.reply_text


def test_unknown_delayed_type_is_503(broker, uniq):
    from helpers import connect
    c = connect(broker)
    try:
        ch = c.channel()
        with connection_error(503):
            ch.exchange_declare(uniq, exchange_type="x-delayed-message",
                                arguments={"x-delayed-type": "nope"})
    finally:
        if c.is_open:
            c.close()


def test_mandatory_delayed_is_returned_and_still_delivered(ch, uniq):
    """The plugin routes a held message to no queue at publish time, so a
    mandatory one comes back; it is still delivered when due."""
    delayed(ch, uniq)
    q = bound_queue(ch, uniq, "k")
    returned = []
    ch.add_on_return_callback(lambda *a: returned.append(a[3]))
    ch.basic_publish(uniq, "k", b"m", pika.BasicProperties(
        headers={"x-delay": 200}), mandatory=True)
    flush(ch.connection, 0.3)
    assert returned == [b"m"]
    assert wait_for(ch, q, 1, 10) == 1


def test_delete_exchange_drops_held(ch, uniq):
    delayed(ch, uniq)
    q = bound_queue(ch, uniq, "k")
    for d in (200, 300, 400):
        pub(ch, uniq, "k", b"x", delay=d)
    ch.exchange_delete(uniq)
    delayed(ch, uniq)
    ch.queue_bind(q, uniq, routing_key="k")
    time.sleep(0.8)
    assert count(ch, q) == 0
    pub(ch, uniq, "k", b"y", delay=100)  # the new exchange works
    assert wait_for(ch, q, 1, 10) == 1


def test_redeclare_with_other_delayed_type_keeps_the_first(ch, uniq):
    delayed(ch, uniq)
    delayed(ch, uniq)  # idempotent
    ch.exchange_declare(uniq, passive=True)


@pytest.mark.warren_only
def test_api_counts_held_messages(ch, mgmt, uniq):
    import base64
    import json
    import urllib.request
    delayed(ch, uniq)
    bound_queue(ch, uniq, "k")
    for _ in range(3):
        pub(ch, uniq, "k", b"x", delay=60000)
    req = urllib.request.Request(
        "http://%s:%d/api/exchanges/%%2F/%s" % (mgmt[0], mgmt[1], uniq),
        headers={"Authorization": "Basic " +
                 base64.b64encode(b"guest:guest").decode()})
    with urllib.request.urlopen(req, timeout=5) as r:
        x = json.load(r)
    assert x["type"] == "x-delayed-message"
    assert x["messages_delayed"] == 3
    ch.exchange_delete(uniq)


@pytest.mark.warren_only
@pytest.mark.parametrize("how", ["kill", "term"])
def test_durable_plugin_exchanges_survive_restart(tmp_path, how):
    """Durable x-delayed-message and x-consistent-hash exchanges come back
    with their arguments and bindings (the definitions persist)."""
    import broker as broker_mod  # tests/proto/broker.py

    def start():
        return broker_mod.WarrenServer(data_dir=str(tmp_path)).start()

    srv = start()
    c = pika.BlockingConnection(pika.ConnectionParameters(
        host=srv.host, port=srv.port, heartbeat=0))
    ch = c.channel()
    ch.exchange_declare("dl", "x-delayed-message", durable=True,
                        arguments={"x-delayed-type": "topic"})
    ch.exchange_declare("ch", "x-consistent-hash", durable=True,
                        arguments={"hash-header": "h"})
    ch.queue_declare("dq", durable=True)
    ch.queue_declare("cq", durable=True)
    ch.queue_bind("dq", "dl", routing_key="a.*")
    ch.queue_bind("cq", "ch", routing_key="7")
    c.close()
    if how == "kill":
        srv.kill()
    else:
        assert srv.terminate() == 0
    srv = start()
    try:
        c = pika.BlockingConnection(pika.ConnectionParameters(
            host=srv.host, port=srv.port, heartbeat=0))
        ch = c.channel()
        pub(ch, "dl", "a.b", b"late", delay=200)
        assert count(ch, "dq") == 0
        assert wait_for(ch, "dq", 1, 10) == 1
        (_, props, _), = get_all(ch, "dq")
        assert props.headers["x-delay"] == -200
        pub(ch, "ch", "k", b"x", headers={"h": "v"})
        assert count(ch, "cq") == 1
        c.close()
    finally:
        srv.terminate()


# ---- held messages on disk (durable exchange, persistent messages) --------

PERSISTENT = 2
TRANSIENT = 1


def _open(srv):
    c = pika.BlockingConnection(pika.ConnectionParameters(
        host=srv.host, port=srv.port, heartbeat=0))
    return c, c.channel()


def _held(srv, x):
    """messages_delayed of exchange x, from the management API."""
    req = urllib.request.Request(
        "http://%s:%d/api/exchanges/%%2F/%s" % (srv.mgmt_host, srv.mgmt_port, x),
        headers={"Authorization": "Basic " +
                 base64.b64encode(b"guest:guest").decode()})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)["messages_delayed"]


def _stop(srv, how):
    if how == "kill":
        srv.kill()
    else:
        assert srv.terminate() == 0


@pytest.fixture
def restartable(tmp_path):
    """start(): a warren on tmp_path/data (the same data each time); every
    broker it started is stopped at the end."""
    import broker as broker_mod  # tests/proto/broker.py
    started = []

    def start():
        srv = broker_mod.WarrenServer(data_dir=str(tmp_path / "data")).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.kill()


@pytest.mark.warren_only
@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["kill", "term"])
def test_held_persistent_messages_survive_restart(restartable, how):
    """Confirmed persistent messages held by a durable delayed exchange
    come back after kill -9 or a clean stop; the deadline is absolute, so
    what came due while the broker was down is routed at recovery, in due
    order, with the plugin's x-delay; what is not due yet stays held.
    Transient messages, and anything a non-durable delayed exchange held,
    are gone."""
    srv = restartable()
    c, ch = _open(srv)
    delayed(ch, "dl", durable=True)
    delayed(ch, "tl", durable=False)
    ch.queue_declare("dq", durable=True)
    ch.queue_bind("dq", "dl", routing_key="k")
    ch.queue_bind("dq", "tl", routing_key="k")
    ch.confirm_delivery()
    t0 = time.monotonic()
    # published in an order other than their due order
    for body, d in ((b"third", 1500), (b"first", 500), (b"second", 1000)):
        pub(ch, "dl", "k", body, delay=d, delivery_mode=PERSISTENT)
    pub(ch, "dl", "k", b"later", delay=3600 * 1000, delivery_mode=PERSISTENT)
    pub(ch, "dl", "k", b"transient", delay=500, delivery_mode=TRANSIENT)
    pub(ch, "tl", "k", b"not-durable-x", delay=500, delivery_mode=PERSISTENT)
    assert count(ch, "dq") == 0
    assert _held(srv, "dl") == 5
    c.close()
    _stop(srv, how)
    # down until the three are due (the broker's start adds more)
    time.sleep(max(0.0, 1.6 - (time.monotonic() - t0)))
    srv = restartable()
    c, ch = _open(srv)
    assert wait_for(ch, "dq", 3, 10) == 3
    got = get_all(ch, "dq")
    assert [b for _, _, b in got] == [b"first", b"second", b"third"]
    assert [p.headers["x-delay"] for _, p, _ in got] == [-500, -1000, -1500]
    assert all(p.delivery_mode == PERSISTENT for _, p, _ in got)
    assert _held(srv, "dl") == 1  # "later"; not the transient one
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):
        ch.exchange_declare("tl", passive=True)  # not durable: gone
    c.close()
    # the one still held survives a second restart; the routed ones are
    # not routed again
    _stop(srv, how)
    srv = restartable()
    c, ch = _open(srv)
    assert _held(srv, "dl") == 1
    time.sleep(0.3 * SLOW)
    assert count(ch, "dq") == 0  # get_all acked the three
    c.close()


@pytest.mark.warren_only
@pytest.mark.timeout(120)
def test_routed_held_message_is_not_routed_again_after_kill(restartable):
    """A held message that came due and was routed to a durable queue is
    in that queue once after kill -9: the exchange's record of it ended
    when it was routed."""
    srv = restartable()
    c, ch = _open(srv)
    delayed(ch, "dl", xtype="fanout", durable=True)
    ch.queue_declare("dq", durable=True)
    ch.queue_bind("dq", "dl")
    ch.confirm_delivery()
    for i in range(20):
        pub(ch, "dl", "", b"%d" % i, delay=50 + i * 10,
            delivery_mode=PERSISTENT)
    assert wait_for(ch, "dq", 20, 10) == 20
    assert _held(srv, "dl") == 0
    c.close()
    srv.kill()
    srv = restartable()
    c, ch = _open(srv)
    time.sleep(0.3 * SLOW)
    assert [b for _, _, b in get_all(ch, "dq")] == [b"%d" % i for i in range(20)]
    assert _held(srv, "dl") == 0
    c.close()


@pytest.mark.warren_only
@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["kill", "term"])
def test_deleted_delayed_exchange_drops_held_across_restart(restartable, how):
    """Deleting the exchange drops what it held, on disk too: a new
    exchange of the same name never gets the old one's messages."""
    srv = restartable()
    c, ch = _open(srv)
    delayed(ch, "dl", durable=True)
    ch.queue_declare("dq", durable=True)
    ch.queue_bind("dq", "dl", routing_key="k")
    ch.confirm_delivery()
    for d in (300, 400):
        pub(ch, "dl", "k", b"dropped", delay=d, delivery_mode=PERSISTENT)
    ch.exchange_delete("dl")
    delayed(ch, "dl", durable=True)
    ch.queue_bind("dq", "dl", routing_key="k")
    pub(ch, "dl", "k", b"kept", delay=300, delivery_mode=PERSISTENT)
    c.close()
    _stop(srv, how)
    srv = restartable()
    c, ch = _open(srv)
    assert wait_for(ch, "dq", 1, 10) == 1
    time.sleep(0.5 * SLOW)
    assert [b for _, _, b in get_all(ch, "dq")] == [b"kept"]
    c.close()


@pytest.mark.warren_only
@pytest.mark.timeout(120)
def test_held_persistent_confirm_waits_for_the_sync(tmp_path, monkeypatch):
    """The confirm of a persistent message a durable delayed exchange holds
    goes out once it is on disk (WARREN_TEST_SYNC_GATE: every sync waits
    while the file exists); a transient one is confirmed at once."""
    import broker as broker_mod
    gate = tmp_path / "gate"
    monkeypatch.setenv("WARREN_TEST_SYNC_GATE", str(gate))
    srv = broker_mod.WarrenServer(data_dir=str(tmp_path / "data")).start()
    try:
        c, ch = _open(srv)
        delayed(ch, "dl", durable=True)
        ch.queue_declare("dq", durable=True)
        ch.queue_bind("dq", "dl", routing_key="k")
        gate.touch()
        done = {}

        def publish(mode):
            c2, ch2 = _open(srv)
            ch2.confirm_delivery()
            pub(ch2, "dl", "k", b"m", delay=3600 * 1000, delivery_mode=mode)
            done[mode].set()
            c2.close()

        for mode in (TRANSIENT, PERSISTENT):
            done[mode] = threading.Event()
            threading.Thread(target=publish, args=(mode,), daemon=True).start()
        assert done[TRANSIENT].wait(10 * SLOW), "a transient one waited"
        deadline = time.monotonic() + 10 * SLOW
        while _held(srv, "dl") < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(1.0)  # a second of a disk that does not answer
        assert not done[PERSISTENT].is_set(), "confirmed before the sync"
        gate.unlink()
        assert done[PERSISTENT].wait(10 * SLOW), "not confirmed after the sync"
        c.close()
    finally:
        if gate.exists():
            gate.unlink()
        srv.terminate()


@pytest.mark.warren_only
@pytest.mark.timeout(180)
def test_delayed_exchange_of_an_older_warren_stores_after_restart(
        restartable, tmp_path):
    """A durable delayed exchange declared by a warren that kept delayed
    messages in memory only (its defs/ record has no store id; the test
    writes that log, old_defs.py) is given an id at recovery: with nothing
    declared again, persistent messages it holds survive kill -9, and the
    id it was given holds across a second kill -9."""
    import old_defs

    old_defs.write_defs(tmp_path / "data", [
        old_defs.queue("/", "dq", 1),
        old_defs.exchange("/", "dl", "x-delayed-message",
                          [("x-delayed-type", old_defs.longstr("direct"))]),
        old_defs.bind("/", "dl", "dq", "k"),
    ])
    srv = restartable()
    assert "delayed exchange 'dl' in vhost '/' (declared by an older " \
        "warren) now stores" in srv.log_tail(200000)
    c, ch = _open(srv)
    ch.confirm_delivery()
    t0 = time.monotonic()
    due = 4.0 * SLOW
    pub(ch, "dl", "k", b"soon", delay=int(due * 1000),
        delivery_mode=PERSISTENT)
    pub(ch, "dl", "k", b"later", delay=3600 * 1000, delivery_mode=PERSISTENT)
    # both still held when the broker dies (not routed to the durable
    # queue before it: that would survive without the exchange's records)
    assert _held(srv, "dl") == 2 and count(ch, "dq") == 0
    c.close()
    srv.kill()
    srv = restartable()
    c, ch = _open(srv)
    assert wait_for(ch, "dq", 1, 10 + due) == 1
    got = get_all(ch, "dq")
    assert [(b, p.headers["x-delay"]) for _, p, b in got] == \
        [(b"soon", -int(due * 1000))]
    assert _held(srv, "dl") == 1  # "later"
    c.close()
    srv.kill()
    # the second start reads the id from the record the first one added
    srv = restartable()
    assert "older warren" not in srv.log_tail(200000)
    assert _held(srv, "dl") == 1
    c, ch = _open(srv)
    assert count(ch, "dq") == 0
    c.close()
