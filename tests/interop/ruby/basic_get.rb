# SPDX-License-Identifier: MIT
# basic.get (Queue#pop) and message_count: get-ok's message-count is what
# is left, get-empty gives nils, and pop(manual_ack) leaves the message
# unacked until acked.
require_relative "common"

# Bunny::GetResponse keeps basic.get-ok's message-count only in the
# decoded method it wraps.
def get_ok_count(response)
  response.instance_variable_get(:@get_ok).message_count
end

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  q = ch.queue("#{prefix}.get", durable: false)
  empty = q.pop
  3.times { |i| ch.default_exchange.publish("g#{i}", routing_key: q.name, message_id: "id#{i}") }
  wait_for(5, "3 messages") { q.message_count == 3 }
  r = { empty: empty.map(&:nil?), count_before: q.message_count }
  pops = []
  3.times do
    di, props, body = q.pop(manual_ack: true)
    pops << { body: body, message_id: props.message_id, message_count: get_ok_count(di),
              redelivered: di.redelivered?, delivery_tag: di.delivery_tag.to_i }
  end
  r[:pops] = pops
  r[:count_while_unacked] = q.message_count
  r[:consumer_count] = q.consumer_count
  ch.ack(pops.last[:delivery_tag], true)
  r[:after_ack] = q.pop.map(&:nil?)
  q.delete
  conn.close
  r
end
