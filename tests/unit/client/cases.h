/* SPDX-License-Identifier: MIT */
/* The client suite (tests/unit/check_client.c) keeps its messages test
 * case here; this is what it shares with the rest (defined in
 * check_client.c). */
#ifndef WARREN_TEST_CLIENT_CASES_H
#define WARREN_TEST_CLIENT_CASES_H

#include "../../../client/client_internal.h"
#include "../../client/helpers.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The test case kept here. */
TCase *client_messages_tcase(void);

/* The fixture's connection and channel (new for each test), and the URL
 * of the broker under test. */
extern struct warren_conn *conn;
extern struct warren_channel *ch;
extern char url[256];

/* A fresh queue (or exchange) name, deleted after the test. */
const char *qname(const char *what);
/* The queue's message count, polled until it is want (3 s at most). */
uint32_t wait_count(const char *queue, uint32_t want);
/* Publishes body to queue through the default exchange. */
void publish(const char *queue, const char *body);
/* basic.get one message and check its body; returns its tag. */
uint64_t get_body(const char *queue, const char *body, int flags);

#endif
