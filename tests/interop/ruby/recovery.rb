# SPDX-License-Identifier: MIT
# Automatic recovery: declare an exchange, a queue, a binding and a
# consumer, print "ready" and wait while the test restarts the broker on
# the same port; Bunny reconnects, re-declares the topology and the
# consumer, and a publish after the restart reaches the same block.
require_relative "common"

run do |url, prefix|
  attempts = 0
  recovered = false
  conn = connect(url, automatically_recover: true, network_recovery_interval: 0.2,
                      recovery_attempts: 100,
                      recovery_attempt_started: -> { attempts += 1 },
                      recovery_completed: -> { recovered = true })
  ch = conn.create_channel
  ch.prefetch(5)
  x = ch.topic("#{prefix}.rx", auto_delete: false)
  q = ch.queue("#{prefix}.rq", durable: false)
  q.bind(x, routing_key: "a.#")
  got = []
  q.subscribe(manual_ack: true) do |di, _props, body|
    got << body
    ch.ack(di.delivery_tag)
  end
  x.publish("before", routing_key: "a.1")
  wait_for(5, "the first message") { got.length >= 1 }
  $stdout.puts("ready")
  $stdout.flush
  wait_for(20, "recovery_completed") { recovered }
  x.publish("after", routing_key: "a.2")
  wait_for(5, "a message after recovery") { got.length >= 2 }
  result = { got: got, attempts: attempts, open: conn.open?, channel_open: ch.open?,
             consumers: ch.consumers.size, message_count: q.message_count }
  conn.close
  result
end
