#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make test's last line: "N passed, N failed" over every suite.

Reads RESULTS/targets ("TARGET ok" or "TARGET failed", one line per make
target run), the JUnit XML files the pytest suites wrote (RESULTS/NAME.xml:
tests, failures, errors, skipped), and the unit tests' Check summaries
(RESULTS/unit.log: "N%: Checks: X, Failures: Y, Errors: Z"). A target
with no results of its own (style, format, test-lib) counts as one test;
a suite whose target failed without any failure in its results (it could
not start, or crashed) counts one failure more, so that nothing failed
goes unseen. Prints the line and exits 1 when anything failed."""

import os
import re
import sys
import xml.etree.ElementTree as ET


def junit(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    passed = failed = 0
    for s in suites:
        n = int(s.get("tests", 0))
        bad = int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped = int(s.get("skipped", 0))
        passed += n - bad - skipped
        failed += bad
    return passed, failed


def check_log(path):
    passed = failed = 0
    with open(path, errors="replace") as f:
        for m in re.finditer(r"^\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)$",
                             f.read(), re.M):
            n, fl, er = map(int, m.groups())
            passed += n - fl - er
            failed += fl + er
    return passed, failed


def main(results):
    passed = failed = 0
    targets = []
    path = os.path.join(results, "targets")
    if os.path.exists(path):
        targets = [l.split() for l in open(path) if l.strip()]
    for target, status in targets:
        name = target[len("test-"):] if target.startswith("test-") else target
        xml = os.path.join(results, name + ".xml")
        log = os.path.join(results, name + ".log")
        if os.path.exists(xml):
            p, f = junit(xml)
        elif os.path.exists(log):
            p, f = check_log(log)
        else:
            p, f = (1, 0) if status == "ok" else (0, 1)
        if status != "ok" and f == 0:
            f = 1
        passed += p
        failed += f
    if not targets:
        failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
