# SPDX-License-Identifier: MIT
# Opening a vhost that does not exist: Bunny raises NotAllowedError with
# the broker's 530 text. "amqp://host:port/" (an empty path) is the vhost
# "" in the AMQP URI spec, a common slip; "%2F" is "/".
require_relative "common"

run do |url, _prefix|
  base = url.sub(%r{/%2F\z}, "")
  attempt = lambda do |u|
    conn = connect(u)
    conn.close
    { raised: nil }
  rescue Bunny::NotAllowedError => e
    { raised: e.class.name, message: e.message,
      code: e.connection_close && e.connection_close.reply_code }
  end
  {
    vhost_from_empty_path: Bunny::Session.parse_uri("#{base}/")[:vhost],
    empty: attempt.call("#{base}/"),
    missing: attempt.call("#{base}/no-such-vhost"),
    default_path: attempt.call(base),
  }
end
