/* SPDX-License-Identifier: MIT */
/* libwarren: a small blocking AMQP 0-9-1 client for warren and RabbitMQ.
 * The whole public API; every type is opaque or plain data. See
 * docs/client.md for a guided tour and examples/ for complete programs. */
#ifndef WARREN_H
#define WARREN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WARREN_VERSION "0.1.0"

/* Marks the library's API. libwarren is built with -fvisibility=hidden, so
 * libwarren.so exports these functions and nothing else. */
#if defined(__GNUC__) || defined(__clang__)
#define WARREN_EXPORT __attribute__((visibility("default")))
#else
#define WARREN_EXPORT
#endif

/* ==== conventions =========================================================
 *
 * Results. Every function that can fail returns int: WARREN_OK (0) or a
 * negative WARREN_* code; values come back through pointer arguments. The
 * codes shared with warren's internals keep their numeric values; the
 * client adds its own from -100 down. After a failure, warren_last_close()
 * says why a channel or the connection closed (reply code and text), so no
 * call returns a two-level reply.
 *
 * Fatal versus not. WARREN_ERR_CONNECTION_CLOSED, WARREN_ERR_IO,
 * WARREN_ERR_PROTOCOL, WARREN_ERR_TIMEOUT, WARREN_ERR_TLS and WARREN_ERR_AUTH
 * mean the connection is gone: every later call on it or its channels
 * returns WARREN_ERR_CONNECTION_CLOSED; free it and connect again.
 * WARREN_ERR_CHANNEL_CLOSED means one channel is gone (the broker closed
 * it): close that channel object and open another. WARREN_AGAIN only means
 * "the timeout you gave expired first"; nothing is wrong.
 *
 * Blocking. Calls that wait for the broker (everything that sends a
 * synchronous AMQP method, and warren_process / warren_next_delivery /
 * warren_wait_confirms) block in poll() until the reply, the per-call
 * timeout, or the connection's RPC timeout (warren_set_timeouts). While
 * they wait they read and dispatch whatever else arrives (deliveries,
 * returns, confirms, closes), send heartbeats when the connection is idle,
 * and give up with WARREN_ERR_TIMEOUT when the broker has sent nothing for
 * two heartbeat intervals. An application that does not call into the
 * library for longer than half a heartbeat interval will miss heartbeats:
 * call warren_process() from its idle loop.
 *
 * Callbacks run inside the call that read the frame (from the calling
 * thread). Inside a callback you may call warren_publish, warren_ack,
 * warren_nack, warren_reject, warren_flush, the warren_table_* and
 * warren_delivery_* functions and the getters; anything that waits for the
 * broker returns WARREN_ERR_INVALID there. Never free a connection or close
 * a channel from a callback: note it and act after the call returns.
 *
 * Views. A struct warren_bytes handed to you is a view into library memory
 * (ptr is not NUL-terminated). It is valid until the callback returns, or
 * for results of calls, until the next call on the same connection, unless
 * the function says otherwise. Copy what you keep (warren_delivery_copy).
 *
 * Threads. There is no internal locking. A connection, its channels, and
 * everything obtained from them belong to one thread at a time; use one
 * connection per thread (or your own mutex around every call on it).
 * Separate connections in separate threads are independent. Exceptions:
 * warren_strerror and warren_version may be called from any thread, and
 * the warren_table_* functions from any thread on distinct tables.
 * Known wart: the library's allocation-statistics counter is a plain
 * global, so thread sanitizers report a (benign) race between threads.
 *
 * Memory. The library allocates through warren's wrappers and returns
 * WARREN_ERR_NOMEM when an allocation fails; it never aborts on OOM. In
 * steady state, publishing allocates nothing and a delivery handed to a
 * callback is not copied. */

/* ---- result codes --------------------------------------------------- */

