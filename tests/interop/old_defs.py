# SPDX-License-Identifier: MIT
"""Writes a defs/ log as an older warren left it, byte by byte from
docs/internals/STORE.md ("Format": segment header, chunk header, records
with their CRC32C; "The defs/ records": one AMQP field table each), so
that recovery tests can start a broker on data an older version wrote.

write_defs(data_dir, records) writes data_dir/defs/000...0.seg holding
one RECORDS chunk; records are (type, [(key, encoded value)]) pairs built
with the helpers below."""

import os
import struct
import time

EXCHANGE, QUEUE, BIND, NEXT_QID = 16, 18, 20, 24


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # RFC 3720's check value


def _b(s):
    return s.encode() if isinstance(s, str) else s


def table(entries):
    """A field table's contents: entries are (name, encoded value)."""
    return b"".join(bytes([len(_b(k))]) + _b(k) + v for k, v in entries)


def longstr(s):
    return b"S" + struct.pack(">I", len(_b(s))) + _b(s)


def boolean(v):
    return b"t" + (b"\x01" if v else b"\x00")


def u64(v):
    return b"L" + struct.pack(">Q", v)


def args(entries):
    """Declare arguments: the encoded table as a byte array ("args")."""
    t = table(entries)
    return b"x" + struct.pack(">I", len(t)) + t


def exchange(vhost, name, xtype, arguments=(), store_id=None):
    """An EXCHANGE record; store_id None is the old format (no "id")."""
    e = [("vhost", longstr(vhost)), ("name", longstr(name)),
         ("type", longstr(xtype)), ("auto_delete", boolean(False)),
         ("internal", boolean(False)), ("args", args(arguments))]
    if store_id is not None:
        e.append(("id", u64(store_id)))
    return EXCHANGE, e


def queue(vhost, name, store_id, arguments=()):
    return QUEUE, [("vhost", longstr(vhost)), ("name", longstr(name)),
                   ("id", u64(store_id)), ("args", args(arguments))]


def bind(vhost, source, queue_name, key, arguments=()):
    return BIND, [("vhost", longstr(vhost)), ("source", longstr(source)),
                  ("to_exchange", boolean(False)),
                  ("destination", longstr(queue_name)),
                  ("key", longstr(key)), ("args", args(arguments))]


def _record(rtype, entries):
    t = table(entries)
    payload = struct.pack(">I", len(t)) + t
    hdr = struct.pack(">IBBH", len(payload), rtype, 0, 0)
    return hdr + struct.pack(">I", crc32c(hdr + payload)) + payload


def write_defs(data_dir, records, segment_size=65536):
    now = int(time.time() * 1000)
    data = b"".join(_record(t, e) for t, e in records)
    chunk = struct.pack(">BBHIqqQIII", 0xA1, 0x80, len(records),
                        len(records), now, 0, 0, 0, len(data), 0)
    chunk += struct.pack(">I", crc32c(chunk))
    seg = b"WRSTORE1" + struct.pack(">QqI", 0, now, 0)
    seg += struct.pack(">I", crc32c(seg))
    body = seg + chunk + data
    assert len(body) <= segment_size
    d = os.path.join(str(data_dir), "defs")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%020d.seg" % 0), "wb") as f:
        f.write(body + bytes(segment_size - len(body)))
