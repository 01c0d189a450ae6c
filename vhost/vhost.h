/* SPDX-License-Identifier: MIT */
/* vhost/: the registry of exchanges, queues and bindings per vhost;
 * declare / delete / bind with RabbitMQ's checks (one place for the AMQP
 * methods and the HTTP API), routing, dead-lettering, expiry, policies,
 * limits and the definitions file. Refusals come back as values
 * (struct wr_op_err); no frames, no sockets, no HTTP. */
#ifndef WR_VHOST_H
#define WR_VHOST_H

#include "../exchanges/exchanges.h"
#include "../runtime/runtime.h"

/* jansson's JSON value, for the definitions and policy codecs; the
 * callers that build JSON include <jansson.h>. */
typedef struct json_t json_t;

struct wr_conn;
struct wr_chan;

/* ---- policies (policy.c) ----------------------------------------------- */

/* What a policy applies to ("apply-to"). */
enum wr_policy_apply {
    WR_APPLY_ALL,       /* "all" (the default) */
    WR_APPLY_QUEUES,    /* "queues", "classic_queues" */
    WR_APPLY_EXCHANGES, /* "exchanges" */
    WR_APPLY_NOTHING,   /* "quorum_queues", "streams": warren has none */
};

/* One policy (vhost_internal.h has its fields). */
struct wr_policy;
/* p's name. */
const char *wr_policy_name(const struct wr_policy *p);

/* A vhost's policies (or operator policies), sorted by name. */
struct wr_policy_list {
    struct wr_policy **v;
    size_t n;
};

/* Parses and validates a policy named name from o, an object with
 * "pattern" (string, required), "definition" (object, required),
 * "priority" (integer, default 0) and "apply-to" (default "all"), as
 * RabbitMQ's rabbit_policy validates it; op selects operator-policy
 * rules (only expires, message-ttl, max-length, max-length-bytes,
 * delivery-limit and max-in-memory-*). Returns WR_OK and a new policy in
 * *out (wr_policy_free it), or WR_ERR_INVALID with RabbitMQ's reason in
 * err (one line, without its "Validation failed" frame), e.g.
 * "<<\"a\">> is not a valid message TTL" or "[{<<\"foo\">>,1}] are not
 * recognised policy settings". A missing pattern or definition is
 * "[{key_missing,pattern}]". */
int wr_policy_parse(const char *name, const json_t *o, bool op,
                    struct wr_policy **out, char *err, size_t cap);
void wr_policy_free(struct wr_policy *p);
/* {"vhost", "name", "pattern", "apply-to", "definition", "priority"} as
 * RabbitMQ lists and exports a policy (vhost NULL: no "vhost" member).
 * New reference. */
json_t *wr_policy_json(const char *vhost, const struct wr_policy *p);
/* The definition RabbitMQ shows as a queue's effective_policy_definition:
 * the policy's keys, plus the operator policy's, the smaller value where
 * both set one (either may be NULL). New reference. */
json_t *wr_policy_effective_json(const struct wr_policy *p,
                                 const struct wr_policy *op);

/* The policy of l named name, or NULL. */
struct wr_policy *wr_policy_list_get(const struct wr_policy_list *l,
                                     const char *name);
/* Adds p (takes ownership), replacing (and freeing) one of the same
 * name. Returns true when p is new. */
bool wr_policy_list_put(struct wr_policy_list *l, struct wr_policy *p);
/* Removes and frees the policy named name; false when there is none. */
bool wr_policy_list_del(struct wr_policy_list *l, const char *name);
void wr_policy_list_cleanup(struct wr_policy_list *l);
/* The policy of l that applies to the queue (queue true) or exchange
 * named name: among those whose apply-to takes that kind and whose
 * pattern matches anywhere in the name, the highest priority; on a tie,
 * the one whose name sorts first (byte order). NULL when none. A name
 * with a NUL byte matches nothing. */
