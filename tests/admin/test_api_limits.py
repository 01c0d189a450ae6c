# SPDX-License-Identifier: MIT
"""Virtual host limits (max-connections, max-queues) and user limits
(max-connections, max-channels): the management API's
/api/vhost-limits and /api/user-limits with RabbitMQ's shapes and errors,
their enforcement on connection.open, channel.open, queue.declare and the
API's queue PUT, definitions
export / import, and warrenctl's set_vhost_limits / list_vhost_limits /
clear_vhost_limits.

Each test works in a vhost of its own (the creator gets full permissions
in it, in RabbitMQ too), deleted at the end. Runs against RabbitMQ 3.10
with WARREN_TEST_BROKER and WARREN_TEST_MGMT, except where marked."""

import json
import os
import sys

import pika
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from helpers import channel_error, connection_error  # noqa: E402
from mgmt_client import Api, q  # noqa: E402
from test_warrenctl import ctl  # noqa: E402,F401  (the fixture)


@pytest.fixture
def vhost(api, uniq):
    name = uniq + "/vh"
    assert api.put("vhosts/" + q(name)).status in (201, 204)
    yield name
    api.delete("vhosts/" + q(name))


def limits(api, vh):
    r = api.get("vhost-limits/" + q(vh))
    assert r.status == 200, r
    return r.json


def set_limit(api, vh, name, value):
    return api.put("vhost-limits/%s/%s" % (q(vh), name), {"value": value})


def test_put_get_delete(api, vhost):
    assert limits(api, vhost) == []
    assert set_limit(api, vhost, "max-queues", 2).status == 204
    assert set_limit(api, vhost, "max-connections", 5).status == 204
    assert limits(api, vhost) == [
        {"vhost": vhost, "value": {"max-connections": 5, "max-queues": 2}}]
    every = api.ok("GET", "vhost-limits")
    assert {"vhost": vhost, "value": {"max-connections": 5, "max-queues": 2}} \
        in every
    # a negative value is stored as given (and means unlimited)
    assert set_limit(api, vhost, "max-queues", -1).status == 204
    assert limits(api, vhost)[0]["value"]["max-queues"] == -1
    assert api.delete("vhost-limits/%s/max-queues" % q(vhost)).status == 204
    assert limits(api, vhost) == [
        {"vhost": vhost, "value": {"max-connections": 5}}]
    # deleting what is not set, or an unknown name, is fine
    assert api.delete("vhost-limits/%s/max-queues" % q(vhost)).status == 204
    assert api.delete("vhost-limits/%s/max-foo" % q(vhost)).status == 204
    assert api.delete("vhost-limits/%s/max-connections" % q(vhost)).status \
        == 204


def test_put_errors(api, vhost):
    base = "vhost-limits/%s/" % q(vhost)
    r = api.put(base + "max-foo", {"value": 2})
    assert r.status == 400
    assert r.json == {"error": "bad_request", "reason":
                      "Validation failed\n\nUnrecognised terms "
                      "[{<<\"max-foo\">>,2}] in limits\n"}
    for bad, shown in (("x", '<<"x">>'), (1.5, "1.5"), (True, "true"),
                       (None, "null")):
        r = api.put(base + "max-queues", {"value": bad})
        assert r.status == 400, bad
        assert r.json["reason"] == ("Validation failed\n\nmax-queues should "
                                    "be a number, actually was %s\n" % shown)
    r = api.put(base + "max-queues", {})
    assert r.status == 400 and r.json["reason"] == "[{key_missing,value}]"
    r = api.request("PUT", base + "max-queues", raw=b"{nope")
    assert r.status == 400 and r.json["error"] == "bad_request"
    assert limits(api, vhost) == []
    r = api.put("vhost-limits/no-such-vhost-x/max-queues", {"value": 1})
    assert r.status == 404
    assert r.json == {"error": "not_found", "reason": "vhost_not_found"}
    assert api.get("vhost-limits/no-such-vhost-x").status == 404


@pytest.mark.warren_only
def test_admin_only(fresh):
    """Limits are the administrator's (RabbitMQ: 401 not_authorised)."""
    srv, api = fresh()
    assert api.put("users/mon", {"password": "pw",
                                 "tags": "monitoring"}).status == 201
    host, port = srv.mgmt_address
    mon = Api(host, port, user="mon", password="pw")
    assert mon.get("vhost-limits").status == 401
    assert mon.get("vhost-limits/%2F").status == 401
    r = mon.put("vhost-limits/%2F/max-queues", {"value": 1})
    assert r.status == 401 and r.json["error"] == "not_authorised"
    assert mon.delete("vhost-limits/%2F/max-queues").status == 401
    # unknown vhost on DELETE: 404 (RabbitMQ 3.10 answers 500)
    assert api.delete("vhost-limits/nope/max-queues").status == 404


