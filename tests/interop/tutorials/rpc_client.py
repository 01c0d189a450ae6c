#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tutorial 6, "RPC": call fib(n) through 'rpc_queue' and print the answer."""
import os
import sys
import uuid

import pika

P = os.environ.get("TUTORIAL_PREFIX", "")


class FibonacciRpcClient(object):

    def __init__(self):
        self.connection = pika.BlockingConnection(pika.ConnectionParameters(
            host=os.environ.get("AMQP_HOST", "localhost"),
            port=int(os.environ.get("AMQP_PORT", "5672"))))

        self.channel = self.connection.channel()

        result = self.channel.queue_declare(queue="", exclusive=True)
        self.callback_queue = result.method.queue

        self.channel.basic_consume(
            queue=self.callback_queue,
            on_message_callback=self.on_response,
            auto_ack=True)

        self.response = None
        self.corr_id = None

    def on_response(self, ch, method, props, body):
        if self.corr_id == props.correlation_id:
            self.response = body

    def call(self, n):
        self.response = None
        self.corr_id = str(uuid.uuid4())
        self.channel.basic_publish(
            exchange="",
            routing_key=P + "rpc_queue",
            properties=pika.BasicProperties(
                reply_to=self.callback_queue,
                correlation_id=self.corr_id,
            ),
            body=str(n))
        self.connection.process_data_events(time_limit=None)
        while self.response is None:
            self.connection.process_data_events(time_limit=None)
        return int(self.response)


fibonacci_rpc = FibonacciRpcClient()

for arg in sys.argv[1:] or ["30"]:
    n = int(arg)
    print(" [x] Requesting fib(%d)" % n, flush=True)
    response = fibonacci_rpc.call(n)
    print(" [.] Got %r" % response, flush=True)
