#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Same-run comparison of two warren-server builds (before and after a
change) with one warren-bench: each scenario runs RUNS times, the two
builds alternating run by run so that a noisy machine weighs on both
alike; prints the medians of sent/s, received/s, backlog, p99 latency and
broker CPU per received message.

Usage: bench/compare.py BENCH BEFORE_SERVER AFTER_SERVER
       [--runs N] [--seconds S] [--only 1,2,...]
A build that knows --data-dir (persistence) gets a fresh temporary one.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

SCENARIOS = {
    1: "-x 1 -y 1 -s 16 -a",
    2: "-x 1 -y 1 -s 16 -p 100",
    3: "-x 1 -y 1 -s 1024 -p 100",
    4: "-e bench.fanout -t fanout -q 10 -x 1 -y 10 -p 100 -m 10",
    6: "-x 1 -y 1 --max-priority 10 --random-priority -p 100 -Q bench-prio-",
    7: "-x 1 -y 1 -c 1000 -p 100",
    8: "-x 1 -y 1 -r 10000 -p 100",
    11: "-x 1 -y 1 -r 200000 -p 100",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def knows_data_dir(server):
    out = subprocess.run([server, "--help"], capture_output=True, text=True)
    return "--data-dir" in out.stdout + out.stderr


def one_run(bench, server, args, seconds):
    port, data = free_port(), tempfile.mkdtemp(prefix="warren-compare-")
    cmd = [server, "--port", str(port), "--mgmt-port", str(free_port()),
           "--log-level", "warn"]
    if knows_data_dir(server):
        cmd += ["--data-dir", data, "--set", "prometheus.tcp.port=none"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        c0 = cpu_seconds(p.pid)
        out = subprocess.run(
            [bench, "-u", "amqp://guest:guest@127.0.0.1:%d" % port, "--json",
             "-z", str(seconds)] + args.split(),
            capture_output=True, text=True, timeout=seconds * 10 + 60).stdout
        c1 = cpu_seconds(p.pid)
    finally:
        p.terminate()
        p.wait(30)
        shutil.rmtree(data, ignore_errors=True)
    j = json.loads(out.strip().splitlines()[-1])
    j["cpu_us"] = (c1 - c0) / max(1, j["received"]) * 1e6
    return j


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench")
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    only = {int(x) for x in a.only.split(",") if x}
    print("| # | build | sent/s | received/s | backlog | p50 us | p99 us "
          "| CPU us/msg |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for n, args in SCENARIOS.items():
        if only and n not in only:
            continue
        got = {"before": [], "after": []}
        for _ in range(a.runs):
            for name in ("before", "after"):
                got[name].append(one_run(a.bench, getattr(a, name), args,
                                         a.seconds))
        for name in ("before", "after"):
            med = {k: statistics.median(r[k] for r in got[name])
                   for k in ("send_rate", "receive_rate", "backlog",
                             "p50_us", "p99_us", "cpu_us")}
            print("| %d | %s | %s | %s | %s | %s | %s | %.2f |" % (
                n, name, "{:,.0f}".format(med["send_rate"]),
                "{:,.0f}".format(med["receive_rate"]),
                "{:,.0f}".format(med["backlog"]),
                "{:,.0f}".format(med["p50_us"]),
                "{:,.0f}".format(med["p99_us"]), med["cpu_us"]), flush=True)


if __name__ == "__main__":
    main()
