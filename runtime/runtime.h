/* SPDX-License-Identifier: MIT */
/* runtime/: what every server layer stands on: the configuration
 * (etc/warren.conf), leveled logging, the TLS contexts, the clock, listener
 * helpers and struct wr_server, the one object that holds the event base,
 * the configuration and each layer's state. */
#ifndef WR_RUNTIME_H
#define WR_RUNTIME_H

#include "../auth/auth.h"
#include "../common/hmap.h"
#include "../common/list.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct event;
struct event_base;
struct evconnlistener;
struct sockaddr;
struct wr_consumer;
struct wr_mgmt;
struct wr_server;
struct wr_store;
struct wr_defs_log;

#define WR_PRODUCT "warren"
#define WR_VERSION "0.1.0"

/* ---- configuration (config.c) ------------------------------------------ */

#define WR_PATH_MAX 512

/* TLS protocol versions (ssl_options.versions.N). */
#define WR_TLS_V12 1u
#define WR_TLS_V13 2u

/* listeners.tcp.NAME besides default: at most this many */
#define WR_TCP_EXTRA_MAX 7

/* One more AMQP listener, listeners.tcp.NAME = ADDR:PORT. */
struct wr_listen_spec {
    char name[32];
    char addr[64]; /* an IPv4 or IPv6 literal, or localhost (both) */
    int port;
};

struct wr_config {
    char bind[64]; /* listeners.tcp.default address; localhost = 127.0.0.1
                      and ::1 */
    int port;      /* listeners.tcp.default port, 0 = any */
    /* listeners.tcp.default (or --bind, --port) given: without it and with
     * listeners.tcp.NAME, only those are bound, as RabbitMQ binds only
     * the listeners.tcp.* a file names */
    bool tcp_default_set;
    struct wr_listen_spec tcp_extra[WR_TCP_EXTRA_MAX]; /* listeners.tcp.N */
    unsigned ntcp_extra;
    bool ssl_on;                      /* listeners.ssl.default given */
    char ssl_bind[64];                /* its address ("" = same as bind) */
    int ssl_port;                     /* its port, 0 = any */
    char ssl_cacertfile[WR_PATH_MAX]; /* ssl_options.cacertfile */
    char ssl_certfile[WR_PATH_MAX];   /* ssl_options.certfile */
    char ssl_keyfile[WR_PATH_MAX];    /* ssl_options.keyfile */
    bool ssl_verify_peer;             /* ssl_options.verify */
    bool ssl_fail_if_no_peer_cert;    /* ssl_options.fail_if_no_peer_cert */
    unsigned ssl_versions;            /* WR_TLS_V12 | WR_TLS_V13 */
    char ssl_ciphers[1024];    /* ssl_options.ciphers.N, ':'-joined (TLS 1.2) */
    char ssl_suites[512];      /* ... the TLS_* ones (TLS 1.3) */
    char auth_mechanisms[128]; /* auth_mechanisms.N, space-separated */
    char default_user[128];    /* default_user */
    char default_pass[128];    /* default_pass */
    char default_vhost[128];   /* default_vhost */
    char loopback_users[1024]; /* loopback_users.NAME, comma-separated */
    uint16_t heartbeat;        /* heartbeat (s) offered in connection.tune */
    uint32_t frame_max;        /* frame_max offered in connection.tune */
    uint16_t channel_max;      /* channel_max offered in connection.tune */
    bool channel_flow_pause;   /* channel.flow active=false pauses, not 540 */
    uint64_t max_message_size; /* max_message_size (bytes) */
    uint32_t connection_max;   /* connection_max, 0 = unlimited */
    uint32_t consumer_max;     /* consumer_max_per_channel, 0 = unlimited */
    uint32_t handshake_timeout; /* handshake_timeout (ms) */
    size_t output_limit;        /* per-connection output bound before pausing */
    uint64_t mem_absolute;      /* vm_memory_high_watermark.absolute, 0 = off */
    double mem_relative;        /* vm_memory_high_watermark.relative */
    int mgmt_port;              /* management.tcp.port */
    char definitions_file[WR_PATH_MAX]; /* definitions.file, "" = none */
    uint32_t auth_failure_delay;        /* auth_failure_delay (ms) */
    int log_level;                      /* log.level */
    /* while loading: which list keys were seen (a file's list replaces
     * the default one) */
    unsigned seen_lists;
    char mgmt_bind[64];      /* management.tcp.ip */
    uint32_t stats_interval; /* collect_statistics_interval (ms) */
    size_t mgmt_max_body;    /* management.http.max_body_size (bytes) */
    bool mgmt_ssl_on;        /* management.ssl.port given */
    int mgmt_ssl_port;       /* management.ssl.port, 0 = any */
    char mgmt_ssl_bind[64];  /* management.ssl.ip ("" = management.tcp.ip) */
    char mgmt_ssl_cacertfile[WR_PATH_MAX]; /* management.ssl.cacertfile */
    char mgmt_ssl_certfile[WR_PATH_MAX];   /* management.ssl.certfile */
    char mgmt_ssl_keyfile[WR_PATH_MAX];    /* management.ssl.keyfile */
    char mgmt_ui_dir[WR_PATH_MAX];         /* management.ui.dir, "" = found */
    bool mgmt_ssl_verify_peer;             /* management.ssl.verify */
    bool
        mgmt_ssl_fail_if_no_peer_cert; /* management.ssl.fail_if_no_peer_cert */
    /* config_service.c: running as a service, RabbitMQ's keys */
    char log_file[WR_PATH_MAX];         /* log.file, "" = none */
    int log_file_level;                 /* log.file.level, -1 = log.level */
    bool log_console;                   /* log.console (stderr) */
    int log_console_level;              /* log.console.level, -1 = log.level */
    uint64_t disk_free_limit;           /* disk_free_limit.absolute (bytes) */
    char load_definitions[WR_PATH_MAX]; /* load_definitions, "" = none */
    uint32_t consumer_timeout;          /* consumer_timeout (ms), 0 = off */
    int prometheus_port;                /* prometheus.tcp.port, -1 = off */
    char prometheus_bind[64];           /* prometheus.tcp.ip */
    /* persistence (persist.c, docs/internals/STORE.md) */
    char data_dir[WR_PATH_MAX]; /* data_dir: the stores, locked */
    bool store_sync_background; /* store_sync = background: confirm after
                                   the write, not after the sync */
    /* paging of durable queues (queues/paging.c) */
    uint64_t queue_ram_messages; /* queue_ram_messages */
    uint64_t queue_ram_bytes;    /* queue_ram_bytes */
    double paging_ratio;         /* vm_memory_high_watermark_paging_ratio */
};

