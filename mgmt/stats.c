/* SPDX-License-Identifier: MIT */
/* Message rates for the management API: the counters of queues, exchanges
 * and vhosts are sampled on a timer (collect_statistics_interval, as
 * RabbitMQ's) and each *_details.rate is the change per second over the
 * last interval. Counters themselves are read live. */
#include "mgmt_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

struct wr_mgmt_sample {
    uint64_t epoch;         /* sampling pass that last saw the object */
    uint64_t last[WR_MC_N]; /* counters at that pass */
    double rate[WR_MC_N];   /* per second, over the interval before it */
};

int64_t
wr_mgmt_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- counters ----------------------------------------------------------- */

void
wr_mgmt_queue_counters(const struct wr_queue *q, struct wr_mgmt_counters *c)
{
    const struct wr_queue_counts *n = wr_queue_counts(q);

    memset(c, 0, sizeof(*c));
    c->v[WR_MC_PUBLISH] = n->published;
    c->v[WR_MC_DELIVER_GET] = n->delivered;
    c->v[WR_MC_ACK] = n->acked;
    c->v[WR_MC_REDELIVER] = n->redelivered;
    c->v[WR_MC_READY] = n->ready;
    c->v[WR_MC_UNACKED] = n->unacked;
    c->v[WR_MC_MESSAGES] = n->ready + n->unacked;
    if (wr_queue_is_stream(q)) {
        /* As RabbitMQ 3.10 shows a stream: messages and messages_ready
         * are what it holds (nothing leaves at an ack), unacknowledged 0
         * (the deliveries in flight are its channels'). */
        struct wr_stream_info si;
        wr_stream_info(q, &si);
        c->v[WR_MC_READY] = c->v[WR_MC_MESSAGES] = si.next - si.first;
        c->v[WR_MC_UNACKED] = 0;
    }
}

void
wr_mgmt_exchange_counters(const struct wr_exchange *x,
                          struct wr_mgmt_counters *c)
{
    memset(c, 0, sizeof(*c));
    c->v[WR_MC_PUBLISH] = x->n_in;
    c->v[WR_MC_PUBLISH_OUT] = x->n_out;
}

void
wr_mgmt_vhost_counters(const struct wr_vhost *vh, struct wr_mgmt_counters *c)
{
    size_t it = 0;
    void *v;

    memset(c, 0, sizeof(*c));
    c->v[WR_MC_PUBLISH] = vh->stats.published;
    c->v[WR_MC_RETURN] = vh->stats.returned;
    c->v[WR_MC_DROP] = vh->stats.dropped;
    c->v[WR_MC_CONFIRM] = vh->stats.confirmed;
    c->v[WR_MC_DELIVER_GET] = vh->stats.gone_delivered;
    c->v[WR_MC_ACK] = vh->stats.gone_acked;
    c->v[WR_MC_REDELIVER] = vh->stats.gone_redelivered;
    while (wr_hmap_next(&vh->queues, &it, NULL, NULL, &v)) {
        const struct wr_queue_counts *n = wr_queue_counts(v);
        c->v[WR_MC_DELIVER_GET] += n->delivered;
        c->v[WR_MC_ACK] += n->acked;
        c->v[WR_MC_REDELIVER] += n->redelivered;
        struct wr_mgmt_counters one; /* a stream's are its log's */
        wr_mgmt_queue_counters(v, &one);
        c->v[WR_MC_READY] += one.v[WR_MC_READY];
        c->v[WR_MC_UNACKED] += one.v[WR_MC_UNACKED];
    }
    c->v[WR_MC_MESSAGES] = c->v[WR_MC_READY] + c->v[WR_MC_UNACKED];
}

void
wr_mgmt_all_counters(struct wr_server *s, struct wr_mgmt_counters *c)
{
    struct wr_mgmt_counters one;
    size_t it = 0;
    void *v;

    memset(c, 0, sizeof(*c));
    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v)) {
        wr_mgmt_vhost_counters(v, &one);
        for (int i = 0; i < WR_MC_N; i++)
            c->v[i] += one.v[i];
    }
}

