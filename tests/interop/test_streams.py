# SPDX-License-Identifier: MIT
"""Stream queues over AMQP 0-9-1 (issue 16), through pika, with RabbitMQ
3.10's codes and texts: declare (properties, arguments, redeclare),
publishing with confirms, consumers at their own offsets
(x-stream-offset first / last / next / integer / timestamp / interval),
x-stream-offset on every delivery, acks that remove nothing, a consumer
waiting at the tail, what a stream refuses (basic.get, purge, nack,
reject, no-ack, global qos, x-priority), queue.delete cancelling the
consumers. Tests marked warren_only restart warren (kill -9, retention
over time) or check where warren deliberately differs (RabbitMQ 3.10
crashes with 541 on a bad x-max-age or x-stream-offset string).
"""

import datetime
import time

import pika
import pika.exceptions
import pytest

import broker as broker_mod  # tests/proto/broker.py
from helpers import WAIT, channel_error, connection_error

STREAM = {"x-queue-type": "stream"}


def declare(ch, name, **args):
    a = dict(STREAM)
    a.update(args)
    return ch.queue_declare(name, durable=True, arguments=a).method


def publish_confirmed(ch, q, bodies, **props):
    ch.confirm_delivery()
    for b in bodies:
        ch.basic_publish("", q, b, pika.BasicProperties(**props) if props
                         else None)


def consume(conn, q, n, offset=None, prefetch=100, ack=True, tag=None,
            timeout=WAIT):
    """n deliveries from a stream consumer starting at offset:
    [(method, properties, body)]; the consumer stays."""
    ch = conn.channel()
    ch.basic_qos(prefetch_count=prefetch)
    got = []

    def on_msg(c, m, p, b):
        got.append((m, p, b))
        if ack:
            c.basic_ack(m.delivery_tag)

    args = {} if offset is None else {"x-stream-offset": offset}
    ch.basic_consume(q, on_msg, arguments=args,
                     **({"consumer_tag": tag} if tag else {}))
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    return ch, got


def offsets(got):
    return [p.headers["x-stream-offset"] for _, p, _ in got]


def bodies(got):
    return [b for _, _, b in got]


def quiet(conn, seconds=0.3):
    """Let anything more arrive (for checks that nothing does)."""
    deadline = time.monotonic() + seconds * broker_mod.SLOW
    while time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)


# ---- declare ----------------------------------------------------------------


@pytest.mark.parametrize("kw,prop", [
    ({"durable": False}, "non-durable"),
    ({"durable": True, "exclusive": True}, "exclusive-owner"),
    ({"durable": True, "auto_delete": True}, "auto-delete"),
])
def test_declare_properties_refused(conn, uniq, kw, prop):
    ch = conn.channel()
    with channel_error(406) as ei:
        ch.queue_declare(uniq, arguments=STREAM, **kw)
    assert ei.value.reply_text == (
        "PRECONDITION_FAILED - invalid property '%s' for queue '%s' in "
        "vhost '/'" % (prop, uniq))


@pytest.mark.parametrize("arg,value", [
    ("x-max-age", "7D"), ("x-max-age", "30m"), ("x-max-age", "1Y"),
    ("x-max-age", "12h"), ("x-max-age", "5s"), ("x-max-age", "2M"),
    ("x-max-length-bytes", 1000000),
    ("x-stream-max-segment-size-bytes", 100000),
    ("x-stream-filter-size-bytes", 32),
    ("x-initial-cluster-size", 1),
    ("x-queue-leader-locator", "client-local"),
    ("x-queue-leader-locator", "balanced"),
])
def test_declare_stream_arguments(conn, uniq, arg, value):
    ch = conn.channel()
    m = declare(ch, uniq, **{arg: value})
    assert m.message_count == 0 and m.consumer_count == 0
    # the same again is fine
    declare(ch, uniq, **{arg: value})
    ch.queue_delete(uniq)


