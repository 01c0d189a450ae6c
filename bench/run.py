#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make bench: runs the standard scenarios with build/warren-bench against
warren and, when Debian's rabbitmq-server is installed, against a RabbitMQ
node started on another port by this script, one after the other in the
same run. Writes BENCHMARKS.md (medians of --runs runs, ratios, broker CPU
per message, broker memory) and prints the table; what the old file
holds below its NOTES_MARK line (notes written by hand) is kept.

Usage: bench/run.py [--runs N] [--seconds S] [--only 1,2,...] [--no-rabbitmq]
                    [--stream-messages N] [--stream-bytes B]
                    [--out BENCHMARKS.md]

Stream queues (16, 17, 18) store what they are given: scenario 16 fills a
stream with 10,000,000 messages of 16 B and 17 with 1 GiB before reading
them back, which takes minutes with RabbitMQ. WARREN_BENCH_STREAM_MESSAGES
and WARREN_BENCH_STREAM_BYTES (or the options) make them smaller, e.g.
WARREN_BENCH_STREAM_MESSAGES=200000 WARREN_BENCH_STREAM_BYTES=67108864
make bench.
"""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "warren-bench")
SERVER = os.path.join(ROOT, "build", "warren-server")
CLK_TCK = os.sysconf("SC_CLK_TCK")
NOTES_MARK = ("<!-- Written by hand from here on: bench/run.py keeps "
              "it when it rewrites the tables above. -->")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Warren:
    name = "warren"

    def __init__(self, tmp):
        self.port = free_port()
        # its log goes to a file (notice: the recovery line, "recovered N
        # queues, M messages, B bytes in S s"), read back until it is ready
        path = os.path.join(tmp, "warren.log")
        self.log = open(path, "a")
        start = self.log.tell()
        self.proc = subprocess.Popen(
            [SERVER, "--port", str(self.port), "--mgmt-port", "0",
             "--set", "prometheus.tcp.port=0", "--log-level", "notice", "--data-dir",
             os.path.join(tmp, "data")],
            stderr=self.log, text=True)
        self.recovery_line = ""
        deadline = time.monotonic() + 600
        while True:
            with open(path) as f:
                f.seek(start)
                text = f.read()
            if "ready on" in text:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"warren did not start: {text[-2000:]}")
            time.sleep(0.01)
        for line in text.splitlines():
            if "recovered" in line:
                self.recovery_line = line.split(" ", 1)[-1].strip()
        self.pid = self.proc.pid
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def kill9(self):
        self.proc.kill()
        self.proc.wait(10)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class RabbitMQ:
    name = "RabbitMQ"

    def __init__(self, tmp):
        self.port = free_port()
        self.node = f"warrenbench{os.getpid()}@localhost"
        base = os.path.join(tmp, "rabbitmq")
        os.makedirs(base, exist_ok=True)
        plugins = os.path.join(base, "enabled_plugins")
        with open(plugins, "w") as f:
            f.write("[].\n")
        # Debian's rabbitmq-server runs the node as the rabbitmq user.
        os.chmod(tmp, 0o755)
        try:
            for d, _, files in os.walk(base):
                shutil.chown(d, "rabbitmq", "rabbitmq")
                for n in files:
                    shutil.chown(os.path.join(d, n), "rabbitmq", "rabbitmq")
        except (LookupError, PermissionError):
            pass
        env = dict(os.environ,
                   RABBITMQ_NODENAME=self.node,
                   RABBITMQ_NODE_PORT=str(self.port),
                   RABBITMQ_DIST_PORT=str(free_port()),
                   RABBITMQ_MNESIA_BASE=os.path.join(base, "mnesia"),
                   RABBITMQ_LOG_BASE=os.path.join(base, "log"),
                   RABBITMQ_ENABLED_PLUGINS_FILE=plugins,
                   RABBITMQ_PID_FILE=os.path.join(base, "pid"),
                   RABBITMQ_CONFIG_FILE=os.path.join(base, "rabbitmq"))
        self.env = env
        self.proc = subprocess.Popen(["rabbitmq-server"], env=env,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 120
        while True:  # the node registers with epmd a while after starting
            r = subprocess.run(["rabbitmqctl", "-n", self.node, "--timeout",
                                "60", "await_startup"], env=env,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("RabbitMQ did not start; see %s" % base)
            time.sleep(1)
        out = subprocess.run(["rabbitmqctl", "-n", self.node, "eval",
                              "os:getpid()."], env=env, check=True,
                             capture_output=True, text=True).stdout
        self.pid = int(out.strip().strip('"'))
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def kill9(self):
        os.kill(self.pid, 9)  # the beam process: no shutdown code runs
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def queue_messages(self, name):
        out = subprocess.run(["rabbitmqctl", "-n", self.node, "-q",
                              "list_queues", "name", "messages"],
                             env=self.env, capture_output=True, text=True)
        for line in out.stdout.splitlines():
            f = line.split()
            if len(f) == 2 and f[0] == name and f[1].isdigit():
                return int(f[1])
        return -1

    def stop(self):
        subprocess.run(["rabbitmqctl", "-n", self.node, "stop"],
                       env=self.env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def bench(uri, args, timeout=600):
    cmd = [BENCH, "-u", uri, "--json"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    js = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    if out.returncode != 0 or not js:
        raise RuntimeError(f"{' '.join(cmd)}: rc {out.returncode}\n"
                           f"{out.stdout}\n{out.stderr}")
    return js[-1]


# name, warren-bench arguments (time bound added), metric
SCENARIOS = [
    (1, "1 producer, 1 consumer, 16 B, auto-ack",
     ["-x", "1", "-y", "1", "-s", "16", "-a"]),
    (2, "1 producer, 1 consumer, 16 B, manual acks, prefetch 100",
     ["-x", "1", "-y", "1", "-s", "16", "-p", "100"]),
    (3, "1 KiB messages, manual acks, prefetch 100",
     ["-x", "1", "-y", "1", "-s", "1024", "-p", "100"]),
    (4, "fanout to 10 queues, 10 consumers, prefetch 100, ack every 10",
     ["-e", "bench.fanout", "-t", "fanout", "-q", "10", "-x", "1", "-y", "10",
      "-p", "100", "-m", "10"]),
    (5, "topic, 100 wildcard bindings, 2 producers, 4 consumers, "
        "prefetch 100, ack every 10",
     ["-e", "bench.topic", "-t", "topic", "--topic-bindings", "100", "-q", "4",
      "-x", "2", "-y", "4", "-p", "100", "-m", "10"]),
    (6, "priority queue (x-max-priority 10), random priorities, "
        "prefetch 100",
     ["-x", "1", "-y", "1", "--max-priority", "10", "--random-priority",
      "-p", "100", "-Q", "bench-prio-"]),
    (7, "publisher confirms (window 1,000), consumer acks, prefetch 100",
     ["-x", "1", "-y", "1", "-c", "1000", "-p", "100"]),
    (8, "latency at a fixed 10,000 msg/s, prefetch 100",
     ["-x", "1", "-y", "1", "-r", "10000", "-p", "100"]),
    (11, "publisher paced at 200,000 msg/s, manual acks, prefetch 100",
     ["-x", "1", "-y", "1", "-r", "200000", "-p", "100"]),
    # issue 15: persistent messages into a durable queue, confirms
    (12, "persistent 16 B into a durable queue, confirms (window 1,000), "
         "consumer acks each",
     ["-x", "1", "-y", "1", "-s", "16", "-c", "1000", "--durable",
      "--persistent", "-Q", "bench-dur-"]),
    (13, "persistent 1 KiB into a durable queue, confirms (window 1,000), "
         "consumer acks each",
     ["-x", "1", "-y", "1", "-s", "1024", "-c", "1000", "--durable",
      "--persistent", "-Q", "bench-dur-"]),
    (14, "persistent 1 KiB at a fixed 10,000 msg/s, confirms, prefetch 100",
     ["-x", "1", "-y", "1", "-s", "1024", "-c", "1000", "--durable",
      "--persistent", "-r", "10000", "-p", "100", "-Q", "bench-dur-"]),
    (18, "stream queue: publisher confirms (window 1,000), persistent, "
         "a consumer from next, prefetch 1,000, ack every 100",
     ["-x", "1", "-y", "1", "-c", "1000", "--persistent", "-p", "1000",
      "-m", "100", "--queue-type", "stream", "-Q", "bench-stream-pub-"]),
]
PERSISTENT = (12, 13, 14)

STREAM_Q = ["--queue-type", "stream", "-Q", "bench-stream-"]


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


def stream_fill(broker, n, size):
    """A fresh stream holding n messages of size bytes, published with
    confirms (window 1,000); returns warren-bench's summary."""
    bench(broker.uri, ["-x", "0", "-y", "0", "-z", "0"] + STREAM_Q)
    return bench(broker.uri, ["-x", "1", "-y", "0", "-C", str(n), "-s",
                              str(size), "-c", "1000", "--keep"] + STREAM_Q,
                 timeout=7200)


