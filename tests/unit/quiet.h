/* SPDX-License-Identifier: MIT */
/* For the tests that must crash (tcase_add_test_raise_signal, each in its
 * own forked process): the message the broker prints as it aborts is the
 * expected outcome, and would read like a failure in make test's output,
 * so the child's stderr goes to /dev/null. */
#ifndef WR_TEST_QUIET_H
#define WR_TEST_QUIET_H

#include <stdio.h>

#define CHECK_QUIET_STDERR() ((void)!freopen("/dev/null", "w", stderr))

#endif
