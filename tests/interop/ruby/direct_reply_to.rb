# SPDX-License-Identifier: MIT
# RPC over direct reply-to: the client consumes amq.rabbitmq.reply-to with
# no-ack (no declare), publishes requests with reply_to set to it, and a
# server on another connection answers to the reply_to it sees.
require_relative "common"

run do |url, prefix|
  server_conn = connect(url)
  sch = server_conn.create_channel
  requests = sch.queue("#{prefix}.rpc", durable: false)
  reply_tos = []
  requests.subscribe(manual_ack: false) do |_di, props, body|
    reply_tos << props.reply_to
    n = Integer(body)
    sch.default_exchange.publish((n * n).to_s, routing_key: props.reply_to,
                                               correlation_id: props.correlation_id)
  end

  conn = connect(url)
  ch = conn.create_channel
  reply_q = Bunny::Queue.new(ch, "amq.rabbitmq.reply-to", no_declare: true)
  replies = []
  reply_q.subscribe(manual_ack: false) do |di, props, body|
    replies << { corr: props.correlation_id, body: body,
                 exchange: di.exchange, routing_key: di.routing_key }
  end
  (1..5).each do |i|
    ch.default_exchange.publish(i.to_s, routing_key: requests.name,
                                        reply_to: "amq.rabbitmq.reply-to", correlation_id: "c#{i}")
  end
  wait_for(5, "5 replies") { replies.length >= 5 }
  requests.delete
  conn.close
  server_conn.close
  { replies: replies, reply_tos: reply_tos }
end
