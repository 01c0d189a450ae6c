# SPDX-License-Identifier: MIT
"""Fixtures for the security tests: a throwaway PKI made with the openssl CLI
at test time (never committed), private brokers started from a config text,
and a definitions file written with RabbitMQ's password hashing.

Every broker here is private (warren_only); none of these tests runs
against WARREN_TEST_BROKER.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "proto"))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import broker as broker_mod  # noqa: E402

TLS_RE = re.compile(r"TLS listener on amqps://([0-9.]+|\[[0-9a-fA-F:]+\]):(\d+)")


def rabbit_hash(password, salt=None):
    """rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = salt if salt is not None else os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(users=(), vhosts=("/",), permissions=(), topic_permissions=(),
                limits=None):
    """A RabbitMQ definitions document. users: (name, password, tags)."""
    return {
        "users": [{"name": n, "password_hash": rabbit_hash(p) if p is not None else "",
                   "hashing_algorithm": "rabbit_password_hashing_sha256",
                   "tags": list(t)} for n, p, t in users],
        "vhosts": [{"name": v} for v in vhosts],
        "permissions": [{"user": u, "vhost": v, "configure": c, "write": w, "read": r}
                        for u, v, c, w, r in permissions],
        "topic_permissions": [{"user": u, "vhost": v, "exchange": x, "write": w, "read": r}
                              for u, v, x, w, r in topic_permissions],
        "parameters": [{"vhost": v, "component": "vhost-limits", "name": "limits",
                        "value": {"max-connections": n}}
                       for v, n in (limits or {}).items()],
    }


class Broker:
    """A private warren-server with its own config file."""

    def __init__(self, srv, conf_path):
        self.srv = srv
        self.conf_path = conf_path
        self.host, self.port = srv.address
        self.tls_port = None
        m = TLS_RE.search(srv.log_tail(100000))
        if m:
            self.tls_port = int(m.group(2))

    @property
    def address(self):
        return (self.host, self.port)

    def log(self):
        return self.srv.log_tail(1 << 20)

    def wait_log(self, pattern, timeout=5.0):
        deadline = time.monotonic() + timeout * broker_mod.SLOW
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            m = rx.search(self.log())
            if m:
                return m
            time.sleep(0.05)
        raise AssertionError("log never matched %r; log:\n%s" % (pattern, self.log()[-3000:]))


@pytest.fixture
def start_broker(tmp_path):
    """start_broker(conf_text, *args, defs=None) -> Broker (stopped at the end)."""
    if broker_mod.external_broker() is not None:
        pytest.skip("needs a private warren-server")
    started = []

    def start(conf="", *args, defs=None, name="warren.conf"):
        if defs is not None:
            dpath = tmp_path / "definitions.json"
            dpath.write_text(json.dumps(defs, indent=1))
            conf += "\ndefinitions.file = %s\n" % dpath
        path = tmp_path / name
        path.write_text("log.level = info\n" + conf)
        try:
            srv = broker_mod.WarrenServer(("--config", str(path)) + tuple(args)).start()
        except broker_mod.BrokerError as e:
            pytest.fail(str(e), pytrace=False)
        b = Broker(srv, path)
        started.append(b)
        return b

    yield start
    for b in started:
        if b.srv.alive():
            rc = b.srv.terminate()
            assert rc == 0, "warren-server exit status %s; log:\n%s" % (rc, b.log()[-3000:])


def openssl(*args, cwd=None):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), r.stderr))
    return r.stdout


class PKI:
    """A test CA, a server certificate for 127.0.0.1 / localhost, client
    certificates (trusted CN=alice, untrusted, expired)."""

    def __init__(self, d):
        self.dir = str(d)

    def path(self, name):
        return os.path.join(self.dir, name)

    def make_ca(self, name):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=warren test %s" % name,
                "-keyout", self.path(name + ".key"), "-out", self.path(name + ".pem"))

    def make_cert(self, name, cn, ca="ca", server=False):
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            if server:
                f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                        "extendedKeyUsage=serverAuth\n")
            else:
                f.write("extendedKeyUsage=clientAuth\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
                "-keyout", self.path(name + ".key"), "-out", self.path(name + ".csr"))
        openssl("x509", "-req", "-in", self.path(name + ".csr"), "-days", "2",
                "-CA", self.path(ca + ".pem"), "-CAkey", self.path(ca + ".key"),
                "-CAcreateserial", "-extfile", ext, "-out", self.path(name + ".pem"))

    def make_expired(self, name, cn, ca="ca"):
        """A client certificate valid only in 2020 (openssl ca sets dates)."""
        d = self.path("cadb")
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        cnf = os.path.join(d, "ca.cnf")
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca=t\n[t]\ndatabase=%s/index.txt\nserial=%s/serial\n"
                    "new_certs_dir=%s\ndefault_md=sha256\npolicy=p\nunique_subject=no\n"
                    "[p]\ncommonName=supplied\n" % (d, d, d))
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
                "-keyout", self.path(name + ".key"), "-out", self.path(name + ".csr"))
        openssl("ca", "-batch", "-config", cnf, "-cert", self.path(ca + ".pem"),
                "-keyfile", self.path(ca + ".key"), "-startdate", "20200101000000Z",
                "-enddate", "20200102000000Z", "-in", self.path(name + ".csr"),
                "-out", self.path(name + ".pem"), "-notext")

    def conf(self, verify=True, fail_if_no_peer_cert=True, extra=""):
        return ("listeners.ssl.default = 127.0.0.1:0\n"
                "ssl_options.cacertfile = %s\n"
                "ssl_options.certfile = %s\n"
                "ssl_options.keyfile = %s\n"
                "ssl_options.verify = %s\n"
                "ssl_options.fail_if_no_peer_cert = %s\n%s"
                % (self.path("ca.pem"), self.path("server.pem"), self.path("server.key"),
                   "verify_peer" if verify else "verify_none",
                   "true" if fail_if_no_peer_cert else "false", extra))


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    broker_mod.require_tool(shutil.which("openssl") is not None,
                            "openssl (Debian package openssl)")
    p = PKI(tmp_path_factory.mktemp("pki"))
    p.make_ca("ca")
    p.make_ca("rogue")
    p.make_cert("server", "localhost", server=True)
    p.make_cert("alice", "alice")
    p.make_cert("mallory", "mallory", ca="rogue")
    p.make_expired("old", "alice")
    return p
