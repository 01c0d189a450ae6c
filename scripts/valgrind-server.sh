#!/bin/sh
# SPDX-License-Identifier: MIT
# warren-server under valgrind, for `make valgrind`: the protocol tests
# start the broker through WARREN_SERVER=scripts/valgrind-server.sh. exec
# keeps the PID, so the tests' signals (SIGTERM, SIGUSR1) and
# /proc/PID/status reach it. Errors and leaks go to one log per process
# in $WARREN_VALGRIND_LOGS (make valgrind fails on any non-empty one) and
# make the exit status 99. WARREN_VALGRIND_OPTS adds options (for example
# --track-origins=yes to find where an uninitialised value came from).
here=$(cd "$(dirname "$0")/.." && pwd)
logs=${WARREN_VALGRIND_LOGS:-$here/build-valgrind/vg-logs}
mkdir -p "$logs"
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=99 --suppressions="$here/tests/valgrind.supp" \
    --log-file="$logs/warren-server.%p.log" ${WARREN_VALGRIND_OPTS:-} \
    "${WARREN_VALGRIND_BINARY:-$here/build-valgrind/warren-server}" "$@"
