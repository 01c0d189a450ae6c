/* SPDX-License-Identifier: MIT */
/* The HTTP management API inside warren-server: RabbitMQ's paths and JSON
 * shapes (the subset rabbitmqadmin and monitoring tools use) and /metrics,
 * on libevent's evhttp. See docs/internals/MGMT.md. */
#ifndef WR_MGMT_H
#define WR_MGMT_H

#include "broker.h"

/* Starts the API on cfg.mgmt_bind : cfg.mgmt_port of s (port 0 = any free
 * port) and the statistics sampler. Sets s->mgmt. Returns 0, or -1 after
 * logging why (bad address, port in use). */
int wr_mgmt_start(struct wr_server *s);
/* "127.0.0.1:15672" once listening. */
const char *wr_mgmt_address(const struct wr_mgmt *m);
/* Stops listening and frees everything (m may be NULL). */
void wr_mgmt_free(struct wr_mgmt *m);

/* The one place the HTTP API checks a login (basic auth). Today the
 * broker has one user, default_user / default_pass from the
 * configuration, tagged administrator; a user database replaces this
 * function's body. Returns true and sets *tags (a static string of
 * RabbitMQ user tags, comma-separated) when user and pass are valid. */
bool wr_mgmt_authenticate(const struct wr_server *s, const char *user,
                          const char *pass, const char **tags);

#endif