def test_max_queues(api, amqp, vhost):
    c = amqp(vhost=vhost)
    ch = c.channel()
    ch.queue_declare("q1")
    assert set_limit(api, vhost, "max-queues", 2).status == 204
    ch.queue_declare("q2")
    ch.queue_declare("q1")  # redeclaring an existing queue still works
    ch.queue_declare("q2", passive=True)
    with channel_error(406) as ei:
        ch.queue_declare("q3")
    assert ei.value.reply_text == (
        "PRECONDITION_FAILED - cannot declare queue 'q3': queue limit in "
        "vhost '%s' (2) is reached" % vhost)
    # the limit is checked before the arguments, and for server-named
    # queues (the text names the generated name)
    ch = c.channel()
    with channel_error(406) as ei:
        ch.queue_declare("q3", arguments={"x-message-ttl": -1})
    assert "queue limit in vhost" in ei.value.reply_text
    ch = c.channel()
    with channel_error(406) as ei:
        ch.queue_declare("")
    assert ei.value.reply_text.startswith(
        "PRECONDITION_FAILED - cannot declare queue 'amq.gen-")
    # the API is limited too, with the bare reason
    r = api.put("queues/%s/q4" % q(vhost), {})
    assert r.status == 400
    assert r.json == {"error": "bad_request", "reason":
                      "cannot declare queue 'q4': queue limit in vhost "
                      "'%s' (2) is reached" % vhost}
    assert api.put("queues/%s/q1" % q(vhost), {}).status in (201, 204)
    # deleting one makes room; the connection kept working throughout
    ch = c.channel()
    ch.queue_delete("q2")
    ch.queue_declare("q3")
    # 0 allows none, a negative value any number
    assert set_limit(api, vhost, "max-queues", 0).status == 204
    with channel_error(406):
        c.channel().queue_declare("q5")
    assert set_limit(api, vhost, "max-queues", -1).status == 204
    ch = c.channel()
    for i in range(5):
        ch.queue_declare("more-%d" % i)
    assert c.is_open


def test_max_connections(api, amqp, vhost):
    assert set_limit(api, vhost, "max-connections", 2).status == 204
    c1 = amqp(vhost=vhost)
    c2 = amqp(vhost=vhost)
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as ei:
        amqp(vhost=vhost)
    assert ("NOT_ALLOWED - access to vhost '%s' refused for user 'guest': "
            "connection limit (2) is reached" % vhost) in str(ei.value)
    assert "(530)" in str(ei.value)
    # other vhosts are not affected
    amqp().close()
    c1.close()
    c3 = amqp(vhost=vhost)
    assert set_limit(api, vhost, "max-connections", 0).status == 204
    # lowering a limit keeps open connections
    assert c2.is_open and c3.is_open
    c3.channel().queue_declare("still-works")
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as ei:
        amqp(vhost=vhost)
    assert "connection limit (0) is reached" in str(ei.value)


def test_definitions(api, vhost):
    assert set_limit(api, vhost, "max-queues", 7).status == 204
    d = api.ok("GET", "definitions")
    assert {"value": {"max-queues": 7}, "vhost": vhost,
            "component": "vhost-limits", "name": "limits"} in d["parameters"]
    api.ok("DELETE", "vhost-limits/%s/max-queues" % q(vhost))
    imp = {"vhosts": [{"name": vhost}],
           "parameters": [{"value": {"max-connections": 3, "max-queues": 4},
                           "vhost": vhost, "component": "vhost-limits",
                           "name": "limits"}]}
    assert api.post("definitions", imp).status in (200, 201, 204)
    assert limits(api, vhost) == [
        {"vhost": vhost, "value": {"max-connections": 3, "max-queues": 4}}]


@pytest.mark.warren_only
def test_definitions_import_errors(api, vhost):
    bad = {"parameters": [{"value": {"max-queues": "x"}, "vhost": vhost,
                           "component": "vhost-limits", "name": "limits"}]}
    r = api.post("definitions", bad)
    assert r.status == 400
    assert "max-queues should be a number" in r.body.decode()
    assert limits(api, vhost) == []


