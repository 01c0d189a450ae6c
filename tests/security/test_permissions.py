# SPDX-License-Identifier: MIT
"""RabbitMQ's access control mapping, operation by operation: every AMQP
method is tried by a user that holds all three permissions (allowed) and by
users that lack exactly one (denied iff the method needs that one). Plus
resource-name regexes, the default exchange as amq.default, topic
permissions, vhost access and per-vhost connection limits."""

import pika
import pika.exceptions
import pytest

from broker import SLOW
from conftest import definitions
from helpers import connection_error

ALL = ".*"
USERS = {
    # name: (configure, write, read)
    "full": (ALL, ALL, ALL),
    "no-configure": ("", ALL, ALL),
    "no-write": (ALL, "", ALL),
    "no-read": (ALL, ALL, ""),
}


@pytest.fixture(scope="module")
def pbroker(tmp_path_factory, request):
    """One broker for the matrix (module scope: starting it is the slow part)."""
    import broker as broker_mod
    from conftest import Broker
    import json
    if broker_mod.external_broker() is not None:
        pytest.skip("needs a private warren-server")
    d = tmp_path_factory.mktemp("perm")
    defs = definitions(
        users=[("admin", "pw", ["administrator"])] +
              [(u, "pw", []) for u in USERS] +
              [("tmp-only", "pw", []), ("default-x", "pw", []), ("topic", "pw", []),
               ("other-vhost", "pw", [])],
        vhosts=["/", "v2", "limited"],
        permissions=[("admin", "/", ALL, ALL, ALL), ("admin", "v2", ALL, ALL, ALL),
                     ("admin", "limited", ALL, ALL, ALL)] +
                    [(u, "/", c, w, r) for u, (c, w, r) in USERS.items()] +
                    [("tmp-only", "/", "^tmp-", "^tmp-", "^tmp-"),
                     ("default-x", "/", "", r"^amq\.default$", ""),
                     ("topic", "/", ALL, ALL, ALL),
                     ("other-vhost", "v2", ALL, ALL, ALL)],
        topic_permissions=[("topic", "/", "amq.topic", r"^a\.", r"^x\."),
                           ("topic", "/", "t.user", "^{username}\\.", "^{vhost}$")],
        limits={"limited": 1})
    (d / "defs.json").write_text(json.dumps(defs))
    (d / "w.conf").write_text("log.level = info\ndefinitions.file = %s\n" % (d / "defs.json"))
    srv = broker_mod.WarrenServer(("--config", str(d / "w.conf"))).start()
    yield Broker(srv, d / "w.conf")
    assert srv.terminate() == 0


def connect(b, user, vhost="/"):
    return pika.BlockingConnection(pika.ConnectionParameters(
        host=b.host, port=b.port, virtual_host=vhost,
        credentials=pika.PlainCredentials(user, "pw"), connection_attempts=1,
        socket_timeout=5 * SLOW, stack_timeout=10 * SLOW, heartbeat=0))


@pytest.fixture(scope="module")
def admin(pbroker):
    c = connect(pbroker, "admin")
    yield c.channel()
    c.close()


def setup_resources(ch, n):
    """Names used by the operations, prefixed per case."""
    q, x, x2 = "q-%s" % n, "x-%s" % n, "x2-%s" % n
    ch.exchange_declare(x, "direct")
    ch.exchange_declare(x2, "direct")
    ch.queue_declare(q)
    ch.queue_bind(q, x, "k")
    ch.exchange_bind(x2, x, "k")
    ch.basic_publish("", q, b"m")
    return q, x, x2


# operation -> (permissions it needs, callable(ch, q, x, x2))
OPS = {
    "exchange.declare": ({"configure"}, lambda ch, q, x, x2: ch.exchange_declare(x + "-new", "fanout")),
    "exchange.declare passive": (set(), lambda ch, q, x, x2: ch.exchange_declare(x, passive=True)),
    "exchange.declare alternate-exchange": (
        {"configure", "write", "read"},
        lambda ch, q, x, x2: ch.exchange_declare(x + "-ae", "fanout",
                                                 arguments={"alternate-exchange": x2})),
    "exchange.delete": ({"configure"}, lambda ch, q, x, x2: ch.exchange_delete(x2)),
    "queue.declare": ({"configure"}, lambda ch, q, x, x2: ch.queue_declare(q + "-new")),
    "queue.declare passive": (set(), lambda ch, q, x, x2: ch.queue_declare(q, passive=True)),
    "queue.declare dead-letter-exchange": (
        {"configure", "write", "read"},
        lambda ch, q, x, x2: ch.queue_declare(q + "-dlx",
                                              arguments={"x-dead-letter-exchange": x})),
    "queue.delete": ({"configure"}, lambda ch, q, x, x2: ch.queue_delete(q)),
    "queue.bind": ({"write", "read"}, lambda ch, q, x, x2: ch.queue_bind(q, x, "k2")),
    "queue.unbind": ({"write", "read"}, lambda ch, q, x, x2: ch.queue_unbind(q, x, "k")),
    "exchange.bind": ({"write", "read"}, lambda ch, q, x, x2: ch.exchange_bind(x2, x, "k2")),
    "exchange.unbind": ({"write", "read"}, lambda ch, q, x, x2: ch.exchange_unbind(x2, x, "k")),
    "queue.purge": ({"read"}, lambda ch, q, x, x2: ch.queue_purge(q)),
    "basic.get": ({"read"}, lambda ch, q, x, x2: ch.basic_get(q)),
    "basic.consume": ({"read"}, lambda ch, q, x, x2: ch.basic_consume(q, lambda *a: None)),
    "basic.publish": ({"write"}, lambda ch, q, x, x2: (ch.confirm_delivery(),
                                                      ch.basic_publish(x, "k", b"p"))),
}
CASES = [(op, user) for op in OPS for user in USERS]


