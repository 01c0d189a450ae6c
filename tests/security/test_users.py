# SPDX-License-Identifier: MIT
"""Users and logins: RabbitMQ-compatible password hashes in the definitions
file, refused logins (403, logged with the peer address, slowed down
without stalling the broker), guest limited to loopback, the definitions
file written on a fresh start and loaded after a restart, the silent-peer
timeout."""

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pika
import pika.exceptions
import pytest

from conftest import definitions, rabbit_hash

import broker as broker_mod
from broker import SLOW


def params(b, user="guest", password="guest", vhost="/", host=None):
    return pika.ConnectionParameters(
        host=host or b.host, port=b.port, virtual_host=vhost,
        credentials=pika.PlainCredentials(user, password), connection_attempts=1,
        socket_timeout=10 * SLOW, stack_timeout=20 * SLOW,
        blocked_connection_timeout=10 * SLOW, heartbeat=0)


def test_rabbitmq_hash_from_definitions(start_broker):
    """A hash computed as RabbitMQ computes it logs in; so does SHA-512."""
    defs = definitions(users=[("ann", "s3cret", ["management"])],
                       permissions=[("ann", "/", ".*", ".*", ".*")])
    salt = b"\x01\x02\x03\x04"
    defs["users"].append({
        "name": "bob", "hashing_algorithm": "rabbit_password_hashing_sha512",
        "password_hash": base64.b64encode(
            salt + hashlib.sha512(salt + b"pw512").digest()).decode(),
        "tags": "administrator"})  # the pre-3.9 string form of tags
    defs["permissions"].append({"user": "bob", "vhost": "/", "configure": ".*",
                                "write": ".*", "read": ".*"})
    b = start_broker(defs=defs)
    pika.BlockingConnection(params(b, "ann", "s3cret")).close()
    pika.BlockingConnection(params(b, "bob", "pw512")).close()
    # guest is not created when a definitions file exists
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(params(b))


def test_failed_login_403_logged_and_slowed(start_broker):
    b = start_broker("auth_failure_delay = 300\n")
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        with pytest.raises(pika.exceptions.ProbableAuthenticationError) as ei:
            pika.BlockingConnection(params(b, password="wrong"))
        times.append(time.monotonic() - t0)
        assert "(403)" in str(ei.value) and "ACCESS_REFUSED" in str(ei.value)
    # 300 ms, then 600 ms, then 1200 ms: growing per host
    assert times[0] >= 0.28 and times[1] >= 0.58 and times[2] >= 1.18, times
    b.wait_log(r"conn \d+ 127\.0\.0\.1:\d+: login refused: invalid credentials for user 'guest'")
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(params(b, user="nobody"))
    b.wait_log(r"127\.0\.0\.1:\d+: login refused: user 'nobody' does not exist")
    # a good login resets the count for the host: 300 ms again, not 2400
    # (a login under valgrind takes up to a second or two more)
    pika.BlockingConnection(params(b)).close()
    t0 = time.monotonic()
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(params(b, password="wrong"))
    assert time.monotonic() - t0 < (0.9 if SLOW == 1 else 2.2)


def test_slowdown_does_not_block_the_broker(start_broker):
    """The refusal waits on a timer: other clients are served meanwhile."""
    delay = int(2000 * SLOW)
    b = start_broker("auth_failure_delay = %d\n" % delay)
    errs = []

    def bad():
        try:
            pika.BlockingConnection(params(b, password="wrong"))
        except pika.exceptions.ProbableAuthenticationError as e:
            errs.append(e)

    t = threading.Thread(target=bad)
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    c = pika.BlockingConnection(params(b))
    ch = c.channel()
    ch.queue_declare("", exclusive=True)
    c.close()
    assert time.monotonic() - t0 < 1.0 * SLOW  # well before the delay ends
    t.join(10 * SLOW)
    assert len(errs) == 1


def test_silent_peer_closed_after_10s(start_broker):
    """A peer that sends nothing after connecting is closed (default
    handshake_timeout, 10 s)."""
    b = start_broker()
    s = socket.create_connection(b.address, timeout=15 * SLOW)
    t0 = time.monotonic()
    assert s.recv(1) == b""
    assert 9.5 < time.monotonic() - t0 < 10 + 2 * SLOW
    s.close()
    b.wait_log(r"handshake timeout")


