# SPDX-License-Identifier: MIT
"""Running as a service (issue 19): a RabbitMQ user's rabbitmq.conf starts
warren (keys it has a use for honoured, RabbitMQ's other known keys
accepted with one warning each, typos refused); the configuration file
from $WARREN_CONFIG_FILE; log.file appended to, reopened on SIGUSR1 and
SIGHUP for logrotate, connections logged at the default level;
journald priorities on stderr; --pid-file; systemd's READY=1; the
Prometheus listener on its own port; load_definitions."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pika
import pytest

import broker as broker_mod

pytestmark = pytest.mark.warren_only

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SLOW = broker_mod.SLOW


def run(*args, env=None, timeout=10 * SLOW):
    # a data_dir of the tests' own, never the machine's /var/lib/warren
    return subprocess.run([broker_mod.server_binary(), "--data-dir",
                           broker_mod.scratch_data_dir()] + list(args),
                          capture_output=True, text=True, timeout=timeout, env=env)


def start(*args):
    return broker_mod.WarrenServer(args).start()


def connect(srv):
    c = pika.BlockingConnection(pika.ConnectionParameters(
        host=srv.host, port=srv.port, connection_attempts=1))
    c.channel()
    return c


def wait_for(pred, timeout=5 * SLOW):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


# ---- rabbitmq.conf keys ------------------------------------------------

RABBIT_CONF = """\
# as a RabbitMQ 3.10 node's rabbitmq.conf might have it
listeners.tcp.default = 5672
log.file.level = info
log.console = true
log.console.level = warning
log.file = {log}
disk_free_limit.absolute = 2GB
consumer_timeout = 900000
prometheus.tcp.port = 15692
cluster_formation.peer_discovery_backend = classic_config
cluster_formation.classic_config.nodes.1 = rabbit@hostname1
mqtt.listeners.tcp.default = 1883
queue_master_locator = min-masters
management.tcp.idle_timeout = 120000
"""
IGNORED = {10: "cluster_formation.peer_discovery_backend",
           11: "cluster_formation.classic_config.nodes.1",
           12: "mqtt.listeners.tcp.default", 13: "queue_master_locator",
           14: "management.tcp.idle_timeout"}


def test_rabbitmq_conf_starts_with_one_warning_per_ignored_key(tmp_path):
    conf = tmp_path / "rabbitmq.conf"
    conf.write_text(RABBIT_CONF.format(log=tmp_path / "w.log"))
    r = run("--config", str(conf), "--check-config")
    assert r.returncode == 0 and "configuration ok" in r.stdout, r.stderr
    warnings = [l for l in r.stderr.splitlines() if "ignored" in l]
    assert len(warnings) == len(IGNORED), r.stderr
    for line, key in IGNORED.items():
        assert any("%s:%d: %s: ignored: no effect in warren" % (conf, line, key) in w
                   for w in warnings), (key, r.stderr)
    for honoured in ("log.file", "log.console", "disk_free_limit", "consumer_timeout",
                     "prometheus.tcp.port", "listeners.tcp.default"):
        assert not re.search(r":\d+: %s" % re.escape(honoured), r.stderr), r.stderr


@pytest.mark.parametrize("text,words", [
    ("cluster_formaton.peer_discovery_backend = classic_config\n",
     "unknown key 'cluster_formaton.peer_discovery_backend'"),
    ("log.fiel = /tmp/x.log\n", "unknown key 'log.fiel'"),
    ("log.file.level = loud\n", "log.file.level: expected debug, info"),
    ("log.console = yes\n", "log.console: expected true or false"),
    ("disk_free_limit.absolute = lots\n", "disk_free_limit.absolute: expected a size"),
    ("consumer_timeout = -5\n", "consumer_timeout: expected milliseconds"),
    ("prometheus.tcp.port = 99999\n", "prometheus.tcp.port: expected 0 to 65535"),
])
def test_typos_and_bad_values_still_refused(tmp_path, text, words):
    conf = tmp_path / "bad.conf"
    conf.write_text("heartbeat = 30\n" + text)
    r = run("--config", str(conf), "--check-config")
    assert r.returncode == 1, r.stderr
    assert "%s:2: %s" % (conf, words) in r.stderr, r.stderr


def test_known_key_through_set_warns(tmp_path):
    r = run("--set", "cluster_name=prod", "--check-config")
    assert r.returncode == 0, r.stderr
    assert "--set cluster_name: ignored: no effect in warren" in r.stderr


def test_key_list_comes_from_rabbitmq_schema():
    """runtime/rabbit_keys.txt is RabbitMQ's schema keys: spot checks of
    keys from rabbit.schema and plugin schemas, and none invented."""
    keys = [l.strip() for l in open(os.path.join(ROOT, "runtime", "rabbit_keys.txt"))
            if l.strip() and not l.startswith("#")]
    assert keys == sorted(set(keys))
    for k in ("log.file.level", "disk_free_limit.relative", "consumer_timeout",
              "load_definitions", "prometheus.tcp.port", "vm_memory_high_watermark_paging_ratio",
              "cluster_formation.peer_discovery_backend", "mqtt.listeners.tcp.$name",
              "management.tcp.port"):
        assert k in keys, k
    assert "log.level" not in keys  # warren's own key, not RabbitMQ's


# ---- where the configuration comes from ------------------------------

def test_config_file_from_environment(tmp_path):
    conf = tmp_path / "env.conf"
    conf.write_text("heartbeat = 30\nlog.level = verbose\n")
    env = dict(os.environ, WARREN_CONFIG_FILE=str(conf))
    r = run("--check-config", env=env)
    assert r.returncode == 1 and "%s:2: log.level" % conf in r.stderr, r.stderr
    # --config wins over the environment
    good = tmp_path / "good.conf"
    good.write_text("heartbeat = 30\n")
    r = run("--config", str(good), "--check-config", env=env)
    assert r.returncode == 0 and "configuration ok: %s" % good in r.stdout, r.stderr
    env["WARREN_CONFIG_FILE"] = str(tmp_path / "missing.conf")
    r = run("--check-config", env=env)
    assert r.returncode == 1 and "missing.conf: No such file" in r.stderr


def test_default_config_path_named_in_help():
    assert "/etc/warren/warren.conf" in run("--help").stdout


# ---- logging -------------------------------------------------------------

def test_log_file_connections_and_reopen(tmp_path):
    log = tmp_path / "warren.log"
    conf = tmp_path / "w.conf"
    conf.write_text("log.file = %s\n" % log)
    srv = start("--config", str(conf))
    try:
        c = connect(srv)
        c.close()
        # connection open and close at the default level (notice)
        assert wait_for(lambda: "closed (" in read(log)), read(log)
        text = read(log)
        assert re.search(r"notice +conn \d+ 127\.0\.0\.1:\d+: accepted", text), text
        assert "user 'guest' opened vhost '/'" in text
        for n, sig in enumerate((signal.SIGUSR1, signal.SIGHUP)):
            rotated = tmp_path / ("warren.log.%d" % n)
            os.rename(log, rotated)
            srv.proc.send_signal(sig)
            assert wait_for(lambda: os.path.exists(log)), "log not reopened on %s" % sig
            before = read(rotated)
            c = connect(srv)
            c.close()
            assert wait_for(lambda: "closed (" in read(log)), read(log)
            assert read(rotated) == before  # nothing more went to the old file
        assert "stats: connections=" in read(tmp_path / "warren.log.1")  # SIGUSR1 still logs
    finally:
        assert srv.terminate() == 0
    assert "stopped" in read(log)


def test_log_file_levels(tmp_path):
    log = tmp_path / "warren.log"
    conf = tmp_path / "w.conf"
    conf.write_text("log.file = %s\nlog.file.level = warning\nlog.console.level = debug\n"
                    % log)
    srv = start("--config", str(conf))
    try:
        connect(srv).close()
        assert wait_for(lambda: "closed (" in srv.log_tail()), srv.log_tail()
        assert re.search(r"Z info +data_dir: ", srv.log_tail()), srv.log_tail()
    finally:
        assert srv.terminate() == 0
    assert "accepted" not in read(log) and "notice" not in read(log)


def test_log_file_unwritable_refuses_to_start(tmp_path):
    r = run("--port", "0", "--mgmt-port", "0", "--set",
            "log.file=%s" % (tmp_path / "no" / "dir" / "w.log"))
    assert r.returncode == 1 and "log.file" in r.stderr and "No such file" in r.stderr


def test_journald_priorities_when_stderr_is_the_journal(tmp_path):
    """systemd.exec(5): JOURNAL_STREAM=DEV:INODE names stderr; lines then
    start with <N> (sd-daemon(3) priorities) and carry no timestamp."""
    rfd, wfd = os.pipe()
    st = os.fstat(wfd)
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    p = subprocess.Popen([broker_mod.server_binary(), "--port", "0", "--mgmt-port", "0",
                          "--data-dir", str(tmp_path / "data"),
                          "--set", "prometheus.tcp.port=none", "--set", "cluster_name=x"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=wfd,
                         env=env)
    os.close(wfd)
    f = os.fdopen(rfd, "r")
    lines = []
    try:
        for line in f:
            lines.append(line)
            if "management on http" in line:
                break
        p.send_signal(signal.SIGTERM)
        assert p.wait(10 * SLOW) == 0
        lines += f.readlines()
    finally:
        if p.poll() is None:
            p.kill()
        f.close()
    text = "".join(lines)
    assert re.search(r"^<4>warn --set cluster_name: ignored", text, re.M), text
    assert re.search(r"^<5>notice stopped$", text, re.M), text
    assert not re.search(r"^\d{4}-\d\d-\d\dT", text, re.M), text


# ---- pid file and systemd readiness -------------------------------------

def test_pid_file(tmp_path):
    pid = tmp_path / "warren.pid"
    srv = start("--pid-file", str(pid))
    try:
        assert read(pid) == "%d\n" % srv.proc.pid
    finally:
        assert srv.terminate() == 0
    assert not pid.exists()


def test_pid_file_unwritable(tmp_path):
    r = run("--port", "0", "--mgmt-port", "0", "--pid-file",
            str(tmp_path / "no" / "w.pid"))
    assert r.returncode == 1 and "--pid-file" in r.stderr


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_sd_notify_ready_once_listening(tmp_path, monkeypatch, abstract):
    """Type=notify: READY=1 arrives on $NOTIFY_SOCKET once the AMQP port
    accepts connections; STOPPING=1 on SIGTERM."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "@warren-test-%d-%d" % (os.getpid(), time.time_ns())
        sock.bind("\0" + name[1:])
    else:
        name = str(tmp_path / "notify.sock")
        sock.bind(name)
    sock.settimeout(10 * SLOW)
    monkeypatch.setenv("NOTIFY_SOCKET", name)
    srv = start()
    try:
        msg = sock.recv(4096)
        assert msg == b"READY=1", msg
        socket.create_connection(srv.address, timeout=5).close()
        srv.proc.send_signal(signal.SIGTERM)
        assert sock.recv(4096) == b"STOPPING=1"
        assert srv.proc.wait(10 * SLOW) == 0
    finally:
        srv.terminate()
        sock.close()


