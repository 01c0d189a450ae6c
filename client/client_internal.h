/* SPDX-License-Identifier: MIT */
/* libwarren internals shared by the files of client/: the connection and
 * channel structs, the I/O pump, the frame dispatcher and the TLS seam. */
#ifndef WR_CLIENT_INTERNAL_H
#define WR_CLIENT_INTERNAL_H

#include "warren.h"

#include "../common/common.h"
#include "../common/list.h"
#include "../protocol/protocol.h"

#define WR_CLIENT_IN_INITIAL (128 * 1024) /* input buffer, grows per frame */
#define WR_CLIENT_READ_MIN 16384   /* compact when less is free at the end */
#define WR_CLIENT_FLUSH_AT 65536   /* WARREN_MORE batches flush past this */
#define WR_CLIENT_FRAME_MAX 131072 /* frame-max we ask for */
#define WR_CLIENT_CHANNEL_MAX 2047 /* channel-max we ask for */
#define WR_CLIENT_MAX_BODY (512u * 1024 * 1024) /* largest body accepted */
#define WR_CLIENT_DEFAULT_TIMEOUT 30000         /* ms: connect and RPC */

enum wr_client_state {
    WR_CLIENT_NEW,       /* not connected yet */
    WR_CLIENT_HANDSHAKE, /* TCP up, AMQP handshake running */
    WR_CLIENT_OPEN,
    WR_CLIENT_CLOSING, /* we sent connection.close */
    WR_CLIENT_DEAD,    /* socket closed; only freeing is left */
};

enum wr_ch_state {
    WR_CH_OPENING, /* channel.open sent */
    WR_CH_OPEN,
    WR_CH_CLOSING, /* we sent channel.close; other frames are dropped */
    WR_CH_CLOSED,  /* the broker closed it (or the connection died) */
};

enum wr_asm_state {
    WR_ASM_IDLE,
    WR_ASM_HEADER, /* content method seen, header frame next */
    WR_ASM_BODY,   /* header seen, body frames next */
};

/* A synchronous request waiting for its reply (AMQP 0-9-1 section 2.3.3:
 * one at a time per channel). */
struct wr_client_rpc {
    uint32_t expect[2]; /* reply method ids (0: unused) */
    bool done;
    int err;                /* WR_OK, or why it finished without reply */
    struct wr_method reply; /* views into conn->in: valid until the next
                               read, i.e. until the caller's next I/O */
};

struct wr_client_consumer {
    struct wr_list link;   /* in channel->consumers */
    warren_delivery_cb cb; /* NULL: queue copies for next_delivery */
    void *arg;
    char tag[WARREN_TAG_MAX];
};

/* An owned delivery: one allocation holding the struct and its bytes. */
#define WR_CLIENT_OWNED_MAGIC 0x77726476u /* "wrdv" */
struct wr_client_owned {
    uint32_t magic;
    struct wr_list link; /* in conn->pending while queued */
    struct warren_delivery d;
    uint8_t data[];
};

struct warren_channel {
    struct warren_conn *conn; /* owner */
    uint16_t id;
    uint8_t state;             /* enum wr_ch_state */
    struct warren_close close; /* valid when state == WR_CH_CLOSED */
    struct wr_client_rpc rpc;
    struct warren_delivery *got; /* basic.get result, owned until taken */
    struct wr_list consumers;    /* struct wr_client_consumer */

    /* Content assembly (AMQP 0-9-1 section 4.2.6): the method and header
     * payloads are copied to asm (small); the body is viewed in place when
     * it came in one frame, else copied after them. */
    uint8_t asm_state; /* enum wr_asm_state */
    uint8_t *asm_buf;  /* owned; grows to the largest message seen */
    size_t asm_cap;
    uint32_t asm_mlen, asm_hlen;
    uint64_t body_size, body_got;

