# SPDX-License-Identifier: MIT
"""The soak test's clients (tests/soak/soak.py runs them as processes).

  clients.py produce HOST PORT QUEUE FIRST COUNT PRIORITY RATE LOG
      publishes messages FIRST .. FIRST+COUNT-1 (the body is the number)
      with publisher confirms, a window of WINDOW unconfirmed at a time,
      at most RATE a second (0 = as fast as it goes),
      and appends "C <n>" to LOG for every number the broker confirmed
      (basic.ack; a basic.nack would be "N <n>").
  clients.py consume HOST PORT QUEUE PREFETCH LOG
      consumes with manual acks and appends to LOG, for every delivery,
      "R <n> <redelivered 0|1> <monotonic ns>" when it arrives and
      "A <n>" just before its basic.ack is written. Acks go out for every
      ACK_EVERY deliveries (multiple=true) and when the queue goes quiet,
      so a kill often catches deliveries it has logged but not acked.
      It may be SIGKILLed at any moment; SIGTERM makes it cancel, close
      the connection and exit 0.

Log lines are written with one os.write each on an O_APPEND file, so a
SIGKILL leaves whole lines only.
"""

import os
import signal
import sys
import time

import pika

WINDOW = 256  # unconfirmed publishes in flight per producer
ACK_EVERY = 5  # consumer: deliveries per basic.ack (multiple)
QUIET = 0.2  # consumer: seconds without a delivery before acking the rest


def params(host, port):
    return pika.ConnectionParameters(
        host=host, port=int(port), credentials=pika.PlainCredentials("guest", "guest"),
        heartbeat=0, socket_timeout=10, blocked_connection_timeout=60,
        connection_attempts=3, retry_delay=0.5)


def open_log(path):
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


def produce(host, port, queue, first, count, priority, rate, log_path):
    """Asynchronous publisher (SelectConnection): keeps WINDOW publishes
    unconfirmed, records each confirm, stops when all are confirmed."""
    first, count, priority = int(first), int(count), priority == "1"
    rate = float(rate)
    log = open_log(log_path)
    state = {"next": first, "pending": {}, "seq": 0, "done": 0, "error": None,
             "t0": None, "timer": False}
    end = first + count

    def allowed():
        if rate <= 0:
            return end
        if state["t0"] is None:
            state["t0"] = time.monotonic()
        return first + int(rate * (time.monotonic() - state["t0"])) + 1

    def later():
        state["timer"] = False
        publish_some(ch_holder[0])

    def publish_some(ch):
        limit = allowed()
        if state["next"] < end and state["next"] >= limit and not state["timer"]:
            state["timer"] = True
            conn.ioloop.call_later(0.01, later)
        while (state["next"] < end and state["next"] < limit
               and len(state["pending"]) < WINDOW):
            n = state["next"]
            state["next"] += 1
            state["seq"] += 1
            state["pending"][state["seq"]] = n
            props = pika.BasicProperties(
                message_id=str(n), delivery_mode=2,
                priority=(n * 7919) % 10 if priority else None)
            ch.basic_publish("", queue, b"%d" % n, props)

    def on_confirm(frame):
        m = frame.method
        tags = ([t for t in state["pending"] if t <= m.delivery_tag]
                if m.multiple else [m.delivery_tag])
        kind = b"C" if isinstance(m, pika.spec.Basic.Ack) else b"N"
        lines = []
        for t in sorted(tags):
            n = state["pending"].pop(t, None)
            if n is not None:
                lines.append(b"%s %d\n" % (kind, n))
                state["done"] += 1
        if lines:
            os.write(log, b"".join(lines))
        if state["done"] == count:
            conn.close()
            return
        publish_some(ch_holder[0])

    ch_holder = []

    def on_channel(ch):
        ch_holder.append(ch)
        ch.confirm_delivery(on_confirm, callback=lambda _f: publish_some(ch))

    def on_open(c):
        c.channel(on_open_callback=on_channel)

    def on_fail(c, err):
        state["error"] = err
        c.ioloop.stop()

    def on_closed(c, reason):
        if state["done"] != count:
            state["error"] = reason
        c.ioloop.stop()

    conn = pika.SelectConnection(params(host, port), on_open_callback=on_open,
                                 on_open_error_callback=on_fail,
                                 on_close_callback=on_closed)
    conn.ioloop.start()
    os.close(log)
    if state["error"] is not None:
        print("producer %d..%d: %r" % (first, end - 1, state["error"]), file=sys.stderr)
        return 1
    return 0


def consume(host, port, queue, prefetch, log_path):
    log = open_log(log_path)
    conn = pika.BlockingConnection(params(host, port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=int(prefetch))
    stop = []

    def on_term(signum, frame):
        stop.append(signum)

    signal.signal(signal.SIGTERM, on_term)

    unacked = []  # (delivery tag, number)
    last = [time.monotonic()]

    def ack_all():
        if unacked:
            # Logged first: killed after the ack went out but before a
            # line written after it, a message would be acked on the
            # broker yet missing from the log. Logged and then killed
            # before the ack left, it is redelivered and acked again.
            os.write(log, b"".join(b"A %d\n" % n for _, n in unacked))
            ch.basic_ack(unacked[-1][0], multiple=True)
            del unacked[:]

    def on_message(ch_, method, props, body):
        n = int(body)
        os.write(log, b"R %d %d %d\n" % (n, method.redelivered, time.monotonic_ns()))
        unacked.append((method.delivery_tag, n))
        last[0] = time.monotonic()
        if len(unacked) >= ACK_EVERY:
            ack_all()

    tag = ch.basic_consume(queue, on_message, auto_ack=False)
    os.write(log, b"READY\n")
    while not stop:
        conn.process_data_events(time_limit=0.05)
        if time.monotonic() - last[0] >= QUIET:
            ack_all()
    ch.basic_cancel(tag)
    conn.close()
    os.close(log)
    return 0


def main(argv):
    if argv[1] == "produce":
        return produce(*argv[2:10])
    if argv[1] == "consume":
        return consume(*argv[2:7])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
