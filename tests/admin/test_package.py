# SPDX-License-Identifier: MIT
"""Installing warren (issue 19): the man pages are valid roff; make deb
builds a .deb whose file list, control fields, conffiles and maintainer
scripts are right; its systemd unit passes systemd-analyze verify (with
its man pages found in the package); make install puts warrenctl on
PATH. (.ci/run installs the package once with apt-get.)"""

import glob
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.path.dirname(os.path.abspath(os.environ.get(
    "WARRENCTL", os.path.join(ROOT, "build", "warrenctl"))))
MANPAGES = ["warren-server.8", "warren.conf.5", "warrenctl.1", "libwarren.3"]

# Everything the package installs (directories aside), as dpkg-deb -c
# lists it.
FILES = {
    "./etc/warren/warren.conf", "./etc/logrotate.d/warren",
    "./lib/systemd/system/warren-server.service",
    "./usr/sbin/warren-server", "./usr/bin/warrenctl", "./usr/bin/warren-bench",
    "./usr/include/warren.h", "./usr/lib/libwarren.a", "./usr/lib/libwarren.so.0.1.0",
    "./usr/lib/libwarren.so.0", "./usr/lib/libwarren.so", "./usr/lib/pkgconfig/warren.pc",
    "./usr/share/man/man8/warren-server.8.gz", "./usr/share/man/man5/warren.conf.5.gz",
    "./usr/share/man/man1/warrenctl.1.gz", "./usr/share/man/man3/libwarren.3.gz",
    "./usr/share/doc/warren/copyright", "./usr/share/doc/warren/README.md",
}


def sh(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, **kw)


