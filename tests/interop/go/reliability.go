// SPDX-License-Identifier: MIT
// Confirms, returns, transactions, RPC, channel errors and what the
// connection hears from the broker: heartbeats, blocked, shutdown.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func init() {
	scenarios["confirms"] = confirms
	scenarios["reject_publish"] = rejectPublish
	scenarios["mandatory_return"] = mandatoryReturn
	scenarios["direct_reply_to"] = directReplyTo
	scenarios["channel_errors"] = channelErrors
	scenarios["tx"] = tx
	scenarios["heartbeat"] = heartbeat
	scenarios["blocked"] = blocked
	scenarios["shutdown"] = shutdown
}

// confirms: 1,000 publishes on a confirm channel, every one acked through
// NotifyPublish, in order.
func confirms(url, prefix string) result {
	const total = 1000
	conn := dial(url)
	defer conn.Close()
	ch := channel(conn)
	q := prefix + ".confirms"
	_, err := ch.QueueDeclare(q, false, true, false, false, nil)
	check(err, "declare")
	check(ch.Confirm(false), "confirm.select")
	confirmations := ch.NotifyPublish(make(chan amqp.Confirmation, total))
	for i := 0; i < total; i++ {
		publish(ch, "", q, false, text(strconv.Itoa(i)))
	}
	acked, nacked, inOrder := 0, 0, true
	for i := 0; i < total; i++ {
		c := recv(confirmations, 10*time.Second, fmt.Sprintf("confirm %d", i+1))
		if c.Ack {
			acked++
		} else {
			nacked++
		}
		if c.DeliveryTag != uint64(i+1) {
			inOrder = false
		}
	}
	// No PublishWithDeferredConfirm: amqp091-go 1.5.0 registers the
	// deferred confirmation after it has sent the publish, so a fast
	// broker's ack can come first and Wait never returns
	// (rabbitmq/amqp091-go issue #182, fixed in later versions).
	info, err := ch.QueueDeclarePassive(q, false, true, false, false, nil)
	check(err, "passive declare")
	return result{"published": total, "acked": acked, "nacked": nacked,
		"inOrder": inOrder, "messages": info.Messages}
}

// rejectPublish: x-max-length 1 with x-overflow reject-publish; the second
// publish is nacked on the confirm channel and the queue keeps the first.
func rejectPublish(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	ch := channel(conn)
	q := prefix + ".overflow"
	_, err := ch.QueueDeclare(q, false, true, false, false,
		amqp.Table{"x-max-length": int32(1), "x-overflow": "reject-publish"})
	check(err, "declare")
	check(ch.Confirm(false), "confirm.select")
	confirmations := ch.NotifyPublish(make(chan amqp.Confirmation, 2))
	var outcomes []result
	for _, b := range []string{"first", "second"} {
		publish(ch, "", q, false, text(b))
		c := recv(confirmations, 5*time.Second, "confirm of "+b)
		outcomes = append(outcomes, result{"tag": c.DeliveryTag, "ack": c.Ack})
	}
	info, err := ch.QueueDeclarePassive(q, false, true, false, false, nil)
	check(err, "passive declare")
	return result{"confirms": outcomes, "messages": info.Messages,
		"kept": get(ch, q)}
}

// mandatoryReturn: an unroutable mandatory publish comes back through
// NotifyReturn with 312 NO_ROUTE; routable and non-mandatory ones do not.
func mandatoryReturn(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	ch := channel(conn)
	returns := ch.NotifyReturn(make(chan amqp.Return, 4))
	x := prefix + ".mand"
	q := prefix + ".mand.q"
	check(ch.ExchangeDeclare(x, "direct", false, true, false, false, nil), "declare x")
	_, err := ch.QueueDeclare(q, false, true, false, false, nil)
	check(err, "declare q")
	check(ch.QueueBind(q, "here", x, false, nil), "bind")
	publish(ch, x, "here", true, text("routable"))
	publish(ch, x, "nowhere", false, text("dropped"))
	publish(ch, x, "nowhere", true, amqp.Publishing{MessageId: "m-1",
		ContentType: "text/plain", Headers: amqp.Table{"h": int32(1)},
		Body: []byte("unroutable")})
	r := recv(returns, 5*time.Second, "basic.return")
	_, another, _ := poll(returns, 300*time.Millisecond)
	info, err := ch.QueueDeclarePassive(q, false, true, false, false, nil)
	check(err, "passive declare")
	check(ch.ExchangeDelete(x, false, false), "delete x")
	return result{"replyCode": r.ReplyCode, "replyText": r.ReplyText,
		"exchange": r.Exchange, "routingKey": r.RoutingKey,
		"body": string(r.Body), "messageId": r.MessageId,
		"contentType": r.ContentType, "headers": r.Headers,
		"anotherReturn": another, "messages": info.Messages}
}

