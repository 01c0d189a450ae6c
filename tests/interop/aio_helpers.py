# SPDX-License-Identifier: MIT
"""aio-pika helpers for the interop tests: run a coroutine with a deadline
from a plain pytest function (pytest-asyncio is not a dependency), connect
with a deadline, and wait for things with a deadline.

Every await that depends on the broker is bounded by asyncio.wait_for, and
tests/conftest.py arms a hard per-test SIGALRM on top.
"""

import asyncio

import aio_pika

from broker import SLOW  # tests/proto/broker.py: > 1 under valgrind

WAIT = 5.0 * SLOW  # seconds to wait for something that should arrive


def run(coro, timeout=30.0):
    """Run `coro` on a fresh event loop; fail if it takes over `timeout` s
    (times SLOW)."""
    return asyncio.run(asyncio.wait_for(coro, timeout * SLOW))


async def within(aw, timeout=WAIT):
    """Await `aw` with a deadline (asyncio.TimeoutError past it)."""
    return await asyncio.wait_for(aw, timeout)


async def connect(broker, robust=False, **kw):
    """An aio-pika connection to `broker` as guest; close it (or use
    `async with`) at the end."""
    host, port = broker
    fn = aio_pika.connect_robust if robust else aio_pika.connect
    return await within(fn(host=host, port=port, login="guest",
                           password="guest", timeout=WAIT, **kw))


async def get_message(queue, timeout=WAIT, no_ack=False):
    """basic.get until a message is there (None after `timeout`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        msg = await within(queue.get(no_ack=no_ack, fail=False))
        if msg is not None or loop.time() > deadline:
            return msg
        await asyncio.sleep(0.02)


async def message_count(channel, name):
    """Ready messages in queue `name`, by a passive declare."""
    q = await within(channel.declare_queue(name, passive=True))
    return q.declaration_result.message_count


async def wait_count(channel, name, n, timeout=WAIT):
    """Poll passive declares until queue `name` holds n ready messages;
    return the last count."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        got = await message_count(channel, name)
        if got == n or loop.time() > deadline:
            return got
        await asyncio.sleep(0.02)


async def take(iterator, n, timeout=WAIT):
    """The next n messages of a queue iterator, unacked."""
    out = []
    for _ in range(n):
        out.append(await within(iterator.__anext__(), timeout))
    return out
