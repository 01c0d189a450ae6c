# SPDX-License-Identifier: MIT
"""AMQP 0-9-1 frame generator / parser for black-box protocol tests.

Standard library only.  Encodes and decodes frames, every method of the
0-9-1 spec (with RabbitMQ's extensions: exchange.bind/unbind, basic.nack,
confirm), content headers with the 14 basic properties and field tables with
RabbitMQ's field types.  `RawClient` is a tiny blocking client on a socket
that tests use to send exact bytes and read what the broker answers.

Spec: /usr/share/amqp/specs/0-9-1-rabbit/amqp0-9-1.stripped.extended.xml
"""

import datetime
import decimal
import select
import socket
import struct
import time

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"

# AMQP 0-9-1, General Frame Format: type, channel, size, payload, frame-end.
FRAME_METHOD = 1
FRAME_HEADER = 2
FRAME_BODY = 3
FRAME_HEARTBEAT = 8
FRAME_END = 0xCE
FRAME_MIN_SIZE = 4096

# AMQP 0-9-1 reply codes (spec "constant" elements).
REPLY_SUCCESS = 200
CONTENT_TOO_LARGE = 311
NO_ROUTE = 312
NO_CONSUMERS = 313
CONNECTION_FORCED = 320
INVALID_PATH = 402
ACCESS_REFUSED = 403
NOT_FOUND = 404
RESOURCE_LOCKED = 405
PRECONDITION_FAILED = 406
FRAME_ERROR = 501
SYNTAX_ERROR = 502
COMMAND_INVALID = 503
CHANNEL_ERROR = 504
UNEXPECTED_FRAME = 505
RESOURCE_ERROR = 506
NOT_ALLOWED = 530
NOT_IMPLEMENTED = 540
INTERNAL_ERROR = 541

