# SPDX-License-Identifier: MIT
# confirm_select, 1,000 publishes, wait_for_confirms: true, nothing left
# unconfirmed, nothing nacked, every message in the queue.
require_relative "common"

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  ch.confirm_select
  q = ch.queue("#{prefix}.confirms", durable: false)
  1000.times { |i| ch.default_exchange.publish("m#{i}", routing_key: q.name) }
  ok = ch.wait_for_confirms
  result = {
    published: ch.next_publish_seq_no - 1,
    wait_for_confirms: ok,
    unconfirmed: ch.unconfirmed_set.size,
    nacked: ch.nacked_set.to_a,
    message_count: q.message_count,
  }
  q.delete
  conn.close
  result
end
