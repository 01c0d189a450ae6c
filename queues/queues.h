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

/* "No deadline": a message or queue entry that never expires. Deadlines are
 * milliseconds on the caller's monotonic clock (queues/ never reads it). */
#define WR_NEVER INT64_MAX

/* One published message: exchange, routing key, the encoded property list
 * exactly as the publisher sent it (replayed on delivery) and the body, in
 * a single allocation. Stored once however many queues hold it: every
 * queue entry, unacked delivery and pending socket write holds a
 * reference. Immutable once its body is complete (the channel assembling
 * it counts the bytes received).
 *
 * A derived message (dead-lettered, or redelivered with a new
 * x-delivery-count) has its own exchange, routing key and properties but
 * shares the body of the message it came from: its body is in
 * body_owner's allocation (wr_msg_body), and the derived message holds a
 * reference to it. */
struct wr_msg {
    /* Every queued message pays for this header: keep it small (56 bytes;
     * the props and body pointers are derived, the assembly count lives in
     * the channel). */
    uint32_t refcount;
    uint8_t priority;          /* basic property, 0 when absent */
    uint8_t exchange_len;      /* exchange name length */
    uint8_t rkey_len;          /* routing key length */
    uint8_t persistent : 1;    /* delivery-mode 2 */
    uint8_t body_grows : 1;    /* room grows with wr_msg_body_append */
    uint8_t stored : 1;        /* its MSG record is in the msgs/ store */
    uint32_t props_len;        /* encoded property list length */
    uint32_t bcc_len;          /* routing-only BCC keys, see wr_msg_bcc */
    uint32_t delivery_count;   /* returns to its queue (x-delivery-limit) */
    uint32_t store_pos;        /* its MSG record's position, when stored */
    int64_t ttl;               /* expiration property in ms, -1 when absent */
    uint64_t body_size;        /* declared by the content header */
    struct wr_msg *body_owner; /* reference held when the body is shared */
    /* Its MSG record's offset (when stored): written by the first durable
     * queue that takes it, found there by the others (queues/durable.c);
     * the record's length follows from the lengths above. */
    uint64_t store_off;
    uint8_t data[]; /* exchange, routing key, props, bcc, body */
};

/* What a new message is made of (wr_msg_build). */
struct wr_msg_spec {
    struct wr_bytes exchange, rkey; /* at most 255 bytes each */
    const uint8_t *props;           /* encoded property list, may be NULL */
    uint32_t props_len;
    /* The same property list already decoded by the caller (only its
     * priority, delivery mode and expiration are read), or NULL: then
     * wr_msg_build decodes props itself. Lets a publish decode its content
     * header once. */
    const struct wr_props *decoded;
    /* Extra routing keys that must not be delivered (the BCC header,
     * RabbitMQ's sender-selected distribution): the encoded body of a
     * field array of long strings. Kept for routing only. */
    struct wr_bytes bcc;
    uint64_t body_size; /* room to allocate; ignored with share_body */
    /* Allocate room for the first WR_MSG_BODY_PREALLOC bytes of the body
     * only; wr_msg_body_append grows it as the bytes arrive. For bodies
     * announced by a peer, which may never send them. */
    bool body_grows;
    /* When set, the new message shares this complete message's body
     * (takes a reference to its owner) instead of allocating one. */
    struct wr_msg *share_body;
};

/* Allocates a message from spec (everything copied except a shared body).
 * Reads the priority, delivery mode and expiration out of the properties
 * (spec->decoded, or props decoded here). Returns a new reference
 * (refcount 1), or NULL when out of memory, when props do not decode (the
 * caller validated them, so that is a bug or OOM), or when exchange or routing
 * key are longer than 255 bytes. A message with its own body is filled by the
 * caller through wr_msg_body(m) (the caller counts what it wrote); a shared
 * body is complete at once. */
struct wr_msg *wr_msg_build(const struct wr_msg_spec *spec);

/* Body bytes a message built with body_grows has room for before
 * wr_msg_body_append grows it (docs/internals/MESSAGES.md). */
#define WR_MSG_BODY_PREALLOC 4096

/* Appends n body bytes to a message being assembled with its own body;
 * *received counts the bytes written so far (the caller keeps it, so the
 * message header need not). With body_grows the allocation grows with the
 * bytes received (doubling, up to body_size), so a content header
 * announcing 128 MiB costs nothing until they arrive. The caller holds the
 * only reference (asserted): the message may move, *mp is updated. Returns
 * WR_OK (and adds n to *received), WR_ERR_INVALID when n is more than what
 * is left of body_size, or WR_ERR_NOMEM (the message is left as it was). */
int wr_msg_body_append(struct wr_msg **mp, uint64_t *received, const uint8_t *p,
                       size_t n);

/* wr_msg_build with an own body of body_size bytes and no BCC keys. */
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
 * the last reference (and then its reference to a shared body). Asserts
 * refcount > 0. */
void wr_msg_unref(struct wr_msg **mp);

/* The encoded property list (flags first), props_len bytes: it follows
 * the exchange name and routing key in data. */
static inline const uint8_t *
wr_msg_props_data(const struct wr_msg *m)
{
    return m->data + m->exchange_len + m->rkey_len;
}

