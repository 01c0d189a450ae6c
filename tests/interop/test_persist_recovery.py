# SPDX-License-Identifier: MIT
"""More of what recovery promises (issue 15; docs/internals/STORE.md
"Recovery", "Reclamation"): a record damaged in the middle of the log is
reported with its queue and file and everything else comes back; a
delivery count under x-delivery-limit survives; a queue's and a policy's
message TTL are deadlines on the wall clock, so what expired while the
broker was down is dead-lettered at start; the files of acked messages are
deleted, so the disk follows what is queued; warrenctl shows the
persistence fields. Through pika and warrenctl.
"""

import glob
import os
import re
import struct
import subprocess
import time

import pika
import pytest

import broker as broker_mod  # tests/proto/broker.py
from restarts import conn, no_broker_left, persistent, start, stop  # noqa: F401 (no_broker_left: autouse)

pytestmark = pytest.mark.warren_only  # restarts its own brokers

WAIT = 10.0 * broker_mod.SLOW
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WARRENCTL = os.path.abspath(os.environ.get("WARRENCTL") or
                            os.path.join(REPO, "build", "warrenctl"))


def drain(ch, q):
    """basic.get and ack until empty: [(method, properties, body)]."""
    out = []
    while True:
        m, p, body = ch.basic_get(q, auto_ack=False)
        if m is None:
            return out
        out.append((m, p, body))
        ch.basic_ack(m.delivery_tag)


def chunks(path):
    """(position, data length) of every chunk of a segment file
    (STORE.md "Format": a 32-byte segment header, 48-byte chunk headers
    with the data length at 36 and the trailer length at 40)."""
    with open(path, "rb") as f:
        data = f.read()
    out, at = [], 32
    while at + 48 <= len(data) and data[at] != 0:
        dlen, tlen = struct.unpack(">II", data[at + 36:at + 44])
        out.append((at, dlen))
        at += 48 + dlen + tlen
    return out


@pytest.mark.timeout(90)
@pytest.mark.parametrize("where", ["record", "chunk"])
def test_damage_in_the_middle_reported_and_the_rest_recovered(tmp_path, where):
    """A flipped byte in the middle of the log (not its tail): in a
    message's record, the log names the queue and the file; in a chunk's
    header, the file. Everything else comes back, in order, before and
    after the damage, and the broker starts."""
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare("qa", durable=True)
    ch.queue_declare("qb", durable=True)
    for i in range(100):  # one chunk each: every publish waits for its confirm
        ch.basic_publish("", "qa" if i % 2 == 0 else "qb",
                         b"m%03d." % i + b"." * 500, persistent())
    c.close()
    srv.kill()
    (seg,) = glob.glob(str(data / "msgs" / "*.seg"))
    with open(seg, "rb") as f:
        at = f.read().find(b"m050.")
    if where == "chunk":
        at = max(pos for pos, _ in chunks(seg) if pos < at) + 10  # its time
    else:
        at += 20  # in the body
    with open(seg, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0xFF]))

    srv = start(data)
    log = srv.log_tail(100000)
    assert "corrupt data skipped" in log and os.path.basename(seg) in log, log
    if where == "record":
        assert ("queue 'qa' in vhost '/': 1 message(s) could not be read back"
                in log), log
        assert "msgs/" + os.path.basename(seg) in log, log
    assert "recovered 2 queues, 99 messages" in log, log
    c = conn(srv)
    ch = c.channel()
    qa = [b[:4] for _, _, b in drain(ch, "qa")]
    qb = [b[:4] for _, _, b in drain(ch, "qb")]
    assert qa == [b"m%03d" % i for i in range(0, 100, 2) if i != 50]
    assert qb == [b"m%03d" % i for i in range(1, 100, 2)]
    c.close()
    assert srv.terminate() == 0  # a clean exit (no sanitizer report)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("how", ["kill", "stop"])
