# SPDX-License-Identifier: MIT
"""Read-only endpoints of the management API: overview, whoami, nodes,
vhosts, connections, channels, consumers, exchanges and queues with their
message_stats and rates, and the list parameters (columns, sort,
pagination) rabbitmqadmin and monitoring tools send."""

import os
import threading
import time

import pika
import pytest

from mgmt_client import q


def test_overview_shape(api):
    o = api.ok("GET", "overview")
    for key in ("management_version", "rabbitmq_version", "node",
                "cluster_name", "exchange_types", "message_stats",
                "queue_totals", "object_totals", "listeners"):
        assert key in o, key
    assert {t["name"] for t in o["exchange_types"]} >= {
        "direct", "fanout", "topic", "headers"}
    for key in ("connections", "channels", "exchanges", "queues", "consumers"):
        assert isinstance(o["object_totals"][key], int)
    for key in ("messages", "messages_ready", "messages_unacknowledged"):
        assert isinstance(o["queue_totals"][key], int)
        assert "rate" in o["queue_totals"][key + "_details"]
    protos = {(x["protocol"], x["port"]) for x in o["listeners"]}
    assert ("http", api_port(api)) in protos


def api_port(api):
    return int(api.base.rsplit(":", 1)[1])


@pytest.mark.warren_only
def test_overview_names_warren(api):
    o = api.ok("GET", "overview")
    assert o["product_name"] == "warren"
    assert o["node"].startswith("warren@")


def test_whoami(api):
    o = api.ok("GET", "whoami")
    assert o["name"] == "guest"
    assert "administrator" in o["tags"]


def test_nodes(api):
    nodes = api.ok("GET", "nodes")
    assert len(nodes) == 1
    n = nodes[0]
    assert n["running"] is True
    assert n["mem_used"] > 0
    assert api.ok("GET", "nodes/" + q(n["name"]))["name"] == n["name"]


@pytest.mark.warren_only
def test_missing_node(api):
    # RabbitMQ 3.10 answers 500 here; a missing object is a 404.
    assert api.get("nodes/nosuch@host").status == 404


def test_vhosts(api):
    vhosts = api.ok("GET", "vhosts")
    assert "/" in [v["name"] for v in vhosts]
    v = api.ok("GET", "vhosts/%2F")
    assert v["name"] == "/"
    for key in ("messages", "messages_ready", "messages_unacknowledged",
                "message_stats"):
        assert key in v
    assert api.get("vhosts/nosuch").status == 404


