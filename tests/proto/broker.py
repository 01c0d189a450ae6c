# SPDX-License-Identifier: MIT
"""Find or start the broker under test (shared by tests/proto and tests/interop).

Standard library only.
- WARREN_TEST_BROKER=host:port  use a running broker (e.g. RabbitMQ).
- otherwise start `build/warren-server --bind 127.0.0.1 --port 0`
  (or $WARREN_SERVER, extra args in $WARREN_SERVER_ARGS), read the port
  from its "warren-server ready on amqp://127.0.0.1:PORT" line on stderr,
  and stop it with SIGTERM at the end (it must exit 0). The HTTP management
  API listens on any free port too (--mgmt-port 0): its address is in
  `mgmt_address`, from the "warren-server management on http://..." line.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
READY_RE = re.compile(rb"warren-server ready on amqp://([0-9.]+|\[[0-9a-fA-F:]+\]|[\w.-]+):(\d+)")
PROM_RE = re.compile(rb"warren-server prometheus on http://([0-9.]+|\[[0-9a-fA-F:]+\]|[\w.-]+):(\d+)/metrics")
MGMT_RE = re.compile(rb"warren-server management on http://([0-9.]+|\[[0-9a-fA-F:]+\]|[\w.-]+):(\d+)")
STATS_RE = re.compile(rb"stats: connections=\d+ alloc_used=\d+")
# make valgrind sets WARREN_UNDER_VALGRIND: every broker the tests start
# runs under valgrind (scripts/valgrind-server.sh).
UNDER_VALGRIND = bool(os.environ.get("WARREN_UNDER_VALGRIND"))
# How many times longer to allow for anything the broker has to do in time
# (answer, expire, deliver, close): under valgrind its own work runs 20-50x
# slower (waiting on a socket or a timer is not), which stretches a round
# trip from well under a millisecond to several; 5x covers a loaded 2-core
# machine. Tests multiply their waits and time windows by it, never their
# lower bounds; WARREN_TEST_SLOW overrides it.
# A broker the tests start reads no configuration file unless a test names
# one: not the installed /etc/warren/warren.conf of the machine.
os.environ.setdefault("WARREN_CONFIG_FILE", "/dev/null")
SLOW = float(os.environ.get("WARREN_TEST_SLOW", "5" if UNDER_VALGRIND else "1"))
# make valgrind raises it: a broker under valgrind takes seconds to start.
READY_TIMEOUT = float(os.environ.get("WARREN_TEST_READY_TIMEOUT", "10"))
STOP_TIMEOUT = float(os.environ.get("WARREN_TEST_STOP_TIMEOUT", "10"))


def require_tool(ok, what):
    """A tool the tests need and scripts/deps.sh installs: when it is
    missing the test fails, naming what to install, rather than skipping
    (a skip would hide a missing install step in CI)."""
    import pytest
    if not ok:
        pytest.fail("%s is not installed: run scripts/deps.sh test (as root)"
                    % what, pytrace=False)


def external_broker():
    """(host, port) from WARREN_TEST_BROKER, or None."""
    spec = os.environ.get("WARREN_TEST_BROKER")
    if not spec:
        return None
    host, _, port = spec.rpartition(":")
    return (host or "127.0.0.1", int(port))


def server_binary():
    env = os.environ.get("WARREN_SERVER")
    if not env:
        return os.path.join(REPO_ROOT, "build", "warren-server")
    if os.sep not in env:
        return shutil.which(env) or env
    return os.path.abspath(env)


_scratch = None


def scratch_data_dir():
    """A data_dir for brokers a test runs to completion one at a time
    (configuration errors, --check-config): removed at exit."""
    global _scratch
    if _scratch is None:
        import atexit
        _scratch = tempfile.mkdtemp(prefix="warren-data-")
        atexit.register(shutil.rmtree, _scratch, True)
    return _scratch


class BrokerError(Exception):
    pass


class WarrenServer:
    """One warren-server process on a free port, stderr drained to a log file."""

    def __init__(self, extra_args=(), log_dir=None, data_dir=None):
        self.binary = server_binary()
        self.args = [self.binary, "--bind", "127.0.0.1", "--port", "0",
                     "--mgmt-port", "0", "--set", "prometheus.tcp.port=0"]
        self.args += shlex.split(os.environ.get("WARREN_SERVER_ARGS", ""))
        self.args += list(extra_args)
        # data_dir: a test that restarts a broker on its data passes one;
        # otherwise each broker gets a fresh one, removed when it stops
        # (never the machine's /var/lib/warren, and never shared: a second
        # broker on a data_dir refuses to start).
        self.own_data_dir = None
        if data_dir is None and not any(
                a == "--data-dir" or a.startswith("--data-dir=") or
                a.startswith("data_dir=") for a in self.args):
            data_dir = self.own_data_dir = tempfile.mkdtemp(prefix="warren-data-")
        if data_dir is not None:
            self.args += ["--data-dir", data_dir]
        self.data_dir = data_dir
        log_dir = log_dir or os.environ.get("WARREN_TEST_LOGDIR") or tempfile.gettempdir()
        fd, self.log_path = tempfile.mkstemp(prefix="warren-server-", suffix=".log", dir=log_dir)
        os.close(fd)
        self.proc = None
        self.host = None
        self.port = None
        self.mgmt_host = None
        self.mgmt_port = None
        self.prom_port = None
        self._ready = threading.Event()
        self._drain = None

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise BrokerError("broker binary %s not found or not executable "
                              "(build it, set WARREN_SERVER, or WARREN_TEST_BROKER=host:port)"
                              % self.binary)
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd=REPO_ROOT)
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()
        self._ready.wait(READY_TIMEOUT)
        if self.port is None:
            time.sleep(0.1)
            rc = self.proc.poll()
            self.kill()
            raise BrokerError("warren-server did not print 'warren-server ready on "
                              "amqp://HOST:PORT' within %.0f s (exit status %s); "
                              "command: %s; log: %s\n%s"
                              % (READY_TIMEOUT, rc, " ".join(self.args),
                                 self.log_path, self.log_tail()))
        return self

    def _drain_stderr(self):
        with open(self.log_path, "ab") as log:
            for line in iter(self.proc.stderr.readline, b""):
                log.write(line)
                log.flush()
                if not self._ready.is_set():
                    m = READY_RE.search(line)
                    if m:
                        self.host = m.group(1).decode().strip("[]")
                        self.port = int(m.group(2))
                    m = PROM_RE.search(line)
                    if m:
                        self.prom_port = int(m.group(2))
                    # The management line follows the AMQP one.
                    m = MGMT_RE.search(line)
                    if m:
                        self.mgmt_host = m.group(1).decode().strip("[]")
                        self.mgmt_port = int(m.group(2))
                        self._ready.set()
        self._ready.set()  # EOF: wake start() so it can report the failure

    @property
    def address(self):
        return (self.host, self.port)

    @property
    def mgmt_address(self):
        """(host, port) of the HTTP management API."""
        return (self.mgmt_host, self.mgmt_port)

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stats(self, timeout=5.0):
        """Ask the broker for its counters (SIGUSR1 makes it log one
        "stats: connections=N alloc_used=BYTES" line); returns a dict of
        ints. alloc_used counts every byte allocated through wr_malloc,
        libevent's buffers included."""
        with open(self.log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            start = f.tell()
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(start)
                for line in f.read().splitlines():
                    m = STATS_RE.search(line)
                    if m:
                        return {k.decode(): int(v) for k, v in
                                re.findall(rb"(\w+)=(\d+)", line[m.start():])}
            time.sleep(0.02)
        raise BrokerError("no stats line from warren-server within %.0f s" % timeout)

    def settled_stats(self, conns=0, timeout=15.0):
        """Wait until `conns` connections are left and two stats readings
        in a row agree; return the last. One reading is not enough: a
        closed connection may still sit in the listen backlog (not counted
        yet), and work the broker defers to a later loop turn (freeing a
        deleted queue, a dropped connection) may not have run; a slow
        broker (valgrind, a busy machine) shows both."""
        deadline = time.monotonic() + timeout * SLOW
        prev = None
        while True:
            st = self.stats()
            if st["connections"] == conns and st == prev:
                return st
            if time.monotonic() > deadline:
                if st["connections"] != conns:
                    raise BrokerError("%d connections left, not %d: %s"
                                      % (st["connections"], conns, st))
                return st
            prev = st
            time.sleep(0.1)

    def rss_kib(self):
        """Resident set size of the broker process (/proc/PID/status)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait; return the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        if self._drain:
            self._drain.join(2)
        self._remove_own_data()
        return self.proc.returncode

    def kill(self):
        """SIGKILL (kill -9) and wait. A data_dir the test passed stays, for
        the restart."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._remove_own_data()

    def _remove_own_data(self):
        if self.own_data_dir and (self.proc is None or self.proc.poll() is not None):
            shutil.rmtree(self.own_data_dir, ignore_errors=True)
            self.own_data_dir = None

    def stop_checked(self):
        """Stop; raise BrokerError if it crashed earlier or does not exit 0."""
        crashed = self.proc.poll()
        rc = self.terminate()
        if crashed is not None:
            raise BrokerError("warren-server exited early with status %s; log: %s\n%s"
                              % (crashed, self.log_path, self.log_tail()))
        if rc != 0:
            raise BrokerError("warren-server did not exit 0 on SIGTERM (status %s); log: %s\n%s"
                              % (rc, self.log_path, self.log_tail()))


def wait_port_closed(host, port, timeout=5.0):
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
        except OSError:
            return True
        time.sleep(0.05)
    return False
