# SPDX-License-Identifier: MIT
"""Memory flow control (RabbitMQ's memory alarm): a publish flood against a
small vm_memory_high_watermark.absolute -> connection.blocked, the broker
stops reading from the publisher, a consumer on another connection drains
the queue -> connection.unblocked, the publisher finishes; no message is
lost and memory never goes more than a bounded margin past the watermark."""

import re
import threading
import time

import pika
import pytest

WATERMARK = 8 << 20
BODY = 64 * 1024
COUNT = 400  # 25 MiB in all: three times the watermark
MARGIN = 1 << 20  # one read pass and one 64 KiB message past the line


def params(b, **kw):
    return pika.ConnectionParameters(host=b.host, port=b.port, connection_attempts=1,
                                      socket_timeout=10, heartbeat=0, **kw)


@pytest.mark.timeout(120)
def test_flood_blocks_then_drains_without_loss(start_broker, uniq):
    b = start_broker("vm_memory_high_watermark.absolute = %d\n" % WATERMARK)
    q = "flood-" + uniq
    cons = pika.BlockingConnection(params(b))
    cch = cons.channel()
    cch.queue_declare(q)
    events = {"blocked": 0, "unblocked": 0}
    done = threading.Event()
    errors = []

    def publisher():
        try:
            conn = pika.BlockingConnection(params(b, blocked_connection_timeout=None))
            conn.add_on_connection_blocked_callback(
                lambda *a: events.__setitem__("blocked", events["blocked"] + 1))
            conn.add_on_connection_unblocked_callback(
                lambda *a: events.__setitem__("unblocked", events["unblocked"] + 1))
            ch = conn.channel()
            for i in range(COUNT):
                body = b"%06d" % i + b"x" * (BODY - 6)
                ch.basic_publish("", q, body)
            conn.process_data_events(time_limit=0.5)
            conn.close()
        except Exception as e:  # reported by the main thread
            errors.append(e)
        finally:
            done.set()

    t = threading.Thread(target=publisher, daemon=True)
    t.start()
    # the alarm goes off and the publisher is blocked before it can finish
    b.wait_log(r"memory alarm set", timeout=30)
    b.wait_log(r"blocked \(low on memory\)", timeout=10)
    time.sleep(0.5)
    assert not done.is_set(), "the publisher was never held back"
    ready = cch.queue_declare(q, passive=True).method.message_count
    assert ready < COUNT
    # drain: the consumer's connection is not blocked
    seen = set()
    deadline = time.monotonic() + 90
    cch.basic_qos(prefetch_count=50)
    for m, p, body in cch.consume(q, inactivity_timeout=1.0):
        if m is not None:
            seen.add(int(body[:6]))
            cch.basic_ack(m.delivery_tag)
        if len(seen) == COUNT or time.monotonic() > deadline:
            break
    cch.cancel()
    t.join(30)
    assert not errors, errors
    assert done.is_set()
    assert seen == set(range(COUNT)), "lost %d messages" % (COUNT - len(seen))
    cons.close()
    m = b.wait_log(r"memory alarm cleared: \d+ bytes in use \(peak (\d+), watermark (\d+)\)")
    peaks = [int(x) for x in re.findall(r"peak (\d+)", b.log())]
    assert max(peaks) < WATERMARK + MARGIN, (max(peaks), WATERMARK)
    assert events["blocked"] >= 1 and events["unblocked"] >= 1, events
    b.wait_log(r"unblocked")
