# SPDX-License-Identifier: MIT
"""Persistent messages in durable queues survive a restart (issue 15;
docs/internals/STORE.md "A durable queue kind on the store"): after
SIGKILL and after a clean stop they come back with their properties, in
order and by priority, redelivered; acked ones stay gone; transient ones
and those of non-durable queues do not come back; a message routed to two
durable queues is stored once; a broker killed again and again loses
nothing it confirmed; a torn or corrupted tail of the log costs only what
it held. Through pika and kombu.
"""

import glob
import os
import threading
import time

import pika
import pytest

import broker as broker_mod  # tests/proto/broker.py
from restarts import conn, no_broker_left, persistent, start, stop  # noqa: F401 (no_broker_left: autouse)

pytestmark = pytest.mark.warren_only  # restarts its own brokers

WAIT = 5.0 * broker_mod.SLOW


def get_all(ch, q, ack=True):
    """basic.get until empty: [(method, properties, body)]."""
    out = []
    while True:
        m, p, body = ch.basic_get(q, auto_ack=False)
        if m is None:
            return out
        out.append((m, p, body))
        if ack:
            ch.basic_ack(m.delivery_tag)


def count_in_store(data, needle):
    """How many times needle is in the msgs/ store's files."""
    n = 0
    for f in glob.glob(str(data / "msgs" / "*")):
        if os.path.isfile(f):
            with open(f, "rb") as fh:
                n += fh.read().count(needle)
    return n


@pytest.mark.timeout(90)
@pytest.mark.parametrize("how", ["kill", "stop"])
def test_persistent_messages_survive(tmp_path, how):
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare("pq", durable=True)
    ch.queue_declare("prq", durable=True, arguments={"x-max-priority": 5})
    ch.queue_declare("tq", durable=False)
    for i in range(20):
        ch.basic_publish("", "pq", b"p%d" % i, persistent(
            content_type="text/plain", correlation_id="c%d" % i,
            message_id="m%d" % i, headers={"n": i, "s": "x" * i},
            app_id="test", type="t"))
        ch.basic_publish("", "pq", b"t%d" % i,
                         pika.BasicProperties(delivery_mode=1))
        ch.basic_publish("", "tq", b"q%d" % i, persistent())
    for i, prio in enumerate([1, 5, 3, 0, 5, 2]):
        ch.basic_publish("", "prq", b"r%d" % i, persistent(priority=prio))
    # the first three persistent ones and their transient followers acked
    got = []
    while len(got) < 6:
        m, p, body = ch.basic_get("pq", auto_ack=False)
        got.append(body)
        ch.basic_ack(m.delivery_tag)
    assert got == [b"p0", b"t0", b"p1", b"t1", b"p2", b"t2"]
    # p3 and t3 are left unacked when the broker goes
    held = [ch.basic_get("pq", auto_ack=False)[2] for _ in range(2)]
    assert held == [b"p3", b"t3"]
    stop(srv, how)

    srv = start(data)
    assert "recovered 2 queues, 23 messages" in srv.log_tail(), srv.log_tail()
    c = conn(srv)
    ch = c.channel()
    out = get_all(ch, "pq")
    assert [b for _, _, b in out] == [b"p%d" % i for i in range(3, 20)]
    for m, p, body in out:
        i = int(body[1:])
        assert m.redelivered
        assert p.delivery_mode == 2
        assert p.content_type == "text/plain"
        assert p.correlation_id == "c%d" % i and p.message_id == "m%d" % i
        assert p.headers == {"n": i, "s": "x" * i}
        assert p.app_id == "test" and p.type == "t"
    out = get_all(ch, "prq")
    assert [b for _, _, b in out] == [b"r1", b"r4", b"r2", b"r5", b"r0", b"r3"]
    assert [p.priority for _, p, _ in out] == [5, 5, 3, 2, 1, 0]
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):
        ch.queue_declare("tq", passive=True)
    c.close()
    stop(srv, how)
    # what was acked stays gone
    srv = start(data)
    assert "recovered 2 queues, 0 messages" in srv.log_tail(), srv.log_tail()
    assert srv.terminate() == 0  # a clean exit (no sanitizer report)


