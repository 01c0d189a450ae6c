# SPDX-License-Identifier: MIT
"""Super streams through the management API: PUT
/api/stream/super-streams/{vhost}/{name} (RabbitMQ's
rabbitmq_stream_management path and body), GET and DELETE (warren's). The
checks and their reasons are rabbit_stream_manager's; a refused request
leaves nothing behind. RabbitMQ 3.10 has no such path (its
rabbitmq-streams add_super_stream calls the node directly), so these are
warren's; the layout they check is the one RabbitMQ 3.10.8's
rabbit_stream_manager:create_super_stream/6 makes."""

import pytest

from mgmt_client import q

pytestmark = pytest.mark.warren_only


def ss(name):
    return "stream/super-streams/%2F/" + q(name)


def nothing_left(api, name, keys):
    assert api.get("exchanges/%2F/" + q(name)).status == 404
    for k in keys:
        assert api.get("queues/%2F/" + q("%s-%s" % (name, k))).status == 404


def test_partitions_or_keys_required(api, uniq):
    r = api.put(ss(uniq), {})
    assert r.status == 400
    assert r.json == {"error": "bad_request",
                      "reason": "Must specify partitions or binding keys"}
    r = api.put(ss(uniq), {"partitions": 2, "binding-keys": "a,b"})
    assert r.status == 400
    assert r.json["reason"] == "Specify partitions or binding keys, not both"
    for bad in (0, -1, "0"):
        r = api.put(ss(uniq), {"partitions": bad})
        assert r.status == 400
        assert (r.json["reason"] ==
                "The partition number must be greater than 0"), bad
    r = api.put(ss(uniq), {"partitions": 1001})
    assert r.status == 400
    assert r.json["reason"] == "The partition number must not exceed 1000"
    r = api.put(ss(uniq), {"binding-keys": " , ,"})
    assert r.status == 400
    assert (r.json["reason"] ==
            "The number of binding keys must be greater than 0")
    nothing_left(api, uniq, ["0", "1"])


def test_reserved_and_duplicate_names(api, uniq):
    r = api.put(ss("amq.%s" % uniq), {"partitions": 2})
    assert r.status == 400
    assert r.json["reason"] == (
        '{validation_failed,"amq.%s is not a correct name for a super '
        'stream"}' % uniq)
    r = api.put(ss(uniq), {"binding-keys": "a, b,a"})
    assert r.status == 400
    assert r.json["reason"] == (
        '{validation_failed,"Duplicate partition names found %s-a"}' % uniq)
    nothing_left(api, uniq, ["a", "b"])


def test_existing_exchange_or_queue_refused_and_nothing_made(api, uniq):
    api.ok("PUT", "exchanges/%2F/" + q(uniq), {"type": "fanout"})
    r = api.put(ss(uniq), {"partitions": 2})
    assert r.status == 400
    assert r.json["reason"] == (
        '{reference_already_exists,"there is already an exchange named %s"}'
        % uniq)
    for k in ("0", "1"):
        assert api.get("queues/%2F/" + q("%s-%s" % (uniq, k))).status == 404
    assert api.ok("GET", "exchanges/%2F/" + q(uniq))["type"] == "fanout"
    # A queue of a partition's name: refused before anything is made.
    other = uniq + "x"
    api.ok("PUT", "queues/%2F/" + q(other + "-1"), {"durable": True})
    r = api.put(ss(other), {"partitions": 3})
    assert r.status == 400
    assert r.json["reason"] == (
        '{reference_already_exists,"there is already a queue named %s-1"}'
        % other)
    assert api.get("exchanges/%2F/" + q(other)).status == 404
    assert api.get("queues/%2F/" + q(other + "-0")).status == 404
    # The classic queue of that name is untouched.
    assert api.ok("GET", "queues/%2F/" + q(other + "-1"))["type"] == "classic"


def test_vhost_queue_limit(api, uniq):
    vh = "vh-" + uniq
    api.ok("PUT", "vhosts/" + q(vh))
    try:
        api.ok("PUT", "vhost-limits/%s/max-queues" % q(vh), {"value": 2})
        r = api.put("stream/super-streams/%s/%s" % (q(vh), q(uniq)),
                    {"partitions": 3})
        assert r.status == 400
        assert r.json["reason"] == (
            '{validation_failed,"Cannot declare super stream %s with 3 '
            "partition(s) because queue limit 2 in vhost '%s' is "
            'reached"}' % (uniq, vh))
        assert api.get("exchanges/%s/%s" % (q(vh), q(uniq))).status == 404
    finally:
        api.delete("vhosts/" + q(vh))


def test_not_a_super_stream_is_404(api, uniq):
    api.ok("PUT", "exchanges/%2F/" + q(uniq), {"type": "direct"})
    assert api.get(ss(uniq)).status == 404
    assert api.delete(ss(uniq)).status == 404
    assert api.get(ss(uniq + "nope")).status == 404
    assert api.delete(ss(uniq + "nope")).status == 404
    assert api.ok("GET", "exchanges/%2F/" + q(uniq))["name"] == uniq
    assert api.get("stream/super-streams/nope-vhost").status == 404
    names = [s["name"] for s in api.ok("GET", "stream/super-streams/%2F")]
    assert uniq not in names


def test_permissions(fresh, uniq):
    """The permissions of the declares and binds it stands for: a user
    who may configure only other names is refused (401 not_authorised)."""
    srv, api = fresh()
    api.ok("PUT", "users/limited", {"password": "pw", "tags": "management"})
    api.ok("PUT", "permissions/%2F/limited",
           {"configure": "^other", "write": ".*", "read": ".*"})
    limited = type(api)(*srv.mgmt_address, user="limited", password="pw")
    r = limited.put(ss(uniq), {"partitions": 2})
    assert r.status == 401
    assert r.json["error"] == "not_authorised"
    assert api.get("exchanges/%2F/" + q(uniq)).status == 404
