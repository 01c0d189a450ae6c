# SPDX-License-Identifier: MIT
"""Server-side offset tracking for stream consumers over AMQP 0-9-1
(issue 16; LavinMQ's consumer argument x-stream-automatic-offset-tracking),
through pika: a consumer identified by its consumer tag resumes at the
first offset it has not acked, across reconnects, a clean restart and
kill -9; unacked deliveries come again; tags are independent; the stored
offset wins over x-stream-offset; retention that removed it starts the
consumer at the oldest offset kept; deleting the stream forgets it; a
damaged offsets file never stops the broker. All warren_only: RabbitMQ
offers offset tracking only through its stream protocol (port 5552), and
3.10 ignores the argument.
"""

import os
import time

import pika
import pytest

import broker as broker_mod  # tests/proto/broker.py
from helpers import WAIT, channel_error

pytestmark = pytest.mark.warren_only

STREAM = {"x-queue-type": "stream"}
TRACK = "x-stream-automatic-offset-tracking"


def declare(ch, name, **args):
    a = dict(STREAM)
    a.update(args)
    return ch.queue_declare(name, durable=True, arguments=a).method


def publish(ch, q, n, start=0, size=0):
    ch.confirm_delivery()
    for i in range(start, start + n):
        body = b"m%d" % i
        ch.basic_publish("", q, body + b"." * max(0, size - len(body)))