# (class-id, method-id) -> (name, [(field, type)], has_content)
# Types: octet short long longlong shortstr longstr table bit timestamp.
METHODS = {
    (10, 10): ("connection.start", [("version_major", "octet"), ("version_minor", "octet"), ("server_properties", "table"), ("mechanisms", "longstr"), ("locales", "longstr")], False),
    (10, 11): ("connection.start_ok", [("client_properties", "table"), ("mechanism", "shortstr"), ("response", "longstr"), ("locale", "shortstr")], False),
    (10, 20): ("connection.secure", [("challenge", "longstr")], False),
    (10, 21): ("connection.secure_ok", [("response", "longstr")], False),
    (10, 30): ("connection.tune", [("channel_max", "short"), ("frame_max", "long"), ("heartbeat", "short")], False),
    (10, 31): ("connection.tune_ok", [("channel_max", "short"), ("frame_max", "long"), ("heartbeat", "short")], False),
    (10, 40): ("connection.open", [("virtual_host", "shortstr"), ("reserved_1", "shortstr"), ("reserved_2", "bit")], False),
    (10, 41): ("connection.open_ok", [("reserved_1", "shortstr")], False),
    (10, 50): ("connection.close", [("reply_code", "short"), ("reply_text", "shortstr"), ("class_id", "short"), ("method_id", "short")], False),
    (10, 51): ("connection.close_ok", [], False),
    (10, 60): ("connection.blocked", [("reason", "shortstr")], False),
    (10, 61): ("connection.unblocked", [], False),
    (20, 10): ("channel.open", [("reserved_1", "shortstr")], False),
    (20, 11): ("channel.open_ok", [("reserved_1", "longstr")], False),
    (20, 20): ("channel.flow", [("active", "bit")], False),
    (20, 21): ("channel.flow_ok", [("active", "bit")], False),
    (20, 40): ("channel.close", [("reply_code", "short"), ("reply_text", "shortstr"), ("class_id", "short"), ("method_id", "short")], False),
    (20, 41): ("channel.close_ok", [], False),
    (40, 10): ("exchange.declare", [("reserved_1", "short"), ("exchange", "shortstr"), ("type", "shortstr"), ("passive", "bit"), ("durable", "bit"), ("auto_delete", "bit"), ("internal", "bit"), ("no_wait", "bit"), ("arguments", "table")], False),
    (40, 11): ("exchange.declare_ok", [], False),
    (40, 20): ("exchange.delete", [("reserved_1", "short"), ("exchange", "shortstr"), ("if_unused", "bit"), ("no_wait", "bit")], False),
    (40, 21): ("exchange.delete_ok", [], False),
    (40, 30): ("exchange.bind", [("reserved_1", "short"), ("destination", "shortstr"), ("source", "shortstr"), ("routing_key", "shortstr"), ("no_wait", "bit"), ("arguments", "table")], False),
    (40, 31): ("exchange.bind_ok", [], False),
    (40, 40): ("exchange.unbind", [("reserved_1", "short"), ("destination", "shortstr"), ("source", "shortstr"), ("routing_key", "shortstr"), ("no_wait", "bit"), ("arguments", "table")], False),
    (40, 51): ("exchange.unbind_ok", [], False),
    (50, 10): ("queue.declare", [("reserved_1", "short"), ("queue", "shortstr"), ("passive", "bit"), ("durable", "bit"), ("exclusive", "bit"), ("auto_delete", "bit"), ("no_wait", "bit"), ("arguments", "table")], False),
    (50, 11): ("queue.declare_ok", [("queue", "shortstr"), ("message_count", "long"), ("consumer_count", "long")], False),
    (50, 20): ("queue.bind", [("reserved_1", "short"), ("queue", "shortstr"), ("exchange", "shortstr"), ("routing_key", "shortstr"), ("no_wait", "bit"), ("arguments", "table")], False),
    (50, 21): ("queue.bind_ok", [], False),
    (50, 50): ("queue.unbind", [("reserved_1", "short"), ("queue", "shortstr"), ("exchange", "shortstr"), ("routing_key", "shortstr"), ("arguments", "table")], False),
    (50, 51): ("queue.unbind_ok", [], False),
    (50, 30): ("queue.purge", [("reserved_1", "short"), ("queue", "shortstr"), ("no_wait", "bit")], False),
    (50, 31): ("queue.purge_ok", [("message_count", "long")], False),
    (50, 40): ("queue.delete", [("reserved_1", "short"), ("queue", "shortstr"), ("if_unused", "bit"), ("if_empty", "bit"), ("no_wait", "bit")], False),
    (50, 41): ("queue.delete_ok", [("message_count", "long")], False),
    (60, 10): ("basic.qos", [("prefetch_size", "long"), ("prefetch_count", "short"), ("global", "bit")], False),
    (60, 11): ("basic.qos_ok", [], False),
    (60, 20): ("basic.consume", [("reserved_1", "short"), ("queue", "shortstr"), ("consumer_tag", "shortstr"), ("no_local", "bit"), ("no_ack", "bit"), ("exclusive", "bit"), ("no_wait", "bit"), ("arguments", "table")], False),
    (60, 21): ("basic.consume_ok", [("consumer_tag", "shortstr")], False),
    (60, 30): ("basic.cancel", [("consumer_tag", "shortstr"), ("no_wait", "bit")], False),
    (60, 31): ("basic.cancel_ok", [("consumer_tag", "shortstr")], False),
    (60, 40): ("basic.publish", [("reserved_1", "short"), ("exchange", "shortstr"), ("routing_key", "shortstr"), ("mandatory", "bit"), ("immediate", "bit")], True),
    (60, 50): ("basic.return", [("reply_code", "short"), ("reply_text", "shortstr"), ("exchange", "shortstr"), ("routing_key", "shortstr")], True),
    (60, 60): ("basic.deliver", [("consumer_tag", "shortstr"), ("delivery_tag", "longlong"), ("redelivered", "bit"), ("exchange", "shortstr"), ("routing_key", "shortstr")], True),
    (60, 70): ("basic.get", [("reserved_1", "short"), ("queue", "shortstr"), ("no_ack", "bit")], False),
    (60, 71): ("basic.get_ok", [("delivery_tag", "longlong"), ("redelivered", "bit"), ("exchange", "shortstr"), ("routing_key", "shortstr"), ("message_count", "long")], True),
    (60, 72): ("basic.get_empty", [("reserved_1", "shortstr")], False),
    (60, 80): ("basic.ack", [("delivery_tag", "longlong"), ("multiple", "bit")], False),
    (60, 90): ("basic.reject", [("delivery_tag", "longlong"), ("requeue", "bit")], False),
    (60, 100): ("basic.recover_async", [("requeue", "bit")], False),
    (60, 110): ("basic.recover", [("requeue", "bit")], False),
    (60, 111): ("basic.recover_ok", [], False),
    (60, 120): ("basic.nack", [("delivery_tag", "longlong"), ("multiple", "bit"), ("requeue", "bit")], False),
    (85, 10): ("confirm.select", [("nowait", "bit")], False),
    (85, 11): ("confirm.select_ok", [], False),
    (90, 10): ("tx.select", [], False),
    (90, 11): ("tx.select_ok", [], False),
    (90, 20): ("tx.commit", [], False),
    (90, 21): ("tx.commit_ok", [], False),
    (90, 30): ("tx.rollback", [], False),
    (90, 31): ("tx.rollback_ok", [], False),
}
METHOD_IDS = {v[0]: k for k, v in METHODS.items()}

