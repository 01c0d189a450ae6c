# SPDX-License-Identifier: MIT
# A 2 MiB body (many body frames at the negotiated frame_max) comes back
# byte for byte through basic.get and through a consumer.
require_relative "common"
require "digest"

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  q = ch.queue("#{prefix}.big", durable: false)
  body = Random.new(7).bytes(2 * 1024 * 1024)
  sent = { length: body.bytesize, sha256: Digest::SHA256.hexdigest(body) }
  ch.default_exchange.publish(body, routing_key: q.name, message_id: "big-1")
  ch.default_exchange.publish(body, routing_key: q.name, message_id: "big-2")
  digest = lambda do |props, b|
    { length: b.bytesize, sha256: Digest::SHA256.hexdigest(b), message_id: props.message_id }
  end
  got = nil
  wait_for(10, "the first message") do
    _, props, b = q.pop
    got = digest.call(props, b) if b
    !got.nil?
  end
  consumed = nil
  q.subscribe do |_di, props, b|
    consumed = digest.call(props, b)
  end
  wait_for(10, "the second message") { !consumed.nil? }
  q.delete
  conn.close
  { sent: sent, via_get: got, via_consume: consumed, frame_max: conn.frame_max }
end
