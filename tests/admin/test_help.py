# SPDX-License-Identifier: MIT
"""Every program's --help: exit 0, a page on stdout, and no printf escapes
left over from a format string (the pages are printed with fputs)."""

import os
import subprocess

import pytest

BUILD = os.path.dirname(os.environ.get("WARREN_SERVER", "build/warren-server"))


@pytest.mark.parametrize("prog", ["warren-server", "warrenctl",
                                  "warren-bench"])
def test_help_page(prog):
    p = subprocess.run([os.path.join(BUILD, prog), "--help"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("NAME\n"), p.stdout[:200]
    assert "%%" not in p.stdout and "%s" not in p.stdout and \
        "%d" not in p.stdout
