#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 1, "Hello World!": print messages from the queue 'hello'."""
import os
import sys

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")


def main():
    connection = pika.BlockingConnection(pika.ConnectionParameters(
        host=os.environ.get("AMQP_HOST", "localhost"),
        port=int(os.environ.get("AMQP_PORT", "5672"))))
    channel = connection.channel()

    channel.queue_declare(queue=P + "hello")

    def callback(ch, method, properties, body):
        print(" [x] Received %r" % body, flush=True)

    channel.basic_consume(queue=P + "hello", on_message_callback=callback,
                          auto_ack=True)

    print(" [*] Waiting for messages. To exit press CTRL+C", flush=True)
    channel.start_consuming()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
        sys.exit(0)
