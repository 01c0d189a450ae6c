# SPDX-License-Identifier: MIT
"""Error paths of the management API: authentication, unknown paths,
wrong methods, bad JSON, hostile paths and bodies. Every error has
RabbitMQ's shape ({"error": ..., "reason": ...}) and nothing crashes the
broker (the autouse fixture in tests/conftest.py checks it is alive after
every test)."""

import json
import random
import socket

import pytest

from mgmt_client import Api, q


def test_no_credentials(api):
    r = api.get("overview", auth=False)
    assert r.status == 401
    assert "Basic" in r.headers["WWW-Authenticate"]


def test_bad_credentials(api):
    for user, pw in (("guest", "wrong"), ("nobody", "guest"), ("", ""),
                     ("guest", ""), ("guest", "guest\x00x")):
        bad = Api(*api.base[len("http://"):].rsplit(":", 1)[0:1],
                  int(api.base.rsplit(":", 1)[1]), user=user, password=pw)
        r = bad.get("overview")
        assert r.status == 401, (user, pw)
        assert r.json["error"] == "not_authorized"
        assert r.json["reason"] == "Login failed"


def test_malformed_authorization(api):
    for h in ("Basic", "Basic !!!!", "Bearer abc", "Basic " + "A" * 2000,
              "Basic Z3Vlc3Q=",  # "guest" with no colon
              "basic Z3Vlc3Q6Z3Vlc3Q="):  # scheme is case-insensitive
        r = api.get("overview", auth=False, headers={"Authorization": h})
        if h.startswith("basic Z3"):
            assert r.status == 200
        else:
            assert r.status == 401, h


def test_unknown_paths(api):
    for path in ("/api/nosuch", "/api/queues/%2F/x/nosuch", "/api",
                 "/api/", "/nosuch", "/api/overview/extra",
                 "/api/exchanges/%2F/x/bindings/sideways",
                 "/api/bindings/%2F/x/a/q/b"):
        r = api.get(path)
        assert r.status == 404, path
        assert r.json == {"error": "Object Not Found", "reason": "Not Found"}


def test_wrong_methods(api):
    for method, path in (("POST", "overview"), ("DELETE", "overview"),
                         ("PUT", "queues"), ("POST", "queues/%2F/x"),
                         ("GET", "queues/%2F/x/get"),
                         ("PUT", "exchanges/%2F/x/publish"),
                         ("GET", "queues/%2F/x/contents"),
                         ("PATCH", "queues/%2F/x"),
                         ("DELETE", "definitions"),
                         ("PUT", "bindings/%2F/e/a/q/b")):
        r = api.request(method, path, raw=b"{}" if method != "GET" else None)
        assert r.status == 405, (method, path, r)
        assert r.headers.get("Allow"), (method, path)
        if r.body:
            assert r.json["error"] == "Method Not Allowed"


def test_bad_json(api, uniq):
    for raw in (b"{", b"nope", b"[]", b"5", b'"str"', b"{\"a\":}", b"\xff\xfe",
                b'{"a": 1, "a": 2', b"{" * 100000):
        r = api.request("PUT", "queues/%2F/" + q(uniq), raw=raw)
        assert r.status == 400, raw[:20]
        assert r.json == {"error": "bad_request", "reason": "not_json"}
    assert api.get("queues/%2F/" + q(uniq)).status == 404


def test_wrong_field_types(api, uniq):
    path = "exchanges/%2F/" + q(uniq)
    for body in ({"type": 5}, {"type": None, "durable": 1},
                 {"auto_delete": "yes"}, {"internal": []},
                 {"type": "direct", "arguments": [1]},
                 {"type": "direct", "arguments": {"k" * 300: 1}}):
        r = api.put(path, body)
        assert r.status == 400, body
        assert r.json["error"] == "bad_request"
        assert isinstance(r.json["reason"], str)


@pytest.mark.warren_only
def test_hostile_paths(api):
    for path in ("/api/queues/%2F/%00", "/api/queues/%2F/%zz",
                 "/api/queues/%2F/%", "/api/" + "/".join(["a"] * 50),
                 "/api/queues/%2F/" + "x" * 5000,
                 "/api/queues/%2F/x?%zz=1&&&==",
                 "/api/queues/%2F/..%2F..%2Fetc"):
        r = api.get(path)
        assert r.status in (400, 404), path
        assert set(r.json) == {"error", "reason"}, path


