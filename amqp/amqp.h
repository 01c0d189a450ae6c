/* SPDX-License-Identifier: MIT */
/* amqp/: AMQP 0-9-1 connections and channels on libevent: the handshake
 * and login, the method handlers (one file per class), publish, deliver,
 * confirms, transactions, direct reply-to, memory flow control. */
#ifndef WR_AMQP_H
#define WR_AMQP_H

#include "../vhost/vhost.h"

/* ---- connections ------------------------------------------------------- */

enum wr_conn_state {
    WR_CONN_AWAIT_HEADER,   /* waiting for "AMQP\0\0\x09\x01" */
    WR_CONN_AWAIT_START_OK, /* sent connection.start */
    WR_CONN_AWAIT_TUNE_OK,  /* sent connection.tune */
    WR_CONN_AWAIT_OPEN,     /* got tune-ok */
    WR_CONN_OPEN,
    WR_CONN_CLOSING,  /* sent connection.close, waiting for close-ok */
    WR_CONN_FLUSHING, /* last bytes queued; free once written */
    WR_CONN_DEAD,     /* on the reap list */
};

/* The most bytes of client properties a connection keeps for the API. */
#define WR_CLIENT_PROPS_MAX 2048

/* Counters of a connection or channel and their rates, for the management
 * API's sampler (mgmt/stats.c), kept in the object so that they go with
 * it. */
struct wr_rate_sample {
    uint64_t last[4]; /* the counters at the sampler's last pass */
    float rate[4];    /* per second over the interval before it */
};

struct wr_conn {
    struct wr_server *srv;
    struct bufferevent *bev;
    /* Plain sockets: our own read event (conn.c: sock_read_cb), with the
     * bufferevent's EV_READ never on; NULL for TLS, which reads through
     * the bufferevent. Switched by wr_conn_read_on / _off. */
    struct event *rev;
    struct wr_list link; /* in srv->conns, then srv->reap */
    uint64_t id;
    char peer[64];
    const char *local; /* "ADDR:PORT" of the listener that accepted it (the
                          server's), NULL = srv->bound */
    char host[48];     /* peer address without the port */
    bool loopback;     /* peer address is 127.0.0.0/8 or ::1 */
    bool tls;          /* accepted on the AMQPS listener */
    bool tls_up;       /* TLS handshake finished */
    bool auth_failed;  /* login refused: the close waits on the timer */
    bool blocked_cap;  /* client capability connection.blocked */
    bool published;    /* sent basic.publish at least once */
    bool flow_blocked; /* memory alarm: not reading from this peer */
    bool preferred;    /* consumes: read first (wr_conn_prefer) */
    /* credit flow (credit.c): while credit_queue is set, c is not read
     * from, until that queue's consumers have caught up */
    struct wr_queue *credit_queue; /* reference held */
    struct wr_list credit_link;    /* in srv->credit_waiters */
    uint64_t credit_mark;        /* credit_queue's delivered count seen last */
    int64_t credit_since;        /* ms: when that count last moved */
    int64_t credit_last;         /* ms: last throttled (API state) */
    const void *credit_exempt;   /* a stalled queue, compared only */
    uint64_t credit_exempt_mark; /* its delivered count when it stalled */
    struct wr_user *u;           /* authenticated user (valid while open) */
    char *cert_cn;          /* CN of the verified client certificate, owned */
    char mech[16];          /* mechanism of a refused login */
    struct wr_list vh_link; /* in vh->conns once open */
    enum wr_conn_state state;
    uint32_t frame_max;
    uint16_t channel_max;
    uint16_t heartbeat; /* seconds, 0 = off */
    bool cancel_notify; /* client capability consumer_cancel_notify */
    bool write_blocked; /* output above its bound: deliveries paused */
    bool read_paused;   /* output above its bound: not reading either */
    /* Plain sockets write their output themselves, once per loop turn
     * (wr_conn_flush_all); libevent writes it only while the socket
     * would block (write_waiting). TLS and socket pairs leave every
     * write to libevent. */
    bool direct_write;
    bool write_waiting;
    struct wr_list flush_link; /* in srv->flush while output waits */
    struct wr_vhost *vh;
    char *user;
    char *client_name;     /* connection_name client property, if any */
    uint8_t *client_props; /* start-ok's client-properties table, as
                            * sent (for the API), if at most
                            * WR_CLIENT_PROPS_MAX bytes */
    uint32_t client_props_len;
    struct wr_chan **chans; /* indexed by channel id, size nchans */
    uint32_t nchans;
    uint32_t open_chans;
    struct wr_list exclusive_queues; /* of wr_bqueue.excl_link */
    struct wr_list confirm_chans;    /* channels with confirms to flush */
    /* channels whose consumers got credit back during this read pass,
     * dispatched once at its end (wr_chan_kick_later) */
    struct wr_list kick_chans;
    bool in_read_pass;            /* read_cb is handling frames */
    struct event *timer;          /* heartbeats and handshake timeout */
    int64_t last_recv, last_send; /* monotonic seconds */
    int64_t started;
    uint64_t frames_in;           /* frames received (recv_cnt) */
    uint64_t bytes_in, bytes_out; /* recv_oct, send_oct */
    struct wr_rate_sample rates;  /* of bytes_in, bytes_out */
    bool torn_down;               /* channels and exclusive queues released */
    bool linger; /* sent close-ok: the peer closes the socket first */
};