@pytest.mark.parametrize("page", MANPAGES)
def test_man_page_is_clean_roff(page):
    path = os.path.join(ROOT, "man", page)
    r = sh("groff", "-ww", "-z", "-man", path)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = sh("man", "--warnings", "-l", path, env=dict(os.environ, MANWIDTH="80",
                                                      LC_ALL="C.UTF-8"))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    name = page.rsplit(".", 1)[0]
    assert re.search(r"^\S*%s" % re.escape(name.upper()), r.stdout, re.M | re.I), r.stdout[:300]


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    r = sh("make", "-s", "deb", "BUILD=%s" % os.path.relpath(BUILD, ROOT), cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = glob.glob(os.path.join(BUILD, "warren_*.deb"))
    assert len(debs) == 1, debs
    tree = tmp_path_factory.mktemp("deb")
    assert sh("dpkg-deb", "-x", debs[0], str(tree)).returncode == 0
    return debs[0], tree


def test_deb_file_list(deb):
    path, _ = deb
    assert re.search(r"/warren_\d+\.\d+\.\d+_[a-z0-9]+\.deb$", path)
    r = sh("dpkg-deb", "-c", path)
    assert r.returncode == 0, r.stderr
    entries = [l.split()[5] for l in r.stdout.splitlines()]
    files = {e for e in entries if not e.endswith("/")}
    docs = {f for f in files if f.startswith("./usr/share/doc/warren/") and f.endswith(".md")}
    ui = {f for f in files if f.startswith("./usr/share/warren/ui/")}
    assert files - docs - ui == FILES - docs, sorted((files - ui) ^ FILES)
    assert "./usr/share/doc/warren/internals/MEMORY.md" in docs
    assert "./usr/share/warren/ui/index.html" in ui  # the web UI
    modes = {l.split()[5]: l.split()[0] for l in r.stdout.splitlines()}
    assert modes["./usr/sbin/warren-server"].startswith("-rwxr-xr-x")
    assert modes["./etc/warren/warren.conf"].startswith("-rw-r--r--")
    assert all(" root/root " in l for l in r.stdout.splitlines())


def test_deb_control_and_scripts(deb):
    path, tree = deb
    ctl = sh("dpkg-deb", "-f", path).stdout
    fields = dict(re.findall(r"^(\S+): (.*)$", ctl, re.M))
    assert fields["Package"] == "warren"
    assert fields["Architecture"] == sh("dpkg", "--print-architecture").stdout.strip()
    for dep in ("libc6", "libevent-2.1-7", "libssl3", "libjansson4", "libcurl4", "passwd"):
        assert re.search(r"(^|, )%s(,|$)" % re.escape(dep), fields["Depends"]), fields["Depends"]
    info = os.path.join(str(tree), "info")
    assert sh("dpkg-deb", "-e", path, info).returncode == 0
    assert open(os.path.join(info, "conffiles")).read().split() == [
        "/etc/warren/warren.conf", "/etc/logrotate.d/warren"]
    for script in ("postinst", "prerm", "postrm"):
        p = os.path.join(info, script)
        assert os.access(p, os.X_OK), script
        assert sh("sh", "-n", p).returncode == 0, script
    post = open(os.path.join(info, "postinst")).read()
    assert "useradd --system" in post and "/var/lib/warren" in post
    assert "systemctl enable warren-server.service" in post
    # the packaged configuration keeps state where the unit may write it
    conf = open(os.path.join(str(tree), "etc", "warren", "warren.conf")).read()
    assert re.search(r"^definitions.file = /var/lib/warren/definitions.json$", conf, re.M)
    assert re.search(r"^log.file = /var/log/warren/warren.log$", conf, re.M)
    r = sh(os.path.join(str(tree), "usr", "sbin", "warren-server"), "--config",
           os.path.join(str(tree), "etc", "warren", "warren.conf"), "--check-config")
    assert r.returncode == 0 and "configuration ok" in r.stdout, r.stderr


def test_unit_passes_systemd_analyze_verify(deb, tmp_path):
    _, tree = deb
    unit = open(os.path.join(str(tree), "lib", "systemd", "system",
                             "warren-server.service")).read()
    for key in ("Type=notify", "User=warren", "LimitNOFILE=", "NoNewPrivileges=yes",
                "ProtectSystem=strict", "StateDirectory=warren", "LogsDirectory=warren",
                "ExecStart=/usr/sbin/warren-server --config /etc/warren/warren.conf "
                "--pid-file /run/warren/warren-server.pid"):
        assert key in unit, key
    # The unit as installed, but with ExecStart pointing into the extracted
    # package (verify checks that the program exists) and its man pages
    # found there (verify runs man for Documentation=).
    local = tmp_path / "warren-server.service"
    local.write_text(unit.replace("/usr/sbin/warren-server",
                                  os.path.join(str(tree), "usr", "sbin", "warren-server")))
    r = sh("systemd-analyze", "verify", str(local),
           env=dict(os.environ, MANPATH=os.path.join(str(tree), "usr", "share", "man")))
    assert r.returncode == 0 and r.stderr == "" and r.stdout == "", r.stdout + r.stderr
    # and it does catch a broken unit
    local.write_text(unit.replace("Type=notify", "Type=notifyy"))
    r = sh("systemd-analyze", "verify", "--man=no", str(local))
    assert "Failed to parse service type" in r.stderr


def test_logrotate_snippet():
    text = open(os.path.join(ROOT, "etc", "logrotate.d", "warren")).read()
    assert "/var/log/warren/*.log" in text and "kill -USR1" in text
    if shutil.which("logrotate"):
        r = sh("logrotate", "-d", os.path.join(ROOT, "etc", "logrotate.d", "warren"))
        assert r.returncode == 0, r.stderr


def test_make_install_puts_programs_on_path(tmp_path):
    stage = tmp_path / "stage"
    r = sh("make", "-s", "install", "BUILD=%s" % os.path.relpath(BUILD, ROOT),
           "DESTDIR=%s" % stage, "PREFIX=/usr/local", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    for prog in ("usr/local/bin/warrenctl", "usr/local/sbin/warren-server",
                 "usr/local/etc/warren/warren.conf", "usr/local/share/man/man8/warren-server.8",
                 "usr/local/lib/systemd/system/warren-server.service"):
        assert os.path.exists(stage / prog), prog
    unit = (stage / "usr/local/lib/systemd/system/warren-server.service").read_text()
    assert "ExecStart=/usr/local/sbin/warren-server --config /usr/local/etc/warren/warren.conf" \
        in unit


def test_make_run_takes_args():
    """make run ARGS="--port N --mgmt-port N": the README's answer to a
    RabbitMQ holding 5672 and 15672. Here with free ports (0)."""
    import signal
    import time
    p = subprocess.Popen(["make", "--no-print-directory", "run",
                          "BUILD=%s" % os.path.relpath(BUILD, ROOT),
                          "ARGS=--port 0 --mgmt-port 0 --set prometheus.tcp.port=none"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    out = b""
    try:
        deadline = time.time() + 60
        while b"management on http://" not in out and time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            out += line
        text = out.decode()
        assert "--config etc/warren.conf --data-dir " in text, text
        assert " --port 0 --mgmt-port 0" in text, text
        m = re.search(r"ready on amqp://127\.0\.0\.1:(\d+)", text)
        assert m and m.group(1) != "5672", text
        assert re.search(r"management on http://127\.0\.0\.1:(\d+)", text), text
        assert "15672" not in text.split("ready on")[1]
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(30)