const struct wr_policy *wr_policy_match(const struct wr_policy_list *l,
                                        bool queue, const char *name,
                                        size_t len);

/* ---- the registry (vhost.c)
 * ------------------------------------------------------------ */

/* Message counters of a vhost for the management API and /metrics. */
struct wr_vhost_stats {
    uint64_t published; /* messages published to its exchanges */
    uint64_t returned;  /* unroutable, mandatory: basic.return */
    uint64_t dropped;   /* unroutable, not mandatory */
    uint64_t confirmed; /* publishes confirmed with basic.ack */
    uint64_t gone_delivered, gone_acked, gone_redelivered; /* deleted queues' */
};

struct wr_vhost {
    char *name;
    struct wr_server *srv;
    struct wr_hmap exchanges; /* name -> struct wr_exchange */
    struct wr_hmap queues;    /* name -> struct wr_queue */
    char *description;
    /* vhost limits (RabbitMQ's vhost-limits parameter): WR_LIMIT_UNSET,
     * or the value set (negative = unlimited, 0 = none allowed) */
    int64_t max_connections; /* max-connections: open connections */
    int64_t max_queues;      /* max-queues: queues, exclusive ones too */
    struct wr_list conns;    /* of wr_conn.vh_link: open connections */
    uint32_t nconns;
    struct wr_vhost_stats stats;
    /* dead-lettering (deadletter.c) */
    struct wr_list dead_letters; /* of struct wr_dead_letter, to route */
    struct wr_timer *dead_ev;    /* routes them after the current event */
    struct wr_route_set dead_route;
    bool draining;
    /* direct reply-to (reply.c): "amq.rabbitmq.reply-to.<token>" ->
     * the struct wr_reply_sink registered under it */
    struct wr_hmap replies;
    /* policies and operator policies (policy.c), sorted by name */
    struct wr_policy_list policies;
    struct wr_policy_list op_policies;
    struct wr_list shovels; /* of struct wr_shovel.link (shovel.c) */
};

/* Per-queue broker state, in wr_queue.broker. */
struct wr_bqueue {
    struct wr_queue *q; /* back pointer */
    struct wr_vhost *vh;
    struct wr_conn *owner;    /* exclusive owner, or NULL */
    struct wr_list excl_link; /* the owner's, in its list of exclusive queues */
    /* expiry.c: message TTLs and x-expires */
    struct wr_timer *expiry_ev; /* fires at the earliest message deadline */
    int64_t expiry_at;          /* what expiry_ev is armed for, WR_NEVER */
    struct wr_timer *unused_ev; /* x-expires: deletes the queue once unused */
    int64_t last_used;          /* ms: declare, get, consume, last cancel */
    /* durable.c: the queue's id in the stores (never reused), 0 when the
     * queue is not stored (transient, exclusive or auto-delete) */
    uint64_t store_id;
    /* stream.c: a stream's store on the loop, or NULL */
    struct wr_pstream *pstream;
    bool offsets_failed; /* its consumer offsets could not be written */
};

/* stream.c: a stored stream queue's own store, opened (and read back)
 * and watched on the loop once the queue has its store id; detach stops
 * watching it and closes it, removing its files when destroy. The queue
 * hook that makes the end of the turn flush it. */
void wr_vhost_stream_attach(struct wr_vhost *vh, struct wr_queue *q);
void wr_vhost_stream_detach(struct wr_vhost *vh, struct wr_queue *q,
                            bool destroy);
void wr_vhost_stream_dirty(struct wr_queue *q);

struct wr_vhost *wr_vhost_new(struct wr_server *srv, const char *name);
void wr_vhost_free(struct wr_vhost *vh);
struct wr_exchange *wr_vhost_exchange(struct wr_vhost *vh,
                                      struct wr_bytes name);
struct wr_queue *wr_vhost_queue(struct wr_vhost *vh, struct wr_bytes name);
/* Declares a new exchange (the caller checked it does not exist). */
struct wr_exchange *wr_vhost_add_exchange(struct wr_vhost *vh,
                                          struct wr_bytes name,
                                          const struct wr_exch_type *type,
                                          bool durable, bool auto_delete,
                                          bool internal, struct wr_table args);
