#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Consume N messages with manual ack, ack none of them, print each body and
then "HOLDING N", and wait (until killed) with the messages unacked.

usage: hold_unacked.py HOST PORT QUEUE N
"""

import sys
import time

import pika

host, port, queue, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
conn = pika.BlockingConnection(pika.ConnectionParameters(
    host=host, port=port, socket_timeout=5, connection_attempts=1, heartbeat=0))
ch = conn.channel()
got = 0
for method, props, body in ch.consume(queue, auto_ack=False, inactivity_timeout=10):
    if method is None:
        print("TIMEOUT after %d" % got, flush=True)
        sys.exit(1)
    assert not method.redelivered
    print("BODY %s" % body.decode(), flush=True)
    got += 1
    if got == n:
        break
print("HOLDING %d" % got, flush=True)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    conn.process_data_events(time_limit=1)