@pytest.mark.timeout(60)
def test_two_queues_store_the_body_once(tmp_path):
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.exchange_declare("fx", "fanout", durable=True)
    for q in ("a", "b"):
        ch.queue_declare(q, durable=True)
        ch.queue_bind(q, "fx")
    body = os.urandom(200000)
    ch.basic_publish("fx", "", body, persistent())  # confirmed: on disk
    c.close()
    srv.kill()
    assert count_in_store(data, body) == 1
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    for q in ("a", "b"):
        m, _, got = ch.basic_get(q, auto_ack=True)
        assert got == body and m.redelivered
    c.close()
    assert srv.terminate() == 0  # a clean exit (no sanitizer report)


@pytest.mark.timeout(60)
def test_kombu_persistent_survive(tmp_path):
    kombu = pytest.importorskip("kombu")
    data = tmp_path / "data"
    srv = start(data)
    url = "amqp://guest:guest@%s:%d//" % (srv.host, srv.port)
    q = kombu.Queue("kq", durable=True)
    with kombu.Connection(url, connect_timeout=WAIT) as kc:
        with kc.Producer() as prod:
            for i in range(10):
                prod.publish({"n": i}, routing_key="kq", declare=[q],
                             delivery_mode=2, serializer="json")
            prod.publish({"n": -1}, routing_key="kq", declare=[q],
                         delivery_mode=1, serializer="json")
    time.sleep(0.3)  # kombu has no confirms here: let the sync pass
    srv.kill()
    srv = start(data)
    got = []
    url = "amqp://guest:guest@%s:%d//" % (srv.host, srv.port)
    with kombu.Connection(url, connect_timeout=WAIT) as kc:
        sq = kc.SimpleQueue(q)
        while True:
            try:
                m = sq.get(timeout=1)
            except sq.Empty:
                break
            got.append(m.payload["n"])
            assert m.delivery_info["redelivered"]
            m.ack()
        sq.close()
    assert got == list(range(10))
    assert srv.terminate() == 0  # a clean exit (no sanitizer report)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_tail(tmp_path, damage):
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare("dq", durable=True)
    for i in range(50):
        ch.basic_publish("", "dq", b"m%d" % i + b"." * 1000, persistent())
    c.close()
    srv.kill()
    # segment files are allocated ahead: find where the last body is
    last = at = None
    for f in glob.glob(str(data / "msgs" / "*")):
        with open(f, "rb") as fh:
            i = fh.read().rfind(b"m49.")
        if i >= 0:
            last, at = f, i
    assert last is not None
    with open(last, "r+b") as f:
        if damage == "truncate":  # a torn tail: the write stopped there
            f.truncate(at + 100)
        else:  # a flipped byte inside the last message's record
            f.seek(at + 100)
            b = f.read(1)
            f.seek(at + 100)
            f.write(bytes([b[0] ^ 0xFF]))
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    out = [b for _, _, b in get_all(ch, "dq")]
    # the damage is in the last record(s): what is before them is back
    assert 30 <= len(out) < 50, len(out)
    assert out == [b"m%d" % i + b"." * 1000 for i in range(len(out))]
    c.close()
    assert srv.terminate() == 0  # a clean exit (no sanitizer report)


def publisher(srv, state, stop_ev):
    try:
        c = conn(srv)
        ch = c.channel()
        ch.confirm_delivery()
        while not stop_ev.is_set():
            n = state["next"]
            ch.basic_publish("", "kq", b"%d" % n, persistent())
            state["confirmed"].add(n)  # returned: confirmed (ack)
            state["next"] = n + 1
    except Exception:
        state["next"] += 1  # its fate is unknown: skip the number


