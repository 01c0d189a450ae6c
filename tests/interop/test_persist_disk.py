# SPDX-License-Identifier: MIT
"""A full disk (issue 15; docs/internals/STORE.md "Failure"): data_dir on a
small filesystem the test mounts (as root: a tmpfs with size=, where
segments are preallocated and a new one fails with ENOSPC; an ext2 image on
a loop device, where fallocate is not supported, files are sparse and the
chunk write itself fails with ENOSPC). A publisher with confirms sends
persistent messages into a durable queue until the disk is full: it is
blocked (connection.blocked "low on disk", the disk alarm in
/api/health/checks/alarms), the store does not fail, nothing confirmed is
lost or damaged; once space is back (the filesystem remounted bigger, or a
filler file deleted) the alarm clears and publishing resumes; a kill -9
and a restart bring back every confirmed message. Also: the disk alarm
watches data_dir and the definitions file's filesystem when they differ,
and disk_free_limit.relative. Through pika.
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pika
import pytest

import broker as broker_mod  # tests/proto/broker.py

pytestmark = pytest.mark.warren_only  # mounts its own data_dir

SLOW = broker_mod.SLOW
BODY = 32 * 1024
ROOT = os.geteuid() == 0

needs_root = pytest.mark.skipif(
    not ROOT, reason="mounting a small filesystem (mount -t tmpfs, a loop "
    "device) needs root; CI runs these as root")


def body_of(n):
    """A 32 KiB body that says which message it is and checks itself."""
    head = b"%08d:" % n
    block = hashlib.sha256(head).digest()
    return (head + block * (BODY // len(block) + 1))[:BODY]


def check_body(b):
    n = int(b[:8])
    assert b == body_of(n), "message %d damaged" % n
    return n


def sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, "%s: %s" % (" ".join(cmd), r.stderr)


class Mount:
    """A small filesystem at path: "tmpfs" or "ext2" (a loop image)."""

    def __init__(self, tmp_path, kind, mib):
        self.path = tmp_path / "mnt"
        self.path.mkdir()
        self.kind = kind
        self.image = None
        if kind == "tmpfs":
            sh("mount", "-t", "tmpfs", "-o", "size=%dm,mode=0755" % mib,
               "tmpfs", str(self.path))
        else:
            if shutil.which("mkfs.ext2") is None:
                pytest.skip("mkfs.ext2 (e2fsprogs) is not installed")
            self.image = tmp_path / "disk.img"
            with open(self.image, "wb") as f:
                f.truncate(mib << 20)
            sh("mkfs.ext2", "-F", "-q", "-m", "0", str(self.image))
            r = subprocess.run(["mount", "-o", "loop", str(self.image), str(self.path)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                pytest.skip("cannot mount a loop device here: %s" % r.stderr.strip())

    def grow(self, mib):
        sh("mount", "-o", "remount,size=%dm" % mib, str(self.path))

    def free(self):
        st = os.statvfs(str(self.path))
        return st.f_bavail * st.f_frsize

    def umount(self):
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


_cleanup = []


@pytest.fixture(autouse=True)
def _no_broker_or_mount_left():
    yield
    while _cleanup:
        _cleanup.pop()()


def start(data_dir, *args):
    try:
        srv = broker_mod.WarrenServer(args, data_dir=str(data_dir)).start()
    except broker_mod.BrokerError as e:
        pytest.fail(str(e), pytrace=False)
    _cleanup.append(srv.kill)
    return srv


def api_get(srv, path):
    req = urllib.request.Request(
        "http://%s:%d/api/%s" % (srv.mgmt_address + (path,)),
        headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
    try:
        with urllib.request.urlopen(req, timeout=10 * SLOW) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def conn(srv):
    return pika.BlockingConnection(pika.ConnectionParameters(
        host=srv.host, port=srv.port, heartbeat=0,
        blocked_connection_timeout=None))


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    pytest.fail("timed out waiting for " + what, pytrace=False)


class Publisher(threading.Thread):
    """Publishes message 0, 1, 2, ... with confirms until told to stop;
    a blocked connection just pauses it (its publish waits)."""

    def __init__(self, srv, queue):
        super().__init__(daemon=True)
        self.srv, self.queue = srv, queue
        self.confirmed, self.nacked = [], []
        self.blocked = threading.Event()
        self.unblocked = threading.Event()
        self.stop = threading.Event()
        self.error = None
        self.c = conn(srv)  # opened here: the test sees a failure at once

    def run(self):
        try:
            # On the connection underneath: BlockingConnection runs its own
            # callbacks only in process_data_events, never while a publish
            # waits for its confirm (which is where a blocked one waits).
            impl = self.c._impl
            impl.add_on_connection_blocked_callback(
                lambda _c, m: (self.unblocked.clear(), self.blocked.set()))
            impl.add_on_connection_unblocked_callback(
                lambda _c, m: self.unblocked.set())
            ch = self.c.channel()
            ch.confirm_delivery()
            n = 0
            while not self.stop.is_set():
                try:
                    ch.basic_publish("", self.queue, body_of(n),
                                     pika.BasicProperties(delivery_mode=2))
                    self.confirmed.append(n)
                except pika.exceptions.NackError:
                    self.nacked.append(n)
                n += 1
            self.c.close()
        except Exception as e:  # noqa: BLE001 (reported by the test)
            self.error = e


def fill_until_blocked(srv, queue):
    pub = Publisher(srv, queue)
    pub.start()
    wait_for(pub.blocked.is_set, 120, "connection.blocked")
    assert pub.error is None, pub.error
    return pub


def check_blocked(srv, pub):
    status, body = api_get(srv, "health/checks/alarms")
    assert status == 503, body
    assert [a["resource"] for a in body["alarms"]] == ["disk"], body
    node = api_get(srv, "nodes")[1][0]
    assert node["disk_free_alarm"] is True
    assert "disk alarm set" in srv.log_tail(20000)
    # blocked means paused: nothing more is confirmed while it lasts
    n = len(pub.confirmed)
    time.sleep(1.0)
    assert len(pub.confirmed) <= n + 1  # the one read with the block
    log = srv.log_tail(20000)
    assert "store failed" not in log and "ERROR" not in log, log[-3000:]


def drain_and_check(srv, queue, confirmed):
    """Every confirmed message is there, undamaged, flagged redelivered."""
    c = conn(srv)
    ch = c.channel()
    seen = set()
    while True:
        m, _, b = ch.basic_get(queue, auto_ack=True)
        if m is None:
            break
        assert m.redelivered
        seen.add(check_body(b))
    c.close()
    lost = set(confirmed) - seen
    assert not lost, "confirmed and lost: %s" % sorted(lost)[:20]
    return seen


@needs_root
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind,room", [("tmpfs", "grow"), ("tmpfs", "filler"),
                                       ("ext2", "filler")])
def test_disk_full_blocks_publishers_and_loses_nothing(tmp_path, kind, room):
    mnt = Mount(tmp_path, kind, 192)
    _cleanup.append(mnt.umount)
    data = mnt.path / "data"
    if room == "filler":
        with open(mnt.path / "filler", "wb") as f:
            f.write(b"\1" * (80 << 20))
    # ext2: no limit, so that the write itself meets ENOSPC
    limit = "0" if kind == "ext2" else "1MiB"
    srv = start(data, "--set", "disk_free_limit.absolute=" + limit)
    c = conn(srv)
    c.channel().queue_declare("dq", durable=True)
    c.close()

    pub = fill_until_blocked(srv, "dq")
    check_blocked(srv, pub)
    # the queue holds what was confirmed, and it reads back whole
    c = conn(srv)
    ch = c.channel()
    assert ch.queue_declare("dq", passive=True).method.message_count >= len(pub.confirmed)
    m, _, b = ch.basic_get("dq", auto_ack=False)
    assert check_body(b) == 0
    ch.basic_nack(m.delivery_tag, requeue=True)
    c.close()

    # space comes back: the alarm clears, publishing resumes
    before = len(pub.confirmed)
    if room == "grow":
        mnt.grow(512)
    else:
        os.unlink(mnt.path / "filler")
    wait_for(pub.unblocked.is_set, 30, "connection.unblocked")
    wait_for(lambda: len(pub.confirmed) >= before + 50, 60,
             "publishing to resume (%d confirmed)" % len(pub.confirmed))
    assert api_get(srv, "health/checks/alarms")[0] == 200
    assert "disk alarm cleared" in srv.log_tail(20000)
    pub.stop.set()
    pub.join(60 * SLOW)
    assert not pub.is_alive() and pub.error is None, pub.error
    confirmed = list(pub.confirmed)
    assert len(pub.nacked) < 100, len(pub.nacked)

    # kill -9, restart: every confirmed message, whole
    srv.kill()
    srv = start(data)
    log = srv.log_tail(20000)
    assert "corrupt" not in log.lower(), log
    seen = drain_and_check(srv, "dq", confirmed)
    assert max(seen) >= max(confirmed)
    assert srv.terminate() == 0  # a clean exit (no sanitizer report)


@needs_root
@pytest.mark.timeout(120)
def test_disk_alarm_watches_data_dir_and_definitions(tmp_path):
    """data_dir on its own (small) filesystem: the alarm follows it, though
    the definitions file's filesystem has room; and the other way round."""
    mnt = Mount(tmp_path, "tmpfs", 64)
    _cleanup.append(mnt.umount)
    big = tmp_path / "defs.json"
    srv = start(mnt.path / "data", "--set", "definitions.file=%s" % big,
                "--set", "disk_free_limit.absolute=%d" % (mnt.free() + (16 << 20)))
    status, body = api_get(srv, "health/checks/alarms")
    assert status == 503 and body["alarms"][0]["resource"] == "disk", body
    assert "filesystem of %s" % (mnt.path / "data") in srv.log_tail()
    srv.terminate()
    # the definitions file on the small one, data_dir with room
    srv = start(tmp_path / "data", "--set",
                "definitions.file=%s" % (mnt.path / "defs.json"),
                "--set", "disk_free_limit.absolute=%d" % (mnt.free() + (16 << 20)))
    assert api_get(srv, "health/checks/alarms")[0] == 503
    assert "filesystem of %s" % mnt.path in srv.log_tail()
    assert srv.terminate() == 0


@pytest.mark.timeout(60)
def test_disk_free_limit_relative(tmp_path):
    """disk_free_limit.relative: a multiple of the RAM, as in RabbitMQ."""
    ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGESIZE")
    conf = tmp_path / "warren.conf"
    conf.write_text("disk_free_limit.relative = 2.0\n")
    srv = start(tmp_path / "data", "--config", str(conf))
    node = api_get(srv, "nodes")[1][0]
    assert abs(node["disk_free_limit"] - 2 * ram) <= 2
    assert "ignored" not in srv.log_tail()
    free = os.statvfs(str(tmp_path)).f_bavail * os.statvfs(str(tmp_path)).f_frsize
    assert node["disk_free_alarm"] is (free < 2 * ram)
    assert srv.terminate() == 0
    # huge: the alarm is on
    conf.write_text("disk_free_limit.relative = 900\n")
    srv = start(tmp_path / "data", "--config", str(conf))
    assert api_get(srv, "health/checks/alarms")[0] == 503
    assert srv.terminate() == 0
