# SPDX-License-Identifier: MIT
"""pika fixtures for the interop tests (broker fixtures: tests/conftest.py)."""

import pytest

from helpers import connect


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
