# SPDX-License-Identifier: MIT
# A message with every basic property Bunny can set round-trips through a
# queue and a consumer; one with none set comes back with none.
require_relative "common"

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  q = ch.queue("#{prefix}.props", durable: false)
  sent = {
    content_type: "application/json",
    content_encoding: "gzip",
    headers: { "h1" => "v1", "n" => 7 },
    persistent: true,
    priority: 5,
    correlation_id: "corr-1",
    reply_to: "reply-queue",
    expiration: "60000",
    message_id: "msg-1",
    timestamp: 1_700_000_000,
    type: "order.created",
    user_id: conn.user,
    app_id: "bunny-test",
  }
  ch.default_exchange.publish("full", sent.merge(routing_key: q.name))
  ch.default_exchange.publish("bare", routing_key: q.name)
  seen = []
  q.subscribe(manual_ack: false) do |di, props, body|
    seen << { body: body, props: props.to_hash, timestamp_class: props.timestamp.class.name,
              exchange: di.exchange, routing_key: di.routing_key,
              redelivered: di.redelivered?, delivery_tag: di.delivery_tag.to_i }
  end
  wait_for(5, "2 deliveries") { seen.length >= 2 }
  q.delete
  conn.close
  { sent: sent, login: conn.user, seen: seen }
end
