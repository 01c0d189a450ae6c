/* SPDX-License-Identifier: MIT */
/* GET /metrics: the Prometheus text exposition format (version 0.0.4), with
 * the metric names of RabbitMQ's rabbitmq_prometheus plugin where one
 * exists, so its dashboards and alerts carry over. Unauthenticated, as that
 * plugin's endpoint is. */
#include "mgmt_internal.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

uint64_t
wr_mgmt_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, rss = 0;
    long page = sysconf(_SC_PAGESIZE);

    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * (uint64_t)(page > 0 ? page : 4096);
}

/* A label value: backslash, double quote and newline escaped. */
static void
label(struct evbuffer *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' || c == '"')
            evbuffer_add_printf(b, "\\%c", c);
        else if (c == '\n')
            evbuffer_add(b, "\\n", 2);
        else
            evbuffer_add(b, &c, 1);
    }
}

static void
header(struct evbuffer *b, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                        type);
}

/* One per-queue family: name{vhost="..",queue=".."} value for each queue. */
static void
queue_family(struct evbuffer *b, struct wr_server *s, const char *name,
             const char *type, const char *help, int which)
{
    struct wr_vhost **vhs;
    size_t nv = wr_mgmt_sorted_vhosts(s, &vhs);

    header(b, name, type, help);
    for (size_t v = 0; v < nv; v++) {
        struct wr_queue **qs;
        size_t nq = wr_mgmt_sorted_queues(vhs[v], &qs);
        for (size_t i = 0; i < nq; i++) {
            struct wr_queue *q = qs[i];
            uint64_t val;
            struct wr_mgmt_counters c;
            wr_mgmt_queue_counters(q, &c);
            val = which >= 0 ? c.v[which] : q->consumer_count;
            evbuffer_add_printf(b, "%s{vhost=\"", name);
            label(b, vhs[v]->name, strlen(vhs[v]->name));
            evbuffer_add(b, "\",queue=\"", 9);
            label(b, q->name, q->name_len);
            evbuffer_add_printf(b, "\"} %llu\n", (unsigned long long)val);
        }
        wr_free(qs);
    }
    wr_free(vhs);
}

static void
gauge(struct evbuffer *b, const char *name, const char *help, uint64_t v)
{
    header(b, name, "gauge", help);
    evbuffer_add_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void
counter(struct evbuffer *b, const char *name, const char *help, uint64_t v)
{
    header(b, name, "counter", help);
    evbuffer_add_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

void
wr_mgmt_metrics(struct wr_mgmt *m, struct evhttp_request *req)
{
    struct wr_server *s = m->srv;
    struct evbuffer *b = evbuffer_new();
    struct wr_mgmt_counters all;
    struct wr_list *pos, *tmp;
    uint64_t channels = 0, consumers = 0, queues = 0, exchanges = 0;
    size_t it = 0;
    void *v;

    wr_mgmt_all_counters(s, &all);
    wr_list_for_each_safe(pos, tmp, &s->conns)
    {
        channels += WR_CONTAINER_OF(pos, struct wr_conn, link)->open_chans;
    }
    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v)) {
        struct wr_vhost *vh = v;
        size_t it2 = 0;
        void *q;
        queues += vh->queues.count;
        exchanges += vh->exchanges.count;
        while (wr_hmap_next(&vh->queues, &it2, NULL, NULL, &q))
            consumers += ((struct wr_queue *)q)->consumer_count;
    }
    header(b, "rabbitmq_identity_info", "gauge", "Broker identity");
    evbuffer_add_printf(b,
                        "rabbitmq_identity_info{rabbitmq_node=\"%s\","
                        "rabbitmq_cluster=\"%s\",product=\"" WR_PRODUCT
                        "\",version=\"" WR_VERSION "\"} 1\n",
                        m->node, m->node);
    queue_family(b, s, "rabbitmq_queue_messages_ready", "gauge",
                 "Messages ready to be delivered to consumers", WR_MC_READY);
    queue_family(b, s, "rabbitmq_queue_messages_unacked", "gauge",
                 "Messages delivered to consumers but not yet acknowledged",
                 WR_MC_UNACKED);
    queue_family(b, s, "rabbitmq_queue_messages", "gauge",
                 "Sum of ready and unacknowledged messages", WR_MC_MESSAGES);
    queue_family(b, s, "rabbitmq_queue_consumers", "gauge",
                 "Consumers on a queue", -1);
    queue_family(b, s, "rabbitmq_queue_messages_published_total", "counter",
                 "Messages published into a queue", WR_MC_PUBLISH);
    queue_family(b, s, "rabbitmq_queue_messages_delivered_total", "counter",
                 "Messages delivered from a queue (consume and get)",
                 WR_MC_DELIVER_GET);
    queue_family(b, s, "rabbitmq_queue_messages_acked_total", "counter",
                 "Messages acknowledged from a queue", WR_MC_ACK);
    queue_family(b, s, "rabbitmq_queue_messages_redelivered_total", "counter",
                 "Messages put back into a queue for redelivery",
                 WR_MC_REDELIVER);
    counter(b, "rabbitmq_global_messages_received_total",
            "Messages published to the broker", all.v[WR_MC_PUBLISH]);
    counter(b, "rabbitmq_global_messages_delivered_total",
            "Messages delivered to consumers and basic.get",
            all.v[WR_MC_DELIVER_GET]);
    counter(b, "rabbitmq_global_messages_acknowledged_total",
            "Messages acknowledged by consumers", all.v[WR_MC_ACK]);
    counter(b, "rabbitmq_global_messages_redelivered_total",
            "Messages requeued for redelivery", all.v[WR_MC_REDELIVER]);
    counter(b, "rabbitmq_global_messages_unroutable_returned_total",
            "Unroutable mandatory messages returned to publishers",
            all.v[WR_MC_RETURN]);
    counter(b, "rabbitmq_global_messages_unroutable_dropped_total",
            "Unroutable messages dropped", all.v[WR_MC_DROP]);
    gauge(b, "rabbitmq_connections", "Open AMQP connections", s->nconns);
    gauge(b, "rabbitmq_channels", "Open AMQP channels", channels);
    gauge(b, "rabbitmq_consumers", "Consumers", consumers);
    gauge(b, "rabbitmq_queues", "Queues", queues);
    gauge(b, "rabbitmq_exchanges", "Exchanges", exchanges);
    gauge(b, "rabbitmq_process_resident_memory_bytes",
          "Resident memory of the broker process", wr_mgmt_rss());
    gauge(b, "warren_allocated_bytes",
          "Bytes allocated by the broker (messages, queues, connections)",
          wr_alloc_used());
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}
