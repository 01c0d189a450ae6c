# SPDX-License-Identifier: MIT
"""A tiny client for warren's (and RabbitMQ's) HTTP management API, on
urllib: every call returns a Response and never raises on an HTTP error
status. Shared by the tests in tests/admin."""

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request

try:  # tests/proto/broker.py, on the path under pytest: > 1 under valgrind
    from broker import SLOW
except ImportError:
    SLOW = 1


def q(name):
    """A path segment: every reserved character percent-encoded."""
    return urllib.parse.quote(name, safe="")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class Api:
    """A tiny management API client: every call returns a Response (it
    never raises on an HTTP error status)."""

    def __init__(self, host, port, user="guest", password="guest"):
        self.base = "http://%s:%d" % (host, port)
        self.user = user
        self.password = password

    def request(self, method, path, body=None, raw=None, headers=None,
                auth=True, timeout=10 * SLOW):
        url = self.base + (path if path.startswith("/") else "/api/" + path)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth:
            token = base64.b64encode(
                ("%s:%s" % (self.user, self.password)).encode()).decode()
            req.add_header("Authorization", "Basic " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body if body is not None else {}, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body if body is not None else {}, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def ok(self, method, path, body=None, expect=(200, 201, 204)):
        """Request and assert a success status; returns the JSON body."""
        r = self.request(method, path, body=body)
        assert r.status in expect, "%s %s -> %r" % (method, path, r)
        return r.json

    def wait_for(self, path, pred, timeout=5.0):
        """Polls GET path until pred(json) is true; returns the JSON."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            r = self.get(path)
            if r.status == 200 and pred(r.json):
                return r.json
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting on %s: %r" % (path, r))
            time.sleep(0.05)