static void
conn_counters(const struct wr_conn *c, uint64_t out[4])
{
    out[0] = c->bytes_in;
    out[1] = c->bytes_out;
    out[2] = out[3] = 0;
}

static void
chan_counters(const struct wr_chan *ch, uint64_t out[4])
{
    out[0] = ch->n_published;
    out[1] = ch->n_confirmed;
    out[2] = ch->n_delivered;
    out[3] = ch->n_acked;
}

/* Connections and channels keep their sample themselves: no table entry
 * to sweep, nothing left behind when 65,535 channels come and go. A new
 * one starts from zero, which is where its counters started. */
static void
sample_in_place(struct wr_rate_sample *s, const uint64_t now[4], double secs)
{
    for (int i = 0; i < 4; i++) {
        uint64_t d = now[i] >= s->last[i] ? now[i] - s->last[i] : 0;
        s->rate[i] = secs > 0 ? (float)((double)d / secs) : 0.0f;
        s->last[i] = now[i];
    }
}

/* ---- samples ------------------------------------------------------------ */

/* kind, vhost, NUL, name: names hold no NUL in practice, and the kind
 * byte keeps queues and exchanges of the same name apart. */
static size_t
sample_key(char *out, size_t cap, char kind, const char *vhost,
           const char *name)
{
    int n = snprintf(out, cap, "%c%s", kind, vhost);
    size_t o = (size_t)n + 1;

    if ((size_t)n >= cap - 1)
        return (size_t)n;
    out[n] = '\0';
    o += (size_t)snprintf(out + o, cap - o, "%s", name);
    return WR_MIN(o, cap - 1);
}

void
wr_mgmt_rates(struct wr_mgmt *m, char kind, const char *vhost, const char *name,
              double rates[WR_MC_N])
{
    char key[600];
    size_t n = sample_key(key, sizeof(key), kind, vhost, name);
    struct wr_mgmt_sample *s = wr_hmap_get(&m->samples, key, n);

    for (int i = 0; i < WR_MC_N; i++)
        rates[i] = s ? s->rate[i] : 0.0;
}

static void
sample(struct wr_mgmt *m, char kind, const char *vhost, const char *name,
       const struct wr_mgmt_counters *c, double secs)
{
    char key[600];
    size_t n = sample_key(key, sizeof(key), kind, vhost, name);
    struct wr_mgmt_sample *s = wr_hmap_get(&m->samples, key, n);

    if (s == NULL) {
        s = wr_calloc(1, sizeof(*s));
        memcpy(s->last, c->v, sizeof(s->last));
        wr_hmap_put(&m->samples, key, n, s, NULL);
    }
    for (int i = 0; i < WR_MC_N; i++) {
        /* A queue deleted and declared again restarts its counters. */
        int64_t d = (int64_t)(c->v[i] - s->last[i]);
        bool gauge = i >= WR_MC_MESSAGES;
        if (!gauge && c->v[i] < s->last[i])
            d = 0;
        s->rate[i] = secs > 0 ? (double)d / secs : 0.0;
        s->last[i] = c->v[i];
    }
    s->epoch = m->epoch;
}

static void shrink_samples(struct wr_mgmt *m);

