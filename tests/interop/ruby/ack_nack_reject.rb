# SPDX-License-Identifier: MIT
# A manual-ack consumer: ack the first, nack(requeue) the second (it comes
# back with redelivered? true), reject the third without requeue (gone).
require_relative "common"

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  q = ch.queue("#{prefix}.ack", durable: false)
  %w[ack-me nack-me reject-me].each { |b| ch.default_exchange.publish(b, routing_key: q.name) }
  deliveries = []
  q.subscribe(manual_ack: true) do |di, _props, body|
    deliveries << { body: body, redelivered: di.redelivered?, delivery_tag: di.delivery_tag.to_i }
    case body
    when "ack-me" then ch.ack(di.delivery_tag)
    when "nack-me"
      # nack(requeue) the first time; ack the redelivery
      di.redelivered? ? ch.ack(di.delivery_tag) : ch.nack(di.delivery_tag, false, true)
    when "reject-me" then ch.reject(di.delivery_tag, false)
    end
  end
  wait_for(5, "4 deliveries") { deliveries.length >= 4 }
  sleep(0.1) # anything more would show up here
  ch2 = conn.create_channel
  count = ch2.queue(q.name, passive: true).message_count
  q.delete
  conn.close
  { deliveries: deliveries, message_count_after: count }
end