enum warren_result {
    WARREN_OK = 0,
    WARREN_AGAIN = -1,     /* the caller's timeout expired; not an error */
    WARREN_ERR_NOMEM = -2, /* an allocation failed */
    /* -3 .. -11 are the codec's own codes, listed to keep the numbering.
     * Calls report a broker's bad bytes as WARREN_ERR_PROTOCOL; only the
     * table readers return SYNTAX / FIELD_TYPE / TOO_DEEP, for bytes you
     * passed them. */
    WARREN_ERR_NOSPACE = -3,
    WARREN_ERR_PROTO_HEADER = -4,
    WARREN_ERR_FRAME_END = -5,
    WARREN_ERR_FRAME_SIZE = -6,
    WARREN_ERR_FRAME_TYPE = -7,
    WARREN_ERR_SYNTAX = -8, /* malformed table bytes */
    WARREN_ERR_UNKNOWN_METHOD = -9,
    WARREN_ERR_FIELD_TYPE = -10, /* unknown field type in table bytes */
    WARREN_ERR_TOO_DEEP = -11,
    WARREN_ERR_NOT_FOUND = -12, /* no such key or consumer tag */
    WARREN_ERR_EXISTS = -13,
    WARREN_ERR_INVALID = -14, /* bad argument, or misuse (see each call) */
    WARREN_ERR_CLOSED = -15,
    WARREN_ERR_IO = -16,      /* socket error, or the broker dropped TCP
                                 without connection.close; fatal */
    WARREN_ERR_TIMEOUT = -17, /* broker silent for 2 heartbeat intervals,
                                 or no reply within the connect/RPC
                                 timeout; fatal */
    /* Client codes. */
    WARREN_ERR_CHANNEL_CLOSED = -100,    /* the broker closed the channel */
    WARREN_ERR_CONNECTION_CLOSED = -101, /* the connection is closed */
    WARREN_ERR_PROTOCOL = -102,          /* the broker sent a malformed or
                                            unexpected frame; fatal */
    WARREN_ERR_AUTH = -103,   /* login refused (403) or vhost access refused
                                 (530) during the handshake; fatal */
    WARREN_ERR_TLS = -104,    /* TLS setup, handshake or verification; fatal */
    WARREN_ERR_NACKED = -105, /* publisher confirms: the broker nacked */
};

/* A static, human-readable name for a result code ("timed out", ...).
 * Never NULL. Any thread. */
WARREN_EXPORT const char *warren_strerror(int rc);

/* The library version, WARREN_VERSION at build time. */
WARREN_EXPORT const char *warren_version(void);

/* ---- plain data ------------------------------------------------------ */

/* A view of bytes owned by someone else (see "Views" above). */
struct warren_bytes {
    const void *ptr;
    size_t len;
};

/* Flags. One namespace for every call; each call lists what it accepts
 * and returns WARREN_ERR_INVALID for any other bit. */
enum warren_flag {
    WARREN_PASSIVE = 1 << 0,     /* declare: only check it exists */
    WARREN_DURABLE = 1 << 1,     /* declare: survives a broker restart */
    WARREN_EXCLUSIVE = 1 << 2,   /* queue / consumer: this connection only */
    WARREN_AUTO_DELETE = 1 << 3, /* declare: delete when last user goes */
    WARREN_INTERNAL = 1 << 4,    /* exchange: no direct publishing */
    WARREN_IF_UNUSED = 1 << 5,   /* delete: only if no consumer/binding */
    WARREN_IF_EMPTY = 1 << 6,    /* queue delete: only if empty */
    WARREN_NO_ACK = 1 << 7,      /* consume / get: no acks expected */
    WARREN_NO_LOCAL = 1 << 8,    /* consume: not our own publishes */
    WARREN_MANDATORY = 1 << 9,   /* publish: return it if unroutable */
    WARREN_MULTIPLE = 1 << 10,   /* ack / nack: every tag up to this one */
    WARREN_REQUEUE = 1 << 11,    /* nack / reject / recover: requeue */
    WARREN_MORE = 1 << 12,       /* publish: more follow; don't flush yet */
    WARREN_GLOBAL = 1 << 13,     /* qos: for the whole channel */
};

/* Property flags: which fields of struct warren_props are present. The
 * values are AMQP's property-flag bits (0-9-1 section 4.2.6.1). */
enum warren_prop_flag {
    WARREN_PROP_CONTENT_TYPE = 1 << 15,
    WARREN_PROP_CONTENT_ENCODING = 1 << 14,
    WARREN_PROP_HEADERS = 1 << 13,
    WARREN_PROP_DELIVERY_MODE = 1 << 12,
    WARREN_PROP_PRIORITY = 1 << 11,
    WARREN_PROP_CORRELATION_ID = 1 << 10,
    WARREN_PROP_REPLY_TO = 1 << 9,
    WARREN_PROP_EXPIRATION = 1 << 8,
    WARREN_PROP_MESSAGE_ID = 1 << 7,
    WARREN_PROP_TIMESTAMP = 1 << 6,
    WARREN_PROP_TYPE = 1 << 5,
    WARREN_PROP_USER_ID = 1 << 4,
    WARREN_PROP_APP_ID = 1 << 3,
    WARREN_PROP_CLUSTER_ID = 1 << 2,
};

/* The basic-class message properties. A field is present (sent, or was
 * received) exactly when its WARREN_PROP_* bit is set in flags; absent
 * fields are zero / {NULL, 0} on deliveries. Short strings are at most 255
 * bytes. headers is an encoded AMQP field table (see warren_table_*). */
