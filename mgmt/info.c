/* SPDX-License-Identifier: MIT */
/* The management API's read-only views of the broker: overview, whoami,
 * nodes, vhosts, connections (and closing one), channels, consumers
 * (health checks: mgmt/health.c). */
#include "mgmt_internal.h"

#include <dirent.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

/* The API level warren follows: RabbitMQ's management API of this
 * version, for tools that look at rabbitmq_version. */
#define WR_MGMT_API_VERSION "3.10.0"

/* ---- helpers ------------------------------------------------------------- */

void
wr_mgmt_conn_name(const struct wr_conn *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s -> %s", c->peer,
             c->local ? c->local : c->srv->bound);
}

/* Splits "host:port" ("[v6]:port" too) at the last colon. */
static void
split_hostport(const char *hp, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(hp, ':');
    size_t n = colon ? (size_t)(colon - hp) : strlen(hp);

    if (n > 1 && hp[0] == '[' && hp[n - 1] == ']') {
        hp++;
        n -= 2;
    }
    snprintf(host, cap, "%.*s", (int)n, hp);
    *port = colon ? atoi(colon + 1) : 0;
}

static const char *
conn_state(const struct wr_conn *c)
{
    switch (c->state) {
    case WR_CONN_OPEN:
        return c->write_blocked || wr_credit_in_flow(c, wr_now_ms())
                   ? "flow"
                   : "running";
    case WR_CONN_CLOSING:
    case WR_CONN_FLUSHING:
        return "closing";
    case WR_CONN_DEAD:
        return "closed";
    default:
        return "starting";
    }
}

static json_t *
str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *
connection_json(struct wr_mgmt *m, struct wr_conn *c)
{
    char name[200], host[80], lhost[80];
    int port, lport;
    json_t *o = json_object();
    json_t *props = c->client_props ? wr_json_from_table((struct wr_table){
                                          c->client_props, c->client_props_len})
                                    : json_object();
    int64_t age = wr_now() - c->started;

    wr_mgmt_conn_name(c, name, sizeof(name));
    split_hostport(c->peer, host, sizeof(host), &port);
    split_hostport(c->local ? c->local : c->srv->bound, lhost, sizeof(lhost),
                   &lport);
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "node", json_string(m->node));
    json_object_set_new(o, "vhost", str_or_null(c->vh ? c->vh->name : NULL));
    json_object_set_new(o, "user",
                        c->user ? wr_json_bytes(c->user, strlen(c->user))
                                : json_null());
    json_object_set_new(o, "state", json_string(conn_state(c)));
    json_object_set_new(o, "type", json_string("network"));
    json_object_set_new(o, "protocol", json_string("AMQP 0-9-1"));
    json_object_set_new(o, "ssl", json_boolean(c->tls));
    json_object_set_new(o, "host", json_string(lhost));
    json_object_set_new(o, "port", json_integer(lport));
    json_object_set_new(o, "peer_host", json_string(host));
    json_object_set_new(o, "peer_port", json_integer(port));
    json_object_set_new(o, "channels", json_integer(c->open_chans));
    json_object_set_new(o, "channel_max", json_integer(c->channel_max));
    json_object_set_new(o, "frame_max", json_integer(c->frame_max));
    json_object_set_new(o, "timeout", json_integer(c->heartbeat));
    json_object_set_new(o, "connected_at",
                        json_integer(wr_mgmt_now_ms() - age * 1000));
    json_object_set_new(o, "recv_cnt", json_integer((json_int_t)c->frames_in));
    wr_mgmt_json_conn_stats(m, c, o);
    json_object_set_new(
        o, "send_pend",
        json_integer(c->bev ? (json_int_t)evbuffer_get_length(wr_conn_output(c))
                            : 0));
    if (c->client_name) {
        json_object_set_new(
            props, "connection_name",
            wr_json_bytes(c->client_name, strlen(c->client_name)));
        json_object_set_new(
            o, "user_provided_name",
            wr_json_bytes(c->client_name, strlen(c->client_name)));
    }
    json_object_set_new(o, "client_properties", props);
    return o;
}

static void
chan_name(const struct wr_chan *ch, char *out, size_t cap)
{
    char cn[200];

    wr_mgmt_conn_name(ch->conn, cn, sizeof(cn));
    snprintf(out, cap, "%s (%u)", cn, ch->id);
}