@pytest.mark.warren_only
def test_limits_survive_restart(fresh, tmp_path):
    defs = tmp_path / "defs.json"
    srv, api = fresh("definitions.file = %s" % defs)
    assert set_limit(api, "/", "max-queues", 9).status == 204
    assert '"max-queues": 9' in defs.read_text()
    srv.terminate()
    srv, api = fresh("definitions.file = %s" % defs)
    assert limits(api, "/") == [{"vhost": "/", "value": {"max-queues": 9}}]


# ---- warrenctl ----------------------------------------------------------------

@pytest.mark.warren_only
def test_warrenctl_vhost_limits(api, amqp, ctl, vhost):
    p = ctl("set_vhost_limits", "-p", vhost,
            '{"max-connections": 10, "max-queues": 1}')
    assert "limits of vhost '%s' set" % vhost in p.stdout.decode()
    assert limits(api, vhost) == [
        {"vhost": vhost, "value": {"max-connections": 10, "max-queues": 1}}]
    p = ctl("-f", "json", "list_vhost_limits", "-p", vhost)
    assert json.loads(p.stdout) == limits(api, vhost)
    p = ctl("-f", "tsv", "list_vhost_limits", "--global")
    assert '%s\t{"max-connections":10,"max-queues":1}' % vhost \
        in p.stdout.decode()
    # a queue over the limit through warrenctl: exit 6, as a 406
    ctl("-V", vhost, "declare", "queue", "name=a")
    p = ctl("-V", vhost, "declare", "queue", "name=b", expect=6)
    assert p.stderr.decode() == (
        "warrenctl: cannot declare queue 'b': queue limit in vhost '%s' (1) "
        "is reached\n" % vhost)
    # rabbitmqctl's semantics: what the JSON leaves out is cleared; the
    # dashed spelling of the command works too
    ctl("set-vhost-limits", "-p", vhost, '{"max-queues": 5}')
    assert limits(api, vhost) == [{"vhost": vhost, "value": {"max-queues": 5}}]
    ctl("-V", vhost, "declare", "queue", "name=b")
    # errors: one line each
    p = ctl("set_vhost_limits", "-p", vhost, '{"max-foo": 1}', expect=1)
    assert p.stderr.decode() == (
        'warrenctl: Validation failed: Unrecognised terms '
        '[{<<"max-foo">>,1}] in limits\n')
    p = ctl("set_vhost_limits", "-p", vhost, '{"max-queues": 1.5}', expect=1)
    assert "max-queues should be a number, actually was 1.5" \
        in p.stderr.decode()
    ctl("set_vhost_limits", "-p", vhost, "nope", expect=2)
    ctl("set_vhost_limits", "-p", vhost, expect=2)
    p = ctl("set_vhost_limits", "-p", "no-such-vhost-x", '{"max-queues": 1}',
            expect=5)
    assert p.stderr.decode() == \
        "warrenctl: not found: vhost 'no-such-vhost-x'\n"
    ctl("list_vhost_limits", "-p", "no-such-vhost-x", expect=5)
    p = ctl("clear_vhost_limits", "-p", vhost)
    assert "limits of vhost '%s' cleared" % vhost in p.stdout.decode()
    assert limits(api, vhost) == []
    for cmd in ("set_vhost_limits", "clear_vhost_limits", "list_vhost_limits"):
        page = ctl("help", cmd).stdout.decode()
        assert page.startswith("NAME\n    warrenctl " + cmd)
        assert "SYNOPSIS" in page and "EXAMPLES" in page
    assert "set_vhost_limits" in ctl("--help").stdout.decode()


# ---- user limits ----------------------------------------------------------------

@pytest.fixture
def user(api, uniq):
    name = uniq + "-user"
    assert api.put("users/" + q(name), {"password": "pw", "tags": ""}).status \
        == 201
    assert api.put("permissions/%2F/" + q(name),
                   {"configure": ".*", "write": ".*", "read": ".*"}).status \
        in (201, 204)
    yield name
    api.delete("users/" + q(name))


def user_limits(api, u):
    r = api.get("user-limits/" + q(u))
    assert r.status == 200, r
    return r.json


