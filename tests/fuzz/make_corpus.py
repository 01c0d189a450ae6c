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


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    for target, seeds in CORPUS.items():
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, "seed_" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
