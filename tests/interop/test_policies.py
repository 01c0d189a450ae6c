# SPDX-License-Identifier: MIT
"""Policies and operator policies change what queues and exchanges do,
as in RabbitMQ 3.10 (classic queues): dead-lettering, message TTL,
length limits and queue expiry set by a policy instead of x-arguments,
on queues declared before or after it; arguments against policies
(dead-letter-exchange: the argument wins; max-length: the smaller);
operator policies; clearing; priority; alternate-exchange on exchanges.

Policies are set through warren's management API, or with
WARREN_TEST_RABBITMQCTL="rabbitmqctl -n ref@localhost" through
rabbitmqctl (for WARREN_TEST_BROKER=127.0.0.1:5673, a RabbitMQ without
its management plugin). Each test's policies match only its own names."""

import json
import os
import shlex
import subprocess
import sys
import time

import pika
import pytest

from broker import SLOW
from helpers import WAIT, wait_count, wait_gone
from test_ttl import expired_within

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "admin"))
from mgmt_client import Api  # noqa: E402


class Policies:
    """Sets and clears policies of vhost "/" (all cleared at the end)."""

    def __init__(self, request):
        self.ctl = os.environ.get("WARREN_TEST_RABBITMQCTL")
        self.api = None if self.ctl else Api(*request.getfixturevalue("mgmt"))
        self.set_ = []

    def put(self, name, pattern, definition, priority=0, apply_to="all",
            op=False):
        if self.ctl:
            cmd = shlex.split(self.ctl) + [
                "set_operator_policy" if op else "set_policy",
                "--priority", str(priority), "--apply-to", apply_to, name,
                pattern, json.dumps(definition)]
            subprocess.run(cmd, check=True, capture_output=True)
        else:
            r = self.api.put("%s/%%2F/%s" % (
                "operator-policies" if op else "policies", name), {
                    "pattern": pattern, "definition": definition,
                    "priority": priority, "apply-to": apply_to})
            assert r.status in (201, 204), r
        self.set_.append((name, op))

    def clear(self, name, op=False):
        if self.ctl:
            subprocess.run(shlex.split(self.ctl) + [
                "clear_operator_policy" if op else "clear_policy", name],
                check=True, capture_output=True)
        else:
            assert self.api.delete("%s/%%2F/%s" % (
                "operator-policies" if op else "policies", name)).status == 204
        self.set_.remove((name, op))

    def cleanup(self):
        for name, op in list(self.set_):
            try:
                self.clear(name, op)
            except Exception:
                pass


@pytest.fixture
def policy(request):
    p = Policies(request)
    yield p
    p.cleanup()


def exact(name):
    return "^%s$" % name


def get_within(ch, queue, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        m, p, b = ch.basic_get(queue, auto_ack=True)
        if m is not None or time.monotonic() > deadline:
            return m, p, b
        time.sleep(0.02)


def dlx_pair(ch, prefix):
    dlx, dlq = prefix + "-dlx", prefix + "-dlq"
    ch.exchange_declare(dlx, "fanout", auto_delete=True)
    ch.queue_declare(dlq, exclusive=True)
    ch.queue_bind(dlq, dlx)
    return dlx, dlq


def bodies(ch, queue):
    out = []
    while True:
        m, _, b = ch.basic_get(queue, auto_ack=True)
        if m is None:
            return out
        out.append(b)


def test_dlx_policy_dead_letters_rejected(ch, uniq, policy):
    dlx, dlq = dlx_pair(ch, uniq)
    policy.put(uniq + "-p", exact(uniq), {"dead-letter-exchange": dlx},
               apply_to="queues")
    ch.queue_declare(uniq, exclusive=True)  # declared after the policy
    ch.basic_publish("", uniq, b"m1")
    m, _, _ = get_within_ack(ch, uniq)
    ch.basic_reject(m.delivery_tag, requeue=False)
    _, props, body = get_within(ch, dlq)
    assert body == b"m1"
    death = props.headers["x-death"][0]
    assert (death["reason"], death["queue"]) == ("rejected", uniq)


def get_within_ack(ch, queue, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        m, p, b = ch.basic_get(queue, auto_ack=False)
        if m is not None or time.monotonic() > deadline:
            return m, p, b
        time.sleep(0.02)


def test_dlx_policy_on_existing_queue(ch, uniq, policy):
    """A queue declared before the policy: the next rejected message is
    dead-lettered."""
    ch.queue_declare(uniq, exclusive=True)
    dlx, dlq = dlx_pair(ch, uniq)
    policy.put(uniq + "-p", exact(uniq), {"dead-letter-exchange": dlx})
    ch.basic_publish("", uniq, b"late")
    m, _, _ = get_within_ack(ch, uniq)
    ch.basic_nack(m.delivery_tag, requeue=False)
    assert get_within(ch, dlq)[2] == b"late"


def test_message_ttl_policy_expires_messages(ch, uniq, policy):
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True)
    policy.put(uniq + "-p", exact(uniq), {"message-ttl": 100,
                                          "dead-letter-exchange": dlx})
    ch.basic_publish("", uniq, b"short-lived")
    assert wait_count(ch, uniq, 0) == 0
    _, props, body = get_within(ch, dlq)
    assert body == b"short-lived"
    assert props.headers["x-death"][0]["reason"] == "expired"


def test_max_length_policy_trims_existing_queue(ch, uniq, policy):
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True)
    for i in range(5):
        ch.basic_publish("", uniq, b"%d" % i)
    assert wait_count(ch, uniq, 5) == 5
    policy.put(uniq + "-p", exact(uniq), {"max-length": 2,
                                          "dead-letter-exchange": dlx})
    assert wait_count(ch, uniq, 2) == 2
    assert wait_count(ch, dlq, 3) == 3
    assert bodies(ch, dlq) == [b"0", b"1", b"2"]
    assert bodies(ch, uniq) == [b"3", b"4"]


