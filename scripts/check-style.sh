#!/bin/sh
# SPDX-License-Identifier: MIT
# Style rules that a grep can check (STYLE.md section 10), and the layer
# rules (STYLE.md section 2): which folder may include which.
fail=0
files=$(git ls-files '*.c' '*.h' | grep -v '^tests/')
bad() { echo "style: $1"; echo "$2" | sed 's/^/  /'; fail=1; }
# git finding no files would make every check below pass: fail instead.
if [ "$(echo "$files" | grep -c .)" -lt 50 ]; then
    echo "style: git lists $(echo "$files" | grep -c .) C files (run from the repository)"
    exit 1
fi
out=$(git ls-files '*.c' '*.h' '*.py' '*.md' Makefile | xargs grep -nE '[[:space:]]+$' || true)
[ -n "$out" ] && bad "trailing whitespace" "$out"
out=$(echo "$files" | grep -vE '^(common/alloc.c|bench/|cli/|examples/)' |
    xargs grep -nE '(^|[^_a-z])(malloc|calloc|realloc|free|strdup|strndup)\(' || true)
[ -n "$out" ] && bad "raw allocation outside common/alloc.c (use wr_malloc; apps on the public API are exempt)" "$out"

# ---- layers --------------------------------------------------------------
# The server's folders bottom up, and what each may include ("../X/X.h",
# or any header of common/). A folder includes only folders below it, and
# only their public headers (never another folder's _internal.h).
#   folder     may include
layers='
common
protocol   common
store      common
queues     common protocol store
exchanges  common protocol store queues
auth       common protocol store queues exchanges
runtime    common protocol store queues exchanges auth
vhost      common protocol store queues exchanges auth runtime
amqp       common protocol store queues exchanges auth runtime vhost
mgmt       common protocol store queues exchanges auth runtime vhost amqp
broker     common protocol store queues exchanges auth runtime vhost amqp mgmt
client     common protocol
cli        client
bench      client
examples   client
'
out=$(echo "$layers" | while read -r dir allowed; do
    [ -n "$dir" ] || continue
    for f in $(echo "$files" | grep "^$dir/"); do
        grep -n '^#include "' "$f" | sed 's/^\([0-9]*\):#include "\([^"]*\)".*/\1 \2/' |
        while read -r line inc; do
            case "$inc" in
            ../*/*_internal.h) ;;
            ../common/*.h) echo " $allowed " | grep -q ' common ' && continue ;;
            ../*/*.h)
                d=${inc#../}; d=${d%%/*}
                [ "$inc" = "../$d/$d.h" ] || [ "$d" = client ] &&
                    echo " $allowed " | grep -q " $d " && continue ;;
            *.inc) continue ;;
            */*) ;;
            *) [ -f "$dir/$inc" ] && continue ;;
            esac
            echo "$f:$line: includes \"$inc\""
        done
    done
done)
[ -n "$out" ] && bad "include outside the layer table (scripts/check-style.sh, STYLE.md section 2)" "$out"
out=$(echo "$files" | grep -vE "^($(echo "$layers" | awk 'NF {print $1}' | paste -sd'|'))/" || true)
[ -n "$out" ] && bad "C file in a folder the layer table does not know" "$out"

# libevent, folder by folder:
#   runtime/  owns the event loop: the server's base, TLS bufferevents,
#             listeners, and the timers (timer.c) vhost/ uses instead
#   amqp/     one bufferevent per connection, heartbeat timers, the reaper
#   mgmt/     evhttp (the API, HTTPS, Prometheus) and the rate sampler
#   broker/   signals, listeners, the loop itself
# and nowhere else: protocol/, store/, queues/, exchanges/, auth/ and
# vhost/ do no I/O and get time and timers from their callers.
out=$(echo "$files" | grep -vE '^(runtime|amqp|mgmt|broker)/' | xargs grep -n '<event2/' || true)
[ -n "$out" ] && bad "libevent outside runtime/ amqp/ mgmt/ broker/" "$out"
# OpenSSL: the TLS contexts (runtime/tls.c), password hashing and random
# bytes (auth/crypto.c) and the client's TLS (client/tls.c).
out=$(echo "$files" | grep -vE '^(runtime/tls\.c|auth/crypto\.c|client/tls)' |
    xargs grep -n '<openssl/' || true)
[ -n "$out" ] && bad "OpenSSL outside the TLS and crypto files" "$out"

# protocol/methods_gen.[ch] are what tools/gen_methods.py makes from the
# spec (Debian's amqp-specs), formatted as make gen formats them.
spec=/usr/share/amqp/specs/0-9-1-rabbit/amqp0-9-1.stripped.extended.xml
if [ ! -f "$spec" ] || ! command -v clang-format >/dev/null; then
    bad "cannot check protocol/methods_gen.[ch]" "missing $spec or clang-format (scripts/deps.sh installs amqp-specs, clang-format)"
else
    gen=$(mktemp -d)
    python3 tools/gen_methods.py "$spec" "$gen"
    for f in methods_gen.c methods_gen.h; do
        out=$(clang-format --assume-filename="protocol/$f" <"$gen/$f" |
            diff -u "protocol/$f" - | head -20)
        [ -n "$out" ] && bad "protocol/$f differs from tools/gen_methods.py's output (run make gen)" "$out"
    done
    rm -rf "$gen"
fi
if [ $fail -eq 0 ]; then echo "style: ok"; fi
exit $fail