static json_t *
channel_json(struct wr_mgmt *m, struct wr_chan *ch)
{
    struct wr_conn *c = ch->conn;
    char name[240], cn[200], host[80];
    int port, consumers = 0;
    struct wr_list *pos, *tmp;
    json_t *o = json_object();

    chan_name(ch, name, sizeof(name));
    wr_mgmt_conn_name(c, cn, sizeof(cn));
    split_hostport(c->peer, host, sizeof(host), &port);
    wr_list_for_each_safe(pos, tmp, &ch->consumers) consumers++;
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "node", json_string(m->node));
    json_object_set_new(o, "number", json_integer(ch->id));
    json_object_set_new(o, "vhost", str_or_null(c->vh ? c->vh->name : NULL));
    json_object_set_new(o, "user",
                        c->user ? wr_json_bytes(c->user, strlen(c->user))
                                : json_null());
    json_object_set_new(o, "state",
                        json_string(ch->closing        ? "closing"
                                    : !ch->flow_active ? "flow"
                                                       : "running"));
    json_object_set_new(o, "connection_details",
                        json_pack("{s:s, s:s, s:i}", "name", cn, "peer_host",
                                  host, "peer_port", port));
    json_object_set_new(o, "consumer_count", json_integer(consumers));
    json_object_set_new(o, "messages_unacknowledged",
                        json_integer(ch->unacked_count));
    json_object_set_new(o, "messages_unconfirmed", json_integer(0));
    json_object_set_new(o, "messages_uncommitted", json_integer(0));
    json_object_set_new(o, "acks_uncommitted", json_integer(0));
    json_object_set_new(o, "prefetch_count",
                        json_integer(ch->prefetch_default));
    json_object_set_new(o, "global_prefetch_count",
                        json_integer(ch->prefetch_global));
    json_object_set_new(o, "confirm", json_boolean(ch->confirm));
    json_object_set_new(o, "transactional", json_boolean(ch->tx));
    wr_mgmt_json_chan_stats(m, ch, o);
    return o;
}

json_t *
wr_mgmt_json_consumer(const struct wr_bconsumer *bc)
{
    const struct wr_chan *ch = bc->ch;
    const struct wr_conn *c = ch->conn;
    const struct wr_queue *q = bc->base.queue;
    const struct wr_bqueue *bq = q ? q->broker : NULL;
    char name[240], cn[200], host[80];
    int port;
    json_t *o = json_object();

    chan_name(ch, name, sizeof(name));
    wr_mgmt_conn_name(c, cn, sizeof(cn));
    split_hostport(c->peer, host, sizeof(host), &port);
    json_object_set_new(o, "consumer_tag", wr_json_bytes(bc->tag, bc->tag_len));
    json_object_set_new(
        o, "queue",
        json_pack("{s:o, s:s}", "name",
                  q ? wr_json_bytes(q->name, q->name_len) : json_string(""),
                  "vhost", bq ? bq->vh->name : ""));
    json_object_set_new(o, "channel_details",
                        json_pack("{s:s, s:i, s:s, s:s, s:i, s:s, s:s}", "name",
                                  name, "number", ch->id, "connection_name", cn,
                                  "peer_host", host, "peer_port", port, "user",
                                  c->user ? c->user : "", "node",
                                  c->srv->mgmt ? c->srv->mgmt->node : ""));
    json_object_set_new(o, "ack_required", json_boolean(!bc->base.no_ack));
    json_object_set_new(o, "exclusive", json_boolean(bc->base.exclusive));
    json_object_set_new(o, "prefetch_count", json_integer(bc->prefetch));
    json_object_set_new(o, "active", json_true());
    json_object_set_new(o, "activity_status", json_string("up"));
    json_object_set_new(
        o, "arguments",
        wr_json_from_table((struct wr_table){bc->args, bc->args_len}));
    if (q && wr_queue_is_stream(q)) {
        /* offset: the next offset this consumer is given; offset_lag: the
         * messages the stream holds past it (rabbitmq-streams
         * list_stream_consumers' names) */
        struct wr_stream_info si;
        uint64_t at = bc->base.position;
        wr_stream_info(q, &si);
        if (at < si.first)
            at = si.first;
        json_object_set_new(o, "offset", json_integer((json_int_t)at));
        json_object_set_new(
            o, "offset_lag",
            json_integer((json_int_t)(si.next > at ? si.next - at : 0)));
    }
    return o;
}

/* Only the objects of the vhost in segment 1 when the path has one
 * (/api/vhosts/{vhost}/connections, /api/consumers/{vhost}). */
