# SPDX-License-Identifier: MIT
"""The short no-loss soak that `make test` runs (tests/soak/soak.py has the
long one, `make soak`): WARREN_SOAK_MESSAGES (20,000) numbered messages,
two confirming producers, four manually acking consumers SIGKILLed and
restarted every 0.1 to 0.5 s, against a FIFO and a priority queue. The
counts are printed (make test-soak runs pytest with -s)."""

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