struct warren_props {
    uint32_t flags; /* WARREN_PROP_* */
    struct warren_bytes content_type;
    struct warren_bytes content_encoding;
    struct warren_bytes headers; /* table body, without its length prefix */
    uint8_t delivery_mode;       /* 1 transient, 2 persistent */
    uint8_t priority;            /* 0..9 */
    struct warren_bytes correlation_id;
    struct warren_bytes reply_to;
    struct warren_bytes expiration; /* milliseconds, as a decimal string */
    struct warren_bytes message_id;
    uint64_t timestamp; /* seconds since the epoch */
    struct warren_bytes type;
    struct warren_bytes user_id;
    struct warren_bytes app_id;
    struct warren_bytes cluster_id;
};

/* What a delivery is. */
enum warren_delivery_kind {
    WARREN_DELIVER = 1, /* basic.deliver, to a consumer */
    WARREN_GET = 2,     /* basic.get-ok, from warren_get */
    WARREN_RETURN = 3,  /* basic.return: an unroutable mandatory publish */
};

/* One message from the broker. Handed to callbacks as a view (valid until
 * the callback returns); warren_get, warren_next_delivery and
 * warren_delivery_copy give you an owned one to release with
 * warren_delivery_free. Views inside an owned delivery live as long as it
 * does. */
struct warren_delivery {
    int kind;                         /* enum warren_delivery_kind */
    struct warren_channel *channel;   /* valid until that channel is closed */
    uint64_t delivery_tag;            /* deliver, get: pass to warren_ack */
    bool redelivered;                 /* deliver, get */
    struct warren_bytes consumer_tag; /* deliver */
    struct warren_bytes exchange;
    struct warren_bytes routing_key;
    uint32_t message_count;         /* get: messages left in the queue */
    uint16_t reply_code;            /* return: e.g. 312 NO_ROUTE */
    struct warren_bytes reply_text; /* return */
    struct warren_props props;
    struct warren_bytes body;
};

/* Why a channel or the connection closed. */
struct warren_close {
    uint16_t channel;    /* 0 for the connection */
    uint16_t reply_code; /* AMQP reply code (404, 406, 320, 501, ...);
                            0 when no close method was exchanged (I/O
                            error, timeout) */
    uint16_t class_id;   /* the method that caused it, when known */
    uint16_t method_id;
    bool by_broker;       /* the broker sent the close method */
    int error;            /* the WARREN_* code the failing call returned */
    char reply_text[256]; /* NUL-terminated */
};

/* ---- callbacks ------------------------------------------------------- */

struct warren_conn;
struct warren_channel;

/* A delivery to a consumer, or a returned message. d is a view valid until
 * the callback returns. */
typedef void (*warren_delivery_cb)(const struct warren_delivery *d, void *arg);
/* The broker closed ch (ch != NULL; reply code in why), or the open
 * connection was closed by the broker or lost (ch == NULL). Runs as soon
 * as the close is read, before the call that read it returns. Not called
 * for closes you asked for (warren_channel_close, warren_close) nor when
 * warren_connect_url fails (its result says why). */
typedef void (*warren_close_cb)(struct warren_conn *c,
                                struct warren_channel *ch,
                                const struct warren_close *why, void *arg);
/* Publisher confirms: the broker acked (ack = true) or nacked seq, and
 * with multiple, every earlier unconfirmed one on ch. */
typedef void (*warren_confirm_cb)(struct warren_channel *ch, uint64_t seq,
                                  bool multiple, bool ack, void *arg);
/* connection.blocked (blocked = true, with the broker's reason) or
 * connection.unblocked (reason ""). While blocked, publishes stall. */
typedef void (*warren_blocked_cb)(struct warren_conn *c, bool blocked,
                                  const char *reason, void *arg);
/* The broker cancelled a consumer (its queue was deleted). */
typedef void (*warren_cancel_cb)(struct warren_channel *ch,
                                 const char *consumer_tag, void *arg);

enum warren_log_level {
    WARREN_LOG_ERROR,
    WARREN_LOG_WARN,
    WARREN_LOG_NOTICE,
    WARREN_LOG_INFO,
    WARREN_LOG_DEBUG,
};
/* A log line (no trailing newline). The library logs nothing elsewhere. */
typedef void (*warren_log_cb)(int level, const char *msg, void *arg);

/* Connection-wide callbacks. Any member may be NULL. arg is passed to
 * every one of them (except delivery callbacks, which have their own). */
