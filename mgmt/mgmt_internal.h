/* SPDX-License-Identifier: MIT */
/* What the management API's files share: the request context, reply
 * helpers, the statistics sampler and the handlers the route table in
 * mgmt.c points at. */
#ifndef WR_MGMT_INTERNAL_H
#define WR_MGMT_INTERNAL_H

#include "mgmt.h"

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

/* ---- JSON <-> AMQP conversions (json.c, jansson): field tables
 * (arguments, headers), basic properties, payload encodings ---- */

/* Largest encoded field table accepted from JSON (arguments, headers). */
#define WR_JSON_TABLE_MAX (1u << 20)

/* A JSON string of bytes p[0..n). Invalid UTF-8 sequences become U+FFFD,
 * so any bytes give a valid string. Returns a new reference. */
json_t *wr_json_bytes(const void *p, size_t n);
/* true when p[0..n) is valid UTF-8 without NUL. */
bool wr_json_utf8_ok(const void *p, size_t n);

/* A JSON object of field table t (validated), as RabbitMQ shows it:
 * integers as numbers, strings and byte arrays as strings, timestamps as
 * numbers, decimals and floats as numbers, void as null, nested tables as
 * objects, arrays as arrays. Returns a new reference. */
json_t *wr_json_from_table(struct wr_table t);
/* Encodes JSON object obj as a field table (RabbitMQ's rules: integers
 * become signed 64-bit 'l', other numbers doubles 'd', strings long
 * strings 'S', booleans 't', null void 'V', arrays 'A', objects 'F'),
 * except that integers that fit take signed 32-bit 'I', as AMQP clients
 * encode them.
 * obj NULL or null gives the empty table. On success *buf is a new
 * allocation (wr_free it) holding the table and *t views it. Returns
 * WR_OK, or WR_ERR_INVALID with a reason in err (not an object, a key
 * longer than 255 bytes, nested too deeply, larger than
 * WR_JSON_TABLE_MAX). */
int wr_json_to_table(const json_t *obj, uint8_t **buf, struct wr_table *t,
                     char *err, size_t errlen);

/* A JSON object of the properties that are present (RabbitMQ's names:
 * content_type, headers, delivery_mode, ...). Returns a new reference. */
json_t *wr_json_from_props(const struct wr_props *p);
/* Reads RabbitMQ's properties object into *p. String fields view obj's
 * strings; headers are encoded into *buf (wr_free it; may stay NULL).
 * Returns WR_OK, or WR_ERR_INVALID with a reason in err (unknown
 * property, wrong type, out of range) and *buf NULL. */
int wr_json_to_props(const json_t *obj, struct wr_props *p, uint8_t **buf,
                     char *err, size_t errlen);

/* Base64 (RFC 4648, with padding). encode returns a new JSON string.
 * decode writes at most cap bytes into out and returns WR_OK and *len,
 * WR_ERR_INVALID on a bad character or length, WR_ERR_NOSPACE. */
json_t *wr_json_b64_encode(const void *p, size_t n);
int wr_json_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                       size_t *len);

/* ---- requests ---- */

#define WR_MGMT_MAX_SEGS 8
#define WR_MGMT_SEG_MAX 1024 /* a decoded path segment, NUL included */

/* ---- statistics ---------------------------------------------------------- */

/* The counters the API reports with rates (message_stats and the
 * messages gauges). Every object kind fills the ones it has. */
enum wr_mgmt_counter {
    WR_MC_PUBLISH,     /* publish (queues, vhosts), publish_in (exchanges) */
    WR_MC_PUBLISH_OUT, /* exchanges: publish_out */
    WR_MC_DELIVER_GET, /* deliveries to consumers and basic.get */
    WR_MC_ACK,
    WR_MC_REDELIVER,
    WR_MC_RETURN,   /* return_unroutable */
    WR_MC_DROP,     /* drop_unroutable */
    WR_MC_CONFIRM,  /* confirm: publishes acked to a confirming publisher */
    WR_MC_MESSAGES, /* gauges: ready + unacknowledged */
    WR_MC_READY,
    WR_MC_UNACKED,
    WR_MC_N,
};

