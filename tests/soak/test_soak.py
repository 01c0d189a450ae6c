# SPDX-License-Identifier: MIT
"""The short no-loss soak that `make test` runs (tests/soak/soak.py has the
long one, `make soak`): WARREN_SOAK_MESSAGES (20,000) numbered messages,
two confirming producers, four manually acking consumers SIGKILLed and
restarted every 0.1 to 0.5 s, against a FIFO and a priority queue. The
counts are printed (make test-soak runs pytest with -s). The kill loop
(issue 15): the same with the broker SIGKILLed and restarted too,
WARREN_SOAK_KILL_MESSAGES (5,000) persistent messages at
WARREN_SOAK_KILL_RATE (500/s) into a durable FIFO, priority and stream
queue (make soak runs a longer one: soak.py --kill-broker)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import soak  # noqa: E402

MESSAGES = int(os.environ.get("WARREN_SOAK_MESSAGES", "20000"))
RATE = float(os.environ.get("WARREN_SOAK_RATE", "4000"))


@pytest.mark.timeout(400)
@pytest.mark.parametrize("priority", [False, True], ids=["fifo", "priority"])
def test_no_message_lost_while_consumers_are_killed(broker, tmp_path, priority):
    counts = soak.run(broker[0], broker[1], MESSAGES, priority=priority,
                      rate=RATE, timeout=360, workdir=str(tmp_path))
    assert counts["confirmed"] == MESSAGES
    assert counts["acked"] == MESSAGES
    # the kills did happen, and caught deliveries in flight
    assert counts["consumer_kills"] >= 5
    assert counts["redelivered_flags"] > 0


KILL_MESSAGES = int(os.environ.get("WARREN_SOAK_KILL_MESSAGES", "5000"))
KILL_RATE = float(os.environ.get("WARREN_SOAK_KILL_RATE", "500"))
KILL_SEGMENT = 64 * 1024


@pytest.mark.warren_only  # SIGKILLs and restarts its own broker
@pytest.mark.timeout(400)
@pytest.mark.parametrize("priority", [False, True], ids=["fifo", "priority"])
def test_no_confirmed_message_lost_while_the_broker_is_killed(tmp_path, priority,
                                                             monkeypatch):
    """Issue 15's kill loop: the same clients, reconnecting, against a
    durable queue while the broker itself is SIGKILLed and restarted every
    0.3 to 1.2 s (and consumers too): every confirmed message is delivered
    and acked, every second delivery of one publish says redelivered. The
    message log has 64 KiB segments (a test seam), so its files fill,
    are reclaimed and pin one another between the kills."""
    monkeypatch.setenv("WARREN_TEST_MSGS_SEGMENT", str(KILL_SEGMENT))
    b = soak.KilledBroker(str(tmp_path / "data"), log_dir=str(tmp_path))
    try:
        counts = soak.run(b.address[0], b.address[1], KILL_MESSAGES,
                          priority=priority, rate=KILL_RATE, timeout=360,
                          workdir=str(tmp_path), restart_broker=b.restart,
                          broker_kill_every=(0.3, 1.2))
    finally:
        status = b.stop()
    assert status == 0  # a clean exit after all that (no sanitizer report)
    assert b.complaints() == []  # no record reported corrupt or unreadable
    assert counts["confirmed"] == KILL_MESSAGES
    assert counts["acked"] == KILL_MESSAGES
    assert counts["broker_kills"] >= 3
    assert counts["redelivered_flags"] > 0


@pytest.mark.warren_only
@pytest.mark.timeout(400)
def test_stream_keeps_every_confirmed_message_while_the_broker_is_killed(tmp_path):
    """The kill loop on a stream queue: its offsets stay contiguous, every
    confirmed message is in it, and what a reader saw before a kill is
    still there after it."""
    b = soak.KilledBroker(str(tmp_path / "data"), log_dir=str(tmp_path))
    try:
        counts = soak.run_stream(b.address[0], b.address[1], KILL_MESSAGES,
                                 b.restart, rate=KILL_RATE, timeout=360,
                                 workdir=str(tmp_path),
                                 broker_kill_every=(0.3, 1.2),
                                 segment=KILL_SEGMENT)
    finally:
        status = b.stop()
    assert status == 0
    assert b.complaints() == []
    assert counts["confirmed"] == KILL_MESSAGES
    assert counts["broker_kills"] >= 3
    assert counts["read_live"] > 0
