/* SPDX-License-Identifier: MIT */
/* The HTTP management API inside warren-server: RabbitMQ's paths and JSON
 * shapes (the subset rabbitmqadmin and monitoring tools use) and /metrics,
 * on libevent's evhttp. See docs/internals/MGMT.md. */
#ifndef WR_MGMT_H
#define WR_MGMT_H

#include "../amqp/amqp.h"

/* Starts the API on cfg.mgmt_bind : cfg.mgmt_port of s (port 0 = any free
 * port), and over HTTPS on management.ssl.ip : management.ssl.port when
 * that is set, and the statistics sampler. Sets s->mgmt. Returns WR_OK, or
 * WR_ERR_IO after logging why (bad address, port in use, certificate files). */
int wr_mgmt_start(struct wr_server *s);
/* Starts the API (plain HTTP, and the statistics sampler) on fd, a
 * socket already listening, of any family: the fuzz target serves it on
 * a UNIX socket, with no TCP port. Takes ownership of fd (closed by
 * wr_mgmt_free, or at once on failure). Sets s->mgmt. Returns WR_OK or
 * WR_ERR_IO. */
int wr_mgmt_start_fd(struct wr_server *s, int fd);
/* "127.0.0.1:15672" once listening. */
const char *wr_mgmt_address(const struct wr_mgmt *m);
/* "127.0.0.1:15671" for HTTPS, or NULL when it is off. */
const char *wr_mgmt_https_address(const struct wr_mgmt *m);
/* Re-reads the HTTPS certificate files (SIGHUP): new connections use
 * them, open ones keep theirs. Returns 0; 1 when HTTPS is off (m may be
 * NULL); WR_ERR_INVALID with a message in err when a file is bad (the old
 * context stays). */
int wr_mgmt_reload_tls(struct wr_mgmt *m, char *err, size_t errlen);
/* RabbitMQ's load_definitions: imports a definitions file (users, vhosts,
 * permissions, policies, exchanges, queues, bindings) at boot, as POST
 * /api/definitions does; the whole file is checked before anything is
 * applied. Returns WR_OK or WR_ERR_INVALID with a message "PATH: ..." in
 * err. */
int wr_mgmt_import_file(struct wr_server *s, const char *path, char *err,
                        size_t errlen);
/* "ADDR:PORT" of the Prometheus listener, or NULL when there is none. */
const char *wr_mgmt_prom_address(const struct wr_mgmt *m);
/* Stops listening and frees everything (m may be NULL). */
void wr_mgmt_free(struct wr_mgmt *m);

/* What wr_mgmt_authenticate decided. */
enum wr_mgmt_auth {
    WR_MGMT_AUTH_OK,
    WR_MGMT_AUTH_FAILED,  /* unknown user or wrong password: 401 + realm */
    WR_MGMT_AUTH_REFUSED, /* valid, but may not use the API: 401 not_authorised
                           */
};

/* The one place the HTTP API checks a login (basic auth), against the
 * users store as RabbitMQ's management plugin does: the password must
 * match, a loopback_users user must come from a loopback address, and
 * the user needs the management, policymaker, monitoring or administrator
 * tag. Sets *out on WR_MGMT_AUTH_OK and *why (a static reason) otherwise. */
enum wr_mgmt_auth wr_mgmt_authenticate(struct wr_server *s, const char *user,
                                       const char *pass, bool loopback,
                                       struct wr_user **out, const char **why);

/* ---- administration (admin.c) ----------------------------------------- */

/* Runtime administration (users, vhosts, permissions), with the effects
 * RabbitMQ gives them: deleting a vhost or user closes its connections
 * with 320 CONNECTION_FORCED. Each persists the definitions file. */
int wr_server_add_vhost(struct wr_server *s, const char *name,
                        const char *description, struct wr_vhost **out);
int wr_server_delete_vhost(struct wr_server *s, const char *name);
int wr_server_delete_user(struct wr_server *s, const char *name);
/* Closes every connection of user name (password or tags changed). */
void wr_server_close_user_conns(struct wr_server *s, const char *name,
                                const char *why);
#endif
