# SPDX-License-Identifier: MIT
"""A disk that fails a write (issue 15; docs/internals/STORE.md
"Failure"), made by the kernel rather than a test seam: data_dir on an
ext2 file system in a loop device whose backing file is sparse, on a small
tmpfs. Once the tmpfs is full, the loop device cannot write what the file
system hands it: the write-back fails and fdatasync returns the error
(ENOSPC, "critical space allocation error" in the kernel log), and a second
fdatasync would return 0 with the pages dropped (the "fsyncgate" of 2018).
The broker must not retry: the confirm that waited is a nack, it logs one
ERROR, raises the store alarm, nacks every later persistent publish to a
durable queue and lets transient traffic go on. After a restart on the
repaired disk, every message confirmed before the failure is back. Through
pika; as root (mount), as tests/interop/test_persist_disk.py.
"""

import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pika
import pytest

import broker as broker_mod  # tests/proto/broker.py

pytestmark = pytest.mark.warren_only  # mounts its own data_dir

SLOW = broker_mod.SLOW
ROOT = os.geteuid() == 0

_cleanup = []


@pytest.fixture(autouse=True)
def _nothing_left():
    yield
    while _cleanup:
        _cleanup.pop()()


def sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, "%s: %s" % (" ".join(cmd), r.stderr)


def start(data_dir, *args):
    try:
        srv = broker_mod.WarrenServer(args, data_dir=str(data_dir)).start()
    except broker_mod.BrokerError as e:
        pytest.fail(str(e), pytrace=False)
    _cleanup.append(srv.kill)
    return srv


def conn(srv):
    return pika.BlockingConnection(pika.ConnectionParameters(
        host=srv.host, port=srv.port, heartbeat=0))


def alarms(srv):
    req = urllib.request.Request(
        "http://%s:%d/api/health/checks/alarms" % srv.mgmt_address,
        headers={"Authorization": "Basic " +
                 base64.b64encode(b"guest:guest").decode()})
    try:
        with urllib.request.urlopen(req, timeout=10 * SLOW) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


PERSISTENT = pika.BasicProperties(delivery_mode=2)


@pytest.mark.skipif(not ROOT, reason="mounting a tmpfs and a loop device "
                    "needs root; CI runs these as root")
@pytest.mark.timeout(120)
def test_failed_write_back_stops_persistent_publishing(tmp_path):
    if subprocess.run(["which", "mkfs.ext2"], capture_output=True).returncode:
        pytest.skip("mkfs.ext2 (e2fsprogs) is not installed")
    back, mnt = tmp_path / "back", tmp_path / "mnt"
    back.mkdir()
    mnt.mkdir()
    sh("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(back))
    _cleanup.append(lambda: subprocess.run(["umount", "-l", str(back)],
                                           capture_output=True))
    img = back / "disk.img"
    with open(img, "wb") as f:
        f.truncate(256 << 20)  # sparse: the tmpfs holds what is written
    sh("mkfs.ext2", "-F", "-q", "-m", "0", str(img))

    def mount():
        r = subprocess.run(["mount", "-o", "loop", str(img), str(mnt)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip("cannot mount a loop device here: %s" % r.stderr.strip())
        _cleanup.append(lambda: subprocess.run(["umount", "-l", str(mnt)],
                                               capture_output=True))
    mount()
    data = mnt / "data"

    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.queue_declare("dq", durable=True)
    ch.queue_declare("tq", durable=False)
    ch.confirm_delivery()
    for i in range(20):
        ch.basic_publish("", "dq", b"ok-%d" % i, PERSISTENT)  # confirmed
    assert alarms(srv)[0] == 200

    # the backing store fills up: what is written from now on is lost
    with open(back / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
        except OSError:
            pass
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", "dq", os.urandom(4 << 20), PERSISTENT)
    # the broker wrote the line before the nack; the test's thread that
    # copies its stderr may not have yet
    deadline = time.monotonic() + 10 * SLOW
    while ("the msgs store failed" not in srv.log_tail(100000) and
           time.monotonic() < deadline):
        time.sleep(0.02)
    log = srv.log_tail(100000)
    assert log.count("the msgs store failed") == 1, log
    st, body = alarms(srv)
    assert st == 503 and body["alarms"][0]["resource"] == "store", body
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", "dq", b"refused", PERSISTENT)
    ch.basic_publish("", "dq", b"transient", pika.BasicProperties(delivery_mode=1))
    ch.basic_publish("", "tq", b"to-a-transient-queue", PERSISTENT)
    assert ch.basic_get("tq", auto_ack=True)[2] == b"to-a-transient-queue"
    c.close()
    srv.kill()

    # the disk repaired (room again, mounted afresh: nothing read back
    # from the page cache), a restart recovers every confirmed message
    os.unlink(back / "filler")
    subprocess.run(["umount", str(mnt)], capture_output=True)
    r = subprocess.run(["fsck.ext2", "-p", "-f", str(img)], capture_output=True)
    assert r.returncode in (0, 1), r  # 1: errors corrected
    mount()
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    got = []
    while True:
        m, _, b = ch.basic_get("dq", auto_ack=True)
        if m is None:
            break
        got.append(b)
    assert got[:20] == [b"ok-%d" % i for i in range(20)], got[:25]
    assert b"refused" not in got
    c.close()
    assert srv.terminate() == 0
