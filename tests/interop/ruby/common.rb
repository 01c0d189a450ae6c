# SPDX-License-Identifier: MIT
# Shared by the Bunny scenario scripts: arguments, the overall deadline,
# connections with recovery and heartbeats off, deadline-bounded waits and
# the one JSON result line. Needs Debian's ruby-bunny and nothing else.

require "bigdecimal"
require "json"
require "logger"
require "timeout"
require "bunny"

# tests/proto/broker.py's SLOW (> 1 with the broker under valgrind): waits
# for the broker to do something grow by it.
SLOW = Float(ENV.fetch("WARREN_TEST_SLOW", "1"))

# ruby SCRIPT.rb URL PREFIX [TIMEOUT_SECONDS]
def args
  if ARGV.length < 2
    fail_with("usage: ruby #{$PROGRAM_NAME} AMQP_URL NAME_PREFIX [TIMEOUT_S]")
  end
  [ARGV[0], ARGV[1], Float(ARGV[2] || 30)]
end

# Print the reason on stderr and exit non-zero.
def fail_with(msg)
  $stderr.puts("FAIL: #{msg}")
  $stderr.flush
  exit!(1)
end

# Run the block with (url, prefix) under the overall deadline and print
# what it returns as one JSON line; any exception fails the script.
def run
  url, prefix, limit = args
  result = Timeout.timeout(limit) { yield(url, prefix) }
  $stdout.puts(JSON.generate(jsonable(result)))
  $stdout.flush
  # exit! skips at_exit hooks and Bunny's background threads, which must
  # not keep a finished scenario alive.
  exit!(0)
rescue Timeout::Error
  fail_with("scenario did not finish within #{limit} s")
rescue Exception => e # rubocop:disable Lint/RescueException
  fail_with("#{e.class}: #{e.message}\n#{(e.backtrace || []).join("\n")}")
end

# A started Bunny session: no automatic recovery, no heartbeats, every
# protocol wait bounded (continuation_timeout, in ms), logs to stderr.
def connect(url, **opts)
  opts = {
    automatically_recover: false,
    heartbeat: 0,
    connection_timeout: 5 * SLOW,
    continuation_timeout: (10_000 * SLOW).to_i,
    log_file: $stderr,
    log_level: Logger::WARN,
  }.merge(opts)
  Bunny.new(url, opts).tap(&:start)
end

# Return once the block is true (polled every 10 ms); raise after seconds
# (times SLOW).
def wait_for(seconds, what)
  deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds * SLOW
  until yield
    if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      raise "timed out after #{seconds * SLOW} s waiting for #{what}"
    end
    sleep(0.01)
  end
end

# Values JSON cannot show as they are get a tag pytest can check:
# {"$time": seconds}, {"$decimal": "1.25"}, {"$float": "Infinity"}, and
# strings that are not valid UTF-8 {"$binary": hex}. Integers, floats,
# true/false, nil, strings, arrays and hashes stay as they are.
def jsonable(v)
  case v
  when Hash then v.each_with_object({}) { |(k, x), h| h[k.to_s] = jsonable(x) }
  when Array then v.map { |x| jsonable(x) }
  when Time then { "$time" => v.to_i }
  when BigDecimal then { "$decimal" => v.to_s("F") }
  when Float then v.finite? ? v : { "$float" => v.to_s }
  when Symbol then v.to_s
  when String
    s = v.dup.force_encoding(Encoding::UTF_8)
    s.valid_encoding? ? s : { "$binary" => v.unpack1("H*") }
  else v
  end
end

# The Ruby class of every value in a (nested) table, to check that a type
# came back as the same Ruby type.
def classes(v)
  case v
  when Hash then v.each_with_object({}) { |(k, x), h| h[k.to_s] = classes(x) }
  when Array then v.map { |x| classes(x) }
  else v.class.name
  end
end