class Consumer:
    """A tracked stream consumer on a connection of its own: got holds
    (delivery tag, offset) in arrival order; nothing is acked unless
    asked."""

    def __init__(self, conn, q, tag, offset=None, prefetch=100, track=True):
        self.conn = conn
        self.ch = conn.channel()
        self.ch.basic_qos(prefetch_count=prefetch)
        self.got = []
        args = {TRACK: track}
        if offset is not None:
            args["x-stream-offset"] = offset
        self.tag = self.ch.basic_consume(q, self.on_msg, consumer_tag=tag,
                                         arguments=args)

    def on_msg(self, ch, m, p, b):
        self.got.append((m.delivery_tag, p.headers["x-stream-offset"]))

    def wait(self, n, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while len(self.got) < n and time.monotonic() < deadline:
            self.conn.process_data_events(time_limit=0.05)
        return self.offsets()

    def quiet(self, seconds=0.3):
        deadline = time.monotonic() + seconds * broker_mod.SLOW
        while time.monotonic() < deadline:
            self.conn.process_data_events(time_limit=0.05)
        return self.offsets()

    def offsets(self):
        return [o for _, o in self.got]

    def ack_offset(self, offset, multiple=False):
        for t, o in self.got:
            if o == offset:
                self.ch.basic_ack(t, multiple=multiple)
                return
        raise AssertionError("offset %d not delivered" % offset)

    def sync(self):
        """A round trip on the channel: the broker has handled the acks
        sent before it (and written their offsets, which it does before
        any reply of that turn leaves)."""
        self.ch.basic_qos(prefetch_count=100)


def first_offset(conn, q, tag, offset=None, track=True):
    """The offset of the first delivery to a new consumer."""
    c = Consumer(conn, q, tag, offset=offset, track=track)
    got = c.wait(1)
    assert got, "nothing delivered"
    c.ch.close()
    return got[0]


def test_resumes_after_the_last_acked(connections, uniq):
    ch = connections().channel()
    declare(ch, uniq)
    publish(ch, uniq, 30)
    c = Consumer(connections(), uniq, "reader", offset="first")
    assert c.wait(30) == list(range(30))
    c.ack_offset(6, multiple=True)   # 0..6
    c.ack_offset(8)                  # 7 is not acked: resume at 7
    c.sync()
    c.conn.close()
    c = Consumer(connections(), uniq, "reader", offset="first")
    assert c.wait(23) == list(range(7, 30))  # unacked ones come again
    c.ack_offset(29, multiple=True)
    c.sync()
    c.ch.basic_cancel(c.tag)
    c.conn.close()
    # everything acked: it waits at the tail and gets what comes next
    c = Consumer(connections(), uniq, "reader", offset="first")
    assert c.quiet() == []
    publish(ch, uniq, 2, start=30)
    assert c.wait(2) == [30, 31]
    ch.queue_delete(uniq)


def test_acks_after_cancel_still_count(connections, uniq):
    """Acks sent after basic.cancel, for deliveries before it, move the
    stored offset too."""
    ch = connections().channel()
    declare(ch, uniq)
    publish(ch, uniq, 10)
    c = Consumer(connections(), uniq, "late", offset="first")
    assert c.wait(10) == list(range(10))
    c.ch.basic_cancel(c.tag)
    c.ack_offset(4, multiple=True)
    c.sync()
    c.conn.close()
    assert first_offset(connections(), uniq, "late", offset="first") == 5
    ch.queue_delete(uniq)


def test_tags_are_independent(connections, uniq):
    ch = connections().channel()
    declare(ch, uniq)
    publish(ch, uniq, 20)
    for tag, upto in (("a", 3), ("b", 11), ("c", 0)):
        c = Consumer(connections(), uniq, tag, offset="first")
        assert c.wait(20) == list(range(20))
        c.ack_offset(upto, multiple=True)
        c.sync()
        c.conn.close()
    conn = connections()
    assert first_offset(conn, uniq, "a", offset="first") == 4
    assert first_offset(conn, uniq, "b", offset="first") == 12
    assert first_offset(conn, uniq, "c", offset="first") == 1
    # a tag that never acked has nothing stored: x-stream-offset applies
    assert first_offset(conn, uniq, "d", offset=15) == 15
    ch.queue_delete(uniq)


def test_stored_offset_wins_over_x_stream_offset(connections, uniq):
    ch = connections().channel()
    declare(ch, uniq)
    publish(ch, uniq, 20)
    c = Consumer(connections(), uniq, "w", offset="first")
    c.wait(20)
    c.ack_offset(9, multiple=True)
    c.sync()
    c.conn.close()
    conn = connections()
    for offset in ("last", "next", 2, "first", None):
        assert first_offset(conn, uniq, "w", offset=offset) == 10, offset
    # without the argument the stored offset is not used (nor changed)
    assert first_offset(conn, uniq, "w", offset="first", track=False) == 0
    assert first_offset(conn, uniq, "w", offset=3, track="false") == 3
    assert first_offset(conn, uniq, "w", offset=3, track="true") == 10
    ch.queue_delete(uniq)


def test_tracking_with_a_filter(connections, uniq):
    """Offsets the filter skipped count as read: the stored offset is
    past them once everything delivered was acked."""
    ch = connections().channel()
    declare(ch, uniq)
    ch.confirm_delivery()
    for i in range(10):
        ch.basic_publish("", uniq, b"%d" % i, pika.BasicProperties(
            headers={"x-stream-filter-value": "a" if i < 3 else "b"}))
    conn = connections()
    fch = conn.channel()
    fch.basic_qos(prefetch_count=10)
    got = []
    fch.basic_consume(uniq, lambda c_, m, p, b: got.append(m.delivery_tag),
                      consumer_tag="f", arguments={
                          TRACK: True, "x-stream-offset": "first",
                          "x-stream-filter": "a"})
    deadline = time.monotonic() + WAIT
    while len(got) < 3 and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    assert len(got) == 3
    fch.basic_ack(got[-1], multiple=True)
    fch.basic_qos(prefetch_count=10)  # a round trip: the ack was handled
    conn.close()
    ch.basic_publish("", uniq, b"10")
    assert first_offset(connections(), uniq, "f") == 10
    ch.queue_delete(uniq)


@pytest.mark.parametrize("value,why", [
    (5, "{unacceptable_type,signedint}"),
    ("yes", "{unacceptable_type,longstr}"),
])
def test_bad_argument(connections, uniq, value, why):
    ch = connections().channel()
    declare(ch, uniq)
    cc = connections().channel()
    cc.basic_qos(prefetch_count=10)
    with channel_error(406) as ei:
        cc.basic_consume(uniq, lambda *a: None, consumer_tag="t",
                         arguments={TRACK: value})
    assert ei.value.reply_text == (
        "PRECONDITION_FAILED - invalid arg '%s' for queue '%s' in vhost "
        "'/': %s" % (TRACK, uniq, why))
    ch.queue_delete(uniq)


# ---- py-amqp (celery's client) ------------------------------------------------


def test_py_amqp_resume_and_no_tag(aconns, uniq):
    """The same through py-amqp, which can also send an empty consumer
    tag: tracking one the server would make up is refused (406)."""
    import amqp
    import amqp.exceptions as ax
    from kombu_helpers import drain

    conn = aconns()
    ch = conn.channel()
    ch.queue_declare(uniq, durable=True, auto_delete=False,
                     arguments=STREAM)
    ch.confirm_select()
    for i in range(10):
        ch.basic_publish(amqp.Message(b"%d" % i), "", uniq)

    def run(c, offset, n):
        cch = c.channel()
        cch.basic_qos(0, 20, False)
        got = []
        cch.basic_consume(uniq, consumer_tag="py", callback=got.append,
                          arguments={TRACK: True, "x-stream-offset": offset})
        assert drain(c, lambda: len(got) >= n)
        return cch, got

    c = aconns()
    cch, got = run(c, "first", 10)
    assert [m.headers["x-stream-offset"] for m in got] == list(range(10))
    cch.basic_ack(got[5].delivery_tag, multiple=True)
    cch.basic_qos(0, 20, False)  # a round trip: the ack was handled
    c.close()
    c = aconns()
    cch, got = run(c, 4, 4)  # the stored 6 wins over 4
    assert [m.headers["x-stream-offset"] for m in got] == list(range(6, 10))
    c.close()

    bad = aconns().channel()
    bad.basic_qos(0, 10, False)
    with pytest.raises(ax.PreconditionFailed) as ei:
        bad.basic_consume(uniq, consumer_tag="", callback=lambda m: None,
                          arguments={TRACK: True})
    assert ei.value.reply_code == 406
    assert "consumer tag" in ei.value.reply_text
    ch.queue_delete(uniq)


# ---- restarts and files (warren's own brokers) -------------------------------

_started = []


@pytest.fixture
def own_broker(tmp_path):
    """start(*args) -> a private warren on tmp_path/data, killed at the
    end."""
    def start(*args):
        try:
            srv = broker_mod.WarrenServer(
                args, data_dir=str(tmp_path / "data")).start()
        except broker_mod.BrokerError as e:
            pytest.fail(str(e), pytrace=False)
        _started.append(srv)
        return srv
    yield start
    while _started:
        _started.pop().kill()


def pconn(srv):
    return pika.BlockingConnection(pika.ConnectionParameters(
        host=srv.host, port=srv.port, heartbeat=0,
        socket_timeout=5 * broker_mod.SLOW))


def api_queue(srv, name):
    import base64
    import json
    import urllib.request
    req = urllib.request.Request(
        "http://%s:%d/api/queues/%%2F/%s" % (srv.mgmt_address + (name,)),
        headers={"authorization": "Basic " +
                 base64.b64encode(b"guest:guest").decode()})
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


def offsets_file(tmp_path):
    streams = tmp_path / "data" / "streams"
    dirs = list(streams.iterdir())
    assert len(dirs) == 1
    return dirs[0] / "offsets"


@pytest.mark.parametrize("how", ["kill", "term"])
def test_survives_restart(own_broker, tmp_path, how):
    srv = own_broker()
    ch = pconn(srv).channel()
    declare(ch, "events", **{"x-stream-max-segment-size-bytes": 4096})
    publish(ch, "events", 500)
    positions = {}
    for tag, upto in (("one", 99), ("two", 349)):
        c = Consumer(pconn(srv), "events", tag, offset="first", prefetch=500)
        assert c.wait(500) == list(range(500))
        c.ack_offset(upto, multiple=True)
        c.sync()  # acked: the offset is written before this reply
        positions[tag] = upto + 1
        # still connected when the broker goes (kill) or closes (term)
    if how == "kill":
        srv.kill()
    else:
        assert srv.terminate() == 0
    srv = own_broker()
    # the API shows them, with nobody connected
    assert api_queue(srv, "events")["tracked_offsets"] == [
        {"consumer_tag": "one", "offset": 100},
        {"consumer_tag": "two", "offset": 350}]
    conn = pconn(srv)
    for tag, at in positions.items():
        c = Consumer(conn, "events", tag, offset="next", prefetch=500)
        assert c.wait(500 - at) == list(range(at, 500)), tag
        c.ch.close()
    # and once more, after acking some on the restarted broker
    c = Consumer(conn, "events", "one", prefetch=500)
    c.wait(400)
    c.ack_offset(199, multiple=True)
    c.sync()
    srv.kill()
    srv = own_broker()
    assert first_offset(pconn(srv), "events", "one") == 200
    assert first_offset(pconn(srv), "events", "two") == 350
    assert offsets_file(tmp_path).stat().st_size > 0


def test_retention_removed_the_tracked_offset(own_broker):
    """The tracked offset's segment was deleted by retention: the
    consumer starts at the oldest offset kept (the tag is not
    forgotten)."""
    srv = own_broker()
    ch = pconn(srv).channel()
    declare(ch, "short", **{"x-max-length-bytes": 20000,
                            "x-stream-max-segment-size-bytes": 5000})
    publish(ch, "short", 20, size=100)
    c = Consumer(pconn(srv), "short", "slow", offset="first")
    assert c.wait(20) == list(range(20))
    c.ack_offset(4, multiple=True)
    c.sync()
    c.conn.close()
    n = 20
    oldest = 0
    deadline = time.monotonic() + WAIT
    while oldest <= 5 and time.monotonic() < deadline:
        publish(ch, "short", 200, start=n, size=100)
        n += 200
        oldest = first_offset(pconn(srv), "short", "probe", offset="first",
                              track=False)
    assert oldest > 5
    assert first_offset(pconn(srv), "short", "slow", offset="next") == oldest
    # the same after a restart
    srv.kill()
    srv = own_broker()
    oldest = first_offset(pconn(srv), "short", "probe", offset="first",
                          track=False)
    assert first_offset(pconn(srv), "short", "slow", offset="next") == oldest


def test_delete_forgets_the_offsets(own_broker, tmp_path):
    srv = own_broker()
    ch = pconn(srv).channel()
    declare(ch, "gone")
    publish(ch, "gone", 10)
    c = Consumer(pconn(srv), "gone", "t", offset="first")
    c.wait(10)
    c.ack_offset(9, multiple=True)
    c.sync()
    path = offsets_file(tmp_path)
    assert path.exists()
    ch.queue_delete("gone")
    assert list((tmp_path / "data" / "streams").iterdir()) == []
    declare(ch, "gone")
    publish(ch, "gone", 3)
    # nothing stored for t in the new stream (10 would wait at the end)
    assert first_offset(pconn(srv), "gone", "t", offset=1) == 1


def test_damaged_offsets_file(own_broker, tmp_path):
    """A flipped byte costs the record it hits (that tag falls back to
    x-stream-offset) and nothing else; garbage costs the stored offsets;
    neither stops the broker."""
    srv = own_broker()
    ch = pconn(srv).channel()
    declare(ch, "dmg")
    publish(ch, "dmg", 10)
    for tag, upto in (("aaaa", 2), ("bbbb", 5), ("cccc", 7)):
        c = Consumer(pconn(srv), "dmg", tag, offset="first")
        c.wait(10)
        c.ack_offset(upto, multiple=True)
        c.sync()
        c.conn.close()
    assert srv.terminate() == 0
    path = offsets_file(tmp_path)
    data = bytearray(path.read_bytes())
    assert data.count(b"bbbb") == 1  # one ack, one record
    at = data.find(b"bbbb")
    data[at - 3] ^= 0x10  # a bit of bbbb's offset
    path.write_bytes(bytes(data))
    srv = own_broker()
    conn = pconn(srv)
    assert first_offset(conn, "dmg", "aaaa", offset="first") == 3
    assert first_offset(conn, "dmg", "bbbb", offset="first") == 0
    assert first_offset(conn, "dmg", "cccc", offset="first") == 8
    with open(srv.log_path) as f:
        assert "offsets" in f.read()
    assert srv.terminate() == 0
    path.write_bytes(os.urandom(3000))
    srv = own_broker()
    conn = pconn(srv)
    assert first_offset(conn, "dmg", "cccc", offset="first") == 0
    publish(conn.channel(), "dmg", 1, start=10)
    assert first_offset(conn, "dmg", "new", offset="last") == 10