/* Takes a new socket; tls selects the AMQPS listener's TLS context; local
 * is the listener's "ADDR:PORT" (borrowed: it lives as long as s). */
void wr_conn_accept(struct wr_server *s, int fd, const struct sockaddr *sa,
                    bool tls, const char *local);
/* Serves a new connection from peer address sa on bev (takes ownership:
 * freed with the connection). wr_conn_accept uses it with a socket (or
 * TLS) bufferevent; the connection fuzzer with one end of a
 * bufferevent_pair. Returns the connection. */
struct wr_conn *wr_conn_attach(struct wr_server *s, struct bufferevent *bev,
                               const struct sockaddr *sa, bool tls);
/* Closes the connection with connection.close (AMQP 0-9-1 hard error):
 * every channel is torn down, unacked messages go back to their queues. */
void wr_conn_error(struct wr_conn *c, uint16_t code, uint32_t method_id,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Drops the connection at once (peer vanished, timeout). */
void wr_conn_drop(struct wr_conn *c, const char *why);
/* c consumes: from now on its input (acks) is read before that of
 * connections that only publish, when both are waiting. */
void wr_conn_prefer(struct wr_conn *c);
/* Frees everything; only from the reaper. */
void wr_conn_free(struct wr_conn *c);
/* Writes the output of every connection on s->flush (flush_ev). */
void wr_conn_flush_all(struct wr_server *s);
/* Encodes and queues a method frame on channel ch. */
void wr_conn_send_method(struct wr_conn *c, uint16_t ch,
                         const struct wr_method *m);
/* Queues raw bytes. */
void wr_conn_send_raw(struct wr_conn *c, const void *p, size_t n);
/* The output buffer passed its bound: deliveries to this connection
 * pause until it drains. */
bool wr_conn_can_deliver(const struct wr_conn *c);
/* Server shutdown: connection.close 320 to everyone. */
void wr_conn_shutdown(struct wr_conn *c);
/* c's output buffer, with what c staged (out.c) moved into it. */
struct evbuffer *wr_conn_output(struct wr_conn *c);
/* Bytes of c's output not written yet, the stage's included. */
size_t wr_conn_output_length(struct wr_conn *c);

/* Creates the server's deferred reaper and flush events and sets
 * s->consumer_cancel (conn.c). */
void wr_amqp_init(struct wr_server *s);
/* Frees the connections on s->reap now (from a signal handler, never
 * from a connection's own callback). */
void wr_amqp_reap(struct wr_server *s);
/* Schedules the deferred reaper (frees connections in s->reap). */
void wr_server_schedule_reap(struct wr_server *s);
/* Makes s->flush_ev run at the end of this loop turn. */
void wr_server_schedule_flush(struct wr_server *s);

/* ---- channels ---------------------------------------------------------- */

struct wr_bconsumer {
    struct wr_consumer base;
    struct wr_chan *ch;
    char *tag; /* owned */
    uint8_t tag_len;
    uint16_t prefetch; /* per-consumer limit, 0 = none */
    uint32_t unacked;
    struct wr_list chan_link; /* in ch->consumers */
    uint8_t *args;            /* owned: basic.consume's arguments, for the
                                 API (NULL when it had none) */
    uint32_t args_len;
};

/* One delivery awaiting ack, indexed by delivery tag in the channel ring:
 * which entry of which queue it is. The queue holds the message and
 * settles it (wr_queue_settle). */
struct wr_unacked {
    struct wr_queue *queue;        /* reference held; NULL = settled */
    uint64_t id;                   /* the entry's id in queue */
    uint32_t handle;               /* the queue's handle for it */
    struct wr_bconsumer *consumer; /* for credit; NULL for basic.get */
    int64_t delivered; /* wr_now_ms() when sent (consumer_timeout) */
};

struct wr_tx_op; /* amqp_internal.h */

enum wr_content_state {
    WR_CONTENT_IDLE,
    WR_CONTENT_HEADER, /* after basic.publish, expecting the header */
    WR_CONTENT_BODY,   /* expecting body frames */
};

/* A confirm (seq) or a tx.commit-ok (seq 0) waiting for the msgs/ store's
 * durable position to reach mark (store_wait.c). */
struct wr_swait {
    uint64_t mark, seq;
    uint64_t smark; /* stream generation (runtime/streams.c), 0: none */
    bool nack;      /* a refused publish behind waiting ones: nack it in turn */
};

struct wr_chan {
    struct wr_conn *conn;
    uint16_t id;
    bool closing;            /* sent channel.close, waiting for close-ok */
    bool ctimeout_per_queue; /* delivered from a queue with its own
                              * consumer timeout (ack_timeout.c) */
    bool flow_active;
    bool confirm;
    bool tx;
    /* content assembly */
    enum wr_content_state cstate;
    struct wr_msg *pending;    /* reference held while assembling the body */
    uint64_t pending_received; /* body bytes of pending received so far */
    bool pending_mandatory;
    uint8_t pending_xlen, pending_klen; /* basic.publish's names, until the */
    uint8_t pending_names[510];         /* header says the body size */
    /* consumers */
    struct wr_hmap consumers_by_tag;
    struct wr_list consumers;
    uint16_t prefetch_default; /* basic.qos global=false */
    uint16_t prefetch_global;  /* basic.qos global=true */
    uint32_t unacked_count;
    /* unacked ring: tags [first_tag, next_tag) at index tag & (cap - 1) */
    struct wr_unacked *ring;
    uint64_t ring_cap;
    uint64_t first_tag, next_tag;
    /* publisher confirms */
    uint64_t publish_seq;    /* last sequence number assigned */
    uint64_t confirmed_upto; /* last sequence number confirmed */
    /* message_stats for the API: publishes routed, acked to the publisher
     * under confirms, deliveries (consume and get), acks received */
    uint64_t n_published, n_confirmed, n_delivered, n_acked;
    struct wr_rate_sample rates; /* of those four, in that order */
    struct wr_list confirm_link; /* in conn->confirm_chans when pending */
    struct wr_list kick_link;    /* in conn->kick_chans when pending */
    /* what waits for the disk (store_wait.c): a ring of sw_n entries from
     * sw_head; in srv->store_waiters through store_link while any */
    struct wr_swait *sw;
    uint32_t sw_head, sw_n, sw_cap;
    struct wr_list store_link;
    bool tx_stored; /* this transaction published to a stored queue */
    /* transactions */
    struct wr_tx_op *tx_head, **tx_tail;
    struct wr_route_set route;
    char *last_queue; /* name of the last queue declared (for "" names) */
    /* permission cache: write on exchange perm_x was allowed at perm_gen
     * (perm_gen 0 = nothing cached) */
    char perm_x[256];
    uint16_t perm_x_len;
    uint64_t perm_gen;
    /* direct reply-to: the reply consumer's tag (owned) and the reply-to
     * name requests carry ("amq.rabbitmq.reply-to.<token>") */
    char *reply_tag;
    char reply_key[64];
    struct wr_reply_sink reply_sink; /* in vh->replies under reply_key */
};

struct wr_chan *wr_chan_new(struct wr_conn *c, uint16_t id);
/* Releases everything the channel holds: consumers cancelled, unacked
 * messages requeued (redelivered, original order), pending content and tx
 * dropped. Then frees it. */
void wr_chan_free(struct wr_chan *ch);
/* Handles one frame for an open channel; m is the decoded method for
 * method frames, NULL otherwise. */
void wr_chan_frame(struct wr_chan *ch, const struct wr_frame *f,
                   const struct wr_method *m);
/* Closes the channel with channel.close (AMQP soft error). */
void wr_chan_error(struct wr_chan *ch, uint16_t code, uint32_t method_id,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sends the pending publisher confirms (one basic.ack, multiple when it
 * covers several). */
void wr_chan_flush_confirms(struct wr_chan *ch);
/* Confirms every publish up to upto not confirmed yet: one basic.ack,
 * multiple when it covers several; nothing when none is owed. */
void wr_chan_ack_upto(struct wr_chan *ch, uint64_t upto);
/* store_wait.c: whether m, just routed (ch->route), went to a stored
 * queue as a persistent message: its confirm then waits for the disk. */
bool wr_chan_needs_store(struct wr_chan *ch, const struct wr_msg *m);
/* Holds confirm seq (0: a tx.commit-ok) until the msgs/ store is durable
 * up to its end now; nothing when it already is and nothing waits. */
void wr_chan_store_wait(struct wr_chan *ch, uint64_t seq);
/* Publish seq was refused (basic.nack) while earlier ones wait: the nack
 * goes out in its turn. */
void wr_chan_store_nack(struct wr_chan *ch, uint64_t seq);
/* The last sequence number a basic.ack may cover now. */
uint64_t wr_chan_confirm_limit(const struct wr_chan *ch);
/* The msgs/ store moved (or failed): releases (or nacks) what waits
 * (wr_server.msgs_durable_cb). */
void wr_amqp_store_moved(struct wr_server *s);
/* Drops what the channel waits for (it closes; chan_life.c). */
void wr_chan_store_cleanup(struct wr_chan *ch);
/* basic.nack (multiple) for every publish not confirmed yet. */
void wr_chan_nack_all(struct wr_chan *ch);
/* Re-dispatches every queue this channel consumes from. */
void wr_chan_kick(struct wr_chan *ch);
/* wr_chan_kick at the end of the connection's read pass when in one (the
 * acks of one read refill the window together), else now. */
void wr_chan_kick_later(struct wr_chan *ch);
/* The kicks wr_chan_kick_later deferred on c. */
void wr_chan_kick_pending(struct wr_conn *c);

/* class handlers: return after replying or after wr_chan_error */
void wr_chan_exchange(struct wr_chan *ch, const struct wr_method *m);
void wr_chan_queue(struct wr_chan *ch, const struct wr_method *m);
void wr_chan_basic(struct wr_chan *ch, const struct wr_method *m);
void wr_chan_tx(struct wr_chan *ch, const struct wr_method *m);
void wr_chan_confirm(struct wr_chan *ch, const struct wr_method *m);

/* basic.publish seen: the content header and body follow. */
void wr_chan_content_start(struct wr_chan *ch, struct wr_bytes exchange,
                           struct wr_bytes rkey, bool mandatory);
/* The publish path's frame handlers (publish.c): basic.publish, then the
 * content header and the body frames of the message it announced. */
void wr_chan_basic_publish(struct wr_chan *ch,
                           const struct wr_basic_publish *a);
void wr_chan_content_header(struct wr_chan *ch, const struct wr_frame *f);
void wr_chan_content_body(struct wr_chan *ch, const struct wr_frame *f);
/* A complete message on a transactional channel: kept until tx.commit
 * (chan_tx.c). Takes ownership of the reference m. */
void wr_chan_tx_publish(struct wr_chan *ch, struct wr_msg *m, bool mandatory);
/* A message is complete: routed now, or kept for tx.commit. Takes
 * ownership of the reference m. */
void wr_chan_publish_complete(struct wr_chan *ch, struct wr_msg *m,
                              bool mandatory);
/* Records a delivery in the unacked ring and returns its delivery tag.
 * q == NULL for no-ack deliveries (nothing to remember); otherwise the
 * ring keeps a reference to q and the entry's id and handle, which it
 * gives back to wr_queue_settle. bc is the consumer (NULL for
 * basic.get). */
uint64_t wr_chan_record_delivery(struct wr_chan *ch, struct wr_queue *q,
                                 const struct wr_delivery *d,
                                 struct wr_bconsumer *bc);
/* Sends method mth (deliver, get-ok, return) with m's content on ch.
 * Borrows m. */
void wr_chan_send_content(struct wr_chan *ch, const struct wr_method *mth,
                          struct wr_msg *m);
/* Builds the message a publish on ch is assembling from its content
 * header and basic.publish's exchange and routing key: checks the expiration
 * property and the CC / BCC headers, strips BCC and rewrites a direct
 * reply-to address (publish.c). Returns a new message whose body the
 * channel fills, or NULL after a channel or connection error. */
struct wr_msg *wr_chan_publish_message(struct wr_chan *ch,
                                       struct wr_bytes exchange,
                                       struct wr_bytes rkey,
                                       const struct wr_content_header *h);
/* basic.publish of a complete message (from chan_basic or tx commit).
 * Takes ownership of the reference m. */
void wr_chan_route_publish(struct wr_chan *ch, struct wr_msg *m,
                           bool mandatory);
/* ack / nack / reject of delivery tag (multiple). requeue for nacks.
 * Returns WR_OK or WR_ERR_NOT_FOUND (unknown tag). */
int wr_chan_settle(struct wr_chan *ch, uint64_t tag, bool multiple, bool ack,
                   bool requeue);
/* Requeues every unacked delivery of the channel (basic.recover). */
void wr_chan_requeue_all(struct wr_chan *ch);
/* Removes a consumer from its queue and the channel; the channel's unacked
 * deliveries for it stay unacked. notify sends basic.cancel to the client. */
void wr_chan_cancel_consumer(struct wr_bconsumer *bc, bool notify);
/* Checks the exclusive owner; sends 405 and returns false if locked. */
bool wr_chan_queue_access(struct wr_chan *ch, struct wr_queue *q,
                          uint32_t method_id);
/* Records an ack / nack / reject on a transactional channel, applied at
 * tx.commit. */
void wr_chan_tx_settle(struct wr_chan *ch, uint32_t method, uint64_t tag,
                       bool multiple, bool ack, bool requeue);
/* Writes prefix + 22 random name characters into out (amq.gen-...,
 * amq.ctag-...). */
void wr_broker_random_name(char *out, size_t cap, const char *prefix);
/* Drops the channel's pending tx ops. */
void wr_chan_tx_cleanup(struct wr_chan *ch);
/* Looks up a queue by name for a method; sends 404 when missing. An empty
 * name cannot be resolved here (no "last declared queue" yet). */
struct wr_queue *wr_chan_find_queue(struct wr_chan *ch, struct wr_bytes name,
                                    uint32_t method_id);

/* Reports err on channel ch for method_id: channel.close, or
 * connection.close when err->hard. */
void wr_chan_op_error(struct wr_chan *ch, uint32_t method_id,
                      const struct wr_op_err *err);

/* ---- direct reply-to (reply_to.c) -------------------------------------- */

/* basic.consume on the pseudo-queue: checks no-ack and that the channel
 * has no reply consumer yet (406 otherwise), registers it, replies. */
void wr_reply_to_consume(struct wr_chan *ch, struct wr_bytes tag, bool no_ack,
                         bool no_wait);
/* Forgets ch's reply consumer if it is tag (or any when tag.ptr is NULL).
 * Returns true when there was one. */
bool wr_reply_to_cancel(struct wr_chan *ch, struct wr_bytes tag);

/* ---- login (login.c) -------------------------------------------------- */

/* Authenticates start-ok's mechanism and response: sets c->u and c->user
 * and returns true, or logs why and returns false. */
bool wr_auth_login(struct wr_conn *c, struct wr_bytes mech,
                   struct wr_bytes resp);
/* The mechanisms offered in connection.start for c (EXTERNAL only on a
 * TLS connection whose peer presented a verified certificate). */
void wr_auth_mechanisms(const struct wr_conn *c, char *out, size_t cap);
/* Milliseconds to hold a refused login before answering, growing with
 * recent failures from the same host (brute-force slowdown). */
uint32_t wr_auth_fail_delay(struct wr_server *s, const char *host);
void wr_auth_fails_cleanup(struct wr_server *s);
/* The open connections of user u (connection.open done), or with
 * channels their open channels: what the user limits count. O(number of
 * connections): used only when a limit is set. */
uint64_t wr_auth_user_count(struct wr_server *s, const struct wr_user *u,
                            bool channels);
/* connection.open: may c's user use vh (permissions, the vhost's
 * max-connections, the user's max-connections, in RabbitMQ's order)?
 * NULL if yes, else the reason for the 530 reply. */
const char *wr_auth_vhost_refusal(struct wr_conn *c, struct wr_vhost *vh,
                                  char *buf, size_t cap);

/* ---- channel permission checks (access.c) ------------------------------ */

/* Channel permission checks (RabbitMQ's mapping). On refusal they close
 * the channel with 403 ACCESS_REFUSED and return false. what is "queue"
 * or "exchange". */
bool wr_access_check(struct wr_chan *ch, enum wr_perm_kind kind,
                     const char *what, struct wr_bytes name,
                     uint32_t method_id);
/* The queue a method names: "" is the channel's last declared queue. */
struct wr_bytes wr_access_qname(const struct wr_chan *ch, struct wr_bytes name);
/* basic.publish: write on the exchange (cached per channel). */
bool wr_access_publish(struct wr_chan *ch, struct wr_bytes exchange);
/* Topic authorisation when x is a topic exchange (publish: write with the
 * routing key; bind: read with the binding key). */
bool wr_access_topic(struct wr_chan *ch, const struct wr_exchange *x,
                     enum wr_perm_kind kind, struct wr_bytes rkey,
                     uint32_t method_id);

/* ---- memory flow control (flow.c) ------------------------------------- */

/* Memory flow control: re-evaluates the watermark; sets or clears the
 * alarm (connection.blocked / unblocked, reading off / on). Cheap when
 * nothing changes. */
void wr_flow_check(struct wr_server *s);
/* c sent basic.publish: under the alarm it is blocked too. */
void wr_flow_on_publish(struct wr_conn *c);
/* An alarm (s->mem_alarm, s->disk_alarm) was set or cleared: blocks every
 * connection that has published while one is on, unblocks all when none
 * is. */
void wr_flow_alarm_changed(struct wr_server *s);
/* disk.c: RabbitMQ's disk alarm. Checks the free space of the filesystem
 * holding the definitions file (else the working directory) at start and
 * every few seconds; below cfg.disk_free_limit, s->disk_alarm is set and
 * publishers are blocked ("low on disk"). */
void wr_disk_init(struct wr_server *s);
void wr_disk_cleanup(struct wr_server *s);
void wr_flow_init(struct wr_server *s);
void wr_flow_cleanup(struct wr_server *s);

/* ---- credit flow (credit.c) -------------------------------------------- */

/* After c's publish was routed to the queues in rs, throttles c (stops
 * reading it) when one of them has consumers and a backlog they are not
 * keeping up with. */
void wr_credit_after_publish(struct wr_conn *c, const struct wr_route_set *rs);
/* Lets throttled connections go on whose queue has drained, lost its
 * consumers, or whose consumers took nothing for a while. Called at the
 * end of every loop turn that wrote output, and by a timer while any
 * connection is throttled. */
void wr_credit_check(struct wr_server *s);
/* "flow" in the API: throttled now or within the last second. */
bool wr_credit_in_flow(const struct wr_conn *c, int64_t now_ms);
/* Drops c's throttle (the connection is closing). */
void wr_credit_forget(struct wr_conn *c);
void wr_credit_init(struct wr_server *s);
void wr_credit_cleanup(struct wr_server *s);
/* ack_timeout.c: RabbitMQ's consumer_timeout. A channel holding a delivery
 * unacknowledged for longer than its queue's timeout (x-consumer-timeout,
 * the consumer-timeout policy key) or else cfg.consumer_timeout is closed
 * with 406 PRECONDITION_FAILED and RabbitMQ's text (its deliveries are
 * requeued, as on any channel close). Checked on a timer (at most every
 * second); 0 turns a timeout off. */
void wr_ack_timeout_init(struct wr_server *s);
void wr_ack_timeout_cleanup(struct wr_server *s);

#endif
