#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the small seed corpora of the fuzz targets (tests/fuzz/corpus/<t>/),
# byte by byte from AMQP 0-9-1 (sections 4.2.3, 4.2.5.5, 4.2.6.1).
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def ss(s):
    s = s.encode() if isinstance(s, str) else s
    return bytes([len(s)]) + s


def ls(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack(">I", len(s)) + s


def table(entries):
    """entries: list of (name, encoded value incl. type octet)."""
    return b"".join(ss(k) + v for k, v in entries)


def ftable(entries):
    return b"F" + ls(table(entries))


def farray(values):
    return b"A" + ls(b"".join(values))


def method(cls, mid, args=b""):
    return struct.pack(">HH", cls, mid) + args


def frame(ftype, channel, payload):
    return struct.pack(">BHI", ftype, channel, len(payload)) + payload + b"\xce"


ALL_TYPES = table([
    ("t", b"t\x01"), ("b", b"b\xfe"), ("B", b"B\xfe"), ("s", b"s\xff\xfd"),
    ("u", b"u\xff\xfd"), ("U", b"U\xff\xfc"), ("I", b"I" + struct.pack(">i", -5)),
    ("i", b"i" + struct.pack(">I", 7)), ("l", b"l" + struct.pack(">q", -6)),
    ("L", b"L" + struct.pack(">Q", 1 << 63)), ("f", b"f" + struct.pack(">f", 1.5)),
    ("d", b"d" + struct.pack(">d", -2.5)), ("D", b"D\x02" + struct.pack(">I", 12345)),
    ("S", b"S" + ls("hi")), ("x", b"x" + ls(b"\x00\xff")),
    ("A", farray([b"I" + struct.pack(">i", 7), b"S" + ls(""), b"V"])),
    ("T", b"T" + struct.pack(">Q", 1600000000)),
    ("F", ftable([("k", b"b\x07")])), ("V", b"V"),
])
CAPS = table([
    ("product", b"S" + ls("warren")),
    ("capabilities", ftable([("publisher_confirms", b"t\x01"),
                             ("consumer_cancel_notify", b"t\x01"),
                             ("basic.nack", b"t\x01")])),
])
QUEUE_ARGS = table([("x-max-priority", b"I" + struct.pack(">i", 10)),
                    ("x-queue-type", b"S" + ls("classic")),
                    ("x-message-ttl", b"l" + struct.pack(">q", 60000))])

START = method(10, 10, b"\x00\x09" + ls(CAPS) + ls("PLAIN AMQPLAIN") + ls("en_US"))
START_OK = method(10, 11, ls(CAPS) + ss("PLAIN") + ls(b"\x00guest\x00guest") + ss("en_US"))
TUNE = method(10, 30, struct.pack(">HIH", 2047, 131072, 60))
OPEN = method(10, 40, ss("/") + ss("") + b"\x00")
CLOSE = method(10, 50, struct.pack(">H", 404) + ss("NOT_FOUND - no queue 'q'") + struct.pack(">HH", 50, 10))
CH_OPEN = method(20, 10, ss(""))
EX_DECLARE = method(40, 10, b"\x00\x00" + ss("logs") + ss("topic") + b"\x02" + ls(b""))
Q_DECLARE = method(50, 10, b"\x00\x00" + ss("q1") + b"\x0a" + ls(QUEUE_ARGS))
Q_BIND = method(50, 20, b"\x00\x00" + ss("q1") + ss("amq.topic") + ss("a.*.c") + b"\x00" + ls(b""))
CONSUME = method(60, 20, b"\x00\x00" + ss("q1") + ss("ctag") + b"\x00" + ls(table([("x-priority", b"I\x00\x00\x00\x05")])))
PUBLISH = method(60, 40, b"\x00\x00" + ss("amq.direct") + ss("rk") + b"\x01")
DELIVER = method(60, 60, ss("ctag") + struct.pack(">Q", 1) + b"\x01" + ss("") + ss("q"))
ACK = method(60, 80, struct.pack(">Q", 42) + b"\x01")
NACK = method(60, 120, struct.pack(">Q", 7) + b"\x03")
UPDATE_SECRET = method(10, 70, ls("token") + ss("refresh"))


def props(flags, fields):
    return struct.pack(">H", flags) + fields


HDR_PROPS = props(0xB848, ss("text/plain") + ls(table([("x", b"I\x00\x00\x00\x01")])) +
                  b"\x02\x05" + struct.pack(">Q", 1600000000) + ss("app"))
ALL_PROPS = props(0xFFFC, ss("application/json") + ss("gzip") + ls(ALL_TYPES) + b"\x02\x09" +
                  ss("corr") + ss("amq.rabbitmq.reply-to") + ss("60000") + ss("id-1") +
                  struct.pack(">Q", 1) + ss("t") + ss("guest") + ss("warren") + ss("c"))


def header(body_size, p):
    return struct.pack(">HHQ", 60, 0, body_size) + p


SEED = b"\x12\x34\x56\x79"
CORPUS = {
    "fuzz_frame": {
        "handshake": SEED + frame(1, 0, START) + frame(1, 0, START_OK) + frame(1, 0, TUNE) +
        frame(1, 0, OPEN) + frame(8, 0, b""),
        "publish": SEED[:3] + b"\x01" + frame(1, 1, PUBLISH) + frame(2, 1, header(5, HDR_PROPS)) +
        frame(3, 1, b"hello"),
        "deliver": SEED[:3] + b"\x02" + frame(1, 1, DELIVER) + frame(2, 1, header(0, ALL_PROPS)) +
        frame(1, 1, ACK),
        "bad_end": SEED + frame(1, 1, NACK)[:-1] + b"\xcf",
    },
    "fuzz_method": {
        "start": START, "start_ok": START_OK, "tune": TUNE, "close": CLOSE,
        "channel_open": CH_OPEN, "exchange_declare": EX_DECLARE,
        "queue_declare": Q_DECLARE, "queue_bind": Q_BIND, "consume": CONSUME,
        "publish": PUBLISH, "deliver": DELIVER, "ack": ACK, "nack": NACK,
        "update_secret": UPDATE_SECRET,
    },
    "fuzz_table": {
        "all_types": ALL_TYPES, "client_properties": CAPS, "queue_args": QUEUE_ARGS,
        "nested": table([("a", ftable([("b", farray([ftable([("c", b"V")]), farray([])]))]))]),
    },
    "fuzz_props": {
        "header": header(5, HDR_PROPS), "all": header(1 << 40, ALL_PROPS),
        "empty": header(0, props(0, b"")),
    },
}


def conn_sessions():
    """Whole client sessions for fuzz_conn (tests/proto/frames.py encodes
    them). Each starts with the 4 settings bytes: chunking seed, bit 1 of
    the last one = the peer never reads, bit 2 = two connections."""
    sys.path.insert(0, os.path.join(HERE, "..", "proto"))
    from frames import (PROTOCOL_HEADER, frame, header_frame, heartbeat_frame,
                        method_frame as m, publish_frames)

    def hello(channel_max=16, frame_max=4096):
        return (PROTOCOL_HEADER
                + m(0, "connection.start_ok", client_properties={
                    "product": "fuzz", "capabilities": {"consumer_cancel_notify": True}},
                    mechanism="PLAIN", response=b"\0guest\0guest", locale="en_US")
                + m(0, "connection.tune_ok", channel_max=channel_max,
                    frame_max=frame_max, heartbeat=0)
                + m(0, "connection.open", virtual_host="/") + m(1, "channel.open"))

    bye = m(1, "channel.close", reply_code=200) + m(0, "connection.close", reply_code=200)
    basic = (hello()
             + m(1, "exchange.declare", exchange="x", type="topic")
             + m(1, "queue.declare", queue="q")
             + m(1, "queue.bind", queue="q", exchange="x", routing_key="a.*.#")
             + m(1, "confirm.select") + m(1, "basic.qos", prefetch_count=2)
             + m(1, "basic.consume", queue="q", consumer_tag="c")
             + publish_frames(1, b"one", exchange="x", routing_key="a.b.c")
             + publish_frames(1, b"two", exchange="x", routing_key="a.b",
                              properties={"headers": {"k": 1}, "priority": 3})
             + publish_frames(1, b"x" * 9000, routing_key="q", frame_max=4096)
             + m(1, "basic.ack", delivery_tag=1)
             + m(1, "basic.nack", delivery_tag=2, requeue=True)
             + m(1, "basic.reject", delivery_tag=3, requeue=False)
             + m(1, "basic.get", queue="q") + m(1, "basic.recover", requeue=True)
             + m(1, "basic.ack", delivery_tag=0, multiple=True)
             + m(1, "basic.cancel", consumer_tag="c")
             + m(1, "queue.purge", queue="q") + m(1, "queue.unbind", queue="q",
                                                   exchange="x", routing_key="a.*.#")
             + m(1, "queue.delete", queue="q") + m(1, "exchange.delete", exchange="x")
             + heartbeat_frame() + bye)
    tx = (hello() + m(1, "queue.declare", queue="", exclusive=True)
          + m(1, "tx.select") + publish_frames(1, b"t1") + m(1, "tx.commit")
          + publish_frames(1, b"t2") + m(1, "tx.rollback")
          + m(1, "basic.consume", queue="", no_ack=True)
          + publish_frames(1, b"t3") + m(1, "tx.commit") + bye)
    prio = (hello() + m(1, "queue.declare", queue="p", auto_delete=True,
                        arguments={"x-max-priority": 5})
            + b"".join(publish_frames(1, b"p%d" % i, routing_key="p",
                                      properties={"priority": i % 7})
                       for i in range(8))
            + m(1, "basic.consume", queue="p", consumer_tag="pc")
            + m(1, "basic.nack", delivery_tag=0, multiple=True, requeue=True) + bye)
    errors = (hello() + m(1, "queue.declare", queue="missing", passive=True)
              + m(1, "channel.close_ok") + m(1, "channel.open")
              + publish_frames(1, b"back", exchange="amq.direct",
                               routing_key="nowhere", mandatory=True)
              + m(1, "exchange.bind", destination="amq.fanout", source="amq.topic",
                  routing_key="#")
              + m(1, "queue.declare", queue="amq.bad")
              + m(2, "channel.open") + m(2, "basic.ack", delivery_tag=99) + bye)
    flood = (hello(frame_max=131072) + m(1, "queue.declare", queue="f")
             + m(1, "basic.consume", queue="f", no_ack=True)
             + b"".join(publish_frames(1, b"f" * 3000, routing_key="f")
                        for _ in range(6)) + bye)
    features = (hello()
                + m(1, "exchange.declare", exchange="dlx", type="fanout")
                + m(1, "queue.declare", queue="dead")
                + m(1, "queue.bind", queue="dead", exchange="dlx")
                + m(1, "exchange.declare", exchange="ae", type="fanout")
                + m(1, "exchange.declare", exchange="main", type="direct",
                    arguments={"alternate-exchange": "ae"})
                + m(1, "queue.declare", queue="lim", arguments={
                    "x-message-ttl": 0, "x-dead-letter-exchange": "dlx",
                    "x-max-length": 2, "x-overflow": "reject-publish",
                    "x-single-active-consumer": True, "x-delivery-limit": 1})
                + m(1, "queue.bind", queue="lim", exchange="main", routing_key="k")
                + m(1, "confirm.select")
                + b"".join(publish_frames(1, b"l%d" % i, exchange="main",
                                          routing_key="k" if i % 2 else "other",
                                          properties={"expiration": "0",
                                                      "headers": {"CC": ["lim"],
                                                                  "BCC": ["dead"]}})
                           for i in range(4))
                + m(1, "basic.consume", queue="lim", consumer_tag="p",
                    arguments={"x-priority": 5})
                + m(1, "basic.consume", queue="amq.rabbitmq.reply-to", no_ack=True)
                + publish_frames(1, b"rpc", routing_key="dead",
                                 properties={"reply_to": "amq.rabbitmq.reply-to"})
                + m(1, "basic.nack", delivery_tag=0, multiple=True, requeue=False)
                + m(1, "basic.get", queue="dead", no_ack=True) + bye)
    return {
        "features": b"\x21\x43\x65\x89" + features,
        "basic": b"\x12\x34\x56\x79" + basic,
        "tx": b"\x9a\xbc\xde\xf1" + tx,
        "prio": b"\x11\x22\x33\x41" + prio,
        "errors": b"\x55\x66\x77\x89" + errors,
        "no_reader": b"\x01\x02\x03\x03" + flood,
        "two_conns": b"\x04\x05\x06\x05" + hello() + m(1, "queue.declare", queue="e",
                                                        exclusive=True)
        + m(1, "basic.consume", queue="e") + publish_frames(1, b"e", routing_key="e") + bye,
    }


def config_seeds():
    with open(os.path.join(HERE, "..", "..", "etc", "warren.conf"), "rb") as f:
        shipped = f.read()
    return {
        "shipped": shipped,
        "listener": b"listeners.tcp.default = ::1:5672\nlog.level = debug\n",
        "set_pair": b"frame_max\x00131072",
        # a comment longer than the line buffer (once spilled into a line)
        "long_comment": b"# " + b"x" * 1021 + b"heartbeat = 5\n",
    }


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    CORPUS["fuzz_conn"] = conn_sessions()
    CORPUS["fuzz_config"] = config_seeds()
    for target, seeds in CORPUS.items():
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, "seed_" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
