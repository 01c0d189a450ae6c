# SPDX-License-Identifier: MIT
"""pika and kombu / py-amqp fixtures for the interop tests (broker
fixtures: tests/conftest.py). kombu and amqp are imported only by the tests
that use them."""

import pytest

from helpers import SLOW, connect


@pytest.fixture
def connections(broker):
    """Factory: connections(**kw) -> BlockingConnection, all closed at the end."""
    opened = []

    def make(**kw):
        c = connect(broker, **kw)
        opened.append(c)
        return c

    yield make
    for c in opened:
        if c.is_open:
            try:
                c.close()
            except Exception:
                pass


@pytest.fixture
def conn(connections):
    return connections()


@pytest.fixture
def ch(conn):
    return conn.channel()


@pytest.fixture
def kconns(broker):
    """Factory: kconns(**kw) -> kombu Connection, connected with
    ensure_connection; all released at the end."""
    from kombu import Connection
    opened = []

    def make(**kw):
        kw.setdefault("connect_timeout", 5 * SLOW)
        kw.setdefault("heartbeat", 0)
        c = Connection("amqp://guest:guest@%s:%d//" % broker, **kw)
        c.ensure_connection(max_retries=1, timeout=5 * SLOW)
        opened.append(c)
        return c

    yield make
    for c in opened:
        try:
            c.release()
        except Exception:
            pass


@pytest.fixture
def kconn(kconns):
    return kconns()


@pytest.fixture
def aconns(broker):
    """Factory: aconns(address=None, **kw) -> connected py-amqp
    amqp.Connection (address defaults to the broker under test); all
    closed at the end."""
    import amqp
    opened = []

    def make(address=None, **kw):
        kw.setdefault("connect_timeout", 5 * SLOW)
        kw.setdefault("read_timeout", 10 * SLOW)
        kw.setdefault("write_timeout", 10 * SLOW)
        c = amqp.Connection("%s:%d" % (address or broker), **kw)
        opened.append(c)
        c.connect()
        return c

    yield make
    for c in opened:
        try:
            c.close()
        except Exception:
            pass


@pytest.fixture
def aconn(aconns):
    return aconns()
