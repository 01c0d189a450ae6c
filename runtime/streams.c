/* SPDX-License-Identifier: MIT */
/* Stream queues' stores on the loop (docs/internals/STORE.md, "Streams"):
 * each stream has a store of its own, flushed at the end of the turns it
 * was appended in and watched through its event fd. Confirms wait for
 * generations: every turn that appends to streams is one; a generation is
 * durable once every stream store written in it has synced past what it
 * wrote then. */
#include "runtime_internal.h"

#include "../store/store.h"

#include <event2/event.h>

struct wr_pgen {
    uint64_t gen, end; /* generation gen wrote this store up to end */
};

struct wr_pstream {
    struct wr_server *srv;
    struct wr_store *st;
    struct event *ev;
    void (*flush)(void *arg);
    void (*moved)(void *arg);
    void *arg;
    struct wr_list dirty_link;   /* in srv->pstreams_dirty */
    struct wr_list waiting_link; /* in srv->pstreams_waiting */
    struct wr_pgen *pend;        /* ring of generations not durable yet */
    uint32_t pend_head, pend_n, pend_cap;
};

/* The generations every stream store has made durable; tells amqp/ when
 * that moved. */
static void
recompute(struct wr_server *s)
{
    uint64_t at = s->stream_gen - 1;
    struct wr_list *pos;

    for (pos = s->pstreams_waiting.next; pos != &s->pstreams_waiting;
         pos = pos->next) {
        struct wr_pstream *ps =
            WR_CONTAINER_OF(pos, struct wr_pstream, waiting_link);
        uint64_t g = ps->pend[ps->pend_head].gen - 1;
        if (g < at)
            at = g;
    }
    if (at != s->streams_durable_gen) {
        s->streams_durable_gen = at;
        if (s->msgs_durable_cb)
            s->msgs_durable_cb(s);
    }
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wr_pstream *ps = arg;
    struct wr_server *s = ps->srv;
    uint64_t durable = 0;

    (void)fd;
    (void)what;
    if (wr_store_poll(ps->st, &durable) != WR_OK) {
        wr_persist_fail(s, ps->st);
        if (s->msgs_durable_cb)
            s->msgs_durable_cb(s);
        return;
    }
    while (ps->pend_n > 0 && ps->pend[ps->pend_head].end <= durable) {
        ps->pend_head = (ps->pend_head + 1) % ps->pend_cap;
        ps->pend_n--;
    }
    if (ps->pend_n == 0)
        wr_list_remove(&ps->waiting_link);
    if (ps->moved)
        ps->moved(ps->arg);
    recompute(s);
}

struct wr_pstream *
wr_persist_stream_add(struct wr_server *s, struct wr_store *st,
                      void (*flush)(void *arg), void (*moved)(void *arg),
                      void *arg)
{
    struct wr_pstream *ps = wr_calloc(1, sizeof *ps);

    if (ps == NULL)
        return NULL;
    ps->srv = s;
    ps->st = st;
    ps->flush = flush;
    ps->moved = moved;
    ps->arg = arg;
    wr_list_init(&ps->dirty_link);
    wr_list_init(&ps->waiting_link);
    if (s->base) {
        ps->ev = event_new(s->base, wr_store_event_fd(st), EV_READ | EV_PERSIST,
                           poll_cb, ps);
        if (ps->ev == NULL) {
            wr_free(ps);
            return NULL;
        }
        event_priority_set(ps->ev, WR_PRIO_CONSUMERS);
        event_add(ps->ev, NULL);
    }
    return ps;
}

void
wr_persist_stream_dirty(struct wr_server *s, struct wr_pstream *ps)
{
    if (wr_list_empty(&ps->dirty_link))
        wr_list_push_back(&s->pstreams_dirty, &ps->dirty_link);
    wr_persist_dirty(s);
}

void
wr_persist_stream_remove(struct wr_server *s, struct wr_pstream *ps)
{
    if (ps == NULL)
        return;
    wr_list_remove(&ps->dirty_link);
    wr_list_remove(&ps->waiting_link);
    if (ps->ev)
        event_free(ps->ev);
    wr_free(ps->pend);
    wr_free(ps);
    recompute(s); /* what waited for it no longer does */
}

static void
pend_push(struct wr_pstream *ps, uint64_t gen, uint64_t end)
{
    if (ps->pend_n > 0 &&
        ps->pend[(ps->pend_head + ps->pend_n - 1) % ps->pend_cap].end == end)
        return;
    if (ps->pend_n == ps->pend_cap) {
        uint32_t cap = ps->pend_cap ? ps->pend_cap * 2 : 8;
        struct wr_pgen *v = wr_malloc(cap * sizeof *v);
        for (uint32_t i = 0; i < ps->pend_n; i++)
            v[i] = ps->pend[(ps->pend_head + i) % ps->pend_cap];
        wr_free(ps->pend);
        ps->pend = v;
        ps->pend_cap = cap;
        ps->pend_head = 0;
    }
    ps->pend[(ps->pend_head + ps->pend_n) % ps->pend_cap] =
        (struct wr_pgen){gen, end};
    ps->pend_n++;
}

void
wr_persist_streams_flush(struct wr_server *s, int64_t now)
{
    if (wr_list_empty(&s->pstreams_dirty) && !s->stream_gen_used)
        return;
    s->stream_gen_used = false;
    while (!wr_list_empty(&s->pstreams_dirty)) {
        struct wr_pstream *ps = WR_CONTAINER_OF(s->pstreams_dirty.next,
                                                struct wr_pstream, dirty_link);
        wr_list_remove(&ps->dirty_link);
        if (ps->flush)
            ps->flush(ps->arg);
        if (s->store_failed)
            continue;
        if (wr_store_flush(ps->st, now) != WR_OK) {
            wr_persist_fail(s, ps->st);
            continue;
        }
        if (wr_store_end(ps->st) > wr_store_durable(ps->st)) {
            pend_push(ps, s->stream_gen, wr_store_end(ps->st));
            if (wr_list_empty(&ps->waiting_link))
                wr_list_push_back(&s->pstreams_waiting, &ps->waiting_link);
        }
    }
    s->stream_gen++;
    recompute(s);
}