/* Fills in the defaults. */
void wr_config_defaults(struct wr_config *cfg);
/* Reads a key = value file. Logs a warning "FILE:LINE: KEY: ignored: no
 * effect in warren" for each RabbitMQ key warren has no use for. On
 * error returns WR_ERR_IO (unreadable file) or WR_ERR_INVALID (a bad
 * line) with a message "FILE:LINE: ..." in err. */
int wr_config_load(struct wr_config *cfg, const char *path, char *err,
                   size_t errlen);
/* Applies one key = value pair (shared by the file, --set and tests).
 * Returns 0, 1 for a key RabbitMQ knows that warren has no use for
 * (accepted, "KEY: ignored: no effect in warren" in err: the caller warns),
 * or WR_ERR_INVALID with a message in err. */
int wr_config_set(struct wr_config *cfg, const char *key, const char *value,
                  char *err, size_t errlen);
/* An address a listener can bind: an IPv4 or IPv6 literal, or localhost
 * (127.0.0.1 and ::1). */
bool wr_config_listen_addr_ok(const char *addr);
/* Checks combinations (certificate files when TLS is on, ...). Returns
 * WR_OK or WR_ERR_INVALID with a message. */
int wr_config_validate(const struct wr_config *cfg, char *err, size_t errlen);
/* Parses a size: bytes, or with a unit k/kB/KiB/M/MB/MiB/G/GB/GiB
 * (RabbitMQ's information units). Returns WR_OK or WR_ERR_INVALID. */