void wr_vhost_delete_exchange(struct wr_vhost *vh, struct wr_exchange *x);
/* Creates a queue; owner is the exclusive owner or NULL (the owner links
 * the queue's excl_link into its own list of exclusive queues). */
struct wr_queue *wr_vhost_add_queue(struct wr_vhost *vh, struct wr_bytes name,
                                    const struct wr_queue_args *args,
                                    struct wr_table raw_args, bool durable,
                                    bool exclusive, bool auto_delete,
                                    struct wr_conn *owner);
/* Deletes q: cancels its consumers (notifying clients that asked for it),
 * removes its bindings (auto-deleting exchanges left empty), drops its
 * ready messages and the registry's reference. Returns the number of
 * ready messages dropped. */
uint64_t wr_vhost_delete_queue(struct wr_vhost *vh, struct wr_queue *q);
/* Auto-deletes an exchange that lost its last binding. */
void wr_vhost_exchange_maybe_autodelete(struct wr_vhost *vh,
                                        struct wr_exchange *x);
/* Routes a message from exchange x (NULL = default exchange) into *out. */
int wr_vhost_route(struct wr_vhost *vh, struct wr_exchange *x,
                   const struct wr_route_req *req, struct wr_route_set *out);

/* ---- policies (policy.c) ----------------------------------------------- */

/* Applies vh's policies to a queue just created (before its timers
 * start). */
void wr_vhost_policy_new_queue(struct wr_vhost *vh, struct wr_queue *q);
/* Applies vh's policies to exchange x (its policy alternate-exchange). */
void wr_vhost_policy_exchange(struct wr_vhost *vh, struct wr_exchange *x);
/* Re-resolves every queue and exchange of vh after a policy changed: new
 * effective settings at once (a smaller max-length trims backlogs, a new
 * expires re-arms the queue's expiry from now, dead-lettered messages are
 * routed before this returns). */
void wr_vhost_policies_changed(struct wr_vhost *vh);
/* Adds or replaces (same name) policy p (op: an operator policy; takes
 * ownership) and re-resolves vh. Returns true when it is new. */
bool wr_vhost_set_policy(struct wr_vhost *vh, bool op, struct wr_policy *p);
/* Removes the policy named name and re-resolves vh; false when there is
 * none. */
bool wr_vhost_clear_policy(struct wr_vhost *vh, bool op, const char *name);

/* ---- routing messages (route.c) ---------------------------------------- */

/* Routes m from exchange x into *out: its routing key plus the CC header's
 * and the BCC keys (sender-selected distribution), alternate exchanges
 * followed. Borrows m. WR_OK or WR_ERR_NOMEM. */
int wr_vhost_route_msg(struct wr_vhost *vh, struct wr_exchange *x,
                       struct wr_msg *m, struct wr_route_set *out);
/* Pushes m (borrowed) into every queue of set at time now (ms) and
 * dispatches them. Returns true when some queue refused it (x-overflow
 * reject-publish / reject-publish-dlx). */
bool wr_vhost_enqueue(struct wr_vhost *vh, struct wr_msg *m,
                      const struct wr_route_set *set, int64_t now);
/* The whole publish of a complete message m (borrowed) to exchange x:
 * direct reply-to keys on the default exchange go to their reply sink,
 * everything else is routed (wr_vhost_route_msg, scratch holds the
 * result) and enqueued. *routed: some queue or reply consumer got it;
 * *rejected: some queue refused it. Counts the exchange and vhost
 * statistics (an unroutable message counts as returned when mandatory,
 * else dropped; the caller sends basic.return). For basic.publish and for
 * anything else that publishes (the HTTP API). */
void wr_vhost_publish(struct wr_vhost *vh, struct wr_exchange *x,
                      struct wr_msg *m, bool mandatory,
                      struct wr_route_set *scratch, bool *routed,
                      bool *rejected);

