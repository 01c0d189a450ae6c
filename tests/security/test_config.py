# SPDX-License-Identifier: MIT
"""Configuration: every error case stops startup with FILE:LINE and a clear
message; --check-config validates and exits; flags override the file; the
sample etc/warren.conf lists every key and passes."""

import json
import os
import re
import subprocess

import pytest

import broker as broker_mod

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(*args, timeout=10 * broker_mod.SLOW):
    # a data_dir of the tests' own, never the machine's /var/lib/warren
    return subprocess.run([broker_mod.server_binary(), "--data-dir",
                           broker_mod.scratch_data_dir()] + list(args),
                          capture_output=True, text=True, timeout=timeout)


# (file text, line of the error, words the message must hold)
BAD = [
    ("no_such_key = 1\n", 1, "unknown key 'no_such_key'"),
    ("heartbeat = 60\nthis line has no equals\n", 2, "expected 'key = value'"),
    ("= 5\n", 1, "missing key"),
    ("heartbeat = -1\n", 1, "heartbeat: expected an integer from 0 to 65535"),
    ("heartbeat = 70000\n", 1, "heartbeat"),
    ("frame_max = 100\n", 1, "frame_max: expected an integer from 4096"),
    ("channel_max = 0\n", 1, "channel_max"),
    ("max_message_size = lots\n", 1, "max_message_size"),
    ("connection_max = 1.5\n", 1, "connection_max"),
    ("handshake_timeout = 5\n", 1, "handshake_timeout"),
    ("listeners.tcp.default = 127.0.0.1:99999\n", 1, "listeners.tcp.default"),
    ("listeners.tcp.default = example.org:5672\n", 1, "[IPV6]:PORT"),
    ("listeners.tcp.v6 = ::1:99999\n", 1, "listeners.tcp.v6"),
    ("".join("listeners.tcp.l%d = %d\n" % (i, 5000 + i) for i in range(8)), 8,
     "at most 7 listeners.tcp.NAME"),
    ("listeners.ssl.default = localhost:\n", 1, "listeners.ssl.default"),
    ("ssl_options.verify = sometimes\n", 1, "verify_peer or verify_none"),
    ("ssl_options.fail_if_no_peer_cert = yes\n", 1, "true or false"),
    ("ssl_options.versions.1 = tlsv1.1\n", 1, "tlsv1.2 or tlsv1.3"),
    ("ssl_options.versions.x = tlsv1.2\n", 1, "expected a number"),
    ("ssl_options.ciphers.1 = AES;rm\n", 1, "bad cipher name"),
    ("auth_mechanisms.1 = CRAM-MD5\n", 1, "PLAIN, AMQPLAIN or EXTERNAL"),
    ("loopback_users = guest\n", 1, "'none'"),
    ("loopback_users.guest = maybe\n", 1, "true or false"),
    ("vm_memory_high_watermark.absolute = 10XB\n", 1, "vm_memory_high_watermark.absolute"),
    ("vm_memory_high_watermark.absolute = 1000\n", 1, "at least 1MiB"),
    ("vm_memory_high_watermark.relative = 1.5\n", 1, "fraction"),
    ("management.tcp.port = 70000\n", 1, "management.tcp.port"),
    ("log.level = verbose\n", 1, "error, warn, notice, info or debug"),
    ("default_user =\n", 1, "default_user"),
    ("# comment\n\nauth_failure_delay = 999999\n", 3, "auth_failure_delay"),
    ("default_vhost = " + "v" * 200 + "\n", 1, "default_vhost"),
]


