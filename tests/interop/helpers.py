# SPDX-License-Identifier: MIT
"""pika helpers for the interop tests: connection parameters with deadlines,
expected-error context managers, and polling helpers.

Every blocking call has a deadline: connections use socket_timeout and
blocked_connection_timeout, waits use process_data_events(time_limit=...)
or consume(inactivity_timeout=...), and tests/conftest.py arms a hard
per-test SIGALRM.
"""

import contextlib
import time

import pika
import pika.exceptions
import pytest

from broker import SLOW  # tests/proto/broker.py: > 1 under valgrind

WAIT = 5.0 * SLOW  # seconds to wait for something that should arrive


def params(broker, user="guest", password="guest", vhost="/", **kw):
    host, port = broker
    kw.setdefault("socket_timeout", 5 * SLOW)
    kw.setdefault("blocked_connection_timeout", 10 * SLOW)
    kw.setdefault("stack_timeout", 10 * SLOW)
    kw.setdefault("connection_attempts", 1)
    kw.setdefault("heartbeat", 0)
    return pika.ConnectionParameters(
        host=host, port=port, virtual_host=vhost,
        credentials=pika.PlainCredentials(user, password), **kw)


def connect(broker, **kw):
    return pika.BlockingConnection(params(broker, **kw))


@contextlib.contextmanager
def channel_error(code):
    """Assert that the block closes the channel with `code` (channel.close)."""
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        yield ei
    assert ei.value.reply_code == code, ei.value


@contextlib.contextmanager
def connection_error(code):
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as ei:
        yield ei
    assert ei.value.reply_code == code, ei.value


def declare_queue(ch, name, **kw):
    return ch.queue_declare(queue=name, **kw).method


def publish(ch, queue, body, exchange="", **props):
    ch.basic_publish(exchange=exchange, routing_key=queue, body=body,
                     properties=pika.BasicProperties(**props) if props else None)


def wait_count(ch, queue, n, timeout=WAIT):
    """Poll passive declares until the queue holds n ready messages."""
    deadline = time.monotonic() + timeout
    while True:
        got = ch.queue_declare(queue=queue, passive=True).method.message_count
        if got == n or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


def get_all(ch, queue, auto_ack=True, limit=100000):
    """basic.get until get-empty; returns [(method, props, body)]."""
    out = []
    for _ in range(limit):
        m, p, b = ch.basic_get(queue, auto_ack=auto_ack)
        if m is None:
            break
        out.append((m, p, b))
    return out


def consume_n(ch, queue, n, auto_ack=False, timeout=WAIT, ack=False):
    """Consume exactly n messages (fewer if none arrive for `timeout` s)."""
    out = []
    if n == 0:
        return out
    for m, p, b in ch.consume(queue, auto_ack=auto_ack, inactivity_timeout=timeout):
        if m is None:
            break
        out.append((m, p, b))
        if ack:
            ch.basic_ack(m.delivery_tag)
        if len(out) >= n:
            break
    return out


def flush(conn, seconds=0.2):
    """Let pending frames (deliveries, returns, cancels) arrive (for
    `seconds` times SLOW: a broker under valgrind is slower to send them)."""
    conn.process_data_events(time_limit=seconds * SLOW)


def _exists(conn, kind, name):
    ch = conn.channel()
    try:
        if kind == "queue":
            ch.queue_declare(name, passive=True)
        else:
            ch.exchange_declare(name, passive=True)
    except pika.exceptions.ChannelClosedByBroker as e:
        if e.reply_code == 404:
            return False
        if e.reply_code == 405:  # exists, exclusive to another connection
            return True
        raise
    ch.close()
    return True


def wait_gone(conn, kind, name, timeout=WAIT):
    """Poll (passive declare on fresh channels) until queue/exchange `name`
    is gone (404). Returns True if it disappeared within timeout."""
    deadline = time.monotonic() + timeout
    while _exists(conn, kind, name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def wait_until(fn, value, timeout=WAIT):
    """Poll fn() until it returns value; return the last result."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got == value or time.monotonic() > deadline:
            return got
        time.sleep(0.02)
