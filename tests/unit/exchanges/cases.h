/* SPDX-License-Identifier: MIT */
/* The exchanges suite (tests/unit/check_exchanges.c) has one file per test
 * case here; this is what they share. */
#ifndef WARREN_TEST_EXCHANGES_CASES_H
#define WARREN_TEST_EXCHANGES_CASES_H

#include "../../../exchanges/exchanges.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The test cases, in the order the suite runs them. */
TCase *exchanges_topic_tcase(void);
TCase *exchanges_direct_fanout_tcase(void);
TCase *exchanges_headers_tcase(void);
TCase *exchanges_e2e_tcase(void);
TCase *exchanges_cc_and_alternates_tcase(void);
TCase *exchanges_bindings_tcase(void);
TCase *exchanges_consistent_hash_tcase(void);
TCase *exchanges_delayed_tcase(void);

/* check_exchanges.c: the targets of the last route (emptied by the
 * fixture), and an empty argument table. */
extern struct wr_route_set rs;
extern const struct wr_table no_args;

/* check_exchanges.c: make an exchange of a type, a queue; bind a queue or
 * an exchange to x; route a key (with headers) from x into rs and return
 * the count; whether q is in rs; that no queue is in rs twice; unbind and
 * release a queue. */
struct wr_exchange *mk_x(const char *name, const char *type);
struct wr_queue *mk_q(const char *name);
void bind_q(struct wr_exchange *x, struct wr_queue *q, const char *key,
            struct wr_table args);
void bind_x(struct wr_exchange *x, struct wr_exchange *dest, const char *key);
size_t route_h(struct wr_exchange *x, const char *key, struct wr_table headers);
size_t route(struct wr_exchange *x, const char *key);
bool routed_to(const struct wr_queue *q);
void assert_unique(void);
void free_q(struct wr_queue *q);

#endif