/* The body, body_size bytes: it follows the BCC keys in data, or in
 * body_owner's data when shared (an owner never shares another's body).
 * Writable only while the message is being assembled. */
static inline uint8_t *
wr_msg_body(const struct wr_msg *m)
{
    const struct wr_msg *o = m->body_owner ? m->body_owner : m;

    return (uint8_t *)o->data + o->exchange_len + o->rkey_len + o->props_len +
           o->bcc_len;
}

/* Views of the stored exchange name and routing key. */
struct wr_bytes wr_msg_exchange(const struct wr_msg *m);
struct wr_bytes wr_msg_rkey(const struct wr_msg *m);
/* The BCC keys kept for routing: an encoded field-array body (may be
 * empty). */
struct wr_array wr_msg_bcc(const struct wr_msg *m);
/* Decodes the stored properties into *p (views into m). */
int wr_msg_props(const struct wr_msg *m, struct wr_props *p);
/* Bytes this message accounts for (its allocation; a shared body counts
 * with its owner). */
size_t wr_msg_mem(const struct wr_msg *m);

/* Parses an expiration property (RabbitMQ: a decimal count of
 * milliseconds, optionally signed, nothing else). Returns WR_OK and *ms,
 * or WR_ERR_INVALID with RabbitMQ's reason in why[0..cap) ("no_integer",
 * "{value_negative,-5}", "{leftover_string,\".5\"}"). Values beyond 2^53
 * are clamped (they never expire in practice). */
int wr_expiration_parse(struct wr_bytes s, int64_t *ms, char *why, size_t cap);

/* Appends to the table being built in b every entry of t, byte for byte,
 * except those whose key is in skip (a NULL-terminated list, or NULL).
 * Errors are b's (sticky WR_ERR_NOSPACE). For rewriting headers. */
void wr_headers_copy(struct wr_tb *b, struct wr_table t,
                     const char *const *skip);

/* Appends to b every entry of t, byte for byte, in the order of their
 * keys: octet by octet, a prefix first, entries with equal keys in their
 * order. That is RabbitMQ's rabbit_misc:sort_field_table, which it
 * applies to the headers it rewrites when dead-lettering, so clients that
 * see the table as an ordered map (amqplib's objects, pika's dicts) see
 * the same order from warren. Errors are b's (sticky WR_ERR_NOSPACE). */
void wr_headers_copy_sorted(struct wr_tb *b, struct wr_table t);

/* Returns a message like m (body shared, exchange, routing key and BCC
 * keys kept) whose headers carry x-delivery-count = count and whose
 * delivery_count is count (x-delivery-limit: the header RabbitMQ's quorum
 * queues add to redeliveries). A new reference, or NULL when out of
 * memory. Borrows m. */
struct wr_msg *wr_msg_with_delivery_count(struct wr_msg *m, uint32_t count);

/* ---- queue arguments --------------------------------------------------- */

enum wr_overflow {
    WR_OVERFLOW_DROP_HEAD = 0, /* drop (dead-letter) the oldest */
    WR_OVERFLOW_REJECT,        /* refuse the new message */
    WR_OVERFLOW_REJECT_DLX,    /* refuse it and dead-letter it */
};

/* The x-arguments a queue understands (README, "Queue arguments"). */
struct wr_queue_args {
    uint8_t max_priority; /* x-max-priority, 0 = plain FIFO queue */
    bool has_max_length, has_max_bytes;
    uint64_t max_length;  /* x-max-length: ready messages kept */
    uint64_t max_bytes;   /* x-max-length-bytes: ready body bytes kept */
    uint8_t overflow;     /* x-overflow, enum wr_overflow */
    bool has_overflow;    /* x-overflow given */
    bool has_message_ttl; /* x-message-ttl given */
    int64_t message_ttl;  /* x-message-ttl in ms */
    int64_t expires;      /* x-expires in ms, 0 = never */
    bool has_dlx;         /* x-dead-letter-exchange given ("" is valid) */
    bool has_dlrk;        /* x-dead-letter-routing-key given */
    struct wr_bytes dlx;  /* views into the parsed table */
    struct wr_bytes dlrk;
    bool single_active;      /* x-single-active-consumer */
    bool has_delivery_limit; /* x-delivery-limit */
    uint64_t delivery_limit;
    bool has_consumer_timeout; /* x-consumer-timeout (RabbitMQ 3.12) */
    uint64_t consumer_timeout; /* ms a delivery may stay unacked, 0 = off */
    /* Stream queues (x-queue-type = stream, queues/stream.c). */
    bool stream;
    bool has_max_age;      /* x-max-age: segments older than this go */
    uint64_t max_age_ms;   /* x-max-age in ms */
    bool has_segment_size; /* x-stream-max-segment-size-bytes */
    uint64_t segment_size;
};

/* Why an argument was refused: the argument and RabbitMQ's reason, for
 * "invalid arg '<arg>' for queue ...: <why>". */
struct wr_args_error {
    const char *arg;
    char why[128];
    /* The argument is not one of the queue type's: RabbitMQ's text is
     * "invalid arg '<arg>' for queue ... of queue type <why>". */
    bool of_type;
};