static void
sample_all(struct wr_mgmt *m)
{
    struct wr_server *srv = m->srv;
    struct wr_mgmt_counters c, all;
    int64_t now = mono_ms();
    double secs = m->last_sample_ms ? (now - m->last_sample_ms) / 1000.0 : 0;
    size_t it = 0, it2;
    struct wr_list *pos, *tmp;
    void *v, *v2;
    const char *key;
    size_t klen;

    m->epoch++;
    m->last_sample_ms = now;
    memset(&all, 0, sizeof(all));
    while (wr_hmap_next(&srv->vhosts, &it, NULL, NULL, &v)) {
        struct wr_vhost *vh = v;
        wr_mgmt_vhost_counters(vh, &c);
        sample(m, WR_MGMT_K_VHOST, vh->name, "", &c, secs);
        for (int i = 0; i < WR_MC_N; i++)
            all.v[i] += c.v[i];
        it2 = 0;
        while (wr_hmap_next(&vh->queues, &it2, NULL, NULL, &v2)) {
            struct wr_queue *q = v2;
            wr_mgmt_queue_counters(q, &c);
            sample(m, WR_MGMT_K_QUEUE, vh->name, q->name, &c, secs);
        }
        it2 = 0;
        while (wr_hmap_next(&vh->exchanges, &it2, NULL, NULL, &v2)) {
            struct wr_exchange *x = v2;
            wr_mgmt_exchange_counters(x, &c);
            sample(m, WR_MGMT_K_EXCHANGE, vh->name, x->name, &c, secs);
        }
    }
    sample(m, WR_MGMT_K_ALL, "", "", &all, secs);
    wr_list_for_each_safe(pos, tmp, &srv->conns)
    {
        struct wr_conn *cn = WR_CONTAINER_OF(pos, struct wr_conn, link);
        uint64_t now4[4];
        conn_counters(cn, now4);
        sample_in_place(&cn->rates, now4, secs);
        for (uint32_t i = 0; i < cn->nchans; i++) {
            if (cn->chans[i] == NULL)
                continue;
            chan_counters(cn->chans[i], now4);
            sample_in_place(&cn->chans[i]->rates, now4, secs);
        }
    }
    /* Forget objects that are gone. */
    it = 0;
    while (wr_hmap_next(&m->samples, &it, &key, &klen, &v)) {
        struct wr_mgmt_sample *s = v;
        if (s->epoch != m->epoch) {
            wr_hmap_del(&m->samples, key, klen);
            wr_free(s);
        }
    }
    shrink_samples(m);
}

/* The map does not shrink by itself: after 10,000 queues are gone, move
 * what is left into a map of its size (a map is at most 3/4 full, so this
 * runs once per halving or so, not once per delete). */
static void
shrink_samples(struct wr_mgmt *m)
{
    struct wr_hmap small;
    size_t it = 0, klen;
    const char *key;
    void *v;

    if (m->samples.cap <= 64 || m->samples.count * 8 > m->samples.cap)
        return;
    wr_hmap_init(&small);
    while (wr_hmap_next(&m->samples, &it, &key, &klen, &v))
        wr_hmap_put(&small, key, klen, v, NULL);
    wr_hmap_cleanup(&m->samples);
    m->samples = small;
}

/* s->stats_forget: a queue's or exchange's sample goes when it does (a
 * client that declares and deletes 10,000 queues between two passes left
 * 2.6 MB of samples until the next one). */
static void
forget(struct wr_server *srv, const char *vhost, bool queue, const char *name)
{
    struct wr_mgmt *m = srv->mgmt;
    char key[600];
    size_t n;
    struct wr_mgmt_sample *s;

    if (m == NULL)
        return;
    n = sample_key(key, sizeof(key),
                   queue ? WR_MGMT_K_QUEUE : WR_MGMT_K_EXCHANGE, vhost, name);
    s = wr_hmap_get(&m->samples, key, n);
    if (s) {
        wr_hmap_del(&m->samples, key, n);
        wr_free(s);
        shrink_samples(m);
    }
}

static void
sample_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sample_all(arg);
}

void
wr_mgmt_stats_start(struct wr_mgmt *m)
{
    uint32_t ms = m->srv->cfg.stats_interval;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    m->srv->stats_forget = forget;
    m->sample_ev = event_new(m->srv->base, -1, EV_PERSIST, sample_cb, m);
    event_add(m->sample_ev, &tv);
    sample_all(m);
}

