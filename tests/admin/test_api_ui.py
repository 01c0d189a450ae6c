# SPDX-License-Identifier: MIT
"""The web UI's files on the management listener (issue 18): what the
browser gets at / and below, its headers, and what it must not get
(paths outside the UI's folder, other methods). tests/browser drives the
UI itself."""

import os
import re

import pytest

from mgmt_client import Api

pytestmark = pytest.mark.warren_only

UI_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "mgmt", "ui")


def test_index_and_headers(api):
    r = api.get("/", auth=False)
    assert r.status == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    with open(os.path.join(UI_DIR, "index.html"), "rb") as f:
        assert r.body == f.read()
    csp = r.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-cache"
    assert api.get("/index.html", auth=False).body == r.body


def test_content_types_and_revalidation(api):
    for path, ctype in (("/js/app.js", "text/javascript; charset=utf-8"),
                        ("/css/warren.css", "text/css; charset=utf-8"),
                        ("/favicon.svg", "image/svg+xml")):
        r = api.get(path, auth=False)
        assert r.status == 200, path
        assert r.headers["Content-Type"] == ctype
        etag = r.headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f-]+"', etag)
        again = api.get(path, auth=False, headers={"If-None-Match": etag})
        assert again.status == 304 and again.body == b""
        other = api.get(path, auth=False, headers={"If-None-Match": '"x"'})
        assert other.status == 200


def test_no_inline_script_in_the_pages():
    """The CSP forbids inline scripts and styles: the files must not need
    them."""
    for root, _dirs, files in os.walk(UI_DIR):
        for name in files:
            if not name.endswith(".html"):
                continue
            with open(os.path.join(root, name)) as f:
                html = f.read()
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), name
            assert "<style" not in html and " style=" not in html, name
            assert not re.search(r"\son[a-z]+=", html), name
            assert "http://" not in html and "https://" not in html, name


def test_nothing_outside_the_ui(api):
    for path in ("/../README.md", "/..%2F..%2FREADME.md", "/%2e%2e/README.md",
                 "/js/../../README.md", "/.hidden.js", "/js//app.js",
                 "/etc/passwd", "/index.html%00.js", "/nosuch.html",
                 "/js/app.js/", "/README.md", "/js", "/css/"):
        r = api.get(path, auth=False)
        assert r.status in (400, 404), path
        assert b"warren" not in r.body.lower() or r.status == 400, path


def test_other_methods(api):
    for method in ("POST", "PUT", "DELETE"):
        r = api.request(method, "/index.html", raw=b"", auth=False)
        assert r.status == 405, method
        assert r.headers["Allow"] == "GET, HEAD"
    r = api.request("HEAD", "/", auth=False)
    assert r.status == 200 and r.body == b""


def test_no_browser_login_dialog_for_the_ui(api):
    """A failed login answers WWW-Authenticate (rabbitmqadmin, curl), but
    not to the UI's fetches (X-Requested-With), whose 401 would make the
    browser open its own login dialog."""
    host, port = api.base[len("http://"):].rsplit(":", 1)
    bad = Api(host, int(port), "guest", "wrong")
    r = bad.get("overview")
    assert r.status == 401 and "WWW-Authenticate" in r.headers
    r = bad.get("overview", headers={"X-Requested-With": "XMLHttpRequest"})
    assert r.status == 401 and r.json["error"] == "not_authorized"
    assert "WWW-Authenticate" not in r.headers


def test_ui_dir_setting(fresh, tmp_path):
    """management.ui.dir serves the UI from another folder."""
    (tmp_path / "index.html").write_text("<!doctype html><title>mine</title>")
    _srv, api = fresh("management.ui.dir = %s" % tmp_path)
    r = api.get("/", auth=False)
    assert r.status == 200 and b"mine" in r.body
    assert api.get("/js/app.js", auth=False).status == 404