@pytest.mark.parametrize("arg,value,why", [
    ("x-max-age", "10", "invalid_max_age"),
    ("x-max-age", "0s", "invalid_max_age"),
    ("x-max-age", 10, "{unacceptable_type,signedint}"),
    ("x-max-length-bytes", -1, "{value_negative,-1}"),
    ("x-max-length-bytes", "x", '"expected integer, got longstr"'),
    ("x-stream-max-segment-size-bytes", "a",
     '"expected integer, got longstr"'),
    ("x-queue-leader-locator", "foo", "invalid_queue_locator_arg"),
])
def test_declare_bad_argument(conn, uniq, arg, value, why):
    ch = conn.channel()
    with channel_error(406) as ei:
        declare(ch, uniq, **{arg: value})
    assert ei.value.reply_text == (
        "PRECONDITION_FAILED - invalid arg '%s' for queue '%s' in vhost "
        "'/': %s" % (arg, uniq, why))


@pytest.mark.parametrize("arg,value", [
    ("x-max-priority", 5), ("x-message-ttl", 100), ("x-max-length", 5),
    ("x-dead-letter-exchange", "dlx"), ("x-overflow", "drop-head"),
    ("x-expires", 1000), ("x-single-active-consumer", True),
])
def test_declare_classic_argument_refused(conn, uniq, arg, value):
    ch = conn.channel()
    with channel_error(406) as ei:
        declare(ch, uniq, **{arg: value})
    assert ei.value.reply_text == (
        "PRECONDITION_FAILED - invalid arg '%s' for queue '%s' in vhost '/' "
        "of queue type rabbit_stream_queue" % (arg, uniq))


def test_redeclare_inequivalent(connections, uniq):
    ch = connections().channel()
    declare(ch, uniq, **{"x-max-length-bytes": 100000})
    with channel_error(406) as ei:
        declare(ch, uniq, **{"x-max-length-bytes": 200000})
    assert ei.value.reply_text == (
        "PRECONDITION_FAILED - inequivalent arg 'x-max-length-bytes' for "
        "queue '%s' in vhost '/': received '200000' but current is "
        "'100000'" % uniq)
    ch = connections().channel()
    with channel_error(406) as ei:
        declare(ch, uniq, **{"x-max-length-bytes": 100000,
                             "x-max-age": "1D"})
    assert ei.value.reply_text == (
        "PRECONDITION_FAILED - inequivalent arg 'x-max-age' for queue '%s' "
        "in vhost '/': received the value '1D' of type 'longstr' but "
        "current is none" % uniq)
    ch = connections().channel()
    ch.queue_delete(uniq)


@pytest.mark.warren_only
@pytest.mark.parametrize("value", ["bad", "7d", "D", "-1D"])
def test_declare_bad_max_age_string(conn, uniq, value):
    """RabbitMQ 3.10 crashes on these (541 INTERNAL_ERROR); warren answers
    what it answers for "10": 406 invalid_max_age."""
    ch = conn.channel()
    with channel_error(406) as ei:
        declare(ch, uniq, **{"x-max-age": value})
    assert ei.value.reply_text.endswith("': invalid_max_age")


# ---- publishing and consuming -------------------------------------------------


def test_publish_consume_offsets(connections, uniq):
    c = connections()
    ch = c.channel()
    declare(ch, uniq)
    publish_confirmed(ch, uniq, [b"m%d" % i for i in range(10)],
                      headers={"h": 1}, content_type="text/plain")
    _, got = consume(connections(), uniq, 10, offset="first")
    assert bodies(got) == [b"m%d" % i for i in range(10)]
    assert offsets(got) == list(range(10))
    for m, p, _ in got:
        assert not m.redelivered
        assert p.headers["h"] == 1 and p.content_type == "text/plain"
        assert m.routing_key == uniq and m.exchange == ""
    # the acks removed nothing: a second consumer gets them all again
    _, again = consume(connections(), uniq, 10, offset="first")
    assert bodies(again) == bodies(got)
    assert not any(m.redelivered for m, _, _ in again)
    # an integer offset, one in the middle
    _, mid = consume(connections(), uniq, 4, offset=6)
    assert offsets(mid) == [6, 7, 8, 9]
    # negative: clamped to the first
    _, neg = consume(connections(), uniq, 10, offset=-1)
    assert offsets(neg) == list(range(10))
    ch.queue_delete(uniq)


