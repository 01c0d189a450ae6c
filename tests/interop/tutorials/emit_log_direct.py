#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 4, "Routing": send a log line with a severity on 'direct_logs'."""
import os
import sys

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host=os.environ.get("AMQP_HOST", "localhost"),
    port=int(os.environ.get("AMQP_PORT", "5672"))))
channel = connection.channel()

channel.exchange_declare(exchange=P + "direct_logs", exchange_type="direct")

severity = sys.argv[1] if len(sys.argv) > 1 else "info"
message = " ".join(sys.argv[2:]) or "Hello World!"
channel.basic_publish(exchange=P + "direct_logs", routing_key=severity,
                      body=message)
print(" [x] Sent %r:%r" % (severity, message), flush=True)
connection.close()
