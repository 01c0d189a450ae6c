# SPDX-License-Identifier: MIT
"""warrenctl under rabbitmqctl's command names (issue 19): list_queues,
list_exchanges, list_bindings, list_connections, list_consumers,
list_channels with rabbitmqctl's default columns and info-item arguments;
close_connection, purge_queue, delete_queue, set_log_level."""

import time

import pika
import pytest

from test_warrenctl import Ctl, out, one_line_error  # noqa: F401  (fixture helpers)

pytestmark = pytest.mark.warren_only


@pytest.fixture
def ctl(mgmt):
    return Ctl(mgmt)


def rows(p):
    """tsv output: a list of rows (lists of cells)."""
    return [line.split("\t") for line in out(p).splitlines()]


def table(p):
    """table output: header and rows, split on runs of spaces."""
    lines = out(p).splitlines()
    return lines[0].split(), [l.split() for l in lines[1:]]


def test_list_queues_default_and_chosen_columns(ctl, amqp, uniq):
    c = amqp()
    ch = c.channel()
    ch.queue_declare(uniq + "a")
    ch.queue_declare(uniq + "b", durable=True)
    for _ in range(3):
        ch.basic_publish("", uniq + "a", b"x")
    ch.basic_consume(uniq + "b", lambda *a: None)
    head, body = table(ctl("list_queues"))
    assert head == ["name", "messages"]  # rabbitmqctl's defaults
    got = {r[0]: r[1:] for r in body}
    deadline = time.time() + 5
    while got.get(uniq + "a") != ["3"] and time.time() < deadline:
        time.sleep(0.1)
        got = {r[0]: r[1:] for r in table(ctl("list_queues"))[1]}
    assert got[uniq + "a"] == ["3"] and got[uniq + "b"] == ["0"]
    head, body = table(ctl("list_queues", "name", "messages", "consumers", "durable"))
    assert head == ["name", "messages", "consumers", "durable"]
    got = {r[0]: r[1:] for r in body}
    assert got[uniq + "a"] == ["3", "0", "false"]
    assert got[uniq + "b"] == ["0", "1", "true"]
    # -f tsv: rabbitmqctl's tab-separated rows (no header)
    assert [uniq + "a", "3"] in rows(ctl("-f", "tsv", "list_queues"))
    p = ctl("list_queues", "name", "bogus", expect=2)
    assert "invalid info key 'bogus'" in one_line_error(p)
    # rabbitmqctl's -p VHOST
    ctl("list_queues", "-p", "no-such-vhost", expect=5)


def test_list_exchanges_and_bindings(ctl, amqp, uniq):
    ch = amqp().channel()
    ch.exchange_declare(uniq + "x", "topic")
    ch.queue_declare(uniq + "q")
    ch.queue_bind(uniq + "q", uniq + "x", "a.*")
    head, body = table(ctl("list_exchanges"))
    assert head == ["name", "type"]
    assert [uniq + "x", "topic"] in body
    assert ["amq.fanout", "fanout"] in body
    head, body = table(ctl("list_bindings"))
    assert head == ["source_name", "source_kind", "destination_name", "destination_kind",
                    "routing_key", "arguments"]
    assert [uniq + "x", "exchange", uniq + "q", "queue", "a.*", "{}"] in body
    r = rows(ctl("-f", "tsv", "list_bindings", "source_name", "routing_key"))
    assert [uniq + "x", "a.*"] in r


def test_list_connections_consumers_channels_and_close(ctl, amqp, uniq):
    c = amqp()
    ch = c.channel()
    ch.queue_declare(uniq + "q")
    ch.basic_qos(prefetch_count=7)
    ch.basic_consume(uniq + "q", lambda *a: None, consumer_tag=uniq + "tag")
    head, body = table(ctl("list_connections"))
    assert head == ["user", "peer_host", "peer_port", "state"]
    port = c._impl._transport._sock.getsockname()[1]
    assert ["guest", "127.0.0.1", str(port), "running"] in body
    head, body = table(ctl("list_consumers"))
    assert head == ["queue_name", "channel_pid", "consumer_tag", "ack_required",
                    "prefetch_count", "active", "activity_status", "arguments"]
    mine = [r for r in rows(ctl("-f", "tsv", "list_consumers")) if r[0] == uniq + "q"]
    assert len(mine) == 1
    assert mine[0][2:] == [uniq + "tag", "true", "7", "true", "up", "{}"]
    head, _ = table(ctl("list_channels"))
    assert head == ["pid", "user", "consumer_count", "messages_unacknowledged"]
    names = [r[0] for r in rows(ctl("-f", "tsv", "list_connections", "name", "peer_port"))
             if r[1] == str(port)]
    assert len(names) == 1
    ctl("close_connection", names[0], "maintenance window")
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as e:
        for _ in range(50):
            c.process_data_events(0.1)
    assert e.value.reply_code == 320
    assert "maintenance window" in e.value.reply_text
    ctl("close_connection", "no such connection", "x", expect=5)


def test_purge_and_delete_queue(ctl, amqp, uniq):
    ch = amqp().channel()
    ch.queue_declare(uniq + "q")
    ch.basic_publish("", uniq + "q", b"x")
    deadline = time.time() + 5
    while ch.queue_declare(uniq + "q", passive=True).method.message_count != 1:
        assert time.time() < deadline
        time.sleep(0.05)
    ctl("delete_queue", uniq + "q", "--if-empty", expect=6)
    ctl("purge_queue", uniq + "q")
    assert ch.queue_declare(uniq + "q", passive=True).method.message_count == 0
    ctl("delete_queue", uniq + "q", "--if-empty")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.queue_declare(uniq + "q", passive=True)
    assert e.value.reply_code == 404
    ctl("purge_queue", uniq + "q", expect=5)


def test_set_log_level(ctl, fresh):
    srv, api = fresh()
    c = Ctl(srv.mgmt_address)
    c("set_log_level", "debug")
    assert api.get("log-level").json == {"level": "debug"}
    c("set_log_level", "warning")
    assert api.get("log-level").json == {"level": "warn"}
    p = c("set_log_level", "loud", expect=1)
    assert "level must be one of" in one_line_error(p)
    assert "log level set to warn by user 'guest'" in srv.log_tail()
    # only what is at warning or above reaches the log now
    before = srv.log_tail(100000)
    c("list_queues")
    assert srv.log_tail(100000) == before