def test_offset_header_is_a_long(connections, uniq):
    """x-stream-offset is a long ('l') in the headers, after the
    publisher's own headers."""
    c = connections()
    ch = c.channel()
    declare(ch, uniq)
    publish_confirmed(ch, uniq, [b"x"], headers={"a": "b"})
    raw = []
    ch2 = connections()
    _, got = consume(ch2, uniq, 1, offset="first")
    assert list(got[0][1].headers) == ["a", "x-stream-offset"]
    assert isinstance(got[0][1].headers["x-stream-offset"], int)
    del raw
    ch.queue_delete(uniq)


def test_next_last_and_tail(connections, uniq):
    c = connections()
    ch = c.channel()
    declare(ch, uniq)
    publish_confirmed(ch, uniq, [b"a", b"b", b"c"])
    nc = connections()
    _, nxt = consume(nc, uniq, 0)  # default: next
    lc = connections()
    _, last = consume(lc, uniq, 1, offset="last")
    # "last" is the start of the last chunk: here one chunk, or c alone
    assert bodies(last)[-1:] == [b"c"] and len(last) >= 1
    quiet(nc)
    assert nxt == []
    # both wait at the tail and get what comes
    ch.basic_publish("", uniq, b"d")
    ch.basic_publish("", uniq, b"e")
    deadline = time.monotonic() + WAIT
    while (len(nxt) < 2 or bodies(last)[-1] != b"e") and \
            time.monotonic() < deadline:
        nc.process_data_events(time_limit=0.05)
        lc.process_data_events(time_limit=0.05)
    assert bodies(nxt) == [b"d", b"e"]
    assert offsets(nxt) == [3, 4]
    assert bodies(last)[-2:] == [b"d", b"e"]
    ch.queue_delete(uniq)


def test_offset_past_the_end_waits(connections, uniq):
    """An offset not written yet is waited for; what comes before it is
    not delivered."""
    c = connections()
    ch = c.channel()
    declare(ch, uniq)
    publish_confirmed(ch, uniq, [b"a", b"b"])
    cc = connections()
    _, got = consume(cc, uniq, 0, offset=5)
    quiet(cc)
    assert got == []
    for b in (b"c", b"d", b"e", b"f", b"g"):
        ch.basic_publish("", uniq, b)
    deadline = time.monotonic() + WAIT
    while len(got) < 2 and time.monotonic() < deadline:
        cc.process_data_events(time_limit=0.05)
    assert bodies(got) == [b"f", b"g"] and offsets(got) == [5, 6]
    ch.queue_delete(uniq)


def test_offset_timestamp_and_interval(connections, uniq):
    c = connections()
    ch = c.channel()
    declare(ch, uniq)
    publish_confirmed(ch, uniq, [b"a", b"b"])
    _, old = consume(connections(), uniq, 2,
                     offset=datetime.datetime(2000, 1, 1))
    assert bodies(old) == [b"a", b"b"]
    _, hour = consume(connections(), uniq, 2, offset="1h")
    assert bodies(hour) == [b"a", b"b"]
    fc = connections()
    future = datetime.datetime.utcfromtimestamp(time.time() + 3600)
    _, fut = consume(fc, uniq, 0, offset=future)
    quiet(fc)
    assert fut == []
    ch.queue_delete(uniq)


@pytest.mark.parametrize("value,why", [
    ("1", '{invalid_stream_offset_arg,{longstr,<<"1">>}}'),
    ("0s", '{invalid_stream_offset_arg,{longstr,<<"0s">>}}'),
])
def test_bad_offset(connections, uniq, value, why):
    ch = connections().channel()
    declare(ch, uniq)
    cc = connections().channel()
    cc.basic_qos(prefetch_count=10)
    with channel_error(406) as ei:
        cc.basic_consume(uniq, lambda *a: None,
                         arguments={"x-stream-offset": value})
    assert ei.value.reply_text == (
        "PRECONDITION_FAILED - invalid arg 'x-stream-offset' for queue '%s' "
        "in vhost '/': %s" % (uniq, why))
    ch.queue_delete(uniq)


