# SPDX-License-Identifier: MIT
"""Interop: RabbitMQ's own rabbitmqadmin (shipped with Debian's
rabbitmq-server package as /usr/bin/rabbitmqadmin) drives warren's
management API unchanged. Skipped when it is not installed."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from broker import require_tool

ADMIN = shutil.which("rabbitmqadmin") or "/usr/bin/rabbitmqadmin"


@pytest.fixture(autouse=True)
def _rabbitmqadmin_installed():
    require_tool(os.path.exists(ADMIN),
                 "rabbitmqadmin (Debian package rabbitmq-server)")


@pytest.fixture
def admin(mgmt):
    host, port = mgmt

    def run(*args, ok=True):
        p = subprocess.run([sys.executable, ADMIN, "-H", host, "-P", str(port),
                            "-u", "guest", "-p", "guest"] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30, text=True)
        if ok:
            assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p

    return run


def test_declare_publish_get_list(admin, uniq):
    admin("declare", "exchange", "name=" + uniq, "type=topic")
    admin("declare", "queue", "name=" + uniq, "durable=false",
          'arguments={"x-max-length": 100}')
    admin("declare", "binding", "source=" + uniq, "destination=" + uniq,
          "routing_key=*.info")
    admin("publish", "exchange=" + uniq, "routing_key=app.info",
          "payload=hello from rabbitmqadmin")
    out = admin("-f", "raw_json", "list", "queues", "name", "messages").stdout
    mine = [x for x in json.loads(out) if x["name"] == uniq]
    assert mine == [{"name": uniq, "messages": 1}]
    out = admin("-f", "raw_json", "get", "queue=" + uniq,
                "ackmode=ack_requeue_false").stdout
    msgs = json.loads(out)
    assert msgs[0]["payload"] == "hello from rabbitmqadmin"
    assert msgs[0]["routing_key"] == "app.info"
    out = admin("-f", "tsv", "list", "bindings", "source", "destination",
                "routing_key").stdout
    assert "%s\t%s\t*.info" % (uniq, uniq) in out
    out = admin("-f", "raw_json", "list", "bindings", "source",
                "properties_key").stdout
    pk = [b for b in json.loads(out) if b["source"] == uniq][0]["properties_key"]
    admin("delete", "binding", "source=" + uniq, "destination_type=queue",
          "destination=" + uniq, "properties_key=" + pk)
    admin("purge", "queue", "name=" + uniq)
    admin("delete", "queue", "name=" + uniq)
    admin("delete", "exchange", "name=" + uniq)
    out = admin("-f", "raw_json", "list", "queues", "name").stdout
    assert uniq not in [x["name"] for x in json.loads(out)]


def test_show_overview_and_lists(admin):
    out = admin("show", "overview").stdout
    assert "rabbitmq_version" in out
    for what in ("connections", "channels", "consumers", "exchanges",
                 "vhosts", "nodes"):
        admin("list", what)


def test_errors(admin, uniq):
    p = admin("declare", "exchange", "name=amq.nope", "type=direct", ok=False)
    assert p.returncode != 0
    admin("declare", "queue", "name=" + uniq, "durable=false")
    p = admin("declare", "queue", "name=" + uniq, "durable=true", ok=False)
    assert p.returncode != 0
    assert "inequivalent arg 'durable'" in p.stderr + p.stdout


def test_export_import(admin, tmp_path, uniq):
    admin("declare", "queue", "name=" + uniq, "durable=true")
    path = str(tmp_path / "defs.json")
    admin("export", path)
    with open(path) as f:
        defs = json.load(f)
    assert uniq in [x["name"] for x in defs["queues"]]
    admin("delete", "queue", "name=" + uniq)
    admin("import", path)
    out = admin("-f", "raw_json", "list", "queues", "name", "durable").stdout
    assert {"name": uniq, "durable": True} in json.loads(out)


def test_policies(admin, api, uniq):
    admin("declare", "policy", "name=" + uniq, "pattern=^" + uniq + "$",
          'definition={"max-length": 1}', "priority=3", "apply-to=queues")
    admin("declare", "operator_policy", "name=" + uniq + "-op",
          "pattern=^" + uniq + "$", 'definition={"message-ttl": 60000}')
    out = admin("-f", "raw_json", "list", "policies").stdout
    mine = [p for p in json.loads(out) if p["name"] == uniq]
    assert mine == [{"vhost": "/", "name": uniq, "pattern": "^%s$" % uniq,
                     "apply-to": "queues", "definition": {"max-length": 1},
                     "priority": 3}]
    out = admin("-f", "raw_json", "list", "operator_policies").stdout
    assert [p["definition"] for p in json.loads(out)
            if p["name"] == uniq + "-op"] == [{"message-ttl": 60000}]
    admin("declare", "queue", "name=" + uniq, "durable=false")
    got = api.ok("GET", "queues/%2F/" + uniq)
    assert (got["policy"], got["operator_policy"]) == (uniq, uniq + "-op")
    admin("delete", "queue", "name=" + uniq)
    admin("delete", "policy", "name=" + uniq)
    admin("delete", "operator_policy", "name=" + uniq + "-op")
    out = admin("-f", "raw_json", "list", "policies").stdout
    assert [p for p in json.loads(out) if p["name"] == uniq] == []
