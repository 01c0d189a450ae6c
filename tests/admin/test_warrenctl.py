# SPDX-License-Identifier: MIT
"""build/warrenctl against a broker started by the test: every command,
the output formats, where settings come from, and every documented exit
status with its one-line error."""

import base64
import json
import os
import socket
import subprocess
import threading

import pika
import pytest

from mgmt_client import q

pytestmark = pytest.mark.warren_only

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WARRENCTL = os.path.abspath(os.environ.get("WARRENCTL") or
                            os.path.join(REPO, "build", "warrenctl"))


class Ctl:
    def __init__(self, mgmt):
        self.url = "http://%s:%d" % mgmt

    def __call__(self, *args, env=None, stdin=None, url=True, expect=0):
        e = {k: v for k, v in os.environ.items()
             if k not in ("WARREN_URL", "WARREN_MGMT_URL", "WARRENCTL_CONFIG")}
        e["HOME"] = "/nonexistent"
        if url:
            e["WARREN_MGMT_URL"] = self.url
        e.update(env or {})
        p = subprocess.run([WARRENCTL] + list(args), input=stdin, env=e,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        if expect is not None:
            assert p.returncode == expect, (args, p.returncode, p.stdout,
                                            p.stderr)
        return p


@pytest.fixture
def ctl(mgmt):
    if not os.access(WARRENCTL, os.X_OK):
        pytest.fail("%s is not built" % WARRENCTL)
    return Ctl(mgmt)


def out(p):
    return p.stdout.decode()


def one_line_error(p):
    err = p.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("warrenctl: "), err
    return err


# ---- help -------------------------------------------------------------------

def test_help(ctl):
    text = out(ctl("--help", url=False))
    for section in ("NAME", "SYNOPSIS", "COMMANDS", "OPTIONS", "EXIT STATUS",
                    "EXAMPLES", "WARREN_MGMT_URL", "~/.warrenctl.conf"):
        assert section in text
    for cmd in ("declare", "delete", "list", "purge", "publish", "get",
                "status", "export", "import", "help"):
        page = out(ctl("help", cmd, url=False))
        assert page.startswith("NAME\n    warrenctl " + cmd), cmd
        assert "SYNOPSIS" in page and "EXAMPLES" in page, cmd
        assert out(ctl(cmd, "--help", url=False)) == page
    assert out(ctl("help", url=False)) == text
    assert out(ctl("--version", url=False)).startswith("warrenctl ")


def test_usage_errors(ctl):
    for args in ((), ("nosuch",), ("--nosuch", "status"), ("list",),
                 ("list", "bananas"), ("declare",), ("declare", "thing"),
                 ("declare", "queue"), ("declare", "queue", "nme=x"),
                 ("declare", "queue", "name"),
                 ("declare", "queue", "name=x", "name=y"),
                 ("declare", "queue", "name=x", "durable=maybe"),
                 ("declare", "queue", "name=x", "arguments={bad"),
                 ("declare", "queue", "name=x", "arguments=[1]"),
                 ("declare", "binding", "source=a"),
                 ("declare", "binding", "source=a", "destination=b",
                  "destination_type=table"),
                 ("delete", "queue"), ("purge", "exchange", "name=x"),
                 ("publish", "payload=x"), ("get",),
                 ("get", "queue=q", "count=0"),
                 ("get", "queue=q", "ackmode=keep"),
                 ("status", "extra"), ("export",), ("import", "name=x"),
                 ("-f", "xml", "status"), ("-t", "0", "status"),
                 ("-P", "99999", "status"), ("help", "nosuch")):
        p = ctl(*args, expect=2)
        one_line_error(p)


# ---- the topics tutorial, watched and moved ---------------------------------

def test_topics_tutorial_topology(ctl, api, amqp, uniq, fresh, tmp_path):
    x = uniq + "-topic_logs"
    ctl("declare", "exchange", "name=" + x, "type=topic")
    for qn, keys in (("kern", ["kern.*"]), ("crit", ["*.critical"]),
                     ("all", ["#"])):
        ctl("declare", "queue", "name=%s-%s" % (uniq, qn))
        for k in keys:
            ctl("declare", "binding", "source=" + x,
                "destination=%s-%s" % (uniq, qn), "routing_key=" + k)
    ch = amqp().channel()
    for rk in ("kern.critical", "kern.info", "auth.critical", "cron.warn"):
        ch.basic_publish(x, rk, rk.encode())
    ctl("publish", "exchange=" + x, "routing_key=kern.warn", "payload=w")
    api.wait_for("queues/%2F/" + q(uniq + "-all"), lambda o: o["messages"] == 5)
    table = out(ctl("list", "queues", "name", "messages"))
    rows = {line.split()[0]: line.split()[1] for line in table.splitlines()[1:]}
    assert rows[uniq + "-kern"] == "3"
    assert rows[uniq + "-crit"] == "2"
    assert rows[uniq + "-all"] == "5"
    # move it: export -> fresh broker -> import -> export
    path = str(tmp_path / "topology.json")
    ctl("export", path)
    srv, api2 = fresh()
    url2 = "http://%s:%d" % srv.mgmt_address
    ctl("--url", url2, "import", path)
    path2 = str(tmp_path / "again.json")
    ctl("--url", url2, "export", path2)
    with open(path) as a, open(path2) as b:
        assert json.load(a) == json.load(b)
    tsv = out(ctl("--url", url2, "-f", "tsv", "list", "bindings", "source",
                  "destination", "routing_key"))
    assert "%s\t%s-crit\t*.critical" % (x, uniq) in tsv.splitlines()


# ---- output formats ----------------------------------------------------------

def test_table_is_aligned(ctl, api, uniq):
    for n in ("a", "bb-longer-name", "c"):
        api.ok("PUT", "queues/%2F/" + q(uniq + n), {})
    lines = [line for line in out(ctl("list", "queues")).splitlines()
             if line.startswith(uniq) or line.startswith("name")]
    header = lines[0]
    assert header.split() == ["name", "ready", "unacked", "messages",
                              "consumers", "publish/s", "deliver/s", "durable",
                              "persistent"]
    # every column of every row ends where the header's does (numbers
    # are right-aligned)
    end = header.index("ready") + len("ready")
    for line in lines[1:]:
        assert line[end - 1] == "0" and line[end] == " ", line
    assert all(not line.endswith(" ") for line in lines)


def test_tsv_and_json(ctl, api, uniq):
    name = uniq + "\tx\ny"
    api.ok("PUT", "queues/%2F/" + q(name), {})
    lines = out(ctl("-f", "tsv", "list", "queues", "name", "durable"))
    assert uniq + "\\tx\\ny\tfalse" in lines.splitlines()
    items = json.loads(out(ctl("--format", "json", "list", "queues", "name",
                               "messages")))
    mine = [i for i in items if i["name"] == name]
    assert mine == [{"name": name, "messages": 0}]


def test_list_everything(ctl, amqp, uniq):
    conn = amqp(client_properties={"connection_name": uniq})
    ch = conn.channel()
    ch.queue_declare(uniq)
    ch.basic_consume(uniq, lambda *a: None, consumer_tag="tag-" + uniq)
    conn.process_data_events(time_limit=0.2)
    assert uniq in out(ctl("list", "connections"))
    assert "guest" in out(ctl("list", "channels"))
    assert "tag-" + uniq in out(ctl("list", "consumers"))
    assert "/" in out(ctl("list", "vhosts"))
    assert "amq.topic" in out(ctl("list", "exchanges"))
    assert uniq in out(ctl("list", "bindings"))
    cons = json.loads(out(ctl("-f", "json", "list", "consumers")))
    assert any(c["consumer_tag"] == "tag-" + uniq for c in cons)
    # shorthand and dotted columns
    tsv = out(ctl("-f", "tsv", "list", "queues", "name", "ready",
                  "message_stats.publish", "publish_rate"))
    assert any(line.startswith(uniq + "\t0\t") for line in tsv.splitlines())


# ---- declare, delete, purge ------------------------------------------------

def test_declare_and_delete(ctl, api, uniq):
    ctl("declare", "exchange", "name=" + uniq, "type=headers", "durable=true",
        "auto_delete=false", "internal=false",
        'arguments={"alternate-exchange": "ae"}')
    x = api.ok("GET", "exchanges/%2F/" + q(uniq))
    assert (x["type"], x["durable"], x["arguments"]) == (
        "headers", True, {"alternate-exchange": "ae"})
    ctl("declare", "queue", "name=" + uniq, "durable=yes",
        'arguments={"x-max-priority": 3}')
    assert api.ok("GET", "queues/%2F/" + q(uniq))["arguments"] == {
        "x-max-priority": 3}
    ctl("declare", "binding", "source=" + uniq, "destination=" + uniq,
        'arguments={"x-match": "any", "k": "v"}')
    ctl("declare", "binding", "source=amq.fanout", "destination=" + uniq,
        "destination_type=exchange")
    assert len(api.ok("GET", "bindings/%2F/e/amq.fanout/e/" + q(uniq))) == 1
    # A binding is deleted by its key and arguments ...
    p = ctl("delete", "binding", "source=" + uniq, "destination=" + uniq,
            expect=5)
    assert "not found: binding" in one_line_error(p)
    ctl("delete", "binding", "source=" + uniq, "destination=" + uniq,
        'arguments={"k": "v", "x-match": "any"}')
    assert api.ok("GET", "bindings/%2F/e/" + q(uniq) + "/q/" + q(uniq)) == []
    # ... or by its properties key.
    pk = api.ok("GET", "bindings/%2F/e/amq.fanout/e/" + q(uniq))[0][
        "properties_key"]
    ctl("delete", "binding", "source=amq.fanout", "destination=" + uniq,
        "destination_type=exchange", "properties_key=" + pk)
    assert api.ok("GET", "bindings/%2F/e/amq.fanout/e/" + q(uniq)) == []
    ctl("delete", "queue", "name=" + uniq, "if_empty=true", "if_unused=true")
    ctl("delete", "exchange", "name=" + uniq, "if_unused=true")
    assert api.get("queues/%2F/" + q(uniq)).status == 404
    assert api.get("exchanges/%2F/" + q(uniq)).status == 404


def test_quiet(ctl, uniq):
    assert out(ctl("-q", "declare", "queue", "name=" + uniq)) == ""
    assert out(ctl("declare", "queue", "name=" + uniq)) == \
        "queue '%s' declared\n" % uniq


def test_purge(ctl, api, uniq):
    ctl("declare", "queue", "name=" + uniq)
    for _ in range(3):
        ctl("-q", "publish", "routing_key=" + uniq, "payload=x")
    assert api.ok("GET", "queues/%2F/" + q(uniq))["messages"] == 3
    ctl("purge", "queue", "name=" + uniq)
    assert api.ok("GET", "queues/%2F/" + q(uniq))["messages"] == 0


# ---- publish, get -------------------------------------------------------------

def test_publish_and_get(ctl, api, amqp, uniq):
    ctl("declare", "queue", "name=" + uniq)
    assert out(ctl("publish", "routing_key=" + uniq, "payload=hello",
                   'properties={"content_type": "text/plain", '
                   '"headers": {"k": 1}}')) == "message published\n"
    assert "not routed" in out(ctl("publish", "routing_key=" + uniq + "-none",
                                   "payload=x"))
    raw = bytes(range(256)) * 50
    ctl("publish", "exchange=", "routing_key=" + uniq, stdin=raw)
    ctl("publish", "routing_key=" + uniq, "payload_encoding=base64",
        "payload=" + base64.b64encode(b"\x00\x01").decode())
    msgs = json.loads(out(ctl("-f", "json", "get", "queue=" + uniq,
                              "count=10")))
    assert len(msgs) == 3
    assert msgs[0]["payload"] == "hello"
    assert msgs[0]["properties"]["headers"] == {"k": 1}
    assert base64.b64decode(msgs[1]["payload"]) == raw
    assert base64.b64decode(msgs[2]["payload"]) == b"\x00\x01"
    # requeue is the default: still there, now redelivered
    table = out(ctl("get", "queue=" + uniq))
    assert table.splitlines()[0].split()[:3] == ["routing_key", "exchange",
                                                "remaining"]
    assert "true" in table.splitlines()[1]
    ctl("get", "queue=" + uniq, "ackmode=ack")
    ctl("get", "queue=" + uniq, "ackmode=reject")
    got = json.loads(out(ctl("-f", "json", "get", "queue=" + uniq,
                             "ackmode=reject_requeue", "encoding=base64",
                             "truncate=1")))
    assert got[0]["payload"] == base64.b64encode(b"\x00").decode()
    ctl("get", "queue=" + uniq, "ackmode=ack")
    assert "is empty" in out(ctl("get", "queue=" + uniq))
    # publish through a named exchange, seen by an AMQP consumer
    ch = amqp().channel()
    ch.queue_bind(uniq, "amq.direct", "k")
    ctl("publish", "exchange=amq.direct", "routing_key=k", "payload=via x")
    _, props, body = ch.basic_get(uniq, auto_ack=True)
    assert body == b"via x"


# ---- status, export, import ------------------------------------------------------

def test_status(ctl):
    table = out(ctl("status"))
    labels = [line.split()[0] for line in table.splitlines()]
    for label in ("broker", "node", "amqp", "connections", "queues",
                  "messages", "publish/s"):
        assert label in labels
    assert table.splitlines()[0].split()[1] == "warren"
    tsv = out(ctl("-f", "tsv", "status"))
    assert all(line.count("\t") == 1 for line in tsv.splitlines())
    assert "object_totals" in json.loads(out(ctl("-f", "json", "status")))


def test_export_import_stdio(ctl, fresh, uniq):
    ctl("declare", "queue", "name=" + uniq, "durable=true")
    doc = ctl("export", "-").stdout
    assert uniq in [x["name"] for x in json.loads(doc)["queues"]]
    one = json.loads(ctl("export", "-", "vhost=/").stdout)
    assert "vhosts" not in one and uniq in [x["name"] for x in one["queues"]]
    srv, api2 = fresh()
    url2 = "http://%s:%d" % srv.mgmt_address
    ctl("--url", url2, "import", "-", stdin=doc)
    assert api2.ok("GET", "queues/%2F/" + q(uniq))["durable"] is True
    srv3, api3 = fresh()
    ctl("--url", "http://%s:%d" % srv3.mgmt_address, "import", "-",
        "vhost=/", stdin=json.dumps(one).encode())
    assert api3.ok("GET", "queues/%2F/" + q(uniq))["durable"] is True


def test_import_bad_files(ctl, tmp_path):
    p = ctl("import", str(tmp_path / "missing.json"), expect=1)
    one_line_error(p)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    one_line_error(ctl("import", str(bad), expect=1))
    bad.write_text('{"queues": [{"name": 5}]}')
    one_line_error(ctl("import", str(bad), expect=1))
    p = ctl("export", str(tmp_path / "no" / "such" / "dir.json"), expect=1)


# ---- settings ------------------------------------------------------------------------

def test_settings_sources(ctl, mgmt, tmp_path, uniq):
    host, port = mgmt
    ctl("declare", "queue", "name=" + uniq)
    # WARREN_URL as an http URL, with credentials
    p = ctl("-q", "status", url=False,
            env={"WARREN_URL": "http://guest:guest@%s:%d" % (host, port)})
    # WARREN_MGMT_URL wins over WARREN_URL
    ctl("status", url=False, env={
        "WARREN_URL": "http://%s:1" % host,
        "WARREN_MGMT_URL": "http://%s:%d/api/" % (host, port)})
    # flags win over the environment
    ctl("--host", host, "--port", str(port), "status", url=False,
        env={"WARREN_MGMT_URL": "http://%s:1" % host})
    ctl("-U", "http://%s:%d" % (host, port), "status",
        env={"WARREN_MGMT_URL": "http://%s:1" % host})
    # credentials from the URL are used (and checked)
    p = ctl("status", url=False, expect=4, env={
        "WARREN_MGMT_URL": "http://guest:nope@%s:%d" % (host, port)})
    assert "authentication failed for user 'guest'" in one_line_error(p)
    # an rc file, from --config, WARRENCTL_CONFIG or ~/.warrenctl.conf
    rc = tmp_path / ".warrenctl.conf"
    rc.write_text("# warrenctl settings\nurl = http://%s:%d\n"
                  "username = guest\npassword = guest\nvhost = /\n"
                  "format = tsv\ntimeout = 5\n" % (host, port))
    for extra, env in ((["--config", str(rc)], {}),
                       ([], {"WARRENCTL_CONFIG": str(rc)}),
                       ([], {"HOME": str(tmp_path)})):
        p = ctl(*(extra + ["list", "queues", "name"]), url=False, env=env)
        assert uniq in out(p).splitlines()  # tsv: no header
    rc.write_text("colour = blue\n")
    one_line_error(ctl("--config", str(rc), "status", url=False, expect=2))
    # a URL too long to hold is refused, not cut
    long_url = "http://%s:%d/%s" % (host, port, "a" * 600)
    assert "URL too long" in one_line_error(
        ctl("status", url=False, expect=2, env={"WARREN_MGMT_URL": long_url}))
    one_line_error(ctl("--config", str(tmp_path / "none"), "status",
                       url=False, expect=2))


def test_amqp_url(ctl, mgmt, uniq):
    """WARREN_URL may be the broker's AMQP URL: credentials and vhost come
    from it, the API is on port 15672 of that host (here: nothing listens
    there, or something else does, so only check what is sent)."""
    host, port = mgmt
    p = ctl("-t", "2", "--port", str(port), "list", "queues", "name",
            url=False,
            env={"WARREN_URL": "amqp://guest:guest@%s:5672/%%2F" % host})
    assert p.returncode == 0
    p = ctl("-t", "2", "--port", str(port), "list", "queues", url=False,
            expect=5, env={"WARREN_URL": "amqp://guest:guest@%s/nosuch" % host})
    assert "vhost 'nosuch'" in one_line_error(p)


# ---- exit statuses ---------------------------------------------------------------------

def test_exit_unreachable(ctl):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = ctl("status", url=False, expect=3,
            env={"WARREN_MGMT_URL": "http://127.0.0.1:%d" % port})
    assert "cannot reach the broker" in one_line_error(p)


def test_exit_timeout(ctl):
    """A server that accepts and never answers: --timeout, then 3."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    conns = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        p = ctl("-t", "1", "status", url=False, expect=3, env={
            "WARREN_MGMT_URL": "http://127.0.0.1:%d" % srv.getsockname()[1]})
        one_line_error(p)
    finally:
        stop.set()
        t.join()
        for c in conns:
            c.close()
        srv.close()


def test_exit_codes(ctl, amqp, uniq):
    one_line_error(ctl("-p", "wrong", "list", "queues", expect=4))
    one_line_error(ctl("-u", "nobody", "status", expect=4))
    p = ctl("delete", "queue", "name=" + uniq, expect=5)
    assert "no queue" in one_line_error(p)
    one_line_error(ctl("purge", "queue", "name=" + uniq, expect=5))
    one_line_error(ctl("get", "queue=" + uniq, expect=5))
    one_line_error(ctl("-V", "nosuch", "list", "queues", expect=5))
    one_line_error(ctl("publish", "exchange=" + uniq, "routing_key=k",
                       "payload=x", expect=5))
    ctl("declare", "queue", "name=" + uniq, "durable=false")
    p = ctl("declare", "queue", "name=" + uniq, "durable=true", expect=6)
    assert "PRECONDITION_FAILED - inequivalent arg 'durable'" in \
        one_line_error(p)
    ctl("-q", "publish", "routing_key=" + uniq, "payload=x")
    one_line_error(ctl("delete", "queue", "name=" + uniq, "if_empty=true",
                       expect=6))
    p = ctl("declare", "exchange", "name=amq.mine", "type=direct", expect=7)
    assert "ACCESS_REFUSED" in one_line_error(p)
    one_line_error(ctl("delete", "exchange", "name=amq.direct", expect=7))
    ch = amqp().channel()
    ch.queue_declare(uniq + "-excl", exclusive=True)
    p = ctl("purge", "queue", "name=" + uniq + "-excl", expect=8)
    assert "RESOURCE_LOCKED" in one_line_error(p)
    p = ctl("declare", "exchange", "name=" + uniq, "type=nope", expect=1)
    assert "unknown exchange type" in one_line_error(p)


def test_peek(ctl, amqp, uniq):
    """warrenctl peek shows the head of a queue and leaves it alone."""
    ctl("declare", "queue", "name=" + uniq)
    ch = amqp().channel()
    for i in range(3):
        ch.basic_publish("", uniq, b"m%d" % i)
    msgs = json.loads(out(ctl("-f", "json", "peek", "queue=" + uniq,
                              "count=2")))
    assert [m["payload"] for m in msgs] == ["m0", "m1"]
    table = out(ctl("peek", "queue=" + uniq))
    assert table.splitlines()[0].split()[:3] == ["routing_key", "exchange",
                                                "remaining"]
    assert "m0" in table and "m1" not in table
    got = json.loads(out(ctl("-f", "json", "get", "queue=" + uniq,
                             "count=3", "ackmode=ack")))
    assert [m["payload"] for m in got] == ["m0", "m1", "m2"]
    assert [m["redelivered"] for m in got] == [False, False, False]
    assert "is empty" in out(ctl("peek", "queue=" + uniq))
    ctl("peek", "queue=" + uniq + "-none", expect=5)
    ctl("peek", expect=2)


def test_move(ctl, amqp, uniq):
    """warrenctl move takes ready messages from one queue to another."""
    src, dst = uniq + "-dlq", uniq
    ctl("declare", "queue", "name=" + src)
    ctl("declare", "queue", "name=" + dst)
    ch = amqp().channel()
    for i in range(3):
        ch.basic_publish("", src, b"m%d" % i)
    assert out(ctl("move", "queue=" + src, "to=" + dst, "count=2")) == (
        "moved 2 messages from '%s' to '%s'\n" % (src, dst))
    assert json.loads(out(ctl("-f", "json", "move", "queue=" + src,
                              "to=" + dst))) == {"moved": 1}
    got = json.loads(out(ctl("-f", "json", "get", "queue=" + dst,
                             "count=5", "ackmode=ack")))
    assert [m["payload"] for m in got] == ["m0", "m1", "m2"]
    p = ctl("move", "queue=" + src, "to=" + uniq + "-none", expect=5)
    assert "no queue '%s-none'" % uniq in one_line_error(p)
    ctl("move", "queue=" + src, expect=2)
    ctl("move", "to=" + dst, expect=2)
    ctl("move", "queue=" + src, "to=" + dst, "count=x", expect=2)
