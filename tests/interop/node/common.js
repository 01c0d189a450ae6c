// SPDX-License-Identifier: MIT
// Shared by the amqplib scenario scripts: arguments, the overall deadline,
// the JSON result line and a deadline-bounded wait. No npm dependency but
// amqplib itself.
'use strict';

const amqp = require('amqplib');

// tests/proto/broker.py's SLOW (> 1 with the broker under valgrind):
// waits for the broker to do something grow by it.
const SLOW = Number(process.env.WARREN_TEST_SLOW || 1);

// node SCRIPT.js URL PREFIX [TIMEOUT_SECONDS]
function args() {
  if (process.argv.length < 4) {
    fail(`usage: node ${process.argv[1]} AMQP_URL NAME_PREFIX [TIMEOUT_S]`);
  }
  return {
    url: process.argv[2],
    prefix: process.argv[3],
    timeout: Number(process.argv[4] || 30),
  };
}

// Print the reason on stderr and exit non-zero.
function fail(msg) {
  process.stderr.write(`FAIL: ${msg}\n`);
  process.exit(1);
}

// Print the result as one JSON line on stdout and exit 0. Buffers become
// {"$buffer": hex} so that pytest can tell them from strings.
function done(result) {
  const replacer = function (key, value) {
    const raw = this[key];
    if (Buffer.isBuffer(raw)) return { $buffer: raw.toString('hex') };
    return value;
  };
  process.stdout.write(`${JSON.stringify(result, replacer)}\n`);
  process.exit(0);
}

// Run scenario(url, prefix) -> result under an overall deadline; any
// rejection or a missed deadline fails the script with a clear message.
function run(scenario) {
  const a = args();
  const timer = setTimeout(() => fail(`scenario did not finish within ${a.timeout} s`), a.timeout * 1000);
  timer.unref();
  process.on('uncaughtException', (err) => fail(`uncaught: ${err && err.stack ? err.stack : err}`));
  scenario(a.url, a.prefix)
    .then(done)
    .catch((err) => fail(err && err.stack ? err.stack : String(err)));
}

// Resolve when pred() is true (polled every 10 ms); reject after ms
// (times SLOW).
function waitFor(pred, ms, what) {
  ms *= SLOW;
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

// Resolve after ms.
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Resolve with the args of the first `event` on emitter; reject after ms
// (times SLOW).
function once(emitter, event, ms) {
  ms *= SLOW;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${event}' event within ${ms} ms`)), ms);
    emitter.once(event, (...a) => {
      clearTimeout(t);
      resolve(a);
    });
  });
}

module.exports = { amqp, SLOW, run, fail, waitFor, sleep, once };