@pytest.mark.parametrize("op,user", CASES, ids=["%s-%s" % c for c in CASES])
def test_permission_matrix(pbroker, admin, op, user, uniq):
    needs, fn = OPS[op]
    q, x, x2 = setup_resources(admin, uniq)
    lacking = {"configure", "write", "read"} - {
        k for k, pat in zip(("configure", "write", "read"), USERS[user]) if pat}
    conn = connect(pbroker, user)
    try:
        ch = conn.channel()
        if needs & lacking:
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
                fn(ch, q, x, x2)
                conn.process_data_events(time_limit=0.1)
            assert ei.value.reply_code == 403, ei.value
            assert "ACCESS_REFUSED" in ei.value.reply_text
            assert "refused for user '%s'" % user in ei.value.reply_text
        else:
            fn(ch, q, x, x2)
            conn.process_data_events(time_limit=0.05)
            assert ch.is_open
    finally:
        if conn.is_open:
            conn.close()


def test_denial_is_logged(pbroker, admin, uniq):
    conn = connect(pbroker, "no-configure")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):
        conn.channel().queue_declare("logged-" + uniq)
    conn.close()
    pbroker.wait_log(r"user 'no-configure' denied configure access to queue 'logged-%s'" % uniq)


def test_resource_name_regex(pbroker, uniq):
    conn = connect(pbroker, "tmp-only")
    ch = conn.channel()
    ch.queue_declare("tmp-" + uniq, auto_delete=True)
    ch.basic_get("tmp-" + uniq)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.queue_declare("q-" + uniq)
    assert ei.value.reply_code == 403
    # the default exchange is checked as amq.default, which ^tmp- refuses
    ch = conn.channel()
    ch.confirm_delivery()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.basic_publish("", "tmp-" + uniq, b"x")
    assert "exchange 'amq.default'" in ei.value.reply_text
    conn.close()


def test_server_named_queue_checked_by_generated_name(pbroker):
    """configure is checked on the amq.gen-... name the broker picks."""
    conn = connect(pbroker, "tmp-only")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        conn.channel().queue_declare("", exclusive=True)
    assert ei.value.reply_code == 403 and "amq.gen-" in ei.value.reply_text
    conn.close()


def test_default_exchange_is_amq_default(pbroker, admin, uniq):
    admin.queue_declare("d-" + uniq)
    conn = connect(pbroker, "default-x")
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish("", "d-" + uniq, b"via default")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.basic_publish("amq.direct", "d-" + uniq, b"no")
    assert ei.value.reply_code == 403 and "amq.direct" in ei.value.reply_text
    conn.close()
    assert admin.queue_declare("d-" + uniq, passive=True).method.message_count == 1


def test_topic_permissions_publish(pbroker):
    conn = connect(pbroker, "topic")
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish("amq.topic", "a.b", b"allowed")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.basic_publish("amq.topic", "b.c", b"denied")
    assert ei.value.reply_code == 403
    assert "write access to topic 'b.c' in exchange 'amq.topic'" in ei.value.reply_text
    # a direct exchange is not subject to topic permissions
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish("amq.direct", "b.c", b"direct")
    conn.close()


def test_topic_permissions_bind(pbroker, uniq):
    conn = connect(pbroker, "topic")
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, "amq.topic", "x.#")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.queue_bind(q, "amq.topic", "y.#")
    assert ei.value.reply_code == 403 and "read access to topic 'y.#'" in ei.value.reply_text
    conn.close()


def test_topic_permission_variables(pbroker, admin):
    """{username} and {vhost} are expanded in topic permission patterns."""
    admin.exchange_declare("t.user", "topic")
    conn = connect(pbroker, "topic")
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish("t.user", "topic.news", b"mine")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):
        ch.basic_publish("t.user", "admin.news", b"not mine")
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, "t.user", "/")
    conn.close()


def test_vhost_without_permissions_refused(pbroker):
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as ei:
        connect(pbroker, "other-vhost", vhost="/")
    assert "(530)" in str(ei.value) and "access to vhost '/' refused for user 'other-vhost'" in str(ei.value)
    c = connect(pbroker, "other-vhost", vhost="v2")
    c.close()


def test_unknown_vhost_refused(pbroker):
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as ei:
        connect(pbroker, "admin", vhost="nope")
    assert "(530)" in str(ei.value)


def test_vhost_connection_limit(pbroker):
    """vhost-limits max-connections (RabbitMQ's set_vhost_limits)."""
    c1 = connect(pbroker, "admin", vhost="limited")
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as ei:
        connect(pbroker, "admin", vhost="limited")
    assert "connection limit (1) is reached" in str(ei.value)
    c1.close()
    c3 = connect(pbroker, "admin", vhost="limited")
    c3.close()


def test_global_connection_max(start_broker):
    b = start_broker("connection_max = 2\n")
    params = pika.ConnectionParameters(host=b.host, port=b.port, connection_attempts=1,
                                       socket_timeout=3 * SLOW, heartbeat=0)
    c1 = pika.BlockingConnection(params)
    c2 = pika.BlockingConnection(params)
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        pika.BlockingConnection(params)
    b.wait_log(r"refusing connection from 127\.0\.0\.1: connection_max reached")
    c1.close()
    c2.close()
