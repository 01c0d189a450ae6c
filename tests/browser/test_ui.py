# SPDX-License-Identifier: MIT
"""warren's web UI in a real browser (issue 18): Debian's chromium,
headless, driven by playwright-core (pinned in package-lock.json,
installed by `make test-browser` with npm ci). The scenario is ui.mjs;
this file starts the broker, gives it something to show (a pika
connection with a consumer, a user without a management tag, 1,200
queues in a vhost for the paging checks) and runs it. Screenshots go to
build/browser-artifacts/ (WARREN_UI_ARTIFACTS to change that). A missing
chromium or playwright-core fails the test: it does not skip."""

import json
import os
import shutil
import subprocess
import sys

import pika
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "admin"))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

from broker import SLOW  # noqa: E402  (tests/proto/broker.py)
from helpers import connect  # noqa: E402  (tests/interop/helpers.py)
from mgmt_client import Api  # noqa: E402

ARTIFACTS = os.environ.get("WARREN_UI_ARTIFACTS") or os.path.join(
    HERE, "..", "..", "build", "browser-artifacts")
HINT = "run `make test-browser` (npm ci in tests/browser) after `make deps`"

pytestmark = pytest.mark.warren_only


def chromium():
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium is not installed: " + HINT, pytrace=False)
    return exe


def check_playwright():
    pkg = os.path.join(HERE, "node_modules", "playwright-core", "package.json")
    if not os.path.isfile(pkg):
        pytest.fail("playwright-core is not installed: " + HINT, pytrace=False)
    with open(os.path.join(HERE, "package.json")) as f:
        want = json.load(f)["dependencies"]["playwright-core"]
    with open(pkg) as f:
        have = json.load(f)["version"]
    if have != want:
        pytest.fail("playwright-core %s installed, %s pinned: %s"
                    % (have, want, HINT), pytrace=False)


@pytest.mark.timeout(150)
def test_ui_in_chromium(broker_factory):
    exe = chromium()
    check_playwright()
    node = shutil.which("node")
    assert node, "node is not installed: " + HINT
    srv = broker_factory("--set", "collect_statistics_interval=1000")
    api = Api(*srv.mgmt_address)
    api.ok("PUT", "users/plain", {"password": "plainpw", "tags": ""})
    api.ok("PUT", "vhosts/bulk", {})
    api.ok("PUT", "permissions/bulk/guest",
           {"configure": ".*", "write": ".*", "read": ".*"})
    for i in range(1200):
        api.ok("PUT", "queues/bulk/bulk-%04d" % i, {"durable": False})
    # something for the Connections and Channels tabs
    conn = connect(srv.address, heartbeat=0)
    ch = conn.channel()
    ch.queue_declare("ui-work")
    ch.basic_qos(prefetch_count=20)
    ch.basic_consume("ui-work", lambda c, m, p, b: c.basic_ack(m.delivery_tag))
    host, port = srv.mgmt_address
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # this run's pictures only
    try:
        p = subprocess.run(
            [node, "ui.mjs", "http://%s:%d" % (host, port), ARTIFACTS],
            cwd=HERE, env=dict(os.environ, CHROMIUM=exe,
                               WARREN_TEST_SLOW="%g" % SLOW),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            timeout=120 * SLOW)
    finally:
        closed = None  # the scenario closes it from the UI, with a reason
        try:
            conn.process_data_events(time_limit=0)
            conn.close()
        except pika.exceptions.ConnectionClosedByBroker as e:
            closed = e
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, "ui.mjs failed at\n%s\n%s\nscreenshots: %s" % (
        "\n".join(out.splitlines()[-3:]), err, ARTIFACTS)
    assert out.strip().endswith("ok"), out
    assert closed is not None, "the connection was not closed from the UI"
    assert closed.reply_code == 320  # CONNECTION_FORCED, as RabbitMQ's
    assert "closed from the UI test" in closed.reply_text
