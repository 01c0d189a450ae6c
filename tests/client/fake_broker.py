#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A scripted AMQP 0-9-1 broker for libwarren's error-path tests
(tests/unit/check_client_fake.c). Standard library only.

    fake_broker.py SCENARIO [--tls CERT KEY] [--client-ca CA]
                            [--upstream PORT]

Listens on 127.0.0.1 on a free port and prints "PORT <n>" on stdout,
accepts one connection, plays SCENARIO (raw frames, see SCENARIOS), and
exits 0 if the client did what the scenario expects, 1 otherwise (the
reason goes to stderr). --tls wraps the connection in TLS (--client-ca
also demands a client certificate signed by CA). Scenario "proxy" forwards
the (TLS) connection to 127.0.0.1:--upstream instead, so the client can
talk TLS to a broker that has none yet.
"""

import select
import socket
import ssl
import struct
import sys
import time

FRAME_END = b"\xce"
TIMEOUT = 20.0


class Fail(Exception):
    pass


# ---- encoding -------------------------------------------------------------

def shortstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">B", len(b)) + b


def longstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">I", len(b)) + b


def table(d):
    out = b""
    for k, v in d.items():
        out += shortstr(k)
        if isinstance(v, bool):
            out += b"t" + (b"\x01" if v else b"\x00")
        elif isinstance(v, int):
            out += b"I" + struct.pack(">i", v)
        elif isinstance(v, dict):
            out += b"F" + table(v)
        else:
            out += b"S" + longstr(v)
    return struct.pack(">I", len(out)) + out


def frame(ftype, channel, payload):
    return struct.pack(">BHI", ftype, channel, len(payload)) + payload + FRAME_END


def method(channel, cls, mid, args=b""):
    return frame(1, channel, struct.pack(">HH", cls, mid) + args)


def header(channel, size, props=b"\x00\x00"):
    return frame(2, channel, struct.pack(">HHQ", 60, 0, size) + props)


def body(channel, data):
    return frame(3, channel, data)


HEARTBEAT = frame(8, 0, b"")


def close_args(code, text, cls=0, mid=0):
    return struct.pack(">H", code) + shortstr(text) + struct.pack(">HH", cls, mid)


def deliver(channel, tag, dtag, data, exchange="", rkey="q", props=b"\x00\x00"):
    return (method(channel, 60, 60, shortstr(tag) + struct.pack(">QB", dtag, 0)
                   + shortstr(exchange) + shortstr(rkey))
            + header(channel, len(data), props) + (body(channel, data) if data else b""))


# ---- the connection -------------------------------------------------------

class Peer:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.heartbeats = 0

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def read_exact(self, n):
        if not self._fill(n):
            raise Fail("client hung up (wanted %d bytes, have %d)" % (n, len(self.buf)))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self, allow_eof=False):
        """(type, channel, payload), skipping heartbeats; None at EOF."""
        while True:
            if not self._fill(7):
                if allow_eof and not self.buf:
                    return None
                raise Fail("client hung up mid-frame or early")
            ftype, ch, size = struct.unpack(">BHI", self.buf[:7])
            if not self._fill(7 + size + 1):
                raise Fail("client hung up mid-frame")
            payload, end = self.buf[7:7 + size], self.buf[7 + size:8 + size]
            self.buf = self.buf[8 + size:]
            if end != FRAME_END:
                raise Fail("bad frame-end from the client")
            if ftype == 8:
                self.heartbeats += 1
                continue
            return ftype, ch, payload

    def expect(self, cls, mid, allow_eof=False):
        """Reads frames until method cls.mid; returns (channel, args)."""
        while True:
            f = self.frame(allow_eof)
            if f is None:
                return None
            ftype, ch, payload = f
            if ftype != 1:
                continue
            c, m = struct.unpack(">HH", payload[:4])
            if (c, m) == (cls, mid):
                return ch, payload[4:]
            if (c, m) == (10, 50):
                raise Fail("client closed the connection: %r" % payload)
            log("skipping method %d.%d" % (c, m))

    def wait_eof(self, timeout=10.0):
        """Reads until the client hangs up; returns the methods seen."""
        self.sock.settimeout(timeout)
        seen = []
        while True:
            try:
                f = self.frame(allow_eof=True)
            except (Fail, ConnectionResetError):
                return seen
            if f is None:
                return seen
            if f[0] == 1:
                seen.append((struct.unpack(">HH", f[2][:4]), f[2][4:]))


def log(msg):
    sys.stderr.write("fake_broker: %s\n" % msg)


def handshake(p, heartbeat=0, frame_max=131072, channel_max=2047):
    hdr = p.read_exact(8)
    if hdr != b"AMQP\x00\x00\x09\x01":
        raise Fail("bad protocol header %r" % hdr)
    props = table({"product": "fake_broker", "capabilities": {
        "publisher_confirms": True, "consumer_cancel_notify": True,
        "connection.blocked": True, "basic.nack": True}})
    p.send(method(0, 10, 10, b"\x00\x09" + props + longstr("PLAIN AMQPLAIN")
                  + longstr("en_US")))
    _, args = p.expect(10, 11)
    n = struct.unpack(">I", args[:4])[0]
    p.client_properties = args[4:4 + n]
    rest = args[4 + n:]
    mech_len = rest[0]
    mech = rest[1:1 + mech_len]
    resp_len = struct.unpack(">I", rest[1 + mech_len:5 + mech_len])[0]
    resp = rest[5 + mech_len:5 + mech_len + resp_len]
    if mech != b"PLAIN" or resp != b"\x00guest\x00guest":
        raise Fail("bad login %r %r" % (mech, resp))
    return tune_open(p, heartbeat, frame_max, channel_max)


def tune_open(p, heartbeat, frame_max, channel_max):
    p.send(method(0, 10, 30, struct.pack(">HIH", channel_max, frame_max, heartbeat)))
    _, args = p.expect(10, 31)
    tuned = struct.unpack(">HIH", args)
    _, args = p.expect(10, 40)
    p.send(method(0, 10, 41, shortstr("")))
    return tuned


def open_channel(p):
    ch, _ = p.expect(20, 10)
    p.send(method(ch, 20, 11, longstr("")))
    return ch


def consume(p, ch, tag="ctag"):
    p.expect(60, 20)
    p.send(method(ch, 60, 21, shortstr(tag)))


def expect_close(p):
    """The client's connection.close: answer close-ok."""
    got = p.expect(10, 50, allow_eof=True)
    if got is None:
        raise Fail("client hung up without connection.close")
    p.send(method(0, 10, 51))