struct wr_mgmt_counters {
    uint64_t v[WR_MC_N];
};

/* Object kinds for samples. */
#define WR_MGMT_K_QUEUE 'q'
#define WR_MGMT_K_EXCHANGE 'e'
#define WR_MGMT_K_VHOST 'v'
#define WR_MGMT_K_ALL 'a'

void wr_mgmt_queue_counters(const struct wr_queue *q,
                            struct wr_mgmt_counters *c);
void wr_mgmt_exchange_counters(const struct wr_exchange *x,
                               struct wr_mgmt_counters *c);
void wr_mgmt_vhost_counters(const struct wr_vhost *vh,
                            struct wr_mgmt_counters *c);
void wr_mgmt_all_counters(struct wr_server *s, struct wr_mgmt_counters *c);
/* Per-second rates over the last sampling interval for an object (zeros
 * before two samples). */
void wr_mgmt_rates(struct wr_mgmt *m, char kind, const char *vhost,
                   const char *name, double rates[WR_MC_N]);
/* Starts the sampling timer. */
void wr_mgmt_stats_start(struct wr_mgmt *m);
void wr_mgmt_stats_cleanup(struct wr_mgmt *m);

/* ---- the server and a request ----------------------------------------------
 */

struct wr_mgmt {
    struct wr_server *srv;
    struct evhttp *http;
    char bound[96];
    struct evhttp *https; /* management.ssl.port, or NULL */
    struct wr_tls *tls;   /* its context (reloaded on SIGHUP) */
    char https_bound[96];
    char node[128];     /* "warren@HOST", RabbitMQ's node name */
    int64_t started_ms; /* realtime, for uptime */
    struct event *sample_ev;
    struct wr_hmap samples;    /* kind vhost \0 name -> struct wr_mgmt_sample */
    uint64_t epoch;            /* sampling pass, for sweeping stale samples */
    int64_t last_sample_ms;    /* monotonic */
    struct wr_route_set route; /* scratch for publish */
    struct evhttp *prom;       /* prometheus.tcp.port, or NULL */
    char prom_bound[96];
};

struct wr_mgmt_req {
    struct wr_mgmt *m;
    struct wr_server *srv;
    struct evhttp_request *req;
    char seg[WR_MGMT_MAX_SEGS][WR_MGMT_SEG_MAX]; /* decoded, after /api/ */
    uint32_t seglen[WR_MGMT_MAX_SEGS];
    int nseg;
    struct evkeyvalq query;
    char user[256];
    struct wr_user *u; /* the authenticated user (valid during the request) */
    const char *tags;  /* u->tags */
    json_t *body;      /* the parsed request body, once read */
    int status;        /* of the reply, once sent */
};

typedef void (*wr_mgmt_handler_cb)(struct wr_mgmt_req *r);

/* Sends j (steals the reference) with status. */
void wr_mgmt_reply(struct wr_mgmt_req *r, int status, json_t *j);
/* Sends an empty reply (201 Created, 204 No Content). */
void wr_mgmt_reply_empty(struct wr_mgmt_req *r, int status);
/* Sends a list, applying the query's columns, sort, sort_reverse and
 * pagination (page, page_size, name, use_regex) as RabbitMQ does. Steals
 * arr. */
void wr_mgmt_reply_list(struct wr_mgmt_req *r, json_t *arr);
/* Turns a list item built for sorting and filtering only into the item
 * sent: returns a new reference. */
typedef json_t *(*wr_mgmt_expand_cb)(void *ctx, json_t *item);
/* wr_mgmt_reply_list where arr holds stubs (enough for the name filter
 * and the sort) and expand builds each item of the page sent. */
