# SPDX-License-Identifier: MIT
"""kombu and py-amqp helpers for test_kombu*.py: draining with a time
limit, polling counts (the connection fixtures kconns / aconns are in
conftest.py).

Every blocking call has a deadline: connect_timeout, read/write timeouts,
drain_events(timeout=), and tests/conftest.py arms a hard SIGALRM.
"""

import socket
import time

from kombu import Consumer, Queue

from broker import SLOW  # tests/proto/broker.py: > 1 under valgrind

WAIT = 5.0 * SLOW  # seconds to wait for something that should arrive


def url(broker):
    """kombu URL of (host, port), vhost "/" as guest."""
    host, port = broker
    return "amqp://guest:guest@%s:%d//" % (host, port)


def drain(conn, want, timeout=WAIT):
    """drain_events (kombu or py-amqp connection) until want() is true;
    False if it is not within `timeout` s."""
    deadline = time.monotonic() + timeout
    while not want():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            conn.drain_events(timeout=min(left, 0.5))
        except socket.timeout:
            pass
    return True


def quiet(conn, seconds=0.3):
    """Drain whatever arrives in `seconds` (to show nothing more does)."""
    deadline = time.monotonic() + seconds * SLOW
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            conn.drain_events(timeout=left)
        except socket.timeout:
            return


def ready_count(conn, name):
    """Ready messages in queue `name` (passive queue.declare-ok on a new
    channel of a kombu or py-amqp connection)."""
    ch = conn.channel()
    try:
        return ch.queue_declare(name, passive=True).message_count
    finally:
        ch.close()


def wait_ready(conn, name, n, timeout=WAIT):
    """Poll until queue `name` holds n ready messages; return the last count.
    (RabbitMQ routes asynchronously: a count right after a publish, even on
    the same channel, may not include it yet.)"""
    deadline = time.monotonic() + timeout
    while True:
        got = ready_count(conn, name)
        if got == n or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


def shared_queue(name, **kw):
    """A queue that outlives its consumers (kombu makes exclusive queues
    auto-delete, which deletes them with their last consumer); x-expires
    removes it a minute after its last use."""
    return Queue(name, durable=False, auto_delete=False, expires=60, **kw)


def collect(conn, queue, n, no_ack=True, accept=None, timeout=WAIT):
    """Consume n messages from a kombu Queue; returns [(body, message)]."""
    got = []
    with Consumer(conn, [queue], no_ack=no_ack, accept=accept,
                  callbacks=[lambda body, m: got.append((body, m))]):
        drain(conn, lambda: len(got) >= n, timeout)
    return got
