# SPDX-License-Identifier: MIT
"""What a confirm waits for (issue 15; docs/internals/STORE.md "What a
confirm promises"): a publisher confirm or tx.commit-ok for a persistent
message routed to a durable queue goes out only once the sync that covers
it has returned; the sync runs off the event loop, so while the disk works
the broker serves other clients, and transient traffic (a transient
message, or a persistent one routed only to a transient queue) is
confirmed without waiting. A failed sync of the message store nacks what
waited and every later persistent publish to a durable queue. Through
pika.

The disk is made slow with the broker's test seam WARREN_TEST_SYNC_GATE=
PATH (runtime/persist.c): once the broker runs, every sync waits while the
file PATH exists.
"""

import threading
import time

import pika
import pytest

import broker as broker_mod  # tests/proto/broker.py
from restarts import conn, no_broker_left, start  # noqa: F401 (no_broker_left: autouse)

pytestmark = pytest.mark.warren_only  # a test seam of warren's

WAIT = 10.0 * broker_mod.SLOW


PERSISTENT = pika.BasicProperties(delivery_mode=2)
TRANSIENT = pika.BasicProperties(delivery_mode=1)


class InThread(threading.Thread):
    """Runs fn(channel) on a connection of its own; done is set when it
    returned, error holds what it raised."""

    def __init__(self, srv, fn):
        super().__init__(daemon=True)
        self.srv, self.fn = srv, fn
        self.done = threading.Event()
        self.error = None

    def run(self):
        try:
            c = conn(self.srv)
            self.fn(c.channel())
            c.close()
        except Exception as e:  # reported by the test
            self.error = e
        self.done.set()


@pytest.mark.timeout(120)
def test_confirm_and_commit_wait_for_the_sync(tmp_path, monkeypatch):
    gate = tmp_path / "gate"
    monkeypatch.setenv("WARREN_TEST_SYNC_GATE", str(gate))
    srv = start(tmp_path / "data")
    c = conn(srv)
    ch = c.channel()
    ch.queue_declare("dq", durable=True)
    ch.queue_declare("tq", durable=False)
    ch.confirm_delivery()
    ch.basic_publish("", "dq", b"before", PERSISTENT)  # the disk is quick
    gate.touch()  # from here every sync waits

    def confirmed(ch):
        ch.confirm_delivery()
        ch.basic_publish("", "dq", b"p-confirm", PERSISTENT)

    def committed(ch):
        ch.tx_select()
        ch.basic_publish("", "dq", b"p-tx", PERSISTENT)
        ch.tx_commit()

    waiting = [InThread(srv, confirmed), InThread(srv, committed)]
    for t in waiting:
        t.start()
    # the messages are in the queue (written), their confirms are not out
    deadline = time.monotonic() + WAIT
    while ch.queue_declare("dq", passive=True).method.message_count < 3:
        assert time.monotonic() < deadline, "the publishes did not arrive"
        time.sleep(0.02)

    # meanwhile the loop serves everyone else, and transient traffic does
    # not wait for the disk
    def transient(ch):
        ch.confirm_delivery()
        ch.basic_publish("", "dq", b"t-confirm", TRANSIENT)
        ch.basic_publish("", "tq", b"p-to-transient-queue", PERSISTENT)

    def transient_tx(ch):
        ch.tx_select()
        ch.basic_publish("", "tq", b"p-tx-transient-queue", PERSISTENT)
        ch.basic_publish("", "dq", b"t-tx", TRANSIENT)
        ch.tx_commit()

    for fn in (transient, transient_tx):
        t = InThread(srv, fn)
        t.start()
        assert t.done.wait(WAIT), "%s waited for the sync" % fn.__name__
        assert t.error is None, t.error
    m, _, body = ch.basic_get("tq", auto_ack=True)
    assert body == b"p-to-transient-queue"
    assert ch.queue_declare("dq", passive=True).method.message_count == 5

    # a second of a disk that does not answer: nothing was confirmed
    time.sleep(1.0)
    for t in waiting:
        assert not t.done.is_set(), "confirmed before the sync returned"

    gate.unlink()  # the sync returns: confirm and commit-ok go out
    for t in waiting:
        assert t.done.wait(WAIT), "not confirmed after the sync"
        assert t.error is None, t.error
    c.close()
    assert srv.terminate() == 0


@pytest.mark.timeout(120)
def test_failed_message_store_nacks(tmp_path, monkeypatch):
    """The message store's sync fails (WARREN_TEST_SYNC_FAIL=0 on a
    restart whose first sync is the publish's): the waiting publish is
    nacked, not acked; so is every later persistent publish to a durable
    queue, with one ERROR line and the store alarm; transient traffic goes
    on; a restart without the failure recovers."""
    data = tmp_path / "data"
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.queue_declare("dq", durable=True)
    ch.confirm_delivery()
    ch.basic_publish("", "dq", b"kept", PERSISTENT)
    c.close()
    assert srv.terminate() == 0

    monkeypatch.setenv("WARREN_TEST_SYNC_FAIL", "0")
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    ch.confirm_delivery()
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", "dq", b"nacked-1", PERSISTENT)
    # the broker wrote the line before the nack; the test's thread that
    # copies its stderr to the log file may not have yet (a loaded machine)
    deadline = time.monotonic() + WAIT
    while "the msgs store failed" not in srv.log_tail(100000):
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    log = srv.log_tail(100000)
    assert log.count("the msgs store failed: Input/output error") == 1, log
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", "dq", b"nacked-2", PERSISTENT)
    ch.basic_publish("", "dq", b"transient", TRANSIENT)  # acked
    c.close()
    srv.kill()

    monkeypatch.delenv("WARREN_TEST_SYNC_FAIL")
    srv = start(data)
    c = conn(srv)
    ch = c.channel()
    m, _, body = ch.basic_get("dq", auto_ack=True)
    assert body == b"kept"
    # nacked-1 was written before its sync failed: it may be back (a nack
    # says nothing was promised); nacked-2 was refused before any write
    rest = []
    while True:
        m, _, body = ch.basic_get("dq", auto_ack=True)
        if m is None:
            break
        rest.append(body)
    assert rest in ([], [b"nacked-1"]), rest
    ch.confirm_delivery()
    ch.basic_publish("", "dq", b"after", PERSISTENT)  # the store works again
    c.close()
    assert srv.terminate() == 0


@pytest.mark.timeout(60)
def test_background_sync_confirms_after_the_write(tmp_path, monkeypatch):
    """store_sync = background (RabbitMQ's trade-off, not the default): a
    confirm goes out once the message is written, without waiting for
    the sync; it survives kill -9 (the page cache has it)."""
    gate = tmp_path / "gate"
    monkeypatch.setenv("WARREN_TEST_SYNC_GATE", str(gate))
    data = tmp_path / "data"
    srv = start(data, "--set", "store_sync=background")
    c = conn(srv)
    ch = c.channel()
    ch.queue_declare("dq", durable=True)
    gate.touch()  # no sync returns from here on
    t = InThread(srv, lambda ch: (ch.confirm_delivery(),
                                  ch.basic_publish("", "dq", b"bg", PERSISTENT)))
    t.start()
    assert t.done.wait(WAIT), "the confirm waited for the sync"
    assert t.error is None, t.error
    srv.kill()
    gate.unlink()
    monkeypatch.delenv("WARREN_TEST_SYNC_GATE")
    srv = start(data)
    c = conn(srv)
    m, _, body = c.channel().basic_get("dq", auto_ack=True)
    assert body == b"bg"
    c.close()
    assert srv.terminate() == 0
