# SPDX-License-Identifier: MIT
"""GET /metrics: the Prometheus text exposition format 0.0.4, parsed by a
strict parser written from the format's specification (a scrape must
parse), with per-queue gauges, message counters, connections, channels
and memory."""

import re

import pytest

from mgmt_client import q

pytestmark = pytest.mark.warren_only

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE_RE = re.compile(r"^(%s)(\{(%s(?:,%s)*)?\})? (\S+)(?: (-?\d+))?$" %
                       (NAME, LABEL, LABEL))
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(text):
    """{(name, frozenset(labels)): value}; raises on any malformed line."""
    assert text.endswith("\n")
    samples, types, helps = {}, {}, {}
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            assert re.fullmatch(NAME, name) and name not in helps, line
            helps[name] = doc
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert typ in ("counter", "gauge", "histogram", "summary",
                           "untyped"), line
            assert name not in types, "TYPE twice: " + line
            assert not any(k[0] == name for k in samples), "TYPE after samples"
            types[name] = typ
            continue
        assert not line.startswith("#") or line.startswith("# "), line
        if line.startswith("#") or line == "":
            continue
        m = SAMPLE_RE.match(line)
        assert m, "bad sample line: %r" % line
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        float(value)  # must be a number (+Inf, NaN allowed by float())
        key = (name, frozenset((k, unescape(v)) for k, v in
                               LABEL_RE.findall(labels)))
        assert key not in samples, "duplicate sample: " + line
        samples[key] = float(value)
    for (name, _), _v in samples.items():
        assert name in types, "sample without TYPE: " + name
    return samples, types


def scrape(api):
    r = api.get("/metrics", auth=False)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(r.body.decode())


def value(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def test_metrics_parse_and_values(fresh, uniq):
    import pika
    srv, api = fresh()
    weird = uniq + '-"quoted"\\back\nline'
    conn = pika.BlockingConnection(pika.ConnectionParameters(*srv.address))
    ch = conn.channel()
    ch.queue_declare(uniq)
    ch.queue_declare(weird)
    for _ in range(3):
        ch.basic_publish("", uniq, b"x")
    ch.basic_publish("amq.direct", "nowhere", b"lost")
    method, _, _ = ch.basic_get(uniq)
    ch.basic_consume(weird, lambda *a: None)
    conn.process_data_events(time_limit=0.3)
    samples, types = scrape(api)
    assert value(samples, "rabbitmq_queue_messages_ready", vhost="/",
                 queue=uniq) == 2
    assert value(samples, "rabbitmq_queue_messages_unacked", vhost="/",
                 queue=uniq) == 1
    assert value(samples, "rabbitmq_queue_messages", vhost="/", queue=uniq) == 3
    assert value(samples, "rabbitmq_queue_consumers", vhost="/",
                 queue=weird) == 1
    assert value(samples, "rabbitmq_queue_messages_published_total",
                 vhost="/", queue=uniq) == 3
    assert value(samples, "rabbitmq_queue_messages_delivered_total",
                 vhost="/", queue=uniq) == 1
    assert value(samples, "rabbitmq_global_messages_received_total") == 4
    assert value(samples, "rabbitmq_global_messages_unroutable_dropped_total") == 1
    assert value(samples, "rabbitmq_connections") == 1
    assert value(samples, "rabbitmq_channels") == 1
    assert value(samples, "rabbitmq_consumers") == 1
    assert value(samples, "rabbitmq_queues") == 2
    assert value(samples, "rabbitmq_process_resident_memory_bytes") > 0
    assert value(samples, "warren_allocated_bytes") > 0
    assert types["rabbitmq_global_messages_received_total"] == "counter"
    assert types["rabbitmq_queue_messages_ready"] == "gauge"
    ch.basic_ack(method.delivery_tag)
    conn.process_data_events(time_limit=0.2)
    samples, _ = scrape(api)
    assert value(samples, "rabbitmq_queue_messages_acked_total", vhost="/",
                 queue=uniq) == 1
    assert value(samples, "rabbitmq_global_messages_acknowledged_total") == 1
    # Counters of a deleted queue stay in the global totals.
    ch.queue_delete(uniq)
    conn.process_data_events(time_limit=0.2)
    samples, _ = scrape(api)
    assert ("rabbitmq_queue_messages_ready",
            frozenset({("vhost", "/"), ("queue", uniq)})) not in samples
    assert value(samples, "rabbitmq_global_messages_delivered_total") == 1
    assert value(samples, "rabbitmq_global_messages_acknowledged_total") == 1
    conn.close()


def test_metrics_methods(api):
    assert api.request("POST", "/metrics", raw=b"").status == 405
    r = api.request("HEAD", "/metrics", auth=False)
    assert r.status == 200