int wr_config_parse_size(const char *v, uint64_t *out);
/* The memory watermark in bytes: absolute when set, else relative times
 * physical memory. */
uint64_t wr_config_watermark(const struct wr_config *cfg);
/* config_service.c: the keys for running as a service (log.*,
 * disk_free_limit.*, load_definitions, consumer_timeout, prometheus.*).
 * Returns 0, WR_ERR_INVALID with a message, or 1 when key is not one of
 * them. */
int wr_config_set_service(struct wr_config *cfg, const char *key,
                          const char *value, char *err, size_t errlen);
/* rabbit_keys.c: whether key is one of RabbitMQ's rabbitmq.conf keys
 * (rabbit_keys.txt, from RabbitMQ's schemas; `$name` there stands for any
 * one segment). */
bool wr_rabbit_key_known(const char *key);
/* Whether user is in loopback_users. */
bool wr_config_loopback_user(const struct wr_config *cfg, const char *user);

/* ---- logging (log.c) --------------------------------------------------- */

enum wr_log_level {
    WR_LOG_ERROR,
    WR_LOG_WARN,
    WR_LOG_NOTICE,
    WR_LOG_INFO,
    WR_LOG_DEBUG,
};

/* A log.file.level or log.console.level that turns its output off. */
#define WR_LOG_NONE (-2)

extern int wr_log_level;

#define wr_log(level, ...)                                                     \
    do {                                                                       \
        if ((level) <= wr_log_level)                                           \
            wr_log_write((level), __VA_ARGS__);                                \
    } while (0)