/* ---- x-delayed-message (delayed.c) ------------------------------------- */

/* When x is an x-delayed-message exchange and m (borrowed) asks for a
 * delay (x-delay > 0), holds a copy of m with x-delay set to minus the
 * delay until it is due, then routes it: m is not routed now. A durable
 * exchange writes a persistent message it holds to the msgs/ store
 * (STORE.md, "Delayed messages"): its confirm waits for the disk. */
enum wr_delay {
    WR_DELAY_NO,      /* not delayed: route m as usual */
    WR_DELAY_HELD,    /* held in memory */
    WR_DELAY_STORED,  /* held and written to the msgs/ store */
    WR_DELAY_REFUSED, /* the store refused it (disk full, failed): dropped */
};
enum wr_delay wr_vhost_delay(struct wr_vhost *vh, struct wr_exchange *x,
                             struct wr_msg *m);
/* Stops x's timer and drops what it holds (before x is freed; the
 * records of a durable one stay for a restart unless x was deleted). */
void wr_vhost_delayed_stop(struct wr_exchange *x);
/* Recovery: gives the durable delayed exchange x back a message it held
 * (wr_held_sink's restore; arg is x). */
int wr_vhost_delayed_restore(void *arg, struct wr_msg *m, uint64_t entry,
                             int64_t due_wall);

/* ---- local shovels (shovel.c) ------------------------------------------ */

enum wr_shovel_ack {
    WR_SHOVEL_ON_CONFIRM,
    WR_SHOVEL_ON_PUBLISH,
    WR_SHOVEL_NO_ACK
};
enum wr_shovel_state {
    WR_SHOVEL_STARTING,
    WR_SHOVEL_RUNNING,
    WR_SHOVEL_TERMINATED
};

/* A shovel parameter's value, parsed (strings are views into it). */
struct wr_shovel_def {
    char src_vhost[256], dest_vhost[256];           /* from the amqp:// URIs */
    const char *src_queue, *src_exchange, *src_key; /* NULL when absent */
    const char *dest_queue, *dest_exchange, *dest_key;
    enum wr_shovel_ack ack_mode;
    int64_t delete_after; /* src-delete-after: -1 never, else a count */
    bool queue_length;    /* src-delete-after "queue-length" */
    uint32_t prefetch;    /* prefetch-count, default 1000 */
    int64_t reconnect_ms; /* reconnect-delay, default 1 s */
};

/* A delivery taken from the source, not yet forwarded. */
struct wr_shovel_pend {
    struct wr_msg *msg; /* reference held */
    uint64_t id;
    uint32_t handle;
};

struct wr_shovel {
    struct wr_list link; /* in vh->shovels */
    struct wr_vhost *vh; /* the vhost of the parameter */
    char *name;
    json_t *value; /* the definition as given (reference held) */
    struct wr_shovel_def def;
    struct wr_consumer cons; /* on src while running */
    struct wr_queue *src;
    bool own_src; /* src is the server-named queue of src-exchange */
    bool paused;  /* the destination refused: wait reconnect-delay */
    struct wr_shovel_pend *pend; /* prefetch entries */
    size_t npend;
    int64_t remaining; /* messages left to move; -1: no end */
    uint64_t moved;
    enum wr_shovel_state state;
    char reason[300]; /* why it is terminated */
    int64_t since;    /* Unix time it last started running */
    struct wr_timer *flush_ev, *retry_ev;
    struct wr_route_set route;
};

/* Parses a shovel parameter's value (RabbitMQ's dynamic shovel keys:
 * src-protocol / dest-protocol amqp091, src-uri / dest-uri amqp:// only,
 * src-queue or src-exchange + src-exchange-key, dest-queue or
 * dest-exchange + dest-exchange-key, ack-mode, src-delete-after,
 * prefetch-count, reconnect-delay). WR_OK, or WR_ERR_INVALID with the
 * reason (RabbitMQ's texts where it has them). */
