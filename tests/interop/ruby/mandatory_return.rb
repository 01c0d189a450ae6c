# SPDX-License-Identifier: MIT
# A mandatory publish that no queue matches comes back through the
# exchange's on_return with 312 NO_ROUTE; routable and non-mandatory ones
# do not.
require_relative "common"

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  x = ch.direct("#{prefix}.mand", auto_delete: false)
  q = ch.queue("#{prefix}.mand.q", durable: false)
  q.bind(x, routing_key: "here")
  returns = []
  x.on_return do |info, props, body|
    returns << { reply_code: info.reply_code, reply_text: info.reply_text,
                 exchange: info.exchange, routing_key: info.routing_key,
                 body: body, message_id: props.message_id, headers: props.headers }
  end
  x.publish("routable", routing_key: "here", mandatory: true)
  x.publish("dropped", routing_key: "nowhere")
  x.publish("unroutable", routing_key: "nowhere", mandatory: true,
                          message_id: "m-1", headers: { "h" => 1 })
  wait_for(5, "basic.return") { !returns.empty? }
  sleep(0.1) # a second return would show up here
  count = q.message_count
  q.delete
  x.delete
  conn.close
  { returns: returns, message_count: count }
end
