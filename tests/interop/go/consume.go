// SPDX-License-Identifier: MIT
// Consumers: ack / nack / reject, prefetch, cancel notification, a large
// message, competing consumers.
package main

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func init() {
	scenarios["ack_nack_reject"] = ackNackReject
	scenarios["qos"] = qos
	scenarios["consumer_cancel"] = consumerCancel
	scenarios["large_message"] = largeMessage
	scenarios["competing_consumers"] = competingConsumers
}

// ackNackReject: manual ack, nack with requeue (redelivered), reject
// without requeue (dropped).
func ackNackReject(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	ch := channel(conn)
	q := prefix + ".anr"
	_, err := ch.QueueDeclare(q, false, false, false, false, nil)
	check(err, "declare")
	for _, b := range []string{"ack-me", "nack-me", "reject-me"} {
		publish(ch, "", q, false, text(b))
	}
	deliveries, err := ch.Consume(q, "", false, false, false, false, nil)
	check(err, "consume")
	var seen []result
	for len(seen) < 4 {
		d := recv(deliveries, 5*time.Second, "delivery")
		seen = append(seen, result{"body": string(d.Body),
			"redelivered": d.Redelivered, "deliveryTag": d.DeliveryTag})
		switch {
		case string(d.Body) == "ack-me" || d.Redelivered:
			check(d.Ack(false), "ack")
		case string(d.Body) == "nack-me":
			check(d.Nack(false, true), "nack")
		default:
			check(d.Reject(false), "reject")
		}
	}
	_, extra, _ := poll(deliveries, 200*time.Millisecond)
	check(ch.Close(), "close the channel")
	ch = channel(conn)
	n, err := ch.QueueDelete(q, false, false, false)
	check(err, "delete")
	return result{"deliveries": seen, "extra": extra,
		"messagesAfter": n}
}

// qos: basic.qos prefetch 3 holds back the 4th delivery until an ack.
func qos(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	ch := channel(conn)
	q := prefix + ".qos"
	_, err := ch.QueueDeclare(q, false, false, false, false, nil)
	check(err, "declare")
	const total = 10
	for i := 0; i < total; i++ {
		publish(ch, "", q, false, text(strconv.Itoa(i)))
	}
	check(ch.Qos(3, 0, false), "qos")
	deliveries, err := ch.Consume(q, "", false, false, false, false, nil)
	check(err, "consume")
	var held []amqp.Delivery
	for i := 0; i < 3; i++ {
		held = append(held, recv(deliveries, 5*time.Second, "delivery"))
	}
	_, fourthEarly, _ := poll(deliveries, 300*time.Millisecond)
	check(held[0].Ack(false), "ack")
	held = held[1:]
	held = append(held, recv(deliveries, 5*time.Second, "delivery after an ack"))
	_, fifthEarly, _ := poll(deliveries, 300*time.Millisecond)
	order := []int{}
	order = append(order, 0, 1, 2, 3)
	// ack everything, one at a time, taking the rest in order
	for len(order) < total || len(held) > 0 {
		check(held[0].Ack(false), "ack")
		held = held[1:]
		if len(order) < total {
			d := recv(deliveries, 5*time.Second, "delivery")
			n, _ := strconv.Atoi(string(d.Body))
			order = append(order, n)
			held = append(held, d)
		}
		if len(held) > 3 {
			fail("more than 3 unacked deliveries")
		}
	}
	check(ch.Close(), "close")
	ch = channel(conn)
	n, err := ch.QueueDelete(q, false, false, false)
	check(err, "delete")
	return result{"fourthBeforeAck": fourthEarly, "fifthBeforeAck": fifthEarly,
		"order": order, "messagesAfter": n}
}

// consumerCancel: deleting the queue sends basic.cancel, which
// NotifyCancel reports; the delivery channel closes, the channel stays open.
func consumerCancel(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	ch := channel(conn)
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	cancels := ch.NotifyCancel(make(chan string, 1))
	q := prefix + ".cancel"
	_, err := ch.QueueDeclare(q, false, false, false, false, nil)
	check(err, "declare")
	deliveries, err := ch.Consume(q, prefix+".ctag", false, false, false, false, nil)
	check(err, "consume")
	other := channel(conn)
	publish(other, "", q, false, text("before"))
	d := recv(deliveries, 5*time.Second, "delivery")
	check(d.Ack(false), "ack")
	n, err := other.QueueDelete(q, false, false, false)
	check(err, "delete")
	tag := recv(cancels, 5*time.Second, "NotifyCancel")
	_, _, deliveriesClosed := poll(deliveries, scaled(2*time.Second))
	_, chErr, _ := poll(chClosed, 200*time.Millisecond)
	// the channel still works
	_, err = ch.QueueDeclare("", false, true, true, false, nil)
	return result{"cancelledTag": tag, "deletedMessages": n,
		"deliveriesClosed": deliveriesClosed, "channelClosed": chErr,
		"declareAfter": amqpError(err)}
}