def stream_replay_args(n):
    return ["-x", "0", "-y", "1", "-D", str(n), "-p", "1000", "-m", "100",
            "--stream-offset", "first", "--no-declare", "-z", "7200"] \
        + STREAM_Q


def run_stream_replay(broker, n):
    """16: a consumer from first over n stored messages of 16 B,
    prefetch 1,000, acks every 100 (multiple)."""
    f = stream_fill(broker, n, 16)
    c0 = cpu_seconds(broker.pid)
    d = bench(broker.uri, stream_replay_args(n), timeout=7200)
    c1 = cpu_seconds(broker.pid)
    bench(broker.uri, ["-x", "0", "-y", "0", "-z", "0"] + STREAM_Q)
    return {"fill_rate": f["send_rate"],
            "replay_rate": d["received"] / max(d["consume_seconds"], 1e-9),
            "replayed": d["received"],
            "cpu_us_per_msg": (c1 - c0) * 1e6 / max(d["received"], 1)}


def run_stream_memory(broker, nbytes):
    """17: RSS growth of a fresh broker while a stream is filled with
    nbytes of 1 KiB messages, and its peak while a consumer reads them
    all back from first."""
    time.sleep(1)
    rss0 = rss_bytes(broker.pid)
    n = max(nbytes // 1024, 1)
    f = stream_fill(broker, n, 1024)
    time.sleep(2)
    rss1 = rss_bytes(broker.pid)
    cmd = [BENCH, "-u", broker.uri, "--json"] + stream_replay_args(n)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = rss1
    while p.poll() is None:
        peak = max(peak, rss_bytes(broker.pid))
        time.sleep(0.1)
    out = p.stdout.read()
    js = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not js:
        raise RuntimeError(f"{' '.join(cmd)}: rc {p.returncode}\n{out}")
    bench(broker.uri, ["-x", "0", "-y", "0", "-z", "0"] + STREAM_Q)
    return {"messages": n, "bytes": n * 1024, "fill_rate": f["send_rate"],
            "rss_growth": rss1 - rss0, "replay_peak_growth": peak - rss0,
            "replayed": js[-1]["received"]}


def run_throughput(broker, args, seconds):
    c0 = cpu_seconds(broker.pid)
    r = bench(broker.uri, args + ["-z", str(seconds)])
    c1 = cpu_seconds(broker.pid)
    moved = max(r["received"], 1)
    r["cpu_us_per_msg"] = (c1 - c0) * 1e6 / moved
    return r


def run_persistent_backlog(kind, tmp, n):
    """Scenario 15: n persistent 1 KiB messages into a durable queue with
    confirms (fill rate, RSS growth), kill -9 and restart (recovery time:
    from the start of the process until the queue holds all n again), then
    drained by a consumer acking each (drain rate)."""
    q = ["-Q", "bench-pbacklog-"]
    b = kind(tmp)
    try:
        bench(b.uri, ["-x", "0", "-y", "0", "-z", "0", "--durable"] + q)
        time.sleep(1)
        rss0 = rss_bytes(b.pid)
        r = bench(b.uri, ["-x", "1", "-y", "0", "-C", str(n), "-s", "1024",
                          "-c", "1000", "--durable", "--persistent",
                          "--keep"] + q, timeout=3600)
        time.sleep(2)
        rss1 = rss_bytes(b.pid)
    except BaseException:
        b.stop()
        raise
    b.kill9()
    t0 = time.monotonic()
    b = kind(tmp)
    try:
        if kind is RabbitMQ:  # queues come back after the node starts
            while b.queue_messages("bench-pbacklog-0") < n:
                if time.monotonic() - t0 > 1800:
                    raise RuntimeError("RabbitMQ did not recover the backlog")
                time.sleep(0.2)
        recovery = time.monotonic() - t0
        rss2 = rss_bytes(b.pid)
        c0 = cpu_seconds(b.pid)
        d = bench(b.uri, ["-x", "0", "-y", "1", "-D", str(n), "-p", "100",
                          "--no-declare", "-z", "3600"] + q, timeout=3600)
        c1 = cpu_seconds(b.pid)
        bench(b.uri, ["-x", "0", "-y", "0", "-z", "0", "--durable"] + q)
    finally:
        b.stop()
    return {"fill_rate": r["send_rate"],
            "rss_growth": rss1 - rss0,
            "recovery_s": recovery,
            "recovery_rate": n / recovery,
            "recovery_line": getattr(b, "recovery_line", ""),
            "rss_after_recovery": rss2,
            "drain_rate": d["received"] / max(d["consume_seconds"], 1e-9),
            "drained": d["received"],
            "cpu_us_per_msg": (c1 - c0) * 1e6 / max(d["received"], 1)}


def run_backlog(broker, n):
    q = ["-Q", "bench-backlog-"]
    bench(broker.uri, ["-x", "0", "-y", "0", "-z", "0"] + q)  # clean slate
    time.sleep(1)
    rss0 = rss_bytes(broker.pid)
    r = bench(broker.uri, ["-x", "1", "-y", "0", "-C", str(n), "-s", "16",
                           "--keep"] + q)
    time.sleep(2)
    rss1 = rss_bytes(broker.pid)
    c0 = cpu_seconds(broker.pid)
    d = bench(broker.uri, ["-x", "0", "-y", "1", "-D", str(n), "-a",
                           "--no-declare", "-z", "300"] + q)
    c1 = cpu_seconds(broker.pid)
    bench(broker.uri, ["-x", "0", "-y", "0", "-z", "0"] + q)
    return {"publish_rate": r["send_rate"],
            "bytes_per_msg": (rss1 - rss0) / n,
            "drain_rate": d["received"] / max(d["consume_seconds"], 1e-9),
            "drained": d["received"],
            "cpu_us_per_msg": (c1 - c0) * 1e6 / max(d["received"], 1)}


def run_idle(broker, n):
    time.sleep(1)
    rss0 = rss_bytes(broker.pid)
    p = subprocess.Popen([BENCH, "-u", broker.uri, "--idle-connections",
                          str(n), "--hold", "6"], stdout=subprocess.PIPE,
                         text=True)
    line = p.stdout.readline()  # "opened N idle connections"
    time.sleep(3)
    rss1 = rss_bytes(broker.pid)
    p.wait(120)
    m = re.match(r"opened (\d+)", line)
    opened = int(m.group(1)) if m else 0
    return {"opened": opened,
            "bytes_per_conn": (rss1 - rss0) / max(opened, 1)}


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB, "
            f"Linux {platform.release()}")