int wr_shovel_parse(const char *name, const json_t *value,
                    struct wr_shovel_def *d, char *err, size_t cap);
/* Creates or replaces (restarts) shovel name of vh with value (copied),
 * and starts it. *created says which. WR_OK, WR_ERR_INVALID (err says
 * why; nothing changed) or WR_ERR_NOMEM. */
int wr_vhost_set_shovel(struct wr_vhost *vh, const char *name, json_t *value,
                        bool *created, char *err, size_t cap);
/* Stops and removes a shovel: what it took reaches the destination, the
 * rest stays in the source. false when there is none. */
bool wr_vhost_clear_shovel(struct wr_vhost *vh, const char *name);
struct wr_shovel *wr_vhost_shovel(struct wr_vhost *vh, const char *name);
void wr_vhost_shovels_free(struct wr_vhost *vh);

/* ---- dead-lettering (deadletter.c) ------------------------------------- */

/* The hooks every broker queue has: dead messages are dead-lettered,
 * deadlines arm the queue's expiry timer. */
extern const struct wr_queue_hooks wr_bqueue_hooks;
/* Routes the dead-lettered messages waiting in vh (their x-death built,
 * cycles cut as RabbitMQ does). Runs after every frame and from a
 * deferred event; never nested. */
void wr_vhost_drain_dead_letters(struct wr_vhost *vh);
void wr_vhost_dead_letters_init(struct wr_vhost *vh);
void wr_vhost_dead_letters_cleanup(struct wr_vhost *vh);

/* ---- time and expiry (expiry.c) ---------------------------------------- */

/* Starts a new queue's timers (x-expires). */
void wr_bqueue_timers_init(struct wr_bqueue *bq);
/* q's effective x-expires changed (a policy): the unused timer restarts
 * from now with the new interval, or stops when there is none. */
void wr_bqueue_expires_changed(struct wr_bqueue *bq);
/* Stops and frees them (queue deletion). */
void wr_bqueue_timers_free(struct wr_bqueue *bq);
/* Arms q's expiry timer for deadline at if it is earlier than the one set
 * (the wr_queue_hooks.deadline hook). */
void wr_queue_arm_expiry(struct wr_queue *q, int64_t at);
/* The queue was used (declare, basic.get, consume, cancel): x-expires
 * counts from now. */
void wr_queue_touch(struct wr_queue *q);

/* ---- direct reply-to (reply.c) ---------------------------------------- */

#define WR_REPLY_TO "amq.rabbitmq.reply-to"

/* Where a direct reply goes: a channel with a reply consumer registers
 * one under its reply key ("amq.rabbitmq.reply-to.<token>"); a message
 * published to the default exchange with that routing key is handed to
 * it, no queue involved. */
struct wr_reply_sink {
    /* Takes reply m (borrowed). false when the sink cannot take it now
     * (its channel is closing): the reply is then unroutable. */
    bool (*deliver)(struct wr_reply_sink *s, struct wr_msg *m);
};

/* true for exactly "amq.rabbitmq.reply-to". */
bool wr_reply_to_is_pseudo(struct wr_bytes name);
/* true for "amq.rabbitmq.reply-to." followed by anything. */
bool wr_reply_to_is_key(struct wr_bytes name);
/* Registers s under key (a NUL-terminated string that lives as long as
 * the registration). */
void wr_vhost_reply_register(struct wr_vhost *vh, const char *key,
                             struct wr_reply_sink *s);
void wr_vhost_reply_unregister(struct wr_vhost *vh, const char *key);
/* The sink registered under name, or NULL. */
struct wr_reply_sink *wr_vhost_reply_find(struct wr_vhost *vh,
                                          struct wr_bytes name);

/* ---- declare, delete, bind (vhost_ops.c) ------------------------------- */

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

/* ---- super streams (superstream.c) ------------------------------------ */