static bool
vhost_filter(struct wr_mgmt_req *r, int seg, struct wr_vhost **vh)
{
    *vh = NULL;
    if (r->nseg <= seg)
        return true;
    *vh = wr_mgmt_vhost(r, seg);
    return *vh != NULL;
}

/* ---- overview, whoami, nodes --------------------------------------------- */

static json_t *
totals_json(struct wr_server *s)
{
    json_t *o = json_object();
    size_t it = 0, qs = 0, xs = 0, consumers = 0, channels = 0;
    struct wr_list *pos, *tmp;
    void *v;

    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v)) {
        struct wr_vhost *vh = v;
        size_t it2 = 0;
        void *q;
        qs += vh->queues.count;
        xs += vh->exchanges.count;
        while (wr_hmap_next(&vh->queues, &it2, NULL, NULL, &q))
            consumers += ((struct wr_queue *)q)->consumer_count;
    }
    wr_list_for_each_safe(pos, tmp, &s->conns)
    {
        channels += WR_CONTAINER_OF(pos, struct wr_conn, link)->open_chans;
    }
    json_object_set_new(o, "connections", json_integer(s->nconns));
    json_object_set_new(o, "channels", json_integer((json_int_t)channels));
    json_object_set_new(o, "exchanges", json_integer((json_int_t)xs));
    json_object_set_new(o, "queues", json_integer((json_int_t)qs));
    json_object_set_new(o, "consumers", json_integer((json_int_t)consumers));
    return o;
}

static json_t *
listener_json(struct wr_mgmt *m, const char *proto, const char *hp)
{
    char host[80];
    int port;

    split_hostport(hp, host, sizeof(host), &port);
    return json_pack("{s:s, s:s, s:s, s:i}", "node", m->node, "protocol", proto,
                     "ip_address", host, "port", port);
}

void
wr_mgmt_get_overview(struct wr_mgmt_req *r)
{
    struct wr_mgmt *m = r->m;
    struct wr_mgmt_counters c;
    double rates[WR_MC_N];
    json_t *o = json_object(), *types = json_array(), *qt = json_object();
    static const char *const names[] = {"direct", "fanout", "headers", "topic"};

    wr_mgmt_all_counters(r->srv, &c);
    wr_mgmt_rates(m, WR_MGMT_K_ALL, "", "", rates);
    for (size_t i = 0; i < WR_ARRAY_LEN(names); i++)
        json_array_append_new(
            types, json_pack("{s:s, s:s, s:b}", "name", names[i], "description",
                             "AMQP 0-9-1 exchange type", "enabled", 1));
    json_object_set_new(o, "management_version",
                        json_string(WR_MGMT_API_VERSION));
    json_object_set_new(o, "rabbitmq_version",
                        json_string(WR_MGMT_API_VERSION));
    json_object_set_new(o, "product_name", json_string(WR_PRODUCT));
    json_object_set_new(o, "product_version", json_string(WR_VERSION));
    json_object_set_new(o, "rates_mode", json_string("basic"));
    json_object_set_new(o, "cluster_name", json_string(m->node));
    json_object_set_new(o, "node", json_string(m->node));
    json_object_set_new(o, "exchange_types", types);
    json_object_set_new(o, "message_stats",
                        wr_mgmt_json_message_stats(WR_MGMT_K_ALL, &c, rates));
    wr_mgmt_json_message_counts(qt, &c, rates);
    json_object_set_new(o, "queue_totals", qt);
    json_object_set_new(o, "object_totals", totals_json(r->srv));
    json_object_set_new(o, "statistics_db_event_queue", json_integer(0));
    json_object_set_new(o, "listeners",
                        json_pack("[o, o]",
                                  listener_json(m, "amqp", r->srv->bound),
                                  listener_json(m, "http", m->bound)));
    wr_mgmt_reply(r, 200, o);
}

void
wr_mgmt_get_whoami(struct wr_mgmt_req *r)
{
    json_t *tags = json_array();
    char buf[128], *save = NULL, *t;

    snprintf(buf, sizeof(buf), "%s", r->tags ? r->tags : "");
    for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(tags, json_string(t));
    wr_mgmt_reply(r, 200,
                  json_pack("{s:o, s:o}", "name",
                            wr_json_bytes(r->user, strlen(r->user)), "tags",
                            tags));
}

/* Open file descriptors (RabbitMQ's fd_used), -1 when /proc is missing. */
static json_int_t
fds_used(void)
{
    DIR *d = opendir("/proc/self/fd");
    json_int_t n = 0;

    if (d == NULL)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the DIR's own descriptor */
}

