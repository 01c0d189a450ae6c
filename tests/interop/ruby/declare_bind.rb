# SPDX-License-Identifier: MIT
# One exchange of each type with a queue bound to it, a routed message per
# type, unbind stopping the routing, and an exchange-to-exchange binding.
require_relative "common"

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  got = {}
  drain = lambda do |q|
    out = []
    loop do
      _, _, body = q.pop
      break if body.nil?
      out << body
    end
    out
  end
  x = {}
  q = {}
  %w[direct fanout topic headers].each do |t|
    x[t] = ch.exchange("#{prefix}.#{t}", type: t.to_sym, durable: false, auto_delete: false)
    q[t] = ch.queue("#{prefix}.q.#{t}", durable: false)
  end
  q["direct"].bind(x["direct"], routing_key: "key")
  q["fanout"].bind(x["fanout"])
  q["topic"].bind(x["topic"], routing_key: "a.*.c")
  q["headers"].bind(x["headers"], arguments: { "x-match" => "all", "k" => "v" })
  x["direct"].publish("direct-0", routing_key: "key")
  x["direct"].publish("direct-miss", routing_key: "other")
  x["fanout"].publish("fanout-0", routing_key: "anything")
  x["topic"].publish("topic-0", routing_key: "a.b.c")
  x["topic"].publish("topic-miss", routing_key: "a.b.d")
  x["headers"].publish("headers-0", headers: { "k" => "v" })
  x["headers"].publish("headers-miss", headers: { "k" => "w" })
  # unbind: the direct queue no longer gets "key"
  q["direct"].unbind(x["direct"], routing_key: "key")
  x["direct"].publish("direct-after-unbind", routing_key: "key")
  # exchange-to-exchange: topic source -> fanout destination -> queue
  src = ch.topic("#{prefix}.e2e.src", auto_delete: false)
  dst = ch.fanout("#{prefix}.e2e.dst", auto_delete: false)
  eq = ch.queue("#{prefix}.q.e2e", durable: false)
  eq.bind(dst)
  dst.bind(src, routing_key: "route.#")
  src.publish("e2e-routed", routing_key: "route.x.y")
  src.publish("e2e-miss", routing_key: "elsewhere")
  dst.unbind(src, routing_key: "route.#")
  src.publish("e2e-after-unbind", routing_key: "route.x")
  # a synchronous round trip so that every publish above has been routed
  ch.queue_declare(eq.name, passive: true)
  %w[direct fanout topic headers].each { |t| got[t] = drain.call(q[t]) }
  got["e2e"] = drain.call(eq)
  server_named = ch.queue("", exclusive: true).name
  counts = (q.values + [eq]).map { |qq| [qq.name, qq.delete.message_count] }.to_h
  (x.values + [src, dst]).each(&:delete)
  conn.close
  { got: got, server_named: server_named, deleted_counts: counts }
end
