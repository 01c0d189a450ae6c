#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Where a run's tail latency comes from: reads a warren-bench
--latency-log (one line per message: send and receive time, ns, the
monotonic clock) and groups the slow messages into stalls (slow messages
whose send-to-receive windows overlap: one event that held many of them).

With --sched, also reads `perf sched timehist` output recorded during the
run with the monotonic clock and says, for every thread of the given
processes, how long it ran and how long it was runnable but waiting for a
CPU, over the whole run and inside the stalls. A broker that ran for
milliseconds inside the stalls caused them; one that waited for a CPU was
held back by the scheduler.

Usage:
    bench/stalls.py LOG [--slow US] [--top N]
                        [--sched TIMEHIST --pid PID [--pid PID]...]

Recording (as root, broker already running):
    perf sched record -k mono -o sched.data -- sleep 7 &
    build/warren-bench -u URI -x 1 -y 1 -r 10000 -p 100 -z 5 \\
        --latency-log lat.log
    perf sched timehist -i sched.data > timehist.txt
    bench/stalls.py lat.log --sched timehist.txt --pid BROKER --pid BENCH
"""
import argparse
import collections
import re
import sys

# perf sched timehist: time [cpu] task[tid/pid] wait sch-delay run (ms)
TIMEHIST = re.compile(r"^\s*(\d+\.\d+)\s+\[(\d+)\]\s+(.*?)\[(\d+)(?:/(\d+))?\]"
                      r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")


def read_log(path):
    rows = []
    with open(path) as f:
        for line in f:
            s, r = line.split()
            rows.append((int(s), int(r)))
    rows.sort()
    return rows


def stalls_of(rows, slow_ns):
    """Slow messages whose windows [sent, received] overlap form one
    stall: [start, end, messages, worst latency]."""
    out = []
    for s, r in rows:
        if r - s < slow_ns:
            continue
        if out and s <= out[-1][1]:
            st = out[-1]
            st[1] = max(st[1], r)
            st[2] += 1
            st[3] = max(st[3], r - s)
        else:
            out.append([s, r, 1, r - s])
    return out


def read_sched(path, pids):
    """Per thread of pids: a list of (start, end, state) in ns, state R
    (runnable, waiting for a CPU) or X (running)."""
    iv = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            m = TIMEHIST.match(line)
            if not m:
                continue
            tid = m.group(4)
            if (m.group(5) or tid) not in pids and tid not in pids:
                continue
            end = float(m.group(1)) * 1e9
            sch, run = float(m.group(7)) * 1e6, float(m.group(8)) * 1e6
            key = f"{m.group(3).strip()}[{tid}]"
            iv[key].append((end - run - sch, end - run, "R"))
            iv[key].append((end - run, end, "X"))
    return iv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("log")
    ap.add_argument("--slow", type=float, default=1000,
                    help="a message is slow from this latency, us "
                    "(default 1000)")
    ap.add_argument("--top", type=int, default=10,
                    help="stalls to list (default 10)")
    ap.add_argument("--sched", help="perf sched timehist output")
    ap.add_argument("--pid", action="append", default=[],
                    help="process whose threads to follow (repeat)")
    a = ap.parse_args()

    rows = read_log(a.log)
    if not rows:
        sys.exit("no messages in " + a.log)
    t0 = rows[0][0]
    lat = sorted(r - s for s, r in rows)
    n = len(lat)

    def q(p):
        return lat[min(n - 1, int(p * n))] / 1e3

    print(f"{n} messages over {(rows[-1][0] - t0) / 1e9:.2f} s; latency us: "
          f"p50 {q(.5):.1f}  p90 {q(.9):.1f}  p99 {q(.99):.1f}  "
          f"p99.9 {q(.999):.1f}  max {lat[-1] / 1e3:.1f}")
    st = stalls_of(rows, a.slow * 1e3)
    slow = sum(s[2] for s in st)
    big = sorted(st, key=lambda s: -s[2])
    top = sum(s[2] for s in big[:10])
    print(f"slow (>= {a.slow:g} us): {slow} messages ({100 * slow / n:.2f} %) "
          f"in {len(st)} stalls; the 10 largest hold {top}")
    for s in big[:a.top]:
        print(f"  at {(s[0] - t0) / 1e6:9.1f} ms: {(s[1] - s[0]) / 1e6:7.2f} ms"
              f" long, {s[2]:6d} messages, worst {s[3] / 1e6:.2f} ms")
    sends = [s for s, _ in rows]
    gaps = sorted(((b - a_), a_) for a_, b in zip(sends, sends[1:]))[-5:]
    print("longest gaps between sends (the publisher not running): " +
          ", ".join(f"{g / 1e6:.2f} ms at {(at - t0) / 1e6:.0f}"
                    for g, at in reversed(gaps)))
    if not a.sched:
        return
    iv = read_sched(a.sched, set(a.pid))
    if not iv:
        sys.exit("no thread of those pids in " + a.sched)
    print("per thread over the run (perf sched):")
    for k, lst in sorted(iv.items()):
        runs = [e - s for s, e, x in lst if x == "X"]
        waits = [e - s for s, e, x in lst if x == "R"]
        if len(runs) < 5:
            continue
        print(f"  {k}: {len(runs)} runs, {sum(runs) / 1e6:.1f} ms "
              f"(longest {max(runs) / 1e6:.2f} ms, "
              f"{sum(r > 1e6 for r in runs)} over 1 ms); waited for a CPU "
              f"{sum(waits) / 1e6:.1f} ms (longest {max(waits) / 1e6:.2f} ms,"
              f" {sum(w > 1e6 for w in waits)} over 1 ms)")
    tot = collections.Counter()
    for s in st:
        for k, lst in iv.items():
            for b, e, x in lst:
                o = min(e, s[1]) - max(b, s[0])
                if o > 0:
                    tot[(k, x)] += o
    span = sum(s[1] - s[0] for s in st)
    print(f"inside the {len(st)} stalls ({span / 1e6:.1f} ms in all):")
    for k in sorted(iv):
        print(f"  {k}: ran {tot[(k, 'X')] / 1e6:.1f} ms, waited for a CPU "
              f"{tot[(k, 'R')] / 1e6:.1f} ms")


if __name__ == "__main__":
    main()