/* At most this many partitions in a super stream. */
#define WR_SUPER_STREAM_MAX 1000

/* A super stream to add: partition i is the stream queue NAME-keys[i],
 * bound from the exchange NAME with keys[i] (RabbitMQ's binding key; "0"
 * .. "N-1" for --partitions N). args: the partitions' queue arguments
 * besides x-queue-type (x-max-length-bytes, x-max-age, ...). */
struct wr_super_stream_decl {
    struct wr_bytes name;
    const struct wr_bytes *keys;
    size_t n;
    struct wr_table args;
};

/* Adds a super stream as RabbitMQ's rabbit_stream_manager does: checks
 * (partition count, names, duplicates, the vhost's max-queues, an
 * existing exchange or queue of those names: 406 with RabbitMQ's reason,
 * err.bare), then a durable direct exchange with x-super-stream = true,
 * the stream queues, and the bindings with x-stream-partition-order (a
 * long, the index). A refusal of any step removes what was made and
 * returns its error. */
int wr_vhost_add_super_stream(struct wr_vhost *vh,
                              const struct wr_super_stream_decl *d,
                              struct wr_op_err *err);
/* Deletes the super stream's exchange, then the stream queues it binds;
 * 404 when name is not an exchange with x-super-stream = true. */
int wr_vhost_delete_super_stream(struct wr_vhost *vh, struct wr_bytes name,
                                 struct wr_op_err *err);
/* Whether x is a super stream's exchange (x-super-stream = true). */
bool wr_exchange_is_super_stream(const struct wr_exchange *x);
/* The bindings of x to stream queues, in partition order (the binding
 * argument x-stream-partition-order, then the queue name); *out is an
 * array to wr_free. */
size_t wr_super_stream_partitions(const struct wr_exchange *x,
                                  const struct wr_binding ***out);

/* ---- durable definitions in the defs/ store (durable.c) ---------------- */

/* The record types of defs/ (docs/internals/STORE.md, "Record types"). */
enum wr_drec_type {
    WR_DREC_EXCHANGE = 16,     /* a durable exchange declared */
    WR_DREC_EXCHANGE_DEL = 17, /* deleted */
    WR_DREC_QUEUE = 18,        /* a durable queue declared, with its id */
    WR_DREC_QUEUE_DEL = 19,    /* deleted */
    WR_DREC_BIND = 20,         /* a binding between durable things */
    WR_DREC_UNBIND = 21,       /* removed */
    WR_DREC_POLICY = 22,       /* a policy or operator policy set */
    WR_DREC_POLICY_DEL = 23,   /* cleared */
    WR_DREC_NEXT_QID = 24,     /* the next queue id (snapshots) */
    WR_DREC_VHOST_DEL = 25,    /* a vhost and all it held deleted */
};

/* A decoded defs/ record: views into the payload. */
struct wr_drec {
    uint8_t type;
    struct wr_bytes vhost, name; /* name: a binding's source */
    struct wr_bytes xtype;       /* EXCHANGE: its type */
    struct wr_bytes dest, key;   /* BIND, UNBIND */
    struct wr_bytes policy;      /* POLICY: the policy as JSON */
    struct wr_table args;        /* validated */
    uint64_t id; /* QUEUE, NEXT_QID; a delayed EXCHANGE's store id, or 0 */
    bool auto_delete, internal, to_exchange, op;
};

/* Decodes a defs/ record of the given type read back from disk. Returns
 * WR_OK, WR_ERR_SYNTAX (malformed) or WR_ERR_INVALID (unknown type). */
int wr_drec_decode(uint8_t type, struct wr_bytes payload, struct wr_drec *d);
/* Decodes one defs/ record and applies it to s, as recovery does (the
 * fuzz target's entry). Returns WR_OK, or an error with why. */
int wr_defs_replay(struct wr_server *s, uint8_t type, struct wr_bytes payload,
                   char *why, size_t cap);