def expect_close_code(p, code):
    """The client must send connection.close `code`, then hang up."""
    seen = p.wait_eof()
    for (cm, args) in seen:
        if cm == (10, 50):
            got = struct.unpack(">H", args[:2])[0]
            if got != code:
                raise Fail("connection.close %d, expected %d" % (got, code))
            return
    raise Fail("no connection.close %d; saw %r" % (code, seen))


# ---- scenarios ------------------------------------------------------------

def sc_channel_close_mid_consume(p):
    """Two deliveries, then channel.close 404; the client acks both, answers
    close-ok, keeps the connection (opens channel 2) and closes politely."""
    handshake(p)
    ch = open_channel(p)
    consume(p, ch)
    p.send(deliver(ch, "ctag", 1, b"m1") + deliver(ch, "ctag", 2, b"m2")
           + method(ch, 20, 40, close_args(404, "NOT_FOUND - no queue 'q'", 60, 20)))
    acks = 0
    while True:
        ftype, c, payload = p.frame()
        cm = struct.unpack(">HH", payload[:4]) if ftype == 1 else None
        if cm == (60, 80):
            acks += 1
        elif cm == (20, 41):
            break
        else:
            raise Fail("unexpected frame %r" % ((ftype, c, cm),))
    if acks != 2:
        raise Fail("%d acks before close-ok, expected 2" % acks)
    open_channel(p)
    expect_close(p)


def sc_connection_close_mid_consume(p):
    handshake(p)
    ch = open_channel(p)
    consume(p, ch)
    p.send(deliver(ch, "ctag", 1, b"m1")
           + method(0, 10, 50, close_args(320, "CONNECTION_FORCED - shutdown")))
    p.expect(10, 51)