def test_connections_channels_consumers(api, amqp, uniq):
    conn = amqp(client_properties={"connection_name": uniq})
    ch = conn.channel()
    ch.basic_qos(prefetch_count=7)
    ch.queue_declare(uniq)
    ch.basic_consume(uniq, lambda *a: None, consumer_tag="ctag-" + uniq)
    # RabbitMQ fills in statistics every 5 s: wait for them.
    conns = api.wait_for(
        "connections",
        lambda js: any(c.get("user_provided_name") == uniq and
                       c.get("channels") == 1 for c in js), timeout=12)
    c = [c for c in conns if c.get("user_provided_name") == uniq][0]
    assert c["user"] == "guest"
    assert c["vhost"] == "/"
    assert c["state"] == "running"
    assert c["channels"] == 1
    assert c["protocol"] == "AMQP 0-9-1"
    assert c["client_properties"]["connection_name"] == uniq
    # the rest of what pika sent in connection.start-ok, as RabbitMQ shows
    # it: strings, and the capabilities table as an object of booleans
    props = c["client_properties"]
    assert props["product"] == "Pika Python Client Library"
    assert props["platform"].startswith("Python")
    assert props["capabilities"]["consumer_cancel_notify"] is True
    assert props["capabilities"]["publisher_confirms"] is True
    assert isinstance(c["peer_port"], int)
    one = api.ok("GET", "connections/" + q(c["name"]))
    assert one["name"] == c["name"]
    assert [x["name"] for x in api.ok("GET", "vhosts/%2F/connections")].count(
        c["name"]) == 1

    chans = api.ok("GET", "connections/" + q(c["name"]) + "/channels")
    assert len(chans) == 1
    chan = chans[0]
    assert chan["number"] == 1
    assert chan["prefetch_count"] == 7
    assert chan["consumer_count"] == 1
    assert chan["connection_details"]["name"] == c["name"]
    assert api.ok("GET", "channels/" + q(chan["name"]))["name"] == chan["name"]
    assert chan["name"] in [x["name"] for x in api.ok("GET", "channels")]
    assert chan["name"] in [x["name"] for x in api.ok("GET", "vhosts/%2F/channels")]

    cons = [x for x in api.ok("GET", "consumers") if x["queue"]["name"] == uniq]
    assert len(cons) == 1
    assert cons[0]["consumer_tag"] == "ctag-" + uniq
    assert cons[0]["ack_required"] is True
    assert cons[0]["prefetch_count"] == 7
    assert cons[0]["channel_details"]["name"] == chan["name"]
    assert cons[0]["queue"]["vhost"] == "/"
    assert len([x for x in api.ok("GET", "consumers/%2F")
                if x["queue"]["name"] == uniq]) == 1
    qd = api.ok("GET", "queues/%2F/" + q(uniq))
    assert qd["consumers"] == 1
    assert qd["consumer_details"][0]["consumer_tag"] == "ctag-" + uniq


def test_missing_connection_and_channel(api):
    assert api.get("connections/" + q("1.2.3.4:5 -> 6.7.8.9:10")).status == 404
    assert api.get("channels/nosuch").status == 404
    assert api.delete("connections/nosuch").status == 404
    assert api.get("consumers/nosuch").status == 404


def test_close_connection(api, amqp, uniq):
    import pika.exceptions
    conn = amqp(client_properties={"connection_name": uniq})
    conns = api.wait_for(
        "connections",
        lambda js: any(c.get("user_provided_name") == uniq for c in js))
    name = [c for c in conns if c.get("user_provided_name") == uniq][0]["name"]
    r = api.delete("connections/" + q(name), headers={"X-Reason": "bye " + uniq})
    assert r.status == 204
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as ei:
        conn.process_data_events(time_limit=5)
        conn.channel()
    assert ei.value.reply_code == 320
    assert uniq in ei.value.reply_text
    api.wait_for("connections",
                 lambda js: all(c["name"] != name for c in js))


def test_queue_counts_and_stats(api, amqp, uniq):
    ch = amqp().channel()
    ch.queue_declare(uniq)
    for i in range(3):
        ch.basic_publish("", uniq, b"m%d" % i)
    api.wait_for("queues/%2F/" + q(uniq), lambda o: o.get("messages") == 3,
                  timeout=12)
    method, _, _ = ch.basic_get(uniq, auto_ack=False)
    o = api.wait_for("queues/%2F/" + q(uniq),
                     lambda o: o.get("messages_unacknowledged") == 1 and
                     o.get("message_stats", {}).get("deliver_get") == 1,
                     timeout=12)
    assert o["messages_ready"] == 2
    assert o["messages"] == 3
    ms = o["message_stats"]
    assert ms["publish"] == 3
    assert ms["deliver_get"] == 1
    for key in ("publish", "deliver_get", "ack", "redeliver"):
        assert "rate" in ms[key + "_details"]
    ch.basic_nack(method.delivery_tag, requeue=True)
    o = api.wait_for("queues/%2F/" + q(uniq),
                     lambda o: o["messages_ready"] == 3 and
                     o["message_stats"]["redeliver"] == 1, timeout=12)
    method, _, _ = ch.basic_get(uniq, auto_ack=False)
    ch.basic_ack(method.delivery_tag)
    o = api.wait_for("queues/%2F/" + q(uniq),
                     lambda o: o["message_stats"]["ack"] == 1, timeout=12)
    assert o["messages"] == 2
    assert o["memory"] > 0
    listed = [x for x in api.ok("GET", "queues") if x["name"] == uniq][0]
    assert listed["messages"] == 2
    assert listed["vhost"] == "/"