/* Parses an x-max-age value ("7D", "30m": a positive number and one of
 * the units Y M D h m s) into ms. WR_OK or WR_ERR_INVALID. */
int wr_max_age_parse(struct wr_bytes s, uint64_t *ms);

/* The name RabbitMQ (Erlang) prints for a field value type in its error
 * texts: "longstr", "signedint", "bool", ... */
const char *wr_field_type_name(uint8_t type);

/* Parses queue.declare arguments, checking types and ranges as RabbitMQ
 * does (rabbit_amqqueue:declare_args). Unknown x-arguments are accepted
 * and kept, as RabbitMQ does. x-queue-type is "classic" or "stream"
 * (quorum queues are refused until warren has them); a stream refuses
 * the classic-only arguments (err->of_type). Returns WR_OK, or
 * WR_ERR_INVALID with *err filled (err may be NULL). The dlx / dlrk views
 * point into args. */
int wr_queue_args_parse(struct wr_table args, struct wr_queue_args *out,
                        struct wr_args_error *err);

/* The effective settings of a queue from its declared arguments and the
 * queue settings of the policy and the operator policy that apply to it
 * (either may be NULL), as RabbitMQ resolves them for classic queues
 * (rabbit_queue_type_util:args_policy_lookup, rabbit_policy:get):
 *  - message-ttl, expires, max-length, max-length-bytes, delivery-limit,
 *    consumer-timeout: the smallest of those given (argument, policy,
 *    operator policy);
 *  - dead-letter-exchange, dead-letter-routing-key, overflow: the
 *    argument when given, else the policy's (operator policies have
 *    none);
 *  - x-max-priority and x-single-active-consumer: always the argument's
 *    (policies cannot change them).
 * Each key is resolved on its own. Views (dlx, dlrk) are copied as they
 * are: out points where its inputs point. Pure: no queue needed. */
void wr_queue_args_merge(const struct wr_queue_args *declared,
                         const struct wr_queue_args *policy,
                         const struct wr_queue_args *op_policy,
                         struct wr_queue_args *out);

/* ---- entries, deliveries, settlement ------------------------------------
 *
 * A queue holds entries. Every entry has a 64-bit id that its kind assigns
 * when the entry is enqueued: strictly increasing in enqueue order within
 * its queue, never reused and never wrapping (gaps are allowed; a durable
 * kind may use its store offset). An entry keeps its id for its whole life
 * in the queue, through deliveries and requeues: requeued entries go back
 * in id order, as RabbitMQ puts them back in queue order.
 *
 * An entry handed out for acknowledgement stays the queue's until it is
 * settled: the receiver keeps only (queue, id, handle), and every ack,
 * nack, reject, recover, closed channel or lost connection comes back
 * through wr_queue_settle. Counters live here (wr_queue_counts). */

struct wr_queue;
struct wr_consumer;
struct wr_cgroup;
struct wr_ring_ops;
struct wr_unacked_entry;

/* One entry handed out of a queue: to a consumer (wr_consumer_ops.deliver)
 * or by wr_queue_get. */
struct wr_delivery {
    /* Borrowed while the entry is unsettled (the queue keeps its
     * reference): take one (wr_msg_ref) to keep the message longer. For a
     * no-ack delivery: borrowed for the deliver callback, and a new
     * reference for the caller of wr_queue_get. */
    struct wr_msg *msg;
    uint64_t id;     /* the entry's id in its queue */
    uint32_t handle; /* where the kind keeps the unacked entry: give it back
                        to wr_queue_settle; 0 for a no-ack delivery */
    bool redelivered;
};

/* How an unacked entry is settled (wr_queue_settle). */
enum wr_settle {
    /* basic.ack: consumed; the entry is gone. */
    WR_SETTLE_ACK = 0,
    /* basic.nack / basic.reject with requeue, basic.recover, a closed
     * channel or connection: back at the head, redelivered, in id order
     * among other requeued entries. */
    WR_SETTLE_REQUEUE,
    /* basic.nack / basic.reject without requeue: the entry dies
     * (WR_DEAD_REJECTED: dead-lettered when the queue has a dead-letter
     * exchange, dropped otherwise). */
    WR_SETTLE_REJECT,
};

/* An entry as stored or peeked at. */
struct wr_qentry {
    struct wr_msg *msg; /* reference held (or borrowed: wr_queue_peek) */
    uint64_t id;        /* its id in its queue */
    int64_t expires;    /* deadline (ms), WR_NEVER when none */
    bool redelivered;
};

/* ---- consumers --------------------------------------------------------- */

struct wr_consumer_ops {
    /* true when the consumer may take one more message now (prefetch
     * credit, channel flow, output buffer below its bound). */
    bool (*can_take)(struct wr_consumer *c);
    /* Hands an entry over (d->msg borrowed, see wr_delivery). Unless the
     * consumer is no_ack, the entry stays unacked in q until settled with
     * (q, d->id, d->handle). May re-enter the queue. */
    void (*deliver)(struct wr_consumer *c, struct wr_queue *q,
                    const struct wr_delivery *d);
    /* The queue is being deleted: the consumer detaches itself
     * (wr_queue_consumer_remove). NULL for the server's own consumers
     * (channels), which the server cancels. */
    void (*gone)(struct wr_consumer *c);
};

