"""Brokers that a persistence test starts, kills and restarts on its own
data_dir. Each broker started here is killed when its test ends, even a
test that fails half-way: import `no_broker_left` (an autouse fixture)
into the test module along with what it uses."""

import pika
import pytest

import broker as broker_mod  # tests/proto/broker.py

_started = []


@pytest.fixture(autouse=True)
def no_broker_left():
    """A test that fails half-way leaves no broker running."""
    yield
    while _started:
        _started.pop().kill()


def start(data_dir, *args):
    """A warren-server on data_dir (with the extra flags args)."""
    try:
        srv = broker_mod.WarrenServer(args, data_dir=str(data_dir)).start()
    except broker_mod.BrokerError as e:
        pytest.fail(str(e), pytrace=False)
    _started.append(srv)
    return srv


def stop(srv, how):
    """how: "kill" (SIGKILL: no shutdown code runs) or a clean stop."""
    if how == "kill":
        srv.kill()
    else:
        assert srv.terminate() == 0


def conn(srv):
    return pika.BlockingConnection(pika.ConnectionParameters(
        host=srv.host, port=srv.port, heartbeat=0))


def persistent(**kw):
    return pika.BasicProperties(delivery_mode=2, **kw)
