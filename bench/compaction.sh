#!/bin/bash
# SPDX-License-Identifier: MIT
# msgs/ compaction (docs/internals/STORE.md "Compaction"): disk use and
# throughput of persistent traffic while a slow durable queue keeps a
# message in every segment, with compaction on and off (the
# WARREN_TEST_COMPACT=0 seam), alternating runs on the same machine.
#
# Usage (from the top of the tree, after make):
#     bench/compaction.sh [RUNS] [SECONDS] [BODY] [slow|plain]
# Each run starts build/warren-server on a fresh data_dir (port 5791), a
# pika publisher that puts one persistent message into the durable queue
# "slow" every 0.5 s (never consumed; "plain": none), and
#     build/warren-bench -x 1 -y 1 -s BODY -c 1000 --durable --persistent
# for SECONDS; then waits 3 s and prints the bench's rates and the bytes
# and .seg files of data_dir/msgs.
set -u
runs=${1:-3}
secs=${2:-10}
size=${3:-1024}
mode=${4:-slow}
port=5791
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

slow_py='
import sys, time, pika
port, secs = int(sys.argv[1]), float(sys.argv[2])
c = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port, heartbeat=0))
ch = c.channel()
ch.confirm_delivery()
ch.queue_declare("slow", durable=True)
end, n = time.monotonic() + secs, 0
while time.monotonic() < end:
    ch.basic_publish("", "slow", b"slow-%d" % n,
                     properties=pika.BasicProperties(delivery_mode=2))
    n += 1
    time.sleep(0.5)
c.close()
print(n)
'

one() {
    local label=$1 compact=$2 d=$tmp/data pid sp=
    rm -rf "$d"
    if [ "$compact" = 0 ]; then export WARREN_TEST_COMPACT=0; else unset WARREN_TEST_COMPACT; fi
    WARREN_CONFIG_FILE=/dev/null build/warren-server --port $port --mgmt-port 0 \
        --data-dir "$d" > "$tmp/log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" \
            2>/dev/null && break
        sleep 0.1
    done
    if [ "$mode" = slow ]; then
        python3 -c "$slow_py" $port $((secs + 2)) > "$tmp/slow" 2>&1 &
        sp=$!
        sleep 1
    fi
    build/warren-bench -u amqp://guest:guest@127.0.0.1:$port -x 1 -y 1 -s "$size" \
        -c 1000 --durable --persistent -z "$secs" -Q bench-dur- > "$tmp/bench" 2>&1
    [ -n "$sp" ] && wait $sp
    sleep 3
    echo "$label: $(grep -o 'sent [0-9]* in [0-9.]* s ([0-9]* msg/s)' "$tmp/bench")," \
        "msgs/ $(du -sb "$d/msgs" | cut -f1) bytes in" \
        "$(ls "$d"/msgs/*.seg | wc -l) files"
    kill $pid
    wait $pid 2>/dev/null
    unset WARREN_TEST_COMPACT
}

for i in $(seq "$runs"); do
    one "on $i" 1
    one "off $i" 0
done
