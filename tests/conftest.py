# SPDX-License-Identifier: MIT
"""pytest fixtures shared by tests/proto (raw sockets) and tests/interop (real clients).

broker          session-scoped (host, port) of the broker under test
mgmt            session-scoped (host, port) of its HTTP management API
                (WARREN_TEST_MGMT=host:port with WARREN_TEST_BROKER)
broker_factory  starts extra, private warren-server processes (skipped when
                WARREN_TEST_BROKER points at an external broker)
uniq            a unique name prefix per test, for queues and exchanges

Marker `warren_only`: the test checks behaviour where warren deliberately
differs from RabbitMQ 3.10 (or needs its own broker); skipped in
WARREN_TEST_BROKER mode.
"""

import os
import signal
import sys
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "proto"))

import broker as broker_mod  # noqa: E402  (tests/proto/broker.py)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "warren_only: checks warren's specified behaviour where RabbitMQ 3.10 "
        "differs, or needs a private broker; skipped with WARREN_TEST_BROKER")
    config.addinivalue_line(
        "markers", "timeout(seconds): hard per-test time limit (default 60)")


DEFAULT_TEST_TIMEOUT = float(os.environ.get("WARREN_TEST_TIMEOUT", "60"))


class TestTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _hard_timeout(request):
    """No test may hang: SIGALRM after 60 s (or @pytest.mark.timeout(n),
    times broker.SLOW: a test's own limit grows under valgrind too)."""
    m = request.node.get_closest_marker("timeout")
    limit = m.args[0] * broker_mod.SLOW if m else DEFAULT_TEST_TIMEOUT

    def on_alarm(signum, frame):
        raise TestTimeout("test exceeded its %.0f s time limit" % limit)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def pytest_collection_modifyitems(config, items):
    if broker_mod.external_broker() is None:
        return
    skip = pytest.mark.skip(reason="warren_only: skipped with WARREN_TEST_BROKER")
    for item in items:
        if "warren_only" in item.keywords:
            item.add_marker(skip)


_session_server = None


@pytest.fixture(scope="session")
def broker():
    """(host, port) of the broker under test."""
    global _session_server
    ext = broker_mod.external_broker()
    if ext is not None:
        yield ext
        return
    try:
        srv = broker_mod.WarrenServer().start()
    except broker_mod.BrokerError as e:
        pytest.fail(str(e), pytrace=False)
    _session_server = srv
    try:
        yield srv.address
    finally:
        _session_server = None
        srv.stop_checked()


@pytest.fixture(scope="session")
def mgmt(broker):
    """(host, port) of the broker's HTTP management API."""
    if broker_mod.external_broker() is not None:
        spec = os.environ.get("WARREN_TEST_MGMT")
        if not spec:
            pytest.skip("WARREN_TEST_BROKER is set but WARREN_TEST_MGMT is not")
        host, _, port = spec.rpartition(":")
        return (host or "127.0.0.1", int(port))
    return _session_server.mgmt_address


@pytest.fixture(autouse=True)
def _broker_still_alive(request):
    """Attribute a broker crash to the test that caused it."""
    yield
    srv = _session_server
    if srv is not None and not srv.alive():
        pytest.fail("warren-server died during this test (status %s); log: %s\n%s"
                    % (srv.proc.returncode, srv.log_path, srv.log_tail()),
                    pytrace=False)


@pytest.fixture
def broker_factory():
    """Call it to start a private warren-server; returns the WarrenServer.

    Each one is SIGTERMed at the end of the test unless the test stopped it.
    """
    if broker_mod.external_broker() is not None:
        pytest.skip("needs a private warren-server (WARREN_TEST_BROKER is set)")
    servers = []

    def start(*extra_args):
        try:
            srv = broker_mod.WarrenServer(extra_args).start()
        except broker_mod.BrokerError as e:
            pytest.fail(str(e), pytrace=False)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        if srv.alive():
            srv.terminate()


@pytest.fixture
def uniq(request):
    """A short unique prefix for names used by this test."""
    name = request.node.name.replace("[", "-").replace("]", "")[:40]
    return "t-%s-%s" % (name, uuid.uuid4().hex[:8])