# AMQP 0-9-1 basic class properties, in flag order (bit 15 first).
BASIC_PROPERTIES = [
    ("content_type", "shortstr"), ("content_encoding", "shortstr"),
    ("headers", "table"), ("delivery_mode", "octet"), ("priority", "octet"),
    ("correlation_id", "shortstr"), ("reply_to", "shortstr"),
    ("expiration", "shortstr"), ("message_id", "shortstr"),
    ("timestamp", "timestamp"), ("type", "shortstr"), ("user_id", "shortstr"),
    ("app_id", "shortstr"), ("cluster_id", "shortstr"),
]


class DecodeError(Exception):
    pass


class Typed:
    """A field-table value with an explicit type tag, e.g. Typed('b', -3)."""

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        if isinstance(other, Typed):
            return (self.tag, self.value) == (other.tag, other.value)
        return self.value == other

    def __repr__(self):
        return "Typed(%r, %r)" % (self.tag, self.value)


# ---------------------------------------------------------------- encoding

def enc_shortstr(s):
    b = s.encode() if isinstance(s, str) else bytes(s)
    if len(b) > 255:
        raise ValueError("shortstr too long")
    return struct.pack("!B", len(b)) + b


def enc_longstr(s):
    b = s.encode() if isinstance(s, str) else bytes(s)
    return struct.pack("!I", len(b)) + b


def enc_field_value(v):
    """Encode one field value: tag octet + value (RabbitMQ field types)."""
    if isinstance(v, Typed):
        t, x = v.tag, v.value
        fmt = {"t": "!B", "b": "!b", "B": "!B", "s": "!h", "u": "!H",
               "I": "!i", "i": "!I", "l": "!q", "L": "!Q", "f": "!f",
               "d": "!d", "T": "!Q"}
        if t in fmt:
            return t.encode() + struct.pack(fmt[t], int(x) if t not in "fd" else x)
        if t == "S":
            return b"S" + enc_longstr(x)
        if t == "x":
            return b"x" + enc_longstr(x)
        if t == "D":
            return b"D" + enc_decimal(x)
        if t == "V":
            return b"V"
        if t == "F":
            return b"F" + enc_table(x)
        if t == "A":
            return b"A" + enc_array(x)
        raise ValueError("unknown tag %r" % t)
    if v is None:
        return b"V"
    if isinstance(v, bool):
        return b"t" + struct.pack("!B", int(v))
    if isinstance(v, int):
        if -2 ** 31 <= v < 2 ** 31:
            return b"I" + struct.pack("!i", v)
        return b"l" + struct.pack("!q", v)
    if isinstance(v, float):
        return b"d" + struct.pack("!d", v)
    if isinstance(v, decimal.Decimal):
        return b"D" + enc_decimal(v)
    if isinstance(v, datetime.datetime):
        ts = int(v.replace(tzinfo=datetime.timezone.utc).timestamp()) if v.tzinfo is None else int(v.timestamp())
        return b"T" + struct.pack("!Q", ts)
    if isinstance(v, str):
        return b"S" + enc_longstr(v)
    if isinstance(v, (bytes, bytearray)):
        return b"x" + enc_longstr(v)
    if isinstance(v, dict):
        return b"F" + enc_table(v)
    if isinstance(v, (list, tuple)):
        return b"A" + enc_array(v)
    raise TypeError("cannot encode %r" % (v,))


def enc_decimal(d):
    sign, digits, exp = d.as_tuple()
    scale = max(0, -exp)
    value = int(d.scaleb(scale))
    return struct.pack("!Bi", scale, value)


def enc_table_body(d):
    """Field table entries without the 4-byte length prefix."""
    out = b""
    for k, v in d.items():
        out += enc_shortstr(k) + enc_field_value(v)
    return out


def enc_table(d):
    body = enc_table_body(d or {})
    return struct.pack("!I", len(body)) + body


def enc_array(items):
    body = b"".join(enc_field_value(v) for v in items)
    return struct.pack("!I", len(body)) + body