@pytest.mark.warren_only
def test_bad_offset_word(connections, uniq):
    """RabbitMQ 3.10 crashes (541) on an unknown word; warren says 406."""
    ch = connections().channel()
    declare(ch, uniq)
    cc = connections().channel()
    cc.basic_qos(prefetch_count=10)
    with channel_error(406) as ei:
        cc.basic_consume(uniq, lambda *a: None,
                         arguments={"x-stream-offset": "bad"})
    assert "invalid arg 'x-stream-offset'" in ei.value.reply_text
    ch.queue_delete(uniq)


def test_prefetch_bounds_unacked(connections, uniq):
    c = connections()
    ch = c.channel()
    declare(ch, uniq)
    publish_confirmed(ch, uniq, [b"%d" % i for i in range(20)])
    cc = connections()
    cch, got = consume(cc, uniq, 5, offset="first", prefetch=5, ack=False)
    quiet(cc)
    assert len(got) == 5
    # an ack gives credit back: the next ones come
    cch.basic_ack(got[-1][0].delivery_tag, multiple=True)
    deadline = time.monotonic() + WAIT
    while len(got) < 10 and time.monotonic() < deadline:
        cc.process_data_events(time_limit=0.05)
    assert offsets(got) == list(range(10))
    ch.queue_delete(uniq)


def test_consumers_each_at_their_own_position(connections, uniq):
    c = connections()
    ch = c.channel()
    declare(ch, uniq)
    publish_confirmed(ch, uniq, [b"%d" % i for i in range(50)])
    conns = [connections() for _ in range(3)]
    starts = ["first", 20, 45]
    chans = []
    gots = []
    for cc, s in zip(conns, starts):
        _, got = consume(cc, uniq, 0, offset=s, timeout=0)
        gots.append(got)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and [len(g) for g in gots] != [50, 30, 5]:
        for cc in conns:
            cc.process_data_events(time_limit=0.02)
    assert [offsets(g) for g in gots] == [list(range(50)), list(range(20, 50)),
                                          list(range(45, 50))]
    del chans
    ch.queue_delete(uniq)


# ---- what a stream refuses ---------------------------------------------------


def rs(q):
    return "queue '%s' in vhost '/'" % q


def test_get_refused(connections, uniq):
    c = connections()
    declare(c.channel(), uniq)
    with connection_error(540) as ei:
        c.channel().basic_get(uniq)
    assert ei.value.reply_text == (
        "NOT_IMPLEMENTED - basic.get not supported by stream queues " + rs(uniq))
    connections().channel().queue_delete(uniq)


def test_purge_refused(connections, uniq):
    c = connections()
    declare(c.channel(), uniq)
    with connection_error(540) as ei:
        c.channel().queue_purge(uniq)
    assert ei.value.reply_text == (
        "NOT_IMPLEMENTED - queue.purge not supported by stream queues " +
        rs(uniq))
    connections().channel().queue_delete(uniq)


@pytest.mark.parametrize("how", ["nack", "reject"])
def test_nack_reject_refused(connections, uniq, how):
    c = connections()
    ch = c.channel()
    declare(ch, uniq)
    publish_confirmed(ch, uniq, [b"a"])
    cc = connections()
    cch, got = consume(cc, uniq, 1, offset="first", ack=False)
    assert len(got) == 1
    with connection_error(540) as ei:
        if how == "nack":
            cch.basic_nack(got[0][0].delivery_tag)
        else:
            cch.basic_reject(got[0][0].delivery_tag, requeue=False)
        quiet(cc, 2)
    assert ei.value.reply_text == (
        "NOT_IMPLEMENTED - basic.nack and basic.reject not supported by "
        "stream queues " + rs(uniq))
    ch.queue_delete(uniq)