def test_user_limits_api(api, user):
    base = "user-limits/%s/" % q(user)
    assert user_limits(api, user) == []
    assert api.put(base + "max-channels", {"value": 3}).status == 204
    assert api.put(base + "max-connections", {"value": 2}).status == 204
    assert user_limits(api, user) == [
        {"user": user, "value": {"max-channels": 3, "max-connections": 2}}]
    assert {"user": user, "value": {"max-channels": 3, "max-connections": 2}} \
        in api.ok("GET", "user-limits")
    assert api.ok("GET", "users/" + q(user))["limits"] == {
        "max-channels": 3, "max-connections": 2}
    d = api.ok("GET", "definitions")
    assert [u["limits"] for u in d["users"] if u["name"] == user] == [
        {"max-channels": 3, "max-connections": 2}]
    # RabbitMQ's texts (no "Validation failed" here)
    r = api.put(base + "max-foo", {"value": 2})
    assert r.status == 400 and r.json["reason"] == \
        "Unrecognised terms [{<<\"max-foo\">>,2}] in user-limits"
    r = api.put(base + "max-channels", {"value": 1.5})
    assert r.status == 400 and r.json["reason"] == \
        "max-channels should be a number, actually was 1.5"
    r = api.put(base + "max-channels", {})
    assert r.status == 400 and r.json["reason"] == "[{key_missing,value}]"
    assert api.get("user-limits/no-such-user-x").status == 404
    assert api.delete(base + "max-channels").status == 204
    assert api.delete(base + "max-channels").status == 204
    assert user_limits(api, user) == [
        {"user": user, "value": {"max-connections": 2}}]
    assert api.delete(base + "max-connections").status == 204
    assert user_limits(api, user) == []
    assert api.ok("GET", "users/" + q(user))["limits"] == {}


@pytest.mark.warren_only
def test_user_limits_unknown_user(api):
    """404 (RabbitMQ 3.10: 400 ["no_such_user", ...] on PUT, 500 on
    DELETE)."""
    r = api.put("user-limits/no-such-user-x/max-channels", {"value": 1})
    assert r.status == 404
    assert r.json == {"error": "not_found", "reason": "user_not_found"}
    assert api.delete("user-limits/no-such-user-x/max-channels").status == 404


def test_user_limits_enforced(api, amqp, user):
    base = "user-limits/%s/" % q(user)
    assert api.put(base + "max-connections", {"value": 2}).status == 204
    assert api.put(base + "max-channels", {"value": 2}).status == 204
    c1 = amqp(user=user, password="pw")
    c2 = amqp(user=user, password="pw")
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as ei:
        amqp(user=user, password="pw")
    assert ("(530) \"NOT_ALLOWED - connection refused for user '%s': user "
            "connection limit (2) is reached\"" % user) in str(ei.value)
    # channels count over all the user's connections
    c1.channel()
    c2.channel()
    with connection_error(530) as ei:
        c1.channel()
    assert ei.value.reply_text == (
        "NOT_ALLOWED - number of channels opened for user '%s' has reached "
        "the maximum allowed user limit of (2)" % user)
    # c1 is gone: room for one connection and one channel again
    c3 = amqp(user=user, password="pw")
    c3.channel().queue_declare("", exclusive=True)
    assert c2.is_open
    # other users are not limited
    amqp().channel()


@pytest.mark.warren_only
def test_warrenctl_user_limits(api, ctl, user):
    p = ctl("set_user_limits", user, '{"max-connections": 10}')
    assert "limits of user '%s' set" % user in p.stdout.decode()
    # rabbitmqctl's semantics here: limits left out are kept
    ctl("set-user-limits", user, '{"max-channels": 20}')
    assert user_limits(api, user) == [
        {"user": user, "value": {"max-channels": 20, "max-connections": 10}}]
    p = ctl("-f", "json", "list_user_limits", "--user", user)
    assert json.loads(p.stdout) == user_limits(api, user)
    p = ctl("-f", "tsv", "list_user_limits")
    assert '%s\t{"max-channels":20,"max-connections":10}' % user \
        in p.stdout.decode()
    assert ctl("-f", "tsv", "list_user_limits", "--global").stdout == p.stdout
    p = ctl("set_user_limits", user, '{"max-queues": 1}', expect=1)
    assert p.stderr.decode() == ('warrenctl: Unrecognised terms '
                                 '[{<<"max-queues">>,1}] in user-limits\n')
    ctl("set_user_limits", user, "[]", expect=2)
    p = ctl("set_user_limits", "no-such-user-x", '{"max-channels": 1}',
            expect=5)
    assert p.stderr.decode() == "warrenctl: not found: user 'no-such-user-x'\n"
    ctl("list_user_limits", "--user", "no-such-user-x", expect=5)
    ctl("clear_user_limits", user, "max-channels")
    assert user_limits(api, user) == [
        {"user": user, "value": {"max-connections": 10}}]
    ctl("clear_user_limits", user, "all")
    assert user_limits(api, user) == []
    ctl("clear_user_limits", user, expect=2)
    for cmd in ("set_user_limits", "clear_user_limits", "list_user_limits"):
        page = ctl("help", cmd).stdout.decode()
        assert page.startswith("NAME\n    warrenctl " + cmd)
