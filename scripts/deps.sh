#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages warren needs: `deps.sh run` for building
# and running the broker, `deps.sh test` for the whole test suite. As root
# it runs apt-get; otherwise it prints the exact command and fails.
set -e
RUN_PKGS="gcc make pkg-config libevent-dev libssl-dev libjansson-dev \
libcurl4-openssl-dev"
TEST_PKGS="$RUN_PKGS check clang libclang-rt-14-dev clang-format amqp-specs \
python3 python3-pytest python3-pika python3-kombu python3-aio-pika amqp-tools \
librabbitmq-client-java default-jdk-headless golang-go \
golang-github-rabbitmq-amqp091-go-dev ruby-bunny valgrind openssl iproute2 \
rabbitmq-server chromium systemd man-db groff-base"
# rabbitmq-server: its rabbitmqadmin for tests/admin, and the RabbitMQ that
# make bench and the same-tests-against-RabbitMQ runs compare with.
# systemd (systemd-analyze), man-db and groff-base: the unit and man page
# checks of tests/admin/test_package.py.
case "$1" in
run) want=$RUN_PKGS ;;
*) want=$TEST_PKGS ;;
esac
missing=
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing="$missing $p"
done
# chromium: the web UI's browser tests (tests/browser, with playwright-core
# from npm). Those and the amqplib tests need node and npm: any install will
# do (Debian's, or NodeSource's nodejs that bundles npm), so look for the
# commands.
if [ "$1" != run ]; then
    command -v node >/dev/null 2>&1 || missing="$missing nodejs"
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "warren needs these Debian packages:$missing" >&2
    echo "run as root:  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