def sc_drop_mid_frame(p):
    handshake(p)
    ch = open_channel(p)
    consume(p, ch)
    d = deliver(ch, "ctag", 1, b"x" * 100)
    p.send(d[:len(d) // 2])
    time.sleep(0.2)


def sc_malformed_frame(p):
    """A method frame whose frame-end is 0x00: the client must answer
    connection.close 501 (AMQP 0-9-1 4.2.3) and hang up."""
    handshake(p)
    ch = open_channel(p)
    consume(p, ch)
    m = method(ch, 60, 60, shortstr("ctag") + struct.pack(">QB", 1, 0)
               + shortstr("") + shortstr("q"))
    bad = m[:-1] + b"\x00"
    p.send(bad)
    expect_close_code(p, 501)


def sc_frame_too_big(p):
    handshake(p, frame_max=4096)
    ch = open_channel(p)
    consume(p, ch)
    p.send(struct.pack(">BHI", 3, ch, 1 << 20))
    expect_close_code(p, 501)


def sc_bad_method(p):
    handshake(p)
    ch = open_channel(p)
    consume(p, ch)
    p.send(method(ch, 99, 1))
    expect_close_code(p, 540)


def sc_unexpected_frame(p):
    """A content body without a content method: 505 UNEXPECTED_FRAME."""
    handshake(p)
    ch = open_channel(p)
    consume(p, ch)
    p.send(body(ch, b"orphan"))
    expect_close_code(p, 505)


def sc_heartbeat_silence(p):
    """heartbeat = 1 s, then silence: the client must send heartbeats and
    give up after two intervals."""
    handshake(p, heartbeat=1)
    start = time.monotonic()
    p.wait_eof(timeout=10)
    took = time.monotonic() - start
    if p.heartbeats < 1:
        raise Fail("the client sent no heartbeat")
    if not 1.5 <= took <= 5:
        raise Fail("the client hung up after %.1f s, expected about 2" % took)


def sc_heartbeat_kept(p):
    """heartbeat = 1 s; we send heartbeats; the client must stay for 3 s
    and send its own."""
    handshake(p, heartbeat=1)
    end = time.monotonic() + 3.2
    while time.monotonic() < end:
        p.send(HEARTBEAT)
        r, _, _ = select.select([p.sock], [], [], 0.3)
        if r:
            chunk = p.sock.recv(65536)
            if not chunk:
                raise Fail("the client hung up despite heartbeats")
            p.buf += chunk
    expect_close(p)  # parses what came, counting heartbeats
    if p.heartbeats < 2:
        raise Fail("the client sent %d heartbeats in 3 s" % p.heartbeats)


def sc_client_name(p):
    """The client names itself with RabbitMQ's connection_name property."""
    handshake(p)
    want = shortstr("connection_name") + b"S" + longstr("orders-app")
    if want not in p.client_properties:
        raise Fail("no connection_name 'orders-app' in %r"
                   % p.client_properties)
    expect_close(p)


def sc_auth_refused(p):
    hdr = p.read_exact(8)
    del hdr
    p.send(method(0, 10, 10, b"\x00\x09" + table({}) + longstr("PLAIN")
                  + longstr("en_US")))
    p.expect(10, 11)
    p.send(method(0, 10, 50, close_args(403, "ACCESS_REFUSED - Login was refused")))
    p.expect(10, 51, allow_eof=True)


def sc_auth_eof(p):
    p.read_exact(8)
    p.send(method(0, 10, 10, b"\x00\x09" + table({}) + longstr("PLAIN")
                  + longstr("en_US")))
    p.expect(10, 11)


def sc_vhost_refused(p):
    p.read_exact(8)
    p.send(method(0, 10, 10, b"\x00\x09" + table({}) + longstr("PLAIN")
                  + longstr("en_US")))
    p.expect(10, 11)
    p.send(method(0, 10, 30, struct.pack(">HIH", 0, 131072, 0)))
    p.expect(10, 31)
    p.expect(10, 40)
    p.send(method(0, 10, 50, close_args(530, "NOT_ALLOWED - vhost 'nope' not found")))
    p.expect(10, 51, allow_eof=True)


def sc_bad_protocol(p):
    p.read_exact(8)
    p.send(b"AMQP\x01\x01\x00\x0a")


def sc_rpc_timeout(p):
    handshake(p)
    open_channel(p)
    p.expect(50, 10)  # queue.declare, never answered
    p.wait_eof()


def sc_channel_error_rpc(p):
    """queue.declare refused with channel.close 406."""
    handshake(p)
    ch = open_channel(p)
    p.expect(50, 10)
    p.send(method(ch, 20, 40, close_args(406, "PRECONDITION_FAILED - inequivalent arg 'durable'", 50, 10)))
    p.expect(20, 41)
    expect_close(p)


def sc_features(p):
    """Things a real broker rarely does on demand: connection.blocked, a
    body split over frames with a heartbeat in between (frame-max 4096),
    an empty body with properties, basic.return, out-of-order confirms with
    a nack, and a consumer cancelled by the broker."""
    handshake(p, frame_max=4096)
    ch = open_channel(p)
    p.expect(85, 10)  # confirm.select
    p.send(method(ch, 85, 11))
    consume(p, ch)
    for _ in range(3):  # three publishes: method, header, body
        p.expect(60, 40)
    big = bytes(range(256)) * 40  # 10240 bytes: 3 body frames
    props = (struct.pack(">H", 0x8000 | 0x2000 | 0x1000 | 0x0400)
             + shortstr("text/plain") + table({"k": "v", "n": 7})
             + b"\x02" + shortstr("corr-1"))
    p.send(method(0, 10, 60, shortstr("low on memory")) + method(0, 10, 61))
    dm = method(ch, 60, 60, shortstr("ctag") + struct.pack(">QB", 1, 1)
                + shortstr("ex") + shortstr("rk"))
    p.send(dm + header(ch, len(big)) + body(ch, big[:4088]) + HEARTBEAT
           + body(ch, big[4088:8176]) + body(ch, big[8176:]))
    p.send(deliver(ch, "ctag", 2, b"", props=props))
    p.send(method(ch, 60, 50, struct.pack(">H", 312) + shortstr("NO_ROUTE")
                  + shortstr("") + shortstr("nowhere"))
           + header(ch, 3) + body(ch, b"ret"))
    # confirms: 2 acked alone, then 3 nacked with multiple (covers 1)
    p.send(method(ch, 60, 80, struct.pack(">QB", 2, 0))
           + method(ch, 60, 120, struct.pack(">QB", 3, 1)))
    p.send(method(ch, 60, 30, shortstr("ctag") + b"\x00"))
    p.expect(60, 31)  # cancel-ok for the broker's cancel
    expect_close(p)


def sc_get(p):
    """basic.get: get-ok with a two-frame body, then get-empty."""
    handshake(p, frame_max=4096)
    ch = open_channel(p)
    p.expect(60, 70)
    data = b"g" * 5000
    p.send(method(ch, 60, 71, struct.pack(">QB", 7, 0) + shortstr("")
                  + shortstr("q") + struct.pack(">I", 4))
           + header(ch, len(data)) + body(ch, data[:4000]) + body(ch, data[4000:]))
    p.expect(60, 70)
    p.send(method(ch, 60, 72, shortstr("")))
    expect_close(p)


def sc_basic(p):
    """A minimal session: queue.declare answered, then a polite close (used
    over TLS)."""
    handshake(p)
    ch = open_channel(p)
    p.expect(50, 10)
    p.send(method(ch, 50, 11, shortstr("q") + struct.pack(">II", 0, 0)))
    expect_close(p)


SCENARIOS = {n[3:]: f for n, f in globals().items() if n.startswith("sc_")}


# ---- proxy mode -----------------------------------------------------------

def proxy(conn, upstream):
    """Copies bytes both ways in one thread (an SSL socket must not be read
    and written from two threads at once) until either side hangs up."""
    up = socket.create_connection(("127.0.0.1", upstream))
    conn.settimeout(None)
    while True:
        if isinstance(conn, ssl.SSLSocket) and conn.pending():
            ready = [conn]
        else:
            ready, _, _ = select.select([conn, up], [], [], TIMEOUT)
        if not ready:
            break
        for s in ready:
            data = s.recv(65536)
            if not data:
                up.close()
                return
            (up if s is conn else conn).sendall(data)


# ---- main -----------------------------------------------------------------

def main(argv):
    args = argv[1:]
    if not args or args[0] not in SCENARIOS and args[0] != "proxy":
        sys.stderr.write(__doc__ + "\nscenarios: %s proxy\n" % " ".join(sorted(SCENARIOS)))
        return 2
    name, args = args[0], args[1:]
    ctx = upstream = None
    while args:
        if args[0] == "--tls":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args[1], args[2])
            args = args[3:]
        elif args[0] == "--client-ca":
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args[1])
            args = args[2:]
        elif args[0] == "--upstream":
            upstream = int(args[1])
            args = args[2:]
        else:
            sys.stderr.write("bad argument %s\n" % args[0])
            return 2
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(TIMEOUT)
    print("PORT %d" % lsock.getsockname()[1], flush=True)
    try:
        conn, _ = lsock.accept()
        conn.settimeout(TIMEOUT)
        if ctx is not None:
            conn = ctx.wrap_socket(conn, server_side=True)
        if name == "proxy":
            proxy(conn, upstream)
            return 0
        SCENARIOS[name](Peer(conn))
        conn.close()
    except ssl.SSLError as e:
        log("%s: TLS: %s" % (name, e))
        return 3
    except (Fail, OSError) as e:
        log("%s: %s" % (name, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
