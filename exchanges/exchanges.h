/* SPDX-License-Identifier: MIT */
/* Exchanges and bindings. Exchange types (direct, fanout, topic, headers)
 * sit behind one small vtable; routing yields the deduplicated set of
 * target queues, following exchange-to-exchange bindings safely through
 * cycles. vhost/ does the enqueue. Never logs, never reads the clock. */
#ifndef WR_EXCHANGES_H
#define WR_EXCHANGES_H

#include "../queues/queues.h"

struct wr_exchange;

enum wr_dest_kind {
    WR_DEST_QUEUE = 0,
    WR_DEST_EXCHANGE = 1,
};

struct wr_binding {
    struct wr_exchange *source;
    uint8_t dest_kind; /* enum wr_dest_kind */
    union {
        struct wr_queue *queue;       /* borrowed: unbound before it dies */
        struct wr_exchange *exchange; /* borrowed likewise */
    } dest;
    char *key; /* owned copy of the binding key, NUL-terminated */
    uint32_t key_len;
    uint8_t *args; /* owned copy of the arguments table body */
    uint32_t args_len;
    struct wr_list src_link;  /* in source->bindings */
    struct wr_list dest_link; /* in the destination's bindings_in */
    void *type_data;          /* the exchange type's per-binding state */
};

/* What a published message offers to routing. */
struct wr_route_req {
    struct wr_bytes rkey;
    struct wr_table headers; /* the message's headers property (may be empty) */
    /* More routing keys, each routed as rkey is (RabbitMQ's CC and BCC
     * headers); n_more may be 0. */
    const struct wr_bytes *more_keys;
    size_t n_more;
    /* Resolves an alternate exchange by name, or NULL when there is none;
     * lookup NULL disables alternate exchanges. */
    struct wr_exchange *(*lookup)(void *ctx, struct wr_bytes name);
    void *lookup_ctx;
    /* The message itself, for types that read more of it than the
     * routing key and headers (x-consistent-hash's hash-property); may be
     * NULL. */
    const struct wr_msg *msg;
};

/* The result of routing: each target queue once. Reused across publishes
 * (no allocation in steady state). */
struct wr_route_set {
    struct wr_queue **queues;
    size_t count, cap;
    /* Held by a durable x-delayed-message exchange and written to the
     * msgs/ store (vhost/delayed.c): its confirm waits for the disk. */
    bool held_stored;
};

struct wr_exch_type {
    const char *name;
    /* Routes on the first routing key only: CC and BCC keys add nothing
     * (headers ignores keys; x-consistent-hash hashes the first). */
    bool key_once;
    /* Checks the declare arguments before an exchange of this type is
     * made; NULL accepts any. Returns 0, or the reply code (406, 503) with
     * the reason written to why[0..cap). */
    int (*validate)(struct wr_table args, char *why, size_t cap);
    int (*init)(struct wr_exchange *x); /* WR_OK or WR_ERR_NOMEM */
    void (*cleanup)(struct wr_exchange *x);
    /* Validates and indexes a new binding (already in x->bindings).
     * WR_OK, WR_ERR_NOMEM, or WR_ERR_INVALID (e.g. a bad x-match). */
    int (*bind)(struct wr_exchange *x, struct wr_binding *b);
    void (*unbind)(struct wr_exchange *x, struct wr_binding *b);
    /* Calls emit(ctx, b) for every binding of x that matches req. */
    void (*route)(struct wr_exchange *x, const struct wr_route_req *req,
                  void (*emit)(void *ctx, struct wr_binding *b), void *ctx);
};

struct wr_exchange {
    char *name; /* owned, NUL-terminated ("" is the default exchange) */
    uint32_t name_len;
    const struct wr_exch_type *type;
    bool durable, auto_delete, internal;
    uint8_t *raw_args; /* owned copy of the declare arguments */
    uint32_t raw_args_len;
    struct wr_list bindings;    /* as source, of wr_binding.src_link */
    uint32_t binding_count;     /* as source */
    struct wr_list bindings_in; /* as destination, of wr_binding.dest_link */
    uint64_t route_mark;        /* cycle guard epoch */
    void *type_data;
    void *broker; /* broker's per-exchange data */
    /* The alternate-exchange argument: where messages this exchange
     * cannot route go (RabbitMQ's alternate exchanges). */
    bool has_alternate;
    struct wr_bytes alternate; /* view into raw_args */
    /* The alternate-exchange of the policy that applies, used when the
     * argument is not given (wr_exchange_set_policy_alternate). */
    bool has_policy_alternate;
    struct wr_bytes policy_alternate; /* owned bytes */
    uint64_t n_in, n_out;             /* counters for the management API */
    bool key_once;                    /* type->key_once, or its inner type's */
    void *timer; /* vhost/'s timer for held messages (x-delayed-message) */
    /* A durable x-delayed-message exchange's id in the msgs/ store, under
     * which it writes the persistent messages it holds (vhost/; from the
     * queue ids, never reused); 0: it writes nothing. */
    uint64_t store_id;
};

/* Finds a registered type by name ("direct", "fanout", "topic",
 * "headers", "x-consistent-hash", "x-delayed-message"); NULL if unknown. */