// directReplyTo: RPC over amq.rabbitmq.reply-to between two connections.
func directReplyTo(url, prefix string) result {
	q := prefix + ".rpc"
	server := dial(url)
	defer server.Close()
	sch := channel(server)
	_, err := sch.QueueDeclare(q, false, true, false, false, nil)
	check(err, "declare")
	requests, err := sch.Consume(q, "", false, false, false, false, nil)
	check(err, "server consume")
	replyTos := make(chan string, 10)
	go func() {
		for d := range requests {
			n, _ := strconv.Atoi(string(d.Body))
			replyTos <- d.ReplyTo
			err := sch.Publish("", d.ReplyTo, false, false, amqp.Publishing{
				CorrelationId: d.CorrelationId,
				Body:          []byte(strconv.Itoa(n * n))})
			if err != nil {
				fail("reply: %v", err)
			}
			if err := d.Ack(false); err != nil {
				fail("ack: %v", err)
			}
		}
	}()

	client := dial(url)
	defer client.Close()
	cch := channel(client)
	replies, err := cch.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	check(err, "consume amq.rabbitmq.reply-to")
	var got []result
	var seenReplyTos []string
	var replyExchange, replyKey string
	for i := 1; i <= 5; i++ {
		publish(cch, "", q, false, amqp.Publishing{
			ReplyTo:       "amq.rabbitmq.reply-to",
			CorrelationId: fmt.Sprintf("c%d", i),
			Body:          []byte(strconv.Itoa(i))})
		d := recv(replies, 5*time.Second, "reply")
		seenReplyTos = append(seenReplyTos, recv(replyTos, 5*time.Second, "reply-to"))
		got = append(got, result{"corr": d.CorrelationId, "body": string(d.Body)})
		replyExchange, replyKey = d.Exchange, d.RoutingKey
	}
	return result{"replies": got, "replyTos": seenReplyTos,
		"replyExchange": replyExchange, "replyRoutingKey": replyKey}
}

// channelError runs op on a fresh channel, expecting the broker to close
// that channel: the error op returns and the one NotifyClose hears.
func channelError(conn *amqp.Connection, op func(ch *amqp.Channel) error) result {
	ch := channel(conn)
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	err := op(ch)
	var notified *amqp.Error
	select {
	case e, ok := <-closed:
		if ok {
			notified = e
		}
	case <-time.After(scaled(5 * time.Second)):
		fail("NotifyClose heard nothing after %v", err)
	}
	e, _ := err.(*amqp.Error)
	return result{"returned": amqpError(err), "notified": amqpError(notified),
		"same": e != nil && notified != nil && *e == *notified}
}

// channelErrors: 404, 406 and 405 each close only their channel.
func channelErrors(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	out := result{}
	out["passiveMissing"] = channelError(conn, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclarePassive(prefix+".missing", false, false, false, false, nil)
		return err
	})
	out["exchangeMissing"] = channelError(conn, func(ch *amqp.Channel) error {
		return ch.ExchangeDeclarePassive(prefix+".nox", "direct", false, false, false, false, nil)
	})
	ch := channel(conn)
	q := prefix + ".q"
	_, err := ch.QueueDeclare(q, false, true, false, false, amqp.Table{"x-max-length": int32(10)})
	check(err, "declare")
	out["stillUsable"] = q
	out["argsMismatch"] = channelError(conn, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(q, false, true, false, false, amqp.Table{"x-max-length": int32(20)})
		return err
	})
	out["durableMismatch"] = channelError(conn, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(q, true, true, false, false, amqp.Table{"x-max-length": int32(10)})
		return err
	})
	x := prefix + ".x"
	check(ch.ExchangeDeclare(x, "direct", false, true, false, false, nil), "declare x")
	out["exchangeTypeMismatch"] = channelError(conn, func(ch *amqp.Channel) error {
		return ch.ExchangeDeclare(x, "fanout", false, true, false, false, nil)
	})
	check(ch.ExchangeDelete(x, false, false), "delete x")

	// exclusive to another connection
	other := dial(url)
	defer other.Close()
	och := channel(other)
	eq := prefix + ".excl"
	_, err = och.QueueDeclare(eq, false, false, true, false, nil)
	check(err, "declare exclusive")
	out["exclusiveDeclare"] = channelError(conn, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(eq, false, false, true, false, nil)
		return err
	})
	out["exclusiveConsume"] = channelError(conn, func(ch *amqp.Channel) error {
		_, err := ch.Consume(eq, "", false, false, false, false, nil)
		return err
	})
	// publishing to a missing exchange is asynchronous: only NotifyClose
	// hears the 404
	out["publishMissingExchange"] = channelError(conn, func(ch *amqp.Channel) error {
		return ch.Publish(prefix+".nox", "k", false, false, text("x"))
	})
	out["wrongUserId"] = channelError(conn, func(ch *amqp.Channel) error {
		return ch.Publish("", q, false, false, amqp.Publishing{UserId: "not-the-login"})
	})

	// the connection and its first channel carry on
	info, err := ch.QueueDeclarePassive(q, false, true, false, false, nil)
	check(err, "passive declare after the errors")
	out["afterErrors"] = info.Name
	_, connErr, _ := poll(connClosed, 100*time.Millisecond)
	out["connClosed"] = connErr || conn.IsClosed()
	return out
}

