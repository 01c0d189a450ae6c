# SPDX-License-Identifier: MIT
"""Users, vhosts, permissions and topic permissions over the management
API and warrenctl; the API's own access control (RabbitMQ's tags and
per-vhost visibility); persistence of changes in the definitions file.

Each test starts a private broker (fresh): they change users."""

import json
import os
import sys

import pika
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from mgmt_client import Api  # noqa: E402
from test_warrenctl import Ctl  # noqa: E402

pytestmark = pytest.mark.warren_only


def as_user(api, user, password):
    host, port = api.base[len("http://"):].rsplit(":", 1)
    return Api(host, int(port), user=user, password=password)


def amqp(srv, user, password, vhost="/"):
    host, port = srv.address
    return pika.BlockingConnection(pika.ConnectionParameters(
        host=host, port=port, virtual_host=vhost, connection_attempts=1,
        credentials=pika.PlainCredentials(user, password)))


def test_login_errors(fresh):
    srv, api = fresh("auth_failure_delay = 0")
    r = api.get("overview", auth=False)
    assert r.status == 401
    assert "WWW-Authenticate" in r.headers
    assert r.json == {"error": "not_authorized", "reason": "Login failed"}
    assert as_user(api, "guest", "wrong").get("overview").status == 401
    assert as_user(api, "nobody", "x").get("overview").status == 401