void wr_log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* log_sink.c: where lines go. Until wr_log_setup, every line goes to
 * stderr. Then to stderr when console (lines "<N>level message", syslog
 * priorities, when stderr is the journal: systemd's JOURNAL_STREAM) at
 * console_level, and appended to file (unless "") at file_level; -1 for
 * either level means level. Sets wr_log_level to the most verbose.
 * Returns WR_OK, or WR_ERR_IO with a message when file cannot be opened. */
int wr_log_setup(const char *file, int file_level, bool console,
                 int console_level, int level, char *err, size_t errlen);
/* Reopens the log file (after logrotate moved it: SIGUSR1, SIGHUP).
 * Returns WR_OK, or WR_ERR_IO (the old file is kept) with a message in
 * err. */
int wr_log_reopen(char *err, size_t errlen);
/* rabbitmqctl set_log_level: every output at level from now on. */
void wr_log_set_level(int level);
/* The name of a level ("debug" .. "error", "none"). */
const char *wr_log_level_name(int level);
/* Parses RabbitMQ's level names (debug, info, notice, warning, error,
 * critical, alert, emergency, none) and warren's (warn). Returns the level,
 * WR_LOG_NONE for none, or -1 if unknown (a lookup sentinel, not a
 * status code). */
int wr_log_parse_any_level(const char *s);
/* Closes the log file. */
void wr_log_close(void);
/* Writes one formatted line ("TIMESTAMP LEVEL message" in stamped, the
 * message alone in msg) to the outputs that take level. */
void wr_log_emit(int level, const char *stamped, const char *msg);

/* Parses "error", "warn", "notice", "info", "debug"; the level, or -1 if
 * unknown (a lookup sentinel, not a status code). */
int wr_log_parse_level(const char *s);
/* Writes a printable, bounded sample of bytes (non-printables as '.') into
 * out (cap bytes, NUL-terminated). */
void wr_log_sample(char *out, size_t cap, const void *p, size_t n);

/* ---- TLS (tls.c) ------------------------------------------------------- */

struct wr_config;
struct wr_tls;
struct bufferevent;
struct event_base;

/* Routes OpenSSL's allocations through wr_malloc (memory accounting).
 * Call before any other OpenSSL use. */
void wr_tls_global_init(void);
/* Which keys a context is built from. */
enum wr_tls_use {
    WR_TLS_AMQPS, /* ssl_options.* */
    WR_TLS_MGMT,  /* management.ssl.* files and verify mode; ssl_options
                     versions and ciphers */
};

/* Builds a server context from cfg (certificate, key, CA, verify mode,
 * versions, ciphers). Returns NULL with a message naming the key at fault
 * in err. */
struct wr_tls *wr_tls_new(const struct wr_config *cfg, enum wr_tls_use use,
                          char *err, size_t errlen);
/* Rebuilds the context from the files (SIGHUP). New connections use the
 * new one; open connections keep theirs. On failure the old context stays
 * and WR_ERR_INVALID is returned with a message. */
int wr_tls_reload(struct wr_tls *t, const struct wr_config *cfg, char *err,
                  size_t errlen);
void wr_tls_free(struct wr_tls *t);
/* A server-side (accepting) TLS bufferevent on fd, or NULL. fd may be -1
 * when the owner sets it later (evhttp's bevcb). */
struct bufferevent *wr_tls_bev_new(struct wr_tls *t, struct event_base *base,
                                   int fd);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for an established connection. */
void wr_tls_describe(struct bufferevent *bev, char *out, size_t cap);
/* CN of the peer's certificate if it presented one that verified; false
 * otherwise. */
bool wr_tls_peer_cn(struct bufferevent *bev, char *out, size_t cap);
/* Why the TLS layer failed (OpenSSL error queue and verify result). */
void wr_tls_error(struct bufferevent *bev, char *out, size_t cap);

/* ---- clock and addresses (clock.c, net.c) ------------------------------ */

/* Milliseconds on the monotonic clock: the `now` queues/ are given. */
int64_t wr_now_ms(void);
/* Seconds on the monotonic clock (heartbeats, connection ages). */
int64_t wr_now(void);
/* true for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 (RabbitMQ's
 * loopback test for loopback_users). */
bool wr_addr_is_loopback(const struct sockaddr *sa);
/* Makes listener l pause for 100 ms when accept fails (out of file
 * descriptors) instead of waking again at once, forever, and logs that
 * at most once a second. For a listener that lives as long as the event
 * base (the HTTP API's); the AMQP listeners have their own. */
void wr_listener_pause_on_error(struct evconnlistener *l);

/* ---- timers (timer.c) ------------------------------------------------- */

/* A timer on the server's event loop, for the layers that do not see
 * libevent (vhost/). */
struct wr_timer;
typedef void (*wr_timer_cb)(void *arg);
/* A timer of s's loop that calls cb(arg) when it fires; not armed. */
struct wr_timer *wr_timer_new(struct wr_server *s, wr_timer_cb cb, void *arg);
/* Fires once, ms from now (at once when ms <= 0), replacing the time it
 * was armed for. */
void wr_timer_arm(struct wr_timer *t, int64_t ms);
/* Runs the callback after the event being handled, in this loop turn. */
void wr_timer_defer(struct wr_timer *t);
/* Stops and frees t (NULL is fine); safe inside its own callback. */
void wr_timer_free(struct wr_timer *t);

/* ---- the server -------------------------------------------------------- */

/* Event priorities (fairness, docs/internals/FLOW.md): a loop turn runs
 * the ready events of the first level that has any, and only those. */
#define WR_PRIO_CONSUMERS 0 /* consuming connections, the output flush */
#define WR_PRIO_LEVELS 2    /* 1, event_new's default: everything else */

struct wr_tls;

/* The server: the event base, the configuration, and each layer's state.
 * broker/ sets it up and tears it down (broker.h). */
struct wr_server {
    struct event_base *base;
    /* The AMQP and AMQPS listeners (localhost is two: 127.0.0.1, ::1). */
    struct wr_listener {
        struct evconnlistener *l;
        struct wr_server *srv;
        bool tls;
        char bound[64]; /* "127.0.0.1:5672", "[::1]:5672" */
    } listeners[2 * (WR_TCP_EXTRA_MAX + 2)];
    unsigned nlisteners;
    struct wr_tls *tls; /* server TLS context (tls.c) */
    struct wr_config cfg;
    struct wr_hmap vhosts;     /* name -> struct wr_vhost (vhost/) */
    struct wr_users users;     /* users, tags, permissions (auth/) */
    struct wr_hmap auth_fails; /* peer host -> failures (amqp/login.c) */
    struct event *sig_hup;     /* reloads TLS certificates */
    /* memory flow control (amqp/flow.c) */
    uint64_t watermark; /* bytes; 0 = off */
    bool mem_alarm;     /* above the watermark: publishers blocked */
    /* disk alarm (amqp/disk.c): free space below disk_free_limit */
    bool disk_alarm;
    uint64_t disk_free;    /* bytes free at the last check */
    bool disk_warned;      /* a directory could not be checked */
    struct event *disk_ev; /* checks it every few seconds */
    struct event *flow_ev; /* polls memory while the alarm is on */
    /* credit flow (amqp/credit.c) */
    struct wr_list credit_waiters; /* throttled wr_conn.credit_link */
    struct event *credit_ev;       /* re-checks them while there are any */
    struct event
        *ctimeout_ev;      /* consumer_timeout checks (amqp/ack_timeout.c) */
    uint64_t mem_peak;     /* highest wr_alloc_used() seen by the alarm */
    struct wr_list conns;  /* of wr_conn.link (amqp/) */
    struct wr_list reap;   /* closed connections waiting to be freed */
    struct event *reap_ev; /* deferred free (STYLE 5.9) */
    struct wr_list flush;  /* connections with output to write this turn */
    /* writes them before the loop sleeps: flush_ev at the consumers'
     * priority, flush_low at everything else's (wr_server_flush_soon) */
    struct event *flush_ev, *flush_low;
    /* small deliveries encoded back to back for one connection (amqp/
     * out.c: wr_conn_stage), moved to its output in one evbuffer_add;
     * stage_conn is a struct wr_conn, NULL when the stage is empty */
    void *stage_conn;
    uint8_t *stage;
    size_t stage_len;
    /* inside event_base_dispatch: libevent's running event may be asked
     * (it dereferences a null one outside the loop) */
    bool dispatching;
    struct event *sig_int, *sig_term, *sig_pipe, *sig_usr1;
    struct event *stop_ev;   /* shutdown deadline */
    struct event *accept_ev; /* resumes accepting after EMFILE */
    bool accept_failing;     /* logged an accept error, none since */
    uint64_t next_conn_id;
    uint32_t nconns;
    bool stopping;
    char bound[96];       /* the first AMQP listener's "127.0.0.1:5672" */
    char ssl_bound[96];   /* same for AMQPS */
    struct wr_mgmt *mgmt; /* the HTTP management API (mgmt/) */
    /* Cancels consumer c of a queue being deleted (its channel forgets
     * it; notify: the client hears basic.cancel, if it asked to). Set by
     * the layer that owns consumers (amqp/, wr_amqp_init); vhost/ calls
     * it and never sees what a consumer is beyond struct wr_consumer. */
    void (*consumer_cancel)(struct wr_consumer *c, bool notify);
    /* Forgets what the management API keeps about queue (queue=true) or
     * exchange `name` of vhost `vhost`, which is being deleted: its rate
     * sample goes with it, not at the sampler's next pass. Set by mgmt/
     * while it runs, else NULL; vhost/ calls it. */
    void (*stats_forget)(struct wr_server *s, const char *vhost, bool queue,
                         const char *name);
    /* persistence (persist.c): data_dir's lock and its two stores */
    int data_lock;                /* flock on data_dir/LOCK, -1 = none */
    struct wr_store *defs;        /* defs/: durable definitions (vhost/) */
    struct wr_store *msgs;        /* msgs/: durable queues' messages */
    struct event *store_ev;       /* their event fds: the durable position */
    struct event *store_ev2;      /* (one event each) */
    struct event *compact_ev;     /* msgs/ compaction's next step */
    int store_failed;             /* errno of the failed store, 0 = fine */
    uint64_t msgs_durable;        /* msgs/ records below this are on disk */
    uint64_t msgs_written;        /* ... below this are written (pwrite) */
    struct wr_list store_waiters; /* channels waiting for it (amqp/) */
    /* Called when a store's durable position moved (or it failed), from
     * the event loop: amqp/ releases confirms, vhost/ finishes a defs/
     * snapshot. Either may be NULL. */
    void (*msgs_durable_cb)(struct wr_server *s);
    /* a store found the disk full (ENOSPC): amqp/disk.c checks it now */
    void (*disk_full_cb)(struct wr_server *s);
    void (*defs_durable_cb)(struct wr_server *s, uint64_t durable);
    struct wr_defs_log *defs_log; /* vhost/durable.c's state */
    /* Runs at the end of a loop turn before the stores are written
     * (vhost/: compaction of defs/), or NULL. */
    void (*defs_before_flush)(struct wr_server *s);
    /* Stream queues' stores (streams.c): appended to in generations, one
     * per loop turn; a confirm for a message into a stream waits until
     * its generation is durable in every stream written in it. */
    struct wr_list pstreams_dirty;   /* of struct wr_pstream, this turn */
    struct wr_list pstreams_waiting; /* flushed, not all durable yet */
    uint64_t stream_gen;             /* the generation being appended */
    uint64_t streams_durable_gen;    /* generations up to this are durable */
    bool stream_gen_used;            /* a confirm waits for stream_gen */
};

/* ---- persistence (persist.c) ------------------------------------------ */

/* Creates dir when missing and locks it (dir/LOCK, flock): WR_OK and the
 * held descriptor in *fd, or WR_ERR_EXISTS (another warren has it) /
 * WR_ERR_IO, logged. */
int wr_persist_lock(const char *dir, int *fd);
/* Creates and locks data_dir (unless s->data_lock is held) and opens its
 * stores, defs/ and msgs/ (not recovered yet: the layers above read them back,
 * then call wr_persist_start). Returns WR_OK, or WR_ERR_EXISTS (another warren
 * has the directory) / WR_ERR_IO, logged. */
int wr_persist_open(struct wr_server *s);
/* Watches the stores' event fds on the loop. */
void wr_persist_start(struct wr_server *s);
/* End of a loop turn (the flush event): writes what was appended this
 * turn and asks for the sync (group commit). */
void wr_persist_flush(struct wr_server *s);
/* Something was appended outside a connection's turn: makes the
 * end-of-turn flush run. */
void wr_persist_dirty(struct wr_server *s);
/* Makes the end-of-turn flush (s->flush_ev) run after the callbacks this
 * turn has still to run at the current priority: from a callback at the
 * lower priority (a publisher's read), its own flush event at that
 * priority, so that the output goes out in the same pass, not after
 * another epoll_wait. */
void wr_server_flush_soon(struct wr_server *s);
/* The failed state (an fsync or write error): logs one ERROR, raises the
 * alarm. Persistent publishes to durable queues are refused after it. */
void wr_persist_fail(struct wr_server *s, struct wr_store *st);
/* A stream queue's store on the loop (streams.c): its event fd watched,
 * flushed at the end of the turns it was appended in (flush(arg) first,
 * for what the stream keeps beside its store; may be NULL). moved(arg)
 * runs when its durable position moved (deliver, apply retention). NULL
 * when out of memory. */
struct wr_pstream;
struct wr_pstream *wr_persist_stream_add(struct wr_server *s,
                                         struct wr_store *st,
                                         void (*flush)(void *arg),
                                         void (*moved)(void *arg), void *arg);
/* It was appended to (or its flush has work) in this turn. */
void wr_persist_stream_dirty(struct wr_server *s, struct wr_pstream *ps);
/* Stops watching it (before its store is closed). ps may be NULL. */
void wr_persist_stream_remove(struct wr_server *s, struct wr_pstream *ps);
/* The generation a confirm for a message appended now waits for. */
static inline uint64_t
wr_persist_stream_mark(struct wr_server *s)
{
    s->stream_gen_used = true;
    return s->stream_gen;
}
/* Wall-clock ms: the time the stores and the records keep. */
int64_t wr_wall_ms(void);
/* Flushes, waits for the last sync and closes the stores and the lock. */
void wr_persist_close(struct wr_server *s);

#endif
