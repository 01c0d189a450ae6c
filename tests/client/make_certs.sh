#!/bin/sh
# SPDX-License-Identifier: MIT
# Test PKI for libwarren's TLS tests, made fresh in DIR (nothing committed):
# ca.pem (+key), server.pem/server.key for localhost and 127.0.0.1,
# wrong.pem/wrong.key (signed by the CA, for another host name),
# client.pem/client.key (signed by the CA), other-ca.pem (unrelated CA).
set -e
dir=${1:?usage: make_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
o() { openssl "$@" 2>/dev/null; }
o req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=warren-test-ca \
    -keyout ca.key -out ca.pem
o req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
    -keyout other-ca.key -out other-ca.pem
leaf() { # name cn san
    o req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$1.key" -out "$1.csr"
    printf 'subjectAltName=%s\n' "$3" > "$1.ext"
    o x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days 2 -extfile "$1.ext" -out "$1.pem"
}
leaf server localhost "DNS:localhost,IP:127.0.0.1"
leaf wrong wrong.example "DNS:wrong.example"
leaf client warren-client "DNS:warren-client"
