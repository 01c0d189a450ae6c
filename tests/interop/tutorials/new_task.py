#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 2, "Work queues": put a persistent task on the durable 'task_queue'."""
import os
import sys

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host=os.environ.get("AMQP_HOST", "localhost"),
    port=int(os.environ.get("AMQP_PORT", "5672"))))
channel = connection.channel()

channel.queue_declare(queue=P + "task_queue", durable=True)

message = " ".join(sys.argv[1:]) or "Hello World!"
channel.basic_publish(
    exchange="",
    routing_key=P + "task_queue",
    body=message,
    properties=pika.BasicProperties(delivery_mode=pika.spec.PERSISTENT_DELIVERY_MODE))
print(" [x] Sent %r" % message, flush=True)
connection.close()
