# SPDX-License-Identifier: MIT
# Channel errors raise Bunny's exception for the reply code and close only
# the channel: 404 passive declare of a missing queue, 406 redeclare with
# other properties, 405 another connection's exclusive queue, 403 declaring
# an amq.* exchange; the connection then works on a new channel.
require_relative "common"

run do |url, prefix|
  conn = connect(url)
  other = connect(url)
  attempt = lambda do |&blk|
    ch = conn.create_channel
    begin
      blk.call(ch)
      { raised: nil }
    rescue Bunny::ChannelLevelException => e
      { raised: e.class.name, code: e.channel_close.reply_code,
        class_id: e.channel_close.class_id, method_id: e.channel_close.method_id,
        text: e.channel_close.reply_text, channel_open: ch.open? }
    end
  end
  setup = conn.create_channel
  setup.queue("#{prefix}.durable", durable: true)
  other.create_channel.queue("#{prefix}.exclusive", exclusive: true)
  r = {}
  r[:not_found] = attempt.call { |ch| ch.queue("#{prefix}.missing", passive: true) }
  r[:precondition] = attempt.call { |ch| ch.queue("#{prefix}.durable", durable: false) }
  r[:locked] = attempt.call { |ch| ch.queue("#{prefix}.exclusive", exclusive: true) }
  r[:access] = attempt.call { |ch| ch.exchange_declare("amq.#{prefix}", "direct") }
  r[:connection_open] = conn.open?
  ch = conn.create_channel
  q = ch.queue("#{prefix}.after", durable: false)
  ch.default_exchange.publish("still usable", routing_key: q.name)
  wait_for(5, "the message") { q.message_count == 1 }
  _, _, body = q.pop
  r[:after] = body
  q.delete
  ch.queue_delete("#{prefix}.durable")
  conn.close
  other.close
  r
end