    /* Publisher confirms: seqs [conf_low, next_seq) are outstanding or
     * confirmed out of order (bit set in the ring conf_bits). */
    bool confirming;
    bool nacked;          /* a nack since the last wait_confirms */
    uint64_t next_seq;    /* seq of the next publish (1-based) */
    uint64_t conf_low;    /* lowest unconfirmed seq */
    uint64_t unconfirmed; /* outstanding count */
    uint64_t *conf_bits;  /* owned ring, conf_nbits bits (power of two) */
    size_t conf_nbits;
};

struct wr_client_tls;

struct warren_conn {
    uint8_t state; /* enum wr_client_state */
    int dead_rc;   /* the code the call that lost the connection returned */
    int fd;
    struct wr_client_tls *tls; /* owned; NULL for amqp:// */

    /* Settings. */
    int connect_ms, rpc_ms;
    int heartbeat_want;                   /* -1: the broker's */
    char *ca_file, *cert_file, *key_file; /* owned */
    char *client_name;                    /* owned; connection_name */
    bool tls_verify;
    struct warren_callbacks cb;

    /* Negotiated by connection.tune (section 1.4.2.6). */
    uint16_t channel_max;
    uint16_t heartbeat; /* seconds, 0 = off */
    uint32_t frame_max;
    bool sent_start_ok; /* EOF after this and before tune: login refused */

    /* Input: frames are decoded in place from in[in_r..in_w). The buffer
     * is only compacted or grown by a read made while dispatching == 0,
     * so views into it stay valid while frames are being handled. */
    uint8_t *in; /* owned */
    size_t in_r, in_w, in_cap;
    int dispatching; /* > 0 while a frame (or its callback) is handled */
    int in_callback; /* > 0 while user code runs: no waiting calls */
    short rd_events; /* what the TLS layer needs to make a read progress */
    short wr_events;

    /* Output: whole frames, written from out[out_off..out_len). */
    uint8_t *out; /* owned */
    size_t out_off, out_len, out_cap;
    int64_t last_recv, last_send; /* monotonic ms, for heartbeats */

    struct wr_client_rpc rpc0;     /* connection-class requests (channel 0) */
    struct warren_channel **chans; /* owned array indexed by channel id */
    size_t nchans;                 /* length of chans */
    uint16_t last_id;              /* last channel number handed out */
    struct wr_list pending;        /* owned deliveries for next_delivery */
    int pending_err; /* a delivery was lost to OOM: next_delivery says so */

    struct warren_close last_close;
    bool has_close;
    uint8_t *server_props; /* owned copy of connection.start's table */
    uint32_t server_props_len;
};

/* ---- io.c ------------------------------------------------------------ */

/* Monotonic clock in milliseconds. */
int64_t wr_client_now(void);
/* now + ms, or -1 (no deadline) for ms < 0. */
int64_t wr_client_deadline(int ms);

/* poll() for events on fd until deadline (-1: none). WR_OK, WR_ERR_TIMEOUT
 * or WR_ERR_IO. */
int wr_client_wait_fd(int fd, short events, int64_t deadline);

/* Resolves host and connects a non-blocking TCP socket (then TLS when
 * c->tls settings say so) before deadline. Sets c->fd and c->tls. Returns
 * WR_OK or fails the connection (WR_ERR_IO, WARREN_ERR_TLS,
 * WR_ERR_TIMEOUT). */
int wr_client_io_connect(struct warren_conn *c, const char *host, int port,
                         bool tls, const char *sni, int64_t deadline);

/* Reads at least one byte into c->in, waiting until deadline (-1: none).
 * Meanwhile writes pending output, sends heartbeats when idle and fails
 * the connection when the broker has been silent for two intervals.
 * Requires dispatching == 0. Returns WR_OK, WR_AGAIN (deadline) or the
 * fatal code (the connection is then dead). */
int wr_client_io_read(struct warren_conn *c, int64_t deadline);

/* Writes all pending output before deadline, reading (not dispatching)
 * input meanwhile when that cannot move views. Returns WR_OK, WR_AGAIN
 * (deadline; output kept) or the fatal code. */
