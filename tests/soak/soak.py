# SPDX-License-Identifier: MIT
"""No-loss soak (issue 7): producers publish numbered messages with
publisher confirms into one queue read by competing consumers that ack
manually; consumers are SIGKILLed at random and restarted. At the end
every confirmed message was received and acked at least once, every
message received twice carried redelivered=true on each later delivery,
and the queue is empty with nothing unacked.

    /usr/bin/python3 tests/soak/soak.py [--messages N] [--priority]
        [--broker HOST:PORT] [--kill-broker] [--rate N]

Without --broker it starts build/warren-server (or $WARREN_SERVER) on a
free port. `make soak` runs 200,000 messages against a FIFO queue and a
priority queue; `make test` runs a short one (tests/soak/test_soak.py).
The clients are pika processes (clients.py).

--kill-broker is issue 15's kill loop: the broker (its own, on a data_dir
of its own) is SIGKILLed and restarted at random too, the queues are
durable and the messages persistent, the clients reconnect, and the
producers publish again what was not confirmed when the broker died.
Nothing confirmed may be lost; a publish's second delivery must say
redelivered. A stream queue gets the same kill loop (run_stream): its
offsets must stay contiguous and hold every confirmed message. `make
soak` runs it after the plain soak; `make test` runs a short one.
"""

import argparse
import glob
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "proto"))

import broker as broker_mod  # noqa: E402  (tests/proto/broker.py)

PYTHON = "/usr/bin/python3"
CLIENTS = os.path.join(HERE, "clients.py")


class SoakError(AssertionError):
    pass


def queue_state(host, port, queue):
    """(ready messages, consumers) from a passive queue.declare."""
    import pika
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        host=host, port=port, heartbeat=0, socket_timeout=10,
        credentials=pika.PlainCredentials("guest", "guest")))
    try:
        ok = conn.channel().queue_declare(queue, passive=True).method
        return ok.message_count, ok.consumer_count
    finally:
        conn.close()


def declare(host, port, queue, priority, durable=False):
    import pika
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        host=host, port=port, heartbeat=0, socket_timeout=10,
        credentials=pika.PlainCredentials("guest", "guest")))
    ch = conn.channel()
    ch.queue_delete(queue)
    ch.queue_declare(queue, durable=durable,
                     arguments={"x-max-priority": 10} if priority else None)
    conn.close()


def leftovers(host, port, queue, acked, deliveries, done_ns, limit=10, ack=False):
    """What a soak left in its queue: each leftover message's number,
    redelivered flag, whether a consumer had acked it already, and its
    deliveries (ms relative to the moment the soak judged itself done,
    redelivered, consumer log, attempt). ack=True takes them out."""
    import pika
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        host=host, port=port, heartbeat=0, socket_timeout=10,
        credentials=pika.PlainCredentials("guest", "guest")))
    out = []
    try:
        ch = conn.channel()
        for _ in range(limit):
            method, props, body = ch.basic_get(queue, auto_ack=ack)
            if method is None:
                break
            n = int(body.partition(b".")[0])
            out.append({"n": n, "body": body.decode(errors="replace"),
                        "redelivered": method.redelivered, "acked_before": n in acked,
                        "deliveries": [(round((d[0] - done_ns) / 1e6), d[1], d[2], d[3])
                                       for d in deliveries.get(n, [])]})
    finally:
        conn.close()
    return out


def read_logs(pattern):
    """Parse every log matching pattern: returns (confirmed set, nacked
    set, deliveries {n: [(ns, redelivered, log, attempt)]}, acked set)."""
    confirmed, nacked, acked = set(), set(), set()
    deliveries = {}
    for path in sorted(glob.glob(pattern)):
        with open(path, "rb") as f:
            for line in f.read().splitlines():
                parts = line.split()
                if not parts:
                    continue
                kind = parts[0]
                if kind == b"C":
                    confirmed.add(int(parts[1]))
                elif kind == b"N":
                    nacked.add(int(parts[1]))
                elif kind == b"R":
                    deliveries.setdefault(int(parts[1]), []).append(
                        (int(parts[3]), parts[2] == b"1", os.path.basename(path),
                         int(parts[4]) if len(parts) > 4 else 0))
                elif kind == b"A":
                    acked.add(int(parts[1]))
    return confirmed, nacked, deliveries, acked


