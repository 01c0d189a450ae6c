# SPDX-License-Identifier: MIT
"""AMQPS: TLS 1.2 / 1.3 with pika's SSL options and openssl s_client, client
certificates and SASL EXTERNAL, SIGHUP reload, and each refusal case logged:
plain AMQP on the TLS port, an untrusted, expired or missing client
certificate, a stalled handshake."""

import os
import signal
import socket
import ssl
import subprocess
import time

import pika
import pika.exceptions
import pytest

from broker import SLOW
from conftest import definitions


def ctx(pki, cert="alice", verify_server=True, version=None):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify_server:
        c.load_verify_locations(pki.path("ca.pem"))
    else:
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
    if cert:
        c.load_cert_chain(pki.path(cert + ".pem"), pki.path(cert + ".key"))
    if version:
        c.minimum_version = c.maximum_version = version
    return c


def tls_params(b, pki, creds=None, **kw):
    return pika.ConnectionParameters(
        host="127.0.0.1", port=b.tls_port,
        credentials=creds or pika.PlainCredentials("guest", "guest"),
        ssl_options=pika.SSLOptions(kw.pop("context", None) or ctx(pki), "127.0.0.1"),
        connection_attempts=1, socket_timeout=5 * SLOW, stack_timeout=10 * SLOW,
        heartbeat=0, **kw)


def roundtrip(conn, body=b"over tls"):
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_publish("", q, body)
    for _ in range(int(50 * SLOW)):
        m, _, got = ch.basic_get(q, auto_ack=True)
        if m:
            return got
        time.sleep(0.02)
    return None


def s_client(b, pki, *args, cert="alice", stdin=b""):
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % b.tls_port,
           "-CAfile", pki.path("ca.pem"), "-verify_return_error", "-brief"]
    if cert:
        cmd += ["-cert", pki.path(cert + ".pem"), "-key", pki.path(cert + ".key")]
    return subprocess.run(cmd + list(args), input=stdin, capture_output=True,
                          timeout=20 * SLOW)


@pytest.fixture
def tls_broker(start_broker, pki):
    return start_broker(pki.conf())


def test_pika_over_tls13(tls_broker, pki):
    conn = pika.BlockingConnection(tls_params(tls_broker, pki))
    try:
        assert roundtrip(conn) == b"over tls"
    finally:
        conn.close()
    tls_broker.wait_log(r"TLS established \(TLSv1\.3 \S+\), peer certificate CN 'alice'")


def test_pika_over_tls12(tls_broker, pki):
    c = ctx(pki, version=ssl.TLSVersion.TLSv1_2)
    conn = pika.BlockingConnection(tls_params(tls_broker, pki, context=c))
    try:
        assert roundtrip(conn) == b"over tls"
    finally:
        conn.close()
    tls_broker.wait_log(r"TLS established \(TLSv1\.2 ")


def test_s_client_handshake_and_amqp_header(tls_broker, pki):
    """openssl s_client: the handshake verifies against the test CA and the
    broker answers the AMQP header with connection.start over TLS."""
    r = s_client(tls_broker, pki, "-ign_eof", stdin=b"AMQP\x00\x00\x09\x01")
    err = r.stderr.decode(errors="replace")
    assert "Verification: OK" in err, err
    assert "Protocol version: TLSv1.3" in err, err
    # connection.start (class 10, method 10) carries the mechanisms
    assert b"\x00\x0a\x00\x0a" in r.stdout and b"PLAIN AMQPLAIN" in r.stdout, r.stdout[:200]


def test_tls11_refused(tls_broker, pki):
    r = s_client(tls_broker, pki, "-tls1_1")
    assert r.returncode != 0
    tls_broker.wait_log(r"TLS handshake failed: .*(unsupported protocol|version)")


