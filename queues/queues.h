/* SPDX-License-Identifier: MIT */
/* Messages (refcounted, immutable once complete), queues (FIFO and
 * priority, behind one interface) and consumers. Knows nothing of
 * sockets, channels or libevent; never reads the clock (callers pass
 * `now` where time matters) and never logs. */
#ifndef WR_QUEUES_H
#define WR_QUEUES_H

#include "../common/list.h"
#include "../protocol/protocol.h"

/* ---- messages ---------------------------------------------------------- */

/* One published message: exchange, routing key, the encoded property list
 * exactly as the publisher sent it (replayed on delivery) and the body, in
 * a single allocation. Stored once however many queues hold it: every
 * queue entry, unacked delivery and pending socket write holds a
 * reference. Immutable once body_received == body_size. */
struct wr_msg {
    uint32_t refcount;
    uint8_t priority;       /* basic property, 0 when absent */
    uint8_t exchange_len;   /* exchange name length */
    uint8_t rkey_len;       /* routing key length */
    uint8_t persistent;     /* delivery-mode 2 */
    uint32_t props_len;     /* encoded property list length */
    uint64_t body_size;     /* declared by the content header */
    uint64_t body_received; /* filled so far while assembling */
    uint64_t seq;           /* broker-wide publish sequence: requeue order */
    uint8_t *props;         /* -> data: property flags + fields */
    uint8_t *body;          /* -> data: body_size bytes */
    uint8_t data[];         /* exchange, routing key, props, body */
};

/* Allocates a message with room for the whole body (body_size bytes, to be
 * filled by the caller through m->body and m->body_received). Copies
 * exchange, routing key and the encoded properties (props, props_len;
 * props may be NULL when props_len is 0). Reads the priority and delivery
 * mode out of props. Returns a new reference (refcount 1), or NULL when
 * out of memory or when props do not decode (the caller validated them
 * before, so that is a bug or OOM). exchange and routing key are at most
 * 255 bytes. */
struct wr_msg *wr_msg_new(struct wr_bytes exchange, struct wr_bytes rkey,
                          const uint8_t *props, uint32_t props_len,
                          uint64_t body_size);

/* Returns m with one more reference. */
static inline struct wr_msg *
wr_msg_ref(struct wr_msg *m)
{
    m->refcount++;
    return m;
}

/* Drops the reference *mp and sets *mp to NULL; frees the message with
 * the last reference. Asserts refcount > 0. */
void wr_msg_unref(struct wr_msg **mp);

/* Views of the stored exchange name and routing key. */
struct wr_bytes wr_msg_exchange(const struct wr_msg *m);
struct wr_bytes wr_msg_rkey(const struct wr_msg *m);
/* Decodes the stored properties into *p (views into m). */
int wr_msg_props(const struct wr_msg *m, struct wr_props *p);
/* Bytes this message accounts for (allocation size). */
size_t wr_msg_mem(const struct wr_msg *m);

/* ---- queue arguments --------------------------------------------------- */

/* The x-arguments a queue understands. */
struct wr_queue_args {
    uint8_t max_priority; /* x-max-priority, 0 = plain FIFO queue */
    bool has_max_length, has_max_bytes;
    uint64_t max_length; /* x-max-length: ready messages kept */
    uint64_t max_bytes;  /* x-max-length-bytes: ready body bytes kept */
};

/* Parses queue.declare arguments. Unknown x-arguments are accepted and
 * kept, as RabbitMQ does. Returns WR_OK, or WR_ERR_INVALID with *err set
 * to a static text for the 406 reply ("x-max-priority must be an integer
 * between 0 and 255"; 0 means a plain FIFO queue, as in RabbitMQ). */
int wr_queue_args_parse(struct wr_table args, struct wr_queue_args *out,
                        const char **err);

/* ---- consumers --------------------------------------------------------- */

struct wr_queue;
struct wr_consumer;

struct wr_consumer_ops {
    /* true when the consumer may take one more message now (prefetch
     * credit, channel flow, output buffer below its bound). */
    bool (*can_take)(struct wr_consumer *c);
    /* Hands a message over. Takes ownership of the reference the queue
     * held for it. redelivered is the entry's flag. */
    void (*deliver)(struct wr_consumer *c, struct wr_queue *q, struct wr_msg *m,
                    bool redelivered);
};

/* Embedded by the broker in its own consumer struct (WR_CONTAINER_OF). */
struct wr_consumer {
    const struct wr_consumer_ops *ops;
    struct wr_queue *queue; /* set by wr_queue_consumer_add */
    struct wr_list link;    /* in queue->consumers */
    bool exclusive;
};

