# SPDX-License-Identifier: MIT
# Bunny.new(url).start: the negotiated limits and the server's properties
# and capabilities; then a clean close (connection.close / close-ok).
require_relative "common"

run do |url, _prefix|
  conn = connect(url)
  props = conn.server_properties
  opened = { open: conn.open?, status: conn.status }
  ch = conn.create_channel
  channel_open = ch.open?
  ch.close
  conn.close
  {
    opened: opened,
    channel_open: channel_open,
    product: props["product"],
    has_version: props["version"].is_a?(String),
    capabilities: conn.server_capabilities,
    frame_max: conn.frame_max,
    channel_max: conn.channel_max,
    heartbeat: conn.heartbeat,
    closed: { closed: conn.closed?, status: conn.status },
  }
end
