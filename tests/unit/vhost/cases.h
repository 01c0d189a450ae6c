/* SPDX-License-Identifier: MIT */
/* The vhost suite (tests/unit/check_vhost.c) has one file per test
 * case here; this is what they share (defined in check_vhost.c). */
#ifndef WARREN_TEST_VHOST_CASES_H
#define WARREN_TEST_VHOST_CASES_H

#include "../../../broker/broker.h"

#include <check.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The test cases, in the order the suite runs them. */
TCase *vhost_routing_tcase(void);
TCase *vhost_deadletter_tcase(void);
TCase *vhost_policy_tcase(void);
TCase *vhost_expiry_limits_tcase(void);

extern struct wr_server srv;
extern struct wr_vhost *vh;
extern struct wr_route_set rs;
extern struct wr_op_err oe;
struct wr_table no_args(void);
struct wr_exchange *xdecl(const char *name, const char *type,
                          struct wr_table args);
int qdecl_rc(const char *name, struct wr_table args, struct wr_queue **out);
struct wr_queue *qdecl(const char *name, struct wr_table args);
void bind_to(enum wr_dest_kind kind, const char *src, const char *dest,
             const char *key, struct wr_table args);
void qbind(const char *x, const char *q, const char *key);
struct wr_table args(const char *k1, const char *v1, ...);
struct wr_msg *mk_msg(const char *exchange, const char *rkey,
                      struct wr_table headers, const char *expiration);
const char *routed(void);
struct wr_exchange *xget(const char *name);
struct wr_queue *qget(const char *name);
const char *route_h(const char *x, const char *rkey, struct wr_table headers);
const char *route(const char *x, const char *rkey);
void publish_at(const char *x, const char *rkey, const char *expiration,
                int64_t now);
uint64_t nready(const char *q);

#endif