def fmt_rate(x):
    return f"{x:,.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--backlog", type=int, default=1000000)
    ap.add_argument("--stream-messages", type=int,
                    default=env_int("WARREN_BENCH_STREAM_MESSAGES",
                                    10000000))
    ap.add_argument("--stream-bytes", type=int,
                    default=env_int("WARREN_BENCH_STREAM_BYTES", 1 << 30))
    ap.add_argument("--pbacklog", type=int, default=1000000,
                    help="persistent 1 KiB backlog of scenario 15")
    ap.add_argument("--only", default="")
    ap.add_argument("--no-rabbitmq", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    a = ap.parse_args()
    only = {int(x) for x in a.only.split(",") if x}
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)),
                                                hard))
    tmp = tempfile.mkdtemp(prefix="warren-bench-")
    kinds = [Warren]
    if not a.no_rabbitmq and shutil.which("rabbitmq-server"):
        kinds.append(RabbitMQ)
    results = {}  # (broker, scenario) -> dict
    for kind in kinds:
        print(f"== starting {kind.name}", flush=True)
        b = kind(tmp)
        try:
            for num, title, args in SCENARIOS:
                if only and num not in only:
                    continue
                try:
                    runs = [run_throughput(b, args, a.seconds)
                            for _ in range(a.runs)]
                except RuntimeError as e:  # e.g. a broker without streams
                    print(f"{kind.name} {num}: failed: {e}", flush=True)
                    continue
                res = {k: median_of(runs, k) for k in
                       ("receive_rate", "send_rate", "backlog",
                        "cpu_us_per_msg", "p50_us", "p95_us", "p99_us",
                        "max_us", "confirm_p50_us", "confirm_p99_us")}
                results[(kind.name, num)] = res
                print(f"{kind.name} {num}: sent {fmt_rate(res['send_rate'])}"
                      f" msg/s, received {fmt_rate(res['receive_rate'])} "
                      f"msg/s, backlog {fmt_rate(res['backlog'])}, "
                      f"{res['cpu_us_per_msg']:.2f} us/msg, "
                      f"p50 {res['p50_us']:.0f} p99 {res['p99_us']:.0f} us",
                      flush=True)
        finally:
            b.stop()
        # Memory is measured on a fresh broker each time: a heap that an
        # earlier scenario grew would hide (or, freed, skew) the growth.
        if not only or 9 in only:
            b = kind(tmp)
            try:
                results[(kind.name, 9)] = run_backlog(b, a.backlog)
            finally:
                b.stop()
            print(f"{kind.name} 9: {results[(kind.name, 9)]}", flush=True)
        if not only or 10 in only:
            results[(kind.name, 10)] = {}
            for n in (1000, 5000):
                b = kind(tmp)
                try:
                    results[(kind.name, 10)][n] = run_idle(b, n)
                finally:
                    b.stop()
            print(f"{kind.name} 10: {results[(kind.name, 10)]}", flush=True)
        if not only or 15 in only:
            results[(kind.name, 15)] = run_persistent_backlog(kind, tmp,
                                                              a.pbacklog)
            print(f"{kind.name} 15: {results[(kind.name, 15)]}", flush=True)
        for num, fn, arg in ((16, run_stream_replay, a.stream_messages),
                             (17, run_stream_memory, a.stream_bytes)):
            if only and num not in only:
                continue
            b = kind(tmp)
            try:
                results[(kind.name, num)] = fn(b, arg)
            except RuntimeError as e:  # e.g. a broker without streams
                print(f"{kind.name} {num}: failed: {e}", flush=True)
            finally:
                b.stop()
            print(f"{kind.name} {num}: {results.get((kind.name, num))}",
                  flush=True)
    write_report(a, kinds, results)


