# SPDX-License-Identifier: MIT
# tx_select; publishes and an ack become visible on tx_commit and are
# undone by tx_rollback.
require_relative "common"

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  q = ch.queue("#{prefix}.tx", durable: false)
  look = conn.create_channel
  count = -> { look.queue(q.name, passive: true).message_count }
  ch.tx_select
  ch.default_exchange.publish("a", routing_key: q.name)
  ch.default_exchange.publish("b", routing_key: q.name)
  r = { before_commit: count.call }
  ch.tx_commit
  r[:after_commit] = count.call
  ch.default_exchange.publish("c", routing_key: q.name)
  ch.tx_rollback
  r[:after_rollback] = count.call
  # an ack in a transaction: rolled back, the message stays unacked
  di, _, body = q.pop(manual_ack: true)
  r[:got] = body
  ch.ack(di.delivery_tag)
  ch.tx_rollback
  r[:after_ack_rollback] = count.call
  ch.close # the unacked message goes back
  r[:after_close] = count.call
  ch2 = conn.create_channel
  ch2.tx_select
  di, _, body = ch2.queue(q.name, passive: true).pop(manual_ack: true)
  r[:got_again] = [body, di.redelivered?]
  ch2.ack(di.delivery_tag)
  ch2.tx_commit
  r[:after_ack_commit] = count.call
  r[:using_tx] = ch2.using_tx?
  look.queue_delete(q.name)
  conn.close
  r
end
