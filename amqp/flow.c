/* SPDX-License-Identifier: MIT */
/* Memory flow control, as RabbitMQ's memory alarm: every allocation is
 * counted (wr_alloc_used, libevent and OpenSSL included); above the
 * watermark each publishing connection gets connection.blocked and is no
 * longer read from, consumers keep draining; below it, connection.unblocked
 * and reading resumes. The disk alarm (disk.c) blocks them the same way;
 * they are unblocked when neither alarm is on. */
#include "amqp_internal.h"

#include <event2/bufferevent.h>
#include <string.h>

#define POLL_MS 20 /* re-check while the alarm is on */

static void
block(struct wr_conn *c)
{
    /* RabbitMQ's reasons: the first alarm in effect */
    const char *why = c->srv->mem_alarm ? "low on memory" : "low on disk";

    if (c->flow_blocked || c->state != WR_CONN_OPEN)
        return;
    c->flow_blocked = true;
    wr_conn_read_off(c);
    if (c->blocked_cap) {
        struct wr_method m = {.id = WR_CONNECTION_BLOCKED};
        m.u.connection_blocked.reason = wr_bytes_str(why);
        wr_conn_send_method(c, 0, &m);
    }
    wr_log(WR_LOG_INFO, "conn %llu %s: blocked (%s)", (unsigned long long)c->id,
           c->peer, why);
}

static void
unblock(struct wr_conn *c)
{
    if (!c->flow_blocked)
        return;
    c->flow_blocked = false;
    if (c->state != WR_CONN_OPEN)
        return;
    /* Heartbeats were not read while blocked: start counting afresh. */
    c->last_recv = wr_now();
    if (!c->read_paused && c->credit_queue == NULL) /* else write_cb or
                                                     * credit.c resumes */
        wr_conn_read_on(c);
    if (c->blocked_cap) {
        struct wr_method m = {.id = WR_CONNECTION_UNBLOCKED};
        wr_conn_send_method(c, 0, &m);
    }
    wr_log(WR_LOG_INFO, "conn %llu %s: unblocked", (unsigned long long)c->id,
           c->peer);
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wr_server *s = arg;

    (void)fd;
    (void)what;
    wr_flow_check(s);
}

/* Pages out every durable queue's pageable messages (queues/paging.c). */
static uint64_t
page_out_all(struct wr_server *s)
{
    size_t vpos = 0;
    void *vv;
    uint64_t n = 0;

    while (wr_hmap_next(&s->vhosts, &vpos, NULL, NULL, &vv)) {
        struct wr_vhost *vh = vv;
        size_t qpos = 0;
        void *qv;
        while (wr_hmap_next(&vh->queues, &qpos, NULL, NULL, &qv))
            n += wr_queue_page_out(qv);
    }
    return n;
}

/* Memory pressure (RabbitMQ's vm_memory_high_watermark_paging_ratio of
 * the watermark): durable queues page their messages out, all at once
 * when it starts and every new one while it lasts. */
static void
check_paging(struct wr_server *s, uint64_t used)
{
    bool press = (double)used > (double)s->watermark * s->cfg.paging_ratio;

    if (press == wr_queues_memory_pressure())
        return;
    wr_queues_set_memory_pressure(press);
    if (press) {
        uint64_t n = page_out_all(s);
        wr_log(WR_LOG_NOTICE,
               "memory pressure: %llu bytes in use, above %.0f%% of the "
               "watermark: %llu persistent messages paged out to the store, "
               "and new ones go there",
               (unsigned long long)used, s->cfg.paging_ratio * 100,
               (unsigned long long)n);
    } else {
        wr_log(WR_LOG_NOTICE,
               "memory pressure over: %llu bytes in use: durable queues keep "
               "recent messages in memory again",
               (unsigned long long)used);
    }
}

void
wr_flow_check(struct wr_server *s)
{
    uint64_t used;
    struct wr_list *pos, *tmp;

    if (s->watermark == 0)
        return;
    used = wr_alloc_used();
    check_paging(s, used);
    if (!s->mem_alarm) {
        if (used <= s->watermark)
            return;
        s->mem_alarm = true;
        s->mem_peak = used;
        wr_log(WR_LOG_WARN,
               "memory alarm set: %llu bytes in use, above the watermark of "
               "%llu: blocking publishers",
               (unsigned long long)used, (unsigned long long)s->watermark);
        wr_list_for_each_safe(pos, tmp, &s->conns)
        {
            struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, link);
            if (c->published)
                block(c);
        }
    } else {
        if (used > s->mem_peak)
            s->mem_peak = used;
        if (used > s->watermark) {
            struct timeval tv = {0, POLL_MS * 1000};
            if (!evtimer_pending(s->flow_ev, NULL))
                evtimer_add(s->flow_ev, &tv);
            return;
        }
        s->mem_alarm = false;
        wr_log(WR_LOG_WARN,
               "memory alarm cleared: %llu bytes in use (peak %llu, "
               "watermark %llu): unblocking publishers",
               (unsigned long long)used, (unsigned long long)s->mem_peak,
               (unsigned long long)s->watermark);
        if (!s->disk_alarm) /* else the disk alarm keeps them blocked */
            wr_list_for_each_safe(pos, tmp, &s->conns)
            {
                unblock(WR_CONTAINER_OF(pos, struct wr_conn, link));
            }
        evtimer_del(s->flow_ev);
        return;
    }
    {
        struct timeval tv = {0, POLL_MS * 1000};
        evtimer_add(s->flow_ev, &tv);
    }
}

void
wr_flow_on_publish(struct wr_conn *c)
{
    c->published = true;
    wr_flow_check(c->srv);
    if (c->srv->mem_alarm || c->srv->disk_alarm)
        block(c);
}

void
wr_flow_init(struct wr_server *s)
{
    s->watermark = wr_config_watermark(&s->cfg);
    wr_queues_set_paging(s->cfg.queue_ram_messages, s->cfg.queue_ram_bytes);
    wr_queues_set_memory_pressure(false);
    s->flow_ev = evtimer_new(s->base, poll_cb, s);
}

void
wr_flow_cleanup(struct wr_server *s)
{
    if (s->flow_ev)
        event_free(s->flow_ev);
    s->flow_ev = NULL;
}

void
wr_flow_alarm_changed(struct wr_server *s)
{
    struct wr_list *pos, *tmp;
    bool on = s->mem_alarm || s->disk_alarm;

    wr_list_for_each_safe(pos, tmp, &s->conns)
    {
        struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, link);
        if (on && c->published)
            block(c);
        else if (!on)
            unblock(c);
    }
}