/* Embedded by the broker in its own consumer struct (WR_CONTAINER_OF). */
struct wr_consumer {
    const struct wr_consumer_ops *ops;
    struct wr_queue *queue; /* set by wr_queue_consumer_add */
    struct wr_list link;    /* in queue->consumers, registration order */
    bool exclusive;
    bool no_ack;             /* settled on delivery: nothing stays unacked */
    int32_t priority;        /* x-priority consumer argument, default 0 */
    struct wr_cgroup *group; /* queues/ internal: its priority group */
    struct wr_list group_link;
    /* The kind's own per-consumer state: unused by FIFO and priority
     * queues; a stream keeps each consumer's next offset here (what the
     * API shows as the consumer's offset) and its reader in kstate. */
    uint64_t position;
    void *kstate;
};

/* ---- queues ------------------------------------------------------------ */

/* Why a message left a queue without being delivered or acked. */
enum wr_dead_reason {
    WR_DEAD_REJECTED = 0,   /* basic.reject / nack with requeue=false */
    WR_DEAD_EXPIRED,        /* its TTL passed */
    WR_DEAD_MAXLEN,         /* overflow: dropped from the head or refused */
    WR_DEAD_DELIVERY_LIMIT, /* returned more than x-delivery-limit times */
};

/* RabbitMQ's name of a reason, as in x-death ("rejected", "expired",
 * "maxlen", "delivery_limit"). */
const char *wr_dead_reason_name(enum wr_dead_reason r);

/* What the owner of a queue (the broker) hears from it. Either may be
 * NULL. Called from inside queue operations: they must not touch the
 * queue (no enqueue, get or dispatch); record and act later. */
struct wr_queue_hooks {
    /* A message died in q (takes the reference): dead-letter or drop.
     * Returns true when it was dead-lettered (counted in dead_lettered). */
    bool (*dead)(struct wr_queue *q, struct wr_msg *m, enum wr_dead_reason why);
    /* q's earliest message deadline became `at`: call wr_queue_expire
     * once the clock reaches it. */
    void (*deadline)(struct wr_queue *q, int64_t at);
    /* A stream appended to its store: flush it at the end of the turn
     * (may be NULL). */
    void (*stream_dirty)(struct wr_queue *q);
};

/* A queue's counters: kept by queues/ alone (its kinds and queue.c),
 * read by everyone else through wr_queue_counts. */
struct wr_queue_counts {
    uint64_t ready;         /* entries waiting */
    uint64_t ready_bytes;   /* body bytes waiting */
    uint64_t unacked;       /* handed out, not yet settled */
    uint64_t unacked_bytes; /* their body bytes */
    /* durable queues (queues/durable.c, paging.c) */
    uint64_t persistent;       /* entries with records (ready + unacked) */
    uint64_t persistent_bytes; /* their body bytes */
    uint64_t paged;            /* ready entries paged out (not in memory) */
    uint64_t paged_bytes;      /* their body bytes */
    uint64_t lost;             /* paged out and not readable back: dropped */
    /* monotonic, for the management API */
    uint64_t published;     /* entries enqueued */
    uint64_t delivered;     /* handed out (consumers and basic.get) */
    uint64_t acked;         /* settled with WR_SETTLE_ACK */
    uint64_t redelivered;   /* requeued (WR_SETTLE_REQUEUE) */
    uint64_t dropped;       /* died of a length limit (WR_DEAD_MAXLEN) */
    uint64_t expired;       /* died of their TTL */
    uint64_t rejected;      /* refused at enqueue (reject-publish) */
    uint64_t dead_lettered; /* died and were dead-lettered */
};

/* A queue kind: how a queue stores its entries and hands them out. Kinds
 * are vtables registered by name (wr_queue_kind_find); FIFO ("fifo") and
 * priority ("priority") are built on rings of in-memory entries
 * (queues/classic.c). The interface lets a kind keep entries elsewhere
 * (an index entry with an id or store offset, the body read on delivery:
 * d->msg only has to live until settled) and dispatch otherwise than "one
 * entry to one consumer" (a stream kind hands every entry to every
 * consumer from its own wr_consumer.position, and its settle removes
 * nothing). The wr_queue_* functions below call these; each op documents
 * itself there. Kinds keep q->counts current. */
struct wr_queue_kind {
    const char *name;
    int (*init)(struct wr_queue *q);
    /* Frees the storage and every entry it holds, unacked ones too. */
    void (*cleanup)(struct wr_queue *q);
    int (*enqueue)(struct wr_queue *q, struct wr_msg *m, int64_t now);
    uint64_t (*dispatch)(struct wr_queue *q, int64_t now);
    bool (*get)(struct wr_queue *q, int64_t now, bool no_ack,
                struct wr_delivery *d);
    void (*settle)(struct wr_queue *q, uint64_t id, uint32_t handle,
                   enum wr_settle how, int64_t now);
    uint64_t (*purge)(struct wr_queue *q);
    /* The queue left its vhost (q->deleted is set): drop what is ready;
     * returns how many. Unacked entries are dropped as they settle. */
    uint64_t (*delete)(struct wr_queue *q);
    uint64_t (*expire)(struct wr_queue *q, int64_t now);
    bool (*next_deadline)(const struct wr_queue *q, int64_t *at);
    size_t (*peek)(const struct wr_queue *q, int64_t now, struct wr_qentry *out,
                   size_t n);
    /* The effective settings changed: apply the length limits now. */
    void (*limits_changed)(struct wr_queue *q);
    /* Ring-based kinds only: how ready entries are stored
     * (queues_internal.h); NULL for others. */
    const struct wr_ring_ops *rings;
    /* A consumer leaves the queue (may be NULL): free its kstate. */
    void (*consumer_gone)(struct wr_queue *q, struct wr_consumer *c);
};