def test_exchange_stats(api, amqp, uniq):
    ch = amqp().channel()
    ch.exchange_declare(uniq, "fanout")
    ch.queue_declare(uniq)
    ch.queue_bind(uniq, uniq)
    ch.basic_publish(uniq, "", b"x")
    ch.basic_publish(uniq, "", b"y")
    o = api.wait_for("exchanges/%2F/" + q(uniq),
                     lambda o: o.get("message_stats", {}).get("publish_in") == 2,
                     timeout=12)
    assert o["message_stats"]["publish_out"] == 2
    assert o["type"] == "fanout"
    assert "rate" in o["message_stats"]["publish_in_details"]


@pytest.mark.warren_only
def test_rates_are_sampled(fresh, uniq):
    """collect_statistics_interval: rates are the change per second over
    the last interval."""
    import pika
    srv, api = fresh("collect_statistics_interval = 200")
    conn = pika.BlockingConnection(pika.ConnectionParameters(*srv.address))
    ch = conn.channel()
    ch.queue_declare(uniq)
    deadline = time.monotonic() + 10
    rate = 0.0
    while rate <= 0 and time.monotonic() < deadline:
        for _ in range(20):
            ch.basic_publish("", uniq, b"x")
        time.sleep(0.25)
        o = api.ok("GET", "queues/%2F/" + q(uniq))
        rate = o["message_stats"]["publish_details"]["rate"]
    assert rate > 0
    assert o["messages_details"]["rate"] > 0
    ov = api.ok("GET", "overview")
    assert ov["message_stats"]["publish"] >= 20
    conn.close()
    # Once publishing stops, the rate falls back to zero.
    api.wait_for("queues/%2F/" + q(uniq),
                 lambda o: o["message_stats"]["publish_details"]["rate"] == 0)


def test_default_exchange_listed(api):
    names = [x["name"] for x in api.ok("GET", "exchanges/%2F")]
    assert "" in names and "amq.topic" in names
    d = api.ok("GET", "exchanges/%2F/amq.default")
    assert d["name"] == "" and d["type"] == "direct"


def test_columns(api, amqp, uniq):
    api.ok("PUT", "queues/%2F/" + q(uniq), {})
    amqp().channel().basic_publish("", uniq, b"x")
    mine = api.wait_for(
        "queues/%2F?columns=name,messages,message_stats.publish",
        lambda items: [x for x in items if x["name"] == uniq and
                       "message_stats" in x], timeout=12)
    mine = [x for x in mine if x["name"] == uniq][0]
    assert set(mine) == {"name", "messages", "message_stats"}
    assert mine["message_stats"] == {"publish": 1}


def test_sort_and_reverse(api, uniq):
    for n in ("b", "a", "c"):
        api.ok("PUT", "queues/%2F/" + q(uniq + n), {})
    names = [x["name"] for x in api.ok("GET", "queues/%2F?sort=name")
             if x["name"].startswith(uniq)]
    assert names == [uniq + "a", uniq + "b", uniq + "c"]
    names = [x["name"] for x in
             api.ok("GET", "queues/%2F?sort=name&sort_reverse=true")
             if x["name"].startswith(uniq)]
    assert names == [uniq + "c", uniq + "b", uniq + "a"]