def enc_args(fields, args):
    out = b""
    bits = []

    def flush():
        nonlocal out, bits
        if bits:
            octet = 0
            for i, bv in enumerate(bits):
                if bv:
                    octet |= 1 << i
            out += struct.pack("!B", octet)
            bits = []

    for name, typ in fields:
        v = args.get(name)
        if typ == "bit":
            bits.append(bool(v))
            if len(bits) == 8:
                flush()
            continue
        flush()
        if typ == "octet":
            out += struct.pack("!B", v or 0)
        elif typ == "short":
            out += struct.pack("!H", v or 0)
        elif typ == "long":
            out += struct.pack("!I", v or 0)
        elif typ in ("longlong", "timestamp"):
            out += struct.pack("!Q", v or 0)
        elif typ == "shortstr":
            out += enc_shortstr(v or "")
        elif typ == "longstr":
            out += enc_longstr(v or b"")
        elif typ == "table":
            out += enc_table(v or {})
        else:
            raise ValueError(typ)
    flush()
    return out


def method_payload(name, **args):
    """Method frame payload: class-id, method-id, arguments."""
    class_id, method_id = METHOD_IDS[name]
    fields = METHODS[(class_id, method_id)][1]
    unknown = set(args) - {f for f, _ in fields}
    if unknown:
        raise TypeError("%s has no fields %s" % (name, sorted(unknown)))
    return struct.pack("!HH", class_id, method_id) + enc_args(fields, args)


def frame(ftype, channel, payload, end=FRAME_END):
    return struct.pack("!BHI", ftype, channel, len(payload)) + payload + bytes([end])


def method_frame(channel, name, **args):
    return frame(FRAME_METHOD, channel, method_payload(name, **args))


def header_payload(body_size, properties=None, class_id=60):
    props = properties or {}
    flags = 0
    values = b""
    for i, (name, typ) in enumerate(BASIC_PROPERTIES):
        if name not in props or props[name] is None:
            continue
        flags |= 1 << (15 - i)
        v = props[name]
        if typ == "shortstr":
            values += enc_shortstr(v)
        elif typ == "octet":
            values += struct.pack("!B", v)
        elif typ == "timestamp":
            values += struct.pack("!Q", v)
        elif typ == "table":
            values += enc_table(v)
    return struct.pack("!HHQH", class_id, 0, body_size, flags) + values


def header_frame(channel, body_size, properties=None):
    return frame(FRAME_HEADER, channel, header_payload(body_size, properties))


def body_frames(channel, body, frame_max=131072):
    chunk = frame_max - 8
    return b"".join(frame(FRAME_BODY, channel, body[i:i + chunk])
                    for i in range(0, len(body), chunk))


def publish_frames(channel, body, exchange="", routing_key="", properties=None,
                   mandatory=False, frame_max=131072):
    return (method_frame(channel, "basic.publish", exchange=exchange,
                         routing_key=routing_key, mandatory=mandatory)
            + header_frame(channel, len(body), properties)
            + body_frames(channel, body, frame_max))


def heartbeat_frame():
    return frame(FRAME_HEARTBEAT, 0, b"")


# ---------------------------------------------------------------- decoding

class Reader:
    def __init__(self, buf, off=0, end=None):
        self.buf = buf
        self.off = off
        self.end = len(buf) if end is None else end

    def take(self, n):
        if n > self.end - self.off:
            raise DecodeError("truncated: need %d at %d of %d" % (n, self.off, self.end))
        b = self.buf[self.off:self.off + n]
        self.off += n
        return b

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def shortstr(self):
        return self.take(self.unpack("!B")).decode("utf-8", "replace")

    def longstr(self):
        return bytes(self.take(self.unpack("!I")))

    def table(self):
        n = self.unpack("!I")
        sub = Reader(self.buf, self.off, self.off + n)
        if n > self.end - self.off:
            raise DecodeError("table overruns")
        out = {}
        while sub.off < sub.end:
            k = sub.shortstr()
            out[k] = sub.field_value()
        self.off += n
        return out

    def array(self):
        n = self.unpack("!I")
        if n > self.end - self.off:
            raise DecodeError("array overruns")
        sub = Reader(self.buf, self.off, self.off + n)
        out = []
        while sub.off < sub.end:
            out.append(sub.field_value())
        self.off += n
        return out

    def field_value(self):
        t = chr(self.unpack("!B"))
        fmt = {"t": "!B", "b": "!b", "B": "!B", "s": "!h", "u": "!H",
               "I": "!i", "i": "!I", "l": "!q", "L": "!Q", "f": "!f",
               "d": "!d", "T": "!Q"}
        if t == "t":
            return bool(self.unpack("!B"))
        if t in fmt:
            return self.unpack(fmt[t])
        if t in "Sx":
            return self.longstr()
        if t == "D":
            scale = self.unpack("!B")
            val = self.unpack("!i")
            return decimal.Decimal(val).scaleb(-scale)
        if t == "F":
            return self.table()
        if t == "A":
            return self.array()
        if t == "V":
            return None
        raise DecodeError("unknown field type %r" % t)


