#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 2, "Work queues": do tasks (one second per dot), fair dispatch, ack."""
import os
import sys
import time

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")


def main():
    connection = pika.BlockingConnection(pika.ConnectionParameters(
        host=os.environ.get("AMQP_HOST", "localhost"),
        port=int(os.environ.get("AMQP_PORT", "5672"))))
    channel = connection.channel()

    channel.queue_declare(queue=P + "task_queue", durable=True)
    print(" [*] Waiting for messages. To exit press CTRL+C", flush=True)

    def callback(ch, method, properties, body):
        print(" [x] Received %r" % body.decode(), flush=True)
        time.sleep(body.count(b"."))
        print(" [x] Done", flush=True)
        ch.basic_ack(delivery_tag=method.delivery_tag)

    channel.basic_qos(prefetch_count=1)
    channel.basic_consume(queue=P + "task_queue", on_message_callback=callback)

    channel.start_consuming()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
        sys.exit(0)