def test_consume_without_prefetch(connections, uniq):
    c = connections()
    declare(c.channel(), uniq)
    for no_ack in (False, True):
        with channel_error(406) as ei:
            c.channel().basic_consume(uniq, lambda *a: None, auto_ack=no_ack)
        assert ei.value.reply_text == (
            "PRECONDITION_FAILED - consumer prefetch count is not set for "
            "'%s'" % rs(uniq))
    # global qos alone leaves the consumer without its own prefetch
    ch = c.channel()
    ch.basic_qos(prefetch_count=10, global_qos=True)
    with channel_error(406):
        ch.basic_consume(uniq, lambda *a: None)
    connections().channel().queue_delete(uniq)


def test_consume_no_ack_refused(connections, uniq):
    c = connections()
    declare(c.channel(), uniq)
    ch = c.channel()
    ch.basic_qos(prefetch_count=10)
    with connection_error(540) as ei:
        ch.basic_consume(uniq, lambda *a: None, auto_ack=True)
    assert ei.value.reply_text == (
        "NOT_IMPLEMENTED - automatic acknowledgement not supported by stream "
        "queues " + rs(uniq))
    connections().channel().queue_delete(uniq)


def test_consume_global_qos_refused(connections, uniq):
    c = connections()
    declare(c.channel(), uniq)
    ch = c.channel()
    ch.basic_qos(prefetch_count=10)
    ch.basic_qos(prefetch_count=100, global_qos=True)
    with connection_error(540) as ei:
        ch.basic_consume(uniq, lambda *a: None)
    assert ei.value.reply_text == (
        "NOT_IMPLEMENTED - %s does not support global qos" % rs(uniq))
    connections().channel().queue_delete(uniq)


def test_consumer_priority_refused(connections, uniq):
    c = connections()
    declare(c.channel(), uniq)
    ch = c.channel()
    ch.basic_qos(prefetch_count=10)
    with channel_error(406) as ei:
        ch.basic_consume(uniq, lambda *a: None, arguments={"x-priority": 3})
    assert ei.value.reply_text == (
        "PRECONDITION_FAILED - invalid arg 'x-priority' for %s of queue type "
        "rabbit_stream_queue" % rs(uniq))
    connections().channel().queue_delete(uniq)


def test_delete_cancels_consumers(connections, uniq):
    c = connections()
    ch = c.channel()
    declare(ch, uniq)
    cc = connections()
    cch = cc.channel()
    cch.basic_qos(prefetch_count=10)
    cancelled = []
    cch.add_on_cancel_callback(lambda m: cancelled.append(m))
    tag = cch.basic_consume(uniq, lambda *a: None)
    assert ch.queue_delete(uniq).method.message_count == 0
    deadline = time.monotonic() + WAIT
    while not cancelled and time.monotonic() < deadline:
        cc.process_data_events(time_limit=0.05)
    assert [m.method.consumer_tag for m in cancelled] == [tag]
    assert cch.is_open
    # the channel still works
    cch.queue_declare("", exclusive=True)


# ---- retention ------------------------------------------------------------------


def drain_from_first(conn, q, until, timeout=WAIT):
    """Consume from first until offset `until` arrives: the offsets."""
    ch, got = consume(conn, q, 0, offset="first", prefetch=500, timeout=0)
    deadline = time.monotonic() + timeout
    while (not got or offsets(got)[-1] < until) and \
            time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    ch.close()
    return offsets(got)


def test_retention_by_size(connections, uniq):
    """Whole segments go from the head once the stream is over
    x-max-length-bytes; `first` then starts at the oldest one kept."""
    c = connections()
    ch = c.channel()
    declare(ch, uniq, **{"x-max-length-bytes": 20000,
                         "x-stream-max-segment-size-bytes": 5000})
    ch.confirm_delivery()
    for i in range(2000):
        ch.basic_publish("", uniq, b"%0100d" % i)
    got = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        got = drain_from_first(connections(), uniq, 1999)
        if got and got[0] > 0:
            break
        ch.basic_publish("", uniq, b"more")  # retention runs as it grows
    assert got[0] > 1000, got[:5]
    # the rest is all there, in order (RabbitMQ's offsets may skip the
    # ones its own tracking chunks take at each segment's start)
    assert got == sorted(set(got))
    if broker_mod.external_broker() is None:
        assert got == list(range(got[0], got[0] + len(got)))
    assert got[-1] >= 1999
    ch.queue_delete(uniq)


