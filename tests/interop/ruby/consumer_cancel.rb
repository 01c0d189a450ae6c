# SPDX-License-Identifier: MIT
# Deleting a queue with a consumer on it sends basic.cancel (the
# consumer_cancel_notify capability): Bunny calls on_cancellation and the
# channel stays open.
require_relative "common"

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  q = ch.queue("#{prefix}.cancel", durable: false)
  got = []
  cancelled = []
  on_cancel = ->(c) { cancelled << c.consumer_tag }
  consumer = q.subscribe(manual_ack: false, on_cancellation: on_cancel) do |_di, _props, body|
    got << body
  end
  ch.default_exchange.publish("before", routing_key: q.name)
  wait_for(5, "the message") { got.length >= 1 }
  other = conn.create_channel
  deleted = other.queue_delete(q.name).message_count
  wait_for(5, "on_cancellation") { !cancelled.empty? }
  channel_open = ch.open?
  # the channel still works
  ch.queue("#{prefix}.cancel2", durable: false).delete
  conn.close
  { got: got, cancelled: cancelled, consumer_tag: consumer.consumer_tag,
    deleted_message_count: deleted, channel_open: channel_open }
end