void wr_mgmt_reply_list_stubs(struct wr_mgmt_req *r, json_t *arr,
                              wr_mgmt_expand_cb expand, void *ctx);
/* {"error": error, "reason": ...} with status. */
void wr_mgmt_error(struct wr_mgmt_req *r, int status, const char *error,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 404 {"error":"Object Not Found","reason":"Not Found"}. */
void wr_mgmt_not_found(struct wr_mgmt_req *r);
/* Maps an AMQP refusal: 404 not_found, 403 -> 401 not_authorised, others
 * 400 bad_request; the reason reads "PRECONDITION_FAILED - ...". */
void wr_mgmt_op_error(struct wr_mgmt_req *r, const struct wr_op_err *err);

/* The vhost named by segment i, or NULL after replying 404 (no such
 * vhost) or 401 not_authorised (one the user may not see). */
struct wr_vhost *wr_mgmt_vhost(struct wr_mgmt_req *r, int i);
/* RabbitMQ's visibility: administrator and monitoring users see every
 * vhost, others those they have permissions in. */
bool wr_mgmt_vhost_visible(const struct wr_mgmt_req *r, const char *vhost);
/* Monitoring and administrator users see every connection, others their
 * own (rabbit_mgmt_util:filter_conn_ch_list). */
bool wr_mgmt_conn_visible(const struct wr_mgmt_req *r, const struct wr_conn *c);
/* The visible vhosts, sorted (wr_free the array). */
size_t wr_mgmt_visible_vhosts(struct wr_mgmt_req *r, struct wr_vhost ***out);
/* The vhosts a listing covers: the one segment i names when the path has
 * it (false after replying 404), else the visible ones. On true *out
 * holds *n of them (wr_free the array). */
bool wr_mgmt_list_vhosts(struct wr_mgmt_req *r, int i, struct wr_vhost ***out,
                         size_t *n);
/* The AMQP permission check for an API operation by r's user: false after
 * replying 401 not_authorised with the ACCESS_REFUSED text. */
bool wr_mgmt_access(struct wr_mgmt_req *r, struct wr_vhost *vh,
                    enum wr_perm_kind kind, const char *what,
                    struct wr_bytes name);
/* Topic authorisation (x may be NULL or not a topic exchange). */
bool wr_mgmt_access_topic(struct wr_mgmt_req *r, struct wr_vhost *vh,
                          const struct wr_exchange *x, enum wr_perm_kind kind,
                          struct wr_bytes rkey);
/* Writes the definitions file after a change (logged on failure). */
void wr_mgmt_saved(struct wr_mgmt_req *r);
/* Segment i as a byte view. */
struct wr_bytes wr_mgmt_seg(const struct wr_mgmt_req *r, int i);
/* A query parameter, or NULL. */
const char *wr_mgmt_query(struct wr_mgmt_req *r, const char *key);
/* Path segment i naming an exchange: RabbitMQ's "amq.default" is the
 * default exchange "". */
struct wr_bytes wr_mgmt_exchange_seg(const struct wr_mgmt_req *r, int i);
/* Whether the requesting user has tag (administrator, monitoring, ...). */
bool wr_mgmt_has_tag(const struct wr_mgmt_req *r, const char *tag);
/* Whether the requesting user may see everything (administrator or
 * monitoring), as RabbitMQ's is_monitor. */
bool wr_mgmt_is_monitor(const struct wr_mgmt_req *r);
/* The request body as a JSON object (an empty body is {}), or NULL after
 * replying 400. Owned by r. */
json_t *wr_mgmt_body(struct wr_mgmt_req *r);
/* Reads an optional field of a request body. Booleans and integers may
 * also be strings ("true", "10"), as rabbitmqadmin sends them. Return WR_OK,
 * or WR_ERR_INVALID after replying 400. */
int wr_mgmt_field_bool(struct wr_mgmt_req *r, const json_t *o, const char *key,
                       bool def, bool *out);
int wr_mgmt_field_int(struct wr_mgmt_req *r, const json_t *o, const char *key,
                      int64_t def, int64_t lo, int64_t hi, int64_t *out);
int wr_mgmt_field_str(struct wr_mgmt_req *r, const json_t *o, const char *key,
                      const char *def, const char **out, size_t *len);

/* Shared JSON pieces. */
/* "name": count and "name_details": {"rate": r} for counter i. */
void wr_mgmt_json_counter(json_t *o, const char *name, uint64_t v, double r);
/* messages, messages_ready and messages_unacknowledged, each with its
 * _details, from counters and rates (a queue, a vhost, queue_totals). */
void wr_mgmt_json_message_counts(json_t *o, const struct wr_mgmt_counters *c,
                                 const double *rates);
/* The message_stats object from counters and rates; kind selects which
 * counters apply. */
/* Adds recv_oct, send_oct (bytes) and their _details.rate to o. */
void wr_mgmt_json_conn_stats(struct wr_mgmt *m, const struct wr_conn *c,
                             json_t *o);
/* Adds message_stats (publish, confirm, deliver_get, ack with rates) to o. */
void wr_mgmt_json_chan_stats(struct wr_mgmt *m, const struct wr_chan *ch,
                             json_t *o);
json_t *wr_mgmt_json_message_stats(char kind, const struct wr_mgmt_counters *c,
                                   const double *rates);
/* "NAME -> BOUND", RabbitMQ's connection name. */
void wr_mgmt_conn_name(const struct wr_conn *c, char *out, size_t cap);
/* Realtime milliseconds. */
int64_t wr_mgmt_now_ms(void);
/* The properties key of a binding (RabbitMQ's: the escaped routing key,
 * plus "~" and a hash of the arguments when there are any; "~" alone for
 * an empty key without arguments). */
void wr_mgmt_props_key(struct wr_bytes key, struct wr_table args, char *out,
                       size_t cap);
/* Sorted snapshots of a vhost's objects (wr_free the array). */
size_t wr_mgmt_sorted_queues(struct wr_vhost *vh, struct wr_queue ***out);
size_t wr_mgmt_sorted_exchanges(struct wr_vhost *vh, struct wr_exchange ***out);
size_t wr_mgmt_sorted_vhosts(struct wr_server *s, struct wr_vhost ***out);
/* JSON of one consumer, as /api/consumers shows it. */
json_t *wr_mgmt_json_consumer(const struct wr_bconsumer *bc);
/* Resident memory of the process in bytes (0 if unknown). */
uint64_t wr_mgmt_rss(void);
/* JSON of one binding. */
json_t *wr_mgmt_json_binding(const struct wr_vhost *vh,
                             const struct wr_binding *b);
/* The implicit binding of queue q to the default exchange. */
json_t *wr_mgmt_json_default_binding(const struct wr_vhost *vh,
                                     const struct wr_queue *q);

/* ---- handlers (one file per area) ------------------------------------------
 */

/* info.c */
void wr_mgmt_get_overview(struct wr_mgmt_req *r);
void wr_mgmt_get_whoami(struct wr_mgmt_req *r);
void wr_mgmt_get_vhosts(struct wr_mgmt_req *r);
void wr_mgmt_get_vhost(struct wr_mgmt_req *r);
void wr_mgmt_get_nodes(struct wr_mgmt_req *r);
/* {"name": the node name}: one node is its own cluster. */
void wr_mgmt_get_cluster_name(struct wr_mgmt_req *r);
/* log.c: GET / PUT /api/log-level (warren's own). */
void wr_mgmt_get_log_level(struct wr_mgmt_req *r);
void wr_mgmt_put_log_level(struct wr_mgmt_req *r);
void wr_mgmt_get_node(struct wr_mgmt_req *r);
void wr_mgmt_get_connections(struct wr_mgmt_req *r);
void wr_mgmt_get_connection(struct wr_mgmt_req *r);
void wr_mgmt_delete_connection(struct wr_mgmt_req *r);
void wr_mgmt_get_connection_channels(struct wr_mgmt_req *r);
void wr_mgmt_get_channels(struct wr_mgmt_req *r);
void wr_mgmt_get_channel(struct wr_mgmt_req *r);
void wr_mgmt_get_consumers(struct wr_mgmt_req *r);

/* health.c: RabbitMQ's health checks. alarms / local-alarms and the
 * deprecated healthchecks/node answer 503 under the memory alarm; ok is
 * virtual-hosts; single_node is node-is-quorum-critical and
 * node-is-mirror-sync-critical; port- and protocol-listener check segment
 * 3 against the AMQP, AMQPS, HTTP and HTTPS listeners. */
void wr_mgmt_get_aliveness(struct wr_mgmt_req *r);
void wr_mgmt_get_health_alarms(struct wr_mgmt_req *r);
void wr_mgmt_get_health_local_alarms(struct wr_mgmt_req *r);
void wr_mgmt_get_healthchecks_node(struct wr_mgmt_req *r);
void wr_mgmt_get_health_ok(struct wr_mgmt_req *r);
void wr_mgmt_get_health_single_node(struct wr_mgmt_req *r);
void wr_mgmt_get_health_port_listener(struct wr_mgmt_req *r);
void wr_mgmt_get_health_protocol_listener(struct wr_mgmt_req *r);

/* objects.c */
void wr_mgmt_get_exchanges(struct wr_mgmt_req *r);
void wr_mgmt_get_exchange(struct wr_mgmt_req *r);
void wr_mgmt_put_exchange(struct wr_mgmt_req *r);
void wr_mgmt_delete_exchange(struct wr_mgmt_req *r);
void wr_mgmt_get_exchange_bindings(struct wr_mgmt_req *r);
void wr_mgmt_get_queues(struct wr_mgmt_req *r);
void wr_mgmt_get_queue(struct wr_mgmt_req *r);
void wr_mgmt_put_queue(struct wr_mgmt_req *r);
void wr_mgmt_delete_queue(struct wr_mgmt_req *r);
void wr_mgmt_get_queue_bindings(struct wr_mgmt_req *r);
void wr_mgmt_delete_queue_contents(struct wr_mgmt_req *r);
void wr_mgmt_get_bindings(struct wr_mgmt_req *r);
void wr_mgmt_get_bindings_between(struct wr_mgmt_req *r);
void wr_mgmt_post_binding(struct wr_mgmt_req *r);
void wr_mgmt_get_binding(struct wr_mgmt_req *r);
void wr_mgmt_delete_binding(struct wr_mgmt_req *r);

/* msgs.c */
void wr_mgmt_post_publish(struct wr_mgmt_req *r);
void wr_mgmt_post_get(struct wr_mgmt_req *r);
/* GET .../peek?count=N[&encoding=auto|base64][&truncate=N]: the first N
 * ready messages, as POST .../get shows them, without taking, moving or
 * marking any of them (warren's addition; RabbitMQ cannot do this). */
void wr_mgmt_get_peek(struct wr_mgmt_req *r);
/* move.c: POST .../move {"destination", "count"}: ready messages from
 * the head of one queue to the tail of another (warren's addition). */
void wr_mgmt_post_move(struct wr_mgmt_req *r);

/* superstreams.c: /api/stream/super-streams[/{vhost}[/{name}]]: GET
 * (warren's), PUT {"partitions": N} or {"binding-keys": "a,b"} with
 * "arguments" (RabbitMQ's rabbitmq_stream_management), DELETE (warren's). */
void wr_mgmt_get_super_streams(struct wr_mgmt_req *r);
void wr_mgmt_get_super_stream(struct wr_mgmt_req *r);
void wr_mgmt_put_super_stream(struct wr_mgmt_req *r);
void wr_mgmt_delete_super_stream(struct wr_mgmt_req *r);

/* defs.c */
void wr_mgmt_get_definitions(struct wr_mgmt_req *r);
void wr_mgmt_post_definitions(struct wr_mgmt_req *r);

/* users.c: users, vhosts (PUT, DELETE), permissions, topic
 * permissions */
void wr_mgmt_get_users(struct wr_mgmt_req *r);
void wr_mgmt_get_user(struct wr_mgmt_req *r);
void wr_mgmt_put_user(struct wr_mgmt_req *r);
void wr_mgmt_delete_user(struct wr_mgmt_req *r);
void wr_mgmt_get_user_permissions(struct wr_mgmt_req *r);
void wr_mgmt_get_user_topic_permissions(struct wr_mgmt_req *r);
void wr_mgmt_put_vhost(struct wr_mgmt_req *r);
void wr_mgmt_delete_vhost(struct wr_mgmt_req *r);
void wr_mgmt_get_vhost_permissions(struct wr_mgmt_req *r);
void wr_mgmt_get_vhost_topic_permissions(struct wr_mgmt_req *r);
void wr_mgmt_get_permissions(struct wr_mgmt_req *r);
void wr_mgmt_get_permission(struct wr_mgmt_req *r);
void wr_mgmt_put_permission(struct wr_mgmt_req *r);
void wr_mgmt_delete_permission(struct wr_mgmt_req *r);
void wr_mgmt_get_topic_permissions(struct wr_mgmt_req *r);
void wr_mgmt_get_topic_permission(struct wr_mgmt_req *r);
void wr_mgmt_put_topic_permission(struct wr_mgmt_req *r);
void wr_mgmt_delete_topic_permission(struct wr_mgmt_req *r);

/* limits.c: vhost limits */
void wr_mgmt_get_vhost_limits(struct wr_mgmt_req *r);
void wr_mgmt_get_vhost_limit(struct wr_mgmt_req *r);
void wr_mgmt_put_vhost_limit(struct wr_mgmt_req *r);
void wr_mgmt_delete_vhost_limit(struct wr_mgmt_req *r);
/* ... and user limits */
void wr_mgmt_get_user_limits(struct wr_mgmt_req *r);
void wr_mgmt_get_user_limit(struct wr_mgmt_req *r);
void wr_mgmt_put_user_limit(struct wr_mgmt_req *r);
void wr_mgmt_delete_user_limit(struct wr_mgmt_req *r);

/* shovels.c: shovel parameters and status (vhost/shovel.c runs them) */
void wr_mgmt_get_shovel_params(struct wr_mgmt_req *r);
void wr_mgmt_get_shovel_param(struct wr_mgmt_req *r);
void wr_mgmt_put_shovel_param(struct wr_mgmt_req *r);
void wr_mgmt_delete_shovel_param(struct wr_mgmt_req *r);
void wr_mgmt_get_shovels(struct wr_mgmt_req *r);
/* policies.c: policies and operator policies (the same handlers
 * serve both; segment 0 tells which) */
void wr_mgmt_get_policies(struct wr_mgmt_req *r);
void wr_mgmt_get_policy(struct wr_mgmt_req *r);
void wr_mgmt_put_policy(struct wr_mgmt_req *r);
void wr_mgmt_delete_policy(struct wr_mgmt_req *r);

/* metrics.c: the Prometheus text exposition (not JSON). */
void wr_mgmt_metrics(struct wr_mgmt *m, struct evhttp_request *req);
/* prom.c: /metrics alone on prometheus.tcp.ip:port (RabbitMQ's
 * rabbitmq_prometheus listener, 15692). A port already taken is logged
 * and leaves m->prom NULL: metrics stay on the management port. */
void wr_mgmt_prom_start(struct wr_mgmt *m);

/* ui.c: the web UI's files (GET / and below, every path outside
 * /api/ and /metrics): replies to req, 404 for anything not a UI file. */
void wr_mgmt_ui_serve(struct wr_mgmt *m, struct evhttp_request *req,
                      const char *path);

#endif
