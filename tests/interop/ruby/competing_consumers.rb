# SPDX-License-Identifier: MIT
# 5,000 messages to one queue with two consumers on two connections
# (manual ack, prefetch 50): together they get every message exactly once,
# each in publish order.
require_relative "common"

run do |url, prefix|
  total = 5000
  pub = connect(url)
  pch = pub.create_channel
  q = pch.queue("#{prefix}.work", durable: false)
  lock = Mutex.new
  seen = [[], []]
  conns = 2.times.map do |i|
    c = connect(url)
    ch = c.create_channel
    ch.prefetch(50)
    ch.queue(q.name, passive: true).subscribe(manual_ack: true) do |di, _props, body|
      lock.synchronize { seen[i] << body.to_i }
      ch.ack(di.delivery_tag)
    end
    c
  end
  pch.confirm_select
  total.times { |n| pch.default_exchange.publish(n.to_s, routing_key: q.name) }
  raise "publishes nacked" unless pch.wait_for_confirms
  wait_for(30, "#{total} deliveries") do
    lock.synchronize { seen[0].length + seen[1].length } >= total
  end
  sleep(0.1) # duplicates would show up here
  all = lock.synchronize { seen[0] + seen[1] }
  q.delete
  conns.each(&:close)
  pub.close
  {
    counts: seen.map(&:length),
    distinct: all.uniq.length,
    missing: (0...total).to_a.length - (all & (0...total).to_a).length,
    duplicates: all.length - all.uniq.length,
    in_order: seen.map { |s| s == s.sort },
  }
end
