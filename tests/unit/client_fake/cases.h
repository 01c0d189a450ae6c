/* SPDX-License-Identifier: MIT */
/* The client_fake suite (tests/unit/check_client_fake.c) keeps its TLS
 * test case here; this is what it shares with the rest (defined in
 * check_client_fake.c). */
#ifndef WARREN_TEST_CLIENT_FAKE_CASES_H
#define WARREN_TEST_CLIENT_FAKE_CASES_H

#include "../../../client/warren.h"
#include "../../../common/common.h"
#include "../../client/helpers.h"

#include <check.h>
#include <stdbool.h>
#include <string.h>

/* The test case kept here. */
TCase *client_fake_tls_tcase(void);

/* The fake broker (tests/client/fake_broker.py) the test started, the
 * fixture's connection, and the URL that reaches the fake. */
extern struct wt_child fake;
extern struct warren_conn *conn;
extern char url[512];

/* Starts the fake broker on scenario (extra: more arguments, NULL-ended)
 * and sets url to reach it. */
void fake_start(const char *scenario, const char *scheme, const char *query,
                const char *const *extra);
/* The fake's verdict: 0 when the client did what the scenario expects. */
int fake_verdict(void);

#endif