/* The unacked entries of a ring-based queue: a pool of records addressed
 * by handle (index + 1), recycled through a free list, so that a settle
 * is O(1) with no hashing and no allocation per message
 * (queues_internal.h). */
struct wr_upool {
    struct wr_unacked_entry *v;
    uint32_t cap, used; /* records allocated, records handed out since the
                           pool was last empty */
    uint32_t free;      /* first free handle, 0 = none below used */
    uint32_t live;      /* records holding an entry */
};

struct wr_xindex;

struct wr_queue {
    char *name; /* owned, NUL-terminated */
    uint32_t name_len;
    uint32_t refcount; /* registry + unacked deliveries */
    const struct wr_queue_kind *kind;
    struct wr_queue_args args; /* as declared; dlx / dlrk views point into
                                  raw_args (redeclare checks, export) */
    /* What the queue does: args merged with the policies that apply
     * (wr_queue_set_effective); its dlx / dlrk views point into eff_strs
     * or raw_args. */
    struct wr_queue_args eff;
    uint8_t *eff_strs; /* owned: the effective dlx and dlrk, or NULL */
    uint8_t *raw_args; /* owned copy of the declare arguments (table body) */
    uint32_t raw_args_len;
    bool durable, exclusive, auto_delete;
    bool deleted;          /* removed from its vhost (wr_queue_delete) */
    bool had_consumer;     /* for auto-delete */
    void *exclusive_owner; /* broker's connection for exclusive queues */
    void *broker;          /* broker's per-queue data (vhost etc.) */
    const struct wr_queue_hooks *hooks; /* the owner's, or NULL */
    void *storage;                      /* the kind's state */
    struct wr_xindex *expiry;           /* deadlines of the stored entries */
    struct wr_upool unacked;            /* ring-based kinds' unacked entries */
    uint64_t next_id;                   /* the next entry id (from 1) */
    /* The msgs/ store and the queue's id there, when persistent messages
     * entering it are stored (queues/durable.c); NULL otherwise. */
    struct wr_store *store;
    uint64_t store_qid;

    struct wr_list consumers; /* of struct wr_consumer.link */
    uint32_t consumer_count;
    struct wr_list groups; /* of struct wr_cgroup, highest priority first */

    struct wr_list bindings_in; /* owned by exchanges/: bindings to here */
    uint64_t route_mark;        /* routing dedup epoch (exchanges/) */

    struct wr_queue_counts counts; /* queues/ writes; read wr_queue_counts */
};

/* The registered kinds, and the one named name (NULL if none). */
extern const struct wr_queue_kind wr_queue_fifo;
extern const struct wr_queue_kind wr_queue_prio;
extern const struct wr_queue_kind wr_queue_stream;
const struct wr_queue_kind *wr_queue_kind_find(const char *name);

/* Creates a queue named name (copied). args->stream selects the stream
 * kind (its store is opened by wr_stream_open), max_priority > 0 the
 * priority kind, else FIFO. raw_args (may be empty) is copied for
 * redeclare checks; when given, args are re-read from the copy so that
 * their views (dlx, dlrk) stay valid. Returns a new queue with refcount 1,
 * or NULL when out of memory. */
struct wr_queue *wr_queue_new(struct wr_bytes name,
                              const struct wr_queue_args *args,
                              struct wr_table raw_args);
/* Replaces q's effective settings with eff (from wr_queue_args_merge;
 * its dlx / dlrk are copied, so eff may point anywhere; max_priority and
 * single_active stay as declared). A smaller length limit applies at
 * once: with drop-head the oldest ready messages die (WR_DEAD_MAXLEN)
 * until the queue fits, as RabbitMQ does when a policy changes. A new
 * message TTL applies to messages enqueued from now on; x-expires is the
 * caller's (it owns the timer). Returns WR_OK or WR_ERR_NOMEM (nothing
 * changed). */
int wr_queue_set_effective(struct wr_queue *q, const struct wr_queue_args *eff);
/* Reference counting: the registry holds one reference, every unacked
 * delivery another. The last unref frees the queue and every stored
 * message. */
static inline struct wr_queue *
wr_queue_ref(struct wr_queue *q)
{
    q->refcount++;
    return q;
}
/* Frees q (its refcount reached 0): wr_queue_unref's slow path. */
void wr_queue_free(struct wr_queue *q);
static inline void
wr_queue_unref(struct wr_queue **qp)
{
    struct wr_queue *q = *qp;

    *qp = NULL;
    wr_assert(q != NULL && q->refcount > 0);
    if (--q->refcount == 0)
        wr_queue_free(q);
}