/* ---- queues ------------------------------------------------------------ */

/* One stored message in a queue. */
struct wr_qentry {
    struct wr_msg *msg; /* reference held */
    bool redelivered;
};

/* A queue storage kind (FIFO, priority), registered by name. */
struct wr_queue_kind {
    const char *name;
    int (*init)(struct wr_queue *q);
    void (*cleanup)(struct wr_queue *q); /* unrefs every stored message */
    /* Appends e (takes the entry's reference). WR_OK or WR_ERR_NOMEM. */
    int (*push)(struct wr_queue *q, struct wr_qentry e);
    /* Puts e back in front of everything of its priority that was not
     * requeued before it, in publish order (wr_msg.seq) among requeued
     * ones. */
    int (*push_front)(struct wr_queue *q, struct wr_qentry e);
    /* Removes the next entry into *e (ownership moves). false if empty. */
    bool (*pop)(struct wr_queue *q, struct wr_qentry *e);
};

struct wr_queue {
    char *name; /* owned, NUL-terminated */
    uint32_t name_len;
    uint32_t refcount; /* registry + unacked deliveries */
    const struct wr_queue_kind *kind;
    struct wr_queue_args args;
    uint8_t *raw_args; /* owned copy of the declare arguments (table body) */
    uint32_t raw_args_len;
    bool durable, exclusive, auto_delete;
    bool deleted;          /* removed from its vhost; drops requeues */
    bool had_consumer;     /* for auto-delete */
    void *exclusive_owner; /* broker's connection for exclusive queues */
    void *broker;          /* broker's per-queue data (vhost etc.) */
    void *storage;         /* the kind's state */

    struct wr_list consumers; /* of struct wr_consumer.link */
    uint32_t consumer_count;
    struct wr_consumer *cursor; /* round-robin position, or NULL */

    struct wr_list bindings_in; /* owned by exchanges/: bindings to here */

    uint64_t ready;       /* messages waiting */
    uint64_t ready_bytes; /* body bytes waiting */
    uint64_t unacked;     /* delivered, not yet acked (broker counts) */
    uint64_t route_mark;  /* routing dedup epoch (exchanges/) */

    /* counters for the management API */
    uint64_t n_published, n_delivered, n_acked, n_redelivered, n_dropped;
};

/* Creates a queue named name (copied). max_priority > 0 selects the
 * priority kind. raw_args (may be empty) is copied for redeclare checks.
 * Returns a new queue with refcount 1, or NULL when out of memory. */
struct wr_queue *wr_queue_new(struct wr_bytes name,
                              const struct wr_queue_args *args,
                              struct wr_table raw_args);
/* Reference counting: the registry holds one reference, every unacked
 * delivery another. The last unref frees the queue and every stored
 * message. */
struct wr_queue *wr_queue_ref(struct wr_queue *q);
void wr_queue_unref(struct wr_queue **qp);

/* Adds m (borrows m; the queue takes its own reference). Counts ready and
 * ready_bytes. Past x-max-length / x-max-length-bytes, drops messages from
 * the head (RabbitMQ's default overflow, drop-head). Does not dispatch.
 * Returns WR_OK or WR_ERR_NOMEM. */
int wr_queue_push(struct wr_queue *q, struct wr_msg *m);
/* Puts a delivered message back at the head, marked redelivered (takes
 * ownership of the caller's reference), ordered by publish sequence among
 * other requeued messages at the head, as RabbitMQ does. On a deleted queue
 * the message is dropped. */
void wr_queue_requeue(struct wr_queue *q, struct wr_msg *m);
/* Removes the next message for basic.get. Ownership of the reference
 * moves to the caller. Returns false if the queue is empty. */
bool wr_queue_pop(struct wr_queue *q, struct wr_msg **m, bool *redelivered);
/* Drops every ready message; returns how many. Unacked ones stay. */
uint64_t wr_queue_purge(struct wr_queue *q);

/* Hands ready messages to consumers that can take them, round-robin,
 * until the queue is empty or no consumer can take one. Returns the
 * number delivered. */
uint64_t wr_queue_dispatch(struct wr_queue *q);

/* Attaches / detaches a consumer (the caller owns c). Removing the
 * consumer the cursor points at moves the cursor on. */
void wr_queue_consumer_add(struct wr_queue *q, struct wr_consumer *c);
void wr_queue_consumer_remove(struct wr_queue *q, struct wr_consumer *c);

/* The registered kinds. */
extern const struct wr_queue_kind wr_queue_fifo;
extern const struct wr_queue_kind wr_queue_prio;

#endif