def test_delivery_count_survives(tmp_path, how):
    """Under x-delivery-limit a requeued message carries x-delivery-count;
    the count is kept across a restart, and a delivery the broker went
    down under counts as a return (RabbitMQ 3.10's quorum queues after
    kill -9 say the same). The limit still holds after the restart: past
    it the message is dead-lettered."""
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare("dlq", durable=True)
    ch.queue_declare("lq", durable=True, arguments={
        "x-delivery-limit": 3, "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "dlq"})
    ch.basic_publish("", "lq", b"poison", persistent())
    ch.basic_publish("", "lq", b"fine", persistent())
    for n in range(2):
        m, p, body = ch.basic_get("lq", auto_ack=False)
        assert body == b"poison"
        ch.basic_nack(m.delivery_tag, requeue=True)
    m, p, body = ch.basic_get("lq", auto_ack=False)  # held when it goes
    assert p.headers == {"x-delivery-count": 2}
    time.sleep(0.2)  # the records: written at the end of the turn
    stop(srv, how)
    c = None

    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    m, p, body = ch.basic_get("lq", auto_ack=False)
    assert body == b"poison" and m.redelivered
    assert p.headers == {"x-delivery-count": 3}
    ch.basic_nack(m.delivery_tag, requeue=True)  # past the limit: dead-lettered
    m, p, body = ch.basic_get("lq", auto_ack=True)
    assert body == b"fine" and p.headers is None
    deadline = time.monotonic() + WAIT
    while True:
        m, p, body = ch.basic_get("dlq", auto_ack=True)
        if m is not None:
            break
        assert time.monotonic() < deadline, "not dead-lettered"
        time.sleep(0.05)
    assert body == b"poison"
    assert p.headers["x-death"][0]["reason"] in ("delivery_limit",
                                                 b"delivery_limit")
    c.close()
    assert srv.terminate() == 0


def api(srv, method, path, body=None):
    import base64
    import json
    import urllib.request
    req = urllib.request.Request(
        "http://%s:%d/api%s" % (srv.mgmt_host, srv.mgmt_port, path),
        method=method,
        data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Authorization",
                   "Basic " + base64.b64encode(b"guest:guest").decode())
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10 * broker_mod.SLOW) as r:
        data = r.read()
        return json.loads(data) if data else None


@pytest.mark.timeout(90)
@pytest.mark.parametrize("how", ["kill", "stop"])
def test_queue_and_policy_ttl_deadlines_absolute(tmp_path, how):
    """x-message-ttl and a policy's message-ttl: the deadline is set when
    the message is enqueued, on the wall clock; what passed it while the
    broker was down is dead-lettered (or dropped) at start, what has time
    left stays."""
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare("dlq", durable=True)
    dlx = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq"}
    ch.queue_declare("short", durable=True,
                     arguments=dict(dlx, **{"x-message-ttl": 1000}))
    ch.queue_declare("long", durable=True,
                     arguments=dict(dlx, **{"x-message-ttl": 600000}))
    ch.queue_declare("pol", durable=True, arguments=dlx)
    api(srv, "PUT", "/policies/%2F/ttl",
        {"pattern": "^pol$", "definition": {"message-ttl": 1000},
         "apply-to": "queues"})
    for q in ("short", "long", "pol"):
        ch.basic_publish("", q, b"in-" + q.encode(), persistent())
    c.close()
    stop(srv, how)
    time.sleep(1.5)  # both 1 s deadlines pass while the broker is down

    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    got, deadline = [], time.monotonic() + WAIT
    while len(got) < 2:
        assert time.monotonic() < deadline, got
        m, p, body = ch.basic_get("dlq", auto_ack=True)
        if m is None:
            time.sleep(0.05)
            continue
        reason = p.headers["x-death"][0]["reason"]
        got.append((body, reason.decode() if isinstance(reason, bytes) else reason))
    assert sorted(got) == [(b"in-pol", "expired"), (b"in-short", "expired")]
    assert [b for _, _, b in drain(ch, "long")] == [b"in-long"]
    assert drain(ch, "short") == [] and drain(ch, "pol") == []
    c.close()
    assert srv.terminate() == 0


def seg_files(data):
    return glob.glob(str(data / "msgs" / "*.seg"))


@pytest.mark.timeout(180)
def test_acked_segments_reclaimed(tmp_path):
    """Segments (64 MiB files) whose messages are all acked are deleted,
    the active one excepted: the disk follows what is queued, and a
    restart brings nothing acked back."""
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare("big", durable=True)
    body = os.urandom(1 << 20)
    for _ in range(140):  # 140 MiB: three segment files
        ch.basic_publish("", "big", body, persistent())
    assert len(seg_files(data)) >= 3, seg_files(data)
    for m, _, b in drain(ch, "big"):
        assert b == body
    deadline = time.monotonic() + WAIT
    while len(seg_files(data)) > 1:  # the acks' sync, then the deletes
        assert time.monotonic() < deadline, seg_files(data)
        time.sleep(0.05)
    c.close()
    srv.kill()
    srv = start(data)
    assert "recovered 1 queues, 0 messages" in srv.log_tail(), srv.log_tail()
    assert len(seg_files(data)) == 1
    assert srv.terminate() == 0


@pytest.mark.timeout(60)
def test_warrenctl_lists_persistence_fields(tmp_path):
    """warrenctl shows what the API says: durable, messages_persistent,
    message_bytes_persistent, messages_ram, message_bytes_ram; paged-out
    messages are persistent and not in RAM."""
    srv = start(tmp_path / "data", "--set", "queue_ram_messages=4")
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare("pq", durable=True)
    ch.queue_declare("tq", durable=False)
    for i in range(10):
        ch.basic_publish("", "pq", b"p" * 100, persistent())
    for i in range(3):
        ch.basic_publish("", "pq", b"t" * 10, pika.BasicProperties(delivery_mode=1))
        ch.basic_publish("", "tq", b"x" * 7, persistent())
    fields = ["name", "durable", "messages", "messages_persistent",
              "message_bytes_persistent", "messages_ram", "message_bytes_ram"]
    env = {k: v for k, v in os.environ.items()
           if k not in ("WARREN_URL", "WARREN_MGMT_URL", "WARRENCTL_CONFIG")}
    env.update(HOME="/nonexistent",
               WARREN_MGMT_URL="http://%s:%d" % (srv.mgmt_host, srv.mgmt_port))
    p = subprocess.run([WARRENCTL, "-f", "tsv", "list", "queues"] + fields,
                       env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    rows = {line.split("\t")[0]: line.split("\t")
            for line in p.stdout.splitlines()}
    for name in ("pq", "tq"):
        q = api(srv, "GET", "/queues/%2F/" + name)
        assert rows[name] == [name] + [str(q[f]).lower() if isinstance(q[f], bool)
                                       else str(q[f]) for f in fields[1:]]
    # 10 persistent, 4 of them in RAM, and the 3 transient ones
    assert rows["pq"][1:] == ["true", "13", "10", "1000", "7", "430"]
    assert rows["tq"][1:] == ["false", "3", "0", "0", "3", "21"]
    # the default listing has the durable and persistent columns
    p = subprocess.run([WARRENCTL, "list", "queues"], env=env,
                       capture_output=True, text=True, timeout=30)
    header = p.stdout.splitlines()[0].split()
    assert header[-2:] == ["durable", "persistent"]
    c.close()
    assert srv.terminate() == 0


@pytest.mark.timeout(60)
def test_data_dir_from_the_config_file(tmp_path):
    """data_dir in the config file (no --data-dir) is where the broker
    keeps its data and takes its lock: a second broker with the same
    config refuses to start and says why; --data-dir overrides the key."""
    data = tmp_path / "confdata"
    conf = tmp_path / "warren.conf"
    conf.write_text("data_dir = %s\n" % data)
    base = [broker_mod.server_binary(), "--bind", "127.0.0.1", "--port", "0",
            "--mgmt-port", "0", "--set", "prometheus.tcp.port=none",
            "--config", str(conf)]
    first = subprocess.Popen(base, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + WAIT
        err = b""
        while b"ready on" not in err:
            assert time.monotonic() < deadline and first.poll() is None, err
            err += first.stderr.readline()
        assert (data / "LOCK").read_text().strip() == str(first.pid)
        assert (data / "msgs").is_dir()
        r = subprocess.run(base, capture_output=True, text=True, timeout=WAIT)
        assert r.returncode == 1
        assert ("data directory %s is in use by another warren (pid %d)"
                % (data, first.pid)) in r.stderr, r.stderr
        # --data-dir wins over the file's key
        other = tmp_path / "other"
        srv = start(other, "--config", str(conf))
        assert (other / "LOCK").read_text().strip() == str(srv.proc.pid)
        assert srv.terminate() == 0
    finally:
        first.kill()
        first.wait(10)


@pytest.mark.timeout(60)
def test_fanout_to_ten_queues_writes_the_body_once(tmp_path):
    """A persistent message routed to ten durable queues is one MSG record
    (its body once) and ten small ENQ records: the log's data is the body
    plus well under 200 bytes per queue. The recovery line counts each
    queue's copy: queues, messages, bytes, seconds."""
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.exchange_declare("fx", "fanout", durable=True)
    for i in range(10):
        ch.queue_declare("f%d" % i, durable=True)
        ch.queue_bind("f%d" % i, "fx")
    body = os.urandom(100000)
    ch.basic_publish("fx", "", body, persistent())  # confirmed: on disk
    c.close()
    srv.kill()
    (seg,) = seg_files(data)
    with open(seg, "rb") as f:
        assert f.read().count(body) == 1
    written = sum(dlen + 48 for _, dlen in chunks(seg))
    print("log bytes for one 100,000-byte body to ten queues: %d" % written)
    assert len(body) < written < len(body) + 10 * 200, written
    srv = start(data)
    line = re.search(r"recovered (\d+) queues, (\d+) messages, (\d+) bytes "
                     r"in (\d+\.\d+) s", srv.log_tail())
    assert line and line.groups()[:3] == ("10", "10", "1000000"), srv.log_tail()
    c = conn(srv)
    ch = c.channel()
    for i in range(10):
        m, _, got = ch.basic_get("f%d" % i, auto_ack=True)
        assert got == body and m.redelivered
    c.close()
    assert srv.terminate() == 0


@pytest.mark.timeout(60)
def test_delivery_limit_reached_by_a_restart_dead_letters(tmp_path):
    """A delivery the broker was killed under counts as a return: one
    that takes the count past x-delivery-limit dead-letters the message
    at recovery (reason delivery_limit), as the return would have."""
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare("dlq", durable=True)
    ch.queue_declare("lq", durable=True, arguments={
        "x-delivery-limit": 2, "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "dlq"})
    ch.basic_publish("", "lq", b"poison", persistent())
    for n in range(2):
        m, p, body = ch.basic_get("lq", auto_ack=False)
        ch.basic_nack(m.delivery_tag, requeue=True)
    m, p, body = ch.basic_get("lq", auto_ack=False)  # the third delivery
    assert p.headers == {"x-delivery-count": 2}
    time.sleep(0.2)  # the records: written at the end of the turn
    srv.kill()
    c = None

    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    assert ch.basic_get("lq", auto_ack=True)[0] is None
    deadline = time.monotonic() + WAIT
    while True:
        m, p, body = ch.basic_get("dlq", auto_ack=True)
        if m is not None:
            break
        assert time.monotonic() < deadline, "not dead-lettered"
        time.sleep(0.05)
    assert body == b"poison"
    assert p.headers["x-death"][0]["reason"] in ("delivery_limit",
                                                 b"delivery_limit")
    c.close()
    srv.kill()
    # it stays dead-lettered: the next start finds it in dlq only
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    assert ch.basic_get("lq", auto_ack=True)[0] is None
    assert ch.basic_get("dlq", auto_ack=True)[0] is None  # it was acked
    c.close()
    assert srv.terminate() == 0