/* The counters (ready, unacked, delivered, acked, ...). */
static inline const struct wr_queue_counts *
wr_queue_counts(const struct wr_queue *q)
{
    return &q->counts;
}

/* Enqueues m (borrows m; the queue takes its own reference) at time now
 * (ms) as a new entry with the next id. Its deadline is now + the smaller
 * of x-message-ttl and m's expiration; an earlier earliest deadline is
 * announced through hooks->deadline. Counts ready, ready_bytes and
 * published. Length limits (x-max-length, x-max-length-bytes, counting
 * ready messages only):
 *  - drop-head: the oldest ready messages die (WR_DEAD_MAXLEN) to make
 *    room;
 *  - reject-publish: a message that would pass a limit is refused;
 *  - reject-publish-dlx: likewise, and it dies (WR_DEAD_MAXLEN) here.
 * Does not dispatch. Returns WR_OK, WR_ERR_FULL (refused: the publisher
 * gets basic.nack under confirms) or WR_ERR_NOMEM. */
static inline int
wr_queue_enqueue(struct wr_queue *q, struct wr_msg *m, int64_t now)
{
    return q->kind->enqueue(q, m, now);
}

/* Expires what is due at now, then hands ready entries to consumers that
 * can take them until the queue is empty or no consumer can take one.
 * Consumers are tried by priority (x-priority, highest first), round-robin
 * among equal priorities; a lower priority consumer gets a message only
 * when every higher one is blocked. With x-single-active-consumer only
 * the earliest registered consumer receives. Entries given to a consumer
 * that is not no_ack stay unacked until settled. Counts delivered (and
 * unacked). Returns the number delivered. */
static inline uint64_t
wr_queue_dispatch(struct wr_queue *q, int64_t now)
{
    return q->kind->dispatch(q, now);
}

/* basic.get: expires what is due at now, then takes the next entry into
 * *d. With no_ack the entry is settled at once and d->msg is a new
 * reference for the caller; otherwise it stays unacked until settled and
 * d->msg is borrowed. Counts delivered. Returns false when there is none
 * (or, acking, when out of memory). */
static inline bool
wr_queue_get(struct wr_queue *q, int64_t now, bool no_ack,
             struct wr_delivery *d)
{
    return q->kind->get(q, now, no_ack, d);
}

/* Settles the unacked entry (id, handle) that q handed out (asserted):
 * how says whether it is gone (ack), back at the head (requeue) or dead
 * (reject). A requeued entry keeps its deadline and dies instead if that
 * has passed (WR_DEAD_EXPIRED); with x-delivery-limit every return counts
 * and past the limit it dies (WR_DEAD_DELIVERY_LIMIT), otherwise it comes
 * back with an x-delivery-count header; past x-max-length (drop-head) the
 * head goes, as after an enqueue. On a deleted queue a requeued or
 * rejected entry is dropped. Does not dispatch. */
static inline void
wr_queue_settle(struct wr_queue *q, uint64_t id, uint32_t handle,
                enum wr_settle how, int64_t now)
{
    q->kind->settle(q, id, handle, how, now);
}

/* Drops every ready entry; returns how many. Unacked ones stay. Purged
 * messages are not dead-lettered (RabbitMQ neither). */
static inline uint64_t
wr_queue_purge(struct wr_queue *q)
{
    return q->kind->purge(q);
}

/* The queue leaves its vhost: marks it deleted (it dead-letters nothing
 * more: hooks are dropped), drops its ready entries and returns how many.
 * Unacked entries are dropped as they are settled (any way). Consumers
 * are the owner's to cancel. */
uint64_t wr_queue_delete(struct wr_queue *q);

/* ---- persistence (queues/durable.c, docs/internals/STORE.md) ----------- */

struct wr_store;
struct wr_store_damage;
struct wr_store_loc;
/* From now on persistent messages entering q are written to st (MSG once
 * per message, ENQ per queue, SETTLE / REQUEUE as they leave or return)
 * under queue id qid. st NULL: nothing is stored. */
void wr_queue_set_store(struct wr_queue *q, struct wr_store *st, uint64_t qid);
/* Recovery: appends m (takes the caller's reference; m->stored and its
 * location set) at the tail of q as the entry of the ENQ record at offset
 * enq_off (references taken on it and on the MSG record), redelivered,
 * with the
 * deadline expires (caller's clock, WR_NEVER). Entries must come in log
 * order. Returns WR_OK or WR_ERR_NOMEM (m released). */
int wr_queue_restore(struct wr_queue *q, struct wr_msg *m, uint64_t enq_off,
                     int64_t expires);

/* Recovery: appends a paged-out entry (ENQ at enq_off, its message's MSG
 * record at msg, meta bytes of which are not body, priority from the ENQ)
 * at the tail of q: the message stays in the store until it is handed
 * out. Otherwise as wr_queue_restore. */
int wr_queue_restore_paged(struct wr_queue *q, const struct wr_store_loc *msg,
                           uint32_t meta, uint8_t priority, uint64_t enq_off,
                           int64_t expires);

/* ---- paging (queues/paging.c) ------------------------------------------
 *
 * A durable queue keeps its persistent messages in memory while it holds
 * at most keep_msgs ready messages in memory and keep_bytes of their
 * bodies; beyond, and under memory pressure, new ones are paged out (the
 * entry stays, about 32 bytes, and the message is read back from the
 * store in batches when it is about to be handed out). */
