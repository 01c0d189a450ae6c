// SPDX-License-Identifier: MIT
// RabbitMQ's Java client (com.rabbitmq:amqp-client) against the broker:
// `java Scenarios NAME URI PREFIX [TIMEOUT_S]` runs one scenario and prints
// its result as one JSON line on stdout (tests/interop/test_java.py holds
// the assertions). Every blocking call has a deadline, and a watchdog ends
// the JVM if the whole scenario overruns TIMEOUT_S.

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BlockedListener;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.LongString;
import com.rabbitmq.client.impl.LongStringHelper;
import com.rabbitmq.client.Method;
import com.rabbitmq.client.Recoverable;
import com.rabbitmq.client.RecoveryListener;
import com.rabbitmq.client.RpcClient;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

public final class Scenarios {
    /** tests/proto/broker.py's SLOW: waits on the broker grow by it. */
    static final double SLOW = Double.parseDouble(
            System.getenv().getOrDefault("WARREN_TEST_SLOW", "1"));

    final String uri;
    final String prefix;

    Scenarios(String uri, String prefix) {
        this.uri = uri;
        this.prefix = prefix;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            fail("usage: java Scenarios NAME AMQP_URI NAME_PREFIX [TIMEOUT_S]");
        }
        double timeout = args.length > 3 ? Double.parseDouble(args[3]) : 30;
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep((long) (timeout * 1000));
            } catch (InterruptedException e) {
                return;
            }
            fail("scenario " + args[0] + " did not finish within " + timeout + " s");
        });
        watchdog.setDaemon(true);
        watchdog.start();
        Scenarios s = new Scenarios(args[1], args[2]);
        Map<String, Object> r;
        try {
            r = s.run(args[0]);
        } catch (Throwable t) {
            t.printStackTrace();
            fail("scenario " + args[0] + " threw " + t);
            return;
        }
        System.out.println(Json.write(r));
        System.out.flush();
        System.exit(0);
    }

    static void fail(String msg) {
        System.err.println("FAIL: " + msg);
        System.err.flush();
        Runtime.getRuntime().halt(1);
    }

    Map<String, Object> run(String name) throws Exception {
        switch (name) {
        case "connect_close": return connectClose();
        case "declare_bind": return declareBind();
        case "properties": return properties();
        case "headers_table": return headersTable();
        case "ack_nack_reject": return ackNackReject();
        case "prefetch": return prefetch();
        case "confirms": return confirms();
        case "reject_publish": return rejectPublish();
        case "mandatory_return": return mandatoryReturn();
        case "rpc": return rpc();
        case "channel_errors": return channelErrors();
        case "consumer_cancel": return consumerCancel();
        case "blocked": return blocked();
        case "recovery": return recovery();
        case "large_message": return largeMessage();
        case "competing_consumers": return competingConsumers();
        case "heartbeat": return heartbeat();
        case "edge_cases": return edgeCases();
        case "misc": return misc();
        case "dead_letter": return deadLetter();
        default: throw new IllegalArgumentException("no scenario " + name);
        }
    }

    // ---- helpers ----

    static long ms(long base) {
        return (long) (base * SLOW);
    }

    /** A factory for the broker URI with a deadline on every blocking step. */
    ConnectionFactory factory() throws Exception {
        ConnectionFactory f = new ConnectionFactory();
        f.setUri(uri);
        f.setConnectionTimeout((int) ms(5000));
        f.setHandshakeTimeout((int) ms(5000));
        f.setChannelRpcTimeout((int) ms(10000));
        f.setShutdownTimeout((int) ms(5000));
        return f;
    }

    static <T> T poll(BlockingQueue<T> q, long base, String what) throws Exception {
        T v = q.poll(ms(base), TimeUnit.MILLISECONDS);
        if (v == null) {
            throw new IllegalStateException("timed out after " + ms(base) + " ms waiting for " + what);
        }
        return v;
    }

    static void await(CountDownLatch l, long base, String what) throws Exception {
        if (!l.await(ms(base), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("timed out after " + ms(base) + " ms waiting for " + what);
        }
    }

    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x & 0xff));
        }
        return sb.toString();
    }

    static String sha256(byte[] b) throws Exception {
        return hex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** A header value with its Java type: {"t": class, "v": value}. */
    static Object typed(Object v) {
        if (v == null) {
            return obj("t", "null");
        }
        if (v instanceof LongString) {
            return obj("t", "LongString", "v", v.toString());
        }
        if (v instanceof byte[]) {
            return obj("t", "byte[]", "v", hex((byte[]) v));
        }
        if (v instanceof Date) {
            return obj("t", "Date", "v", ((Date) v).getTime());
        }
        if (v instanceof Float || v instanceof BigDecimal) {
            return obj("t", v.getClass().getSimpleName(), "v", v.toString());
        }
        if (v instanceof Map) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                m.put(String.valueOf(e.getKey()), typed(e.getValue()));
            }
            return obj("t", "Map", "v", m);
        }
        if (v instanceof List) {
            List<Object> l = new ArrayList<>();
            for (Object o : (List<?>) v) {
                l.add(typed(o));
            }
            return obj("t", "List", "v", l);
        }
        return obj("t", v.getClass().getSimpleName(), "v", v);
    }

    /** Every BasicProperties field, null when unset; headers as strings. */
    static Map<String, Object> props(AMQP.BasicProperties p) {
        Map<String, Object> h = null;
        if (p.getHeaders() != null) {
            h = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : p.getHeaders().entrySet()) {
                h.put(e.getKey(), String.valueOf(e.getValue()));
            }
        }
        return obj("contentType", p.getContentType(),
                "contentEncoding", p.getContentEncoding(),
                "headers", h,
                "deliveryMode", p.getDeliveryMode(),
                "priority", p.getPriority(),
                "correlationId", p.getCorrelationId(),
                "replyTo", p.getReplyTo(),
                "expiration", p.getExpiration(),
                "messageId", p.getMessageId(),
                "timestamp", p.getTimestamp() == null ? null : p.getTimestamp().getTime(),
                "type", p.getType(),
                "userId", p.getUserId(),
                "appId", p.getAppId(),
                "clusterId", p.getClusterId());
    }

    static Map<String, Object> envelope(Envelope e) {
        return obj("deliveryTag", e.getDeliveryTag(), "redelivered", e.isRedeliver(),
                "exchange", e.getExchange(), "routingKey", e.getRoutingKey());
    }

    /** One delivery as seen by a DefaultConsumer. */
    static final class Delivery {
        final Envelope env;
        final AMQP.BasicProperties props;
        final byte[] body;

        Delivery(Envelope env, AMQP.BasicProperties props, byte[] body) {
            this.env = env;
            this.props = props;
            this.body = body;
        }
    }

    /** A DefaultConsumer that queues every delivery. */
    static final class Collector extends DefaultConsumer {
        final BlockingQueue<Delivery> got = new LinkedBlockingQueue<>();

        Collector(Channel ch) {
            super(ch);
        }

        @Override
        public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties p, byte[] body) {
            got.add(new Delivery(env, p, body));
        }
    }

    interface Op {
        void run() throws Exception;
    }

    /** Run op, which must fail with a channel error; describe the error. */
    static Map<String, Object> channelError(Connection conn, Channel ch, Op op) {
        try {
            op.run();
        } catch (Exception e) {
            Throwable t = e;
            while (t != null && !(t instanceof ShutdownSignalException)) {
                t = t.getCause();
            }
            Map<String, Object> r = obj("exception", e.getClass().getName());
            if (t != null) {
                ShutdownSignalException sse = (ShutdownSignalException) t;
                r.put("hard", sse.isHardError());
                r.put("byApp", sse.isInitiatedByApplication());
                Method m = sse.getReason();
                if (m instanceof AMQP.Channel.Close) {
                    AMQP.Channel.Close c = (AMQP.Channel.Close) m;
                    r.put("code", c.getReplyCode());
                    r.put("text", c.getReplyText());
                    r.put("classId", c.getClassId());
                    r.put("methodId", c.getMethodId());
                } else {
                    r.put("reason", String.valueOf(m));
                }
            }
            r.put("channelOpen", ch.isOpen());
            r.put("connectionOpen", conn.isOpen());
            return r;
        }
        return obj("exception", null);
    }


    interface ChOp {
        void run(Channel ch) throws Exception;
    }

    /** Run op on a fresh channel of a fresh connection: "ok", or the
     *  channel or connection error it ended with. */
    Map<String, Object> outcome(ChOp op) throws Exception {
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        Map<String, Object> r = obj("ok", true);
        try {
            op.run(ch);
            // a sync round trip, so that an asynchronous error shows here
            ch.queueDeclare();
        } catch (Exception e) {
            r = describe(e);
        }
        r.put("channelOpen", ch.isOpen());
        r.put("connectionOpen", conn.isOpen());
        if (conn.isOpen()) {
            conn.close((int) ms(5000));
        }
        return r;
    }

    static Map<String, Object> describe(Throwable e) {
        Map<String, Object> r = obj("exception", e.getClass().getName());
        Throwable t = e;
        while (t != null && !(t instanceof ShutdownSignalException)) {
            t = t.getCause();
        }
        if (t == null) {
            r.put("message", String.valueOf(e.getMessage()));
            return r;
        }
        ShutdownSignalException sse = (ShutdownSignalException) t;
        Method m = sse.getReason();
        r.put("hard", sse.isHardError());
        if (m instanceof AMQP.Channel.Close) {
            AMQP.Channel.Close c = (AMQP.Channel.Close) m;
            r.put("code", c.getReplyCode());
            r.put("text", c.getReplyText());
            r.put("classId", c.getClassId());
            r.put("methodId", c.getMethodId());
        } else if (m instanceof AMQP.Connection.Close) {
            AMQP.Connection.Close c = (AMQP.Connection.Close) m;
            r.put("code", c.getReplyCode());
            r.put("text", c.getReplyText());
            r.put("classId", c.getClassId());
            r.put("methodId", c.getMethodId());
        } else {
            r.put("reason", String.valueOf(m));
        }
        return r;
    }

    /** x-death and the x-first-death-* headers with their Java types. */
    Map<String, Object> deadLetter() throws Exception {
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        String work = prefix + ".work";
        String dlq = prefix + ".dlq";
        ch.queueDeclare(dlq, false, false, true, null);
        ch.queueDeclare(work, false, false, true, obj("x-dead-letter-exchange", "",
                "x-dead-letter-routing-key", dlq));
        ch.basicPublish("", work, new AMQP.BasicProperties.Builder()
                .headers(obj("keep", "me")).expiration("60000").build(), utf8("rejected"));
        GetResponse g = null;
        long deadline = System.currentTimeMillis() + ms(5000);
        while (g == null && System.currentTimeMillis() < deadline) {
            g = ch.basicGet(work, false);
        }
        ch.basicReject(g.getEnvelope().getDeliveryTag(), false);
        GetResponse d = null;
        deadline = System.currentTimeMillis() + ms(5000);
        while (d == null && System.currentTimeMillis() < deadline) {
            d = ch.basicGet(dlq, true);
        }
        Map<String, Object> h = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : d.getProps().getHeaders().entrySet()) {
            h.put(e.getKey(), typed(e.getValue()));
        }
        conn.close((int) ms(5000));
        return obj("headers", h, "expiration", d.getProps().getExpiration(),
                "routingKey", d.getEnvelope().getRoutingKey());
    }

    /** Smaller things a Java application reads back from the broker. */
    Map<String, Object> misc() throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        String x = prefix + ".";
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        String q = x + "misc";
        ch.queueDeclare(q, false, false, false, null);
        for (int i = 0; i < 3; i++) {
            ch.basicPublish("", q, null, utf8("m" + i));
        }
        GetResponse g = ch.basicGet(q, true);
        r.put("getMessageCount", g == null ? null : g.getMessageCount());
        // consume-ok and cancel-ok reach the consumer; counts follow
        BlockingQueue<String> calls = new LinkedBlockingQueue<>();
        String tag = ch.basicConsume(q, false, "my-tag", new DefaultConsumer(ch) {
            @Override
            public void handleConsumeOk(String ct) {
                calls.add("consumeOk:" + ct);
            }

            @Override
            public void handleCancelOk(String ct) {
                calls.add("cancelOk:" + ct);
            }

            @Override
            public void handleDelivery(String ct, Envelope env, AMQP.BasicProperties p, byte[] b) {
                calls.add("delivery:" + str(b) + ":" + env.isRedeliver());
            }
        });
        List<Object> seen = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            seen.add(poll(calls, 5000, "consume-ok and deliveries"));
        }
        AMQP.Queue.DeclareOk during = ch.queueDeclarePassive(q);
        r.put("whileConsuming", obj("messageCount", during.getMessageCount(),
                "consumerCount", during.getConsumerCount()));
        ch.basicCancel(tag);
        seen.add(poll(calls, 5000, "cancel-ok"));
        r.put("consumerCalls", seen);
        // the two deliveries stay unacked after the cancel; closing the
        // channel puts them back, redelivered
        Channel ch2 = conn.createChannel();
        r.put("afterCancel", ch2.basicGet(q, true) == null);
        ch.close();
        GetResponse back = ch2.basicGet(q, true);
        r.put("afterClose", back == null ? null : obj("body", str(back.getBody()),
                "redelivered", back.getEnvelope().isRedeliver(),
                "messageCount", back.getMessageCount()));
        ch2.queueDelete(q);
        // amq.* exchanges: redeclare as they are, passive, or differently
        r.put("redeclareAmqDirect", outcome(c -> c.exchangeDeclare("amq.direct", "direct", true)));
        r.put("passiveAmqTopic", outcome(c -> c.exchangeDeclarePassive("amq.topic")));
        r.put("redeclareAmqDirectTransient",
                outcome(c -> c.exchangeDeclare("amq.direct", "direct", false)));
        r.put("declareDefaultExchange", outcome(c -> c.exchangeDeclare("", "direct", true)));
        r.put("passiveDefaultExchange", outcome(c -> c.exchangeDeclarePassive("")));
        // an exclusive queue goes with its connection
        Connection owner = factory().newConnection();
        owner.createChannel().queueDeclare(x + "excl", false, true, false, null);
        owner.close((int) ms(5000));
        r.put("exclusiveAfterOwnerClosed", outcome(c -> c.queueDeclarePassive(x + "excl")));
        // per-message TTL 0: expires unless a consumer takes it at once
        Channel ch3 = conn.createChannel();
        ch3.queueDeclare(x + "ttl", false, false, true, null);
        ch3.basicPublish("", x + "ttl",
                new AMQP.BasicProperties.Builder().expiration("0").build(), utf8("gone"));
        ch3.basicPublish("", x + "ttl", null, utf8("kept"));
        GetResponse t = ch3.basicGet(x + "ttl", true);
        r.put("ttlZero", t == null ? null : str(t.getBody()));
        // consumer priorities: the x-priority 10 consumer gets them all
        // while it has credit
        ch3.basicQos(5);
        BlockingQueue<String> prio = new LinkedBlockingQueue<>();
        ch3.basicConsume(x + "ttl", false, "low", false, false, obj("x-priority", 1),
                new DefaultConsumer(ch3) {
                    @Override
                    public void handleDelivery(String ct, Envelope e, AMQP.BasicProperties p, byte[] b) {
                        prio.add(ct);
                    }
                });
        ch3.basicConsume(x + "ttl", false, "high", false, false, obj("x-priority", 10),
                new DefaultConsumer(ch3) {
                    @Override
                    public void handleDelivery(String ct, Envelope e, AMQP.BasicProperties p, byte[] b) {
                        prio.add(ct);
                    }
                });
        for (int i = 0; i < 4; i++) {
            ch3.basicPublish("", x + "ttl", null, utf8("p" + i));
        }
        List<Object> prioTags = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            prioTags.add(poll(prio, 5000, "a delivery to a prioritised consumer"));
        }
        r.put("priorityConsumers", prioTags);
        // channel.close with the application's own reason
        Channel ch4 = conn.createChannel();
        ch4.close(200, "app says bye");
        r.put("customCloseOpen", ch4.isOpen());
        r.put("customCloseText", ((AMQP.Channel.Close) ch4.getCloseReason().getReason()).getReplyText());
        conn.close((int) ms(5000));
        // frame_max 4096 from the client: 100 KiB in 25 body frames
        ConnectionFactory small = factory();
        small.setRequestedFrameMax(4096);
        Connection sc = small.newConnection();
        Channel sch = sc.createChannel();
        String sq = sch.queueDeclare().getQueue();
        byte[] body = new byte[100 * 1024];
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) i;
        }
        sch.basicPublish("", sq, new AMQP.BasicProperties.Builder().headers(
                obj("pad", new String(new char[3000]).replace('\0', 'p'))).build(), body);
        GetResponse sg = null;
        long deadline = System.currentTimeMillis() + ms(5000);
        while (sg == null && System.currentTimeMillis() < deadline) {
            sg = sch.basicGet(sq, true);
        }
        r.put("smallFrames", obj("frameMax", sc.getFrameMax(),
                "same", sg != null && Arrays.equals(sg.getBody(), body)));
        sc.abort((int) ms(5000));
        r.put("abortedOpen", sc.isOpen());
        return r;
    }

    /** Edge cases a Java application runs into, each on its own connection. */
    Map<String, Object> edgeCases() throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        String x = prefix + ".";
        Connection keep = factory().newConnection();
        Channel kc = keep.createChannel();
        kc.queueDeclare(x + "q", false, false, false, null);
        kc.exchangeDeclare(x + "internal", "fanout", false, false, true, null);
        r.put("prefetchSize", outcome(ch -> ch.basicQos(4096, 10, false)));
        r.put("globalQos", outcome(ch -> ch.basicQos(0, 10, true)));
        r.put("immediate", outcome(ch -> ch.basicPublish("", x + "q", false, true, null, utf8("i"))));
        r.put("amqPrefixExchange", outcome(ch -> ch.exchangeDeclare("amq." + x, "direct")));
        r.put("deleteAmqDirect", outcome(ch -> ch.exchangeDelete("amq.direct")));
        r.put("amqPrefixQueue", outcome(ch -> ch.queueDeclare("amq." + x, false, false, true, null)));
        r.put("unknownExchangeType", outcome(ch -> ch.exchangeDeclare(x + "bad", "x-no-such-type")));
        r.put("publishInternal", outcome(ch -> ch.basicPublish(x + "internal", "", null, utf8("i"))));
        r.put("bindMissingExchange", outcome(ch -> ch.queueBind(x + "q", x + "nox", "k")));
        r.put("bindMissingQueue", outcome(ch -> ch.queueBind(x + "noq", "amq.direct", "k")));
        r.put("unbindMissingBinding", outcome(ch -> ch.queueUnbind(x + "q", "amq.direct", "nothing")));
        r.put("unknownDeliveryTag", outcome(ch -> ch.basicAck(99, false)));
        r.put("doubleAck", outcome(ch -> {
            ch.basicPublish("", x + "q", null, utf8("d"));
            GetResponse g = null;
            long deadline = System.currentTimeMillis() + ms(5000);
            while (g == null && System.currentTimeMillis() < deadline) {
                g = ch.basicGet(x + "q", false);
            }
            ch.basicAck(g.getEnvelope().getDeliveryTag(), false);
            ch.basicAck(g.getEnvelope().getDeliveryTag(), false);
        }));
        r.put("duplicateConsumerTag", outcome(ch -> {
            ch.basicConsume(x + "q", true, "tag-1", new DefaultConsumer(ch));
            ch.basicConsume(x + "q", true, "tag-1", new DefaultConsumer(ch));
        }));
        r.put("exclusiveConsumerTaken", outcome(ch -> {
            Channel other = ch.getConnection().createChannel();
            other.basicConsume(x + "q", true, "", false, true, null, new DefaultConsumer(other));
            ch.basicConsume(x + "q", true, new DefaultConsumer(ch));
        }));
        r.put("txCommitWithoutSelect", outcome(ch -> ch.txCommit()));
        r.put("confirmAfterTx", outcome(ch -> {
            ch.txSelect();
            ch.confirmSelect();
        }));
        r.put("txAfterConfirm", outcome(ch -> {
            ch.confirmSelect();
            ch.txSelect();
        }));
        r.put("negativeTtl", outcome(ch -> ch.queueDeclare(x + "ttl", false, false, true,
                obj("x-message-ttl", -1))));
        r.put("stringMaxLength", outcome(ch -> ch.queueDeclare(x + "ml", false, false, true,
                obj("x-max-length", "ten"))));
        r.put("badOverflow", outcome(ch -> ch.queueDeclare(x + "ov", false, false, true,
                obj("x-overflow", "sideways"))));
        r.put("badExpires", outcome(ch -> ch.queueDeclare(x + "ex", false, false, true,
                obj("x-expires", 0))));
        r.put("maxPriorityTooBig", outcome(ch -> ch.queueDeclare(x + "pr", false, false, true,
                obj("x-max-priority", 256))));
        r.put("purgeMissing", outcome(ch -> ch.queuePurge(x + "noq")));
        r.put("deleteMissingQueue", outcome(ch -> ch.queueDelete(x + "noq")));
        r.put("deleteMissingExchange", outcome(ch -> ch.exchangeDelete(x + "nox")));
        r.put("deleteIfUnused", outcome(ch -> {
            ch.basicConsume(x + "q", true, new DefaultConsumer(ch));
            Channel other = ch.getConnection().createChannel();
            other.queueDelete(x + "q", true, false);
        }));
        r.put("deleteIfEmpty", outcome(ch -> {
            ch.queueDeclare(x + "full", false, false, true, null);
            ch.basicPublish("", x + "full", null, utf8("x"));
            ch.queueDelete(x + "full", false, true);
        }));
        r.put("exchangeDeleteIfUnused", outcome(ch -> {
            ch.exchangeDeclare(x + "used", "direct", false, true, null);
            ch.queueBind(x + "q", x + "used", "k");
            ch.exchangeDelete(x + "used", true);
        }));
        r.put("redeclarePassiveMismatch", outcome(ch ->
                ch.exchangeDeclarePassive(x + "internal")));
        r.put("internalMismatch", outcome(ch ->
                ch.exchangeDeclare(x + "internal", "fanout", false, false, false, null)));
        r.put("autoDeleteMismatch", outcome(ch ->
                ch.exchangeDeclare(x + "internal", "fanout", false, true, true, null)));
        r.put("exchangeArgsMismatch", outcome(ch ->
                ch.exchangeDeclare(x + "internal", "fanout", false, false, true,
                        obj("alternate-exchange", "ae"))));
        r.put("publishDefaultExchangeMissingQueue", outcome(ch ->
                ch.basicPublish("", x + "noq", null, utf8("x"))));
        r.put("bindDefaultExchange", outcome(ch -> ch.queueBind(x + "q", "", "k")));
        r.put("getMissingQueue", outcome(ch -> ch.basicGet(x + "noq", true)));
        r.put("consumeMissingQueue", outcome(ch ->
                ch.basicConsume(x + "noq", true, new DefaultConsumer(ch))));
        r.put("recover", outcome(ch -> ch.basicRecover(true)));
        r.put("recoverNoRequeue", outcome(ch -> ch.basicRecover(false)));
        r.put("e2eMissingSource", outcome(ch -> ch.exchangeBind("amq.fanout", x + "nox", "")));
        r.put("e2eMissingDestination", outcome(ch -> ch.exchangeBind(x + "nox", "amq.fanout", "")));
        r.put("messageCount", kc.messageCount(x + "q"));
        r.put("consumerCount", kc.consumerCount(x + "q"));
        ConnectionFactory bad = factory();
        bad.setPassword("wrong");
        try {
            bad.newConnection().close();
            r.put("wrongPassword", "connected");
        } catch (Exception e) {
            r.put("wrongPassword", describe(e));
        }
        ConnectionFactory novh = factory();
        novh.setVirtualHost(x + "novhost");
        try {
            novh.newConnection().close();
            r.put("missingVhost", "connected");
        } catch (Exception e) {
            r.put("missingVhost", describe(e));
        }
        kc.queueDelete(x + "q");
        kc.exchangeDelete(x + "internal");
        keep.close((int) ms(5000));
        return r;
    }

    // ---- scenarios ----

    /** setUri, what the client reads from connection.start/tune, clean close. */
    Map<String, Object> connectClose() throws Exception {
        ConnectionFactory f = factory();
        Connection conn = f.newConnection("java-interop");
        Map<String, Object> sp = conn.getServerProperties();
        Map<String, Object> types = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : sp.entrySet()) {
            types.put(e.getKey(), e.getValue() == null ? null : e.getValue().getClass().getSimpleName());
        }
        Map<String, Object> caps = new LinkedHashMap<>();
        Object c = sp.get("capabilities");
        if (c instanceof Map) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) c).entrySet()) {
                caps.put(String.valueOf(e.getKey()), e.getValue());
            }
        }
        Channel ch = conn.createChannel();
        int number = ch.getChannelNumber();
        ch.close();
        boolean chOpen = ch.isOpen();
        Map<String, Object> r = obj("serverPropertyTypes", types, "capabilities", caps,
                "product", String.valueOf(sp.get("product")),
                "frameMax", conn.getFrameMax(), "channelMax", conn.getChannelMax(),
                "heartbeat", conn.getHeartbeat(), "vhost", f.getVirtualHost(),
                "username", f.getUsername(), "clientName", conn.getClientProvidedName(),
                "channelNumber", number, "channelOpenAfterClose", chOpen);
        conn.close((int) ms(5000));
        ShutdownSignalException why = conn.getCloseReason();
        AMQP.Connection.Close close = (AMQP.Connection.Close) why.getReason();
        r.put("openAfterClose", conn.isOpen());
        r.put("close", obj("byApp", why.isInitiatedByApplication(), "hard", why.isHardError(),
                "code", close.getReplyCode(), "text", close.getReplyText()));
        return r;
    }

    /** Every exchange type, queue and exchange-to-exchange bindings. */
    Map<String, Object> declareBind() throws Exception {
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        String[] types = {"direct", "fanout", "topic", "headers"};
        Map<String, Object> queues = new LinkedHashMap<>();
        for (String t : types) {
            ch.exchangeDeclare(prefix + "." + t, t, false, false, null);
            AMQP.Queue.DeclareOk ok = ch.queueDeclare(prefix + ".q." + t, false, false, true, null);
            queues.put(t, obj("queue", ok.getQueue(), "messageCount", ok.getMessageCount(),
                    "consumerCount", ok.getConsumerCount()));
        }
        ch.exchangeDeclarePassive(prefix + ".topic");
        String x = prefix + ".";
        ch.queueBind(x + "q.direct", x + "direct", "k");
        ch.queueBind(x + "q.fanout", x + "fanout", "");
        ch.queueBind(x + "q.topic", x + "topic", "a.*.c");
        Map<String, Object> match = obj("x-match", "all", "h", "v", "n", 1);
        ch.queueBind(x + "q.headers", x + "headers", "", match);
        // exchange-to-exchange: e2e (topic) -route.#-> fanout
        ch.exchangeDeclare(x + "e2e", "topic", false, false, null);
        ch.exchangeBind(x + "fanout", x + "e2e", "route.#");

        ch.basicPublish(x + "direct", "k", null, utf8("direct-0"));
        ch.basicPublish(x + "direct", "other", null, utf8("direct-x"));
        ch.basicPublish(x + "fanout", "a", null, utf8("fanout-0"));
        ch.basicPublish(x + "fanout", "b", null, utf8("fanout-1"));
        ch.basicPublish(x + "topic", "a.b.c", null, utf8("topic-0"));
        ch.basicPublish(x + "topic", "a.b", null, utf8("topic-x"));
        AMQP.BasicProperties both = new AMQP.BasicProperties.Builder()
                .headers(obj("h", "v", "n", 1)).build();
        AMQP.BasicProperties half = new AMQP.BasicProperties.Builder()
                .headers(obj("h", "v")).build();
        ch.basicPublish(x + "headers", "", both, utf8("headers-0"));
        ch.basicPublish(x + "headers", "", half, utf8("headers-x"));
        ch.basicPublish(x + "e2e", "route.x", null, utf8("e2e-routed"));
        ch.basicPublish(x + "e2e", "other", null, utf8("e2e-x"));
        // unbind, then the same publishes route nowhere
        ch.exchangeUnbind(x + "fanout", x + "e2e", "route.#");
        ch.queueUnbind(x + "q.direct", x + "direct", "k");
        ch.queueUnbind(x + "q.headers", x + "headers", "", match);
        ch.basicPublish(x + "e2e", "route.y", null, utf8("e2e-after-unbind"));
        ch.basicPublish(x + "direct", "k", null, utf8("direct-after-unbind"));
        ch.basicPublish(x + "headers", "", both, utf8("headers-after-unbind"));

        Map<String, Object> got = new LinkedHashMap<>();
        for (String t : types) {
            List<Object> bodies = new ArrayList<>();
            GetResponse g;
            while ((g = ch.basicGet(x + "q." + t, true)) != null) {
                bodies.add(str(g.getBody()));
            }
            got.put(t, bodies);
        }
        String named = ch.queueDeclare().getQueue();
        String purgeQ = x + "purge";
        ch.queueDeclare(purgeQ, false, false, true, null);
        ch.basicPublish("", purgeQ, null, utf8("1"));
        ch.basicPublish("", purgeQ, null, utf8("2"));
        int purged = ch.queuePurge(purgeQ).getMessageCount();
        ch.basicPublish("", purgeQ, null, utf8("3"));
        int deletedWith = ch.queueDelete(purgeQ).getMessageCount();
        Map<String, Object> deleted = new LinkedHashMap<>();
        for (String t : types) {
            deleted.put(t, ch.queueDelete(x + "q." + t).getMessageCount());
            ch.exchangeDelete(x + t);
        }
        ch.exchangeDelete(x + "e2e");
        conn.close((int) ms(5000));
        return obj("queues", queues, "got", got, "serverNamed", named, "purged", purged,
                "deletedWith", deletedWith, "deleted", deleted);
    }

    /** basicPublish with every BasicProperties field set, and with none. */
    Map<String, Object> properties() throws Exception {
        ConnectionFactory f = factory();
        Connection conn = f.newConnection();
        Channel ch = conn.createChannel();
        String q = prefix + ".props";
        ch.queueDeclare(q, false, false, true, null);
        AMQP.BasicProperties full = new AMQP.BasicProperties.Builder()
                .contentType("application/json").contentEncoding("utf-8")
                .headers(obj("h", "v")).deliveryMode(2).priority(7)
                .correlationId("corr-1").replyTo("reply-q").expiration("60000")
                .messageId("msg-1").timestamp(new Date(1700000000000L)).type("kind")
                .userId(f.getUsername()).appId("java-interop").clusterId("cluster-x")
                .build();
        ch.basicPublish("", q, full, utf8("full"));
        ch.basicPublish("", q, null, utf8("bare"));
        ch.basicPublish("", q, com.rabbitmq.client.MessageProperties.PERSISTENT_TEXT_PLAIN,
                utf8("persistent"));
        Collector c = new Collector(ch);
        String tag = ch.basicConsume(q, true, c);
        List<Object> seen = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Delivery d = poll(c.got, 5000, "delivery " + i);
            seen.add(obj("body", str(d.body), "props", props(d.props), "env", envelope(d.env)));
        }
        ch.basicCancel(tag);
        conn.close((int) ms(5000));
        return obj("sent", props(full), "login", f.getUsername(), "seen", seen);
    }

    /** A header table with every value type the Java client encodes. */
    Map<String, Object> headersTable() throws Exception {
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        String q = prefix + ".headers";
        ch.queueDeclare(q, false, false, true, null);
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("int", 123456);
        h.put("negInt", -7);
        h.put("long", 1L << 40);
        h.put("negLong", -(1L << 33));
        h.put("short", (short) -1234);
        h.put("byte", (byte) -5);
        h.put("float", 1.5f);
        h.put("double", 3.25d);
        h.put("decimal", new BigDecimal("123.45"));
        h.put("negDecimal", new BigDecimal("-1.5"));
        h.put("date", new Date(1700000000000L));
        h.put("true", true);
        h.put("false", false);
        h.put("bytes", new byte[] {0, 1, 2, (byte) 254, (byte) 255});
        h.put("string", "hello");
        h.put("utf8", "h\u00e9llo \u2713");
        h.put("empty", "");
        h.put("longString", LongStringHelper.asLongString("long string"));
        h.put("null", null);
        Map<String, Object> inner = obj("b", "deep", "n", 2L);
        h.put("map", obj("a", 1, "inner", inner));
        h.put("emptyMap", new LinkedHashMap<String, Object>());
        h.put("list", Arrays.asList(1, "two", true, null, 2.5d, Arrays.asList(3L), obj("k", "v")));
        h.put("emptyList", new ArrayList<Object>());
        h.put("array", new Object[] {(byte) 1, "x"});
        AMQP.BasicProperties p = new AMQP.BasicProperties.Builder().headers(h).build();
        ch.basicPublish("", q, p, utf8("typed"));
        GetResponse g = null;
        long deadline = System.currentTimeMillis() + ms(5000);
        while (g == null && System.currentTimeMillis() < deadline) {
            g = ch.basicGet(q, true);
        }
        if (g == null) {
            throw new IllegalStateException("no message in " + q);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : g.getProps().getHeaders().entrySet()) {
            out.put(e.getKey(), typed(e.getValue()));
        }
        conn.close((int) ms(5000));
        return obj("headers", out);
    }

    /** Manual ack, basicNack with requeue, basicReject without. */
    Map<String, Object> ackNackReject() throws Exception {
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        String q = prefix + ".anr";
        ch.queueDeclare(q, false, false, false, null);
        for (String b : new String[] {"ack-me", "nack-me", "reject-me"}) {
            ch.basicPublish("", q, null, utf8(b));
        }
        BlockingQueue<Map<String, Object>> seen = new LinkedBlockingQueue<>();
        String tag = ch.basicConsume(q, false, new DefaultConsumer(ch) {
            @Override
            public void handleDelivery(String ct, Envelope env, AMQP.BasicProperties p, byte[] body)
                    throws IOException {
                String b = str(body);
                long t = env.getDeliveryTag();
                seen.add(obj("body", b, "redelivered", env.isRedeliver(), "deliveryTag", t));
                if (b.equals("reject-me")) {
                    getChannel().basicReject(t, false);
                } else if (b.equals("nack-me") && !env.isRedeliver()) {
                    getChannel().basicNack(t, false, true);
                } else {
                    getChannel().basicAck(t, false);
                }
            }
        });
        List<Object> deliveries = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            deliveries.add(poll(seen, 5000, "delivery " + i));
        }
        ch.basicCancel(tag);
        int left = ch.queueDeclarePassive(q).getMessageCount();
        Map<String, Object> extra = seen.poll(ms(200), TimeUnit.MILLISECONDS);
        ch.queueDelete(q);
        conn.close((int) ms(5000));
        return obj("deliveries", deliveries, "messageCountAfter", left, "extra", extra);
    }

    /** basicQos(3): at most 3 unacked deliveries in flight. */
    Map<String, Object> prefetch() throws Exception {
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        String q = prefix + ".qos";
        int total = 10;
        ch.queueDeclare(q, false, false, false, null);
        for (int i = 0; i < total; i++) {
            ch.basicPublish("", q, null, utf8(Integer.toString(i)));
        }
        ch.basicQos(3);
        AtomicInteger delivered = new AtomicInteger();
        AtomicInteger acked = new AtomicInteger();
        AtomicInteger maxInFlight = new AtomicInteger();
        BlockingQueue<Delivery> got = new LinkedBlockingQueue<>();
        String tag = ch.basicConsume(q, false, new DefaultConsumer(ch) {
            @Override
            public void handleDelivery(String ct, Envelope env, AMQP.BasicProperties p, byte[] body) {
                int inFlight = delivered.incrementAndGet() - acked.get();
                maxInFlight.accumulateAndGet(inFlight, Math::max);
                got.add(new Delivery(env, p, body));
            }
        });
        List<Delivery> all = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            all.add(poll(got, 5000, "delivery " + i));
        }
        Thread.sleep(ms(300));
        int before = delivered.get() - acked.get();
        acked.incrementAndGet();
        ch.basicAck(all.get(0).env.getDeliveryTag(), false);
        all.add(poll(got, 5000, "the delivery after one ack"));
        Thread.sleep(ms(200));
        int afterOne = delivered.get() - acked.get();
        for (int i = 1; i < total; i++) {
            if (i >= all.size()) {
                all.add(poll(got, 5000, "delivery " + i));
            }
            acked.incrementAndGet();
            ch.basicAck(all.get(i).env.getDeliveryTag(), false);
        }
        List<Object> order = new ArrayList<>();
        for (Delivery d : all) {
            order.add(Integer.parseInt(str(d.body)));
        }
        ch.basicCancel(tag);
        int left = ch.queueDeclarePassive(q).getMessageCount();
        ch.queueDelete(q);
        conn.close((int) ms(5000));
        return obj("prefetch", 3, "total", total, "inFlightBeforeAck", before,
                "inFlightAfterOneAck", afterOne, "maxInFlight", maxInFlight.get(),
                "order", order, "messageCountAfter", left);
    }

    /** confirmSelect, 1,000 publishes, waitForConfirmsOrDie. */
    Map<String, Object> confirms() throws Exception {
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        String q = prefix + ".confirms";
        ch.queueDeclare(q, false, false, true, null);
        ch.confirmSelect();
        Set<Long> acked = Collections.synchronizedSet(new HashSet<>());
        AtomicInteger nacked = new AtomicInteger();
        AtomicInteger multiple = new AtomicInteger();
        long first = ch.getNextPublishSeqNo();
        int n = 1000;
        ch.addConfirmListener(new ConfirmListener() {
            @Override
            public void handleAck(long tag, boolean mult) {
                if (mult) {
                    multiple.incrementAndGet();
                    for (long t = first; t <= tag; t++) {
                        acked.add(t);
                    }
                } else {
                    acked.add(tag);
                }
            }

            @Override
            public void handleNack(long tag, boolean mult) {
                nacked.incrementAndGet();
            }
        });
        for (int i = 0; i < n; i++) {
            ch.basicPublish("", q, null, utf8(Integer.toString(i)));
        }
        long next = ch.getNextPublishSeqNo();
        ch.waitForConfirmsOrDie(ms(15000));
        int count = ch.queueDeclarePassive(q).getMessageCount();
        ch.queueDelete(q);
        conn.close((int) ms(5000));
        return obj("published", n, "firstSeqNo", first, "nextSeqNo", next, "acked", acked.size(),
                "nacked", nacked.get(), "messageCount", count);
    }

    /** x-overflow reject-publish: the publish past x-max-length is nacked. */
    Map<String, Object> rejectPublish() throws Exception {
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        String q = prefix + ".overflow";
        ch.queueDeclare(q, false, false, true,
                obj("x-max-length", 1, "x-overflow", "reject-publish"));
        ch.confirmSelect();
        List<Object> events = Collections.synchronizedList(new ArrayList<>());
        ch.addConfirmListener(new ConfirmListener() {
            @Override
            public void handleAck(long tag, boolean mult) {
                events.add(obj("ack", tag, "multiple", mult));
            }

            @Override
            public void handleNack(long tag, boolean mult) {
                events.add(obj("nack", tag, "multiple", mult));
            }
        });
        ch.basicPublish("", q, null, utf8("first"));
        boolean firstOk = ch.waitForConfirms(ms(5000));
        ch.basicPublish("", q, null, utf8("second"));
        boolean secondOk = ch.waitForConfirms(ms(5000));
        int count = ch.queueDeclarePassive(q).getMessageCount();
        GetResponse kept = ch.basicGet(q, true);
        ch.queueDelete(q);
        conn.close((int) ms(5000));
        return obj("firstOk", firstOk, "secondOk", secondOk, "events", new ArrayList<>(events),
                "messageCount", count, "kept", kept == null ? null : str(kept.getBody()));
    }

    /** mandatory + unroutable -> basic.return to the ReturnListener. */
    Map<String, Object> mandatoryReturn() throws Exception {
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        String x = prefix + ".mand";
        String q = prefix + ".mand.q";
        ch.exchangeDeclare(x, "direct", false, true, null);
        ch.queueDeclare(q, false, false, true, null);
        ch.queueBind(q, x, "bound");
        BlockingQueue<Map<String, Object>> returns = new LinkedBlockingQueue<>();
        ch.addReturnListener((code, text, exchange, rk, p, body) ->
                returns.add(obj("replyCode", code, "replyText", text, "exchange", exchange,
                        "routingKey", rk, "body", str(body), "props", props(p))));
        AMQP.BasicProperties p = new AMQP.BasicProperties.Builder()
                .messageId("m-1").headers(obj("h", 1)).build();
        ch.basicPublish(x, "nowhere", true, p, utf8("unroutable"));
        ch.basicPublish(x, "bound", true, null, utf8("routable"));
        ch.basicPublish(x, "nowhere", false, null, utf8("dropped"));
        Map<String, Object> ret = poll(returns, 5000, "basic.return");
        int count = ch.queueDeclarePassive(q).getMessageCount();
        Map<String, Object> more = returns.poll(ms(200), TimeUnit.MILLISECONDS);
        conn.close((int) ms(5000));
        return obj("returned", ret, "more", more, "messageCount", count);
    }

    /** RpcClient over direct reply-to, against a consumer that squares. */
    Map<String, Object> rpc() throws Exception {
        Connection conn = factory().newConnection();
        Channel server = conn.createChannel();
        String q = prefix + ".rpc";
        server.queueDeclare(q, false, false, true, null);
        List<Object> replyTos = Collections.synchronizedList(new ArrayList<>());
        server.basicConsume(q, false, new DefaultConsumer(server) {
            @Override
            public void handleDelivery(String ct, Envelope env, AMQP.BasicProperties p, byte[] body)
                    throws IOException {
                replyTos.add(p.getReplyTo());
                int n = Integer.parseInt(str(body));
                AMQP.BasicProperties rp = new AMQP.BasicProperties.Builder()
                        .correlationId(p.getCorrelationId()).build();
                getChannel().basicPublish("", p.getReplyTo(), rp, utf8(Integer.toString(n * n)));
                getChannel().basicAck(env.getDeliveryTag(), false);
            }
        });
        Channel client = conn.createChannel();
        RpcClient rpc = new RpcClient(client, "", q, "amq.rabbitmq.reply-to", (int) ms(5000));
        List<Object> replies = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            RpcClient.Response resp = rpc.doCall(null, utf8(Integer.toString(i)));
            replies.add(obj("corr", resp.getProperties().getCorrelationId(),
                    "body", str(resp.getBody()), "exchange", resp.getEnvelope().getExchange(),
                    "routingKey", resp.getEnvelope().getRoutingKey()));
        }
        String s = rpc.stringCall("12");
        rpc.close();
        conn.close((int) ms(5000));
        return obj("replies", replies, "replyTos", new ArrayList<>(replyTos), "stringCall", s);
    }

    /** Channel errors close the channel, not the connection. */
    Map<String, Object> channelErrors() throws Exception {
        Connection conn = factory().newConnection();
        Connection other = factory().newConnection();
        Map<String, Object> r = new LinkedHashMap<>();
        String x = prefix + ".";
        Channel ch = conn.createChannel();
        r.put("missingQueue", channelError(conn, ch, () -> ch.queueDeclarePassive(x + "missing")));
        Channel ch2 = conn.createChannel();
        r.put("missingExchange", channelError(conn, ch2, () -> ch2.exchangeDeclarePassive(x + "nox")));
        Channel ch3 = conn.createChannel();
        r.put("afterError", ch3.queueDeclare(x + "err", false, false, true,
                obj("x-max-length", 10)).getQueue());
        r.put("queueArgsMismatch", channelError(conn, ch3, () -> ch3.queueDeclare(
                x + "err", false, false, true, obj("x-max-length", 20))));
        Channel ch4 = conn.createChannel();
        r.put("queueDurableMismatch", channelError(conn, ch4, () -> ch4.queueDeclare(
                x + "err", true, false, true, obj("x-max-length", 10))));
        Channel ch5 = conn.createChannel();
        ch5.exchangeDeclare(x + "x", "direct", false, true, null);
        r.put("exchangeTypeMismatch", channelError(conn, ch5,
                () -> ch5.exchangeDeclare(x + "x", "fanout", false, true, null)));
        // basic.publish has no reply: the channel's ShutdownListener hears
        // of the error, and the next call on it finds it closed
        Channel ch6 = conn.createChannel();
        BlockingQueue<ShutdownSignalException> shut = new LinkedBlockingQueue<>();
        ch6.addShutdownListener(shut::add);
        r.put("publishMissingExchange", channelError(conn, ch6, () -> {
            ch6.basicPublish(x + "nox", "k", null, utf8("lost"));
            throw poll(shut, 5000, "the channel's shutdown");
        }));
        r.put("callAfterClose", channelError(conn, ch6, () -> ch6.queueDeclarePassive(x + "err")));
        // another connection's exclusive queue is locked (405)
        Channel owner = conn.createChannel();
        owner.queueDeclare(x + "excl", false, true, false, null);
        Channel o1 = other.createChannel();
        r.put("exclusiveDeclare", channelError(other, o1,
                () -> o1.queueDeclare(x + "excl", false, true, false, null)));
        Channel o2 = other.createChannel();
        r.put("exclusivePassive", channelError(other, o2, () -> o2.queueDeclarePassive(x + "excl")));
        Channel o3 = other.createChannel();
        r.put("exclusiveConsume", channelError(other, o3,
                () -> o3.basicConsume(x + "excl", true, new DefaultConsumer(o3))));
        Channel o4 = other.createChannel();
        r.put("exclusiveDelete", channelError(other, o4, () -> o4.queueDelete(x + "excl")));
        Channel last = conn.createChannel();
        r.put("stillUsable", last.queueDeclarePassive(x + "err").getQueue());
        r.put("ownerStillOpen", owner.isOpen());
        r.put("connectionOpen", conn.isOpen());
        r.put("otherOpen", other.isOpen());
        last.queueDelete(x + "err");
        other.close((int) ms(5000));
        conn.close((int) ms(5000));
        return r;
    }

    /** Deleting a queue cancels its consumer: handleCancel, not handleCancelOk. */
    Map<String, Object> consumerCancel() throws Exception {
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        String q = prefix + ".cancel";
        ch.queueDeclare(q, false, false, false, null);
        BlockingQueue<String> calls = new LinkedBlockingQueue<>();
        String tag = ch.basicConsume(q, true, new DefaultConsumer(ch) {
            @Override
            public void handleDelivery(String ct, Envelope env, AMQP.BasicProperties p, byte[] body) {
                calls.add("delivery:" + str(body));
            }

            @Override
            public void handleCancel(String ct) {
                calls.add("cancel:" + ct);
            }

            @Override
            public void handleCancelOk(String ct) {
                calls.add("cancelOk:" + ct);
            }
        });
        ch.basicPublish("", q, null, utf8("before"));
        List<Object> seen = new ArrayList<>();
        seen.add(poll(calls, 5000, "the delivery"));
        Channel admin = conn.createChannel();
        int deleted = admin.queueDelete(q).getMessageCount();
        seen.add(poll(calls, 5000, "handleCancel"));
        String extra = calls.poll(ms(200), TimeUnit.MILLISECONDS);
        boolean open = ch.isOpen();
        // the channel still works
        String tmp = ch.queueDeclare().getQueue();
        conn.close((int) ms(5000));
        return obj("consumerTag", tag, "calls", seen, "extra", extra, "deleted", deleted,
                "channelOpen", open, "channelUsable", tmp.startsWith("amq.gen-"));
    }

    /** connection.blocked / unblocked through a BlockedListener (a broker
     *  with a small memory watermark): publish until blocked, purge from
     *  another connection, unblocked, publish again.
     *
     *  Each publish waits for its confirm before the next: when the broker
     *  blocks, at most one publish is left in the socket unread. Without
     *  that, megabytes of publishes written before handleBlocked ran sit
     *  in the socket buffers; a slow (loaded) broker reads them only after
     *  the purges, crosses the watermark again and blocks the connection
     *  for good, and confirm.select below never gets read. */
    Map<String, Object> blocked() throws Exception {
        Connection conn = factory().newConnection();
        List<Object> events = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch blockedL = new CountDownLatch(1);
        CountDownLatch unblockedL = new CountDownLatch(1);
        conn.addBlockedListener(new BlockedListener() {
            @Override
            public void handleBlocked(String reason) {
                events.add("blocked:" + reason);
                blockedL.countDown();
            }

            @Override
            public void handleUnblocked() {
                events.add("unblocked");
                unblockedL.countDown();
            }
        });
        Channel ch = conn.createChannel();
        String q = prefix + ".flood";
        ch.queueDeclare(q, false, false, false, null);
        byte[] body = new byte[256 << 10];
        AtomicInteger published = new AtomicInteger();
        ch.confirmSelect();
        Thread pub = new Thread(() -> {
            try {
                for (int i = 0; i < 64 && blockedL.getCount() > 0; i++) {
                    ch.basicPublish("", q, null, body);
                    published.incrementAndGet();
                    // the last one waits here until the purge unblocks
                    ch.waitForConfirmsOrDie(ms(60000));
                }
            } catch (Exception e) {
                events.add("publish error: " + e);
            }
        });
        pub.setDaemon(true);
        pub.start();
        await(blockedL, 30000, "handleBlocked");
        Connection admin = factory().newConnection();
        Channel ach = admin.createChannel();
        ach.queuePurge(q);
        await(unblockedL, 30000, "handleUnblocked");
        pub.join(ms(30000));
        boolean publisherDone = !pub.isAlive();
        ach.queuePurge(q);
        ch.basicPublish("", q, null, utf8("after"));
        ch.waitForConfirmsOrDie(ms(30000));
        ach.queueDelete(q);
        admin.close((int) ms(5000));
        conn.close((int) ms(5000));
        return obj("events", new ArrayList<>(events), "published", published.get(),
                "publisherDone", publisherDone);
    }

    /** Automatic connection and topology recovery: the test restarts the
     *  broker on the same port between "READY" on stdout and "RESTARTED"
     *  on stdin. */
    Map<String, Object> recovery() throws Exception {
        ConnectionFactory f = factory();
        f.setAutomaticRecoveryEnabled(true);
        f.setTopologyRecoveryEnabled(true);
        f.setNetworkRecoveryInterval(ms(200));
        Connection conn = f.newConnection();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch recovered = new CountDownLatch(1);
        ((Recoverable) conn).addRecoveryListener(new RecoveryListener() {
            @Override
            public void handleRecovery(Recoverable r) {
                recovered.countDown();
            }

            @Override
            public void handleRecoveryStarted(Recoverable r) {
                started.countDown();
            }
        });
        BlockingQueue<ShutdownSignalException> shutdowns = new LinkedBlockingQueue<>();
        conn.addShutdownListener(shutdowns::add);
        Channel ch = conn.createChannel();
        String x = prefix + ".rx";
        String q = prefix + ".rq";
        ch.basicQos(5);
        ch.exchangeDeclare(x, "topic", false, true, null);
        ch.queueDeclare(q, false, false, true, null);
        ch.queueBind(q, x, "a.#");
        String named = ch.queueDeclare().getQueue();
        ch.queueBind(named, x, "b.#");
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        for (String queue : new String[] {q, named}) {
            String label = queue.equals(q) ? "named" : "server-named";
            ch.basicConsume(queue, false, new DefaultConsumer(ch) {
                @Override
                public void handleDelivery(String ct, Envelope env, AMQP.BasicProperties p, byte[] b)
                        throws IOException {
                    got.add(label + ":" + str(b));
                    getChannel().basicAck(env.getDeliveryTag(), false);
                }
            });
        }
        ch.basicPublish(x, "a.1", null, utf8("before"));
        ch.basicPublish(x, "b.1", null, utf8("before"));
        Set<String> before = new HashSet<>();
        before.add(poll(got, 5000, "a delivery before the restart"));
        before.add(poll(got, 5000, "a delivery before the restart"));

        System.out.println("READY");
        System.out.flush();
        BlockingQueue<String> stdin = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try {
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
                String line = in.readLine();
                stdin.add(line == null ? "EOF" : line);
            } catch (IOException e) {
                stdin.add("EOF");
            }
        });
        reader.setDaemon(true);
        reader.start();
        ShutdownSignalException lost = poll(shutdowns, 15000, "the connection to drop");
        String line = poll(stdin, 20000, "RESTARTED on stdin");
        await(started, 15000, "handleRecoveryStarted");
        await(recovered, 15000, "handleRecovery");
        ch.basicPublish(x, "a.2", null, utf8("after"));
        ch.basicPublish(x, "b.2", null, utf8("after"));
        Set<String> after = new HashSet<>();
        after.add(poll(got, 5000, "a delivery after recovery"));
        after.add(poll(got, 5000, "a delivery after recovery"));
        Method m = lost.getReason();
        Object code = m instanceof AMQP.Connection.Close
                ? ((AMQP.Connection.Close) m).getReplyCode() : String.valueOf(m);
        boolean open = conn.isOpen() && ch.isOpen();
        conn.close((int) ms(5000));
        return obj("stdin", line, "before", new ArrayList<>(before), "after", new ArrayList<>(after),
                "lostCode", code, "lostByApp", lost.isInitiatedByApplication(), "open", open);
    }

    /** A 2 MiB body through basicGet and through a consumer. */
    Map<String, Object> largeMessage() throws Exception {
        Connection conn = factory().newConnection();
        Channel ch = conn.createChannel();
        String q = prefix + ".big";
        ch.queueDeclare(q, false, false, true, null);
        byte[] body = new byte[2 * 1024 * 1024];
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) (i * 31 % 251);
        }
        ch.basicPublish("", q, new AMQP.BasicProperties.Builder().messageId("big-1").build(), body);
        GetResponse g = null;
        long deadline = System.currentTimeMillis() + ms(5000);
        while (g == null && System.currentTimeMillis() < deadline) {
            g = ch.basicGet(q, true);
        }
        if (g == null) {
            throw new IllegalStateException("no message in " + q);
        }
        ch.basicPublish("", q, new AMQP.BasicProperties.Builder().messageId("big-2").build(), body);
        Collector c = new Collector(ch);
        ch.basicConsume(q, true, c);
        Delivery d = poll(c.got, 10000, "the 2 MiB delivery");
        conn.close((int) ms(5000));
        return obj("sent", obj("length", body.length, "sha256", sha256(body)),
                "viaGet", obj("length", g.getBody().length, "sha256", sha256(g.getBody()),
                        "messageId", g.getProps().getMessageId()),
                "viaConsume", obj("length", d.body.length, "sha256", sha256(d.body),
                        "messageId", d.props.getMessageId()));
    }

    /** 5,000 messages shared by two consumers on two connections. */
    Map<String, Object> competingConsumers() throws Exception {
        int n = 5000;
        Connection pubConn = factory().newConnection();
        Channel pub = pubConn.createChannel();
        String q = prefix + ".work";
        pub.queueDeclare(q, false, false, true, null);
        List<Connection> conns = new ArrayList<>();
        List<List<Integer>> seen = new ArrayList<>();
        AtomicInteger total = new AtomicInteger();
        for (int i = 0; i < 2; i++) {
            Connection c = factory().newConnection();
            conns.add(c);
            Channel ch = c.createChannel();
            ch.basicQos(50);
            List<Integer> mine = Collections.synchronizedList(new ArrayList<>());
            seen.add(mine);
            ch.basicConsume(q, false, new DefaultConsumer(ch) {
                @Override
                public void handleDelivery(String ct, Envelope env, AMQP.BasicProperties p, byte[] b)
                        throws IOException {
                    mine.add(Integer.parseInt(str(b)));
                    total.incrementAndGet();
                    getChannel().basicAck(env.getDeliveryTag(), false);
                }
            });
        }
        pub.confirmSelect();
        for (int i = 0; i < n; i++) {
            pub.basicPublish("", q, null, utf8(Integer.toString(i)));
        }
        pub.waitForConfirmsOrDie(ms(20000));
        long deadline = System.currentTimeMillis() + ms(20000);
        while (total.get() < n && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
        }
        Thread.sleep(ms(100));
        Set<Integer> union = new HashSet<>();
        List<Object> counts = new ArrayList<>();
        List<Object> inOrder = new ArrayList<>();
        int sum = 0;
        for (List<Integer> mine : seen) {
            synchronized (mine) {
                union.addAll(mine);
                counts.add(mine.size());
                sum += mine.size();
                boolean sorted = true;
                for (int i = 1; i < mine.size(); i++) {
                    sorted &= mine.get(i - 1) < mine.get(i);
                }
                inOrder.add(sorted);
            }
        }
        int missing = 0;
        for (int i = 0; i < n; i++) {
            missing += union.contains(i) ? 0 : 1;
        }
        for (Connection c : conns) {
            c.close((int) ms(5000));
        }
        pub.queueDelete(q);
        pubConn.close((int) ms(5000));
        return obj("counts", counts, "distinct", union.size(), "missing", missing,
                "duplicates", sum - union.size(), "inOrder", inOrder);
    }

    /** heartbeat 1 s: 4 s idle and the connection is still open. */
    Map<String, Object> heartbeat() throws Exception {
        ConnectionFactory f = factory();
        f.setRequestedHeartbeat(1);
        Connection conn = f.newConnection();
        List<Object> events = Collections.synchronizedList(new ArrayList<>());
        conn.addShutdownListener(e -> events.add(String.valueOf(e)));
        Channel ch = conn.createChannel();
        String q = ch.queueDeclare().getQueue();
        Thread.sleep(4000);
        List<Object> during = new ArrayList<>(events);
        boolean open = conn.isOpen();
        ch.basicPublish("", q, null, utf8("after idle"));
        GetResponse g = null;
        long deadline = System.currentTimeMillis() + ms(5000);
        while (g == null && System.currentTimeMillis() < deadline) {
            g = ch.basicGet(q, true);
        }
        conn.close((int) ms(5000));
        return obj("heartbeat", conn.getHeartbeat(), "eventsDuringIdle", during, "openAfterIdle", open,
                "got", g == null ? null : str(g.getBody()));
    }
}