const struct wr_exch_type *wr_exch_type_find(struct wr_bytes name);

/* Creates an exchange (name and raw_args copied; an alternate-exchange
 * long-string argument is read from them). NULL when out of memory. */
struct wr_exchange *wr_exchange_new(struct wr_bytes name,
                                    const struct wr_exch_type *type,
                                    struct wr_table raw_args);
/* Sets (name not NULL; copied) or clears (NULL) the alternate exchange a
 * policy gives x. The alternate-exchange argument, when declared, wins
 * over it (RabbitMQ). Returns WR_OK or WR_ERR_NOMEM (nothing changed). */
int wr_exchange_set_policy_alternate(struct wr_exchange *x,
                                     const struct wr_bytes *name);
/* The alternate exchange x hands unroutable messages to: the argument,
 * else the policy's. false when there is none. */
bool wr_exchange_alternate(const struct wr_exchange *x, struct wr_bytes *out);
/* Removes every binding from and to x, then frees it. */
void wr_exchange_free(struct wr_exchange *x);

/* Binds x to a queue or exchange with key and args (copied). Binding the
 * same (source, destination, key, args) twice is a no-op returning WR_OK.
 * Returns WR_OK, WR_ERR_NOMEM or WR_ERR_INVALID (the type refused args;
 * *err says why). */
int wr_exchange_bind(struct wr_exchange *x, enum wr_dest_kind kind, void *dest,
                     struct wr_bytes key, struct wr_table args,
                     const char **err);
/* The binding (source x, destination, key, args), or NULL if there is
 * none. Borrowed: valid until it is unbound. */
struct wr_binding *wr_exchange_find_binding(struct wr_exchange *x,
                                            enum wr_dest_kind kind, void *dest,
                                            struct wr_bytes key,
                                            struct wr_table args);
/* Removes the matching binding. WR_OK, or WR_ERR_NOT_FOUND. */
int wr_exchange_unbind(struct wr_exchange *x, enum wr_dest_kind kind,
                       void *dest, struct wr_bytes key, struct wr_table args);
/* Removes one binding (from both lists and the type's index) and frees it. */
void wr_binding_free(struct wr_binding *b);
/* Removes every binding whose destination is q (queue deletion). Calls
 * on_source_empty(ctx, x) for each source exchange left with no bindings
 * (auto-delete), after all removals; it may be NULL. */
void wr_queue_unbind_all(struct wr_queue *q,
                         void (*on_source_empty)(void *ctx,
                                                 struct wr_exchange *x),
                         void *ctx);

/* Routes req from x: the union of every queue matching any of the routing
 * keys, following exchange-to-exchange bindings (each exchange visited once
 * per route, so cycles terminate), each queue once. An exchange none of
 * whose bindings matches hands the message to its alternate exchange, if
 * req->lookup finds it (RabbitMQ's process_alternate; chains of alternates
 * are followed and cut at cycles the same way). Clears *out first.
 * Returns WR_OK or WR_ERR_NOMEM. */
int wr_exchange_route(struct wr_exchange *x, const struct wr_route_req *req,
                      struct wr_route_set *out);
void wr_route_set_cleanup(struct wr_route_set *s);

/* The registered types. */
extern const struct wr_exch_type wr_exch_direct;
extern const struct wr_exch_type wr_exch_fanout;
extern const struct wr_exch_type wr_exch_topic;
extern const struct wr_exch_type wr_exch_headers;
extern const struct wr_exch_type wr_exch_consistent_hash;
extern const struct wr_exch_type wr_exch_delayed;

/* x-delayed-message (exchanges/delayed.c). The delay a message's headers
 * ask for, as the plugin reads it: an x-delay of any integer type, a
 * string holding an integer, or a float (truncated). true and *ms only
 * for 0 < delay <= 2^32 - 1; otherwise (absent, negative, zero, bad) the
 * message is routed at once. */
bool wr_delay_header(struct wr_table headers, int64_t *ms);
/* Holds m (takes a reference) in the delayed exchange x until due, with
 * the caller's tag. O(log n). WR_OK or WR_ERR_NOMEM. */
int wr_delayed_hold(struct wr_exchange *x, struct wr_msg *m, int64_t due,
                    uint64_t tag);
/* The earliest due time x holds a message for; false when none. */
bool wr_delayed_next(const struct wr_exchange *x, int64_t *due);
/* The earliest held message if it is due at now (the reference passes
 * to the caller; *tag, when not NULL, gets its tag), else NULL. Ties
 * leave in arrival order. O(log n). */
struct wr_msg *wr_delayed_take(struct wr_exchange *x, int64_t now,
                               uint64_t *tag);
/* Messages x holds (0 for other types). */
size_t wr_delayed_count(const struct wr_exchange *x);

/* Topic matching on its own (AMQP 0-9-1 topic exchange; RabbitMQ
 * semantics: words split on '.', '*' is exactly one word, '#' zero or
 * more). For tests and the fuzzer. */
bool wr_topic_match(struct wr_bytes pattern, struct wr_bytes key);

#endif
