# SPDX-License-Identifier: MIT
"""Policies and operator policies over the management API: RabbitMQ's
/api/policies and /api/operator-policies (PUT / GET / DELETE, 201 / 204),
validation errors with RabbitMQ's texts (400), the tags they need (401),
the policy a queue or exchange shows, definitions export / import and
the definitions file across a restart.

Each test works in a vhost of its own, deleted at the end (its policies
go with it)."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from mgmt_client import Api, q  # noqa: E402


@pytest.fixture
def vhost(api, uniq):
    name = uniq + "/vh"
    assert api.put("vhosts/" + q(name)).status in (201, 204)
    yield name
    api.delete("vhosts/" + q(name))


def pol(vh, name, kind="policies"):
    return "%s/%s/%s" % (kind, q(vh), q(name))


def put(api, vh, name, body, kind="policies"):
    return api.put(pol(vh, name, kind), body)


def test_put_get_delete(api, vhost):
    body = {"pattern": "^orders", "definition": {"max-length": 10},
            "priority": 3, "apply-to": "queues"}
    assert put(api, vhost, "lim", body).status == 201
    want = dict(body, vhost=vhost, name="lim")
    assert api.ok("GET", pol(vhost, "lim")) == want
    assert api.ok("GET", "policies/" + q(vhost)) == [want]
    assert want in api.ok("GET", "policies")
    # replaced: 204; defaults are apply-to all and priority 0
    assert put(api, vhost, "lim", {"pattern": ".*", "definition": {
        "message-ttl": 5}}).status == 204
    assert api.ok("GET", pol(vhost, "lim")) == {
        "vhost": vhost, "name": "lim", "pattern": ".*", "apply-to": "all",
        "definition": {"message-ttl": 5}, "priority": 0}
    # listed by name
    assert put(api, vhost, "a-first", {"pattern": "x", "definition": {
        "expires": 1000}}).status == 201
    assert [p["name"] for p in api.ok("GET", "policies/" + q(vhost))] == [
        "a-first", "lim"]
    assert api.delete(pol(vhost, "lim")).status == 204
    assert api.get(pol(vhost, "lim")).status == 404
    assert api.delete(pol(vhost, "lim")).status == 404
    assert api.get("policies/no-such-vhost-x").status == 404
    assert api.put(pol("no-such-vhost-x", "p"), body).status == 404


def test_operator_policies(api, vhost):
    body = {"pattern": ".*", "definition": {"max-length": 5,
                                            "message-ttl": 1000},
            "apply-to": "queues"}
    assert put(api, vhost, "op", body, "operator-policies").status == 201
    assert api.ok("GET", pol(vhost, "op", "operator-policies")) == dict(
        body, vhost=vhost, name="op", priority=0)
    assert api.ok("GET", "operator-policies/" + q(vhost))[0]["name"] == "op"
    # separate from the policies
    assert api.ok("GET", "policies/" + q(vhost)) == []
    assert api.delete(pol(vhost, "op", "operator-policies")).status == 204
    assert api.ok("GET", "operator-policies/" + q(vhost)) == []


@pytest.mark.parametrize("body,reason", [
    ({"pattern": "x", "definition": {"foo": 1, "bar": "x"}},
     '[{<<"bar">>,<<"x">>},{<<"foo">>,1}] are not recognised policy '
     'settings'),
    ({"pattern": "x", "definition": {"message-ttl": "a"}},
     '<<"a">> is not a valid message TTL'),
    ({"pattern": "x", "definition": {"message-ttl": -1}},
     '-1 is not a valid message TTL'),
    ({"pattern": "x", "definition": {"expires": 0}},
     '0 is not a valid queue expiry'),
    ({"pattern": "x", "definition": {"max-length": 1.5}},
     '1.5 is not a valid maximum length'),
    ({"pattern": "x", "definition": {"overflow": "x"}},
     '<<"x">> is not a valid overflow value'),
    ({"pattern": "x", "definition": {"dead-letter-exchange": 5}},
     '5 is not a valid dead letter exchange name'),
    ({"pattern": "x", "definition": {"alternate-exchange": True}},
     'true is not a valid alternate exchange name'),
    ({"pattern": "x", "definition": {}}, 'no policy provided'),
    ({"pattern": "(", "definition": {"message-ttl": 1}},
     'pattern should be regular expression but is invalid'),
    ({"pattern": "x", "definition": {"message-ttl": 1}, "apply-to": "foo"},
     "apply-to 'foo' unrecognised; should be 'queues', 'exchanges' or "
     "'all'"),
    ({"pattern": "x", "definition": {"message-ttl": 1}, "priority": "hi"},
     'priority should be an integer'),
])
def test_validation(api, vhost, body, reason):
    r = put(api, vhost, "bad", body)
    assert r.status == 400, r
    assert r.json["error"] == "bad_request"
    assert r.json["reason"].startswith("Validation failed\n\n" + reason), r
    assert api.get(pol(vhost, "bad")).status == 404


def test_validation_missing_keys(api, vhost):
    r = put(api, vhost, "bad", {"definition": {"message-ttl": 1}})
    assert r.status == 400 and "key_missing,pattern" in r.json["reason"]
    r = put(api, vhost, "bad", {"pattern": "x"})
    assert r.status == 400 and "key_missing,definition" in r.json["reason"]
    assert api.request("PUT", pol(vhost, "bad"), raw=b"{nope").status == 400


def test_operator_policy_keys(api, vhost):
    r = put(api, vhost, "op", {"pattern": "x", "definition": {
        "dead-letter-exchange": "a"}}, "operator-policies")
    assert r.status == 400
    assert r.json["reason"] == (
        'Validation failed\n\n[{<<"dead-letter-exchange">>,<<"a">>}] are not '
        'recognised policy settings\n')
    for key in ("expires", "message-ttl", "max-length", "max-length-bytes",
                "delivery-limit"):
        assert put(api, vhost, "op", {"pattern": "x", "definition": {
            key: 100}}, "operator-policies").status in (201, 204), key


def test_ignored_keys_accepted(api, vhost):
    """Keys of features warren lacks (HA, lazy queues) are accepted."""
    assert put(api, vhost, "ha", {"pattern": ".*", "definition": {
        "ha-mode": "all", "ha-sync-mode": "automatic",
        "queue-mode": "lazy"}}).status == 201
    r = put(api, vhost, "ha", {"pattern": ".*", "definition": {
        "queue-mode": "eager"}})
    assert r.status == 400
    assert "is not a valid queue-mode value" in r.json["reason"]


def test_queue_and_exchange_show_policy(api, vhost):
    qpath = "queues/%s/orders" % q(vhost)
    assert api.put(qpath, {"arguments": {"x-max-length": 50}}).status in (
        201, 204)
    assert api.put("exchanges/%s/orders-x" % q(vhost), {
        "type": "fanout"}).status in (201, 204)
    got = api.ok("GET", qpath)
    assert got["policy"] is None and got["operator_policy"] is None
    assert got["effective_policy_definition"] == {}
    put(api, vhost, "p", {"pattern": "^orders", "definition": {
        "max-length": 100, "dead-letter-exchange": "dlx"}})
    put(api, vhost, "op", {"pattern": "^ord", "definition": {
        "max-length": 20, "message-ttl": 60000}}, "operator-policies")
    got = api.ok("GET", qpath)
    assert got["policy"] == "p" and got["operator_policy"] == "op"
    assert got["effective_policy_definition"] == {
        "max-length": 20, "dead-letter-exchange": "dlx",
        "message-ttl": 60000}
    # the declared arguments stay as declared
    assert got["arguments"] == {"x-max-length": 50}
    assert api.ok("GET", "exchanges/%s/orders-x" % q(vhost))["policy"] == "p"
    # apply-to queues: the exchange has none
    put(api, vhost, "p", {"pattern": "^orders", "apply-to": "queues",
                          "definition": {"max-length": 100}})
    assert api.ok("GET", "exchanges/%s/orders-x" % q(vhost))["policy"] is None
    assert api.ok("GET", qpath)["policy"] == "p"
    # priority picks between two matching policies
    put(api, vhost, "hi", {"pattern": "ord", "priority": 5,
                           "definition": {"max-length": 7}})
    assert api.ok("GET", qpath)["policy"] == "hi"
    # a redeclare with the declared arguments still works
    assert api.put(qpath, {"arguments": {"x-max-length": 50}}).status in (
        201, 204)


@pytest.mark.warren_only
def test_tags(api, vhost, uniq):
    """policymaker or administrator for policies (rabbit_mgmt_util's
    is_authorized_policies), administrator for operator policies."""
    body = {"pattern": ".*", "definition": {"max-length": 1}}
    for user, tags in (("mgmt", "management"), ("pm", "policymaker"),
                       ("mon", "monitoring")):
        name = uniq + user
        assert api.put("users/" + q(name), {"password": "pw",
                                            "tags": tags}).status == 201
        assert api.put("permissions/%s/%s" % (q(vhost), q(name)), {
            "configure": ".*", "write": ".*", "read": ".*"}).status in (
                201, 204)
    mgmt = Api(*api_addr(api), user=uniq + "mgmt", password="pw")
    pm = Api(*api_addr(api), user=uniq + "pm", password="pw")
    mon = Api(*api_addr(api), user=uniq + "mon", password="pw")
    for who in (mgmt, mon):
        r = who.put(pol(vhost, "p"), body)
        assert r.status == 401 and r.json["error"] == "not_authorised"
        assert who.get("policies").status == 401
    assert pm.put(pol(vhost, "p"), body).status == 201
    assert [p["name"] for p in pm.ok("GET", "policies/" + q(vhost))] == ["p"]
    assert pm.delete(pol(vhost, "p")).status == 204
    # operator policies: administrator only
    r = pm.put(pol(vhost, "op", "operator-policies"), body)
    assert r.status == 401
    assert pm.get("operator-policies").status == 401
    # a policymaker without permissions in a vhost cannot set one there
    assert pm.put(pol("/", "p"), body).status == 401
    for user in ("mgmt", "pm", "mon"):
        api.delete("users/" + q(uniq + user))


def api_addr(api):
    host, port = api.base[len("http://"):].rsplit(":", 1)
    return host, int(port)


def test_definitions_export_import(api, vhost, fresh):
    put(api, vhost, "p", {"pattern": "^a", "definition": {"max-length": 3},
                          "priority": 2, "apply-to": "queues"})
    put(api, vhost, "op", {"pattern": ".*", "definition": {"expires": 60000},
                           "apply-to": "queues"}, "operator-policies")
    d = api.ok("GET", "definitions")
    assert {"vhost": vhost, "name": "p", "pattern": "^a",
            "apply-to": "queues", "definition": {"max-length": 3},
            "priority": 2} in d["policies"]
    assert {"vhost": vhost, "component": "operator_policy", "name": "op",
            "value": {"pattern": ".*", "definition": {"expires": 60000},
                      "priority": 0, "apply-to": "queues"}} in d["parameters"]
    one = api.ok("GET", "definitions/" + q(vhost))
    assert one["policies"] == [{"name": "p", "pattern": "^a",
                                "apply-to": "queues", "priority": 2,
                                "definition": {"max-length": 3}}]
    # into a fresh broker: the same policies
    srv, api2 = fresh()
    mine = {k: [x for x in d[k] if x.get("vhost") == vhost]
            for k in ("policies", "parameters")}
    mine["vhosts"] = [{"name": vhost}]
    assert api2.post("definitions", mine).status == 204
    assert api2.ok("GET", "policies/" + q(vhost)) == mine["policies"]
    assert api2.ok("GET", "operator-policies/" + q(vhost))[0]["name"] == "op"
    # a per-vhost document goes to the vhost of the path
    assert api2.put("vhosts/other").status == 201
    assert api2.post("definitions/other", one).status == 204
    assert [p["name"] for p in api2.ok("GET", "policies/other")] == ["p"]


def test_definitions_import_refuses_bad_policy(api, vhost):
    doc = {"policies": [{"vhost": vhost, "name": "bad", "pattern": "x",
                         "definition": {"nope": 1}}],
           "queues": [{"vhost": vhost, "name": "untouched"}]}
    r = api.post("definitions", doc)
    assert r.status == 400
    assert 'are not recognised policy settings' in r.json["reason"]
    assert api.get("queues/%s/untouched" % q(vhost)).status == 404
    doc = {"policies": [{"vhost": "no-such-vhost-x", "name": "p",
                         "pattern": "x", "definition": {"max-length": 1}}]}
    r = api.post("definitions", doc)
    assert r.status == 400 and "no vhost" in r.json["reason"]


@pytest.mark.warren_only
def test_import_rabbitmq_file_policies(fresh):
    """RabbitMQ's export carries its policies: they are no longer
    dropped."""
    here = os.path.dirname(__file__)
    with open(os.path.join(here, "data",
                           "rabbitmq-3.10-definitions.json")) as f:
        defs = json.load(f)
    srv, api = fresh()
    assert api.post("definitions", defs).status == 204
    assert api.ok("GET", "policies/%2F/ha")["definition"] == {
        "max-length": 100000}
    assert api.ok("GET", "queues/%2F/orders")["policy"] == "ha"


@pytest.mark.warren_only
def test_policies_survive_restart(fresh, tmp_path):
    defs = tmp_path / "defs.json"
    srv, api = fresh("definitions.file = %s" % defs)
    assert put(api, "/", "p", {"pattern": "^q", "definition": {
        "max-length": 4}, "priority": 1}).status == 201
    assert put(api, "/", "op", {"pattern": "^q", "definition": {
        "max-length": 2}}, "operator-policies").status == 201
    assert '"max-length": 4' in defs.read_text()
    srv.terminate()
    srv, api = fresh("definitions.file = %s" % defs)
    assert api.ok("GET", "policies/%2F/p")["priority"] == 1
    assert api.ok("GET", "operator-policies/%2F/op")["definition"] == {
        "max-length": 2}
    assert api.put("queues/%2F/q1", {}).status == 201
    got = api.ok("GET", "queues/%2F/q1")
    assert (got["policy"], got["operator_policy"]) == ("p", "op")
    # cleared: gone after the next restart too
    assert api.delete("policies/%2F/p").status == 204
    srv.terminate()
    srv, api = fresh("definitions.file = %s" % defs)
    assert api.get("policies/%2F/p").status == 404


# ---- warrenctl ----------------------------------------------------------------

from test_warrenctl import ctl  # noqa: E402,F401  (the fixture)

CTL_COMMANDS = ("set_policy", "clear_policy", "list_policies",
                "set_operator_policy", "clear_operator_policy",
                "list_operator_policies")


@pytest.mark.warren_only
def test_warrenctl_help(ctl):
    listing = ctl("--help", url=False).stdout.decode()
    for cmd in CTL_COMMANDS:
        assert "    %s " % cmd in listing, cmd
        page = ctl("help", cmd, url=False).stdout.decode()
        assert page.startswith("NAME\n    warrenctl " + cmd), cmd
        for section in ("SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "EXAMPLES"):
            assert section in page, (cmd, section)
        assert ctl(cmd, "--help", url=False).stdout.decode() == page


@pytest.mark.warren_only
def test_warrenctl_policies(api, ctl, vhost):
    p = ctl("set_policy", "-p", vhost, "--priority", "7", "--apply-to",
            "queues", "DLX", "^orders", '{"dead-letter-exchange":"dlx"}')
    assert p.stdout.decode() == "policy 'DLX' in vhost '%s' set\n" % vhost
    assert api.ok("GET", pol(vhost, "DLX")) == {
        "vhost": vhost, "name": "DLX", "pattern": "^orders",
        "apply-to": "queues", "priority": 7,
        "definition": {"dead-letter-exchange": "dlx"}}
    # rabbitmqctl's order with the options after the arguments; defaults
    ctl("set_policy", "-p", vhost, "ttl", ".*", '{"message-ttl": 5}',
        "--apply-to", "all")
    assert api.ok("GET", pol(vhost, "ttl"))["priority"] == 0
    p = ctl("-f", "tsv", "list_policies", "-p", vhost)
    lines = p.stdout.decode().splitlines()
    assert lines == [
        '%s\tDLX\t^orders\tqueues\t{"dead-letter-exchange":"dlx"}\t7' % vhost,
        '%s\tttl\t.*\tall\t{"message-ttl":5}\t0' % vhost]
    p = ctl("-f", "json", "list_policies", "-p", vhost)
    assert [x["name"] for x in json.loads(p.stdout)] == ["DLX", "ttl"]
    p = ctl("clear_policy", "-p", vhost, "ttl")
    assert p.stdout.decode() == "policy 'ttl' in vhost '%s' cleared\n" % vhost
    assert api.get(pol(vhost, "ttl")).status == 404
    # errors: one line each
    p = ctl("set_policy", "-p", vhost, "bad", ".*", "{nope", expect=2)
    err = p.stderr.decode()
    assert err.startswith("warrenctl: set_policy: DEFINITION is not JSON: ")
    assert err.count("\n") == 1
    ctl("set_policy", "-p", vhost, "bad", ".*", "[1]", expect=2)
    ctl("set_policy", "-p", vhost, "bad", ".*", expect=2)
    ctl("set_policy", "--priority", "x", "bad", ".*", '{"expires":1}',
        expect=2)
    ctl("list_policies", "--priority", "1", expect=2)
    p = ctl("set_policy", "-p", vhost, "bad", ".*", '{"message-ttl":"a"}',
            expect=1)
    assert p.stderr.decode() == (
        'warrenctl: Validation failed: <<"a">> is not a valid message TTL\n')
    p = ctl("set_policy", "-p", vhost, "bad", ".*", '{"nope":1}', expect=1)
    assert "are not recognised policy settings" in p.stderr.decode()
    p = ctl("clear_policy", "-p", vhost, "nosuch", expect=5)
    assert p.stderr.decode() == \
        "warrenctl: not found: policy 'nosuch' in vhost '%s'\n" % vhost
    ctl("list_policies", "-p", "no-such-vhost-x", expect=5)
    ctl("set_policy", "-p", "no-such-vhost-x", "p", ".*", '{"expires":1}',
        expect=5)


@pytest.mark.warren_only
def test_warrenctl_operator_policies(api, ctl, vhost):
    p = ctl("set_operator_policy", "-p", vhost, "--apply-to", "queues",
            "cap", ".*", '{"max-length": 100}')
    assert p.stdout.decode() == \
        "operator policy 'cap' in vhost '%s' set\n" % vhost
    assert api.ok("GET", pol(vhost, "cap", "operator-policies"))[
        "definition"] == {"max-length": 100}
    p = ctl("-f", "tsv", "list_operator_policies", "-p", vhost)
    assert p.stdout.decode().splitlines()[0] == \
        '%s\tcap\t.*\tqueues\t{"max-length":100}\t0' % vhost
    assert ctl("-f", "tsv", "list_policies", "-p",
               vhost).stdout.decode() == ""
    p = ctl("set_operator_policy", "-p", vhost, "x", ".*",
            '{"dead-letter-exchange": "d"}', expect=1)
    assert "are not recognised policy settings" in p.stderr.decode()
    ctl("clear_operator_policy", "-p", vhost, "cap")
    assert api.ok("GET", "operator-policies/" + q(vhost)) == []
    ctl("clear_operator_policy", "-p", vhost, "cap", expect=5)