int wr_client_io_flush(struct warren_conn *c, int64_t deadline);

/* wr_client_io_flush with the RPC timeout; a timeout is fatal. */
int wr_client_flush(struct warren_conn *c);

/* Makes room for n more bytes of output. WR_OK or WR_ERR_NOMEM. */
int wr_client_out_reserve(struct warren_conn *c, size_t n);

/* Appends a method frame for channel to the output. WR_OK, WR_ERR_INVALID
 * (a short string over 255 bytes, or larger than frame-max), or
 * WR_ERR_NOMEM. Nothing is appended on error. */
int wr_client_send_method(struct warren_conn *c, uint16_t channel,
                          const struct wr_method *m);

/* Marks c dead with why (why->error becomes dead_rc), closes the socket,
 * marks every channel closed and, with notify, calls on_close. A no-op
 * when already dead. */
void wr_client_teardown(struct warren_conn *c, const struct warren_close *why,
                        bool notify);
/* The connection is lost: records why (reply_code 0 unless a close
 * method was exchanged), closes the socket, marks every channel closed and
 * calls on_close. A no-op when already dead. Returns c->dead_rc. */
int wr_client_fail(struct warren_conn *c, int rc, uint16_t reply_code,
                   uint32_t method, bool by_broker, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* A protocol violation by the broker: sends connection.close with
 * reply_code (501, 502, 505, ...) best effort, then wr_client_fail with
 * WARREN_ERR_PROTOCOL. */
int wr_client_fail_protocol(struct warren_conn *c, uint16_t reply_code,
                            uint32_t method, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Logs through on_log when set and level is enabled. */
void wr_client_log(struct warren_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills a close record; text is a view (truncated to 255 bytes). */
void wr_client_close_set(struct warren_close *w, uint16_t channel,
                         uint16_t code, struct wr_bytes text, uint32_t method,
                         bool by_broker, int error);

/* ---- conn.c ---------------------------------------------------------- */

/* Reads and dispatches frames until ready(c, arg) is true or deadline
 * passes. Dispatch stops right after the frame that made ready true, so a
 * reply's views stay valid. Returns WR_OK, WR_AGAIN (deadline) or the
 * fatal code. Requires dispatching == 0. */
int wr_client_wait(struct warren_conn *c, int64_t deadline,
                   bool (*ready)(struct warren_conn *c, void *arg), void *arg);

/* Entry checks for calls that wait: WARREN_ERR_INVALID in a callback,
 * WARREN_ERR_CONNECTION_CLOSED when not open, else WR_OK. */
int wr_client_check_wait(struct warren_conn *c);

/* ---- channel.c ------------------------------------------------------- */

/* Handles a frame on channel ch (never 0). Returns WR_OK or the fatal
 * code after failing the connection. */
int wr_client_channel_frame(struct warren_channel *ch,
                            const struct wr_frame *f);
/* Marks ch closed with why (no wire traffic) and wakes its RPC. */
void wr_client_channel_mark_closed(struct warren_channel *ch,
                                   const struct warren_close *why);
/* The consumer with this tag on ch, or NULL. */
struct wr_client_consumer *wr_client_find_consumer(struct warren_channel *ch,
                                                   struct wr_bytes tag);
/* Frees ch and its state (not the slot in conn->chans). */
void wr_client_channel_free(struct warren_channel *ch);
/* Sends m on ch and waits for expect (or expect2). Returns WR_OK with
 * ch->rpc.reply (views valid until the caller's next I/O), or the
 * documented codes; a missing reply is fatal (the stream would be out of
 * step otherwise). */
int wr_client_request(struct warren_channel *ch, const struct wr_method *m,
                      uint32_t expect, uint32_t expect2);

/* Whether flags has no bit outside allowed (the API's flag arguments). */
static inline bool
wr_client_flags_ok(int flags, int allowed)
{
    return (flags & ~allowed) == 0;
}

/* An API name argument as bytes; NULL is the empty name. */
static inline struct wr_bytes
wr_client_name(const char *s)
{
    return s ? wr_bytes_str(s) : (struct wr_bytes){(const uint8_t *)"", 0};
}

/* ---- content.c ------------------------------------------------------- */

/* Content frames of a basic.deliver / get-ok / return on ch. Each returns
 * WR_OK or the fatal code after failing the connection. */
int wr_client_content_method(struct warren_channel *ch,
                             const struct wr_frame *f);
int wr_client_content_header(struct warren_channel *ch,
                             const struct wr_frame *f);
int wr_client_content_body(struct warren_channel *ch, const struct wr_frame *f);
/* basic.ack / basic.nack from the broker in confirm mode. */
void wr_client_confirm(struct warren_channel *ch, uint64_t tag, bool multiple,
                       bool ack);
/* Frees a queued or returned owned delivery list entry. */
void wr_client_owned_free(struct wr_client_owned *o);

/* ---- table.c --------------------------------------------------------- */

/* The encoded entries of t as a protocol table view ({NULL, 0} for NULL). */
struct wr_table wr_client_table_view(const struct warren_table *t);

/* ---- url.c ----------------------------------------------------------- */

/* A parsed amqp:// or amqps:// URL. Strings are owned (one allocation
 * each); unset numeric options are -1, unset strings NULL. */
struct wr_client_url {
    bool tls;
    char *host, *user, *pass, *vhost;
    int port;
    int heartbeat;          /* seconds */
    int connection_timeout; /* ms */
    int channel_max;
    int64_t frame_max;
    char *cacertfile, *certfile, *keyfile, *sni;
    int verify; /* -1 unset, 0 verify_none, 1 verify_peer */
};

/* Parses url into *u (see warren_connect_url for the syntax). Returns
 * WR_OK; WR_ERR_INVALID with a reason in err[0..errlen); or WR_ERR_NOMEM.
 * On error *u holds nothing to free. */
int wr_client_url_parse(const char *url, struct wr_client_url *u, char *err,
                        size_t errlen);
/* Frees the strings of u. */
void wr_client_url_cleanup(struct wr_client_url *u);

/* ---- tls.c (the only file that includes OpenSSL) ---------------------- */

struct wr_client_tls_opts {
    const char *ca_file, *cert_file, *key_file; /* NULL: unset */
    const char *host; /* checked against the certificate when verifying */
    const char *sni;  /* server name sent; NULL: host unless it is an IP */
    bool verify;
};

/* Runs a TLS client handshake on connected non-blocking fd before
 * deadline. Returns WR_OK and *out (owned), WARREN_ERR_TLS, WR_ERR_IO,
 * WR_ERR_TIMEOUT or WR_ERR_NOMEM, with a reason in err. */
int wr_client_tls_connect(int fd, const struct wr_client_tls_opts *o,
                          int64_t deadline, struct wr_client_tls **out,
                          char *err, size_t errlen);
/* Reads into buf. Returns WR_OK with *n > 0; WR_OK with *n == 0 at EOF;
 * WR_AGAIN with *events (POLLIN / POLLOUT) to wait for; or WARREN_ERR_TLS
 * / WR_ERR_IO with a reason in err. */
int wr_client_tls_read(struct wr_client_tls *t, void *buf, size_t len,
                       size_t *n, short *events, char *err, size_t errlen);
/* Writes from buf, like wr_client_tls_read (never *n == 0 with WR_OK). */
int wr_client_tls_write(struct wr_client_tls *t, const void *buf, size_t len,
                        size_t *n, short *events, char *err, size_t errlen);
/* Bytes already decrypted and buffered (poll() cannot see them). */
size_t wr_client_tls_pending(struct wr_client_tls *t);
/* Sends close_notify (best effort, never blocks) and frees t. */
void wr_client_tls_free(struct wr_client_tls *t);

#endif