struct warren_callbacks {
    warren_close_cb on_close;
    warren_delivery_cb on_return; /* without it returns are dropped */
    warren_confirm_cb on_confirm;
    warren_blocked_cb on_blocked;
    warren_cancel_cb on_cancel;
    warren_log_cb on_log;
    int log_level; /* highest level passed to on_log (WARREN_LOG_*) */
    void *arg;
};

/* ---- connections ----------------------------------------------------- */

/* Allocates an unconnected connection object with the defaults: connect
 * timeout 30 s, RPC timeout 30 s, the broker's heartbeat, TLS peer
 * verification on. Returns WARREN_OK and *out, or WARREN_ERR_NOMEM. The
 * caller owns *out and frees it with warren_conn_free. */
WARREN_EXPORT int warren_conn_new(struct warren_conn **out);

/* Closes the connection if it is still open (as warren_close, errors
 * ignored), then frees it with its channels, undelivered messages and
 * buffers. Owned deliveries you hold stay valid (not their channel
 * pointer). NULL is a no-op. Blocks
 * up to the RPC timeout. Must not be called from a callback. */
WARREN_EXPORT void warren_conn_free(struct warren_conn *c);

/* Copies *cbs into c (the struct may be discarded afterwards). Set them
 * before warren_connect_url to hear about handshake failures in the log.
 * Returns WARREN_OK, or WARREN_ERR_INVALID if cbs is NULL. Never blocks. */
WARREN_EXPORT int warren_set_callbacks(struct warren_conn *c,
                                       const struct warren_callbacks *cbs);

/* connect_ms bounds warren_connect_url (TCP, TLS and AMQP handshakes);
 * rpc_ms bounds each wait for a synchronous reply, a flush, and
 * warren_close. 0 keeps the current value; default 30000 each. A URL's
 * connection_timeout overrides connect_ms. Returns WARREN_OK, or
 * WARREN_ERR_INVALID for negative values. Never blocks. */
WARREN_EXPORT int warren_set_timeouts(struct warren_conn *c, int connect_ms,
                                      int rpc_ms);

/* Heartbeat interval to ask for, in seconds: -1 (default) accepts the
 * broker's proposal, 0 disables heartbeats, n > 0 asks for n (the smaller
 * of n and the broker's proposal when the broker proposes one). A URL's
 * heartbeat parameter overrides it. Returns WARREN_OK, or
 * WARREN_ERR_INVALID outside -1..65535. Call before connecting. */
WARREN_EXPORT int warren_set_heartbeat(struct warren_conn *c, int seconds);

/* A name for this connection, sent as the connection_name client property
 * (RabbitMQ's management UI and warren's API show it; NULL clears). At
 * most 255 bytes; copied. Returns WARREN_OK, WARREN_ERR_INVALID (too long)
 * or WARREN_ERR_NOMEM. Call before connecting. Never blocks. */
WARREN_EXPORT int warren_set_client_name(struct warren_conn *c,
                                         const char *name);

/* TLS settings for amqps:// URLs (ignored for amqp://). ca_file: PEM CA
 * bundle to verify the broker with (NULL: the system's default store).
 * cert_file / key_file: PEM client certificate and key, for brokers that
 * require one (both or neither). verify: check the broker's certificate
 * chain and that it names the host in the URL (default true; turn it off
 * only for tests). The strings are copied. URL parameters cacertfile,
 * certfile, keyfile and verify override these. Returns WARREN_OK,
 * WARREN_ERR_NOMEM, or WARREN_ERR_INVALID (only one of cert/key).
 * Call before connecting. */
WARREN_EXPORT int warren_set_tls(struct warren_conn *c, const char *ca_file,
                                 const char *cert_file, const char *key_file,
                                 bool verify);

/* Connects to the broker named by url and logs in (PLAIN):
 *   amqp[s]://[user[:password]@]host[:port][/vhost][?key=value&...]
 * Defaults: guest:guest, localhost, port 5672 (amqps: 5671), vhost "/".
 * user, password and vhost are percent-decoded ("/%2f" is "/", and so is
 * an empty path). IPv6 hosts go in brackets. Query keys: heartbeat (s),
 * connection_timeout (ms), channel_max, frame_max, and for amqps
 * cacertfile, certfile, keyfile, verify (verify_peer | verify_none),
 * server_name_indication. Unknown keys are an error.
 * Blocks up to the connect timeout (name resolution, done by
 * getaddrinfo, is not bounded by it). Can be called once per object.
 * Returns WARREN_OK, or:
 *   WARREN_ERR_INVALID   bad URL, or already connected
 *   WARREN_ERR_IO        cannot resolve or connect, or the broker hung up
 *   WARREN_ERR_TLS       TLS handshake or certificate verification failed
 *   WARREN_ERR_AUTH      login or vhost refused (reply code in
 *                        warren_last_close; 0 if the broker just hung up
 *                        after start-ok, RabbitMQ's old way of refusing)
 *   WARREN_ERR_PROTOCOL  not an AMQP 0-9-1 broker, or a malformed frame
 *   WARREN_ERR_CONNECTION_CLOSED  the broker closed it (e.g. 320)
 *   WARREN_ERR_TIMEOUT   the handshake took longer than the timeout
 *   WARREN_ERR_NOMEM
 * On failure warren_last_close(c) explains it; free c afterwards. */