def test_expires_policy_deletes_unused_queue(conn, ch, uniq, policy):
    ch.queue_declare(uniq)
    policy.put(uniq + "-p", exact(uniq), {"expires": int(300 * SLOW)})
    # polled without using it (a passive declare would reset x-expires)
    assert expired_within(conn, uniq)
    assert wait_gone(conn, "queue", uniq, timeout=0.1)


def test_expires_policy_cleared_keeps_queue(conn, ch, uniq, policy):
    # rabbitmqctl takes about a second per command
    ms = int((4000 if policy.ctl else 400) * SLOW)
    ch.queue_declare(uniq)
    policy.put(uniq + "-p", exact(uniq), {"expires": ms})
    policy.clear(uniq + "-p")
    time.sleep(ms * 1.5 / 1000)
    assert not wait_gone(conn, "queue", uniq, timeout=0.1)
    ch.queue_delete(uniq)


def test_argument_beats_policy_for_dlx(ch, uniq, policy):
    dlx_a, dlq_a = dlx_pair(ch, uniq + "-a")
    dlx_b, dlq_b = dlx_pair(ch, uniq + "-b")
    policy.put(uniq + "-p", exact(uniq), {"dead-letter-exchange": dlx_b})
    ch.queue_declare(uniq, exclusive=True,
                     arguments={"x-dead-letter-exchange": dlx_a})
    ch.basic_publish("", uniq, b"x")
    m, _, _ = get_within_ack(ch, uniq)
    ch.basic_reject(m.delivery_tag, requeue=False)
    assert get_within(ch, dlq_a)[2] == b"x"
    assert ch.queue_declare(dlq_b, passive=True).method.message_count == 0


def fill(ch, queue, n):
    for i in range(n):
        ch.basic_publish("", queue, b"%d" % i)


def test_smaller_max_length_wins(ch, uniq, policy):
    # argument 5, policy 2: 2
    q1, q2, q3 = uniq + "-1", uniq + "-2", uniq + "-3"
    ch.queue_declare(q1, exclusive=True, arguments={"x-max-length": 5})
    ch.queue_declare(q2, exclusive=True, arguments={"x-max-length": 2})
    ch.queue_declare(q3, exclusive=True)
    policy.put(uniq + "-p1", exact(q1), {"max-length": 2})
    # argument 2, policy 5: 2
    policy.put(uniq + "-p2", exact(q2), {"max-length": 5})
    # policy 4, operator policy 3: 3
    policy.put(uniq + "-p3", exact(q3), {"max-length": 4})
    policy.put(uniq + "-o3", exact(q3), {"max-length": 3}, op=True)
    for q in (q1, q2, q3):
        fill(ch, q, 10)
    assert wait_count(ch, q1, 2) == 2
    assert wait_count(ch, q2, 2) == 2
    assert wait_count(ch, q3, 3) == 3
    # operator policy 6 against policy 4: the policy's 4
    policy.put(uniq + "-o3", exact(q3), {"max-length": 6}, op=True)
    fill(ch, q3, 10)
    assert wait_count(ch, q3, 4) == 4


def test_redeclare_unaffected_by_policy(ch, uniq, policy):
    """A policy does not change a queue's declared arguments: redeclaring
    with the arguments as declared is equivalent (declare-ok, channel
    open), and the policy's smaller max-length still applies after it."""
    ch.queue_declare(uniq, exclusive=True, arguments={"x-max-length": 10})
    policy.put(uniq + "-p", exact(uniq), {"max-length": 1,
                                          "message-ttl": 5000})
    fill(ch, uniq, 3)
    assert wait_count(ch, uniq, 1) == 1
    # the same arguments as declared: equivalent
    ok = ch.queue_declare(uniq, exclusive=True,
                          arguments={"x-max-length": 10})
    assert isinstance(ok.method, pika.spec.Queue.DeclareOk), ok
    assert ok.method.queue == uniq and ok.method.message_count == 1
    assert ch.is_open
    fill(ch, uniq, 3)
    assert wait_count(ch, uniq, 1) == 1
    assert get_within(ch, uniq)[2] == b"2"


