// SPDX-License-Identifier: MIT
// Connection, declarations, message properties and field tables.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func init() {
	scenarios["connect"] = connect
	scenarios["connection_name"] = connectionName
	scenarios["declare"] = declare
	scenarios["properties"] = properties
	scenarios["table"] = table
}

// connect: Dial and DialConfig, what the server announced, a clean Close.
func connect(url, prefix string) result {
	conn := dial(url)
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	props := conn.Properties
	caps, _ := props["capabilities"].(amqp.Table)
	capTypes := map[string]string{}
	for k, v := range caps {
		capTypes[k] = fmt.Sprintf("%T", v)
	}
	ch := channel(conn)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	check(err, "declare a server-named queue")
	closeErr := conn.Close()
	// NotifyClose is closed without an error on a clean close
	_, got, wasClosed := poll(closed, scaled(5*time.Second))

	cfgProps := amqp.NewConnectionProperties()
	cfgProps.SetClientConnectionName(prefix + ".conn")
	conn2, err := amqp.DialConfig(url, amqp.Config{
		Properties: cfgProps,
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
	})
	check(err, "DialConfig")
	cfg := conn2.Config
	ch2 := channel(conn2)
	_, err = ch2.QueueDeclarePassive(q.Name, false, true, true, false, nil)
	// the exclusive queue went with the first connection
	passive := amqpError(err)
	check(conn2.Close(), "close the second connection")
	// a clean Close never reports an error through NotifyClose (the
	// broker must not close the socket before the client has read
	// close-ok: its reader would see EOF first)
	closeErrors := []interface{}{}
	for i := 0; i < 30; i++ {
		c := dial(url)
		n := c.NotifyClose(make(chan *amqp.Error, 1))
		check(c.Close(), "close")
		if e, ok, _ := poll(n, scaled(5*time.Second)); ok {
			closeErrors = append(closeErrors, amqpError(e))
		}
	}
	return result{
		"closeErrors": closeErrors,
		"serverProperties": result{
			"product":      props["product"],
			"version":      fmt.Sprintf("%T", props["version"]),
			"capabilities": caps,
		},
		"capabilityTypes":   capTypes,
		"serverNamed":       q.Name,
		"closeErr":          amqpError(closeErr),
		"notifyCloseValue":  got,
		"notifyCloseClosed": wasClosed,
		"isClosed":          conn.IsClosed(),
		"config": result{
			"frameSize":  cfg.FrameSize,
			"channelMax": cfg.ChannelMax,
			"heartbeat":  cfg.Heartbeat.Seconds(),
			"locale":     cfg.Locale,
		},
		"queueGoneWithConnection": passive,
	}
}