static json_t *
node_json(struct wr_mgmt *m)
{
    struct wr_server *s = m->srv;
    long procs = sysconf(_SC_NPROCESSORS_ONLN);
    struct rlimit rl = {0, 0};
    json_t *o;

    getrlimit(RLIMIT_NOFILE, &rl);
    o = json_pack(
        "{s:s, s:s, s:b, s:I, s:I, s:I, s:b, s:b, s:I, s:i, s:i, s:s, s:I}",
        "name", m->node, "type", "disc", "running", 1, "mem_used",
        (json_int_t)wr_mgmt_rss(), "mem_allocated", (json_int_t)wr_alloc_used(),
        "uptime", (json_int_t)(wr_mgmt_now_ms() - m->started_ms), "mem_alarm",
        (int)s->mem_alarm, "disk_free_alarm", (int)s->disk_alarm,
        "sockets_used", (json_int_t)s->nconns, "processors",
        (int)(procs > 0 ? procs : 1), "os_pid", (int)getpid(), "rates_mode",
        "basic", "mem_limit", (json_int_t)s->watermark);
    json_object_set_new(o, "fd_used", json_integer(fds_used()));
    json_object_set_new(o, "disk_free", json_integer((json_int_t)s->disk_free));
    json_object_set_new(o, "disk_free_limit",
                        json_integer((json_int_t)s->cfg.disk_free_limit));
    json_object_set_new(o, "fd_total",
                        json_integer(rl.rlim_cur == RLIM_INFINITY
                                         ? -1
                                         : (json_int_t)rl.rlim_cur));
    return o;
}

void
wr_mgmt_get_cluster_name(struct wr_mgmt_req *r)
{
    wr_mgmt_reply(r, 200, json_pack("{s:s}", "name", r->m->node));
}

void
wr_mgmt_get_nodes(struct wr_mgmt_req *r)
{
    wr_mgmt_reply_list(r, json_pack("[o]", node_json(r->m)));
}

void
wr_mgmt_get_node(struct wr_mgmt_req *r)
{
    if (strcmp(r->seg[1], r->m->node) != 0) {
        wr_mgmt_not_found(r);
        return;
    }
    wr_mgmt_reply(r, 200, node_json(r->m));
}

/* ---- vhosts -------------------------------------------------------------- */

static json_t *
vhost_json(struct wr_mgmt *m, struct wr_vhost *vh)
{
    struct wr_mgmt_counters c;
    double rates[WR_MC_N];
    json_t *o = json_object();
    const char *desc = vh->description ? vh->description : "";

    wr_mgmt_vhost_counters(vh, &c);
    wr_mgmt_rates(m, WR_MGMT_K_VHOST, vh->name, "", rates);
    json_object_set_new(o, "name", json_string(vh->name));
    json_object_set_new(o, "description", json_string(desc));
    json_object_set_new(o, "tags", json_array());
    json_object_set_new(o, "metadata",
                        json_pack("{s:s, s:[]}", "description", desc, "tags"));
    json_object_set_new(o, "default_queue_type", json_string("classic"));
    json_object_set_new(o, "tracing", json_false());
    json_object_set_new(o, "cluster_state",
                        json_pack("{s:s}", m->node, "running"));
    wr_mgmt_json_message_counts(o, &c, rates);
    json_object_set_new(o, "message_stats",
                        wr_mgmt_json_message_stats(WR_MGMT_K_VHOST, &c, rates));
    return o;
}

void
wr_mgmt_get_vhosts(struct wr_mgmt_req *r)
{
    struct wr_vhost **vhs;
    size_t n = wr_mgmt_visible_vhosts(r, &vhs);
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, vhost_json(r->m, vhs[i]));
    wr_free(vhs);
    wr_mgmt_reply_list(r, arr);
}

void
wr_mgmt_get_vhost(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);

    if (vh)
        wr_mgmt_reply(r, 200, vhost_json(r->m, vh));
}

/* ---- connections and channels -------------------------------------------- */

void
wr_mgmt_get_connections(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_list *pos, *tmp;
    json_t *arr;

    /* /api/connections or /api/vhosts/{vhost}/connections */
    if (!vhost_filter(r, r->seg[0][0] == 'v' ? 1 : 9, &vh))
        return;
    arr = json_array();
    wr_list_for_each_safe(pos, tmp, &r->srv->conns)
    {
        struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, link);
        if ((vh == NULL || c->vh == vh) && wr_mgmt_conn_visible(r, c))
            json_array_append_new(arr, connection_json(r->m, c));
    }
    wr_mgmt_reply_list(r, arr);
}