def test_clearing_policy_restores_declared_behaviour(ch, uniq, policy):
    ch.queue_declare(uniq, exclusive=True, arguments={"x-max-length": 4})
    policy.put(uniq + "-p", exact(uniq), {"max-length": 1})
    fill(ch, uniq, 3)
    assert wait_count(ch, uniq, 1) == 1
    policy.clear(uniq + "-p")
    fill(ch, uniq, 6)
    assert wait_count(ch, uniq, 4) == 4


def test_priority_picks_between_matching_policies(ch, uniq, policy):
    ch.queue_declare(uniq, exclusive=True)
    policy.put(uniq + "-lo", "^" + uniq, {"max-length": 1}, priority=1)
    policy.put(uniq + "-hi", exact(uniq), {"max-length": 3}, priority=5)
    fill(ch, uniq, 6)
    assert wait_count(ch, uniq, 3) == 3
    # the higher one gone: the other applies
    policy.clear(uniq + "-hi")
    assert wait_count(ch, uniq, 1) == 1


def test_alternate_exchange_policy(ch, uniq, policy):
    ae, aq = uniq + "-ae", uniq + "-aq"
    ch.exchange_declare(ae, "fanout", auto_delete=True)
    ch.queue_declare(aq, exclusive=True)
    ch.queue_bind(aq, ae)
    ch.exchange_declare(uniq, "direct", auto_delete=False)
    try:
        # apply-to queues: the exchange is not concerned
        policy.put(uniq + "-p", exact(uniq), {"alternate-exchange": ae},
                   apply_to="queues")
        ch.basic_publish(uniq, "nowhere", b"lost")
        time.sleep(0.2)
        assert ch.queue_declare(aq, passive=True).method.message_count == 0
        policy.put(uniq + "-p", exact(uniq), {"alternate-exchange": ae},
                   apply_to="exchanges")
        ch.basic_publish(uniq, "nowhere", b"saved")
        assert get_within(ch, aq)[2] == b"saved"
        # cleared: unroutable again
        policy.clear(uniq + "-p")
        ch.basic_publish(uniq, "nowhere", b"lost")
        time.sleep(0.2)
        assert ch.queue_declare(aq, passive=True).method.message_count == 0
    finally:
        ch.exchange_delete(uniq)


def test_max_length_policy_reject_publish(connections, uniq, policy):
    """overflow from a policy: publishes past the limit are nacked."""
    c = connections()
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare(uniq, exclusive=True)
    policy.put(uniq + "-p", exact(uniq), {"max-length": 1,
                                          "overflow": "reject-publish"})
    ch.basic_publish("", uniq, b"1")
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", uniq, b"2")
    assert wait_count(ch, uniq, 1) == 1


def test_dead_letter_routing_key_policy(ch, uniq, policy):
    dlx, dlq = uniq + "-dlx", uniq + "-dlq"
    ch.exchange_declare(dlx, "direct", auto_delete=True)
    ch.queue_declare(dlq, exclusive=True)
    ch.queue_bind(dlq, dlx, "dead")
    ch.queue_declare(uniq, exclusive=True)
    policy.put(uniq + "-p", exact(uniq), {"dead-letter-exchange": dlx,
                                          "dead-letter-routing-key": "dead"})
    ch.basic_publish("", uniq, b"r")
    m, _, _ = get_within_ack(ch, uniq)
    ch.basic_reject(m.delivery_tag, requeue=False)
    assert get_within(ch, dlq)[2] == b"r"


def test_operator_policy_message_ttl(ch, uniq, policy):
    """The smaller message-ttl wins: operator policy against policy."""
    ch.queue_declare(uniq, exclusive=True)
    policy.put(uniq + "-p", exact(uniq), {"message-ttl": 600000})
    policy.put(uniq + "-o", exact(uniq), {"message-ttl": 50}, op=True)
    ch.basic_publish("", uniq, b"gone soon")
    assert wait_count(ch, uniq, 0) == 0


@pytest.mark.warren_only
def test_delivery_limit_policy(ch, uniq, policy):
    """delivery-limit from a policy (warren's classic queues have it;
    RabbitMQ 3.10 only on quorum queues)."""
    dlx, dlq = dlx_pair(ch, uniq)
    ch.queue_declare(uniq, exclusive=True)
    policy.put(uniq + "-p", exact(uniq), {"delivery-limit": 1,
                                          "dead-letter-exchange": dlx})
    ch.basic_publish("", uniq, b"d")
    for _ in range(2):
        m, _, _ = get_within_ack(ch, uniq)
        ch.basic_nack(m.delivery_tag, requeue=True)
    _, props, body = get_within(ch, dlq)
    assert body == b"d"
    assert props.headers["x-death"][0]["reason"] == "delivery_limit"