// largeMessage: 2 MiB through basic.get and basic.consume.
func largeMessage(url, prefix string) result {
	conn := dial(url)
	defer conn.Close()
	ch := channel(conn)
	q := prefix + ".big"
	_, err := ch.QueueDeclare(q, false, true, false, false, nil)
	check(err, "declare")
	body := make([]byte, 2<<20)
	for i := range body {
		body[i] = byte(i*7 + i>>11)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(body))
	describe := func(d amqp.Delivery) result {
		return result{"length": len(d.Body),
			"sha256":    fmt.Sprintf("%x", sha256.Sum256(d.Body)),
			"messageId": d.MessageId}
	}
	publish(ch, "", q, false, amqp.Publishing{MessageId: "big-1", Body: body})
	publish(ch, "", q, false, amqp.Publishing{MessageId: "big-2", Body: body})
	d, ok, err := ch.Get(q, false)
	check(err, "get")
	if !ok {
		fail("the first message is missing")
	}
	check(d.Ack(false), "ack")
	viaGet := describe(d)
	deliveries, err := ch.Consume(q, "", true, false, false, false, nil)
	check(err, "consume")
	viaConsume := describe(recv(deliveries, 10*time.Second, "the second message"))
	return result{"sent": result{"length": len(body), "sha256": sum},
		"frameSize": conn.Config.FrameSize,
		"viaGet":    viaGet, "viaConsume": viaConsume}
}

// competingConsumers: 5,000 messages shared by two consumers on two
// connections: every message delivered once, each consumer in order.
func competingConsumers(url, prefix string) result {
	const total = 5000
	q := prefix + ".work"
	pub := dial(url)
	defer pub.Close()
	pch := channel(pub)
	_, err := pch.QueueDeclare(q, false, false, false, false, nil)
	check(err, "declare")
	type seen struct {
		ids     []int
		inOrder bool
	}
	results := make([]seen, 2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := 0
	done := make(chan struct{})
	for c := 0; c < 2; c++ {
		conn := dial(url)
		defer conn.Close()
		ch := channel(conn)
		check(ch.Qos(50, 0, false), "qos")
		deliveries, err := ch.Consume(q, "", false, false, false, false, nil)
		check(err, "consume")
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			results[c].inOrder = true
			last := -1
			for {
				select {
				case d, ok := <-deliveries:
					if !ok {
						return
					}
					n, _ := strconv.Atoi(string(d.Body))
					if n <= last {
						results[c].inOrder = false
					}
					last = n
					results[c].ids = append(results[c].ids, n)
					if err := d.Ack(false); err != nil {
						fail("ack: %v", err)
					}
					mu.Lock()
					count++
					if count == total {
						close(done)
					}
					mu.Unlock()
				case <-done:
					return
				}
			}
		}(c)
	}
	for i := 0; i < total; i++ {
		publish(pch, "", q, false, text(strconv.Itoa(i)))
	}
	select {
	case <-done:
	case <-time.After(scaled(30 * time.Second)):
		mu.Lock()
		n := count
		mu.Unlock()
		fail("only %d of %d messages consumed within the deadline", n, total)
	}
	wg.Wait()
	got := map[int]int{}
	counts := []int{}
	order := []bool{}
	for _, r := range results {
		counts = append(counts, len(r.ids))
		order = append(order, r.inOrder)
		for _, n := range r.ids {
			got[n]++
		}
	}
	missing, dups := 0, 0
	for i := 0; i < total; i++ {
		if got[i] == 0 {
			missing++
		} else if got[i] > 1 {
			dups += got[i] - 1
		}
	}
	n, err := pch.QueueDelete(q, false, false, false)
	check(err, "delete")
	return result{"counts": counts, "inOrder": order, "distinct": len(got),
		"missing": missing, "duplicates": dups, "leftInQueue": n}
}
