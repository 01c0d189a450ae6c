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

    def tick(ms=0, s=0):
        """fuzz_conn's clock: the clock moves by ms milliseconds or s
        seconds here (these bytes are not sent)."""
        return b"TICK" + struct.pack(">H", 0x8000 + s if s else ms)

    def hello(channel_max=16, frame_max=4096, heartbeat=0):
        return (PROTOCOL_HEADER
                + m(0, "connection.start_ok", client_properties={
                    "product": "fuzz", "capabilities": {"consumer_cancel_notify": True}},
                    mechanism="PLAIN", response=b"\0guest\0guest", locale="en_US")
                + m(0, "connection.tune_ok", channel_max=channel_max,
                    frame_max=frame_max, heartbeat=heartbeat)
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
    # time moves: heartbeats sent and missed, TTLs, x-expires, timeouts
    heartbeats = (hello(heartbeat=2) + m(1, "queue.declare", queue="h")
                  + tick(ms=1100) + heartbeat_frame() + tick(s=2)
                  + heartbeat_frame() + tick(s=5))
    ttl = (hello() + m(1, "exchange.declare", exchange="dlx", type="fanout")
           + m(1, "queue.declare", queue="dead")
           + m(1, "queue.bind", queue="dead", exchange="dlx")
           + m(1, "queue.declare", queue="t", arguments={
               "x-message-ttl": 500, "x-dead-letter-exchange": "dlx"})
           + m(1, "queue.declare", queue="gone", arguments={"x-expires": 2000})
           + publish_frames(1, b"soon", routing_key="t")
           + publish_frames(1, b"later", routing_key="t",
                            properties={"expiration": "3000"})
           + tick(ms=600) + m(1, "basic.get", queue="t")
           + tick(s=3) + m(1, "basic.get", queue="dead", no_ack=True)
           + m(1, "queue.declare", queue="gone", passive=True) + tick(s=1) + bye)
    slow = PROTOCOL_HEADER + tick(s=11)
    refused = (PROTOCOL_HEADER
               + m(0, "connection.start_ok", client_properties={
                   "capabilities": {"authentication_failure_close": True}},
                   mechanism="PLAIN", response=b"\0guest\0wrong", locale="en_US")
               + tick(ms=999) + tick(ms=2))
    no_close_ok = (hello() + m(0, "channel.open")
                   + tick(s=1) + m(1, "channel.open") + tick(s=30))
    return {
        "heartbeats": b"\x31\x41\x59\x21" + heartbeats,
        "ttl": b"\x27\x18\x28\x19" + ttl,
        "handshake_timeout": b"\x16\x18\x03\x39" + slow,
        "refused_login": b"\x14\x14\x21\x31" + refused,
        "no_close_ok": b"\x17\x32\x05\x09" + no_close_ok,
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


def topic_seeds():
    """fuzz_topic: "pattern\nrouting key" (AMQP 0-9-1, 3.1.3.3: words
    split on '.', '*' one word, '#' zero or more)."""
    pairs = {
        "star_hash": ("a.*.#", "a.b.c"), "hash_only": ("#", ""),
        "star_empty": ("*", ""), "hash_hash": ("#.#", "a"),
        "hash_middle": ("a.#.b", "a.b"), "empty_words": ("..", ".."),
        "star_star": ("*.*", "a."), "hash_star_hash": ("#.*.#", "a.b.c.d"),
        "empty": ("", ""), "stock": ("stock.*.nyse", "stock.ibm.nyse"),
        "trailing_hash": ("a.#", "a"), "no_match": ("a.b", "a.b.c"),
        "literal": ("usd.#.eur.*", "usd.x.y.eur.z"),
    }
    return {k: (p + "\n" + r).encode() for k, (p, r) in pairs.items()}


def mgmt_seeds():
    """Request sequences for fuzz_mgmt_json: "METHOD PATH [USER:PASS]",
    a newline, the JSON body; requests separated by a line "%%"."""
    import json

    def req(method, path, body=None, login=None):
        line = method + " " + path + (" " + login if login else "")
        if body is None:
            return line + "\n"
        return line + "\n" + (body if isinstance(body, str) else json.dumps(body))

    def seq(*reqs):
        return "\n%%\n".join(reqs).encode()

    q = "/api/queues/%2F/"
    x = "/api/exchanges/%2F/"
    defs = {
        "rabbit_version": "3.12.0",
        "users": [{"name": "ann", "password_hash":
                   "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR",
                   "hashing_algorithm": "rabbit_password_hashing_sha256",
                   "tags": ["administrator"]},
                  {"name": "bob", "password": "pw", "tags": "management,monitoring"}],
        "vhosts": [{"name": "/"}, {"name": "dev", "description": "d"}],
        "permissions": [{"user": "bob", "vhost": "dev", "configure": ".*",
                         "write": "^amq\\.", "read": ""}],
        "topic_permissions": [{"user": "bob", "vhost": "dev", "exchange": "amq.topic",
                               "write": "^a\\.", "read": ".*"}],
        "parameters": [{"vhost": "dev", "component": "vhost-limits", "name": "limits",
                        "value": {"max-connections": 10}}],
        "policies": [],
        "queues": [{"name": "dq", "vhost": "dev", "durable": True, "auto_delete": False,
                    "arguments": {"x-queue-type": "classic", "x-max-priority": 4,
                                  "x-dead-letter-exchange": "dx"}}],
        "exchanges": [{"name": "dx", "vhost": "dev", "type": "headers", "durable": True,
                       "auto_delete": False, "internal": False,
                       "arguments": {"alternate-exchange": "amq.fanout"}}],
        "bindings": [{"source": "dx", "vhost": "dev", "destination": "dq",
                      "destination_type": "queue", "routing_key": "",
                      "arguments": {"x-match": "any", "a": 1, "b": "two"}},
                     {"source": "amq.topic", "vhost": "dev", "destination": "dx",
                      "destination_type": "exchange", "routing_key": "a.#",
                      "arguments": {}}],
    }
    all_props = {"content_type": "text/plain", "content_encoding": "utf-8",
                 "headers": {"i": 1, "big": 1 << 40, "f": 2.5, "s": "x", "t": True,
                             "n": None, "a": [1, "b", [2], {"c": {}}], "o": {"p": -1}},
                 "delivery_mode": 2, "priority": 3, "correlation_id": "c1",
                 "reply_to": "r", "expiration": "60000", "message_id": "m1",
                 "timestamp": 1600000000, "type": "t", "user_id": "guest",
                 "app_id": "a", "cluster_id": "k"}
    return {
        "queue_lifecycle": seq(
            req("PUT", q + "q1", {"durable": True, "auto_delete": False,
                                  "arguments": {"x-max-length": 10, "x-overflow": "reject-publish"}}),
            req("GET", q + "q1"), req("GET", "/api/queues?columns=name,messages&sort=name"),
            req("DELETE", q + "q1/contents"), req("DELETE", q + "q1?if-empty=true")),
        "queue_args": seq(req("PUT", q + "args", {"arguments": {
            "x-message-ttl": 1000, "x-expires": 60000, "x-max-length-bytes": 4096,
            "x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead",
            "x-max-priority": 9, "x-single-active-consumer": True,
            "x-delivery-limit": 3, "x-queue-mode": "lazy", "x-queue-type": "classic"}})),
        "queue_bad_args": seq(
            req("PUT", q + "bad", {"arguments": {"x-max-priority": "ten"}}),
            req("PUT", q + "bad", {"arguments": {"x-message-ttl": -1}}),
            req("PUT", q + "bad", {"durable": "maybe"}),
            req("PUT", q + "bad", "[1,2]"), req("PUT", q + "bad", "{\"durable\":"),
            req("PUT", q + "amq.nope", {})),
        "exchange_types": seq(
            req("PUT", x + "t", {"type": "topic", "durable": True}),
            req("PUT", x + "h", {"type": "headers", "arguments": {"alternate-exchange": "t"}}),
            req("PUT", x + "f", {"type": "fanout", "internal": True, "auto_delete": True}),
            req("PUT", x + "d", {"type": "direct"}), req("PUT", x + "z", {"type": "x-nope"}),
            req("GET", x + "t"), req("DELETE", x + "d?if-unused=true")),
        "bindings": seq(
            req("PUT", q + "bq", {}), req("PUT", x + "bt", {"type": "topic"}),
            req("POST", "/api/bindings/%2F/e/bt/q/bq", {"routing_key": "a.*.#",
                                                        "arguments": {"k": [1, 2]}}),
            req("POST", "/api/bindings/%2F/e/amq.topic/e/bt", {"routing_key": "#"}),
            req("GET", "/api/bindings/%2F/e/bt/q/bq"),
            req("GET", "/api/bindings/%2F/e/bt/q/bq/a.*.%23~1"),
            req("DELETE", "/api/bindings/%2F/e/bt/q/bq/a.*.%23"),
            req("GET", "/api/exchanges/%2F/bt/bindings/source")),
        "publish_get": seq(
            req("PUT", q + "pq", {}),
            req("POST", x + "amq.default/publish",
                {"routing_key": "pq", "payload": "hello", "payload_encoding": "string",
                 "properties": all_props}),
            req("POST", x + "amq.default/publish",
                {"routing_key": "pq", "payload": "AAEC/w==", "payload_encoding": "base64",
                 "properties": {"priority": 2}}),
            req("GET", q + "pq/peek?count=2&encoding=base64&truncate=3"),
            req("POST", q + "pq/get", {"count": 2, "ackmode": "reject_requeue_true",
                                       "encoding": "auto", "truncate": 4}),
            req("POST", q + "pq/get", {"count": "5", "ackmode": "ack_requeue_false",
                                       "encoding": "base64"})),
        "publish_bad": seq(
            req("POST", x + "amq.direct/publish", {"routing_key": "k", "payload": "%%%",
                                                   "payload_encoding": "base64"}),
            req("POST", x + "amq.direct/publish", {"payload": "p", "properties":
                                                   {"delivery_mode": 7, "nope": 1}}),
            req("POST", x + "amq.direct/publish", {"routing_key": "k", "payload": "x",
                                                   "properties": {"headers": [1]}}),
            req("POST", x + "amq.topic/publish", {"routing_key": "a.b", "payload": "",
                                                  "properties": {"headers": {"x": 1e308}}})),
        "users": seq(
            req("PUT", "/api/users/ann", {"password": "secret", "tags": "administrator"}),
            req("PUT", "/api/users/bob", {"password_hash": "", "tags": ["management"]}),
            req("PUT", "/api/users/cid", {"password_hash":
                                          "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR",
                                          "hashing_algorithm": "rabbit_password_hashing_sha256",
                                          "tags": ""}),
            req("GET", "/api/users/ann"), req("GET", "/api/whoami", None, "ann:secret"),
            req("DELETE", "/api/users/bob")),
        "vhost_permissions": seq(
            req("PUT", "/api/vhosts/dev", {"description": "dev vhost", "tags": "a,b"}),
            req("PUT", "/api/users/eve", {"password": "e", "tags": "management"}),
            req("PUT", "/api/permissions/dev/eve", {"configure": "^eve-.*", "write": ".*",
                                                   "read": "(unclosed"}),
            req("PUT", "/api/permissions/dev/eve", {"configure": "^eve-.*", "write": ".*",
                                                   "read": ".*"}),
            req("PUT", "/api/topic-permissions/dev/eve", {"exchange": "amq.topic",
                                                         "write": "^{username}\\.",
                                                         "read": ".*"}),
            req("PUT", "/api/queues/dev/eve-q", {}, "eve:e"),
            req("PUT", "/api/queues/dev/other", {}, "eve:e"),
            req("POST", "/api/exchanges/dev/amq.topic/publish",
                {"routing_key": "eve.x", "payload": "t"}, "eve:e"),
            req("GET", "/api/vhosts/dev/permissions"),
            req("DELETE", "/api/topic-permissions/dev/eve"),
            req("DELETE", "/api/vhosts/dev")),
        "definitions": seq(req("POST", "/api/definitions", defs),
                           req("GET", "/api/definitions")),
        "definitions_vhost": seq(
            req("PUT", "/api/vhosts/v2", {}),
            req("POST", "/api/definitions/v2",
                {"queues": [{"name": "a", "durable": False, "auto_delete": True,
                             "arguments": {"x-max-length": 1}}],
                 "exchanges": [{"name": "e", "type": "fanout"}],
                 "bindings": [{"source": "e", "destination": "a",
                               "destination_type": "queue", "routing_key": "",
                               "arguments": {"n": None}}]}),
            req("GET", "/api/definitions/v2")),
        "definitions_bad": seq(
            req("POST", "/api/definitions", {"users": [{"name": "x", "tags": 5}]}),
            req("POST", "/api/definitions", {"queues": [{"vhost": "nope", "name": "q"}]}),
            req("POST", "/api/definitions", {"bindings": [{"destination_type": "thing"}]}),
            req("POST", "/api/definitions", "{\"users\": {}}")),
        "policies": seq(
            req("PUT", q + "pq", {"arguments": {"x-max-length": 5}}),
            req("PUT", "/api/policies/%2F/dlx",
                {"pattern": "^p", "apply-to": "queues", "priority": 3,
                 "definition": {"dead-letter-exchange": "amq.fanout",
                                "message-ttl": 1000, "max-length": 2,
                                "overflow": "reject-publish", "expires": 60000}}),
            req("PUT", "/api/policies/%2F/ae",
                {"pattern": ".*", "apply-to": "exchanges",
                 "definition": {"alternate-exchange": "amq.direct"}}),
            req("PUT", "/api/operator-policies/%2F/cap",
                {"pattern": ".", "definition": {"max-length": 1,
                                                "delivery-limit": 3}}),
            req("GET", "/api/policies"), req("GET", q + "pq"),
            req("PUT", "/api/policies/%2F/bad",
                {"pattern": "(", "definition": {"nope": 1}}),
            req("PUT", "/api/policies/%2F/bad2",
                {"pattern": "x", "definition": {"max-length": -1},
                 "priority": "high", "apply-to": "streams"}),
            req("POST", "/api/definitions",
                {"policies": [{"vhost": "/", "name": "imp", "pattern": "^i",
                               "apply-to": "all", "priority": 1,
                               "definition": {"queue-mode": "lazy"}}]}),
            req("DELETE", "/api/policies/%2F/dlx"),
            req("DELETE", "/api/operator-policies/%2F/cap")),
        "shovels": seq(
            req("PUT", q + "sa", {"durable": True}),
            req("POST", "/api/exchanges/%2F/amq.default/publish",
                {"routing_key": "sa", "payload": "m", "properties": {},
                 "payload_encoding": "string"}),
            req("PUT", "/api/parameters/shovel/%2F/s1",
                {"value": {"src-protocol": "amqp091", "src-uri": "amqp://",
                           "src-queue": "sa", "dest-protocol": "amqp091",
                           "dest-uri": "amqp:///%2F", "dest-queue": "sb",
                           "ack-mode": "on-publish", "prefetch-count": 2,
                           "src-delete-after": "queue-length"}}),
            req("PUT", "/api/parameters/shovel/%2F/s2",
                {"value": {"src-uri": ["amqp://"], "src-exchange": "amq.topic",
                           "src-exchange-key": "#", "dest-uri": "amqp://",
                           "dest-exchange": "amq.direct",
                           "dest-exchange-key": "k", "ack-mode": "no-ack",
                           "reconnect-delay": 0.5}}),
            req("GET", "/api/shovels"), req("GET", "/api/shovels/%2F"),
            req("GET", "/api/parameters/shovel/%2F/s2"),
            req("GET", "/api/parameters"),
            req("PUT", "/api/parameters/shovel/%2F/bad",
                {"value": {"src-uri": "amqp://h:1", "src-queue": "a",
                           "src-exchange": "b", "dest-uri": 5,
                           "src-delete-after": -3, "bogus": True}}),
            req("PUT", "/api/parameters/shovel/%2F/bad2", {"value": "x"}),
            req("PUT", "/api/parameters/nope/%2F/x", {"value": {}}),
            req("POST", "/api/definitions",
                {"parameters": [{"vhost": "/", "component": "shovel",
                                 "name": "imp", "value": {
                                     "src-uri": "amqp://", "src-queue": "i",
                                     "dest-uri": "amqp://",
                                     "src-delete-after": 3}}]}),
            req("DELETE", "/api/queues/%2F/sa"),
            req("DELETE", "/api/parameters/shovel/%2F/s2"),
            req("DELETE", "/api/parameters/shovel/%2F/imp")),
        "plugin_exchanges": seq(
            req("PUT", "/api/exchanges/%2F/ch",
                {"type": "x-consistent-hash",
                 "arguments": {"hash-property": "message_id"}}),
            req("PUT", "/api/exchanges/%2F/ch2",
                {"type": "x-consistent-hash",
                 "arguments": {"hash-header": "h", "hash-property": "x"}}),
            req("PUT", q + "c1", {}),
            req("POST", "/api/bindings/%2F/e/ch/q/c1", {"routing_key": "3"}),
            req("POST", "/api/bindings/%2F/e/ch/q/c1", {"routing_key": "x"}),
            req("POST", "/api/exchanges/%2F/ch/publish",
                {"routing_key": "k", "payload": "p",
                 "properties": {"message_id": "m1"},
                 "payload_encoding": "string"}),
            req("PUT", "/api/exchanges/%2F/dl",
                {"type": "x-delayed-message",
                 "arguments": {"x-delayed-type": "topic"}}),
            req("PUT", "/api/exchanges/%2F/dl2",
                {"type": "x-delayed-message", "arguments": {}}),
            req("POST", "/api/bindings/%2F/e/dl/q/c1", {"routing_key": "#"}),
            req("POST", "/api/exchanges/%2F/dl/publish",
                {"routing_key": "a", "payload": "later",
                 "properties": {"headers": {"x-delay": 5}},
                 "payload_encoding": "string"}),
            req("POST", "/api/exchanges/%2F/dl/publish",
                {"routing_key": "a", "payload": "s",
                 "properties": {"headers": {"x-delay": "7"}},
                 "payload_encoding": "string"}),
            req("GET", "/api/exchanges/%2F/dl"),
            req("DELETE", "/api/exchanges/%2F/dl")),
        "misc": seq(req("GET", "/api/overview"), req("OPTIONS", "/api/queues/%2F/x"),
                    req("HEAD", "/api/vhosts"), req("POST", "/api/overview", {}),
                    req("GET", "/api/aliveness-test/%2F"),
                    req("GET", "/api/queues/%2F?page=2&page_size=1&name=a.*&use_regex=true"),
                    req("GET", "/api/overview", None, "guest:wrong")),
    }


def crc32c(data, crc=0):
    """CRC32C (Castagnoli, reflected 0x82F63B78), bit by bit."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def store_record(rtype, payload):
    """docs/internals/STORE.md, Record: length, type, flags, 0, CRC32C."""
    head = struct.pack(">IBBH", len(payload), rtype, 0, 0)
    return head + struct.pack(">I", crc32c(head + payload)) + payload


def store_chunk(first, payloads, time_ms=1700000000000, ctype=0x80):
    """STORE.md, Chunk header: the stream protocol's 44 bytes + CRC32C."""
    data = b"".join(store_record(1 + i % 3, p) for i, p in enumerate(payloads))
    head = struct.pack(">BBHIqQQIII", 0xA1, ctype, len(payloads), len(payloads),
                       time_ms, 0, first, 0, len(data), 0)
    return head + struct.pack(">I", crc32c(head)) + data


def store_segment(first, chunks, pad=256, flags=0):
    """STORE.md, Segment header; flags 1: COMPACTED (see "Compaction")."""
    head = b"WRSTORE1" + struct.pack(">QqI", first, 1700000000000, flags)
    head += struct.pack(">I", crc32c(head))
    return head + b"".join(chunks) + b"\0" * pad


def store_seeds():
    """Mode byte (bit 0: two files, bit 1: through real files), a 16-bit
    split point, then the segment bytes (tests/fuzz/fuzz_store.c)."""
    one = store_segment(0, [store_chunk(0, [b"hello", b"", b"x" * 300]),
                            store_chunk(3, [b"world"])])
    a = store_segment(0, [store_chunk(0, [b"m1", b"m2"])], pad=0)
    b = store_segment(2, [store_chunk(2, [b"enq", b"ack"])])
    torn = one[:len(one) - 256 - 3]
    flipped = bytearray(one)
    flipped[32 + 48 + 12 + 2] ^= 0x40  # a byte of "hello"
    split = struct.pack(">H", len(a))
    # a compacted segment: runs of live offsets with gaps between them
    cmp = store_segment(0, [store_chunk(0, [b"msg"]),
                            store_chunk(5, [b"msg2", b"enq2"])], pad=0,
                        flags=1)
    csplit = struct.pack(">H", len(cmp))
    after = store_segment(10, [store_chunk(10, [b"enq", b"ack"])])
    return {
        "compacted_files": b"\x03" + csplit + cmp + after,
        "compacted": b"\x01" + csplit + cmp + after,
        "one": b"\x00\x00\x00" + one,
        "one_files": b"\x02\x00\x00" + one,
        "two": b"\x01" + split + a + b,
        "two_files": b"\x03" + split + a + b,
        "torn": b"\x02\x00\x00" + torn,
        "flipped": b"\x02\x00\x00" + bytes(flipped),
        "user_chunk": b"\x00\x00\x00" + store_segment(
            0, [store_chunk(0, [b"\x00\x00\x00\x01z"], ctype=0),
                store_chunk(1, [b"after"])]),
    }


def offsets_record(tag, offset):
    """STORE.md, Consumer offsets: marker, tag length, offset, tag,
    CRC32C."""
    head = bytes([0xA7, len(tag)]) + struct.pack(">Q", offset) + tag
    return head + struct.pack(">I", crc32c(head))


def offsets_seeds():
    """A mode byte (the tag cap is 1 + its low 3 bits), then the offsets
    file (tests/fuzz/fuzz_offsets.c)."""
    head = b"WROFFS01" + b"\0" * 4
    head += struct.pack(">I", crc32c(head))
    recs = [offsets_record(b"reader", 7), offsets_record(b"b", 12),
            offsets_record(b"reader", 9), offsets_record(b"x" * 255, 1 << 40)]
    whole = head + b"".join(recs)
    flipped = bytearray(whole)
    flipped[len(head) + len(recs[0]) + 4] ^= 0x08  # b's offset
    return {
        "empty": b"\x07",
        "header": b"\x07" + head,
        "whole": b"\x07" + whole,
        "capped": b"\x00" + whole,
        "torn": b"\x07" + whole[:-5],
        "flipped": b"\x07" + bytes(flipped),
        "bad_header": b"\x07" + b"X" + whole[1:],
        "zeros": b"\x03" + whole + b"\0" * 64,
    }


def prec_seeds():
    """queues/persist.c payloads: a type byte, then the payload."""
    props = struct.pack(">H", 0x1800) + bytes([2, 3])  # delivery-mode 2, priority 3
    msg = (bytes([1, 1, 10, 2]) + struct.pack(">IQq", len(props), 5, 1700000000123)
           + b"amq.direct" + b"rk" + props + b"hello")
    enq = struct.pack(">QQIIBBBBIq", 7, 1234, 4096, len(msg), 3, 0, 0, 0, 1, 0)
    ref = struct.pack(">QQII", 7, 1300, 0, 0)
    return {
        "msg": b"\x01" + msg,
        "enq": b"\x02" + enq,
        "settle": b"\x03" + ref,
        "requeue": b"\x04" + struct.pack(">QQII", 7, 1300, 2, 0),
        "purge": b"\x05" + ref,
    }


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    CORPUS["fuzz_conn"] = conn_sessions()
    CORPUS["fuzz_config"] = config_seeds()
    CORPUS["fuzz_mgmt_json"] = mgmt_seeds()
    CORPUS["fuzz_topic"] = topic_seeds()
    CORPUS["fuzz_store"] = store_seeds()
    CORPUS["fuzz_prec"] = prec_seeds()
    CORPUS["fuzz_offsets"] = offsets_seeds()
    for target, seeds in CORPUS.items():
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, "seed_" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
