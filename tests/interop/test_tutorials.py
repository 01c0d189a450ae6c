# SPDX-License-Identifier: MIT
"""The six RabbitMQ tutorials (tests/interop/tutorials/*.py), run unchanged
as subprocesses against the broker; their printed output is checked."""

import os
import select
import signal
import subprocess
import sys
import time
import uuid

import pytest

from broker import SLOW
from helpers import connect

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tutorials")


@pytest.fixture
def env(broker):
    e = dict(os.environ)
    e["AMQP_HOST"], e["AMQP_PORT"] = broker[0], str(broker[1])
    e["TUTORIAL_PREFIX"] = "tut-%s-" % uuid.uuid4().hex[:8]
    e["PYTHONUNBUFFERED"] = "1"
    return e


def run(env, script, *args, timeout=15 * SLOW):
    p = subprocess.run([sys.executable, os.path.join(HERE, script)] + list(args),
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    assert p.returncode == 0, (script, p.stderr.decode())
    return p.stdout.decode().splitlines()


class Background:
    """A long-running tutorial program (a receiver, worker or server)."""

    def __init__(self, env, script, *args):
        # Ctrl+C must reach the program even when the test run was started
        # in the background (a shell's `&` leaves SIGINT ignored, and a
        # child inherits that): SIGINT back to its default.
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, script)] + list(args),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.lines = []
        self.buf = b""

    def _read(self, deadline):
        fd = self.proc.stdout.fileno()
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(line.decode())
        return True

    def wait_for(self, predicate, timeout=10 * SLOW):
        """Read output until predicate(lines) holds."""
        deadline = time.monotonic() + timeout
        while not predicate(self.lines):
            if time.monotonic() >= deadline or not self._read(deadline):
                raise AssertionError("timed out; output so far: %r; stderr: %r"
                                     % (self.lines, self.stderr_now()))
        return self.lines

    def wait_line(self, text, timeout=10 * SLOW):
        return self.wait_for(lambda ls: text in ls, timeout)

    def stderr_now(self):
        if self.proc.poll() is None:
            return "(running)"
        return self.proc.stderr.read().decode()

    def stop(self):
        """Ctrl+C, like a user would; returns all stdout lines."""
        if self.proc.stdout.closed:
            return self.lines
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        deadline = time.monotonic() + 2
        while self._read(deadline):
            pass
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.lines


@pytest.fixture
def background():
    started = []

    def start(env, script, *args):
        b = Background(env, script, *args)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


def cleanup(broker, env, queues=(), exchanges=()):
    c = connect(broker)
    ch = c.channel()
    for q in queues:
        ch.queue_delete(env["TUTORIAL_PREFIX"] + q)
    for x in exchanges:
        ch.exchange_delete(env["TUTORIAL_PREFIX"] + x)
    c.close()


def test_tutorial_1_hello_world(broker, env, background):
    # send first: the message waits in the queue for the receiver
    assert run(env, "send.py") == [" [x] Sent 'Hello World!'"]
    recv = background(env, "receive.py")
    recv.wait_line(" [x] Received b'Hello World!'")
    assert run(env, "send.py", "second", "one") == [" [x] Sent 'second one'"]
    recv.wait_line(" [x] Received b'second one'")
    out = recv.stop()
    assert out == [" [*] Waiting for messages. To exit press CTRL+C",
                   " [x] Received b'Hello World!'",
                   " [x] Received b'second one'",
                   "Interrupted"]
    cleanup(broker, env, queues=["hello"])


def test_tutorial_2_work_queues(broker, env, background):
    w1 = background(env, "worker.py")
    w2 = background(env, "worker.py")
    for w in (w1, w2):
        w.wait_line(" [*] Waiting for messages. To exit press CTRL+C")
    tasks = ["First message.", "Second message", "Third message", "Fourth message",
             "Fifth message"]
    for t in tasks:
        assert run(env, "new_task.py", *t.split()) == [" [x] Sent %r" % t]

    def done(_):
        return sum(w.lines.count(" [x] Done") for w in (w1, w2)) >= len(tasks)
    deadline = time.monotonic() + 15 * SLOW
    while not done(None) and time.monotonic() < deadline:
        for w in (w1, w2):
            try:
                w.wait_for(done, timeout=0.1)
            except AssertionError:
                pass
    # worker.py prints " [x] Done" just before it acks: give the last ack a
    # moment to reach the broker, or stopping the worker requeues that
    # message and the other worker (rightly) gets it again.
    time.sleep(0.5 * SLOW)
    out1, out2 = w1.stop(), w2.stop()
    received = [l for l in out1 + out2 if l.startswith(" [x] Received")]
    assert sorted(received) == sorted(" [x] Received %r" % t for t in tasks)
    assert out1.count(" [x] Done") + out2.count(" [x] Done") == len(tasks)
    # fair dispatch (prefetch 1): the worker busy with the slow task for a
    # second does not get everything queued behind it
    assert out1.count(" [x] Done") >= 1 and out2.count(" [x] Done") >= 1
    c = connect(broker)
    ok = c.channel().queue_declare(env["TUTORIAL_PREFIX"] + "task_queue",
                                   durable=True).method
    assert (ok.message_count, ok.consumer_count) == (0, 0)
    c.close()
    cleanup(broker, env, queues=["task_queue"])


