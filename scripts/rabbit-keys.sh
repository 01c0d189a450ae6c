#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates runtime/rabbit_keys.txt, the rabbitmq.conf keys RabbitMQ knows,
# from the cuttlefish schemas of an installed rabbitmq-server (Debian's
# package: its plugins' priv/schema/*.schema, and cuttlefish's
# erlang_vm.schema): every `{mapping, "KEY", ...}`, sorted, one a line.
# `$name` stands for any one segment. Usage: sh scripts/rabbit-keys.sh
# [/usr/lib/rabbitmq/lib/rabbitmq_server-VERSION/plugins]
set -e
dir=${1:-$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins | tail -1)}
ver=$(basename "$(dirname "$dir")")
out=$(dirname "$0")/../runtime/rabbit_keys.txt
{
    echo "# rabbitmq.conf keys known to $ver (all bundled plugins),"
    echo "# from their cuttlefish schemas by scripts/rabbit-keys.sh. warren"
    echo "# accepts these with a warning when it has no use for them."
    cat "$dir"/*/priv/schema/*.schema "$dir"/*/priv/*.schema |
        sed -n 's/^[[:space:]]*{mapping,[[:space:]]*"\([^"]*\)".*/\1/p' |
        LC_ALL=C sort -u
} >"$out"
echo "$(grep -vc '^#' "$out") keys written to $out"
