# SPDX-License-Identifier: MIT
"""amqp-tools (rabbitmq-c command line programs) against the broker."""

import shutil
import subprocess

import pika
import pytest

from broker import require_tool
from helpers import get_all, wait_count



@pytest.fixture(autouse=True)
def _amqp_tools_installed():
    require_tool(shutil.which("amqp-publish") is not None,
                 "amqp-publish (Debian package amqp-tools)")


def tool(broker, name, *args, stdin=None, timeout=15, check=True):
    cmd = [name, "--server", broker[0], "--port", str(broker[1])] + list(args)
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if check:
        assert p.returncode == 0, (cmd, p.returncode, p.stderr.decode())
    return p


def test_declare_publish_get(broker, ch, uniq):
    out = tool(broker, "amqp-declare-queue", "-q", uniq).stdout.decode().strip()
    assert out == uniq
    assert ch.queue_declare(uniq, passive=True).method.message_count == 0
    tool(broker, "amqp-publish", "-r", uniq, "-b", "hello from amqp-publish")
    tool(broker, "amqp-publish", "-r", uniq, "-C", "text/plain", "-H", "k: v",
         "-b", "second")
    assert wait_count(ch, uniq, 2) == 2
    assert tool(broker, "amqp-get", "-q", uniq).stdout == b"hello from amqp-publish"
    m, p, body = ch.basic_get(uniq, auto_ack=True)
    assert body == b"second"
    assert p.content_type == "text/plain" and p.headers == {"k": "v"}
    # amqp-get on an empty queue exits non-zero
    assert tool(broker, "amqp-get", "-q", uniq, check=False).returncode != 0
    ch.queue_delete(uniq)


def test_declare_server_named_queue(broker, ch):
    out = tool(broker, "amqp-declare-queue", "-q", "").stdout.decode().strip()
    assert out.startswith("amq.gen-")


def test_publish_stdin_binary_body(broker, ch, uniq):
    ch.queue_declare(uniq)
    body = bytes(range(256)) * 600  # 150 KiB: several frames
    tool(broker, "amqp-publish", "-r", uniq, stdin=body)
    assert wait_count(ch, uniq, 1) == 1
    assert tool(broker, "amqp-get", "-q", uniq).stdout == body
    ch.queue_delete(uniq)


def test_publish_line_buffered_then_consume_count(broker, ch, uniq):
    ch.queue_declare(uniq)
    lines = b"".join(b"line %d\n" % i for i in range(10))
    tool(broker, "amqp-publish", "-r", uniq, "-l", stdin=lines)
    assert wait_count(ch, uniq, 10) == 10
    # amqp-consume runs the command once per message, body on its stdin
    out = tool(broker, "amqp-consume", "-q", uniq, "-c", "10", "cat").stdout
    assert out == lines  # each body is one line, newline included
    assert ch.queue_declare(uniq, passive=True).method.message_count == 0
    ch.queue_delete(uniq)


def test_consume_with_exchange_binding(broker, ch, uniq):
    """amqp-consume declares an exclusive queue bound to an exchange."""
    ch.exchange_declare(uniq, exchange_type="topic", auto_delete=False)
    proc = subprocess.Popen(
        ["amqp-consume", "--server", broker[0], "--port", str(broker[1]),
         "-e", uniq, "-r", "a.#", "-c", "3", "cat"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # wait until its queue is bound: publish with mandatory until routed
        returned = []
        ch.add_on_return_callback(lambda *a: returned.append(a))
        ch.confirm_delivery()
        routed = False
        for _ in range(100):
            try:
                ch.basic_publish(uniq, "a.probe", b"probe;", mandatory=True)
                routed = True
                break
            except pika.exceptions.UnroutableError:
                ch.connection.sleep(0.05)
        assert routed
        ch.basic_publish(uniq, "b.x", b"skip;")
        ch.basic_publish(uniq, "a.b", b"one;")
        ch.basic_publish(uniq, "a", b"two;")
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)
    assert proc.returncode == 0, err
    assert out == b"probe;one;two;"
    ch.exchange_delete(uniq)


def test_consume_prefetch_and_ack(broker, ch, uniq):
    ch.queue_declare(uniq)
    for i in range(6):
        ch.basic_publish("", uniq, b"%d" % i)
    assert wait_count(ch, uniq, 6) == 6
    out = tool(broker, "amqp-consume", "-q", uniq, "-p", "2", "-c", "4", "cat").stdout
    assert out == b"0123"
    assert [b for _, _, b in get_all(ch, uniq)] == [b"4", b"5"]
    ch.queue_delete(uniq)


def test_tools_bad_credentials_fail(broker):
    p = tool(broker, "amqp-declare-queue", "-q", "x", "--username", "guest",
             "--password", "wrong", check=False)
    assert p.returncode != 0