WARREN_EXPORT int warren_connect_url(struct warren_conn *c, const char *url);

/* Closes the connection politely (connection.close 200, waits for
 * close-ok up to the RPC timeout) and the socket. Channels become closed;
 * free c afterwards. Returns WARREN_OK (also if it was already closed) or
 * WARREN_ERR_INVALID when called from a callback. Problems during the
 * close (I/O, timeout) are ignored: the socket is closed either way. */
WARREN_EXPORT int warren_close(struct warren_conn *c);

/* true while the connection is open (handshake done, not closed). */
WARREN_EXPORT bool warren_is_open(const struct warren_conn *c);

/* The most recent close of the connection or any of its channels, or NULL
 * if none happened. Valid until the next call on c. */
WARREN_EXPORT const struct warren_close *
warren_last_close(const struct warren_conn *c);

/* The broker's server-properties table (product, version, capabilities)
 * as an encoded table for warren_table_get / warren_table_next. A view
 * valid until c is freed; empty before the handshake. */
WARREN_EXPORT struct warren_bytes
warren_server_properties(const struct warren_conn *c);

/* Waits up to timeout_ms (0: don't wait, -1: forever) for frames and
 * dispatches everything that arrived: deliveries to consumer callbacks,
 * returns, confirms, cancels and closes to the connection callbacks.
 * Sends pending output and heartbeats. This is the consumer's loop.
 * Returns WARREN_OK once it dispatched at least one frame, WARREN_AGAIN if
 * the timeout expired with nothing received, or:
 *   WARREN_ERR_CONNECTION_CLOSED  the broker closed the connection (now or
 *                                 before)
 *   WARREN_ERR_IO, WARREN_ERR_PROTOCOL, WARREN_ERR_TIMEOUT (missed
 *   heartbeats), WARREN_ERR_TLS, WARREN_ERR_NOMEM: the connection is lost
 *   WARREN_ERR_INVALID  called from a callback
 * A channel closed by the broker is reported through on_close, not here. */
WARREN_EXPORT int warren_process(struct warren_conn *c, int timeout_ms);

/* Writes everything buffered (publishes made with WARREN_MORE) to the
 * socket. Blocks until written or the RPC timeout. Returns WARREN_OK,
 * WARREN_ERR_CONNECTION_CLOSED, WARREN_ERR_IO, WARREN_ERR_TLS or
 * WARREN_ERR_TIMEOUT. Allowed in callbacks. */
WARREN_EXPORT int warren_flush(struct warren_conn *c);

/* The next delivery for a consumer started without a callback (cb NULL in
 * warren_consume), waiting up to timeout_ms (0: don't wait, -1: forever)
 * and dispatching other frames meanwhile. Returns WARREN_OK with *out, an
 * owned copy the caller frees with warren_delivery_free; WARREN_AGAIN with
 * *out = NULL if none arrived in time; or the fatal codes of
 * warren_process (*out = NULL). WARREN_ERR_INVALID in a callback. */
WARREN_EXPORT int warren_next_delivery(struct warren_conn *c, int timeout_ms,
                                       struct warren_delivery **out);

/* Copies d (a view, e.g. in a callback) into one new allocation the
 * caller owns. Returns WARREN_OK and *out, or WARREN_ERR_NOMEM. */
WARREN_EXPORT int warren_delivery_copy(const struct warren_delivery *d,
                                       struct warren_delivery **out);

/* Frees an owned delivery (from warren_delivery_copy, warren_get or
 * warren_next_delivery). NULL is a no-op. Never pass a callback's view. */
WARREN_EXPORT void warren_delivery_free(struct warren_delivery *d);

/* ---- channels -------------------------------------------------------- */

/* Opens a channel (channel.open) on the next free number after the last
 * one handed out. Returns WARREN_OK and *out (owned by c; release it with
 * warren_channel_close), or WARREN_ERR_NOMEM, WARREN_ERR_INVALID (in a
 * callback, or channel_max reached), WARREN_ERR_CHANNEL_CLOSED (refused),
 * or a fatal connection code. Blocks up to the RPC timeout. */
