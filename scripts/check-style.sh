#!/bin/sh
# SPDX-License-Identifier: MIT
# Style rules that a grep can check (STYLE.md section 10).
fail=0
files=$(git ls-files '*.c' '*.h' | grep -v '^tests/')
bad() { echo "style: $1"; echo "$2" | sed 's/^/  /'; fail=1; }
out=$(git ls-files '*.c' '*.h' '*.py' '*.md' Makefile | xargs grep -nE '[[:space:]]+$' || true)
[ -n "$out" ] && bad "trailing whitespace" "$out"
out=$(echo "$files" | grep -vE '^(common/alloc.c|bench/|cli/|examples/)' |
    xargs grep -nE '(^|[^_a-z])(malloc|calloc|realloc|free|strdup|strndup)\(' || true)
[ -n "$out" ] && bad "raw allocation outside common/alloc.c (use wr_malloc; apps on the public API are exempt)" "$out"
out=$(echo "$files" | grep -v '^broker/' | xargs grep -n '<event2/' || true)
[ -n "$out" ] && bad "libevent outside broker/" "$out"
out=$(echo "$files" | grep -vE '^(broker/tls|broker/crypto\.c|client/tls)' |
    xargs grep -n '<openssl/' || true)
[ -n "$out" ] && bad "OpenSSL outside the TLS files" "$out"
for d in protocol queues exchanges; do
    out=$(git ls-files "$d/*.c" "$d/*.h" | xargs grep -nE '#include "\.\./(broker|client|cli)/' || true)
    [ -n "$out" ] && bad "$d/ includes a higher folder" "$out"
done
# store/ sits below queues/: common/ and POSIX only (STYLE.md section 2).
out=$(git ls-files 'store/*.c' 'store/*.h' |
    xargs grep -nE '#include ("\.\./[a-z]+/|<event2/|<openssl/)' |
    grep -v '"\.\./common/' || true)
[ -n "$out" ] && bad "store/ includes something above common/" "$out"
if [ $fail -eq 0 ]; then echo "style: ok"; fi
exit $fail
