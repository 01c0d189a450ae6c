# SPDX-License-Identifier: MIT
# heartbeat: 1 negotiates 1 s; 4 s idle later the connection is still open
# and works (both sides sent and honoured heartbeats).
require_relative "common"

run do |url, prefix|
  conn = connect(url, heartbeat: 1)
  ch = conn.create_channel
  q = ch.queue("#{prefix}.hb", durable: false)
  sleep(4)
  open_after_idle = conn.open? && ch.open?
  ch.default_exchange.publish("after idle", routing_key: q.name)
  got = nil
  wait_for(5, "the message") do
    _, _, got = q.pop
    !got.nil?
  end
  q.delete
  conn.close
  { heartbeat: conn.heartbeat, open_after_idle: open_after_idle, got: got }
end
