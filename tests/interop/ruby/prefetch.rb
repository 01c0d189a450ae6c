# SPDX-License-Identifier: MIT
# basic.qos(3): a manual-ack consumer holds at most 3 unacked messages;
# acking one lets exactly one more in.
require_relative "common"

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  ch.prefetch(3)
  q = ch.queue("#{prefix}.prefetch", durable: false)
  total = 10
  total.times { |i| ch.default_exchange.publish(i.to_s, routing_key: q.name) }
  lock = Mutex.new
  pending = []
  order = []
  q.subscribe(manual_ack: true) do |di, _props, body|
    lock.synchronize do
      pending << di.delivery_tag
      order << body.to_i
    end
  end
  wait_for(5, "3 deliveries") { lock.synchronize { pending.length >= 3 } }
  sleep(0.3) # a fourth would arrive now if the limit did not hold
  before = lock.synchronize { pending.length }
  ch.ack(lock.synchronize { pending.shift })
  wait_for(5, "one more delivery") { lock.synchronize { order.length >= 4 } }
  sleep(0.3)
  after_one = lock.synchronize { pending.length }
  max = after_one
  until lock.synchronize { order.length >= total && pending.empty? }
    tag = lock.synchronize { pending.shift }
    if tag
      ch.ack(tag)
    else
      wait_for(5, "the next delivery") { lock.synchronize { !pending.empty? } }
    end
    max = [max, lock.synchronize { pending.length }].max
  end
  count = ch.queue(q.name, passive: true).message_count
  q.delete
  conn.close
  { prefetch: 3, total: total, in_flight_before_ack: before,
    in_flight_after_one_ack: after_one, max_in_flight: max, order: order,
    message_count_after: count }
end
