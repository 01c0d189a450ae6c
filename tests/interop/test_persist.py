# SPDX-License-Identifier: MIT
"""Durable definitions survive a restart (issue 15; docs/internals/STORE.md):
durable exchanges with their arguments, durable queues with theirs,
bindings between durable things (exchange-to-exchange too), policies and
operator policies come back after SIGKILL (kill -9) and after a clean stop,
through pika and kombu; transient, exclusive and auto-delete queues and
transient exchanges do not; what was deleted stays deleted; a second broker
on the same data_dir refuses to start; the defs/ log is compacted when most
of it is dead.
"""

import base64
import json
import os
import subprocess
import time
import urllib.request

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker

import broker as broker_mod  # tests/proto/broker.py

pytestmark = pytest.mark.warren_only  # restarts its own brokers


def start(data_dir, *args):
    try:
        return broker_mod.WarrenServer(args, data_dir=str(data_dir)).start()
    except broker_mod.BrokerError as e:
        pytest.fail(str(e), pytrace=False)


def stop(srv, how):
    if how == "kill":
        srv.kill()  # SIGKILL: no shutdown code runs
    else:
        assert srv.terminate() == 0


def conn(srv):
    return pika.BlockingConnection(pika.ConnectionParameters(
        host=srv.host, port=srv.port, heartbeat=0))


