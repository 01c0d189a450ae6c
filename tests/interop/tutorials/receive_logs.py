#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 3, "Publish/Subscribe": print every log line, own temporary queue."""
import os
import sys

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")


def main():
    connection = pika.BlockingConnection(pika.ConnectionParameters(
        host=os.environ.get("AMQP_HOST", "localhost"),
        port=int(os.environ.get("AMQP_PORT", "5672"))))
    channel = connection.channel()

    channel.exchange_declare(exchange=P + "logs", exchange_type="fanout")

    result = channel.queue_declare(queue="", exclusive=True)
    queue_name = result.method.queue

    channel.queue_bind(exchange=P + "logs", queue=queue_name)

    print(" [*] Waiting for logs. To exit press CTRL+C", flush=True)

    def callback(ch, method, properties, body):
        print(" [x] %r" % body, flush=True)

    channel.basic_consume(queue=queue_name, on_message_callback=callback,
                          auto_ack=True)

    channel.start_consuming()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
        sys.exit(0)