def test_tutorial_3_publish_subscribe(broker, env, background):
    r1 = background(env, "receive_logs.py")
    r2 = background(env, "receive_logs.py")
    for r in (r1, r2):
        r.wait_line(" [*] Waiting for logs. To exit press CTRL+C")
    assert run(env, "emit_log.py") == [" [x] Sent 'info: Hello World!'"]
    assert run(env, "emit_log.py", "warning:", "disk") == [" [x] Sent 'warning: disk'"]
    for r in (r1, r2):
        r.wait_line(" [x] b'warning: disk'")
        assert r.stop() == [" [*] Waiting for logs. To exit press CTRL+C",
                            " [x] b'info: Hello World!'",
                            " [x] b'warning: disk'",
                            "Interrupted"]
    cleanup(broker, env, exchanges=["logs"])


def test_tutorial_4_routing(broker, env, background):
    errors = background(env, "receive_logs_direct.py", "error")
    all_ = background(env, "receive_logs_direct.py", "info", "warning", "error")
    for r in (errors, all_):
        r.wait_line(" [*] Waiting for logs. To exit press CTRL+C")
    for sev, msg in [("info", "i1"), ("error", "e1"), ("debug", "d1"),
                     ("warning", "w1"), ("error", "e2")]:
        assert run(env, "emit_log_direct.py", sev, msg) == \
            [" [x] Sent %r:%r" % (sev, msg)]
    errors.wait_line(" [x] 'error':b'e2'")
    all_.wait_line(" [x] 'error':b'e2'")
    assert errors.stop()[1:] == [" [x] 'error':b'e1'", " [x] 'error':b'e2'",
                                 "Interrupted"]
    assert all_.stop()[1:] == [" [x] 'info':b'i1'", " [x] 'error':b'e1'",
                               " [x] 'warning':b'w1'", " [x] 'error':b'e2'",
                               "Interrupted"]
    cleanup(broker, env, exchanges=["direct_logs"])


def test_tutorial_5_topics(broker, env, background):
    everything = background(env, "receive_logs_topic.py", "#")
    kern = background(env, "receive_logs_topic.py", "kern.*")
    critical = background(env, "receive_logs_topic.py", "*.critical")
    both = background(env, "receive_logs_topic.py", "kern.*", "*.critical")
    rs = (everything, kern, critical, both)
    for r in rs:
        r.wait_line(" [*] Waiting for logs. To exit press CTRL+C")
    sent = [("kern.critical", "A critical kernel error"),
            ("kern.info", "boot"),
            ("cron.critical", "cron died"),
            ("cron.info.extra", "three words"),
            ("anonymous.info", "Hello World!")]
    for key, msg in sent[:-1]:
        assert run(env, "emit_log_topic.py", key, *msg.split()) == \
            [" [x] Sent %r:%r" % (key, msg)]
    assert run(env, "emit_log_topic.py") == \
        [" [x] Sent 'anonymous.info':'Hello World!'"]
    last = " [x] 'anonymous.info':b'Hello World!'"
    everything.wait_line(last)

    def lines(keys):
        return [" [x] %r:%r" % (k, m.encode()) for k, m in sent if k in keys]
    # the last message only goes to "#": send a marker the others all get
    assert run(env, "emit_log_topic.py", "kern.critical", "end") == \
        [" [x] Sent 'kern.critical':'end'"]
    marker = " [x] 'kern.critical':b'end'"
    for r in rs:
        r.wait_line(marker)
    assert everything.stop()[1:-2] == lines({k for k, _ in sent})
    assert kern.stop()[1:-2] == lines({"kern.critical", "kern.info"})
    assert critical.stop()[1:-2] == lines({"kern.critical", "cron.critical"})
    assert both.stop()[1:-2] == lines({"kern.critical", "kern.info", "cron.critical"})
    cleanup(broker, env, exchanges=["topic_logs"])


def test_tutorial_6_rpc(broker, env, background):
    server = background(env, "rpc_server.py")
    server.wait_line(" [x] Awaiting RPC requests")
    out = run(env, "rpc_client.py", "0", "1", "10", "20")
    assert out == [" [x] Requesting fib(0)", " [.] Got 0",
                   " [x] Requesting fib(1)", " [.] Got 1",
                   " [x] Requesting fib(10)", " [.] Got 55",
                   " [x] Requesting fib(20)", " [.] Got 6765"]
    # two clients at once
    p1 = subprocess.Popen([sys.executable, os.path.join(HERE, "rpc_client.py"), "15"],
                          env=env, stdout=subprocess.PIPE)
    out2 = run(env, "rpc_client.py", "12")
    out1 = p1.communicate(timeout=15)[0].decode().splitlines()
    assert out1 == [" [x] Requesting fib(15)", " [.] Got 610"]
    assert out2 == [" [x] Requesting fib(12)", " [.] Got 144"]
    lines = server.stop()
    assert lines[0] == " [x] Awaiting RPC requests"
    assert sorted(lines[1:-1]) == sorted(" [.] fib(%d)" % n for n in (0, 1, 10, 20, 15, 12))
    cleanup(broker, env, queues=["rpc_queue"])