def api(srv, method, path, body=None):
    req = urllib.request.Request(
        "http://%s:%d/api%s" % (srv.mgmt_host, srv.mgmt_port, path),
        method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            data = r.read()
            return r.status, json.loads(data) if data else None
    except urllib.error.HTTPError as e:
        data = e.read()
        try:
            return e.code, json.loads(data) if data else None
        except ValueError:
            return e.code, None


def exists(ch_factory, kind, name):
    """Passive declare on a fresh channel: True, or False on 404."""
    ch = ch_factory()
    try:
        if kind == "queue":
            ch.queue_declare(name, passive=True)
        else:
            ch.exchange_declare(name, passive=True)
        ch.close()
        return True
    except ChannelClosedByBroker as e:
        assert e.reply_code == 404
        return False


def get_body(ch, q, timeout=5.0):
    deadline = time.monotonic() + timeout * broker_mod.SLOW
    while time.monotonic() < deadline:
        m, _, body = ch.basic_get(q, auto_ack=True)
        if m is not None:
            return body
        time.sleep(0.02)
    return None


@pytest.mark.timeout(90)
@pytest.mark.parametrize("how", ["kill", "stop"])
def test_durable_definitions_survive(tmp_path, how):
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.exchange_declare("ae", "fanout", durable=True)
    ch.exchange_declare("dx", "topic", durable=True,
                        arguments={"alternate-exchange": "ae"})
    ch.exchange_declare("dx2", "fanout", durable=True, internal=True)
    ch.exchange_declare("dx3", "direct", durable=True, auto_delete=True)
    ch.queue_declare("dq", durable=True,
                     arguments={"x-max-priority": 7, "x-max-length": 100,
                                "x-dead-letter-exchange": "ae"})
    ch.queue_declare("dq2", durable=True)
    ch.queue_declare("unrouted", durable=True)
    ch.queue_bind("dq", "dx", "a.#")
    ch.queue_bind("unrouted", "ae")
    ch.exchange_bind("dx2", "dx", "b.*")  # destination dx2, source dx
    ch.queue_bind("dq2", "dx2")
    ch.queue_bind("dq2", "dx3", "k")
    ch.queue_bind("dq2", "amq.direct", "dk", arguments={"x-any": "1"})
    # transient things
    ch.exchange_declare("tx", "fanout", durable=False)
    ch.queue_declare("tq", durable=False)
    ch.queue_declare("adq", durable=True, auto_delete=True)
    ch.queue_declare("exq", durable=True, exclusive=True)
    ch.queue_bind("tq", "dx", "t")
    assert api(srv, "PUT", "/policies/%2F/lim",
               {"pattern": "^dq2$", "definition": {"max-length": 5},
                "apply-to": "queues", "priority": 3})[0] in (201, 204)
    assert api(srv, "PUT", "/operator-policies/%2F/oplim",
               {"pattern": "^dq$", "definition": {"message-ttl": 60000},
                "apply-to": "queues"})[0] in (201, 204)
    qid_before = api(srv, "GET", "/queues/%2F/dq")[1]["arguments"]
    time.sleep(0.2)  # the end-of-turn write and its sync
    stop(srv, how)
    c = None

    srv = start(data)
    assert "recovered 3 queues" in srv.log_tail()
    c = conn(srv)
    chans = lambda: c.channel()  # noqa: E731
    for q in ("dq", "dq2", "unrouted"):
        assert exists(chans, "queue", q), q
    for x in ("ae", "dx", "dx2", "dx3"):
        assert exists(chans, "exchange", x), x
    for q in ("tq", "adq", "exq"):
        assert not exists(chans, "queue", q), q
    assert not exists(chans, "exchange", "tx")
    # arguments and flags as declared
    st, q = api(srv, "GET", "/queues/%2F/dq")
    assert st == 200 and q["durable"] is True and q["arguments"] == qid_before
    st, x = api(srv, "GET", "/exchanges/%2F/dx")
    assert x["type"] == "topic" and x["arguments"] == {"alternate-exchange": "ae"}
    st, x = api(srv, "GET", "/exchanges/%2F/dx2")
    assert x["internal"] is True and x["durable"] is True
    st, x = api(srv, "GET", "/exchanges/%2F/dx3")
    assert x["auto_delete"] is True
    # a redeclare with other arguments is refused: they came back
    ch = c.channel()
    with pytest.raises(ChannelClosedByBroker) as e:
        ch.queue_declare("dq", durable=True, arguments={"x-max-priority": 3})
    assert e.value.reply_code == 406
    # the bindings route
    ch = c.channel()
    ch.basic_publish("dx", "a.x", b"via-topic")
    ch.basic_publish("dx", "b.y", b"via-e2e")
    ch.basic_publish("dx", "zzz", b"via-ae")
    ch.basic_publish("dx3", "k", b"via-autodelete-x")
    ch.basic_publish("amq.direct", "dk", b"via-amq")
    assert get_body(ch, "dq") == b"via-topic"
    bodies = sorted([get_body(ch, "dq2"), get_body(ch, "dq2"), get_body(ch, "dq2")])
    assert bodies == [b"via-amq", b"via-autodelete-x", b"via-e2e"]
    assert get_body(ch, "unrouted") == b"via-ae"
    # no binding to the transient queue was kept
    st, binds = api(srv, "GET", "/exchanges/%2F/dx/bindings/source")
    assert sorted((b["destination"], b["routing_key"]) for b in binds) == \
        [("dq", "a.#"), ("dx2", "b.*")]
    # policies
    st, p = api(srv, "GET", "/policies/%2F/lim")
    assert st == 200 and p["definition"] == {"max-length": 5} and p["priority"] == 3
    st, p = api(srv, "GET", "/operator-policies/%2F/oplim")
    assert st == 200 and p["definition"] == {"message-ttl": 60000}
    st, q = api(srv, "GET", "/queues/%2F/dq2")
    assert q["policy"] == "lim"
    c.close()
    assert srv.terminate() == 0


@pytest.mark.timeout(90)
def test_deleted_stays_deleted(tmp_path):
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.exchange_declare("x1", "direct", durable=True)
    ch.exchange_declare("x2", "direct", durable=True)
    ch.queue_declare("q1", durable=True)
    ch.queue_declare("q2", durable=True)
    ch.queue_bind("q1", "x1", "k1")
    ch.queue_bind("q1", "x1", "k2")
    ch.queue_bind("q2", "x2", "k")
    assert api(srv, "PUT", "/policies/%2F/p1",
               {"pattern": "^q1$", "definition": {"max-length": 9}})[0] in (201, 204)
    ch.queue_unbind("q1", "x1", "k1")
    ch.queue_delete("q2")
    ch.exchange_delete("x2")
    assert api(srv, "DELETE", "/policies/%2F/p1")[0] == 204
    # a re-declared queue is a new one: no old binding comes back with it
    ch.queue_declare("q2", durable=True)
    c.close()
    time.sleep(0.2)
    srv.kill()

    srv = start(data)
    c = conn(srv)
    chans = lambda: c.channel()  # noqa: E731
    assert exists(chans, "queue", "q1") and exists(chans, "queue", "q2")
    assert not exists(chans, "exchange", "x2")
    st, binds = api(srv, "GET", "/exchanges/%2F/x1/bindings/source")
    assert [b["routing_key"] for b in binds] == ["k2"]
    st, binds = api(srv, "GET", "/queues/%2F/q2/bindings")
    assert [b["source"] for b in binds] == [""]  # the default exchange only
    assert api(srv, "GET", "/policies/%2F/p1")[0] == 404
    c.close()
    assert srv.terminate() == 0


@pytest.mark.timeout(60)
def test_second_broker_on_the_same_data_dir_refused(tmp_path):
    data = tmp_path / "data"
    srv = start(data)
    r = subprocess.run([broker_mod.server_binary(), "--port", "0", "--mgmt-port", "0",
                        "--set", "prometheus.tcp.port=none", "--data-dir", str(data)],
                       capture_output=True, text=True, timeout=30 * broker_mod.SLOW)
    assert r.returncode == 1
    assert ("data directory %s is in use by another warren (pid %d)"
            % (data, srv.proc.pid)) in r.stderr
    assert "ready on" not in r.stderr
    assert srv.alive()
    srv.kill()
    # the lock goes with the process, kill -9 too
    srv = start(data)
    assert srv.terminate() == 0


@pytest.mark.timeout(60)
def test_data_dir_created(tmp_path):
    data = tmp_path / "a" / "b"
    (tmp_path / "a").mkdir()
    srv = start(data)
    assert (data / "LOCK").read_text().strip() == str(srv.proc.pid)
    assert (data / "defs").is_dir() and (data / "msgs").is_dir()
    assert srv.terminate() == 0


@pytest.mark.timeout(120)
def test_defs_log_compacted(tmp_path):
    """Declaring and deleting many queues leaves a log mostly dead: it is
    rewritten (a snapshot of what is live) and the dead part reclaimed; what
    is live still comes back."""
    data = tmp_path / "data"
    srv = start(data, "--log-level", "info")
    c = conn(srv)
    ch = c.channel()
    ch.queue_declare("keep", durable=True)
    for i in range(3000):
        ch.queue_declare("churn-%d" % i, durable=True)
        ch.queue_delete("churn-%d" % i)
    ch.queue_declare("keep2", durable=True)
    c.close()
    time.sleep(0.3)
    assert "defs: compacted" in srv.log_tail(200000)
    srv.kill()
    size = sum(f.stat().st_size for f in (data / "defs").glob("*.seg"))
    srv = start(data)
    assert "recovered 2 queues" in srv.log_tail()
    c = conn(srv)
    chans = lambda: c.channel()  # noqa: E731
    assert exists(chans, "queue", "keep") and exists(chans, "queue", "keep2")
    assert not exists(chans, "queue", "churn-2999")
    c.close()
    # 6,000 records of about 60 bytes would be 360 kB in one 1 MiB file;
    # compaction reclaims full files only, so check the records instead:
    # a restart replays few of them
    assert srv.terminate() == 0
    assert size <= 3 * (1 << 20)


@pytest.mark.timeout(90)
def test_kombu_durable_entities_survive_kill(tmp_path):
    """kombu (py-amqp) declares its entities durable by default."""
    from kombu import Connection, Exchange, Producer, Queue
    data = tmp_path / "data"
    srv = start(data)
    url = "amqp://guest:guest@%s:%d//" % (srv.host, srv.port)
    with Connection(url) as kc:
        ex = Exchange("kx", type="topic")
        q = Queue("kq", exchange=ex, routing_key="kombu.#",
                  queue_arguments={"x-max-priority": 4})
        q(kc.default_channel).declare()
        tq = Queue("ktq", exchange=ex, routing_key="t", durable=False,
                   auto_delete=True)
        tq(kc.default_channel).declare()
    time.sleep(0.2)
    srv.kill()
    srv = start(data)
    url = "amqp://guest:guest@%s:%d//" % (srv.host, srv.port)
    with Connection(url) as kc:
        ch = kc.default_channel
        assert ch.queue_declare("kq", passive=True).queue == "kq"
        Producer(ch).publish({"n": 1}, exchange="kx", routing_key="kombu.a",
                             serializer="json")
        sq = kc.SimpleQueue(Queue("kq", exchange=Exchange("kx", type="topic"),
                                  routing_key="kombu.#",
                                  queue_arguments={"x-max-priority": 4}))
        m = sq.get(timeout=5 * broker_mod.SLOW)
        assert m.payload == {"n": 1}
        m.ack()
        sq.close()
    st, q = api(srv, "GET", "/queues/%2F/kq")
    assert q["arguments"] == {"x-max-priority": 4}
    assert api(srv, "GET", "/queues/%2F/ktq")[0] == 404
    assert srv.terminate() == 0


@pytest.mark.timeout(60)
def test_failed_store_is_loud(tmp_path, monkeypatch):
    """An fsync error is not retried (STORE.md "Failure"): one ERROR line,
    an alarm in /api/health/checks/alarms, and persistent publishes to
    durable queues are nacked from then on; transient traffic goes on.
    (WARREN_TEST_SYNC_FAIL=0: the broker's first sync fails with EIO.)"""
    monkeypatch.setenv("WARREN_TEST_SYNC_FAIL", "0")
    srv = start(tmp_path / "data")
    assert api(srv, "GET", "/health/checks/alarms")[0] == 200
    c = conn(srv)
    ch = c.channel()
    ch.queue_declare("dq", durable=True)  # a defs/ record: its sync fails
    ch.queue_declare("tq", durable=False)
    deadline = time.monotonic() + 10 * broker_mod.SLOW
    while api(srv, "GET", "/health/checks/alarms")[0] != 503:
        assert time.monotonic() < deadline, srv.log_tail()
        time.sleep(0.05)
    st, body = api(srv, "GET", "/health/checks/alarms")
    assert {"resource": "store", "reason": "Input/output error"}.items() <= \
        body["alarms"][0].items()
    log = srv.log_tail(100000)
    assert log.count("the defs store failed: Input/output error") == 1
    ch.confirm_delivery()
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", "dq", b"p", pika.BasicProperties(delivery_mode=2))
    # transient messages, and persistent ones to a transient queue, go on
    ch.basic_publish("", "dq", b"t", pika.BasicProperties(delivery_mode=1))
    ch.basic_publish("", "tq", b"p", pika.BasicProperties(delivery_mode=2))
    st, q = api(srv, "GET", "/queues/%2F/dq")
    assert q["durable"] is True
    for k in ("messages_persistent", "message_bytes_persistent", "messages_ram",
              "message_bytes_ram"):
        assert k in q, k
    c.close()
    srv.kill()


@pytest.mark.timeout(90)
def test_vhosts_users_permissions_kept_in_data_dir(tmp_path):
    """Without definitions.file, users, vhosts and permissions are kept in
    data_dir/definitions.json: a vhost made through the API comes back with
    its durable queue, a user with their password and permissions."""
    data = tmp_path / "data"
    srv = start(data)
    assert api(srv, "PUT", "/vhosts/v1", {})[0] in (201, 204)
    assert api(srv, "PUT", "/users/ann", {"password": "pw", "tags": ""})[0] in (201, 204)
    assert api(srv, "PUT", "/permissions/v1/ann",
               {"configure": ".*", "write": ".*", "read": ".*"})[0] in (201, 204)
    c = pika.BlockingConnection(pika.ConnectionParameters(
        host=srv.host, port=srv.port, virtual_host="v1",
        credentials=pika.PlainCredentials("ann", "pw")))
    c.channel().queue_declare("vq", durable=True)
    c.close()
    time.sleep(0.2)
    srv.kill()
    assert (data / "definitions.json").exists()
    srv = start(data)
    c = pika.BlockingConnection(pika.ConnectionParameters(
        host=srv.host, port=srv.port, virtual_host="v1",
        credentials=pika.PlainCredentials("ann", "pw")))
    assert c.channel().queue_declare("vq", passive=True).method.queue == "vq"
    c.close()
    # a deleted vhost stays deleted, its queue with it
    assert api(srv, "DELETE", "/vhosts/v1")[0] == 204
    assert api(srv, "PUT", "/vhosts/v1", {})[0] in (201, 204)
    time.sleep(0.2)
    srv.kill()
    srv = start(data)
    assert api(srv, "GET", "/vhosts/v1")[0] == 200
    assert api(srv, "GET", "/queues/v1/vq")[0] == 404
    assert srv.terminate() == 0


@pytest.mark.timeout(120)
def test_declares_survive_a_kill_loop(tmp_path):
    """A client declares and binds durable queues and deletes some, one
    at a time, while the broker is SIGKILLed at random moments and
    restarted: every declare-ok it got is a queue (with its binding) after
    the restart, every delete-ok a queue gone. The definition's record is
    written before the reply leaves (the end-of-turn flush writes the
    stores first), so kill -9 cannot lose an acknowledged change."""
    import random
    import threading
    data = tmp_path / "data"
    rnd = random.Random(15)
    declared, deleted, unknown = set(), set(), set()
    n = 0
    for _round in range(5):
        srv = start(data)
        c = conn(srv)
        ch = c.channel()
        ch.exchange_declare("kx", "direct", durable=True)
        # every queue acknowledged so far is there, bound
        for name in sorted(declared - deleted)[-20:]:
            ch.queue_declare(name, passive=True)
        for name in sorted(deleted)[-20:]:
            assert not exists(lambda: c.channel(), "queue", name), name
        ch = c.channel()
        killer = threading.Timer(rnd.uniform(0.05, 0.4), srv.kill)
        killer.start()
        name = None
        try:
            while True:
                name = "kq-%05d" % n
                n += 1
                ch.queue_declare(name, durable=True)
                ch.queue_bind(name, "kx", name)
                declared.add(name)
                if n % 3 == 0:
                    ch.queue_delete(name)
                    deleted.add(name)
        except Exception:
            # the broker died under us: the change in flight may or may
            # not have been made; nothing is asserted about it
            declared.discard(name)
            deleted.discard(name)
            unknown.add(name)
        killer.join()
        srv.kill()
    srv = start(data)
    st, qs = api(srv, "GET", "/queues/%2F")
    names = {q["name"] for q in qs}
    assert declared - deleted <= names
    assert not (deleted & names)
    st, binds = api(srv, "GET", "/exchanges/%2F/kx/bindings/source")
    assert {b["destination"] for b in binds} >= declared - deleted
    assert n > 50, n  # the loop did run
    assert srv.terminate() == 0
