/* SPDX-License-Identifier: MIT */
/* Timers on the server's event loop for the layers that must not see
 * libevent (vhost/: message TTLs, x-expires, deferred dead-lettering).
 * One allocation each: the libevent event sits right after the struct. */
#include "runtime_internal.h"

#include <event2/event.h>
#include <time.h>

struct wr_timer {
    wr_timer_cb cb;
    void *arg;
    /* followed by a struct event (event_get_struct_event_size bytes) */
};

static struct event *
ev_of(struct wr_timer *t)
{
    return (struct event *)(void *)(t + 1);
}

static void
fire(evutil_socket_t fd, short what, void *arg)
{
    struct wr_timer *t = arg;

    (void)fd;
    (void)what;
    t->cb(t->arg);
}

struct wr_timer *
wr_timer_new(struct wr_server *s, wr_timer_cb cb, void *arg)
{
    struct wr_timer *t = wr_malloc(sizeof(*t) + event_get_struct_event_size());

    t->cb = cb;
    t->arg = arg;
    event_assign(ev_of(t), s->base, -1, 0, fire, t);
    return t;
}

void
wr_timer_arm(struct wr_timer *t, int64_t ms)
{
    struct timeval tv;

    if (ms < 0)
        ms = 0;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    event_add(ev_of(t), &tv);
}

void
wr_timer_defer(struct wr_timer *t)
{
    event_active(ev_of(t), 0, 0);
}

void
wr_timer_free(struct wr_timer *t)
{
    if (t == NULL)
        return;
    event_del(ev_of(t));
    wr_free(t);
}
