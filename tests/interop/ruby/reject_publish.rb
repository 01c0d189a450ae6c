# SPDX-License-Identifier: MIT
# x-max-length 1 with x-overflow reject-publish on a confirm channel: the
# second publish is nacked, so wait_for_confirms is false and nacked_set
# holds its sequence number; the queue keeps the first message.
require_relative "common"

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  ch.confirm_select
  args = { "x-max-length" => 1, "x-overflow" => "reject-publish" }
  q = ch.queue("#{prefix}.overflow", durable: false, arguments: args)
  ch.default_exchange.publish("first", routing_key: q.name)
  first_ok = ch.wait_for_confirms
  first_nacked = ch.nacked_set.to_a
  ch.default_exchange.publish("second", routing_key: q.name)
  second_ok = ch.wait_for_confirms
  result = {
    first: first_ok, first_nacked: first_nacked,
    second: second_ok, nacked: ch.nacked_set.to_a,
    unconfirmed: ch.unconfirmed_set.size,
    message_count: q.message_count,
  }
  _, _, kept = q.pop
  result[:kept] = kept
  q.delete
  conn.close
  result
end