def consumer(srv, state, stop_ev):
    try:
        c = conn(srv)
        ch = c.channel()
        ch.basic_qos(prefetch_count=50)
        while not stop_ev.is_set():
            m, _, body = ch.basic_get("kq", auto_ack=False)
            if m is None:
                c.sleep(0.005)
                continue
            n = int(body)
            if n in state["seen"]:
                assert m.redelivered, n
                state["dups"] += 1
            state["seen"].add(n)
            ch.basic_ack(m.delivery_tag)
    except AssertionError as e:
        state["errors"].append(str(e))
    except Exception:
        pass


@pytest.mark.timeout(120)
def test_kill_loop_loses_nothing_confirmed(tmp_path):
    data = tmp_path / "data"
    state = {"next": 0, "confirmed": set(), "seen": set(), "dups": 0,
             "errors": []}
    srv = start(data)
    c = conn(srv)
    c.channel().queue_declare("kq", durable=True)
    c.close()
    for _ in range(4):
        stop_ev = threading.Event()
        ts = [threading.Thread(target=f, args=(srv, state, stop_ev))
              for f in (publisher, consumer)]
        for t in ts:
            t.start()
        time.sleep(1.0)
        srv.kill()
        stop_ev.set()
        for t in ts:
            t.join(10)
        srv = start(data)
    c = conn(srv)
    ch = c.channel()
    for m, _, body in get_all(ch, "kq"):
        assert m.redelivered
        state["seen"].add(int(body))
    c.close()
    assert srv.terminate() == 0  # a clean exit (no sanitizer report)
    assert not state["errors"], state["errors"]
    assert len(state["confirmed"]) > 100
    lost = state["confirmed"] - state["seen"]
    assert not lost, sorted(lost)[:20]


@pytest.mark.timeout(60)
def test_deadlines_kept_across_restart(tmp_path):
    """A deadline is absolute: what expired while the broker was down is
    dead-lettered at start; what has time left keeps only what is left."""
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare("dlq", durable=True)
    ch.queue_declare("tq", durable=True, arguments={
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq"})
    ch.basic_publish("", "tq", b"short", persistent(expiration="1000"))
    ch.basic_publish("", "tq", b"long", persistent(expiration="600000"))
    ch.basic_publish("", "tq", b"none", persistent())
    c.close()
    srv.kill()
    time.sleep(1.5)
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    deadline = time.monotonic() + WAIT
    got = None
    while got is None and time.monotonic() < deadline:
        m, p, got = ch.basic_get("dlq", auto_ack=True)
        time.sleep(0.05)
    assert got == b"short"
    assert p.headers["x-death"][0]["reason"] == b"expired" or \
        p.headers["x-death"][0]["reason"] == "expired"
    assert [b for _, _, b in get_all(ch, "tq")] == [b"long", b"none"]
    c.close()
    assert srv.terminate() == 0  # a clean exit (no sanitizer report)


@pytest.mark.timeout(60)
def test_dead_lettered_and_rejected_stay_gone(tmp_path):
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare("dlq", durable=True)
    ch.queue_declare("rq", durable=True, arguments={
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq",
        "x-max-length": 3})
    for i in range(5):  # drop-head: r0 and r1 go to dlq
        ch.basic_publish("", "rq", b"r%d" % i, persistent())
    m, _, body = ch.basic_get("rq", auto_ack=False)
    assert body == b"r2"
    ch.basic_reject(m.delivery_tag, requeue=False)  # to dlq
    m, _, body = ch.basic_get("rq", auto_ack=False)
    ch.basic_nack(m.delivery_tag, requeue=True)  # back, redelivered
    ch.queue_purge("dlq")
    ch.basic_publish("", "dlq", b"after-purge", persistent())
    c.close()
    srv.kill()
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    assert [b for _, _, b in get_all(ch, "rq")] == [b"r3", b"r4"]
    assert [b for _, _, b in get_all(ch, "dlq")] == [b"after-purge"]
    c.close()
    assert srv.terminate() == 0  # a clean exit (no sanitizer report)
