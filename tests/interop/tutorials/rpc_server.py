#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 6, "RPC": answer fib(n) requests from 'rpc_queue'."""
import os
import sys

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")


def fib(n):
    if n == 0:
        return 0
    elif n == 1:
        return 1
    else:
        return fib(n - 1) + fib(n - 2)


def on_request(ch, method, props, body):
    n = int(body)

    print(" [.] fib(%s)" % n, flush=True)
    response = fib(n)

    ch.basic_publish(exchange="",
                     routing_key=props.reply_to,
                     properties=pika.BasicProperties(correlation_id=props.correlation_id),
                     body=str(response))
    ch.basic_ack(delivery_tag=method.delivery_tag)


def main():
    connection = pika.BlockingConnection(pika.ConnectionParameters(
        host=os.environ.get("AMQP_HOST", "localhost"),
        port=int(os.environ.get("AMQP_PORT", "5672"))))
    channel = connection.channel()

    channel.queue_declare(queue=P + "rpc_queue")

    channel.basic_qos(prefetch_count=1)
    channel.basic_consume(queue=P + "rpc_queue", on_message_callback=on_request)

    print(" [x] Awaiting RPC requests", flush=True)
    channel.start_consuming()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
        sys.exit(0)