/* Replays defs/ (durable exchanges, queues, bindings, policies, in the
 * order they were made) into s, then reads msgs/ and logs the recovery
 * line. s->defs and s->msgs are open. Returns WR_OK or an error
 * (logged). */
int wr_vhost_recover(struct wr_server *s);
/* Shutdown: nothing more is written (the queues go, the disk keeps
 * them). */
void wr_defs_log_close(struct wr_server *s);
void wr_defs_log_free(struct wr_server *s);
/* Whether q is stored (durable, not exclusive, not auto-delete). */
bool wr_bqueue_stored(const struct wr_queue *q);
/* The hooks: a change of something durable is written to defs/. */
void wr_defs_exchange_added(struct wr_vhost *vh, struct wr_exchange *x);
void wr_defs_exchange_deleted(struct wr_vhost *vh, struct wr_exchange *x);
void wr_defs_queue_added(struct wr_vhost *vh, struct wr_queue *q);
void wr_defs_queue_deleted(struct wr_vhost *vh, struct wr_queue *q);
void wr_defs_bound(struct wr_vhost *vh, bool bind,
                   const struct wr_exchange *src, enum wr_dest_kind kind,
                   const void *dest, struct wr_bytes key, struct wr_table args);
void wr_defs_policy_set(struct wr_vhost *vh, bool op,
                        const struct wr_policy *p);
void wr_defs_policy_cleared(struct wr_vhost *vh, bool op, const char *name);
void wr_defs_vhost_deleted(struct wr_vhost *vh);

/* ---- the definitions file (defs.c) ------------------------------------- */

/* Loads path into s (users into s->users, vhosts created). Returns 0,
 * 1 when the file does not exist (nothing loaded), or WR_ERR_IO
 * (unreadable) / WR_ERR_INVALID (malformed) with a message "PATH: ..."
 * in err. */
int wr_defs_load(struct wr_server *s, const char *path, char *err,
                 size_t errlen);
/* A fresh broker: default_user (tag administrator) with default_pass,
 * default_vhost, and full permissions for the one on the other. */
void wr_defs_bootstrap(struct wr_server *s);
/* Writes the definitions to path atomically (temporary file + rename,
 * mode 0600). Returns WR_OK or WR_ERR_IO with a message. */
int wr_defs_save(struct wr_server *s, const char *path, char *err,
                 size_t errlen);
/* Parses and validates path without a running server (--check-config).
 * Returns 0, 1 when missing, or a negative WR_ERR_* (as wr_defs_load)
 * with a message. */
int wr_defs_check(const char *path, char *err, size_t errlen);

/* ---- the codec the management API shares (one for file and API) ---- */

/* {"name", "password_hash", "hashing_algorithm", "tags": [...],
 * "limits": {...}}: a user as RabbitMQ exports and lists it. New
 * reference. */
json_t *wr_defs_user_json(const struct wr_user *u);
/* {"user", "vhost", "configure", "write", "read"}. New reference. */
json_t *wr_defs_perm_json(const struct wr_user *u, const struct wr_perm *p);
/* {"user", "vhost", "exchange", "write", "read"}. New reference. */
json_t *wr_defs_topic_perm_json(const struct wr_user *u,
                                const struct wr_topic_perm *t);
/* RabbitMQ's tags: a list ["a", "b"] (3.9+) or a string "a,b" (older) into
 * "a,b". Returns WR_OK, or WR_ERR_INVALID when t is neither or too
 * long. */
int wr_defs_tags(const json_t *t, char *out, size_t cap);
/* A JSON value as Erlang prints the term RabbitMQ decodes it to (enough
 * for its validation messages): 5, 1.5, <<"abc">>, true. */
void wr_defs_erl_term(const json_t *v, char *out, size_t cap);
/* ---- vhost limits (RabbitMQ's "vhost-limits" parameter) ---- */

