# SPDX-License-Identifier: MIT
"""Fixtures for the management API and warrenctl tests (tests/admin).

api          an Api client (urllib, basic auth guest/guest) for the session
             broker's HTTP management API
amqp         a pika connection factory for the session broker (closed at
             the end of the test)
fresh        starts a private broker and returns (WarrenServer, Api)

Standard library only, except pika for the AMQP side of a scenario.
Set WARREN_TEST_BROKER=host:port and WARREN_TEST_MGMT=host:port to run the
API tests against another broker (for example a real RabbitMQ with its
management plugin); tests marked warren_only are skipped there.
"""

import os
import sys
import time

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

from helpers import connect  # noqa: E402  (tests/interop/helpers.py)
from mgmt_client import Api  # noqa: E402


@pytest.fixture(scope="session")
def api(mgmt):
    return Api(*mgmt)


@pytest.fixture
def amqp(broker):
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
def fresh(broker_factory, tmp_path):
    """fresh(conf_lines...) -> (WarrenServer, Api) of a private broker; the
    lines go into a configuration file (key = value)."""

    def start(*conf):
        args = []
        if conf:
            path = tmp_path / ("warren-%d.conf" % time.monotonic_ns())
            path.write_text("\n".join(conf) + "\n")
            args = ["--config", str(path)]
        srv = broker_factory(*args)
        return srv, Api(*srv.mgmt_address)

    return start
