// SPDX-License-Identifier: MIT
// Edge cases a Go application meets: misuse of acks, qos, flow, tx and
// confirm modes, reserved names, if-unused / if-empty. Each case runs on
// its own connection; the result records what the call returned and what
// the channel's and the connection's NotifyClose heard.
package main

import (
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func init() {
	scenarios["edges"] = edges
}

// edgeCase runs op on a fresh connection and channel; then a
// passive declare of the default exchange tells whether the channel
// still works.
func edgeCase(url string, op func(conn *amqp.Connection, ch *amqp.Channel) error) result {
	conn := dial(url)
	defer conn.Close()
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch := channel(conn)
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	err := op(conn, ch)
	// a round trip on another channel lets any asynchronous error arrive
	if other, oerr := conn.Channel(); oerr == nil {
		_, _ = other.QueueDeclare("", false, true, true, false, nil)
	}
	ce, _, _ := poll(chClosed, 300*time.Millisecond)
	ke, _, _ := poll(connClosed, 100*time.Millisecond)
	return result{"returned": amqpError(err), "channel": amqpError(ce),
		"connection": amqpError(ke)}
}

func edges(url, prefix string) result {
	out := result{}
	q := prefix + ".edge"
	declare := func(ch *amqp.Channel) {
		_, err := ch.QueueDeclare(q, false, false, false, false, nil)
		check(err, "declare")
	}
	out["ackUnknownTag"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.Ack(99, false)
	})
	out["doubleAck"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		declare(ch)
		publish(ch, "", q, false, text("x"))
		d, ok, err := ch.Get(q, false)
		if err != nil || !ok {
			fail("get: %v %v", ok, err)
		}
		check(d.Ack(false), "first ack")
		return d.Ack(false)
	})
	out["nackMultipleZero"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		declare(ch)
		publish(ch, "", q, false, text("a"))
		publish(ch, "", q, false, text("b"))
		for i := 0; i < 2; i++ {
			if _, ok, err := ch.Get(q, false); err != nil || !ok {
				fail("get: %v %v", ok, err)
			}
		}
		// multiple with tag 0: every unacked delivery so far
		return ch.Nack(0, true, true)
	})
	out["qosPrefetchSize"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.Qos(10, 1000, false)
	})
	out["qosGlobal"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.Qos(10, 0, true)
	})
	out["flowOn"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.Flow(true)
	})
	out["flowOff"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.Flow(false)
	})
	out["commitWithoutTx"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.TxCommit()
	})
	out["rollbackWithoutTx"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.TxRollback()
	})
	out["confirmAfterTx"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		check(ch.Tx(), "tx")
		return ch.Confirm(false)
	})
	out["txAfterConfirm"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		check(ch.Confirm(false), "confirm")
		return ch.Tx()
	})
	out["reservedExchange"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.ExchangeDeclare("amq."+prefix, "direct", false, true, false, false, nil)
	})
	out["reservedQueue"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		_, err := ch.QueueDeclare("amq."+prefix, false, true, false, false, nil)
		return err
	})
	out["deleteDefaultExchange"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.ExchangeDelete("amq.direct", false, false)
	})
	out["unknownExchangeType"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.ExchangeDeclare(prefix+".weird", "no-such-type", false, true, false, false, nil)
	})
	out["queueDeleteIfEmpty"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		declare(ch)
		publish(ch, "", q, false, text("x"))
		time.Sleep(50 * time.Millisecond)
		_, err := ch.QueueDelete(q, false, true, false)
		return err
	})
	out["queueDeleteIfUnused"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		declare(ch)
		_, err := ch.Consume(q, "", true, false, false, false, nil)
		check(err, "consume")
		other := channel(c)
		_, err = other.QueueDelete(q, true, false, false)
		return err
	})
	out["exchangeDeleteIfUnused"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		declare(ch)
		x := prefix + ".used"
		check(ch.ExchangeDeclare(x, "direct", false, false, false, false, nil), "declare x")
		check(ch.QueueBind(q, "k", x, false, nil), "bind")
		err := ch.ExchangeDelete(x, true, false)
		if err == nil {
			return nil
		}
		ch2 := channel(c)
		check(ch2.ExchangeDelete(x, false, false), "delete x")
		return err
	})
	out["queueDeleteMissing"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		_, err := ch.QueueDelete(prefix+".never", false, false, false)
		return err
	})
	out["exchangeDeleteMissing"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.ExchangeDelete(prefix+".never", false, false)
	})
	out["bindMissingQueue"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.QueueBind(prefix+".never", "k", "amq.direct", false, nil)
	})
	out["unbindMissingBinding"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		declare(ch)
		return ch.QueueUnbind(q, "nope", "amq.direct", nil)
	})
	out["exclusiveConsumerTaken"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		declare(ch)
		_, err := ch.Consume(q, "", true, true, false, false, nil)
		check(err, "exclusive consume")
		other := channel(c)
		_, err = other.Consume(q, "", true, false, false, false, nil)
		return err
	})
	out["consumeWhileExclusive"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		declare(ch)
		_, err := ch.Consume(q, "", true, false, false, false, nil)
		check(err, "consume")
		other := channel(c)
		_, err = other.Consume(q, "", true, true, false, false, nil)
		return err
	})
	out["recover"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.Recover(true)
	})
	out["cancelUnknown"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.Cancel("no-such-consumer", false)
	})
	out["publishToReplyToWithoutConsumer"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		return ch.Publish("", "amq.rabbitmq.reply-to", false, false,
			amqp.Publishing{ReplyTo: "amq.rabbitmq.reply-to", Body: []byte("x")})
	})
	out["badExpiration"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		declare(ch)
		return ch.Publish("", q, false, false, amqp.Publishing{Expiration: "soon", Body: []byte("x")})
	})
	out["xMaxLengthString"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(prefix+".bad", false, true, false, false,
			amqp.Table{"x-max-length": "ten"})
		return err
	})
	out["xMaxPriorityTooBig"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(prefix+".prio", false, true, false, false,
			amqp.Table{"x-max-priority": int32(256)})
		return err
	})
	out["xExpiresZero"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(prefix+".exp", false, true, false, false,
			amqp.Table{"x-expires": int32(0)})
		return err
	})
	out["xMessageTtlNegative"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(prefix+".ttl", false, true, false, false,
			amqp.Table{"x-message-ttl": int32(-1)})
		return err
	})
	out["xOverflowBad"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(prefix+".ovf", false, true, false, false,
			amqp.Table{"x-overflow": "explode"})
		return err
	})
	out["xQueueTypeStream"] = edgeCase(url, func(c *amqp.Connection, ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(prefix+".qt", false, true, false, false,
			amqp.Table{"x-queue-type": "whatever"})
		return err
	})
	out["confirmMandatoryOrder"] = func() result {
		conn := dial(url)
		defer conn.Close()
		ch := channel(conn)
		check(ch.Confirm(false), "confirm")
		// unbuffered: the client's reader hands each one over in wire
		// order (with both ready at once, select would pick at random)
		rets := ch.NotifyReturn(make(chan amqp.Return))
		confs := ch.NotifyPublish(make(chan amqp.Confirmation))
		publish(ch, "amq.direct", prefix+".nowhere", true, text("x"))
		var order []string
		for len(order) < 2 {
			select {
			case r := <-rets:
				order = append(order, "return "+r.ReplyText)
			case c := <-confs:
				if c.Ack {
					order = append(order, "ack")
				} else {
					order = append(order, "nack")
				}
			case <-time.After(scaled(5 * time.Second)):
				fail("no return / confirm; got %v", order)
			}
		}
		return result{"order": order}
	}()
	cleanup := dial(url)
	defer cleanup.Close()
	cch := channel(cleanup)
	_, _ = cch.QueueDelete(q, false, false, false)
	return out
}
