# SPDX-License-Identifier: MIT
"""Lost consumers, hostile peers next to good ones, and broker shutdown."""

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

import pika
import pika.exceptions
import pytest

from helpers import connect, consume_n, get_all, wait_count

HERE = os.path.dirname(os.path.abspath(__file__))


def read_line(proc, prefix, timeout):
    """Read stdout lines of proc until one starts with prefix; return all lines."""
    lines = []
    buf = b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            lines.append(line.decode())
            if line.decode().startswith(prefix):
                return lines
    raise AssertionError("no %r line from subprocess within %.0f s; got %r"
                         % (prefix, timeout, lines[-5:]))


@pytest.mark.parametrize("n", [1, 50])
def test_sigkilled_consumer_messages_redelivered(broker, connections, uniq, n):
    ch = connections().channel()
    ch.queue_declare(uniq)
    sent = [b"job-%d-%s" % (i, os.urandom(4).hex().encode()) for i in range(n)]
    for body in sent:
        ch.basic_publish("", uniq, body)
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "programs", "hold_unacked.py"),
         broker[0], str(broker[1]), uniq, str(n)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines = read_line(proc, "HOLDING", timeout=15)
        received = [l[5:].encode() for l in lines if l.startswith("BODY ")]
        assert received == sent
        ok = ch.queue_declare(uniq, passive=True).method
        assert (ok.message_count, ok.consumer_count) == (0, 1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    # the broker notices the dead socket and requeues everything
    assert wait_count(ch, uniq, n, timeout=10) == n
    got = consume_n(ch, uniq, n, auto_ack=False, ack=True)
    ch.cancel()
    assert [b for _, _, b in got] == sent
    assert all(m.redelivered for m, _, _ in got)
    ok = ch.queue_declare(uniq, passive=True).method
    assert (ok.message_count, ok.consumer_count) == (0, 0)
    ch.queue_delete(uniq)


def test_abrupt_socket_close_requeues(broker, connections, uniq):
    """A consumer whose TCP connection just drops (no connection.close)."""
    keeper = connections().channel()
    keeper.queue_declare(uniq)
    for i in range(3):
        keeper.basic_publish("", uniq, b"%d" % i)
    c = connect(broker)
    ch = c.channel()
    assert len(consume_n(ch, uniq, 3)) == 3
    c._impl._transport._sock.shutdown(socket.SHUT_RDWR)
    try:
        c.close()
    except Exception:
        pass
    assert wait_count(keeper, uniq, 3, timeout=10) == 3
    got = get_all(keeper, uniq)
    assert [(b, m.redelivered) for m, _, b in got] == [(b"0", True), (b"1", True), (b"2", True)]
    keeper.queue_delete(uniq)


GARBAGE = [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"AMQP\x00\x00\x09\x01" + b"\xff" * 64,
    b"AMQP\x01\x01\x08\x00",
    b"\x01\x00\x00\xff\xff\xff\xff" + b"\x00" * 100,
    bytes(range(256)) * 8,
    b"AMQP\x00\x00\x09\x01\x08\x00\x00\x00\x00\x00\x00\x00",
]


def test_garbage_clients_do_not_disturb_pika(broker, connections, uniq):
    ch = connections().channel()
    ch.queue_declare(uniq, exclusive=True)
    stop = threading.Event()
    errors = []
    sent = [0]
    lock = threading.Lock()

    def vandal(i):
        while not stop.is_set():
            try:
                s = socket.create_connection(broker, timeout=2)
                s.sendall(GARBAGE[i % len(GARBAGE)])
                s.settimeout(2)
                try:
                    while s.recv(4096):
                        pass
                except OSError:
                    pass
                s.close()
            except OSError as e:
                errors.append(e)
            i += 1
            with lock:
                sent[0] += 1

    threads = [threading.Thread(target=vandal, args=(k,))
               for k in range(len(GARBAGE))]
    for t in threads:
        t.start()
    try:
        received = []
        for i in range(200):
            ch.basic_publish("", uniq, b"%d" % i)
            if i % 20 == 19:
                got = consume_n(ch, uniq, 20, auto_ack=True)
                ch.cancel()
                received += [b for _, _, b in got]
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert received == [b"%d" % i for i in range(200)]
    assert sent[0] >= len(GARBAGE)
    # connection refused etc. would mean the broker died or stopped accepting
    assert errors == []


def test_half_open_clients_do_not_disturb_pika(broker, connections, uniq):
    """Sockets that send a partial frame and stall must not block others."""
    stalled = []
    for payload in [b"AMQ", b"AMQP\x00\x00\x09\x01", b"AMQP\x00\x00\x09\x01\x01\x00"]:
        s = socket.create_connection(broker, timeout=2)
        s.sendall(payload)
        stalled.append(s)
    try:
        ch = connections().channel()
        ch.queue_declare(uniq, exclusive=True)
        for i in range(50):
            ch.basic_publish("", uniq, b"%d" % i)
        got = consume_n(ch, uniq, 50, auto_ack=True)
        assert [b for _, _, b in got] == [b"%d" % i for i in range(50)]
    finally:
        for s in stalled:
            s.close()


@pytest.mark.warren_only  # needs its own broker process to stop
def test_sigterm_closes_connections_320_and_exits_0(broker_factory):
    srv = broker_factory()
    conn = connect(srv.address)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_publish("", q, b"x")
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as ei:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.1)
    assert ei.value.reply_code == 320  # CONNECTION_FORCED
    rc = srv.proc.wait(10)
    assert rc == 0, srv.log_tail()
    assert time.monotonic() - t0 < 5


@pytest.mark.warren_only  # needs its own broker process to stop
def test_sigterm_idle_broker_exits_0(broker_factory):
    srv = broker_factory()
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(10) == 0, srv.log_tail()
    assert time.monotonic() - t0 < 3