WARREN_EXPORT int warren_channel_open(struct warren_conn *c,
                                      struct warren_channel **out);

/* Closes ch politely if it is still open (channel.close 200, waits for
 * close-ok) and frees it; deliveries for it still waiting for
 * warren_next_delivery are dropped (the broker requeues unacked ones).
 * Returns WARREN_OK also when the broker had closed it or the connection is
 * gone; WARREN_ERR_INVALID in a callback (ch is then not freed); or a fatal
 * connection code if the close handshake failed (ch is freed anyway). */
WARREN_EXPORT int warren_channel_close(struct warren_channel *ch);

/* The channel number (1..channel_max). */
WARREN_EXPORT uint16_t warren_channel_id(const struct warren_channel *ch);

/* true until the broker closes ch or the connection goes away. */
WARREN_EXPORT bool warren_channel_is_open(const struct warren_channel *ch);

/* Why ch was closed by the broker or with its connection, or NULL while
 * it is open. Valid until ch is freed. */
WARREN_EXPORT const struct warren_close *
warren_channel_last_close(const struct warren_channel *ch);

/* Common to the synchronous channel calls below (they block up to the RPC
 * timeout, dispatching other frames meanwhile):
 *   WARREN_OK
 *   WARREN_ERR_CHANNEL_CLOSED  the broker refused and closed the channel
 *                              (404 not found, 403 access refused, 405
 *                              locked, 406 precondition failed: see
 *                              warren_channel_last_close), now or before
 *   WARREN_ERR_INVALID   bad flags or names (> 255 bytes), or called from
 *                        a callback
 *   WARREN_ERR_NOMEM
 *   WARREN_ERR_CONNECTION_CLOSED, WARREN_ERR_IO, WARREN_ERR_PROTOCOL,
 *   WARREN_ERR_TIMEOUT, WARREN_ERR_TLS: the connection is lost.
 * Names are NUL-terminated; args may be NULL (no arguments). */

struct warren_table;

/* exchange.declare. type: "direct", "fanout", "topic", "headers", ...
 * flags: WARREN_PASSIVE, WARREN_DURABLE, WARREN_AUTO_DELETE,
 * WARREN_INTERNAL. Returns the common codes. */
WARREN_EXPORT int warren_exchange_declare(struct warren_channel *ch,
                                          const char *name, const char *type,
                                          int flags,
                                          const struct warren_table *args);

/* exchange.delete. flags: WARREN_IF_UNUSED. Returns the common codes. */
WARREN_EXPORT int warren_exchange_delete(struct warren_channel *ch,
                                         const char *name, int flags);

/* exchange.bind / exchange.unbind (RabbitMQ extension): messages routed to
 * source with a matching key flow on to destination. Common codes. */
WARREN_EXPORT int warren_exchange_bind(struct warren_channel *ch,
                                       const char *destination,
                                       const char *source,
                                       const char *routing_key,
                                       const struct warren_table *args);
WARREN_EXPORT int warren_exchange_unbind(struct warren_channel *ch,
                                         const char *destination,
                                         const char *source,
                                         const char *routing_key,
                                         const struct warren_table *args);

/* What queue.declare-ok says. */
struct warren_queue_info {
    char name[256]; /* NUL-terminated; the broker's name for "" */
    uint32_t message_count;
    uint32_t consumer_count;
};

/* queue.declare. name "" asks the broker to make one up (returned in
 * info->name). flags: WARREN_PASSIVE, WARREN_DURABLE, WARREN_EXCLUSIVE,
 * WARREN_AUTO_DELETE. args: e.g. x-max-priority. info may be NULL.
 * Returns the common codes. */
WARREN_EXPORT int warren_queue_declare(struct warren_channel *ch,
                                       const char *name, int flags,
                                       const struct warren_table *args,
                                       struct warren_queue_info *info);

/* queue.bind / queue.unbind. Common codes. */
WARREN_EXPORT int warren_queue_bind(struct warren_channel *ch,
                                    const char *queue, const char *exchange,
                                    const char *routing_key,
                                    const struct warren_table *args);
WARREN_EXPORT int warren_queue_unbind(struct warren_channel *ch,
                                      const char *queue, const char *exchange,
                                      const char *routing_key,
                                      const struct warren_table *args);

/* queue.purge: drops the ready messages; *count (may be NULL) gets how
 * many. Common codes. */
WARREN_EXPORT int warren_queue_purge(struct warren_channel *ch,
                                     const char *queue, uint32_t *count);