def test_user_crud(fresh):
    srv, api = fresh()
    assert api.put("users/ann", {"password": "pw", "tags": "monitoring"}).status == 201
    u = api.ok("GET", "users/ann")
    assert u["name"] == "ann" and u["tags"] == ["monitoring"]
    assert u["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    assert u["password_hash"]
    # tags as a list, update -> 204; the password stays
    assert api.put("users/ann", {"tags": ["management", "policymaker"]}).status == 204
    assert api.ok("GET", "users/ann")["tags"] == ["management", "policymaker"]
    assert as_user(api, "ann", "pw").get("whoami").json == {
        "name": "ann", "tags": ["management", "policymaker"]}
    # password_hash as exported
    h = api.ok("GET", "users/ann")["password_hash"]
    assert api.put("users/bob", {"password_hash": h, "tags": "management"}).status == 201
    assert as_user(api, "bob", "pw").get("whoami").status == 200
    names = [x["name"] for x in api.ok("GET", "users")]
    assert names == sorted(names) and {"ann", "bob", "guest"} <= set(names)
    assert api.delete("users/bob").status == 204
    assert api.get("users/bob").status == 404
    assert api.delete("users/bob").status == 404
    # bad input
    assert api.put("users/x", {"tags": 5}).status == 400
    assert api.put("users/x", {"password_hash": "!!"}).status == 400
    assert api.put("users/x", {"password": "a", "hashing_algorithm": "md5"}).status == 400
    assert api.request("PUT", "users/x", raw=b"{nope").status == 400
    assert api.get("users/x").status == 404


def test_vhost_crud_closes_connections(fresh):
    srv, api = fresh()
    assert api.put("vhosts/v1", {"description": "first"}).status == 201
    assert api.put("vhosts/v1", {"description": "renamed"}).status == 204
    assert api.ok("GET", "vhosts/v1")["description"] == "renamed"
    # the creator of a vhost gets full permissions in it (as RabbitMQ)
    assert api.ok("GET", "permissions/v1/guest")["configure"] == ".*"
    c = amqp(srv, "guest", "guest", "v1")
    assert api.delete("vhosts/v1").status == 204
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as ei:
        c.process_data_events(time_limit=2)
        c.channel()
    assert ei.value.reply_code == 320
    assert api.get("vhosts/v1").status == 404
    assert api.delete("vhosts/v1").status == 404
    assert api.get("permissions/v1/guest").status == 404


def test_permissions_endpoints(fresh):
    srv, api = fresh()
    api.ok("PUT", "users/ann", {"password": "pw", "tags": ""})
    api.ok("PUT", "vhosts/v2")
    p = {"configure": "^ann", "write": ".*", "read": ""}
    assert api.put("permissions/v2/ann", p).status == 201
    assert api.put("permissions/v2/ann", p).status == 204
    want = dict(p, user="ann", vhost="v2")
    assert api.ok("GET", "permissions/v2/ann") == want
    assert want in api.ok("GET", "permissions")
    assert want in api.ok("GET", "vhosts/v2/permissions")
    assert api.ok("GET", "users/ann/permissions") == [want]
    assert api.put("permissions/v2/ann", {"configure": "("} ).status == 400
    assert api.put("permissions/v2/ann", dict(p, configure="(")).status == 400
    assert api.put("permissions/nope/ann", p).status == 404
    assert api.put("permissions/v2/nobody", p).status == 404
    # topic permissions
    t = {"exchange": "amq.topic", "write": "^ann\\.", "read": ".*"}
    assert api.put("topic-permissions/v2/ann", t).status in (201, 204)
    tw = dict(t, user="ann", vhost="v2")
    assert api.ok("GET", "topic-permissions/v2/ann") == [tw]
    assert tw in api.ok("GET", "topic-permissions")
    assert api.ok("GET", "users/ann/topic-permissions") == [tw]
    assert api.ok("GET", "vhosts/v2/topic-permissions") == [tw]
    assert api.delete("topic-permissions/v2/ann").status == 204
    assert api.get("topic-permissions/v2/ann").status == 404
    assert api.delete("permissions/v2/ann").status == 204
    assert api.get("permissions/v2/ann").status == 404
    assert api.delete("permissions/v2/ann").status == 404


def test_api_access_matrix(fresh):
    srv, api = fresh()
    api.ok("PUT", "vhosts/mine")
    api.ok("PUT", "vhosts/other")
    for name, tags in (("adm", "administrator"), ("mon", "monitoring"),
                       ("mgr", "management"), ("none", "")):
        api.ok("PUT", "users/" + name, {"password": "pw", "tags": tags})
        api.ok("PUT", "permissions/mine/" + name,
               {"configure": "^own", "write": "^own", "read": "^own"})
    api.ok("PUT", "queues/other/q-other", {})
    adm, mon, mgr, none = (as_user(api, n, "pw") for n in ("adm", "mon", "mgr", "none"))

    # no management tag: refused with RabbitMQ's not_authorised
    r = none.get("overview")
    assert r.status == 401 and r.json["error"] == "not_authorised"
    assert "WWW-Authenticate" not in r.headers
    # vhost visibility
    assert sorted(v["name"] for v in mgr.ok("GET", "vhosts")) == ["mine"]
    assert {"mine", "other", "/"} <= {v["name"] for v in mon.ok("GET", "vhosts")}
    assert mgr.get("queues/other").status == 401
    assert mgr.get("queues/other/q-other").status == 401
    assert mon.get("queues/other/q-other").status == 200
    assert "q-other" not in [q["name"] for q in mgr.ok("GET", "queues")]
    assert "q-other" in [q["name"] for q in mon.ok("GET", "queues")]
    # administration needs administrator
    for who in (mon, mgr):
        for method, path in (("GET", "users"), ("PUT", "users/zz"),
                             ("GET", "permissions"), ("PUT", "vhosts/zz"),
                             ("DELETE", "vhosts/mine"), ("GET", "definitions")):
            r = who.request(method, path, body={} if method == "PUT" else None)
            assert r.status == 401 and r.json["reason"] == "Not administrator user", (method, path, r)
    assert mgr.get("nodes").status == 401
    assert mon.get("nodes").status == 200
    # declare / delete with AMQP's permissions
    assert mgr.put("queues/mine/own-q", {}).status == 201
    r = mgr.put("queues/mine/their-q", {})
    assert r.status == 401 and r.json["error"] == "not_authorised"
    assert r.json["reason"].startswith("ACCESS_REFUSED - access to queue 'their-q' in vhost 'mine' refused for user 'mgr'")
    assert mgr.put("exchanges/mine/own-x", {"type": "fanout"}).status == 201
    assert mgr.put("exchanges/mine/their-x", {"type": "fanout"}).status == 401
    assert mgr.post("bindings/mine/e/own-x/q/own-q", {"routing_key": "k"}).status == 201
    assert mgr.post("exchanges/mine/own-x/publish",
                    {"routing_key": "k", "payload": "hi", "properties": {}}).json["routed"]
    assert mgr.post("queues/mine/own-q/get", {"count": 1, "ackmode": "ack_requeue_false"}).status == 200
    assert mgr.post("exchanges/mine/amq.direct/publish",
                    {"routing_key": "k", "payload": "x", "properties": {}}).status == 401
    assert mgr.delete("queues/mine/own-q").status == 204
    # an administrator without permissions in a vhost sees it but cannot declare
    assert adm.get("queues/other").status == 200
    assert adm.put("queues/other/q2", {}).status == 401
    assert adm.put("users/zz", {"password": "x", "tags": ""}).status == 201


def test_connections_visible_to_owner(fresh):
    srv, api = fresh()
    for name, tags in (("mon", "monitoring"), ("mgr", "management")):
        api.ok("PUT", "users/" + name, {"password": "pw", "tags": tags})
        api.ok("PUT", "permissions/%2F/" + name,
               {"configure": ".*", "write": ".*", "read": ".*"})
    c1 = amqp(srv, "guest", "guest")
    c2 = amqp(srv, "mgr", "pw")
    try:
        mon = as_user(api, "mon", "pw")
        mgr = as_user(api, "mgr", "pw")
        mon.wait_for("connections", lambda l: len(l) == 2)
        assert [c["user"] for c in mgr.ok("GET", "connections")] == ["mgr"]
    finally:
        c1.close()
        c2.close()


def test_definitions_round_trip_with_users(fresh):
    srv, api = fresh()
    api.ok("PUT", "users/ann", {"password": "pw", "tags": ["management"]})
    api.ok("PUT", "vhosts/rt", {"description": "round trip"})
    api.ok("PUT", "permissions/rt/ann", {"configure": "^a", "write": ".*", "read": ""})
    api.ok("PUT", "topic-permissions/rt/ann",
           {"exchange": "amq.topic", "write": "^a", "read": ".*"})
    api.ok("PUT", "queues/rt/q1", {"durable": True})
    one = api.ok("GET", "definitions")
    assert {"name": "rt", "description": "round trip"} in one["vhosts"]
    assert [u for u in one["users"] if u["name"] == "ann"][0]["tags"] == ["management"]
    srv2, api2 = fresh()
    assert api2.post("definitions", one).status == 204
    two = api2.ok("GET", "definitions")
    for k in ("users", "vhosts", "permissions", "topic_permissions",
              "parameters", "queues", "exchanges", "bindings"):
        assert one[k] == two[k], k
    assert as_user(api2, "ann", "pw").get("whoami").status == 200
    # a bad permission regex changes nothing
    bad = {"users": [{"name": "zed", "password_hash": "", "tags": []}],
           "permissions": [{"user": "zed", "vhost": "/", "configure": "(",
                            "write": "", "read": ""}]}
    assert api2.post("definitions", bad).status == 400
    assert api2.get("users/zed").status == 404


def test_changes_persist_across_restart(broker_factory, tmp_path):
    defs = tmp_path / "defs.json"
    conf = tmp_path / "w.conf"
    conf.write_text("definitions.file = %s\n" % defs)
    srv = broker_factory("--config", str(conf))
    api = Api(*srv.mgmt_address)
    ctl = Ctl(srv.mgmt_address)
    ctl("add_user", "ann", "pw")
    ctl("add_vhost", "keep")
    ctl("set_permissions", "-p", "keep", "ann", ".*", ".*", ".*")
    ctl("set_user_tags", "ann", "monitoring")
    saved = json.loads(defs.read_text())
    assert "ann" in [u["name"] for u in saved["users"]]
    srv.terminate()
    srv2 = broker_factory("--config", str(conf))
    api2 = Api(*srv2.mgmt_address)
    assert api2.ok("GET", "permissions/keep/ann")["configure"] == ".*"
    assert as_user(api2, "ann", "pw").ok("GET", "whoami")["tags"] == ["monitoring"]
    del api


def test_warrenctl_users_end_to_end(fresh):
    srv, api = fresh("auth_failure_delay = 0")
    ctl = Ctl(srv.mgmt_address)
    ctl("add_user", "app", "s3cret")
    p = ctl("add_user", "app", "x", expect=1)
    assert b"already exists" in p.stderr
    ctl("add_vhost", "orders")
    ctl("add_vhost", "orders", expect=1)
    ctl("set_permissions", "-p", "orders", "app", "^app\\.", ".*", ".*")
    out = ctl("-f", "tsv", "list_permissions", "-p", "orders").stdout.decode()
    assert "app\t^app" in out
    assert "orders" in ctl("list_vhosts").stdout.decode()
    assert "app" in ctl("-f", "json", "list_users").stdout.decode()
    # pika as app: allowed and refused operations
    c = amqp(srv, "app", "s3cret", "orders")
    ch = c.channel()
    ch.queue_declare("app.jobs")
    ch.basic_publish("", "app.jobs", b"hi")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.queue_declare("other")
    assert ei.value.reply_code == 403
    c.close()
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError):
        amqp(srv, "app", "s3cret", "/")
    # the API refuses app until it has a management tag
    ctl_app = Ctl(srv.mgmt_address)
    p = ctl_app("-u", "app", "-p", "s3cret", "list", "queues", expect=7)
    ctl("set_user_tags", "app", "management")
    ctl_app("-u", "app", "-p", "s3cret", "-V", "orders", "list", "queues")
    ctl("change_password", "app", "n3w")
    assert as_user(api, "app", "n3w").ok("GET", "whoami")["tags"] == ["management"]
    ctl("set_topic_permissions", "-p", "orders", "app", "amq.topic", "^x", ".*")
    ctl("clear_topic_permissions", "-p", "orders", "app")
    ctl("clear_permissions", "-p", "orders", "app")
    ctl("clear_permissions", "-p", "orders", "app", expect=5)
    ctl("delete_vhost", "orders")
    ctl("delete_vhost", "orders", expect=5)
    ctl("delete_user", "app")
    ctl("delete_user", "app", expect=5)
    ctl("set_user_tags", "nobody", "x", expect=5)
    ctl("add_user", "onlyone", expect=2)
    assert b"set_permissions" in ctl("help", "set_permissions").stdout