def test_pagination(api, uniq):
    for i in range(5):
        api.ok("PUT", "queues/%2F/" + q("%s-%d" % (uniq, i)), {})
    o = api.ok("GET", "queues/%%2F?page=2&page_size=2&name=%s&sort=name" % uniq)
    assert o["filtered_count"] == 5
    assert o["page"] == 2 and o["page_size"] == 2 and o["page_count"] == 3
    assert o["item_count"] == 2
    assert [x["name"] for x in o["items"]] == [uniq + "-2", uniq + "-3"]
    assert o["total_count"] >= 5
    o = api.ok("GET", "queues/%%2F?page=1&name=%s-[34]$&use_regex=true" % uniq)
    assert sorted(x["name"] for x in o["items"]) == [uniq + "-3", uniq + "-4"]
    for bad, error in (
            ("page=0", "invalid_pagination_parameters"),
            ("page=x", "bad_request"),
            ("page=1&page_size=0", "invalid_pagination_parameters"),
            ("page=1&page_size=501", "invalid_pagination_parameters"),
            ("page=99&name=" + uniq, "page_out_of_range"),
            ("page=1&name=(&use_regex=true", "bad_request")):
        r = api.get("queues/%2F?" + bad)
        assert r.status == 400, bad
        assert r.json["error"] == error, bad


def test_paged_queues_are_the_whole_list_paged(api, amqp, uniq):
    """A paged, sorted list of queues (built from light stubs for the sort
    and filter, then whole for the page) holds the same items, in the same
    order, as the unpaged list sorted the same way."""
    ch = amqp().channel()
    for i, n in enumerate((3, 0, 7, 1, 7, 2)):
        name = "%s-%d" % (uniq, i)
        api.ok("PUT", "queues/%2F/" + q(name),
               {"arguments": {"x-max-length": 100 + i}})
        for _ in range(n):
            ch.basic_publish("", name, b"x")
    api.wait_for("queues/%2F/" + q(uniq + "-4"),
                 lambda o: o["messages"] == 7)
    for sort, rev in (("messages", "true"), ("messages_ready", "false"),
                      ("name", "true"), ("vhost", "false"),
                      ("message_stats.publish", "true"), ("", "false")):
        whole = [x for x in api.ok(
            "GET", "queues/%%2F?sort=%s&sort_reverse=%s" % (sort, rev))
            if x["name"].startswith(uniq + "-")]
        paged = []
        for page in (1, 2, 3):
            o = api.ok("GET", "queues/%%2F?page=%d&page_size=2&name=%s-"
                       "&sort=%s&sort_reverse=%s" % (page, uniq, sort, rev))
            paged += o["items"]
        assert len(paged) == 6
        strip = ("messages_details", "messages_ready_details",
                 "messages_unacknowledged_details", "message_stats")
        for a, b in zip(whole, paged):
            for k in strip:  # rates move between the two requests
                a.pop(k, None)
                b.pop(k, None)
        if sort in ("", "name", "vhost", "message_stats.publish"):
            assert [x["name"] for x in paged] == [x["name"] for x in whole]
        else:  # ties may come out in another order
            assert [x[sort] for x in paged] == [x[sort] for x in whole]
            assert sorted(x["name"] for x in paged) == sorted(
                x["name"] for x in whole)
        assert sorted(paged, key=lambda x: x["name"]) == sorted(
            whole, key=lambda x: x["name"])
    o = api.ok("GET", "queues/%%2F?page=1&page_size=10&name=%s-&sort=messages"
               "&sort_reverse=true&columns=name,arguments,messages" % uniq)
    assert [x["name"] for x in o["items"]][:2] in (
        [uniq + "-2", uniq + "-4"], [uniq + "-4", uniq + "-2"])
    assert o["items"][0] == {"name": o["items"][0]["name"], "messages": 7,
                             "arguments": {"x-max-length": int(
                                 o["items"][0]["name"][-1]) + 100}}


def test_head_and_options(api):
    r = api.request("HEAD", "overview")
    assert r.status == 200 and r.body == b""
    r = api.request("OPTIONS", "queues/%2F/x")
    assert r.status in (200, 204)
    allow = r.headers["Allow"]
    for m in ("GET", "PUT", "DELETE"):
        assert m in allow


