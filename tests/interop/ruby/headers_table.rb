# SPDX-License-Identifier: MIT
# A headers table with every value type amq-protocol encodes (64-bit
# integers, doubles, decimals, timestamps, booleans, long strings, nested
# tables, arrays, void) comes back equal, with the same Ruby classes.
require_relative "common"

# Equal values of the same class; strings compare as bytes (amq-protocol
# decodes every string as binary).
def same?(a, b)
  return false unless a.class == b.class
  case a
  when Hash then a.keys == b.keys && a.all? { |k, v| same?(v, b[k]) }
  when Array then a.length == b.length && a.zip(b).all? { |x, y| same?(x, y) }
  when String then a.b == b.b
  else a == b
  end
end

run do |url, prefix|
  conn = connect(url)
  ch = conn.create_channel
  q = ch.queue("#{prefix}.headers", durable: false)
  headers = {
    "small" => 42,
    "negative" => -7,
    "large" => 2**40 + 3,
    "min64" => -(2**63),
    "max64" => 2**63 - 1,
    "float" => 3.25,
    "negfloat" => -0.5,
    "decimal" => BigDecimal("12345"),
    # amq-protocol 2.3 encodes a fractional BigDecimal wrongly (12.345
    # leaves as 12 with scale 1 and decodes to 12.0): the broker must pass
    # that on as it is, which "local" below shows
    "decimal_frac" => BigDecimal("12.345"),
    "time" => Time.at(1_700_000_000),
    "yes" => true,
    "no" => false,
    "str" => "hello",
    "utf8" => "h\u00e9llo \u2713",
    "empty" => "",
    "long" => "x" * 1000,
    "nested" => { "a" => { "b" => "deep", "n" => 2**35 }, "list" => ["x"], "e" => {} },
    "array" => [1, "two", true, nil, [3, [4]], { "k" => "v" }, 2.5],
    "empty_array" => [],
    "nil" => nil,
  }
  ch.default_exchange.publish("h", routing_key: q.name, headers: headers)
  _, props, body = nil
  wait_for(5, "the message") do
    _, props, body = q.pop
    !body.nil?
  end
  got = props.headers
  q.delete
  conn.close
  local = AMQ::Protocol::Table.decode(AMQ::Protocol::Table.encode(headers))
  {
    differs: headers.keys.reject { |k| same?(got[k], headers[k]) },
    equal_to_local_round_trip: got == local,
    keys: got.keys,
    headers: got,
    classes: classes(got),
    sent_classes: classes(headers),
  }
end