#define WR_PAGING_KEEP_MSGS 16384
#define WR_PAGING_KEEP_BYTES (8u << 20)
/* Sets the thresholds for every queue (defaults above). */
void wr_queues_set_paging(uint64_t keep_msgs, uint64_t keep_bytes);
/* Memory pressure on or off: while on, every pageable entry that enters
 * a durable queue is paged out. */
void wr_queues_set_memory_pressure(bool on);
bool wr_queues_memory_pressure(void);
/* Pages out every ready entry of q that can be (persistent, written);
 * returns how many. O(ready). */
uint64_t wr_queue_page_out(struct wr_queue *q);
/* Reads back the first n ready entries (delivery order) that are paged
 * out, e.g. before wr_queue_peek; returns how many entries it covered. */
uint64_t wr_queue_page_in(struct wr_queue *q, uint64_t n);

/* ---- messages held outside queues (queues/held.c) ----------------------
 *
 * What a durable x-delayed-message exchange holds (vhost/delayed.c),
 * written as a queue writes its entries, under a holder id taken from the
 * queue ids (never reused). */

/* Writes m (persistent) as held by holder until due_wall (wall-clock ms):
 * its MSG record unless it has one, and an ENQ record whose offset is
 * *entry. The holder keeps a reference on both until wr_held_release or
 * wr_held_drop. Returns WR_OK or the store's error (nothing held then). */
int wr_held_write(struct wr_store *st, uint64_t holder, struct wr_msg *m,
                  int64_t due_wall, int64_t wall, uint64_t *entry);
/* m left its holder (it was routed): appends a SETTLE record for entry
 * and drops the holder's references. */
void wr_held_release(struct wr_store *st, uint64_t holder, uint64_t entry,
                     const struct wr_msg *m, int64_t wall);
/* Drops the holder's references and writes nothing: the holder is gone
 * (its id is never seen again) or the broker stops. */
void wr_held_drop(struct wr_store *st, uint64_t entry, const struct wr_msg *m);

/* A holder for wr_queues_recover: restore gets each live held message
 * (the reference, m->stored set), its entry and due time (wall clock), in
 * log order, and keeps the references wr_held_write would have given;
 * on an error return they are dropped. */
struct wr_held_sink {
    uint64_t id;
    int (*restore)(void *arg, struct wr_msg *m, uint64_t entry,
                   int64_t due_wall);
    void *arg;
};

/* What wr_queues_recover found. */
struct wr_queues_recovery {
    uint64_t messages, bytes; /* entries handed back to their queues */
    uint64_t held;            /* messages handed back to their holders */
    uint64_t undecodable;     /* records that did not decode: skipped */
    uint64_t ignored;         /* records of queues that are gone */
    uint64_t unreadable;      /* entries whose MSG could not be read back */
};
/* Called once per queue that lost entries at recovery because their MSG
 * record could not be read back (damaged, or its file gone): how many, and
 * the store offset of the first one's MSG record. */
typedef void (*wr_queues_lost_cb)(void *arg, struct wr_queue *q, uint64_t n,
                                  uint64_t msg_offset);
/* Scans the msgs/ store st (wr_store_recover; damage(arg, d) for what it
 * cuts or skips, lost(arg, ...) for the queues that lost entries; either
 * may be NULL) and gives the nq queues qs (each with its store set) their
 * live entries back, in order, redelivered; unknown queue ids are
 * ignored. The nh holders hs get their held messages back the same way.
 * Deadlines are kept on the wall clock in the store: wall and now
 * are the two clocks' present. Returns WR_OK or the scan's error (then no
 * entry was handed back). */
int wr_queues_recover(struct wr_store *st, struct wr_queue *const *qs,
                      size_t nq, const struct wr_held_sink *hs, size_t nh,
                      void (*damage)(void *arg,
                                     const struct wr_store_damage *d),
                      wr_queues_lost_cb lost, void *arg, int64_t now,
                      int64_t wall, struct wr_queues_recovery *out);

/* ---- stream queues (queues/stream.c, docs/internals/QUEUES.md) --------
 *
 * A stream is an append-only log in a store of its own: every message is
 * one MSG record whose store offset is its stream offset. Consumers read
 * from their own position (wr_consumer.position, the next offset) with a
 * reader that reads whole chunks from the files, only what is durable;
 * an ack gives credit back and removes nothing. Retention deletes whole
 * segments from the head. */

static inline bool
wr_queue_is_stream(const struct wr_queue *q)
{
    return q->kind == &wr_queue_stream;
}

struct wr_store_opts;
/* Opens (creating) q's store in dir and reads it back (damage as in
 * wr_queues_recover); segment size from q's effective settings. Returns
 * WR_OK or the store's error, with a message in err. */
int wr_stream_open(struct wr_queue *q, const char *dir,
                   const struct wr_store_opts *base,
                   void (*damage)(void *arg, const struct wr_store_damage *d),
                   void *damage_arg, int64_t wall, char *err, size_t errlen);
/* Closes q's store (nothing is appended or delivered after), removing
 * its files when destroy (the stream was deleted). */