def test_health(api):
    assert api.ok("GET", "aliveness-test/%2F")["status"] == "ok"
    assert api.get("aliveness-test/nosuch").status == 404
    assert api.ok("GET", "health/checks/alarms")["status"] == "ok"
    assert api.ok("GET", "health/checks/local-alarms")["status"] == "ok"
    assert api.ok("GET", "healthchecks/node")["status"] == "ok"
    for name in ("node-is-quorum-critical", "node-is-mirror-sync-critical"):
        assert api.ok("GET", "health/checks/" + name) == {
            "status": "ok", "reason": "single node cluster"}


def test_health_listeners(api, broker):
    """RabbitMQ's port-listener and protocol-listener checks: 200 when a
    listener is there, 503 with what there is when not."""
    port = broker[1]
    assert api.ok("GET", "health/checks/port-listener/%d" % port) == {
        "status": "ok", "port": port}
    r = api.get("health/checks/port-listener/1")
    assert r.status == 503
    assert r.json["status"] == "failed" and r.json["missing"] == 1
    assert r.json["reason"] == "No active listener"
    assert port in r.json["ports"] and api_port(api) in r.json["ports"]
    for name in ("amqp", "AMQP091", "amqp0-9-1", "http"):
        ok = api.ok("GET", "health/checks/protocol-listener/" + name)
        assert ok["status"] == "ok"
    assert ok["protocol"] == "http"
    r = api.get("health/checks/protocol-listener/mqtt")
    assert r.status == 503 and r.json["missing"] == "mqtt"
    assert {"amqp", "http"} <= set(r.json["protocols"])


def test_cluster_name(api):
    assert api.ok("GET", "cluster-name") == {
        "name": api.ok("GET", "overview")["cluster_name"]}


def test_health_alarms_under_memory_alarm(fresh):
    """The memory alarm (connection.blocked) fails the alarm checks with
    503, as RabbitMQ's resource alarms do, and shows in nodes."""
    srv, api = fresh("vm_memory_high_watermark.absolute = 8MiB")
    node = api.ok("GET", "overview")["node"]
    assert api.ok("GET", "health/checks/alarms") == {"status": "ok"}
    assert api.ok("GET", "nodes")[0]["mem_limit"] == 8 << 20
    c = pika.BlockingConnection(pika.ConnectionParameters(*srv.address))
    ch = c.channel()
    ch.queue_declare("big")
    # Past the watermark; the broker stops reading mid-way, so from a thread.
    t = threading.Thread(target=lambda: [ch.basic_publish("", "big", b"x" * (
        1 << 20)) for _ in range(12)], daemon=True)
    t.start()
    deadline = time.monotonic() + 5
    while (r := api.get("health/checks/alarms")).status != 503:
        assert time.monotonic() < deadline, r
        time.sleep(0.05)
    assert r.json == {"status": "failed",
                      "reason": "There are alarms in effect in the cluster",
                      "alarms": [{"node": node, "resource": "memory"}]}
    r = api.get("health/checks/local-alarms")
    assert r.status == 503
    assert r.json["reason"] == "There are alarms in effect on the node"
    r = api.get("healthchecks/node")
    assert r.status == 503 and r.json["reason"] == (
        "resource alarm(s) in effect:[{resource_limit,memory,%s}]" % node)
    assert api.ok("GET", "nodes")[0]["mem_alarm"] is True
    api.ok("DELETE", "queues/%2F/big")  # frees the memory: the alarm clears
    deadline = time.monotonic() + 5
    while (r := api.get("health/checks/alarms")).status != 200:
        assert time.monotonic() < deadline, r
        time.sleep(0.05)
    t.join(10)
    c.close()


def test_policies_lists(api):
    """rabbitmqadmin list policies: lists (test_api_policies.py sets
    some)."""
    for path in ("policies", "policies/%2F", "operator-policies",
                 "operator-policies/%2F"):
        assert isinstance(api.ok("GET", path), list), path
    assert api.get("policies/nosuch-vhost").status == 404