def ratio(w, r, higher_better=True):
    if not r or not w:
        return "-"
    return f"{(w / r) if higher_better else (r / w):.1f}x"


def write_report(a, kinds, results):
    names = [k.name for k in kinds]
    has_r = "RabbitMQ" in names
    L = []
    L.append("# Benchmarks\n")
    L.append(f"Measured by `make bench` (bench/run.py) on {machine()}, "
             f"{time.strftime('%Y-%m-%d')}. Both brokers ran on this machine, "
             "one after the other in the same run, with the load generator "
             "(build/warren-bench) on the same 2 cores. Each figure is the "
             f"median of {a.runs} runs of {a.seconds:g} s. Broker CPU is the "
             "broker process's utime + stime divided by the messages "
             "delivered; it does not depend on how fast the clients are.\n")
    if not has_r:
        L.append("RabbitMQ was not installed, so only warren is shown.\n")
    brokers = ["warren"] + (["RabbitMQ"] if has_r else [])
    L.append("Rates are over the run's window, as PerfTest reports them: "
             "producers and consumers stop together, sent/s counts "
             "publishes, received/s deliveries inside the window, and the "
             "backlog is what was sent but not received when the window "
             "closed (queued or in flight). Latency is publish to consume "
             "(the send time travels in each body), over the messages "
             "received inside the window.\n")
    hdr = "| # | scenario |"
    sep = "|---|---|"
    for b in brokers:
        hdr += f" {b} sent/s | {b} received/s | {b} backlog |"
        sep += "---:|---:|---:|"
    if has_r:
        hdr += " received ratio |"
        sep += "---:|"
    for b in brokers:
        hdr += f" {b} CPU us/msg |"
        sep += "---:|"
    L += [hdr, sep]
    for num, title, args in SCENARIOS:
        w = results.get(("warren", num))
        if not w:
            continue
        r = results.get(("RabbitMQ", num))
        row = f"| {num} | {title} |"
        for b in brokers:
            x = results.get((b, num))
            row += (f" {fmt_rate(x['send_rate'])} |"
                    f" {fmt_rate(x['receive_rate'])} |"
                    f" {fmt_rate(x['backlog'])} |") if x else " - | - | - |"
        if has_r:
            row += f" {ratio(w['receive_rate'], r and r['receive_rate'])} |"
        for b in brokers:
            x = results.get((b, num))
            row += f" {x['cpu_us_per_msg']:.2f} |" if x else " - |"
        L.append(row)
    L.append("")
    L.append("Publish-to-consume latency, microseconds:\n")
    hdr = "| # |"
    sep = "|---|"
    for b in brokers:
        for q in ("p50", "p95", "p99", "max"):
            hdr += f" {b} {q} |"
            sep += "---:|"
    L += [hdr, sep]
    for num, title, args in SCENARIOS:
        if not results.get(("warren", num)):
            continue
        row = f"| {num} |"
        for b in brokers:
            x = results.get((b, num))
            for q in ("p50", "p95", "p99", "max"):
                row += f" {x[q + '_us']:,.0f} |" if x else " - |"
        L.append(row)
    L.append("")
    w9, r9 = results.get(("warren", 9)), results.get(("RabbitMQ", 9))
    if w9:
        L.append(f"## 9. Backlog of {a.backlog:,} messages of 16 B, "
                 "no consumer\n")
        L.append("| | warren | " + ("RabbitMQ | ratio |" if r9 else "") )
        L.append("|---|---:|" + ("---:|---:|" if r9 else ""))
        for key, label, hb in (("bytes_per_msg", "broker memory per queued "
                                "message (RSS delta / messages), bytes",
                                False),
                               ("publish_rate", "publish rate into the "
                                "backlog, msg/s", True),
                               ("drain_rate", "drain rate, msg/s", True),
                               ("cpu_us_per_msg", "broker CPU per drained "
                                "message, us", False)):
            row = f"| {label} | {w9[key]:,.1f} |"
            if r9:
                row += f" {r9[key]:,.1f} | {ratio(w9[key], r9[key], hb)} |"
            L.append(row)
        L.append("")
    w10, r10 = results.get(("warren", 10)), results.get(("RabbitMQ", 10))
    if w10:
        L.append("## 10. Idle connections with one channel each\n")
        L.append("| connections | warren bytes/conn | " +
                 ("RabbitMQ bytes/conn | ratio |" if r10 else ""))
        L.append("|---:|---:|" + ("---:|---:|" if r10 else ""))
        for n in sorted(w10):
            row = f"| {n:,} ({w10[n]['opened']} opened) | " \
                  f"{w10[n]['bytes_per_conn']:,.0f} |"
            if r10:
                row += (f" {r10[n]['bytes_per_conn']:,.0f} | "
                        f"{ratio(w10[n]['bytes_per_conn'], r10[n]['bytes_per_conn'], False)} |")
            L.append(row)
        L.append("")
    if any(results.get(("warren", n)) for n in PERSISTENT):
        L.append("## 12-14. Persistent messages into a durable queue "
                 "(issue 15)\n")
        L.append("warren sends each confirm only after an `fdatasync` that "
                 "covers the message (group commit); RabbitMQ's classic "
                 "queues confirm without one. Confirm latency is from "
                 "the publish to its basic.ack, at the producer.\n")
        hdr, sep = "| # |", "|---|"
        for b in brokers:
            hdr += (f" {b} confirmed msg/s | {b} confirm p50 us |"
                    f" {b} confirm p99 us |")
            sep += "---:|---:|---:|"
        if has_r:
            hdr += " ratio |"
            sep += "---:|"
        L += [hdr, sep]
        for num in PERSISTENT:
            w = results.get(("warren", num))
            if not w:
                continue
            r = results.get(("RabbitMQ", num))
            row = f"| {num} |"
            for b in brokers:
                x = results.get((b, num))
                row += (f" {fmt_rate(x['send_rate'])} |"
                        f" {x['confirm_p50_us']:,.0f} |"
                        f" {x['confirm_p99_us']:,.0f} |") if x else \
                    " - | - | - |"
            if has_r:
                row += f" {ratio(w['send_rate'], r and r['send_rate'])} |"
            L.append(row)
        L.append("")
    w15, r15 = results.get(("warren", 15)), results.get(("RabbitMQ", 15))
    if w15:
        L.append(f"## 15. Persistent backlog of {a.pbacklog:,} messages of "
                 "1 KiB, recovered after kill -9\n")
        L.append("| | warren | " + ("RabbitMQ | ratio |" if r15 else ""))
        L.append("|---|---:|" + ("---:|---:|" if r15 else ""))
        for key, label, hb, f in (
                ("fill_rate", "fill rate with confirms, msg/s", True, 0),
                ("rss_growth", "broker RSS growth for the backlog, MiB",
                 False, 2**20),
                ("recovery_s", "recovery after kill -9 (start to all "
                 "messages back), s", False, 0),
                ("recovery_rate", "recovery, messages/s", True, 0),
                ("drain_rate", "drain rate, consumer acking each "
                 "(prefetch 100), msg/s", True, 0),
                ("cpu_us_per_msg", "broker CPU per drained message, us",
                 False, 0)):
            div = f or 1
            row = f"| {label} | {w15[key] / div:,.2f} |"
            if r15:
                row += (f" {r15[key] / div:,.2f} |"
                        f" {ratio(w15[key], r15[key], hb)} |")
            L.append(row)
        if w15.get("recovery_line"):
            L.append(f"\nwarren's log: `{w15['recovery_line']}`")
        L.append("")
    w16, r16 = results.get(("warren", 16)), results.get(("RabbitMQ", 16))
    if w16 or r16:
        L.append(f"## 16. Stream replay: a consumer from `first` over "
                 f"{a.stream_messages:,} stored messages of 16 B\n")
        L.append("Prefetch 1,000, an ack (multiple) every 100 deliveries; "
                 "the rate is deliveries over the time from the first to "
                 "the last. The stream was filled just before, with "
                 "confirms (window 1,000).\n")
        L.append("| | warren | RabbitMQ | ratio |")
        L.append("|---|---:|---:|---:|")
        for key, label, hb in (("replay_rate", "replay, msg/s", True),
                               ("replayed", "messages replayed", True),
                               ("fill_rate", "fill with confirms, msg/s",
                                True),
                               ("cpu_us_per_msg", "broker CPU per replayed "
                                "message, us", False)):
            wv = w16[key] if w16 else None
            rv = r16[key] if r16 else None
            f = ",.2f" if key == "cpu_us_per_msg" else ",.0f"
            L.append(f"| {label} | "
                     + (format(wv, f) if wv is not None else "-") + " | "
                     + (format(rv, f) if rv is not None else "-") + " | "
                     + (ratio(wv, rv, hb) if wv and rv else "-") + " |")
        L.append("")
    w17, r17 = results.get(("warren", 17)), results.get(("RabbitMQ", 17))
    if w17 or r17:
        x = w17 or r17
        L.append(f"## 17. Stream memory: {x['bytes'] / 2**20:,.0f} MiB "
                 f"({x['messages']:,} messages of 1 KiB) in one stream\n")
        L.append("Broker RSS growth from a fresh start until the stream is "
                 "filled (with confirms), and its peak while one consumer "
                 "reads the whole stream back from `first`.\n")
        L.append("| | warren | RabbitMQ |")
        L.append("|---|---:|---:|")
        for key, label in (("rss_growth", "RSS growth after the fill, MiB"),
                           ("replay_peak_growth", "peak RSS growth during "
                            "the replay, MiB"),
                           ("fill_rate", "fill with confirms, msg/s")):
            row = f"| {label} |"
            for x in (w17, r17):
                if not x:
                    row += " - |"
                elif key == "fill_rate":
                    row += f" {x[key]:,.0f} |"
                else:
                    row += f" {x[key] / 2**20:,.1f} |"
            L.append(row)
        L.append("")
    L.append("## Commands\n")
    L.append("Every scenario is `build/warren-bench -u URI --json ARGS "
             f"-z {a.seconds:g}`:\n")
    for num, title, args in SCENARIOS:
        if num < 9:
            L.append(f"{num}. `{' '.join(args)}`")
    L.append(f"9. `-x 1 -y 0 -C {a.backlog} -s 16 --keep -Q bench-backlog-`, "
             "then RSS sampled; drain with "
             f"`-x 0 -y 1 -D {a.backlog} -a --no-declare -Q bench-backlog-`")
    L.append("10. `--idle-connections N --hold 6` (heartbeats off), RSS "
             "sampled 3 s after the connections are open")
    for num, title, args in SCENARIOS:
        if 10 < num < 15:
            L.append(f"{num}. `{' '.join(args)}`")
    L.append(f"15. `-x 1 -y 0 -C {a.pbacklog} -s 1024 -c 1000 --durable "
             "--persistent --keep -Q bench-pbacklog-`, RSS sampled, "
             "kill -9, restart (timed until the queue holds every message), "
             f"then `-x 0 -y 1 -D {a.pbacklog} -p 100 --no-declare "
             "-Q bench-pbacklog-`")
    q = " ".join(STREAM_Q)
    L.append(f"16. `-x 1 -y 0 -C {a.stream_messages} -s 16 -c 1000 --keep "
             f"{q}`, then `{' '.join(stream_replay_args(a.stream_messages))}`"
             " (WARREN_BENCH_STREAM_MESSAGES)")
    n17 = max(a.stream_bytes // 1024, 1)
    L.append(f"17. `-x 1 -y 0 -C {n17} -s 1024 -c 1000 --keep {q}` on a "
             "fresh broker, RSS sampled before and 2 s after; then "
             f"`{' '.join(stream_replay_args(n17))}` with RSS sampled every "
             "0.1 s (WARREN_BENCH_STREAM_BYTES)")
    for num, title, args in SCENARIOS:
        if num > 17:
            L.append(f"{num}. `{' '.join(args)}`")
    L.append("")
    text = "\n".join(L)
    print(text)
    # The notes written by hand below NOTES_MARK in the old file (analyses,
    # profiles, before/after runs) are kept, after the new tables.
    try:
        with open(a.out) as f:
            old = f.read()
    except OSError:
        old = ""
    if NOTES_MARK in old:
        text += "\n" + old[old.index(NOTES_MARK):]
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