def test_cipher_configuration(start_broker, pki):
    """ssl_options.ciphers.N: the TLS 1.2 list is what the server accepts."""
    b = start_broker(pki.conf(extra="ssl_options.versions.1 = tlsv1.2\n"
                                    "ssl_options.ciphers.1 = ECDHE-RSA-AES128-GCM-SHA256\n"))
    ok = s_client(b, pki, "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
    assert b"ECDHE-RSA-AES128-GCM-SHA256" in ok.stderr, ok.stderr
    bad = s_client(b, pki, "-cipher", "ECDHE-RSA-AES256-GCM-SHA384")
    assert bad.returncode != 0
    b.wait_log(r"TLS handshake failed: .*no shared cipher")
    tls13 = s_client(b, pki, "-tls1_3")
    assert tls13.returncode != 0


def test_plain_amqp_on_tls_port_refused(tls_broker, pki):
    s = socket.create_connection(("127.0.0.1", tls_broker.tls_port), timeout=5)
    s.sendall(b"AMQP\x00\x00\x09\x01")
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    assert b"AMQP" not in data  # no AMQP spoken in clear on the TLS port
    tls_broker.wait_log(r"TLS handshake failed: .*(wrong version number|http request|unexpected|record)")


def test_untrusted_client_certificate_refused(tls_broker, pki):
    with pytest.raises((pika.exceptions.AMQPConnectionError, ssl.SSLError, OSError)):
        pika.BlockingConnection(tls_params(tls_broker, pki, context=ctx(pki, cert="mallory")))
    tls_broker.wait_log(r"TLS handshake failed: .*certificate verify failed.*"
                        r"(unable to get local issuer|self-signed|unable to verify)")


def test_expired_client_certificate_refused(tls_broker, pki):
    with pytest.raises((pika.exceptions.AMQPConnectionError, ssl.SSLError, OSError)):
        pika.BlockingConnection(tls_params(tls_broker, pki, context=ctx(pki, cert="old")))
    tls_broker.wait_log(r"TLS handshake failed: .*certificate has expired")


def test_missing_client_certificate_refused(tls_broker, pki):
    with pytest.raises((pika.exceptions.AMQPConnectionError, ssl.SSLError, OSError)):
        conn = pika.BlockingConnection(tls_params(tls_broker, pki, context=ctx(pki, cert=None)))
        # TLS 1.3: the refusal may arrive after the client's handshake ends
        roundtrip(conn)
    tls_broker.wait_log(r"TLS handshake failed: .*(peer did not return a certificate|"
                        r"certificate required)")


def test_optional_client_certificate(start_broker, pki):
    """verify_peer without fail_if_no_peer_cert: no certificate is fine."""
    b = start_broker(pki.conf(fail_if_no_peer_cert=False))
    conn = pika.BlockingConnection(tls_params(b, pki, context=ctx(pki, cert=None)))
    try:
        assert roundtrip(conn) == b"over tls"
    finally:
        conn.close()
    b.wait_log(r"peer certificate none or unverified")


def test_stalled_handshake_closed(start_broker, pki):
    b = start_broker(pki.conf(extra="handshake_timeout = 1000\n"))
    s = socket.create_connection(("127.0.0.1", b.tls_port), timeout=5 * SLOW)
    t0 = time.monotonic()
    assert s.recv(1) == b""  # closed by the broker
    assert 0.8 < time.monotonic() - t0 < 1 + 3 * SLOW
    s.close()
    b.wait_log(r"TLS handshake timeout")


def test_sasl_external_uses_certificate_cn(start_broker, pki):
    """SASL EXTERNAL (RabbitMQ's rabbitmq_auth_mechanism_ssl): the user is
    the client certificate's CN; alice has no password at all."""
    defs = definitions(users=[("guest", "guest", ["administrator"]), ("alice", None, [])],
                       permissions=[("guest", "/", ".*", ".*", ".*"),
                                    ("alice", "/", ".*", ".*", ".*")])
    b = start_broker(pki.conf(extra="auth_mechanisms.1 = PLAIN\n"
                                    "auth_mechanisms.2 = EXTERNAL\n"), defs=defs)
    conn = pika.BlockingConnection(
        tls_params(b, pki, creds=pika.credentials.ExternalCredentials()))
    try:
        assert roundtrip(conn) == b"over tls"
    finally:
        conn.close()
    b.wait_log(r"user 'alice' opened vhost '/'")
    # EXTERNAL is not offered on the plain listener
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        pika.BlockingConnection(pika.ConnectionParameters(
            host="127.0.0.1", port=b.port, connection_attempts=1, socket_timeout=5,
            credentials=pika.credentials.ExternalCredentials()))


def test_sighup_reloads_certificates_keeps_connections(start_broker, pki, tmp_path):
    cert, key = tmp_path / "srv.pem", tmp_path / "srv.key"
    cert.write_bytes(open(pki.path("server.pem"), "rb").read())
    key.write_bytes(open(pki.path("server.key"), "rb").read())
    conf = pki.conf().replace(pki.path("server.pem"), str(cert)).replace(
        pki.path("server.key"), str(key))
    b = start_broker(conf)
    conn = pika.BlockingConnection(tls_params(b, pki))
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    # a new server certificate (new key, CN reloaded) from the same CA
    pki.make_cert("server2", "reloaded.localhost", server=True)
    cert.write_bytes(open(pki.path("server2.pem"), "rb").read())
    key.write_bytes(open(pki.path("server2.key"), "rb").read())
    b.srv.proc.send_signal(signal.SIGHUP)
    b.wait_log(r"TLS certificates reloaded")
    # the open connection is still there
    ch.basic_publish("", q, b"after reload")
    conn.process_data_events(time_limit=0.2)
    m, _, body = ch.basic_get(q, auto_ack=True)
    assert body == b"after reload"
    conn.close()
    # new connections get the new certificate
    r = s_client(b, pki, "-showcerts")
    assert b"reloaded.localhost" in r.stdout + r.stderr
    # a broken file keeps the old context
    key.write_text("not a key\n")
    b.srv.proc.send_signal(signal.SIGHUP)
    b.wait_log(r"TLS reload failed, keeping the old certificates")
    conn = pika.BlockingConnection(tls_params(b, pki))
    conn.close()


def test_api_shows_tls_connections(tls_broker, pki):
    """/api/connections: ssl is true for an AMQPS connection, false for a
    plain one, and the bytes it sent and received are counted under TLS
    too (recv_oct, send_oct: the application bytes, before encryption)."""
    import base64
    import json
    import urllib.request

    def connections():
        host, port = tls_broker.srv.mgmt_address
        req = urllib.request.Request("http://%s:%d/api/connections"
                                     % (host, port))
        req.add_header("Authorization", "Basic "
                       + base64.b64encode(b"guest:guest").decode())
        with urllib.request.urlopen(req, timeout=10 * SLOW) as r:
            return json.load(r)

    tls = pika.BlockingConnection(tls_params(tls_broker, pki))
    plain = pika.BlockingConnection(pika.ConnectionParameters(
        *tls_broker.address))
    try:
        assert roundtrip(tls, b"x" * 5000) == b"x" * 5000
        conns = sorted(connections(), key=lambda c: c["ssl"])
        assert [c["ssl"] for c in conns] == [False, True]
        # only the TLS one carried the 5,000-byte message both ways
        assert conns[1]["recv_oct"] > 5000 and conns[1]["send_oct"] > 5000
        assert conns[0]["recv_oct"] < 5000 and conns[0]["send_oct"] < 5000
    finally:
        tls.close()
        plain.close()