def run(host, port, messages, priority=False, producers=2, consumers=4,
        prefetch=20, rate=0, kill_every=(0.1, 0.5), timeout=900, workdir=None,
        out=sys.stdout, restart_broker=None, broker_kill_every=(0.5, 2.0)):
    """Runs one soak; returns a dict of counts, raises SoakError.

    restart_broker: a function that SIGKILLs the broker and starts it again
    on the same data_dir and port (returning when it listens): then it is
    called at random intervals (broker_kill_every) too, the queue is
    durable, and the clients reconnect and publish again what was not
    confirmed (issue 15's kill loop)."""
    queue = "soak-%s-%d" % ("prio" if priority else "fifo", os.getpid())
    workdir = workdir or tempfile.mkdtemp(prefix="warren-soak-")
    reconnect = "1" if restart_broker else "0"
    declare(host, port, queue, priority, durable=restart_broker is not None)
    rng = random.Random(messages * 31 + priority)
    gen = [0]
    cons = {}

    def start_consumer(slot):
        gen[0] += 1
        log = os.path.join(workdir, "consumer-%d-%04d.log" % (slot, gen[0]))
        cons[slot] = subprocess.Popen(
            [PYTHON, CLIENTS, "consume", host, str(port), queue, str(prefetch), log,
             reconnect],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

    t0 = time.monotonic()
    deadline = t0 + timeout
    for slot in range(consumers):
        start_consumer(slot)
    per = messages // producers
    prods = []
    for p in range(producers):
        first = p * per
        count = per if p < producers - 1 else messages - first
        log = os.path.join(workdir, "producer-%d.log" % p)
        prods.append(subprocess.Popen(
            [PYTHON, CLIENTS, "produce", host, str(port), queue, str(first),
             str(count), "1" if priority else "0", str(rate / producers), log,
             reconnect],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE))
    kills = broker_kills = 0
    next_kill = time.monotonic() + rng.uniform(*kill_every)
    next_broker_kill = time.monotonic() + rng.uniform(*broker_kill_every)
    pattern = os.path.join(workdir, "*.log")
    produced_at = None
    last_seen = (-1, time.monotonic())
    # After a broker restart the clients reconnect and what was delivered
    # but not acked (or acked while the ack was not yet on disk) comes back:
    # the soak is not done before that has settled.
    settle = 2.0 * broker_mod.SLOW
    restarted_at = None
    all_acked = False  # as of the last check: then the kills stop
    next_check = 0.0
    try:
        # Kill consumers at random while the producers run and until every
        # confirmed message has been acked; then wait for one quiet second
        # (duplicates of messages whose ack died with a consumer arrive
        # and are acked) with the queue empty.
        while True:
            now = time.monotonic()
            if now > deadline:
                confirmed, nacked, deliveries, acked = read_logs(pattern)
                missing = sorted(confirmed - acked)
                raise SoakError(
                    "not done in %d s: %d of %d confirmed messages never acked "
                    "(e.g. %s, deliveries %s), queue %s (ready, consumers): %s"
                    % (timeout, len(missing), len(confirmed), missing[:5],
                       [deliveries.get(n) for n in missing[:3]], queue,
                       queue_state(host, port, queue)))
            if produced_at is None and all(p.poll() is not None for p in prods):
                for p in prods:
                    err = p.stderr.read().decode(errors="replace")
                    if p.returncode != 0:
                        raise SoakError("producer failed (%s): %s" % (p.returncode, err))
                produced_at = now
            for slot, c in list(cons.items()):
                if c.poll() is not None:  # died by itself: a failure
                    raise SoakError("consumer %d exited with %s" % (slot, c.returncode))
            done = False
            if produced_at is not None and now >= next_check:
                next_check = now + 0.25
                confirmed, nacked, deliveries, acked = read_logs(pattern)
                ndeliv = sum(len(d) for d in deliveries.values())
                if ndeliv != last_seen[0]:
                    last_seen = (ndeliv, now)
                all_acked = confirmed <= acked
                done = (all_acked and now - last_seen[1] >= 1.0
                        and (restarted_at is None or now - restarted_at >= settle)
                        and queue_state(host, port, queue)[0] == 0)
                if done:
                    # nothing delivered while queue_state asked
                    done = sum(len(d) for d in read_logs(pattern)[2].values()) == ndeliv
                if done:
                    done_ns = time.monotonic_ns()
                    break
            if not all_acked and now >= next_kill:
                slot = rng.randrange(consumers)
                cons[slot].send_signal(signal.SIGKILL)
                cons[slot].wait()
                kills += 1
                start_consumer(slot)
                next_kill = time.monotonic() + rng.uniform(*kill_every)
            if restart_broker and not all_acked and now >= next_broker_kill:
                restart_broker()
                restarted_at = time.monotonic()
                broker_kills += 1
                next_broker_kill = time.monotonic() + rng.uniform(*broker_kill_every)
            time.sleep(0.02)
        drained_at = time.monotonic()
    finally:
        for c in cons.values():
            if c.poll() is None:
                c.send_signal(signal.SIGTERM)
        for c in cons.values():
            try:
                c.wait(15)
            except subprocess.TimeoutExpired:
                c.kill()
                c.wait()
        for p in prods:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()
    # Consumers closed cleanly: nothing may be left, ready or unacked.
    ready, nconsumers = queue_state(host, port, queue)
    confirmed, nacked, deliveries, acked = read_logs(os.path.join(workdir, "*.log"))
    left = []
    if restart_broker and ready and not nconsumers:
        # A message acked just before a broker kill may come back after it
        # (its ack was not yet on disk: at-least-once), and reach a consumer
        # only as the soak ends, which then requeues it. Such a leftover is
        # allowed if a consumer had acked it and it says redelivered.
        left = leftovers(host, port, queue, acked, deliveries, done_ns,
                         limit=ready, ack=True)
        bad_left = [m for m in left if not (m["acked_before"] and m["redelivered"])]
        if bad_left or len(left) != ready:
            raise SoakError("queue not empty at the end: %d ready; left: %s"
                            % (ready, left))
        ready = 0
    if ready != 0 or nconsumers != 0:
        raise SoakError("queue not empty at the end: %d ready, %d consumers; "
                        "left: %s" % (ready, nconsumers, leftovers(
                            host, port, queue, acked, deliveries, done_ns)))
    missing = confirmed - set(deliveries)
    if missing:
        raise SoakError("%d confirmed messages never delivered, e.g. %s"
                        % (len(missing), sorted(missing)[:10]))
    if not confirmed <= acked:
        raise SoakError("confirmed but never acked: %s" % sorted(confirmed - acked)[:10])
    bad = []
    twice = 0
    for n, ds in deliveries.items():
        # a publish again after a broker kill is a new message: each
        # attempt's deliveries after its first must say redelivered
        by_attempt = {}
        for d in ds:
            by_attempt.setdefault(d[3], []).append(d)
        for a_ds in by_attempt.values():
            if len(a_ds) < 2:
                continue
            twice += 1
            a_ds.sort()
            if not all(d[1] for d in a_ds[1:]):
                bad.append((n, a_ds))
    if bad:
        raise SoakError("%d messages delivered again without redelivered=true, "
                        "e.g. %r" % (len(bad), bad[:3]))
    unknown = set(deliveries) - set(range(messages))
    if unknown:
        raise SoakError("delivered numbers nobody published: %s" % sorted(unknown)[:10])
    counts = {
        "queue": "priority" if priority else "fifo",
        "published": messages,
        "confirmed": len(confirmed),
        "nacked": len(nacked),
        "deliveries": sum(len(d) for d in deliveries.values()),
        "delivered_twice_or_more": twice,
        "redelivered_flags": sum(d[1] for ds in deliveries.values() for d in ds),
        "acked": len(acked),
        "left_acked_duplicates": len(left),
        "consumer_kills": kills,
        "broker_kills": broker_kills,
        "consumer_processes": gen[0],
        "publish_seconds": round(produced_at - t0, 1),
        "drain_seconds": round(drained_at - produced_at, 1),
    }
    print("soak %(queue)s: %(published)d published, %(confirmed)d confirmed, "
          "%(nacked)d nacked, %(deliveries)d deliveries, %(acked)d acked, "
          "%(delivered_twice_or_more)d delivered more than once, "
          "%(redelivered_flags)d with redelivered=true, %(left_acked_duplicates)d "
          "acked ones back at the end, %(consumer_kills)d "
          "consumers killed (%(consumer_processes)d started), %(broker_kills)d "
          "broker kills; publishing "
          "%(publish_seconds)s s, draining %(drain_seconds)s s" % counts,
          file=out, flush=True)
    if len(confirmed) != messages:
        raise SoakError("only %d of %d publishes were confirmed" % (len(confirmed), messages))
    return counts


def read_stream(host, port, queue, timeout):
    """[(offset, body)] of the whole stream, read from its first offset
    up to a message "end" published (confirmed) last."""
    import pika
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        host=host, port=port, heartbeat=0, socket_timeout=10,
        credentials=pika.PlainCredentials("guest", "guest")))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=500)
    got = []

    def on_message(ch_, method, props, body):
        got.append((props.headers["x-stream-offset"], body))
        ch_.basic_ack(method.delivery_tag)

    ch.basic_consume(queue, on_message, arguments={"x-stream-offset": "first"})
    deadline = time.monotonic() + timeout
    while not got or got[-1][1] != b"end":
        if time.monotonic() > deadline:
            raise SoakError("the stream's read-through did not reach its end "
                            "in %d s (%d read)" % (timeout, len(got)))
        conn.process_data_events(time_limit=0.05)
    conn.close()
    return got


