#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 1, "Hello World!": send one message to the queue 'hello'."""
import os
import sys

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host=os.environ.get("AMQP_HOST", "localhost"),
    port=int(os.environ.get("AMQP_PORT", "5672"))))
channel = connection.channel()

channel.queue_declare(queue=P + "hello")

message = " ".join(sys.argv[1:]) or "Hello World!"
channel.basic_publish(exchange="", routing_key=P + "hello", body=message)
print(" [x] Sent %r" % message, flush=True)
connection.close()