void
wr_mgmt_stats_cleanup(struct wr_mgmt *m)
{
    size_t it = 0;
    void *v;

    if (m->srv->stats_forget == forget)
        m->srv->stats_forget = NULL;
    if (m->sample_ev)
        event_free(m->sample_ev);
    while (wr_hmap_next(&m->samples, &it, NULL, NULL, &v))
        wr_free(v);
    wr_hmap_cleanup(&m->samples);
}

/* ---- JSON -----------------------------------------------------------------
 */

void
wr_mgmt_json_counter(json_t *o, const char *name, uint64_t v, double r)
{
    char key[96];

    json_object_set_new(o, name, json_integer((json_int_t)v));
    snprintf(key, sizeof(key), "%s_details", name);
    json_object_set_new(o, key, json_pack("{s:f}", "rate", r));
}

void
wr_mgmt_json_message_counts(json_t *o, const struct wr_mgmt_counters *c,
                            const double *rates)
{
    wr_mgmt_json_counter(o, "messages", c->v[WR_MC_MESSAGES],
                         rates[WR_MC_MESSAGES]);
    wr_mgmt_json_counter(o, "messages_ready", c->v[WR_MC_READY],
                         rates[WR_MC_READY]);
    wr_mgmt_json_counter(o, "messages_unacknowledged", c->v[WR_MC_UNACKED],
                         rates[WR_MC_UNACKED]);
}

void
wr_mgmt_json_conn_stats(struct wr_mgmt *m, const struct wr_conn *c, json_t *o)
{
    uint64_t n[4];

    (void)m;
    conn_counters(c, n);
    wr_mgmt_json_counter(o, "recv_oct", n[0], c->rates.rate[0]);
    wr_mgmt_json_counter(o, "send_oct", n[1], c->rates.rate[1]);
}

void
wr_mgmt_json_chan_stats(struct wr_mgmt *m, const struct wr_chan *ch, json_t *o)
{
    static const char *const names[] = {"publish", "confirm", "deliver_get",
                                        "ack"};
    json_t *ms = json_object();
    uint64_t n[4];

    (void)m;
    chan_counters(ch, n);
    for (size_t i = 0; i < WR_ARRAY_LEN(names); i++)
        wr_mgmt_json_counter(ms, names[i], n[i], ch->rates.rate[i]);
    json_object_set_new(o, "message_stats", ms);
}

json_t *
wr_mgmt_json_message_stats(char kind, const struct wr_mgmt_counters *c,
                           const double *rates)
{
    json_t *o = json_object();

    if (kind == WR_MGMT_K_EXCHANGE) {
        wr_mgmt_json_counter(o, "publish_in", c->v[WR_MC_PUBLISH],
                             rates[WR_MC_PUBLISH]);
        wr_mgmt_json_counter(o, "publish_out", c->v[WR_MC_PUBLISH_OUT],
                             rates[WR_MC_PUBLISH_OUT]);
        return o;
    }
    wr_mgmt_json_counter(o, "publish", c->v[WR_MC_PUBLISH],
                         rates[WR_MC_PUBLISH]);
    wr_mgmt_json_counter(o, "deliver_get", c->v[WR_MC_DELIVER_GET],
                         rates[WR_MC_DELIVER_GET]);
    wr_mgmt_json_counter(o, "ack", c->v[WR_MC_ACK], rates[WR_MC_ACK]);
    wr_mgmt_json_counter(o, "redeliver", c->v[WR_MC_REDELIVER],
                         rates[WR_MC_REDELIVER]);
    if (kind != WR_MGMT_K_QUEUE) {
        wr_mgmt_json_counter(o, "return_unroutable", c->v[WR_MC_RETURN],
                             rates[WR_MC_RETURN]);
        wr_mgmt_json_counter(o, "drop_unroutable", c->v[WR_MC_DROP],
                             rates[WR_MC_DROP]);
        wr_mgmt_json_counter(o, "confirm", c->v[WR_MC_CONFIRM],
                             rates[WR_MC_CONFIRM]);
    }
    return o;
}