class Method:
    """A decoded method. `ids` is its own (class-id, method-id); arguments
    are attributes (so close.class_id is the failing method's class)."""

    def __init__(self, name, class_id, method_id, args):
        self.name = name
        self.ids = (class_id, method_id)
        self.args = args

    def __getattr__(self, k):
        try:
            return self.__dict__["args"][k]
        except KeyError:
            raise AttributeError(k)

    def __repr__(self):
        return "<%s %r>" % (self.name, self.args)


def decode_args(fields, r):
    args = {}
    bitpos = 8
    octet = 0
    for name, typ in fields:
        if typ == "bit":
            if bitpos == 8:
                octet = r.unpack("!B")
                bitpos = 0
            args[name] = bool(octet & (1 << bitpos))
            bitpos += 1
            continue
        bitpos = 8
        if typ == "octet":
            args[name] = r.unpack("!B")
        elif typ == "short":
            args[name] = r.unpack("!H")
        elif typ == "long":
            args[name] = r.unpack("!I")
        elif typ in ("longlong", "timestamp"):
            args[name] = r.unpack("!Q")
        elif typ == "shortstr":
            args[name] = r.shortstr()
        elif typ == "longstr":
            args[name] = r.longstr()
        elif typ == "table":
            args[name] = r.table()
    return args


def decode_method(payload):
    r = Reader(payload)
    class_id = r.unpack("!H")
    method_id = r.unpack("!H")
    try:
        name, fields, _ = METHODS[(class_id, method_id)]
    except KeyError:
        raise DecodeError("unknown method %d.%d" % (class_id, method_id))
    return Method(name, class_id, method_id, decode_args(fields, r))


def decode_header(payload):
    r = Reader(payload)
    class_id = r.unpack("!H")
    r.unpack("!H")
    body_size = r.unpack("!Q")
    flags = r.unpack("!H")
    props = {}
    for i, (name, typ) in enumerate(BASIC_PROPERTIES):
        if not flags & (1 << (15 - i)):
            continue
        if typ == "shortstr":
            props[name] = r.shortstr()
        elif typ == "octet":
            props[name] = r.unpack("!B")
        elif typ == "timestamp":
            props[name] = r.unpack("!Q")
        elif typ == "table":
            props[name] = r.table()
    return class_id, body_size, props


class Frame:
    def __init__(self, ftype, channel, payload):
        self.type = ftype
        self.channel = channel
        self.payload = payload
        self.method = decode_method(payload) if ftype == FRAME_METHOD else None

    def __repr__(self):
        if self.method:
            return "<Frame ch=%d %r>" % (self.channel, self.method)
        return "<Frame type=%d ch=%d len=%d>" % (self.type, self.channel, len(self.payload))


def decode_frame(buf):
    """Return (Frame, bytes consumed) or (None, 0) when more bytes are needed."""
    if len(buf) < 7:
        return None, 0
    ftype, channel, size = struct.unpack("!BHI", buf[:7])
    if len(buf) < 8 + size:
        return None, 0
    if buf[7 + size] != FRAME_END:
        raise DecodeError("bad frame-end 0x%02x" % buf[7 + size])
    return Frame(ftype, channel, bytes(buf[7:7 + size])), 8 + size


# ---------------------------------------------------------------- raw client

class ConnectionClosed(Exception):
    """The peer closed the TCP connection (EOF or reset)."""


class Message:
    def __init__(self, method, props, body):
        self.method = method
        self.props = props
        self.body = body

    def __repr__(self):
        return "<Message %r %r %d bytes>" % (self.method, self.props, len(self.body))


