# SPDX-License-Identifier: MIT
"""Every program's --help: exit 0, a page on stdout, and no printf escapes
left over from a format string (the pages are printed with fputs)."""

import os
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
# The programs as make test-admin names them: WARREN_SERVER may be a
# wrapper (make valgrind's scripts/valgrind-server.sh), so the other two
# are found next to WARRENCTL.
SERVER = os.environ.get("WARREN_SERVER",
                        os.path.join(ROOT, "build", "warren-server"))
BUILD = os.path.dirname(os.environ.get(
    "WARRENCTL", os.path.join(ROOT, "build", "warrenctl")))


@pytest.mark.parametrize("prog", ["warren-server", "warrenctl",
                                  "warren-bench"])
def test_help_page(prog):
    path = SERVER if prog == "warren-server" else os.path.join(BUILD, prog)
    p = subprocess.run([path, "--help"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("NAME\n"), p.stdout[:200]
    assert "%%" not in p.stdout and "%s" not in p.stdout and \
        "%d" not in p.stdout