# ---- restarts (warren's own brokers) -------------------------------------------

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


@pytest.mark.warren_only
@pytest.mark.parametrize("how", ["kill", "term"])
def test_stream_survives_restart(own_broker, how):
    srv = own_broker()
    c = pconn(srv)
    ch = c.channel()
    declare(ch, "events", **{"x-stream-max-segment-size-bytes": 20000})
    ch.confirm_delivery()
    for i in range(3000):
        ch.basic_publish("", "events", b"e%05d" % i,
                         pika.BasicProperties(headers={"i": i}))
    c2 = pconn(srv)
    _, got = consume(c2, "events", 10, offset="first")
    assert offsets(got)[:10] == list(range(10))
    if how == "kill":
        srv.kill()  # SIGKILL: every confirmed message must be there
    else:
        assert srv.terminate() == 0
    srv = own_broker()
    c = pconn(srv)
    ch = c.channel()
    # still a stream, same arguments
    declare(ch, "events", **{"x-stream-max-segment-size-bytes": 20000})
    got = drain_from_first(pconn(srv), "events", 2999)
    assert got == list(range(3000))
    _, tail = consume(pconn(srv), "events", 1, offset="last")
    assert offsets(tail)[-1] == 2999
    # offsets go on from where they were, never reused
    nc = pconn(srv)
    _, nxt = consume(nc, "events", 0)
    ch.confirm_delivery()
    ch.basic_publish("", "events", b"after")
    deadline = time.monotonic() + WAIT
    while not nxt and time.monotonic() < deadline:
        nc.process_data_events(time_limit=0.05)
    assert offsets(nxt) == [3000] and bodies(nxt) == [b"after"]
    assert nxt[0][1].headers["x-stream-offset"] == 3000


@pytest.mark.warren_only
def test_delete_removes_the_files(own_broker, tmp_path):
    srv = own_broker()
    c = pconn(srv)
    ch = c.channel()
    declare(ch, "gone")
    publish_confirmed(ch, "gone", [b"x" * 1000] * 10)
    streams = tmp_path / "data" / "streams"
    assert len(list(streams.iterdir())) == 1
    ch.queue_delete("gone")
    assert list(streams.iterdir()) == []
    # a stream of the same name is a new one: offsets from 0
    declare(ch, "gone")
    publish_confirmed(ch, "gone", [b"new"])
    _, got = consume(pconn(srv), "gone", 1, offset="first")
    assert offsets(got) == [0] and bodies(got) == [b"new"]
    srv.kill()
    srv = own_broker()
    _, got = consume(pconn(srv), "gone", 1, offset="first")
    assert offsets(got) == [0] and bodies(got) == [b"new"]


@pytest.mark.warren_only
def test_damaged_segment_is_reported(own_broker, tmp_path):
    """A flipped byte in a stream's segment: the broker starts, logs the
    damage with the stream's name, and delivers what is still good."""
    srv = own_broker()
    ch = pconn(srv).channel()
    declare(ch, "dmgseg")
    publish_confirmed(ch, "dmgseg", [b"payload-%02d" % i for i in range(10)])
    assert srv.terminate() == 0
    seg = next((tmp_path / "data" / "streams").iterdir()) / (
        "%020d.seg" % 0)
    data = bytearray(seg.read_bytes())
    at = data.find(b"payload-00")
    assert at > 0
    data[at + 3] ^= 0x01
    seg.write_bytes(bytes(data))
    srv = own_broker()
    with open(srv.log_path) as f:
        assert "stream 'dmgseg': corrupt data skipped" in f.read()
    ch = pconn(srv).channel()
    publish_confirmed(ch, "dmgseg", [b"after"])
    got = drain_from_first(pconn(srv), "dmgseg", 10)
    assert 0 not in got and got[-1] == 10 and got == sorted(got)