@pytest.mark.warren_only
def test_confirm_counted(fresh, uniq):
    """message_stats.confirm (overview and vhost) counts publishes acked to
    a publisher in confirm mode, as RabbitMQ's; a plain publish is not
    one, nor is a nack."""
    import pika
    srv, api = fresh()
    conn = pika.BlockingConnection(pika.ConnectionParameters(*srv.address))
    plain = conn.channel()
    plain.queue_declare(uniq)
    plain.basic_publish("", uniq, b"not confirmed")
    ch = conn.channel()
    ch.confirm_delivery()
    for _ in range(3):
        ch.basic_publish("", uniq, b"confirmed")
    ch.queue_declare(uniq + "-full", arguments={"x-max-length": 0,
                                                "x-overflow": "reject-publish"})
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", uniq + "-full", b"nacked")
    assert api.ok("GET", "overview")["message_stats"]["confirm"] == 3
    vh = api.ok("GET", "vhosts/%2F")
    assert vh["message_stats"]["confirm"] == 3
    assert "rate" in vh["message_stats"]["confirm_details"]
    conn.close()


@pytest.mark.warren_only
def test_connection_and_channel_rates(fresh, uniq):
    """Connections count frames and bytes both ways (recv_cnt, recv_oct,
    send_oct), channels their publishes, confirms, deliveries and acks,
    each with a sampled rate, as RabbitMQ's."""
    import pika
    srv, api = fresh("collect_statistics_interval = 200")
    conn = pika.BlockingConnection(pika.ConnectionParameters(*srv.address))
    ch = conn.channel()
    ch.confirm_delivery()
    ch.queue_declare(uniq)
    for _ in range(10):
        ch.basic_publish("", uniq, b"x" * 1000)
    for _ in range(4):
        m, _p, _b = ch.basic_get(uniq)
        ch.basic_ack(m.delivery_tag)
    ch.basic_get(uniq, auto_ack=True)
    c = api.ok("GET", "connections")[0]
    # 10 publishes of 3 frames, 1,000 body bytes each, and more
    assert c["recv_cnt"] > 30 and c["recv_oct"] > 10000
    assert c["send_oct"] > 5000  # five deliveries of 1,000 bytes
    assert "rate" in c["recv_oct_details"] and "rate" in c["send_oct_details"]
    ms = api.ok("GET", "channels")[0]["message_stats"]
    assert (ms["publish"], ms["confirm"], ms["deliver_get"], ms["ack"]) == (
        10, 10, 5, 4)
    assert "rate" in ms["publish_details"]
    # the rates come from the sampler: positive while traffic flows
    deadline = time.monotonic() + 10
    rate = 0.0
    while rate <= 0 and time.monotonic() < deadline:
        for _ in range(20):
            ch.basic_publish("", uniq, b"y")
        time.sleep(0.25)
        c = api.ok("GET", "connections")[0]
        rate = c["recv_oct_details"]["rate"]
    assert rate > 0
    conn.close()


@pytest.mark.warren_only
def test_node_file_descriptors(fresh):
    """/api/nodes: fd_used counts the broker's open descriptors (each
    connection's socket among them), fd_total is its RLIMIT_NOFILE."""
    import resource
    srv, api = fresh()
    before = api.ok("GET", "nodes")[0]
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if os.environ.get("WARREN_UNDER_VALGRIND"):  # it keeps a few for itself
        assert limit - 100 < before["fd_total"] <= limit
    else:
        assert before["fd_total"] == limit
    conns = [pika.BlockingConnection(pika.ConnectionParameters(*srv.address))
             for _ in range(3)]
    after = api.ok("GET", "nodes")[0]
    assert after["fd_used"] >= before["fd_used"] + 3
    assert after["sockets_used"] == 3
    for c in conns:
        c.close()
