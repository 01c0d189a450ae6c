# SPDX-License-Identifier: MIT
"""A stream's page in the web UI, in a real browser (Debian's chromium,
headless, through playwright-core, as test_ui.py): the scenario is
streams.mjs. This file starts the broker, declares a stream of 25
messages and holds a pika consumer of it from `first` with prefetch 5
(offset 5, lag 20) that acks what it has when the scenario asks (offset
10, lag 15). The screenshot goes to build/browser-artifacts/
(WARREN_UI_ARTIFACTS to change that)."""

import os
import shutil
import subprocess
import time

import pika
import pytest

from test_ui import ARTIFACTS, HERE, SLOW, Api, check_playwright, chromium
from test_ui import connect

pytestmark = pytest.mark.warren_only


@pytest.mark.timeout(150)
def test_stream_page_in_chromium(broker_factory, tmp_path):
    exe = chromium()
    check_playwright()
    node = shutil.which("node")
    assert node, "node is not installed"
    srv = broker_factory("--set", "collect_statistics_interval=1000")
    Api(*srv.mgmt_address)  # the API answers
    conn = connect(srv.address, heartbeat=0)
    ch = conn.channel()
    ch.queue_declare("ui-events", durable=True,
                     arguments={"x-queue-type": "stream"})
    ch.confirm_delivery()
    for i in range(25):
        ch.basic_publish("", "ui-events", b"event %d" % i,
                         pika.BasicProperties(delivery_mode=2))
    ch.basic_qos(prefetch_count=5)
    tags = []
    ch.basic_consume("ui-events",
                     lambda c, m, p, b: tags.append(m.delivery_tag),
                     arguments={"x-stream-offset": "first"},
                     consumer_tag="ui-reader")
    deadline = time.monotonic() + 30 * SLOW
    while len(tags) < 5 and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.2)
    assert len(tags) == 5
    control = tmp_path / "control"
    os.makedirs(ARTIFACTS, exist_ok=True)
    for f in os.listdir(ARTIFACTS):
        if f.startswith("stream-"):
            os.unlink(os.path.join(ARTIFACTS, f))
    host, port = srv.mgmt_address
    p = subprocess.Popen(
        [node, "streams.mjs", "http://%s:%d" % (host, port), ARTIFACTS,
         "ui-events", "ui-reader", str(control)],
        cwd=HERE, env=dict(os.environ, CHROMIUM=exe,
                           WARREN_TEST_SLOW="%g" % SLOW),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    acked = False
    try:
        deadline = time.monotonic() + 120 * SLOW
        while p.poll() is None and time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.1)
            if not acked and control.exists():
                ch.basic_ack(tags[-1], multiple=True)
                acked = True
        if p.poll() is None:
            p.kill()
        out, err = p.communicate(timeout=30)
    finally:
        conn.close()
    out = out.decode("utf-8", "replace")
    err = err.decode("utf-8", "replace")
    assert p.returncode == 0, "streams.mjs failed at\n%s\n%s\nscreenshots: %s" \
        % ("\n".join(out.splitlines()[-3:]), err, ARTIFACTS)
    assert out.strip().endswith("ok"), out
    assert acked
    assert os.path.isfile(os.path.join(ARTIFACTS, "stream-page.png"))