static struct wr_conn *
find_conn(struct wr_mgmt_req *r)
{
    struct wr_list *pos, *tmp;
    char name[200];

    wr_list_for_each_safe(pos, tmp, &r->srv->conns)
    {
        struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, link);
        wr_mgmt_conn_name(c, name, sizeof(name));
        if (strcmp(name, r->seg[1]) == 0 && wr_mgmt_conn_visible(r, c))
            return c;
    }
    wr_mgmt_not_found(r);
    return NULL;
}

void
wr_mgmt_get_connection(struct wr_mgmt_req *r)
{
    struct wr_conn *c = find_conn(r);

    if (c)
        wr_mgmt_reply(r, 200, connection_json(r->m, c));
}

void
wr_mgmt_delete_connection(struct wr_mgmt_req *r)
{
    struct wr_conn *c = find_conn(r);
    const char *why = evhttp_find_header(
        evhttp_request_get_input_headers(r->req), "X-Reason");

    if (c == NULL)
        return;
    if (c->state < WR_CONN_AWAIT_START_OK)
        wr_conn_drop(c, "closed via the management API");
    else /* RabbitMQ's text and code for a forced close */
        wr_conn_error(c, WR_REPLY_CONNECTION_FORCED, 0, "%.200s",
                      why ? why : "Closed via management plugin");
    wr_mgmt_reply_empty(r, 204);
}

static void
append_channels(struct wr_mgmt *m, struct wr_conn *c, json_t *arr)
{
    for (uint32_t i = 0; i < c->nchans; i++)
        if (c->chans[i])
            json_array_append_new(arr, channel_json(m, c->chans[i]));
}

void
wr_mgmt_get_connection_channels(struct wr_mgmt_req *r)
{
    struct wr_conn *c = find_conn(r);
    json_t *arr;

    if (c == NULL)
        return;
    arr = json_array();
    append_channels(r->m, c, arr);
    wr_mgmt_reply_list(r, arr);
}

void
wr_mgmt_get_channels(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_list *pos, *tmp;
    json_t *arr;

    /* /api/channels or /api/vhosts/{vhost}/channels */
    if (!vhost_filter(r, r->seg[0][0] == 'v' ? 1 : 9, &vh))
        return;
    arr = json_array();
    wr_list_for_each_safe(pos, tmp, &r->srv->conns)
    {
        struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, link);
        if ((vh == NULL || c->vh == vh) && wr_mgmt_conn_visible(r, c))
            append_channels(r->m, c, arr);
    }
    wr_mgmt_reply_list(r, arr);
}

void
wr_mgmt_get_channel(struct wr_mgmt_req *r)
{
    struct wr_list *pos, *tmp;
    char name[240];

    wr_list_for_each_safe(pos, tmp, &r->srv->conns)
    {
        struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, link);
        if (!wr_mgmt_conn_visible(r, c))
            continue;
        for (uint32_t i = 0; i < c->nchans; i++) {
            if (c->chans[i] == NULL)
                continue;
            chan_name(c->chans[i], name, sizeof(name));
            if (strcmp(name, r->seg[1]) == 0) {
                wr_mgmt_reply(r, 200, channel_json(r->m, c->chans[i]));
                return;
            }
        }
    }
    wr_mgmt_not_found(r);
}

void
wr_mgmt_get_consumers(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_list *pos, *tmp, *p2, *t2;
    json_t *arr;

    if (!vhost_filter(r, 1, &vh))
        return;
    arr = json_array();
    wr_list_for_each_safe(pos, tmp, &r->srv->conns)
    {
        struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, link);
        if ((vh && c->vh != vh) || c->vh == NULL ||
            !wr_mgmt_vhost_visible(r, c->vh->name))
            continue;
        for (uint32_t i = 0; i < c->nchans; i++) {
            if (c->chans[i] == NULL)
                continue;
            wr_list_for_each_safe(p2, t2, &c->chans[i]->consumers)
            {
                json_array_append_new(arr,
                                      wr_mgmt_json_consumer(WR_CONTAINER_OF(
                                          p2, struct wr_bconsumer, chan_link)));
            }
        }
    }
    wr_mgmt_reply_list(r, arr);
}