/* queue.delete. flags: WARREN_IF_UNUSED, WARREN_IF_EMPTY. *count (may be
 * NULL) gets the number of messages deleted. Common codes. */
WARREN_EXPORT int warren_queue_delete(struct warren_channel *ch,
                                      const char *queue, int flags,
                                      uint32_t *count);

/* basic.qos: at most prefetch_count unacked deliveries per consumer (or
 * for the channel with WARREN_GLOBAL); 0 is unlimited. Common codes. */
WARREN_EXPORT int warren_qos(struct warren_channel *ch, uint16_t prefetch_count,
                             int flags);

#define WARREN_TAG_MAX 256 /* consumer tags: 255 bytes + NUL */

/* basic.consume: starts delivering queue's messages. tag NULL or "" lets
 * the broker choose; tag_out (NULL, or WARREN_TAG_MAX bytes) gets the tag.
 * flags: WARREN_NO_ACK, WARREN_EXCLUSIVE, WARREN_NO_LOCAL. Each delivery
 * goes to cb(d, arg) as a view; with cb NULL deliveries are copied and
 * queued for warren_next_delivery. Returns the common codes. */
WARREN_EXPORT int warren_consume(struct warren_channel *ch, const char *queue,
                                 const char *tag, int flags,
                                 const struct warren_table *args,
                                 warren_delivery_cb cb, void *arg,
                                 char *tag_out);

/* basic.cancel for one of this channel's consumers; after it returns no
 * more deliveries reach its callback (unacked ones are requeued when the
 * channel closes). Returns the common codes, WARREN_ERR_NOT_FOUND for an
 * unknown tag. */
WARREN_EXPORT int warren_cancel(struct warren_channel *ch, const char *tag);

/* basic.publish of body[0..len) to exchange ("" is the default exchange,
 * which routes by queue name) with routing_key. props may be NULL. flags:
 * WARREN_MANDATORY (unroutable messages come back to on_return), WARREN_MORE
 * (buffer it; the next call without WARREN_MORE, warren_flush or any
 * waiting call sends the batch; a full buffer is sent anyway). Bodies
 * larger than a frame are split. Does not wait for the broker (see
 * warren_confirm_select). Copies everything before returning; allocates
 * nothing in steady state. Allowed in callbacks. Returns WARREN_OK, or
 * WARREN_ERR_INVALID (flags, a short string over 255 bytes, props->headers
 * not a valid table), WARREN_ERR_CHANNEL_CLOSED, WARREN_ERR_NOMEM, or a
 * fatal connection code from the write (blocks up to the RPC timeout when
 * the socket is full, e.g. while the broker blocks publishers). */
WARREN_EXPORT int warren_publish(struct warren_channel *ch,
                                 const char *exchange, const char *routing_key,
                                 int flags, const struct warren_props *props,
                                 const void *body, size_t len);

/* basic.get: fetches one message from queue. flags: WARREN_NO_ACK.
 * Returns WARREN_OK with *out an owned delivery (free it with
 * warren_delivery_free), or WARREN_OK with *out = NULL if the queue was
 * empty; otherwise the common codes (*out = NULL). */
WARREN_EXPORT int warren_get(struct warren_channel *ch, const char *queue,
                             int flags, struct warren_delivery **out);

/* basic.ack / basic.nack / basic.reject of a delivery tag from this
 * channel. ack flags: WARREN_MULTIPLE. nack flags: WARREN_MULTIPLE,
 * WARREN_REQUEUE. reject flags: WARREN_REQUEUE. Asynchronous: they are
 * buffered and sent with the next flush (at the latest when the call
 * returns). Allowed in callbacks. Returns WARREN_OK, WARREN_ERR_INVALID
 * (flags), WARREN_ERR_CHANNEL_CLOSED, or a fatal connection code. An
 * unknown tag makes the broker close the channel (406) later. */
WARREN_EXPORT int warren_ack(struct warren_channel *ch, uint64_t delivery_tag,
                             int flags);
WARREN_EXPORT int warren_nack(struct warren_channel *ch, uint64_t delivery_tag,
                              int flags);
WARREN_EXPORT int warren_reject(struct warren_channel *ch,
                                uint64_t delivery_tag, int flags);

/* basic.recover: redeliver this channel's unacked messages (flags:
 * WARREN_REQUEUE; RabbitMQ requires it). Common codes. */
WARREN_EXPORT int warren_recover(struct warren_channel *ch, int flags);

/* confirm.select: from now on the broker acks or nacks every publish on
 * ch; publishes are numbered 1, 2, ... (warren_next_seq). Common codes. */