class RawClient:
    """A blocking AMQP peer on a plain socket; every read has a deadline."""

    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = bytearray()
        self.frame_max = FRAME_MIN_SIZE
        self.server_properties = None
        self.tune = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def send_method(self, channel, name, **args):
        self.send(method_frame(channel, name, **args))

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data from broker in time")
        r, _, _ = select.select([self.sock], [], [], remaining)
        if not r:
            raise TimeoutError("no data from broker in time")
        try:
            data = self.sock.recv(1 << 20)
        except (ConnectionResetError, ConnectionAbortedError) as e:
            raise ConnectionClosed(str(e))
        if not data:
            raise ConnectionClosed("EOF")
        self.buf += data

    def recv_bytes(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def recv_frame(self, timeout=None, skip_heartbeats=True):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            f, n = decode_frame(self.buf)
            if f is None:
                self._fill(deadline)
                continue
            del self.buf[:n]
            if skip_heartbeats and f.type == FRAME_HEARTBEAT:
                continue
            return f

    def recv_method(self, timeout=None):
        f = self.recv_frame(timeout)
        if f.type != FRAME_METHOD:
            raise AssertionError("expected a method frame, got %r" % f)
        return f.channel, f.method

    def expect(self, name, channel=None, timeout=None):
        ch, m = self.recv_method(timeout)
        if m.name != name or (channel is not None and ch != channel):
            raise AssertionError("expected %s on channel %s, got %r on %d"
                                 % (name, channel, m, ch))
        return m

    def recv_message(self, timeout=None):
        """Read a content-bearing method + header + body frames."""
        ch, m = self.recv_method(timeout)
        if not METHODS[m.ids][2]:
            return ch, Message(m, None, None)
        h = self.recv_frame(timeout)
        assert h.type == FRAME_HEADER, h
        _, size, props = decode_header(h.payload)
        body = b""
        while len(body) < size:
            b = self.recv_frame(timeout)
            assert b.type == FRAME_BODY, b
            body += b.payload
        return ch, Message(m, props, body)

    def wait_closed(self, timeout=None):
        """Read until the broker closes the socket; return the bytes read."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                self._fill(deadline)
            except ConnectionClosed:
                data = bytes(self.buf)
                self.buf.clear()
                return data

    def handshake(self, user="guest", password="guest", vhost="/",
                  mechanism="PLAIN", response=None, heartbeat=0,
                  frame_max=131072, channel_max=2047, open_vhost=True):
        """Run the connection handshake up to open-ok (or tune-ok)."""
        self.send(PROTOCOL_HEADER)
        start = self.expect("connection.start", 0)
        self.server_properties = start.server_properties
        if response is None:
            if mechanism == "PLAIN":
                response = b"\0" + user.encode() + b"\0" + password.encode()
            elif mechanism == "AMQPLAIN":
                response = enc_table_body({"LOGIN": user, "PASSWORD": password})
        self.send_method(0, "connection.start_ok",
                         client_properties={"product": "warren-proto-tests",
                                            "capabilities": {"authentication_failure_close": True}},
                         mechanism=mechanism, response=response, locale="en_US")
        tune = self.expect("connection.tune", 0)
        self.tune = tune
        fm = min(frame_max, tune.frame_max) if tune.frame_max else frame_max
        cm = min(channel_max, tune.channel_max) if tune.channel_max else channel_max
        self.frame_max = fm
        self.send_method(0, "connection.tune_ok", channel_max=cm,
                         frame_max=fm, heartbeat=heartbeat)
        if open_vhost:
            self.send_method(0, "connection.open", virtual_host=vhost)
            self.expect("connection.open_ok", 0)
        return self

    def open_channel(self, channel=1):
        self.send_method(channel, "channel.open")
        self.expect("channel.open_ok", channel)
        return channel

    def rpc(self, channel, name, reply, **args):
        self.send_method(channel, name, **args)
        return self.expect(reply, channel)

    def expect_connection_close(self, timeout=None):
        """Read frames until connection.close; answer close-ok; return it."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            f = self.recv_frame(max(0.01, deadline - time.monotonic()))
            if f.type == FRAME_METHOD and f.method.name == "connection.close":
                try:
                    self.send_method(0, "connection.close_ok")
                except OSError:
                    pass
                return f.method

    def expect_channel_close(self, channel, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            f = self.recv_frame(max(0.01, deadline - time.monotonic()))
            if f.type != FRAME_METHOD:
                continue
            if f.method.name == "connection.close":
                raise AssertionError("connection closed instead: %r" % f.method)
            if f.method.name == "channel.close" and f.channel == channel:
                self.send_method(channel, "channel.close_ok")
                return f.method

    def close_connection(self):
        self.send_method(0, "connection.close", reply_code=200, reply_text="bye")
        self.expect("connection.close_ok", 0)
        self.close()