void wr_stream_close(struct wr_queue *q, bool destroy);
/* q's store (NULL before wr_stream_open or after wr_stream_close). */
struct wr_store *wr_stream_store(const struct wr_queue *q);

/* Where a new stream consumer starts (the x-stream-offset argument). */
enum wr_stream_start {
    WR_STREAM_NEXT = 0, /* after the last message (the default) */
    WR_STREAM_FIRST,    /* the oldest message kept */
    WR_STREAM_LAST,     /* the start of the last chunk */
    WR_STREAM_OFFSET,   /* this offset (the first kept when older; one
                           not written yet is waited for) */
    WR_STREAM_TIME,     /* the first chunk at or after this wall time */
};
struct wr_stream_offset {
    enum wr_stream_start start;
    uint64_t offset; /* WR_STREAM_OFFSET */
    int64_t time_ms; /* WR_STREAM_TIME: wall clock, ms */
    /* Filtering (x-stream-filter, x-stream-match-unfiltered; borrowed):
     * with nfilter > 0 the consumer gets exactly the messages whose
     * x-stream-filter-value header is one of filter, and those without
     * one when match_unfiltered. */
    const struct wr_bytes *filter;
    uint32_t nfilter;
    bool match_unfiltered;
    /* x-stream-automatic-offset-tracking: the consumer starts at the
     * offset stored for tag (1-255 bytes, borrowed) when there is one
     * (else as above), and each ack stores the first offset it has not
     * acked (QUEUES.md "Offset tracking"). */
    bool track;
    struct wr_bytes tag;
};
/* Sets up consumer c of stream q to start at *from (its position, its
 * reader, its filter, copied); call before wr_queue_consumer_add. WR_OK or
 * WR_ERR_NOMEM. */
int wr_stream_consumer_start(struct wr_queue *q, struct wr_consumer *c,
                             const struct wr_stream_offset *from);

/* Writes the offsets tracked consumers' acks stored since the last call
 * (at the end of a turn in which q's stream_dirty hook ran). WR_OK or the
 * error of wr_offsets_flush (what failed is tried again next time). */
int wr_stream_flush_offsets(struct wr_queue *q);
/* The offset stored for tag: true with *offset, false when none. */
bool wr_stream_tracked(const struct wr_queue *q, struct wr_bytes tag,
                       uint64_t *offset);
/* Every tag with a stored offset, in no order: start with *pos = 0; false
 * at the end. *tag is borrowed until q's next ack or flush. */
bool wr_stream_tracked_next(const struct wr_queue *q, size_t *pos,
                            struct wr_bytes *tag, uint64_t *offset);

/* What the API shows of a stream. */
struct wr_stream_info {
    uint64_t first;     /* oldest offset kept */
    uint64_t next;      /* the offset the next message gets */
    uint64_t committed; /* offsets below are durable (and delivered) */
    uint64_t bytes;     /* bytes in its segment files */
    uint64_t segments;  /* segment files */
};
/* All zero for a stream without a store. */
void wr_stream_info(const struct wr_queue *q, struct wr_stream_info *out);
/* Retention: deletes segments from the head while the stream is over its
 * max-length-bytes or its oldest segment is older than max-age (wall
 * clock, ms). Returns how many segments went. */
unsigned wr_stream_retain(struct wr_queue *q, int64_t wall);

/* Expires every message whose deadline is at or before now (each dies
 * with WR_DEAD_EXPIRED), wherever it is in the queue: O(log n) each, no
 * scan. Returns how many. */
static inline uint64_t
wr_queue_expire(struct wr_queue *q, int64_t now)
{
    return q->kind->expire(q, now);
}

/* The earliest deadline of a stored message into *at; false when none. */
static inline bool
wr_queue_next_deadline(const struct wr_queue *q, int64_t *at)
{
    return q->kind->next_deadline(q, at);
}

/* Non-destructive peek: copies up to n ready entries in the order they
 * would be delivered into out, skipping those already expired at now.
 * Nothing moves, nothing is marked redelivered. out[i].msg is borrowed:
 * valid until the queue changes (wr_msg_ref it to keep it). Returns how
 * many were copied. */
static inline size_t
wr_queue_peek(const struct wr_queue *q, int64_t now, struct wr_qentry *out,
              size_t n)
{
    return q->kind->peek(q, now, out, n);
}

/* Kills m (takes the reference) with reason why through hooks->dead,
 * counting it (expired, dropped, dead_lettered). For the kinds. */
void wr_queue_dead(struct wr_queue *q, struct wr_msg *m,
                   enum wr_dead_reason why);

/* Attaches a consumer (the caller owns c, and sets c->priority and
 * c->no_ack first). WR_OK or WR_ERR_NOMEM. */
int wr_queue_consumer_add(struct wr_queue *q, struct wr_consumer *c);
/* Detaches a consumer; with single active consumer the next one in
 * registration order becomes active. Its unacked entries stay unacked. */
void wr_queue_consumer_remove(struct wr_queue *q, struct wr_consumer *c);
/* The consumer that receives on a single-active-consumer queue (the
 * earliest registered), or NULL (none, or not such a queue). */
struct wr_consumer *wr_queue_active_consumer(const struct wr_queue *q);

#endif