@pytest.mark.warren_only
def test_retention_by_age(own_broker):
    """Segments whose newest message is older than x-max-age go (checked
    as the stream grows, as RabbitMQ does when a segment rolls)."""
    srv = own_broker()
    c = pconn(srv)
    ch = c.channel()
    declare(ch, "aged", **{"x-max-age": "1s",
                           "x-stream-max-segment-size-bytes": 4096})
    publish_confirmed(ch, "aged", [b"%0200d" % i for i in range(100)])
    time.sleep(1.5)
    got = []
    deadline = time.monotonic() + WAIT
    n = 100
    while time.monotonic() < deadline:
        ch.basic_publish("", "aged", b"%0200d" % n)
        n += 1
        got = drain_from_first(pconn(srv), "aged", n - 1)
        if got and got[0] >= 90:
            break
    assert got[0] >= 90, got[:3]
    assert got == list(range(got[0], n))


@pytest.mark.warren_only
def test_retention_from_policy(own_broker):
    srv = own_broker()
    import urllib.request
    import base64
    import json
    req = urllib.request.Request(
        "http://%s:%d/api/policies/%%2F/small" % srv.mgmt_address,
        data=json.dumps({"pattern": "^pol", "apply-to": "queues",
                         "definition": {"max-length-bytes": 20000,
                                        "stream-max-segment-size-bytes":
                                            5000}}).encode(),
        method="PUT", headers={"content-type": "application/json",
                               "authorization": "Basic " + base64.b64encode(
                                   b"guest:guest").decode()})
    urllib.request.urlopen(req, timeout=10).read()
    c = pconn(srv)
    ch = c.channel()
    declare(ch, "polstream")
    publish_confirmed(ch, "polstream", [b"%0100d" % i for i in range(2000)])
    ch.basic_publish("", "polstream", b"last")
    got = drain_from_first(pconn(srv), "polstream", 2000)
    assert got[0] > 1000 and got[-1] == 2000


# ---- filtering (beyond RabbitMQ 3.10; exact, where 3.13 filters by chunk) ----


@pytest.mark.warren_only
def test_filtering_is_exact(connections, uniq):
    c = connections()
    ch = c.channel()
    declare(ch, uniq)
    ch.confirm_delivery()
    values = ["a", "b", None, "c", "a", None, "b", "a"]
    for i, v in enumerate(values):
        h = {"i": i}
        if v is not None:
            h["x-stream-filter-value"] = v
        ch.basic_publish("", uniq, b"%d" % i, pika.BasicProperties(headers=h))

    def run(args, n):
        cc = connections()
        cch = cc.channel()
        cch.basic_qos(prefetch_count=3)  # credit is returned as acked
        got = []

        def on(c_, m, p, b):
            got.append(p.headers["i"])
            c_.basic_ack(m.delivery_tag)
        a = {"x-stream-offset": "first"}
        a.update(args)
        cch.basic_consume(uniq, on, arguments=a)
        deadline = time.monotonic() + WAIT
        while len(got) < n and time.monotonic() < deadline:
            cc.process_data_events(time_limit=0.05)
        quiet(cc)
        return got

    assert run({"x-stream-filter": "a"}, 3) == [0, 4, 7]
    assert run({"x-stream-filter": ["a", "b"]}, 5) == [0, 1, 4, 6, 7]
    assert run({"x-stream-filter": "a", "x-stream-match-unfiltered": True},
               5) == [0, 2, 4, 5, 7]
    assert run({"x-stream-filter": "zzz"}, 0) == []
    assert run({}, 8) == list(range(8))
    # the offsets stay the messages' own
    cc = connections()
    _, got = consume(cc, uniq, 1, offset=5)
    assert offsets(got)[0] == 5
    ch.queue_delete(uniq)


@pytest.mark.warren_only
@pytest.mark.parametrize("args", [
    {"x-stream-filter": 5},
    {"x-stream-filter": ["a", 1]},
    {"x-stream-match-unfiltered": "yes", "x-stream-filter": "a"},
])
def test_filter_bad_arguments(connections, uniq, args):
    ch = connections().channel()
    declare(ch, uniq)
    cc = connections().channel()
    cc.basic_qos(prefetch_count=10)
    with channel_error(406):
        cc.basic_consume(uniq, lambda *a: None, arguments=args)
    ch.queue_delete(uniq)