// connectionName: the connection_name set with DialConfig as the HTTP
// management API lists it (URL in WARREN_TEST_MGMT_URL).
func connectionName(url, prefix string) result {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(prefix + ".named")
	conn, err := amqp.DialConfig(url, amqp.Config{Properties: props})
	check(err, "DialConfig")
	defer conn.Close()
	mgmt := os.Getenv("WARREN_TEST_MGMT_URL")
	client := &http.Client{Timeout: scaled(5 * time.Second)}
	deadline := time.Now().Add(scaled(5 * time.Second))
	for {
		req, err := http.NewRequest("GET", mgmt+"/api/connections", nil)
		check(err, "build the request")
		req.Header.Set("Authorization", "Basic "+
			base64.StdEncoding.EncodeToString([]byte("guest:guest")))
		resp, err := client.Do(req)
		check(err, "GET /api/connections")
		var conns []map[string]interface{}
		err = json.NewDecoder(resp.Body).Decode(&conns)
		resp.Body.Close()
		check(err, "decode /api/connections")
		for _, c := range conns {
			if c["name"] == nil {
				continue
			}
			cp, _ := c["client_properties"].(map[string]interface{})
			if cp["connection_name"] == prefix+".named" {
				return result{"clientProperties": cp,
					"userProvidedName": c["user_provided_name"]}
			}
		}
		if time.Now().After(deadline) {
			fail("no connection named %s.named in /api/connections", prefix)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// declare: every exchange type, queue declare/bind/unbind/delete,
// exchange-to-exchange bindings; routing checked with basic.get.
func declare(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	ch := channel(conn)
	exchanges := result{}
	queues := result{}
	got := result{}
	for _, kind := range []string{"direct", "fanout", "topic", "headers"} {
		x := prefix + "." + kind
		q := prefix + ".q." + kind
		check(ch.ExchangeDeclare(x, kind, false, false, false, false, nil), "declare "+x)
		check(ch.ExchangeDeclarePassive(x, kind, false, false, false, false, nil),
			"passive declare "+x)
		exchanges[kind] = true
		dq, err := ch.QueueDeclare(q, false, false, false, false, nil)
		check(err, "declare "+q)
		queues[kind] = result{"name": dq.Name, "messages": dq.Messages,
			"consumers": dq.Consumers}
		key, args := "rk", amqp.Table(nil)
		switch kind {
		case "topic":
			key = "a.*.c"
		case "headers":
			key, args = "", amqp.Table{"x-match": "all", "h": "v"}
		}
		check(ch.QueueBind(q, key, x, false, args), "bind "+q)
		match := amqp.Publishing{Body: []byte(kind + "-match"),
			Headers: amqp.Table{"h": "v"}}
		miss := amqp.Publishing{Body: []byte(kind + "-miss"),
			Headers: amqp.Table{"h": "w"}}
		switch kind {
		case "direct":
			publish(ch, x, "rk", false, match)
			publish(ch, x, "other", false, miss)
		case "fanout":
			publish(ch, x, "anything", false, match)
		case "topic":
			publish(ch, x, "a.b.c", false, match)
			publish(ch, x, "a.b.d", false, miss)
		case "headers":
			publish(ch, x, "", false, match)
			publish(ch, x, "", false, miss)
		}
		check(ch.QueueUnbind(q, key, x, args), "unbind "+q)
		publish(ch, x, "rk", false, amqp.Publishing{Body: []byte(kind + "-unbound"),
			Headers: amqp.Table{"h": "v"}})
		var bodies []string
		for b := get(ch, q); b != ""; b = get(ch, q) {
			bodies = append(bodies, b)
		}
		got[kind] = bodies
		n, err := ch.QueueDelete(q, false, false, false)
		check(err, "delete "+q)
		queues[kind+".deleted"] = n
		check(ch.ExchangeDelete(x, false, false), "delete "+x)
	}

	// exchange to exchange: src -(route.#)-> dst (fanout) -> queue
	src, dst, q := prefix+".src", prefix+".dst", prefix+".e2e"
	check(ch.ExchangeDeclare(src, "topic", false, false, false, false, nil), "declare src")
	check(ch.ExchangeDeclare(dst, "fanout", false, false, false, false, nil), "declare dst")
	_, err := ch.QueueDeclare(q, false, true, false, false, nil)
	check(err, "declare e2e queue")
	check(ch.QueueBind(q, "", dst, false, nil), "bind e2e queue")
	check(ch.ExchangeBind(dst, "route.#", src, false, nil), "exchange.bind")
	publish(ch, src, "route.x", false, text("e2e-routed"))
	publish(ch, src, "other", false, text("e2e-miss"))
	check(ch.ExchangeUnbind(dst, "route.#", src, false, nil), "exchange.unbind")
	publish(ch, src, "route.y", false, text("e2e-unbound"))
	var e2e []string
	for b := get(ch, q); b != ""; b = get(ch, q) {
		e2e = append(e2e, b)
	}
	got["e2e"] = e2e

	// server-named, then inspected with a passive declare
	sq, err := ch.QueueDeclare("", false, true, true, false, nil)
	check(err, "server-named queue")
	publish(ch, "", sq.Name, false, text("one"))
	publish(ch, "", sq.Name, false, text("two"))
	pq, err := ch.QueueDeclarePassive(sq.Name, false, true, true, false, nil)
	check(err, "passive declare")
	purged, err := ch.QueuePurge(sq.Name, false)
	check(err, "purge")
	for _, x := range []string{src, dst} {
		check(ch.ExchangeDelete(x, false, false), "delete "+x)
	}

	// auto-delete: an exchange goes with its last binding, a queue with
	// its last consumer
	ax, aq := prefix+".auto.x", prefix+".auto.q"
	check(ch.ExchangeDeclare(ax, "direct", false, true, false, false, nil), "declare auto x")
	_, err = ch.QueueDeclare(aq, false, true, false, false, nil)
	check(err, "declare auto q")
	check(ch.QueueBind(aq, "k", ax, false, nil), "bind auto")
	check(ch.ExchangeDeclarePassive(ax, "direct", false, true, false, false, nil),
		"auto-delete exchange with a binding")
	check(ch.QueueUnbind(aq, "k", ax, nil), "unbind auto")
	autoX := channelError(conn, func(c *amqp.Channel) error {
		return c.ExchangeDeclarePassive(ax, "direct", false, true, false, false, nil)
	})
	_, err = ch.Consume(aq, prefix+".auto", true, false, false, false, nil)
	check(err, "consume auto q")
	check(ch.Cancel(prefix+".auto", false), "cancel auto")
	autoQ := channelError(conn, func(c *amqp.Channel) error {
		_, err := c.QueueDeclarePassive(aq, false, true, false, false, nil)
		return err
	})
	return result{"exchanges": exchanges, "queues": queues, "got": got,
		"serverNamed": sq.Name, "passiveMessages": pq.Messages,
		"purged": purged, "autoDeleteExchange": autoX,
		"autoDeleteQueue": autoQ}
}

// properties: a Publishing with every field set, delivered by consume and
// by get; user_id is the login.
func properties(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	ch := channel(conn)
	q := prefix + ".props"
	_, err := ch.QueueDeclare(q, false, false, false, false, nil)
	check(err, "declare")
	ts := time.Unix(1700000000, 0)
	full := amqp.Publishing{
		Headers:         amqp.Table{"h": "v", "n": int32(7)},
		ContentType:     "application/json",
		ContentEncoding: "gzip",
		DeliveryMode:    amqp.Persistent,
		Priority:        5,
		CorrelationId:   "corr-1",
		ReplyTo:         "reply.q",
		Expiration:      "60000",
		MessageId:       "msg-1",
		Timestamp:       ts,
		Type:            "kind.x",
		UserId:          "guest",
		AppId:           "warren-go-test",
		Body:            []byte(`{"full":true}`),
	}
	publish(ch, "", q, false, full)
	publish(ch, "", q, false, text("bare"))

	describe := func(d amqp.Delivery) result {
		return result{
			"headers":         d.Headers,
			"contentType":     d.ContentType,
			"contentEncoding": d.ContentEncoding,
			"deliveryMode":    d.DeliveryMode,
			"priority":        d.Priority,
			"correlationId":   d.CorrelationId,
			"replyTo":         d.ReplyTo,
			"expiration":      d.Expiration,
			"messageId":       d.MessageId,
			"timestamp":       d.Timestamp.Unix(),
			"timestampZero":   d.Timestamp.IsZero(),
			"type":            d.Type,
			"userId":          d.UserId,
			"appId":           d.AppId,
			"body":            string(d.Body),
			"exchange":        d.Exchange,
			"routingKey":      d.RoutingKey,
			"redelivered":     d.Redelivered,
			"deliveryTag":     d.DeliveryTag,
			"consumerTag":     d.ConsumerTag,
			"messageCount":    d.MessageCount,
		}
	}
	deliveries, err := ch.Consume(q, prefix+".ctag", false, false, false, false, nil)
	check(err, "consume")
	var seen []result
	for i := 0; i < 2; i++ {
		d := recv(deliveries, 5*time.Second, "delivery")
		seen = append(seen, describe(d))
		check(d.Ack(false), "ack")
	}
	check(ch.Cancel(prefix+".ctag", false), "cancel")
	publish(ch, "", q, false, full)
	d, ok, err := ch.Get(q, true)
	check(err, "get")
	if !ok {
		fail("the third message is missing")
	}
	seen = append(seen, describe(d))
	_, err = ch.QueueDelete(q, false, false, false)
	check(err, "delete")
	return result{"seen": seen, "sentTimestamp": ts.Unix()}
}

// table: headers with every Go type amqp091-go encodes, decoded back.
func table(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	ch := channel(conn)
	q := prefix + ".table"
	_, err := ch.QueueDeclare(q, false, true, false, false, nil)
	check(err, "declare")
	headers := amqp.Table{
		"bool_t":   true,
		"bool_f":   false,
		"int8":     int8(-5),
		"uint8":    uint8(200),
		"int16":    int16(-300),
		"int32":    int32(-100000),
		"int":      int(123456),
		"int64":    int64(1) << 40,
		"int64neg": -(int64(1) << 33),
		"float32":  float32(1.5),
		"float64":  float64(-2.25),
		"string":   "h\u00e9llo \u2713",
		"empty":    "",
		"bytes":    []byte{0, 1, 2, 254, 255},
		"decimal":  amqp.Decimal{Scale: 2, Value: 12345},
		"time":     time.Unix(1700000000, 0),
		"nil":      nil,
		"nested": amqp.Table{"a": amqp.Table{"b": "deep", "n": int64(7)},
			"e": amqp.Table{}},
		"array": []interface{}{int32(1), "two", true, nil,
			[]interface{}{int16(3)}, amqp.Table{"k": "v"}, float64(2.5),
			[]byte("ab")},
		"emptyArray": []interface{}{},
	}
	check(headers.Validate(), "validate the table")
	// and in queue arguments: x-max-length as each integer type the
	// broker has to accept
	for _, n := range []interface{}{int8(100), int16(100), int32(100), int64(100)} {
		aq := fmt.Sprintf("%s.args.%T", prefix, n)
		_, err := ch.QueueDeclare(aq, false, true, false, false,
			amqp.Table{"x-max-length": n})
		check(err, "declare with x-max-length "+fmt.Sprintf("%T", n))
		_, err = ch.QueueDelete(aq, false, false, false)
		check(err, "delete "+aq)
	}
	publish(ch, "", q, false, amqp.Publishing{Headers: headers, Body: []byte("t")})
	d, ok, err := ch.Get(q, true)
	check(err, "get")
	if !ok {
		fail("message missing")
	}
	out := map[string]interface{}{}
	for k, v := range d.Headers {
		out[k] = typed(v)
	}
	return result{"headers": out, "keys": keys(d.Headers)}
}