def test_definitions_written_on_fresh_start_and_reloaded(tmp_path):
    path = tmp_path / "defs.json"
    conf = tmp_path / "w.conf"
    conf.write_text("definitions.file = %s\ndefault_user = root\ndefault_pass = rootpw\n"
                    "default_vhost = main\n" % path)
    srv = broker_mod.WarrenServer(("--config", str(conf))).start()
    try:
        pika.BlockingConnection(params_for(srv, "root", "rootpw", "main")).close()
    finally:
        assert srv.terminate() == 0
    d = json.loads(path.read_text())
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    (u,) = d["users"]
    assert u["name"] == "root" and u["tags"] == ["administrator"]
    assert u["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    raw = base64.b64decode(u["password_hash"])
    assert len(raw) == 36 and u["password_hash"] == rabbit_hash("rootpw", raw[:4])
    assert d["vhosts"] == [{"name": "main", "description": ""}]
    assert d["permissions"] == [{"user": "root", "vhost": "main", "configure": ".*",
                                 "write": ".*", "read": ".*"}]
    # the file wins over default_user at the next start
    conf.write_text("definitions.file = %s\ndefault_user = other\n" % path)
    srv = broker_mod.WarrenServer(("--config", str(conf))).start()
    try:
        pika.BlockingConnection(params_for(srv, "root", "rootpw", "main")).close()
        with pytest.raises(pika.exceptions.ProbableAuthenticationError):
            pika.BlockingConnection(params_for(srv, "other", "guest", "main"))
    finally:
        assert srv.terminate() == 0


def params_for(srv, user, password, vhost):
    return pika.ConnectionParameters(
        host=srv.host, port=srv.port, virtual_host=vhost,
        credentials=pika.PlainCredentials(user, password), connection_attempts=1,
        socket_timeout=5, heartbeat=0)


# ---- guest from a non-loopback address ------------------------------------
#
# Sending traffic to this machine's external address is not allowed here, so
# the test builds its own network namespace (unshare -n), gives its loopback
# device a non-127 address (198.51.100.1, TEST-NET-2) and runs broker and
# client inside: the broker sees a peer that is not 127.0.0.0/8 or ::1.

NETNS_CLIENT = r"""
import sys, time, pika, pika.exceptions
port, user, pw, host = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
p = pika.ConnectionParameters(host=host, port=port, connection_attempts=1,
    credentials=pika.PlainCredentials(user, pw), socket_timeout=5, heartbeat=0)
try:
    pika.BlockingConnection(p).close()
    print("OK")
except pika.exceptions.ProbableAuthenticationError as e:
    print("REFUSED", e)
"""


def netns_available():
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    r = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"],
                       capture_output=True)
    return r.returncode == 0


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="needs root (unshare -n) for a private network namespace; "
                           "the address classification is unit-tested in check_broker")
def test_guest_refused_from_non_loopback(tmp_path):
    broker_mod.require_tool(netns_available(),
                            "unshare -n with ip (util-linux, iproute2)")
    server = broker_mod.server_binary()
    (tmp_path / "defs.json").write_text(json.dumps(definitions(
        users=[("guest", "guest", ["administrator"]), ("ann", "pw", [])],
        permissions=[("guest", "/", ".*", ".*", ".*"), ("ann", "/", ".*", ".*", ".*")])))
    (tmp_path / "client.py").write_text(NETNS_CLIENT)
    script = r"""
set -e
ip link set lo up
ip addr add 198.51.100.1/32 dev lo
{server} --bind 0.0.0.0 --port 5672 --definitions {d} --set auth_failure_delay=0 \
    --data-dir {data} \
    --log-level info 2> {log} &
pid=$!
for i in $(seq 50); do grep -q 'ready on' {log} && break; sleep 0.1; done
{py} {client} 5672 guest guest 198.51.100.1
{py} {client} 5672 ann pw 198.51.100.1
{py} {client} 5672 guest guest 127.0.0.1
kill -TERM $pid; wait $pid
""".format(server=server, d=tmp_path / "defs.json", log=tmp_path / "log", data=tmp_path / "data",
           py=sys.executable, client=tmp_path / "client.py")
    r = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True,
                       text=True, timeout=60)
    log = (tmp_path / "log").read_text()
    lines = r.stdout.splitlines()
    assert r.returncode == 0, (r.stdout, r.stderr, log)
    assert lines[0].startswith("REFUSED") and "(403)" in lines[0], (lines, log)
    assert lines[1] == "OK" and lines[2] == "OK", (lines, log)
    assert "198.51.100.1" in log and "user 'guest' can only connect via localhost" in log, log