def run_stream(host, port, messages, restart_broker, producers=2, rate=0,
               broker_kill_every=(0.5, 2.0), timeout=900, workdir=None,
               out=sys.stdout, segment=None):
    """The kill loop on a stream queue: confirming producers (publishing
    again what was not confirmed when the broker died) and a reading
    consumer (going on at the offset after the last it saw) while the
    broker is SIGKILLed and restarted. Then "end" is published and the
    stream read whole: its offsets are contiguous from 0, every confirmed
    number is in it, and every offset the live reader saw before a kill
    still holds the same message (a reader sees only what is durable)."""
    import pika
    queue = "soak-stream-%d" % os.getpid()
    workdir = workdir or tempfile.mkdtemp(prefix="warren-soak-")
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        host=host, port=port, heartbeat=0, socket_timeout=10,
        credentials=pika.PlainCredentials("guest", "guest")))
    ch = conn.channel()
    ch.queue_delete(queue)
    args = {"x-queue-type": "stream"}
    if segment:  # small segment files: many of them, rolled between kills
        args["x-stream-max-segment-size-bytes"] = segment
    ch.queue_declare(queue, durable=True, arguments=args)
    conn.close()
    rng = random.Random(messages * 37)
    t0 = time.monotonic()
    deadline = t0 + timeout
    reader_log = os.path.join(workdir, "stream-reader.log")
    reader = subprocess.Popen(
        [PYTHON, CLIENTS, "stream", host, str(port), queue, reader_log],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    per = messages // producers
    prods = []
    for p in range(producers):
        first = p * per
        count = per if p < producers - 1 else messages - first
        log = os.path.join(workdir, "stream-producer-%d.log" % p)
        prods.append(subprocess.Popen(
            [PYTHON, CLIENTS, "produce", host, str(port), queue, str(first),
             str(count), "0", str(rate / producers), log, "1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE))
    broker_kills = 0
    next_kill = time.monotonic() + rng.uniform(*broker_kill_every)
    try:
        while any(p.poll() is None for p in prods):
            if time.monotonic() > deadline:
                raise SoakError("stream producers not done in %d s" % timeout)
            if time.monotonic() >= next_kill:
                restart_broker()
                broker_kills += 1
                next_kill = time.monotonic() + rng.uniform(*broker_kill_every)
            time.sleep(0.02)
        for p in prods:
            err = p.stderr.read().decode(errors="replace")
            if p.returncode != 0:
                raise SoakError("producer failed (%s): %s" % (p.returncode, err))
        produced_at = time.monotonic()
        conn = pika.BlockingConnection(pika.ConnectionParameters(
            host=host, port=port, heartbeat=0, socket_timeout=10,
            credentials=pika.PlainCredentials("guest", "guest")))
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish("", queue, b"end", pika.BasicProperties(delivery_mode=2))
        conn.close()
        try:
            reader.wait(max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            raise SoakError("the stream reader did not reach the end in %d s"
                            % timeout)
        if reader.returncode != 0:
            raise SoakError("stream reader failed (%s): %s" % (
                reader.returncode, reader.stderr.read().decode(errors="replace")))
        whole = read_stream(host, port, queue, max(deadline - time.monotonic(), 30))
    finally:
        for p in prods + [reader]:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()
    confirmed, nacked, _, _ = read_logs(os.path.join(workdir, "stream-producer-*.log"))
    offs = [o for o, _ in whole]
    if offs != list(range(offs[0], offs[0] + len(offs))) or offs[0] != 0:
        gaps = [(a, b) for a, b in zip(offs, offs[1:]) if b != a + 1]
        raise SoakError("stream offsets not contiguous from 0: first %d, gaps %s"
                        % (offs[0], gaps[:10]))
    at = {}
    for o, body in whole[:-1]:
        n, _, attempt = body.partition(b".")
        at[o] = (int(n), int(attempt or 0))
    numbers = {n for n, _ in at.values()}
    missing = confirmed - numbers
    if missing:
        raise SoakError("%d confirmed messages not in the stream, e.g. %s"
                        % (len(missing), sorted(missing)[:10]))
    unknown = numbers - set(range(messages))
    if unknown:
        raise SoakError("stream numbers nobody published: %s" % sorted(unknown)[:10])
    seen, prev, end = 0, None, None
    with open(reader_log, "rb") as f:
        for line in f.read().splitlines():
            parts = line.split()
            if parts[0] == b"END":
                end = int(parts[1])
                continue
            o, n, attempt = (int(x) for x in parts[1:4])
            if prev is not None and o != prev + 1:
                raise SoakError("the live stream reader went from offset %d to %d"
                                % (prev, o))
            if at.get(o) != (n, attempt):
                raise SoakError("offset %d held %r when read live, %r at the end"
                                % (o, (n, attempt), at.get(o)))
            prev, seen = o, seen + 1
    if end != offs[-1] or (prev is not None and prev + 1 != end):
        raise SoakError("the live reader ended at %s after %s; the stream ends "
                        "at %d" % (end, prev, offs[-1]))
    counts = {
        "published": messages, "confirmed": len(confirmed), "nacked": len(nacked),
        "entries": len(offs) - 1, "read_live": seen, "broker_kills": broker_kills,
        "publish_seconds": round(produced_at - t0, 1),
    }
    print("soak stream: %(published)d published, %(confirmed)d confirmed, "
          "%(nacked)d nacked, %(entries)d entries (offsets contiguous), "
          "%(read_live)d read live across the kills, %(broker_kills)d broker "
          "kills; publishing %(publish_seconds)s s" % counts, file=out, flush=True)
    if len(confirmed) != messages:
        raise SoakError("only %d of %d publishes were confirmed" % (len(confirmed), messages))
    return counts


class KilledBroker:
    """A warren-server on its own data_dir and a fixed port, for
    restart_broker: restart() SIGKILLs it and starts it again there."""

    def __init__(self, data_dir, extra_args=(), log_dir=None):
        import socket
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.args = ["--port", str(self.port)] + list(extra_args)
        self.srv = None
        self.restarts = 0
        self.logs = []
        self.start()

    def start(self):
        deadline = time.monotonic() + 30
        while True:
            try:
                srv = broker_mod.WarrenServer(self.args, data_dir=self.data_dir,
                                              log_dir=self.log_dir)
                self.logs.append(srv.log_path)
                self.srv = srv.start()
                return
            except broker_mod.BrokerError:
                # the port may still be held a moment after the kill
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    @property
    def address(self):
        return ("127.0.0.1", self.port)

    def restart(self):
        self.srv.kill()
        self.restarts += 1
        self.start()

    def stop(self):
        """SIGTERM: returns the exit status (0: a clean exit)."""
        return self.srv.terminate()

    def complaints(self):
        """The warn and error lines of every run's log (recovery reporting
        corrupt or unreadable records, a store failure): a kill -9 should
        leave none."""
        out = []
        for path in self.logs:
            with open(path, "rb") as f:
                out += [line.decode(errors="replace") for line in f
                        if b" warn " in line or b" error " in line]
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=200000)
    ap.add_argument("--priority", action="store_true", help="priority queue only")
    ap.add_argument("--fifo", action="store_true", help="FIFO queue only")
    ap.add_argument("--broker", help="HOST:PORT of a running broker")
    ap.add_argument("--producers", type=int, default=2)
    ap.add_argument("--consumers", type=int, default=4)
    ap.add_argument("--rate", type=float, default=10000,
                    help="publishes a second, all producers together (0 = no limit)")
    ap.add_argument("--kill-broker", action="store_true",
                    help="SIGKILL and restart the broker at random too (a durable "
                    "queue, and a stream; starts its own broker on a data_dir of "
                    "its own)")
    ap.add_argument("--segment", type=int, default=1 << 20,
                    help="with --kill-broker: bytes per msgs/ segment file (the "
                    "WARREN_TEST_MSGS_SEGMENT seam; small, so that files are "
                    "reclaimed between the kills)")
    args = ap.parse_args()
    srv = None
    restart = None
    scratch = None
    if args.kill_broker:
        os.environ["WARREN_TEST_MSGS_SEGMENT"] = str(args.segment)
        scratch = tempfile.mkdtemp(prefix="warren-soak-kill-")
        srv = KilledBroker(os.path.join(scratch, "data"), log_dir=scratch)
        host, port = srv.address
        restart = srv.restart
    elif args.broker:
        host, _, port = args.broker.rpartition(":")
        port = int(port)
    else:
        srv = broker_mod.WarrenServer().start()
        host, port = srv.address
    kinds = [False, True]
    if args.priority:
        kinds = [True]
    elif args.fifo:
        kinds = [False]
    try:
        for prio in kinds:
            run(host, port, args.messages, priority=prio, producers=args.producers,
                consumers=args.consumers, rate=args.rate, timeout=3600,
                restart_broker=restart)
        if args.kill_broker and not (args.fifo or args.priority):
            run_stream(host, port, args.messages, restart, producers=args.producers,
                       rate=args.rate, timeout=3600, segment=args.segment)
    finally:
        if isinstance(srv, KilledBroker):
            if srv.stop() != 0:
                raise SoakError("the broker did not exit cleanly; logs in %s" % scratch)
            bad = srv.complaints()
            if bad:
                raise SoakError("the broker complained (logs in %s):\n%s"
                                % (scratch, "".join(bad[:20])))
            shutil.rmtree(scratch, ignore_errors=True)
        elif srv is not None:
            srv.stop_checked()
    return 0


if __name__ == "__main__":
    sys.exit(main())
