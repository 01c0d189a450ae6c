#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 5, "Topics": print log lines matching the binding keys given."""
import os
import sys

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")


def main():
    connection = pika.BlockingConnection(pika.ConnectionParameters(
        host=os.environ.get("AMQP_HOST", "localhost"),
        port=int(os.environ.get("AMQP_PORT", "5672"))))
    channel = connection.channel()

    channel.exchange_declare(exchange=P + "topic_logs", exchange_type="topic")

    result = channel.queue_declare("", exclusive=True)
    queue_name = result.method.queue

    binding_keys = sys.argv[1:]
    if not binding_keys:
        sys.stderr.write("Usage: %s [binding_key]...\n" % sys.argv[0])
        sys.exit(1)

    for binding_key in binding_keys:
        channel.queue_bind(exchange=P + "topic_logs", queue=queue_name,
                           routing_key=binding_key)

    print(" [*] Waiting for logs. To exit press CTRL+C", flush=True)

    def callback(ch, method, properties, body):
        print(" [x] %r:%r" % (method.routing_key, body), flush=True)

    channel.basic_consume(queue=queue_name, on_message_callback=callback,
                          auto_ack=True)

    channel.start_consuming()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
        sys.exit(0)
