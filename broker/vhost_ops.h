/* SPDX-License-Identifier: MIT */
/* Declare, delete, bind, unbind and publish on a vhost with the checks that
 * AMQP (chan_*.c) and the HTTP API (mgmt_*.c) share: one place for
 * RabbitMQ's validation rules and error texts. */
#ifndef WR_VHOST_OPS_H
#define WR_VHOST_OPS_H

#include "broker.h"

/* Why an operation was refused, as AMQP would say it. */
struct wr_op_err {
    uint16_t code;  /* AMQP reply code: 403, 404, 405, 406 or 503 */
    bool hard;      /* AMQP makes it a connection error (503) */
    bool bare;      /* the HTTP API gives text alone, without the reply
                       code's name (RabbitMQ's API checks this one itself) */
    char text[240]; /* RabbitMQ's text, without the "NOT_FOUND - " prefix */
};

struct wr_exchange_decl {
    struct wr_bytes name;
    struct wr_bytes type;
    bool durable, auto_delete, internal;
    struct wr_table args;
};

struct wr_queue_decl {
    struct wr_bytes name;
    bool durable, exclusive, auto_delete;
    /* skip the reserved "amq." prefix check: a server-generated name, or a
     * definitions import of what this broker exported */
    bool allow_reserved;
    struct wr_table args;
};

/* Declares exchange d->name, or checks that the existing one is
 * equivalent (RabbitMQ's assert_equivalence: type, durable, auto_delete,
 * internal). *created tells which. Returns WR_OK, or WR_ERR_INVALID with
 * err set: 403 default exchange or "amq." prefix, 503 (hard) unknown type,
 * 406 inequivalent. AMQP 0-9-1 exchange.declare. */
int wr_vhost_declare_exchange(struct wr_vhost *vh,
                              const struct wr_exchange_decl *d,
                              struct wr_exchange **out, bool *created,
                              struct wr_op_err *err);

/* Declares queue d->name for requester (the connection asking, NULL for
 * the HTTP API; it becomes the owner of an exclusive queue), or checks the
 * existing one: 405 locked by another connection or exclusive mismatch,
 * 406 inequivalent durable / auto_delete / arguments; a new queue is
 * refused with 406 when the vhost has max-queues queues (before its
 * arguments are looked at, as in RabbitMQ), and its arguments are
 * validated (406). 403 for the "amq." prefix. Returns WR_OK or
 * WR_ERR_INVALID with err set. AMQP 0-9-1 queue.declare. */
int wr_vhost_declare_queue(struct wr_vhost *vh, const struct wr_queue_decl *d,
                           struct wr_conn *requester, struct wr_queue **out,
                           bool *created, struct wr_op_err *err);

/* 405 when q is exclusive to a connection other than requester. */
int wr_vhost_queue_check_access(struct wr_vhost *vh, struct wr_queue *q,
                                struct wr_conn *requester,
                                struct wr_op_err *err);

/* Deletes exchange name. 403 for the default and "amq." exchanges, 406
 * "in use" with if_unused, and WR_ERR_NOT_FOUND (err 404) when there is
 * no such exchange (AMQP treats that as success). */
int wr_vhost_remove_exchange(struct wr_vhost *vh, struct wr_bytes name,
                             bool if_unused, struct wr_op_err *err);

/* Deletes queue name (see wr_vhost_delete_queue); *count gets the number
 * of ready messages dropped. 405 locked, 406 with if_unused / if_empty,
 * WR_ERR_NOT_FOUND (err 404) when missing. */
int wr_vhost_remove_queue(struct wr_vhost *vh, struct wr_bytes name,
                          struct wr_conn *requester, bool if_unused,
                          bool if_empty, uint64_t *count,
                          struct wr_op_err *err);

/* Binds exchange src to queue or exchange dest (kind). Errors, in
 * RabbitMQ's order: 403 the default exchange at either end, 404 missing
 * source then destination, 405 locked queue, 406 the exchange type refused
 * the arguments. AMQP 0-9-1 queue.bind, RabbitMQ's exchange.bind. */
int wr_vhost_bind(struct wr_vhost *vh, enum wr_dest_kind kind,
                  struct wr_bytes src, struct wr_bytes dest,
                  struct wr_bytes key, struct wr_table args,
                  struct wr_conn *requester, struct wr_op_err *err);

/* Removes the binding; *existed says whether there was one. As in
 * RabbitMQ, only the default exchange (403) and, for an existing binding,
 * a locked queue (405) are errors: a binding that is not there, missing
 * ends included, is WR_OK. An auto-delete source left without bindings
 * goes away. */
int wr_vhost_unbind(struct wr_vhost *vh, enum wr_dest_kind kind,
                    struct wr_bytes src, struct wr_bytes dest,
                    struct wr_bytes key, struct wr_table args,
                    struct wr_conn *requester, bool *existed,
                    struct wr_op_err *err);

/* Reports err on channel ch for method_id: channel.close, or
 * connection.close when err->hard. */
void wr_chan_op_error(struct wr_chan *ch, uint32_t method_id,
                      const struct wr_op_err *err);

/* RabbitMQ's access control for one operation, shared by AMQP
 * (wr_access_check) and the HTTP API: may user u do kind on the resource
 * what ("queue" or "exchange") called name in vhost? On refusal fills err
 * (403 ACCESS_REFUSED with RabbitMQ's text), logs and returns false. u
 * NULL is refused. */
bool wr_access_allowed(const struct wr_user *u, const char *vhost,
                       enum wr_perm_kind kind, const char *what,
                       struct wr_bytes name, struct wr_op_err *err);
/* Topic authorisation when x is a topic exchange: kind WR_PERM_WRITE with
 * the routing key (publish), WR_PERM_READ with the binding key (bind). */
bool wr_access_topic_allowed(const struct wr_user *u, const char *vhost,
                             const struct wr_exchange *x,
                             enum wr_perm_kind kind, struct wr_bytes rkey,
                             struct wr_op_err *err);

/* "NOT_FOUND" for 404 and so on: AMQP's names of reply codes. */
const char *wr_reply_name(uint16_t code);

#endif