#define WR_VHOST_NLIMITS 2
/* "max-connections", "max-queues": the limits by index. */
extern const char *const wr_vhost_limit_names[WR_VHOST_NLIMITS];
/* The field of vh that holds limit i (WR_LIMIT_UNSET when not set). */
int64_t *wr_vhost_limit(struct wr_vhost *vh, int i);
/* Validates one limit as RabbitMQ does: a known name and an integer
 * value (any: negative is unlimited). Returns 0 with *which (its index)
 * and *out set, or WR_ERR_INVALID with RabbitMQ's reason in err ("Validation
 * failed\n\nmax-queues should be a number, actually was 1.5\n"). */
int wr_defs_vhost_limit(const char *name, const json_t *value, int *which,
                        int64_t *out, char *err, size_t errlen);
/* {"max-connections": N, "max-queues": N} with the limits vh has set, or
 * NULL when none is. New reference. */
json_t *wr_defs_vhost_limits_json(struct wr_vhost *vh);

/* ---- user limits (RabbitMQ's, kept in the user's "limits") ---- */

#define WR_USER_NLIMITS 2
/* "max-channels", "max-connections": the limits by index. */
extern const char *const wr_user_limit_names[WR_USER_NLIMITS];
/* The field of u that holds limit i (WR_LIMIT_UNSET when not set). */
int64_t *wr_user_limit(struct wr_user *u, int i);
/* As wr_defs_vhost_limit, for user limits, with RabbitMQ's texts
 * ("max-channels should be a number, actually was 1.5"). */
int wr_defs_user_limit(const char *name, const json_t *value, int *which,
                       int64_t *out, char *err, size_t errlen);
/* The limits u has set, as an object ({} when none). New reference. */
json_t *wr_defs_user_limits_json(const struct wr_user *u);

/* ---- policies ---- */

/* Appends vh's policies to policies (RabbitMQ's export items) and its
 * operator policies to params (as RabbitMQ keeps them: runtime
 * parameters of component "operator_policy" whose value is the policy
 * without its name); with_vhost names the vhost in each item. */
void wr_defs_export_policies(struct wr_vhost *vh, bool with_vhost,
                             json_t *policies, json_t *params);
/* The "policies" and the operator_policy "parameters" of a definitions
 * document: checked (apply false: each parses, its vhost exists in s or
 * is declared in root) or set into their vhosts (apply true). With only
 * set, every item goes to that vhost (a per-vhost document). s may be
 * NULL when checking a file alone. Returns WR_OK or WR_ERR_INVALID with
 * "definitions: policies[i]: reason" in err. */
/* The shovel parameters of a definitions document: checked, and set
 * when apply. WR_OK, or WR_ERR_INVALID with err. */
int wr_defs_shovels(struct wr_server *s, const json_t *root, bool apply,
                    char *err, size_t errlen);
/* A shovel as a runtime parameter {"value", "vhost", "component",
 * "name"}; every shovel of vh appended to params. */
json_t *wr_defs_shovel_json(const struct wr_vhost *vh,
                            const struct wr_shovel *sh);
void wr_defs_export_shovels(struct wr_vhost *vh, json_t *params);
int wr_defs_policies(struct wr_server *s, struct wr_vhost *only,
                     const json_t *root, bool apply, char *err, size_t errlen);

/* Sets users, vhosts, permissions, topic_permissions, parameters
 * (vhost-limits, operator policies) and policies of s on root, sorted by
 * name. */
void wr_defs_export(struct wr_server *s, json_t *root);
/* Imports those sections of a parsed document into a running s: checks
 * all of it first (nothing changes when it is malformed), then creates
 * vhosts and creates or updates users (an existing user gets the
 * document's hash and tags) and their permissions. Does not write the
 * file. Returns WR_OK or WR_ERR_INVALID with a message in err. */
int wr_defs_import(struct wr_server *s, const json_t *root, char *err,
                   size_t errlen);

/* Writes the definitions file (users, vhosts, permissions, limits,
 * policies) if one is configured. Returns WR_OK or WR_ERR_IO (logged). */
int wr_server_save_definitions(struct wr_server *s);

#endif
