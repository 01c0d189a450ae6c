// SPDX-License-Identifier: MIT
// amqp091-go (RabbitMQ's Go client) scenarios for tests/interop/test_go_amqp091.py:
// one run executes one scenario and prints one JSON line; pytest asserts on it.
//
// Usage: scenarios SCENARIO AMQP_URL NAME_PREFIX [TIMEOUT_SECONDS]
//
// Every wait has a deadline (select with time.After, scaled by
// WARREN_TEST_SLOW as tests/proto/broker.py's SLOW) and the whole run has
// one too; a failure prints "FAIL: ..." on stderr and exits 1.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// result is what a scenario returns; it is printed as one JSON object.
type result map[string]interface{}

// scenarios maps a name (the first argument) to its function.
var scenarios = map[string]func(url, prefix string) result{}

// slow stretches every wait for the broker (tests/proto/broker.py SLOW).
var slow = 1.0

// fail prints the reason on stderr and exits non-zero.
func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", a...)
	os.Exit(1)
}

// check fails the scenario if err is not nil.
func check(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

// scaled is d times slow.
func scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * slow)
}

// recv waits up to d (times slow) for a value on c; a timeout or a closed
// channel fails the scenario.
func recv[T any](c <-chan T, d time.Duration, what string) T {
	select {
	case v, ok := <-c:
		if !ok {
			fail("%s: channel closed", what)
		}
		return v
	case <-time.After(scaled(d)):
		fail("timed out after %v waiting for %s", scaled(d), what)
	}
	panic("unreachable")
}

// poll waits up to d (not scaled: callers use it to prove that nothing
// arrives) for a value on c. ok is false on timeout; closed is true if c
// was closed.
func poll[T any](c <-chan T, d time.Duration) (v T, ok, closed bool) {
	select {
	case v, ok := <-c:
		return v, ok, !ok
	case <-time.After(d):
		return v, false, false
	}
}

// dial connects with amqp.Dial or fails the scenario.
func dial(url string) *amqp.Connection {
	conn, err := amqp.Dial(url)
	check(err, "dial "+url)
	return conn
}

// channel opens a channel or fails the scenario.
func channel(conn *amqp.Connection) *amqp.Channel {
	ch, err := conn.Channel()
	check(err, "open channel")
	return ch
}

// publish sends msg with a deadline.
func publish(ch *amqp.Channel, exchange, key string, mandatory bool, msg amqp.Publishing) {
	ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
	defer cancel()
	check(ch.PublishWithContext(ctx, exchange, key, mandatory, false, msg),
		"publish to "+exchange+"/"+key)
}

// text is a Publishing with a text body.
func text(body string) amqp.Publishing {
	return amqp.Publishing{Body: []byte(body)}
}

// get fetches one message with basic.get (no-ack); "" when the queue is empty.
func get(ch *amqp.Channel, q string) string {
	d, ok, err := ch.Get(q, true)
	check(err, "basic.get "+q)
	if !ok {
		return ""
	}
	return string(d.Body)
}

// amqpError describes an *amqp.Error for the JSON result (nil for nil,
// a nil *amqp.Error included).
func amqpError(err error) interface{} {
	if err == nil {
		return nil
	}
	e, ok := err.(*amqp.Error)
	if ok && e == nil {
		return nil
	}
	if !ok {
		return result{"goType": fmt.Sprintf("%T", err), "text": err.Error()}
	}
	return result{"code": e.Code, "reason": e.Reason, "server": e.Server,
		"recover": e.Recover}
}

// typed describes a field-table value with its Go type, recursively, so
// that pytest can check both: {"type": "int16", "value": -300}.
func typed(v interface{}) interface{} {
	var val interface{}
	switch x := v.(type) {
	case amqp.Table:
		m := map[string]interface{}{}
		for k, e := range x {
			m[k] = typed(e)
		}
		val = m
	case []interface{}:
		a := make([]interface{}, 0, len(x))
		for _, e := range x {
			a = append(a, typed(e))
		}
		val = a
	case []byte:
		val = fmt.Sprintf("%x", x)
	case time.Time:
		val = x.Unix()
	case amqp.Decimal:
		val = result{"scale": x.Scale, "value": x.Value}
	case float32:
		val = float64(x)
	case int64:
		// exact, whatever JSON number precision the reader has
		val = strconv.FormatInt(x, 10)
	case uint64:
		val = strconv.FormatUint(x, 10)
	default:
		val = x
	}
	return result{"type": fmt.Sprintf("%T", v), "value": val}
}

// keys of a table, sorted.
func keys(t amqp.Table) []string {
	ks := make([]string, 0, len(t))
	for k := range t {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func main() {
	if len(os.Args) < 4 {
		fail("usage: %s SCENARIO AMQP_URL NAME_PREFIX [TIMEOUT_S]", os.Args[0])
	}
	if s, err := strconv.ParseFloat(os.Getenv("WARREN_TEST_SLOW"), 64); err == nil && s > 0 {
		slow = s
	}
	timeout := 30.0
	if len(os.Args) > 4 {
		t, err := strconv.ParseFloat(os.Args[4], 64)
		check(err, "timeout argument")
		timeout = t
	}
	run, ok := scenarios[os.Args[1]]
	if !ok {
		fail("no scenario %q", os.Args[1])
	}
	time.AfterFunc(time.Duration(timeout*float64(time.Second)), func() {
		fail("scenario %s did not finish within %g s", os.Args[1], timeout)
	})
	out, err := json.Marshal(run(os.Args[2], os.Args[3]))
	check(err, "encode the result")
	fmt.Println(string(out))
}
