#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 5, "Topics": send a log line with a routing key on 'topic_logs'."""
import os
import sys

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host=os.environ.get("AMQP_HOST", "localhost"),
    port=int(os.environ.get("AMQP_PORT", "5672"))))
channel = connection.channel()

channel.exchange_declare(exchange=P + "topic_logs", exchange_type="topic")

routing_key = sys.argv[1] if len(sys.argv) > 2 else "anonymous.info"
message = " ".join(sys.argv[2:]) or "Hello World!"
channel.basic_publish(exchange=P + "topic_logs", routing_key=routing_key,
                      body=message)
print(" [x] Sent %r:%r" % (routing_key, message), flush=True)
connection.close()
