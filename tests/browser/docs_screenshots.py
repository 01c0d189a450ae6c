#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Makes the screenshots in docs/ui/ (make ui-screenshots): starts the
built broker on free ports, gives it a few vhosts, exchanges, queues and
some steady traffic through pika, and runs shots.mjs in chromium."""

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "proto"))

import pika  # noqa: E402

from broker import WarrenServer  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "docs", "ui")


def api(mgmt, method, path, body=None):
    req = urllib.request.Request(
        "http://%s:%d/api/%s" % (mgmt[0], mgmt[1], path), method=method,
        data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization",
                   "Basic " + base64.b64encode(b"guest:guest").decode())
    with urllib.request.urlopen(req) as r:
        return r.read()


def setup(mgmt):
    api(mgmt, "PUT", "vhosts/orders", {"description": "order pipeline"})
    api(mgmt, "PUT", "users/ops", {"password": "ops", "tags": "monitoring"})
    api(mgmt, "PUT", "users/shop", {"password": "shop", "tags": ""})
    api(mgmt, "PUT", "permissions/orders/shop",
        {"configure": "^shop\\.", "write": ".*", "read": ".*"})
    for vh, name, args in (
            ("orders", "orders.created", {"x-dead-letter-exchange": "dlx"}),
            ("orders", "orders.dlq", {}),
            ("orders", "invoices", {"x-max-priority": 10}),
            ("/", "emails", {"x-message-ttl": 86400000}),
            ("/", "reports", {"x-max-length": 10000}),
            ("/", "audit", {})):
        api(mgmt, "PUT", "queues/%s/%s" % (vh.replace("/", "%2F"), name),
            {"durable": True, "arguments": args})
    api(mgmt, "PUT", "exchanges/orders/shop.events", {"type": "topic"})
    api(mgmt, "PUT", "exchanges/orders/dlx", {"type": "fanout"})
    for src, dst, key in (("shop.events", "orders.created", "order.*"),
                          ("shop.events", "invoices", "order.paid"),
                          ("dlx", "orders.dlq", "")):
        api(mgmt, "POST", "bindings/orders/e/%s/q/%s" % (src, dst),
            {"routing_key": key})
    api(mgmt, "PUT", "policies/%2F/reports-cap",
        {"pattern": "^reports$", "definition": {"max-length": 5000},
         "apply-to": "queues"})
    for vh, name, n in (("/", "emails", 1240), ("/", "reports", 310),
                        ("orders", "orders.dlq", 37)):
        for i in range(n):
            api(mgmt, "POST", "exchanges/%s/amq.default/publish"
                % vh.replace("/", "%2F"),
                {"routing_key": name, "payload": "message %d" % i,
                 "payload_encoding": "string", "properties": {}})


def traffic(amqp, stop):
    def producer():
        c = pika.BlockingConnection(pika.ConnectionParameters(
            *amqp, virtual_host="orders", client_properties={
                "product": "checkout-service", "version": "2.4.1",
                "platform": "Python 3.11"}))
        ch = c.channel()
        ch.confirm_delivery()
        n = 0
        while not stop.is_set():
            ch.basic_publish("shop.events", "order.created",
                             b'{"order": %d}' % n)
            if n % 5 == 0:
                ch.basic_publish("shop.events", "order.paid",
                                 b'{"order": %d}' % n)
            n += 1
            time.sleep(0.02 + 0.015 * (1 + (n // 200) % 3))
        c.close()

    def consumer():
        c = pika.BlockingConnection(pika.ConnectionParameters(
            *amqp, virtual_host="orders", client_properties={
                "product": "fulfilment-worker", "version": "1.9.0"}))
        ch = c.channel()
        ch.basic_qos(prefetch_count=50)
        seen = [0]

        def on(c2, m, p, b):
            seen[0] += 1
            if seen[0] % 40 == 0:
                c2.basic_reject(m.delivery_tag, requeue=False)
            else:
                c2.basic_ack(m.delivery_tag)
        ch.basic_consume("orders.created", on)
        while not stop.is_set():
            c.process_data_events(time_limit=0.2)
        c.close()

    def mailer():
        c = pika.BlockingConnection(pika.ConnectionParameters(
            *amqp, client_properties={"product": "mailer",
                                      "version": "0.3.0"}))
        ch = c.channel()
        ch.basic_qos(prefetch_count=10)
        ch.basic_consume("emails", lambda c2, m, p, b: None)  # slow: unacked
        while not stop.is_set():
            c.process_data_events(time_limit=0.5)
        c.close()

    threads = [threading.Thread(target=f, daemon=True)
               for f in (producer, consumer, mailer)]
    for t in threads:
        t.start()
    return threads


def main():
    os.makedirs(OUT, exist_ok=True)
    srv = WarrenServer(("--set", "collect_statistics_interval=2000")).start()
    stop = threading.Event()
    try:
        setup(srv.mgmt_address)
        threads = traffic(srv.address, stop)
        host, port = srv.mgmt_address
        subprocess.run([shutil.which("node"), "shots.mjs",
                        "http://%s:%d" % (host, port), OUT],
                       cwd=HERE, check=True)
        stop.set()
        for t in threads:
            t.join(5)
    finally:
        srv.terminate()
    print("screenshots in", os.path.abspath(OUT))


if __name__ == "__main__":
    main()
