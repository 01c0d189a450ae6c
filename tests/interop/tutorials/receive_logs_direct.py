#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 4, "Routing": print log lines of the severities given as arguments."""
import os
import sys

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")


def main():
    connection = pika.BlockingConnection(pika.ConnectionParameters(
        host=os.environ.get("AMQP_HOST", "localhost"),
        port=int(os.environ.get("AMQP_PORT", "5672"))))
    channel = connection.channel()

    channel.exchange_declare(exchange=P + "direct_logs", exchange_type="direct")

    result = channel.queue_declare(queue="", exclusive=True)
    queue_name = result.method.queue

    severities = sys.argv[1:]
    if not severities:
        sys.stderr.write("Usage: %s [info] [warning] [error]\n" % sys.argv[0])
        sys.exit(1)

    for severity in severities:
        channel.queue_bind(exchange=P + "direct_logs", queue=queue_name,
                           routing_key=severity)

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