// tx: publishes and acks inside a transaction take effect on commit only.
func tx(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	ch := channel(conn)
	q := prefix + ".tx"
	_, err := ch.QueueDeclare(q, false, true, false, false, nil)
	check(err, "declare")
	check(ch.Tx(), "tx.select")
	publish(ch, "", q, false, text("rolled-back"))
	check(ch.TxRollback(), "tx.rollback")
	afterRollback := get(ch, q)
	publish(ch, "", q, false, text("committed"))
	other := channel(conn)
	beforeCommit := get(other, q)
	check(ch.TxCommit(), "tx.commit")
	// an ack inside a rolled-back transaction leaves the message unacked
	d, ok, err := ch.Get(q, false)
	check(err, "get")
	if !ok {
		fail("the committed message is missing")
	}
	check(d.Ack(false), "ack")
	check(ch.TxRollback(), "tx.rollback of the ack")
	check(ch.Close(), "close the tx channel")
	requeued, ok, err := other.Get(q, true)
	check(err, "get after close")
	return result{"afterRollback": afterRollback, "beforeCommit": beforeCommit,
		"committed": string(d.Body), "requeued": ok && string(requeued.Body) == "committed",
		"redelivered": requeued.Redelivered}
}

// heartbeat: a 1 s heartbeat survives 4 s of idle on both sides.
func heartbeat(url, prefix string) result {
	conn, err := amqp.DialConfig(url, amqp.Config{Heartbeat: time.Second})
	check(err, "DialConfig")
	defer conn.Close()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch := channel(conn)
	q := prefix + ".hb"
	_, err = ch.QueueDeclare(q, false, true, false, false, nil)
	check(err, "declare")
	e, during, _ := poll(closed, 4*time.Second)
	publish(ch, "", q, false, text("after idle"))
	time.Sleep(50 * time.Millisecond)
	return result{"heartbeat": conn.Config.Heartbeat.Seconds(),
		"closedDuringIdle": during, "closeError": amqpError(e),
		"got": get(ch, q)}
}

// blocked: publish to a broker with a tiny memory watermark until
// connection.blocked; purging the queue from another connection unblocks.
func blocked(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	blocks := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	ch := channel(conn)
	q := prefix + ".flood"
	_, err := ch.QueueDeclare(q, false, false, false, false, nil)
	check(err, "declare")
	body := make([]byte, 256<<10)
	stop := make(chan struct{})
	published := make(chan int, 1)
	go func() {
		n := 0
		defer func() { published <- n }()
		for n < 400 {
			select {
			case <-stop:
				return
			default:
			}
			if err := ch.Publish("", q, false, false, amqp.Publishing{Body: body}); err != nil {
				return
			}
			n++
		}
	}()
	on := recv(blocks, 20*time.Second, "connection.blocked")
	close(stop)
	drain := dial(url)
	defer drain.Close()
	dch := channel(drain)
	deadline := time.After(scaled(20 * time.Second))
	var off amqp.Blocking
	purged := 0
wait:
	for {
		n, err := dch.QueuePurge(q, false)
		check(err, "purge")
		purged += n
		select {
		case off = <-blocks:
			break wait
		case <-deadline:
			fail("no connection.unblocked after purging %d messages", purged)
		case <-time.After(100 * time.Millisecond):
		}
	}
	n := recv(published, 20*time.Second, "the publisher to stop")
	_, err = dch.QueueDelete(q, false, false, false)
	check(err, "delete")
	return result{"blocked": on, "unblocked": off, "publishedBeforeStop": n,
		"purged": purged > 0}
}

// shutdown: prints {"ready": true} once connected, then waits for the
// broker to close the connection (320 CONNECTION_FORCED on shutdown).
func shutdown(url, prefix string) result {
	conn := dial(url)
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch := channel(conn)
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	fmt.Println(`{"ready": true}`)
	os.Stdout.Sync()
	e := recv(closed, 20*time.Second, "NotifyClose on the connection")
	ce, _, _ := poll(chClosed, scaled(2*time.Second))
	return result{"connection": amqpError(e), "channel": amqpError(ce),
		"isClosed": conn.IsClosed()}
}
