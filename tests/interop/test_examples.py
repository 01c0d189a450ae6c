# SPDX-License-Identifier: MIT
"""libwarren's examples (examples/*.c) run as programs against the broker
under test, and against a RabbitMQ when one answers at $WARREN_RABBITMQ
(host:port) or 127.0.0.1:5672 with guest/guest (skipped otherwise). pika
checks what they put on the wire.

The binaries come from $WARREN_EXAMPLES (a directory), else build/examples/,
else they are compiled here from the sources with cc.
"""

import os
import shutil
import socket
import subprocess
import time

import pika
import pytest

from helpers import connect

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NAMES = ("producer", "consumer", "rpc_client", "rpc_server")
RUN_TIMEOUT = 30


def _compile(outdir):
    cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
    srcs = []
    for d in ("common", "protocol", "client"):
        srcs += sorted(os.path.join(REPO, d, f)
                       for f in os.listdir(os.path.join(REPO, d)) if f.endswith(".c"))
    for name in NAMES:
        cmd = [cc, "-std=c11", "-D_GNU_SOURCE", "-O1", "-g",
               "-I" + os.path.join(REPO, "client"),
               "-o", os.path.join(outdir, name),
               os.path.join(REPO, "examples", name + ".c")] + srcs + ["-lssl", "-lcrypto"]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert p.returncode == 0, "cannot build %s:\n%s" % (name, p.stdout.decode())
    return outdir


@pytest.fixture(scope="session")
def bindir(tmp_path_factory):
    env = os.environ.get("WARREN_EXAMPLES")
    if env:
        return env
    built = os.path.join(REPO, "build", "examples")
    if all(os.access(os.path.join(built, n), os.X_OK) for n in NAMES):
        return built
    return _compile(str(tmp_path_factory.mktemp("examples")))


def _rabbitmq_address():
    spec = os.environ.get("WARREN_RABBITMQ", "127.0.0.1:5672")
    host, _, port = spec.rpartition(":")
    return (host or "127.0.0.1", int(port))


def _rabbitmq_reachable(addr):
    try:
        socket.create_connection(addr, timeout=1).close()
        connect(addr).close()
    except Exception:
        return False
    return True


@pytest.fixture(params=["warren", "rabbitmq"])
def target(request):
    """(host, port) of the broker the examples talk to."""
    if request.param == "warren":
        return request.getfixturevalue("broker")
    addr = _rabbitmq_address()
    if not _rabbitmq_reachable(addr):
        pytest.skip("no RabbitMQ with guest/guest at %s:%d (set WARREN_RABBITMQ)" % addr)
    return addr


def url(addr):
    return "amqp://guest:guest@%s:%d/" % addr


def run(bindir, name, *args, timeout=RUN_TIMEOUT):
    p = subprocess.run([os.path.join(bindir, name)] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode().splitlines(), p.stderr.decode()


@pytest.fixture
def queues(target):
    """Names to delete at the end of the test."""
    names = []
    yield names
    c = connect(target)
    ch = c.channel()
    for q in names:
        ch.queue_delete(q)
    c.close()


def test_producer_then_consumer(bindir, target, uniq, queues):
    q = uniq
    queues.append(q)
    rc, out, err = run(bindir, "producer", url(target), q, 25, "msg")
    assert rc == 0, err
    assert out == ["published 25 messages to %s, all confirmed" % q]
    rc, out, err = run(bindir, "consumer", url(target), q, 25)
    assert rc == 0, err
    assert out == ["msg %d" % i for i in range(1, 26)]
    c = connect(target)
    assert c.channel().queue_declare(q, passive=True).method.message_count == 0
    c.close()


def test_producer_wire_format(bindir, target, uniq, queues):
    """What the producer sends, as pika reads it."""
    q = uniq
    queues.append(q)
    rc, _, err = run(bindir, "producer", url(target), q, 3, "wire")
    assert rc == 0, err
    c = connect(target)
    ch = c.channel()
    got = []
    deadline = time.monotonic() + 5
    while len(got) < 3 and time.monotonic() < deadline:
        m, props, body = ch.basic_get(q, auto_ack=True)
        if m is None:
            time.sleep(0.05)
            continue
        got.append((props, body))
    c.close()
    assert [b for _, b in got] == [b"wire 1", b"wire 2", b"wire 3"]
    for props, _ in got:
        assert props.content_type == "text/plain"
        assert props.delivery_mode == 2


def test_consumer_reads_pika(bindir, target, uniq, queues):
    """Messages from another client library, big and small."""
    q = uniq
    queues.append(q)
    c = connect(target)
    ch = c.channel()
    ch.queue_declare(q)
    bodies = [b"small", b"x" * 300000, b"", b"last"]
    for b in bodies:
        ch.basic_publish("", q, b, pika.BasicProperties(content_type="text/plain",
                                                        headers={"k": "v"}))
    c.close()
    rc, out, err = run(bindir, "consumer", url(target), q, len(bodies))
    assert rc == 0, err
    assert out == [b.decode() for b in bodies]


def test_rpc(bindir, target, uniq, queues):
    q = uniq
    queues.append(q)
    server = subprocess.Popen([os.path.join(bindir, "rpc_server"), url(target), q, "3"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = server.stdout.readline().decode().strip()
        assert line == "[x] awaiting RPC requests on %s" % q, server.stderr.read()
        for n, fib in ((10, 55), (30, 832040), (1, 1)):
            rc, out, err = run(bindir, "rpc_client", url(target), q, n)
            assert rc == 0, err
            assert out == ["[x] requesting fib(%d)" % n, "[.] fib(%d) = %d" % (n, fib)]
        assert server.wait(RUN_TIMEOUT) == 0
        rest = server.stdout.read().decode().splitlines()
        assert rest == ["[.] fib(10) = 55", "[.] fib(30) = 832040", "[.] fib(1) = 1"]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(5)
        server.stdout.close()
        server.stderr.close()


def test_bad_address(bindir):
    rc, _, err = run(bindir, "producer", "amqp://no-such-host.invalid/", "q", 1)
    assert rc == 1
    assert "producer: connect: i/o error (0 cannot resolve no-such-host.invalid" in err


def test_bad_login(bindir, target, uniq):
    u = "amqp://guest:not-the-password@%s:%d/" % target
    rc, _, err = run(bindir, "producer", u, uniq, 1)
    assert rc == 1
    assert "producer: connect: login or vhost access refused" in err