@pytest.mark.parametrize("text,line,words", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_config_file_line(tmp_path, text, line, words):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    for extra in ((), ("--check-config",)):
        r = run("--config", str(conf), "--port", "0", *extra)
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert "%s:%d: " % (conf, line) in r.stderr, r.stderr
        assert words in r.stderr, r.stderr
        assert "ready on" not in r.stderr


COMBOS = [
    ("listeners.ssl.default = 5671\n", "needs ssl_options.certfile and ssl_options.keyfile"),
    ("listeners.ssl.default = 5671\nssl_options.certfile = /x.pem\nssl_options.keyfile = /x.key\n"
     "ssl_options.verify = verify_peer\n", "needs ssl_options.cacertfile"),
    ("ssl_options.fail_if_no_peer_cert = true\n", "needs ssl_options.verify = verify_peer"),
]


@pytest.mark.parametrize("text,words", COMBOS)
def test_inconsistent_config(tmp_path, text, words):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    r = run("--config", str(conf), "--check-config")
    assert r.returncode == 1 and words in r.stderr, r.stderr


def test_missing_certificate_file(tmp_path, pki):
    conf = tmp_path / "c.conf"
    conf.write_text(pki.conf().replace(pki.path("server.pem"), str(tmp_path / "nope.pem")))
    r = run("--config", str(conf), "--check-config")
    assert r.returncode == 1
    assert "ssl_options.certfile %s" % (tmp_path / "nope.pem") in r.stderr, r.stderr
    r = run("--config", str(conf), "--port", "0")
    assert r.returncode == 1 and "ssl_options.certfile" in r.stderr


def test_key_not_matching_certificate(tmp_path, pki):
    conf = tmp_path / "c.conf"
    conf.write_text(pki.conf().replace(pki.path("server.key"), pki.path("alice.key")))
    r = run("--config", str(conf), "--check-config")
    assert r.returncode == 1 and "keyfile" in r.stderr, r.stderr


def test_missing_config_file(tmp_path):
    r = run("--config", str(tmp_path / "none.conf"), "--check-config")
    assert r.returncode == 1 and "No such file" in r.stderr


DEFS_BAD = [
    ('{"users": [\n  {"name": "a",\n   "password_hash": "x"\n  ]}', 4, "'}' expected"),
    ('{"users": [{"name": "a", "password_hash": "%%%"}]}', None, "users[0]: password_hash"),
    ('{"users": [{"password_hash": ""}]}', None, "users[0]: missing or bad name"),
    ('{"users": [{"name": "a", "hashing_algorithm": "rabbit_password_hashing_md5"}]}', None,
     "users[0]: hashing_algorithm"),
    ('{"users": [{"name": "a"}], "permissions": [{"user": "b", "vhost": "/", "configure": "",'
     ' "write": "", "read": ""}]}', None, "permissions[0]: no such user"),
    ('{"users": [{"name": "a"}], "permissions": [{"user": "a", "vhost": "/", "configure": "(",'
     ' "write": "", "read": ""}]}', None, "invalid regular expression '('"),
    ('{"vhosts": [{"name": "a"}, {"name": "a"}]}', None, "vhosts[1]: duplicate name"),
    ('[1, 2]', None, "expected a JSON object"),
]


@pytest.mark.parametrize("text,line,words", DEFS_BAD, ids=[d[2][:30] for d in DEFS_BAD])
def test_bad_definitions_file(tmp_path, text, line, words):
    d = tmp_path / "defs.json"
    d.write_text(text)
    for extra in (("--check-config",), ("--port", "0")):
        r = run("--definitions", str(d), *extra)
        assert r.returncode == 1, r.stderr
        if line:
            assert "%s:%d: " % (d, line) in r.stderr, r.stderr
        else:
            assert str(d) in r.stderr
        assert words in r.stderr, r.stderr


def test_check_config_ok_on_sample_file():
    r = run("--config", os.path.join(ROOT, "etc", "warren.conf"), "--check-config")
    assert r.returncode == 0 and "configuration ok" in r.stdout, r.stderr


def test_sample_file_lists_every_key():
    """etc/warren.conf names every key the parser knows, each with a
    comment line above it."""
    src = "".join(open(os.path.join(ROOT, "runtime", f)).read()
                  for f in ("config.c", "config_service.c"))
    keys = set(re.findall(r'(?:NUM|STR)\("([a-z_.]+)"', src))
    keys |= set(re.findall(r'strcmp\(key, "([a-z_.]+)"\)', src))
    sample = open(os.path.join(ROOT, "etc", "warren.conf")).read()
    for k in sorted(keys):
        assert re.search(r"^#? ?%s\s*=" % re.escape(k), sample, re.M), k
    for k in ("ssl_options.versions.1", "ssl_options.ciphers.1", "auth_mechanisms.1",
              "loopback_users.guest"):
        assert re.search(r"^#? ?%s\s*=" % re.escape(k), sample, re.M), k


def test_flags_override_file(tmp_path, start_broker):
    """--port/--set win over the file whatever their order."""
    conf = tmp_path / "o.conf"
    conf.write_text("listeners.tcp.default = 127.0.0.1:1\nheartbeat = 0\nlog.level = error\n")
    srv = broker_mod.WarrenServer(("--set", "log.level=info", "--config", str(conf),
                                   "--set", "heartbeat=7")).start()
    try:
        assert srv.port != 1  # --port 0 from WarrenServer beat the file's port 1
        import pika
        c = pika.BlockingConnection(pika.ConnectionParameters(
            host=srv.host, port=srv.port, connection_attempts=1))
        assert c._impl.params.heartbeat == 7
        c.close()
        assert " info " in srv.log_tail() or "info" in srv.log_tail()
    finally:
        assert srv.terminate() == 0


def test_bad_flag_values(tmp_path):
    r = run("--set", "heartbeat", "--check-config")
    assert r.returncode == 2 and "KEY=VALUE" in r.stderr
    r = run("--set", "nokey=1", "--check-config")
    assert r.returncode == 2 and "unknown key 'nokey'" in r.stderr
    r = run("--ssl-port", "x", "--check-config")
    assert r.returncode == 2


def test_help_lists_flags():
    r = run("--help")
    assert r.returncode == 0
    for flag in ("--config", "--bind", "--port", "--ssl-port", "--definitions", "--set",
                 "--log-level", "--check-config", "--help", "--version"):
        assert flag in r.stdout, flag


def test_listeners_of_both_families(tmp_path):
    """listeners.tcp.NAME adds listeners, IPv4 or IPv6, the IPv6 address
    bare as RabbitMQ writes it or in brackets; the ready line names them
    all, the default first, and each one speaks AMQP."""
    from frames import RawClient
    conf = tmp_path / "l.conf"
    conf.write_text("listeners.tcp.default = 127.0.0.1:0\n"
                    "listeners.tcp.1 = ::1:0\n"
                    "listeners.tcp.2 = [::1]:0\n")
    srv = broker_mod.WarrenServer(["--config", str(conf)]).start()
    try:
        with open(srv.log_path) as f:
            line = next(x for x in f if "ready on" in x)
        urls = re.findall(r"amqp://(\S+)", line)
        assert len(urls) == 3, line
        assert urls[0] == "127.0.0.1:%d" % srv.port
        addrs = []
        for u in urls:
            host, _, port = u.rpartition(":")
            addrs.append((host.strip("[]"), int(port)))
        assert [a[0] for a in addrs] == ["127.0.0.1", "::1", "::1"]
        for a in addrs:
            with RawClient(*a) as c:
                c.handshake()
                c.close_connection()
    finally:
        srv.stop_checked()


def test_named_listeners_only_bind_themselves(tmp_path):
    """As RabbitMQ: a file that names listeners.tcp.NAME and not
    listeners.tcp.default binds only those (RabbitMQ's networking guide's
    local = 127.0.0.1:PORT, local_v6 = ::1:PORT), so it starts beside a
    RabbitMQ that holds 5672 and never takes 5672 itself; --port gives the
    default listener back."""
    from frames import RawClient
    conf = tmp_path / "rabbitmq.conf"
    conf.write_text("listeners.tcp.local = 127.0.0.1:0\n"
                    "listeners.tcp.local_v6 = ::1:0\n")
    srv = broker_mod.WarrenServer(["--config", str(conf)])
    # without the --bind 127.0.0.1 --port 0 WarrenServer passes
    i = srv.args.index("--bind")
    del srv.args[i:i + 4]
    assert "--port" not in srv.args
    srv.start()
    try:
        with open(srv.log_path) as f:
            line = next(x for x in f if "ready on" in x)
        urls = re.findall(r"amqp://(\S+)", line)
        hosts = [u.rpartition(":")[0].strip("[]") for u in urls]
        assert hosts == ["127.0.0.1", "::1"], line
        assert not any(u.endswith(":5672") for u in urls), line
        for u in urls:
            host, _, port = u.rpartition(":")
            with RawClient(host.strip("[]"), int(port)) as c:
                c.handshake()
                c.close_connection()
    finally:
        srv.stop_checked()
    # the flags name the default listener: it is bound besides them
    srv = broker_mod.WarrenServer(["--config", str(conf)]).start()
    try:
        with open(srv.log_path) as f:
            line = next(x for x in f if "ready on" in x)
        urls = re.findall(r"amqp://(\S+)", line)
        assert len(urls) == 3 and urls[0] == "127.0.0.1:%d" % srv.port, line
    finally:
        srv.stop_checked()