@pytest.mark.warren_only
def test_deep_json_arguments(api, uniq):
    deep = {}
    cur = deep
    for _ in range(100):
        cur["d"] = {}
        cur = cur["d"]
    r = api.put("queues/%2F/" + q(uniq), {"arguments": {"x": deep}})
    assert r.status == 400
    assert "nested too deeply" in r.json["reason"]


@pytest.mark.warren_only
def test_body_too_large(fresh):
    srv, api = fresh("management.http.max_body_size = 4096")
    r = api.request("PUT", "queues/%2F/big", raw=b" " * 10000)
    assert r.status == 413
    assert api.put("queues/%2F/small", {"arguments": {"a": "x" * 1000}}).status == 201


@pytest.mark.warren_only
def test_garbage_requests(api):
    """Raw bytes on the socket: the broker answers or closes, and lives."""
    host, port = api.base[len("http://"):].rsplit(":", 1)
    rnd = random.Random(5)
    samples = [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"\x00" * 100,
               b"GET /api/overview HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
               b"POST /api/definitions HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
               b"GET /api/overview HTTP/9.9\r\n\r\n",
               b"GET /api/" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n"]
    samples += [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 400)))
                for _ in range(30)]
    for data in samples:
        s = socket.create_connection((host, int(port)), timeout=5)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        except OSError:
            pass
        finally:
            s.close()
    assert api.get("overview").status == 200


@pytest.mark.warren_only
def test_random_json_bodies(api, uniq):
    """Random JSON values in every field of every write endpoint: 4xx or
    success, never a crash."""
    rnd = random.Random(7)
    values = [None, True, False, 0, -1, 2 ** 63 - 1, -2 ** 63, 1.5, "",
              "x", "true", "ünï", [], [1, "a"], {}, {"a": {"b": [None]}}]
    fields = ["type", "durable", "auto_delete", "internal", "arguments",
              "routing_key", "payload", "payload_encoding", "properties",
              "count", "ackmode", "encoding", "truncate", "queues",
              "exchanges", "bindings", "vhosts"]
    paths = [("PUT", "exchanges/%2F/" + q(uniq)),
             ("PUT", "queues/%2F/" + q(uniq)),
             ("POST", "bindings/%2F/e/amq.topic/q/" + q(uniq)),
             ("POST", "exchanges/%2F/amq.default/publish"),
             ("POST", "queues/%2F/" + q(uniq) + "/get"),
             ("POST", "definitions")]
    for _ in range(300):
        method, path = rnd.choice(paths)
        body = {f: rnd.choice(values) for f in rnd.sample(fields, 4)}
        r = api.request(method, path, body=body)
        assert r.status < 500, (method, path, body, r)
        if r.status >= 400:
            assert set(json.loads(r.body)) == {"error", "reason"}


def test_query_on_write(api, uniq):
    """Query strings RabbitMQ tools add are accepted everywhere."""
    r = api.put("queues/%2F/" + q(uniq) + "?lengths_age=60&foo=bar", {})
    assert r.status == 201


@pytest.mark.warren_only
def test_management_port_in_use(mgmt, tmp_path):
    """A taken port is a startup error (exit 1, one log line), as for
    the AMQP listener."""
    import subprocess
    import broker as broker_mod  # tests/proto/broker.py
    conf = tmp_path / "taken.conf"
    conf.write_text("management.tcp.port = %d\n" % mgmt[1])
    p = subprocess.run([broker_mod.server_binary(), "--port", "0", "--config",
                        str(conf), "--data-dir", str(tmp_path / "data")], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=10)
    assert p.returncode == 1
    assert b"management API: cannot listen" in p.stderr


@pytest.mark.warren_only
def test_request_log(fresh):
    """At log level info every request is logged with its peer, status and
    user."""
    srv, api = fresh("log.level = info")
    api.get("overview")
    api.get("nosuch")
    import time
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        log = srv.log_tail(100000)
        if "GET /api/nosuch -> 404" in log:
            break
        time.sleep(0.05)
    assert "GET /api/overview -> 200 user 'guest'" in log
    assert "GET /api/nosuch -> 404" in log
