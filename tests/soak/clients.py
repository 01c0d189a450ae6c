# SPDX-License-Identifier: MIT
"""The soak test's clients (tests/soak/soak.py runs them as processes).

  clients.py produce HOST PORT QUEUE FIRST COUNT PRIORITY RATE LOG [RECONNECT]
      publishes messages FIRST .. FIRST+COUNT-1 (the body is "<n>.<attempt>")
      with publisher confirms, a window of WINDOW unconfirmed at a time,
      at most RATE a second (0 = as fast as it goes),
      and appends "C <n>" to LOG for every number the broker confirmed
      (basic.ack; a basic.nack would be "N <n>"). With RECONNECT=1 a lost
      connection (the broker killed) is opened again and what was
      unconfirmed is published again, as attempt 1, 2, ... (a new message:
      its deliveries are told apart from the earlier attempt's).
  clients.py consume HOST PORT QUEUE PREFETCH LOG [RECONNECT]
      consumes with manual acks and appends to LOG, for every delivery,
      "R <n> <redelivered 0|1> <monotonic ns> <attempt>" when it arrives and
      "A <n>" just before its basic.ack is written. Acks go out for every
      ACK_EVERY deliveries (multiple=true) and when the queue goes quiet,
      so a kill often catches deliveries it has logged but not acked.
      It may be SIGKILLed at any moment; SIGTERM makes it cancel, close
      the connection and exit 0. With RECONNECT=1 a lost connection is
      opened again (what was unacked comes back from the broker).
  clients.py stream HOST PORT QUEUE LOG
      reads the stream QUEUE from its first offset with acks and appends
      "S <offset> <n> <attempt>" to LOG for every delivery, until a
      message whose body is "end"; a lost connection (the broker killed)
      is opened again and reading goes on at the offset after the last
      one seen, so the log shows whether the offsets stay contiguous.

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


RECONNECT_FOR = 120.0  # seconds a reconnecting client keeps trying


def produce(host, port, queue, first, count, priority, rate, log_path,
            reconnect="0"):
    """Asynchronous publisher (SelectConnection): keeps WINDOW publishes
    unconfirmed, records each confirm, stops when all are confirmed."""
    first, count, priority = int(first), int(count), priority == "1"
    rate = float(rate)
    log = open_log(log_path)
    state = {"next": first, "pending": {}, "seq": 0, "done": 0, "error": None,
             "t0": None, "timer": False, "retry": [], "attempt": {}}
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
        if not ch.is_open:
            return
        limit = allowed()
        if state["next"] < end and state["next"] >= limit and not state["timer"]:
            state["timer"] = True
            conn.ioloop.call_later(0.01, later)
        while len(state["pending"]) < WINDOW and (
                state["retry"] or (state["next"] < end and state["next"] < limit)):
            if state["retry"]:
                n = state["retry"].pop()
            else:
                n = state["next"]
                state["next"] += 1
            state["seq"] += 1
            state["pending"][state["seq"]] = n
            props = pika.BasicProperties(
                message_id=str(n), delivery_mode=2,
                priority=(n * 7919) % 10 if priority else None)
            ch.basic_publish("", queue, b"%d.%d" % (n, state["attempt"].get(n, 0)),
                             props)

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

    failing_since = None
    while True:
        conn = pika.SelectConnection(params(host, port), on_open_callback=on_open,
                                     on_open_error_callback=on_fail,
                                     on_close_callback=on_closed)
        conn.ioloop.start()
        if state["done"] == count or reconnect != "1":
            break
        # The broker went away: what it did not confirm is published again,
        # as a new attempt, on a new connection (delivery tags start over).
        if ch_holder:
            failing_since = None
        elif failing_since is None:
            failing_since = time.monotonic()
        elif time.monotonic() - failing_since > RECONNECT_FOR:
            break
        for n in state["pending"].values():
            state["attempt"][n] = state["attempt"].get(n, 0) + 1
            state["retry"].append(n)
        state["pending"].clear()
        state["seq"] = 0
        state["timer"] = False
        state["error"] = None
        del ch_holder[:]
        time.sleep(0.1)
    os.close(log)
    if state["error"] is not None:
        print("producer %d..%d: %r" % (first, end - 1, state["error"]), file=sys.stderr)
        return 1
    return 0


def consume(host, port, queue, prefetch, log_path, reconnect="0"):
    log = open_log(log_path)
    stop = []

    def on_term(signum, frame):
        stop.append(signum)

    signal.signal(signal.SIGTERM, on_term)
    if reconnect != "1":
        return consume_once(host, port, queue, prefetch, log, stop)
    failing_since = None
    while not stop:
        try:
            return consume_once(host, port, queue, prefetch, log, stop)
        except (pika.exceptions.AMQPError, OSError):
            # the broker went away (killed): what was unacked comes back
            if failing_since is None:
                failing_since = time.monotonic()
            elif time.monotonic() - failing_since > RECONNECT_FOR:
                raise
            time.sleep(0.1)
    return 0


def consume_once(host, port, queue, prefetch, log, stop):
    conn = pika.BlockingConnection(params(host, port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=int(prefetch))
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
        n, _, attempt = body.partition(b".")
        n = int(n)
        os.write(log, b"R %d %d %d %d\n" % (n, method.redelivered,
                                             time.monotonic_ns(), int(attempt or 0)))
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


def stream(host, port, queue, log_path):
    log = open_log(log_path)
    last = [None]  # the last offset seen
    failing_since = None
    while True:
        try:
            conn = pika.BlockingConnection(params(host, port))
            ch = conn.channel()
            ch.basic_qos(prefetch_count=200)
            failing_since = None
            done = []

            def on_message(ch_, method, props, body):
                off = props.headers["x-stream-offset"]
                if body == b"end":
                    done.append(off)
                    return
                n, _, attempt = body.partition(b".")
                os.write(log, b"S %d %d %d\n" % (off, int(n), int(attempt or 0)))
                last[0] = off
                ch_.basic_ack(method.delivery_tag)

            start = "first" if last[0] is None else last[0] + 1
            ch.basic_consume(queue, on_message, auto_ack=False,
                             arguments={"x-stream-offset": start})
            while not done:
                conn.process_data_events(time_limit=0.05)
            os.write(log, b"END %d\n" % done[0])
            conn.close()
            os.close(log)
            return 0
        except (pika.exceptions.AMQPError, OSError):
            if failing_since is None:
                failing_since = time.monotonic()
            elif time.monotonic() - failing_since > RECONNECT_FOR:
                raise
            time.sleep(0.1)


def main(argv):
    if argv[1] == "stream":
        return stream(*argv[2:6])
    if argv[1] == "produce":
        return produce(*argv[2:11])
    if argv[1] == "consume":
        return consume(*argv[2:8])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