# ---- Prometheus ------------------------------------------------------------

def get(host, port, path):
    try:
        with urllib.request.urlopen("http://%s:%d%s" % (host, port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def test_prometheus_on_its_own_port():
    srv = start()
    try:
        assert srv.prom_port and srv.prom_port != srv.mgmt_port
        c = connect(srv)
        status, text = get(srv.host, srv.prom_port, "/metrics")
        assert status == 200
        for name in ("rabbitmq_connections", "rabbitmq_channels", "rabbitmq_queues"):
            assert re.search(r"^%s \d+" % name, text, re.M), (name, text[:2000])
        assert re.search(r"^rabbitmq_connections 1$", text, re.M), text[:2000]
        # the same names on the management port
        status2, text2 = get(srv.mgmt_host, srv.mgmt_port, "/metrics")
        names = lambda t: sorted(set(re.findall(r"^# TYPE (\S+)", t, re.M)))
        assert status2 == 200 and names(text) == names(text2)
        # only /metrics there
        assert get(srv.host, srv.prom_port, "/api/overview")[0] == 404
        c.close()
    finally:
        assert srv.terminate() == 0


def test_prometheus_port_taken_or_off(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        srv = start("--set", "prometheus.tcp.port=%d" % holder.getsockname()[1])
        try:
            assert srv.prom_port is None
            assert "prometheus: cannot listen" in srv.log_tail()
            assert get(srv.mgmt_host, srv.mgmt_port, "/metrics")[0] == 200
        finally:
            assert srv.terminate() == 0
    finally:
        holder.close()
    srv = start("--set", "prometheus.tcp.port=none")
    try:
        assert srv.prom_port is None and "prometheus" not in srv.log_tail()
    finally:
        assert srv.terminate() == 0


# ---- load_definitions ---------------------------------------------------

def test_load_definitions_at_boot(tmp_path):
    defs = tmp_path / "defs.json"
    defs.write_text(json.dumps({
        "vhosts": [{"name": "/"}],
        "exchanges": [{"name": "orders", "vhost": "/", "type": "topic", "durable": True,
                       "auto_delete": False, "internal": False, "arguments": {}}],
        "queues": [{"name": "orders.eu", "vhost": "/", "durable": True,
                    "auto_delete": False, "arguments": {"x-max-length": 10}}],
        "bindings": [{"source": "orders", "vhost": "/", "destination": "orders.eu",
                      "destination_type": "queue", "routing_key": "eu.#",
                      "arguments": {}}],
    }))
    srv = start("--set", "load_definitions=%s" % defs)
    try:
        c = connect(srv)
        ch = c.channel()
        ch.queue_declare("orders.eu", passive=True)
        ch.basic_publish("orders", "eu.fr", b"x")
        assert wait_for(lambda: ch.queue_declare("orders.eu", passive=True)
                        .method.message_count == 1)
        c.close()
    finally:
        assert srv.terminate() == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"queues": [{"name": "q", "vhost": "nope", "durable": true,'
                   ' "auto_delete": false, "arguments": {}}]}')
    r = run("--port", "0", "--mgmt-port", "0", "--set", "load_definitions=%s" % bad)
    assert r.returncode == 1 and "load_definitions: %s: queues[0]: no vhost 'nope'" % bad \
        in r.stderr, r.stderr


# ---- consumer_timeout -----------------------------------------------------

def test_consumer_timeout_closes_channel_and_requeues():
    """RabbitMQ's delivery acknowledgement timeout: a delivery held
    unacked past consumer_timeout closes its channel with 406 and
    RabbitMQ's text; the message goes back to the queue, redelivered.
    A delivery acked in time, and a no-ack consumer, are left alone."""
    srv = start("--set", "consumer_timeout=600")
    try:
        c = connect(srv)
        ch = c.channel()
        ch.queue_declare("slow")
        ch.queue_declare("quick")
        ch.basic_publish("", "slow", b"held")
        # acked well within the timeout, on another channel: never closed
        quick = c.channel()
        quick.basic_publish("", "quick", b"a")
        m, _, _ = quick.basic_get("quick")
        quick.basic_ack(m.delivery_tag)
        # no-ack deliveries are never waited for
        quick.basic_publish("", "quick", b"b")
        assert quick.basic_get("quick", auto_ack=True)[0] is not None
        got, closed = [], []
        ch._impl.add_on_close_callback(lambda chan, reason: closed.append(reason))
        ch.basic_consume("slow", lambda c_, m_, p_, b_: got.append(m_))
        start_t = time.time()
        while ch.is_open and time.time() - start_t < 20 * SLOW:
            c.process_data_events(0.05)
        waited = time.time() - start_t
        assert got and not got[0].redelivered
        assert len(closed) == 1
        assert isinstance(closed[0], pika.exceptions.ChannelClosedByBroker)
        assert closed[0].reply_code == 406
        assert closed[0].reply_text == (
            "PRECONDITION_FAILED - delivery acknowledgement on channel %d timed out. "
            "Timeout value used: 600 ms. This timeout value can be configured, see "
            "consumers doc guide to learn more" % ch.channel_number)
        assert waited >= 0.5  # not before the timeout (the clock is coarse: a few ms)
        assert quick.is_open
        ch2 = c.channel()
        m, _, body = ch2.basic_get("slow", auto_ack=True)
        assert body == b"held" and m.redelivered
        c.close()
    finally:
        assert srv.terminate() == 0


def test_consumer_timeout_off():
    srv = start("--set", "consumer_timeout=0")
    try:
        c = connect(srv)
        ch = c.channel()
        ch.queue_declare("q")
        ch.basic_publish("", "q", b"x")
        assert ch.basic_get("q")[0] is not None
        c.process_data_events(1.5)
        assert ch.is_open
        c.close()
    finally:
        assert srv.terminate() == 0


def wait_closed(c, ch, closed, limit):
    start_t = time.time()
    while ch.is_open and time.time() - start_t < limit:
        c.process_data_events(0.05)
    return time.time() - start_t


def test_queue_consumer_timeout_argument_and_policy():
    """RabbitMQ 3.12's x-consumer-timeout queue argument and
    consumer-timeout policy key: the queue's own timeout, the smaller of
    the two, even with consumer_timeout off."""
    import urllib.request
    import base64
    srv = start("--set", "consumer_timeout=0")
    try:
        c = connect(srv)
        ch = c.channel()
        ch.queue_declare("own", arguments={"x-consumer-timeout": 400})
        ch.queue_declare("plain")
        ch.basic_publish("", "plain", b"p")
        ch.basic_publish("", "own", b"o")
        closed = []
        ch._impl.add_on_close_callback(lambda chan, reason: closed.append(reason))
        # the plain queue's delivery first: the timed-out one is not at the
        # front of the channel's unacked deliveries
        assert ch.basic_get("plain")[0] is not None
        assert ch.basic_get("own")[0] is not None
        waited = wait_closed(c, ch, closed, 20 * SLOW)
        assert waited >= 0.35 and closed, waited
        assert closed[0].reply_code == 406
        assert "Timeout value used: 400 ms." in closed[0].reply_text
        # a policy's consumer-timeout applies to a queue without one
        req = urllib.request.Request(
            "http://%s:%d/api/policies/%%2F/ct" % srv.mgmt_address,
            data=json.dumps({"pattern": "^pol", "definition": {"consumer-timeout": 300},
                             "apply-to": "queues"}).encode(), method="PUT",
            headers={"Content-Type": "application/json",
                     "Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
        assert urllib.request.urlopen(req, timeout=5).status in (201, 204)
        ch = c.channel()
        ch.queue_declare("pol.q")
        ch.basic_publish("", "pol.q", b"x")
        closed = []
        ch._impl.add_on_close_callback(lambda chan, reason: closed.append(reason))
        assert ch.basic_get("pol.q")[0] is not None
        wait_closed(c, ch, closed, 20 * SLOW)
        assert closed and "Timeout value used: 300 ms." in closed[0].reply_text
        # a bad value is refused as RabbitMQ refuses bad arguments
        ch = c.channel()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
            ch.queue_declare("bad", arguments={"x-consumer-timeout": -1})
        assert e.value.reply_code == 406
        assert "invalid arg 'x-consumer-timeout'" in e.value.reply_text
        c.close()
    finally:
        assert srv.terminate() == 0


# ---- disk alarm ------------------------------------------------------------

def api_get(srv, path):
    import base64
    import urllib.request
    req = urllib.request.Request(
        "http://%s:%d/api/%s" % (srv.mgmt_address + (path,)),
        headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_disk_alarm_blocks_publishers(tmp_path):
    """disk_free_limit.absolute above the free space of the definitions
    file's filesystem: RabbitMQ's disk alarm. Publishers get
    connection.blocked "low on disk" and are not read from; the health
    check fails with the disk alarm; consumers still get what is queued."""
    st = os.statvfs(str(tmp_path))
    free = st.f_bavail * st.f_frsize
    srv = start("--set", "definitions.file=%s" % (tmp_path / "defs.json"),
                "--set", "disk_free_limit.absolute=%d" % (free * 4 + (1 << 40)))
    try:
        assert "disk alarm set" in srv.log_tail()
        status, body = api_get(srv, "health/checks/alarms")
        assert status == 503 and body["alarms"][0]["resource"] == "disk", body
        node = api_get(srv, "nodes")[1][0]
        assert node["disk_free_alarm"] is True and node["disk_free"] > 0
        assert node["disk_free_limit"] == free * 4 + (1 << 40)
        blocked = []
        c = pika.BlockingConnection(pika.ConnectionParameters(
            host=srv.host, port=srv.port, connection_attempts=1))
        c.add_on_connection_blocked_callback(lambda conn, m: blocked.append(m.method.reason))
        ch = c.channel()
        ch.queue_declare("q")
        ch.basic_publish("", "q", b"x")
        deadline = time.time() + 10 * SLOW
        while not blocked and time.time() < deadline:
            c.process_data_events(0.05)
        assert blocked == ["low on disk"]
        # Not read from once blocked: the publish that made the broker
        # block the connection may have been taken with it (frames that
        # arrived in one read), but one sent after connection.blocked is
        # not; a second connection sees at most the first message.
        ch.basic_publish("", "q", b"after")
        c.process_data_events(0.5 * SLOW)
        c2 = connect(srv)
        ch2 = c2.channel()
        assert ch2.queue_declare("q", passive=True).method.message_count <= 1
        m, _, body = ch2.basic_get("q", auto_ack=True)
        assert m is None or body == b"x", body
        assert ch2.basic_get("q", auto_ack=True)[0] is None
        c2.close()
    finally:
        assert srv.terminate() == 0  # a blocked publisher does not hold it up


def test_no_disk_alarm_with_room(tmp_path):
    srv = start("--set", "definitions.file=%s" % (tmp_path / "defs.json"),
                "--set", "disk_free_limit.absolute=1MiB")
    try:
        assert api_get(srv, "health/checks/alarms")[0] == 200
        node = api_get(srv, "nodes")[1][0]
        assert node["disk_free_alarm"] is False and node["disk_free_limit"] == 1 << 20
        c = connect(srv)
        ch = c.channel()
        ch.queue_declare("q")
        ch.basic_publish("", "q", b"x")
        assert wait_for(lambda: ch.queue_declare("q", passive=True).method.message_count == 1)
        c.close()
    finally:
        assert srv.terminate() == 0
