# SPDX-License-Identifier: MIT
"""Table-driven protocol cases: tests/proto/cases/*.json.

Each case: name, the spec rule it checks, a setup ("none": raw socket;
"handshake": connection open; "channel": also channel 1 open, frame_max
4096), the bytes to send (hex) and what must come back: exact bytes
("hex", optionally followed by EOF), a connection.close reply code (and
class/method ids), or a channel.close reply code.
"""

import glob
import json
import os

import pytest

from frames import RawClient

CASES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "cases", "*.json")))


def test_cases_present():
    """An empty or missing cases/ folder is a failure, not zero tests."""
    assert len(CASES) >= 10, "tests/proto/cases/*.json: %d cases" % len(CASES)


def load(path):
    with open(path) as f:
        return json.load(f)


@pytest.mark.parametrize("path", CASES, ids=[os.path.basename(p)[:-5] for p in CASES])
def test_case(broker, path):
    case = load(path)
    exp = case["expect"]
    with RawClient(*broker) as c:
        if case["setup"] in ("handshake", "channel"):
            c.handshake(frame_max=4096)
        if case["setup"] == "channel":
            c.open_channel(1)
        c.send(bytes.fromhex(case["send"]))
        if "hex" in exp:
            want = bytes.fromhex(exp["hex"])
            assert c.recv_bytes(len(want)) == want
            if exp.get("then") == "eof":
                assert c.wait_closed() == b""
        elif "connection_close" in exp:
            m = c.expect_connection_close()
            assert m.reply_code == exp["connection_close"], m
            if "class_id" in exp:
                assert (m.class_id, m.method_id) == (exp["class_id"], exp["method_id"]), m
            # after close-ok the broker closes the socket and sends nothing more
            assert c.wait_closed() == b""
        elif "channel_close" in exp:
            m = c.expect_channel_close(1)
            assert m.reply_code == exp["channel_close"], m
            if "class_id" in exp:
                assert (m.class_id, m.method_id) == (exp["class_id"], exp["method_id"]), m
            # the connection is still usable: reopen the channel
            c.open_channel(1)
            c.close_connection()
        else:
            raise AssertionError("case %s has no expectation" % case["name"])


def test_cases_are_well_formed():
    assert len(CASES) >= 20
    for path in CASES:
        case = load(path)
        assert set(case) == {"name", "rule", "setup", "send", "expect"}, path
        assert os.path.basename(path) == case["name"] + ".json"
        assert case["setup"] in ("none", "handshake", "channel")
        bytes.fromhex(case["send"])
