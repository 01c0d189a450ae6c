#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 3, "Publish/Subscribe": broadcast a log line on the fanout 'logs'."""
import os
import sys

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host=os.environ.get("AMQP_HOST", "localhost"),
    port=int(os.environ.get("AMQP_PORT", "5672"))))
channel = connection.channel()

channel.exchange_declare(exchange=P + "logs", exchange_type="fanout")

message = " ".join(sys.argv[1:]) or "info: Hello World!"
channel.basic_publish(exchange=P + "logs", routing_key="", body=message)
print(" [x] Sent %r" % message, flush=True)
connection.close()
