# SPDX-License-Identifier: MIT
"""HTTPS for the management API (management.ssl.*): the API over TLS with
the CA, a client that does not trust the CA refused, plain HTTP on the
HTTPS port dropped while the broker keeps serving, warrenctl --cacert /
--insecure, SIGHUP picking up a new certificate for new connections, and
--check-config on the management certificate files."""

import base64
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest

HTTPS_RE = re.compile(r"management on https://([0-9.]+|\[[0-9a-fA-F:]+\]):(\d+)")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def warrenctl_path():
    p = os.environ.get("WARRENCTL")
    if p:
        return p
    return os.path.join(os.path.dirname(os.environ.get(
        "WARREN_SERVER", os.path.join(ROOT, "build", "warren-server"))), "warrenctl")


def https_conf(pki, cert="server", extra=""):
    return ("management.ssl.port = 0\n"
            "management.ssl.certfile = %s\n"
            "management.ssl.keyfile = %s\n%s"
            % (pki.path(cert + ".pem"), pki.path(cert + ".key"), extra))


def https_port(b):
    # printed right after the line the broker helper waits for
    return int(b.wait_log(HTTPS_RE.pattern).group(2))


def client_ctx(pki, ca="ca"):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(pki.path(ca + ".pem"))
    return c


def get(port, path, context, user="guest", password="guest"):
    req = urllib.request.Request("https://127.0.0.1:%d%s" % (port, path))
    req.add_header("Authorization", "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode())
    with urllib.request.urlopen(req, context=context, timeout=10) as r:
        return r.status, json.loads(r.read())


def peer_cn(port, pki):
    """CN of the certificate a new connection to port gets."""
    c = client_ctx(pki)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with c.wrap_socket(s, server_hostname="localhost") as t:
            cert = t.getpeercert()
    return dict(x[0] for x in cert["subject"])["commonName"]


@pytest.fixture
def https_broker(start_broker, pki):
    b = start_broker(https_conf(pki))
    b.https_port = https_port(b)
    return b


def test_ready_line_after_http_one(https_broker):
    log = https_broker.log()
    assert "management on https://127.0.0.1:%d\n" % https_broker.https_port in log
    assert log.index("management on http://") < log.index("management on https://")


def test_overview_over_https_with_ca(https_broker, pki):
    status, doc = get(https_broker.https_port, "/api/overview", client_ctx(pki))
    assert status == 200 and doc["product_name"] == "warren"
    status, who = get(https_broker.https_port, "/api/whoami", client_ctx(pki))
    assert who["name"] == "guest"


def test_auth_still_required_over_https(https_broker, pki):
    with pytest.raises(urllib.error.HTTPError) as e:
        get(https_broker.https_port, "/api/overview", client_ctx(pki),
            password="wrong")
    assert e.value.code == 401


def test_wrong_ca_refused(https_broker, pki):
    with pytest.raises(urllib.error.URLError) as e:
        get(https_broker.https_port, "/api/overview", client_ctx(pki, ca="rogue"))
    assert isinstance(e.value.reason, ssl.SSLCertVerificationError), e.value


def test_plain_http_on_https_port_refused(https_broker, pki):
    """Plain HTTP to the TLS port: the handshake fails, the connection is
    dropped without an HTTP answer, and both listeners keep serving."""
    port = https_broker.https_port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /api/overview HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    assert b"HTTP/1." not in got and b"product_name" not in got
    assert https_broker.srv.alive()
    status, _ = get(port, "/api/overview", client_ctx(pki))
    assert status == 200
    host, hport = https_broker.srv.mgmt_address
    with urllib.request.urlopen("http://%s:%d/metrics" % (host, hport), timeout=10) as r:
        assert r.status == 200


def test_warrenctl_cacert(https_broker, pki):
    url = "https://127.0.0.1:%d" % https_broker.https_port
    env = dict(os.environ, HOME=pki.dir)
    env.pop("WARREN_URL", None)
    env.pop("WARREN_MGMT_URL", None)

    def ctl(*args):
        return subprocess.run([warrenctl_path(), "--url", url] + list(args),
                              capture_output=True, text=True, timeout=30, env=env)

    r = ctl("--cacert", pki.path("ca.pem"), "status")
    assert r.returncode == 0, r.stderr
    assert url in r.stdout
    r = ctl("status")  # the system's CAs do not know the test CA
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "certificate" in r.stderr
    r = ctl("--cacert", pki.path("rogue.pem"), "status")
    assert r.returncode == 3, (r.returncode, r.stderr)
    r = ctl("--insecure", "status")
    assert r.returncode == 0, r.stderr


def test_sighup_reloads_https_certificate(start_broker, pki, tmp_path):
    cert = tmp_path / "mgmt.pem"
    key = tmp_path / "mgmt.key"
    cert.write_bytes(open(pki.path("server.pem"), "rb").read())
    key.write_bytes(open(pki.path("server.key"), "rb").read())
    b = start_broker("management.ssl.port = 0\nmanagement.ssl.certfile = %s\n"
                     "management.ssl.keyfile = %s\n" % (cert, key))
    port = https_port(b)
    assert peer_cn(port, pki) == "localhost"
    pki.make_cert("mgmt2", "https-reloaded.localhost", server=True)
    cert.write_bytes(open(pki.path("mgmt2.pem"), "rb").read())
    key.write_bytes(open(pki.path("mgmt2.key"), "rb").read())
    b.srv.proc.send_signal(signal.SIGHUP)
    b.wait_log(r"HTTPS certificates reloaded")
    assert peer_cn(port, pki) == "https-reloaded.localhost"
    status, _ = get(port, "/api/overview", client_ctx(pki))
    assert status == 200
    # a broken file keeps the old certificate
    key.write_text("not a key\n")
    b.srv.proc.send_signal(signal.SIGHUP)
    b.wait_log(r"HTTPS reload failed, keeping the old certificates")
    assert peer_cn(port, pki) == "https-reloaded.localhost"


def test_check_config_validates_https_files(tmp_path, pki):
    server = os.environ.get("WARREN_SERVER", os.path.join(ROOT, "build", "warren-server"))

    def check(conf):
        p = tmp_path / "c.conf"
        p.write_text(conf)
        return subprocess.run([server, "--config", str(p), "--check-config"],
                              capture_output=True, text=True, timeout=30)

    r = check(https_conf(pki))
    assert r.returncode == 0 and "configuration ok" in r.stdout, r.stderr
    r = check("management.ssl.port = 15671\n")
    assert r.returncode == 1
    assert "management.ssl.port needs management.ssl.certfile" in r.stderr
    r = check(https_conf(pki, extra="management.ssl.keyfile = %s\n"
                         % pki.path("alice.key")))
    assert r.returncode == 1 and "management.ssl.keyfile" in r.stderr, r.stderr
    r = check(https_conf(pki, extra="management.ssl.certfile = /nonexistent.pem\n"))
    assert r.returncode == 1 and "management.ssl.certfile" in r.stderr, r.stderr
    r = check(https_conf(pki, extra="management.ssl.verify = verify_peer\n"))
    assert r.returncode == 1 and "management.ssl.cacertfile" in r.stderr, r.stderr
    r = check("management.ssl.port = x\n")
    assert r.returncode == 1 and "management.ssl.port" in r.stderr


def test_client_certificate_required(start_broker, pki):
    """management.ssl.verify = verify_peer with fail_if_no_peer_cert: a
    client certificate from the CA is let through to basic auth; none, or
    one from another CA, is refused in the handshake."""
    b = start_broker(https_conf(pki, extra=(
        "management.ssl.cacertfile = %s\n"
        "management.ssl.verify = verify_peer\n"
        "management.ssl.fail_if_no_peer_cert = true\n" % pki.path("ca.pem"))))
    port = https_port(b)
    c = client_ctx(pki)
    c.load_cert_chain(pki.path("alice.pem"), pki.path("alice.key"))
    status, _ = get(port, "/api/overview", c)
    assert status == 200
    refused = (urllib.error.URLError, ssl.SSLError, ConnectionError)
    with pytest.raises(refused):
        get(port, "/api/overview", client_ctx(pki))
    c = client_ctx(pki)
    c.load_cert_chain(pki.path("mallory.pem"), pki.path("mallory.key"))
    with pytest.raises(refused):
        get(port, "/api/overview", c)
    assert b.srv.alive()