WARREN_EXPORT int warren_confirm_select(struct warren_channel *ch);

/* The sequence number the next publish on ch will get in confirm mode,
 * 0 when confirms are off. */
WARREN_EXPORT uint64_t warren_next_seq(const struct warren_channel *ch);

/* Waits until the broker confirmed every publish made so far on ch, up to
 * timeout_ms (0: don't wait, -1: forever; the RPC timeout does not
 * apply), dispatching other frames meanwhile. Returns WARREN_OK when all
 * were acked; WARREN_ERR_NACKED when all are confirmed but at least one
 * was nacked since the previous call (the flag resets); WARREN_AGAIN if
 * some are still outstanding at the timeout; WARREN_ERR_INVALID if
 * confirms are off or in a callback; WARREN_ERR_CHANNEL_CLOSED; or a fatal
 * connection code. */
WARREN_EXPORT int warren_wait_confirms(struct warren_channel *ch,
                                       int timeout_ms);

/* tx.select / tx.commit / tx.rollback: publishes and acks on ch become
 * atomic per commit. Common codes. */
WARREN_EXPORT int warren_tx_select(struct warren_channel *ch);
WARREN_EXPORT int warren_tx_commit(struct warren_channel *ch);
WARREN_EXPORT int warren_tx_rollback(struct warren_channel *ch);

/* ---- field tables ---------------------------------------------------- */

/* A growable encoded AMQP field table, for arguments (x-max-priority,
 * x-match, ...) and the headers property. Not tied to a connection. */

/* Returns WARREN_OK and a new empty table (*out, caller owns it), or
 * WARREN_ERR_NOMEM. */
WARREN_EXPORT int warren_table_new(struct warren_table **out);
/* Frees t. NULL is a no-op. */
WARREN_EXPORT void warren_table_free(struct warren_table *t);

/* Append one entry (keys are not deduplicated; at most 255 bytes). Return
 * WARREN_OK, WARREN_ERR_INVALID (key too long, NULL), WARREN_ERR_NOMEM.
 * add_str: a long string ('S'); add_int: 'I' when it fits in 32 bits,
 * else 'l'; add_bool: 't'; add_double: 'd'; add_table: a copy of sub
 * ('F'). */
WARREN_EXPORT int warren_table_add_str(struct warren_table *t, const char *key,
                                       const char *value);
WARREN_EXPORT int warren_table_add_int(struct warren_table *t, const char *key,
                                       int64_t value);
WARREN_EXPORT int warren_table_add_bool(struct warren_table *t, const char *key,
                                        bool value);
WARREN_EXPORT int warren_table_add_double(struct warren_table *t,
                                          const char *key, double value);
WARREN_EXPORT int warren_table_add_table(struct warren_table *t,
                                         const char *key,
                                         const struct warren_table *sub);

/* The encoded entries of t (what props.headers wants): a view valid until
 * t is changed or freed. */
WARREN_EXPORT struct warren_bytes
warren_table_bytes(const struct warren_table *t);

/* One decoded value. type is the AMQP type octet; the fields that apply:
 *   't'                          b (and i = 0 / 1)
 *   'b' 's' 'I' 'l' (signed)     i
 *   'B' 'u' 'i' 'L' 'T' (unsigned) u (and i = (int64_t)u)
 *   'f' 'd'                      d
 *   'D' (decimal)                u = value, scale
 *   'S' 'x'                      str (a view)
 *   'F' 'A'                      str: the nested encoded table / array
 *   'V'                          nothing */
struct warren_value {
    char type;
    bool b;
    int64_t i;
    uint64_t u;
    double d;
    uint8_t scale;
    struct warren_bytes str;
};

/* Iterates an encoded table (props.headers, warren_table_bytes, a nested
 * 'F' value, warren_server_properties). Start with *pos = 0. Returns
 * WARREN_OK with *key and *val (views into table), WARREN_ERR_NOT_FOUND
 * after the last entry, or WARREN_ERR_SYNTAX / WARREN_ERR_FIELD_TYPE for
 * malformed bytes. */
WARREN_EXPORT int warren_table_next(struct warren_bytes table, size_t *pos,
                                    struct warren_bytes *key,
                                    struct warren_value *val);

/* Looks up the first entry named key. Returns WARREN_OK and *val (views
 * into table), WARREN_ERR_NOT_FOUND, or WARREN_ERR_SYNTAX /
 * WARREN_ERR_FIELD_TYPE for malformed bytes. */
WARREN_EXPORT int warren_table_get(struct warren_bytes table, const char *key,
                                   struct warren_value *val);

#ifdef __cplusplus
}
#endif

#endif
