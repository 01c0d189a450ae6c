// SPDX-License-Identifier: MIT
// Durable entities and persistent messages across a broker restart, with
// RabbitMQ's Java client (issue 15): `java Persist before URI PREFIX
// TIMEOUT_S` declares and publishes with confirms, takes a few messages
// (acking some, holding others unacked), prints one JSON line and then
// keeps its connection open until stdin closes, so the broker can be
// killed under it; `java Persist after URI PREFIX TIMEOUT_S`, against the
// restarted broker, reads everything back and prints one JSON line.
// tests/interop/test_java.py holds the assertions.

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

public final class Persist {
    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            Scenarios.fail("usage: java Persist before|after AMQP_URI NAME_PREFIX TIMEOUT_S");
        }
        double timeout = Double.parseDouble(args[3]);
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep((long) (timeout * 1000));
            } catch (InterruptedException e) {
                return;
            }
            Scenarios.fail("Persist " + args[0] + " did not finish within " + timeout + " s");
        });
        watchdog.setDaemon(true);
        watchdog.start();
        Scenarios s = new Scenarios(args[1], args[2]);
        try {
            if (args[0].equals("before")) {
                before(s);
            } else {
                after(s);
            }
        } catch (Throwable t) {
            t.printStackTrace();
            Scenarios.fail("Persist " + args[0] + " threw " + t);
        }
        System.exit(0);
    }

    static AMQP.BasicProperties persistent(int i, Integer priority) {
        Map<String, Object> h = new HashMap<>();
        h.put("n", i);
        return new AMQP.BasicProperties.Builder()
                .deliveryMode(2).contentType("text/plain").messageId("m" + i)
                .headers(h).priority(priority).appId("java").build();
    }

    static void before(Scenarios s) throws Exception {
        String p = s.prefix;
        Connection conn = s.factory().newConnection();
        Channel ch = conn.createChannel();
        ch.exchangeDeclare(p + "x", "topic", true);
        ch.exchangeDeclare(p + "x2", "fanout", true);
        ch.queueDeclare(p + "q", true, false, false, null);
        ch.queueDeclare(p + "q2", true, false, false, null);
        ch.queueDeclare(p + "pq", true, false, false,
                Collections.singletonMap("x-max-priority", 5));
        ch.queueBind(p + "q", p + "x", "k.#");
        ch.exchangeBind(p + "x2", p + "x", "e2e.#"); // destination, source
        ch.queueBind(p + "q2", p + "x2", "");
        ch.confirmSelect();
        AMQP.BasicProperties transient_ = new AMQP.BasicProperties.Builder()
                .deliveryMode(1).build();
        for (int i = 0; i < 30; i++) {
            ch.basicPublish(p + "x", "k." + i, persistent(i, null), Scenarios.utf8("m" + i));
            if (i % 6 == 0) {
                ch.basicPublish(p + "x", "k.t", transient_, Scenarios.utf8("t" + i));
            }
        }
        int[] prios = {1, 5, 3, 0, 5, 2};
        for (int i = 0; i < prios.length; i++) {
            ch.basicPublish("", p + "pq", persistent(i, prios[i]), Scenarios.utf8("r" + i));
        }
        ch.basicPublish(p + "x", "e2e.a", persistent(99, null), Scenarios.utf8("via-e2e"));
        ch.waitForConfirmsOrDie(Scenarios.ms(10000));
        // acked: gone for good; held: unacked when the broker dies
        List<String> acked = new ArrayList<>();
        List<String> held = new ArrayList<>();
        while (acked.size() + held.size() < 12) {
            GetResponse r = ch.basicGet(p + "q", false);
            if (r == null) {
                throw new IllegalStateException("queue ran dry");
            }
            String body = Scenarios.str(r.getBody());
            if (acked.size() < 6) {
                ch.basicAck(r.getEnvelope().getDeliveryTag(), false);
                acked.add(body);
            } else {
                held.add(body);
            }
        }
        System.out.println(Json.write(Scenarios.obj("acked", acked, "held", held)));
        System.out.flush();
        while (System.in.read() >= 0) { // until the test closes stdin
        }
        System.exit(0);
    }

    static void after(Scenarios s) throws Exception {
        String p = s.prefix;
        Connection conn = s.factory().newConnection();
        Channel ch = conn.createChannel();
        // passive declares: 404 closes the channel and throws
        ch.exchangeDeclarePassive(p + "x");
        ch.exchangeDeclarePassive(p + "x2");
        int ready = ch.queueDeclarePassive(p + "q").getMessageCount();
        BlockingQueue<Object[]> got = new LinkedBlockingQueue<>();
        ch.basicQos(100);
        ch.basicConsume(p + "q", false, new DefaultConsumer(ch) {
            @Override
            public void handleDelivery(String tag, Envelope e, AMQP.BasicProperties props,
                    byte[] body) throws java.io.IOException {
                getChannel().basicAck(e.getDeliveryTag(), false);
                got.add(new Object[] {Scenarios.str(body), e.isRedeliver(), props});
            }
        });
        List<Object> q = new ArrayList<>();
        for (int i = 0; i < ready; i++) {
            Object[] d = Scenarios.poll(got, 10000, "delivery " + i + " of " + ready);
            AMQP.BasicProperties props = (AMQP.BasicProperties) d[2];
            q.add(Scenarios.obj("body", d[0], "redelivered", d[1],
                    "props", Scenarios.props(props)));
        }
        List<String> pq = new ArrayList<>();
        List<Integer> prios = new ArrayList<>();
        for (GetResponse r; (r = ch.basicGet(p + "pq", true)) != null; ) {
            pq.add(Scenarios.str(r.getBody()));
            prios.add(r.getProps().getPriority());
        }
        GetResponse e2e = ch.basicGet(p + "q2", true);
        // the bindings came back: a new publish routes as before
        ch.confirmSelect();
        ch.basicPublish(p + "x", "e2e.b", persistent(100, null), Scenarios.utf8("after-e2e"));
        ch.waitForConfirmsOrDie(Scenarios.ms(10000));
        GetResponse e2e2 = ch.basicGet(p + "q2", true);
        conn.close();
        System.out.println(Json.write(Scenarios.obj(
                "q", q, "pq", pq, "priorities", prios,
                "e2e", e2e == null ? null : Scenarios.str(e2e.getBody()),
                "e2eAfter", e2e2 == null ? null : Scenarios.str(e2e2.getBody()))));
        System.out.flush();
    }
}
