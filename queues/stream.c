/* SPDX-License-Identifier: MIT */
/* The stream kind (docs/internals/QUEUES.md, "Streams"): an append-only
 * log in a store of its own, one MSG record per message, the record's
 * offset being the message's stream offset. Every consumer reads from its
 * own position with a reader over the segment files (whole chunks, one
 * pread each, only what is durable), so a consumer far behind costs a
 * chunk buffer, not the messages. Deliveries carry x-stream-offset; an ack
 * gives credit back and removes nothing; retention drops whole segments
 * from the head. */
#include "queues_internal.h"

#include "../store/store.h"

#include <stdio.h>
#include <string.h>

#define INDEX_EVERY (64u * 1024)         /* bytes between indexed chunks */
#define DEFAULT_SEGMENT 500000000ull     /* RabbitMQ's default */
#define MAX_SEGMENT (UINT32_MAX - 65536) /* the store's file size is 32-bit */

struct stream {
    struct wr_store *st;
    struct wr_offsets *offs; /* tracked consumers' offsets (its file) */
    struct wr_stracks tracks;
};

/* A consumer's reader: its cursor and the chunk being delivered. */
struct reader {
    struct wr_store_cursor cur;
    uint8_t *buf;
    uint32_t cap;
    struct wr_store_chunk ch;
    uint32_t rpos;           /* next record's position in ch */
    uint64_t roff;           /* its offset */
    bool in_chunk;           /* ch has records left */
    int64_t min_time;        /* WR_STREAM_TIME: skip chunks older than this */
    struct wr_bytes *filter; /* x-stream-filter values (in fbuf) */
    uint32_t nfilter;
    bool match_unfiltered;
    uint8_t *fbuf;
    struct wr_strack *track; /* x-stream-automatic-offset-tracking */
    uint32_t handle;         /* of its deliveries */
};

static struct stream *
S(const struct wr_queue *q)
{
    return q->storage;
}

struct wr_store *
wr_stream_store(const struct wr_queue *q)
{
    return wr_queue_is_stream(q) ? S(q)->st : NULL;
}

static int
stream_init(struct wr_queue *q)
{
    q->storage = wr_calloc(1, sizeof(struct stream));
    return q->storage ? WR_OK : WR_ERR_NOMEM;
}

static void
stream_cleanup(struct wr_queue *q)
{
    struct stream *s = S(q);

    if (s == NULL)
        return;
    wr_offsets_close(s->offs);
    wr_store_close(s->st);
    wr_stracks_cleanup(&s->tracks);
    wr_free(s);
    q->storage = NULL;
}

struct open_ctx {
    struct wr_store *st;
    void (*damage)(void *arg, const struct wr_store_damage *d);
    void *damage_arg;
};

static int
keep_record(void *arg, uint8_t type, const struct wr_store_loc *loc,
            struct wr_bytes payload, int64_t time_ms)
{
    struct open_ctx *oc = arg;

    (void)type;
    (void)payload;
    (void)time_ms;
    /* a stream keeps everything until retention drops its segment */
    wr_store_ref(oc->st, loc);
    return WR_OK;
}

static void
on_damage(void *arg, const struct wr_store_damage *d)
{
    struct open_ctx *oc = arg;

    if (oc->damage)
        oc->damage(oc->damage_arg, d);
}

int
wr_stream_open(struct wr_queue *q, const char *dir,
               const struct wr_store_opts *base,
               void (*damage)(void *arg, const struct wr_store_damage *d),
               void *damage_arg, int64_t wall, char *err, size_t errlen)
{
    struct stream *s = S(q);
    struct wr_store_opts o = {0};
    uint64_t seg =
        q->eff.has_segment_size ? q->eff.segment_size : DEFAULT_SEGMENT;
    int rc;

    if (base)
        o = *base;
    o.segment_size = (uint32_t)WR_MAX(WR_MIN(seg, MAX_SEGMENT), 4096u);
    o.index_every = INDEX_EVERY;
    o.sparse = true;
    rc = wr_store_open(dir, &o, &s->st, err, errlen);
    if (rc != WR_OK)
        return rc;
    {
        struct open_ctx oc = {s->st, damage, damage_arg};
        rc = wr_store_recover(s->st, keep_record, on_damage, &oc, wall);
    }
    if (rc != WR_OK) {
        snprintf(err, errlen, "cannot read the stream back from %s", dir);
        wr_store_close(s->st);
        s->st = NULL;
        return rc;
    }
    rc = wr_offsets_open(dir, 0, damage, damage_arg, &s->offs, err, errlen);
    if (rc != WR_OK) {
        wr_store_close(s->st);
        s->st = NULL;
    }
    return rc;
}

/* ---- publishing ---------------------------------------------------------- */

static int
stream_enqueue(struct wr_queue *q, struct wr_msg *m, int64_t now)
{
    struct stream *s = S(q);
    uint8_t hdr[WR_PREC_MSG_HDR];
    struct wr_bytes parts[3];
    struct wr_store_loc loc;
    unsigned n;
    int rc;

    (void)now;
    if (s->st == NULL)
        return WR_ERR_FULL;
    n = wr_prec_msg_parts(m, 0, hdr, parts);
    rc = wr_store_append(s->st, WR_PREC_MSG, parts, n, now, &loc);
    if (rc != WR_OK)
        return rc == WR_ERR_NOMEM ? rc : WR_ERR_FULL;
    q->counts.published++;
    if (q->hooks && q->hooks->stream_dirty)
        q->hooks->stream_dirty(q);
    return WR_OK;
}

/* ---- consumers ----------------------------------------------------------- */

static void start_at(struct stream *s, struct wr_consumer *c, struct reader *r,
                     const struct wr_stream_offset *from, uint64_t first,
                     uint64_t end);
static void stream_consumer_gone(struct wr_queue *q, struct wr_consumer *c);

int
wr_stream_consumer_start(struct wr_queue *q, struct wr_consumer *c,
                         const struct wr_stream_offset *from)
{
    struct stream *s = S(q);
    struct reader *r = wr_calloc(1, sizeof *r);
    uint64_t first, end;

    if (r == NULL)
        return WR_ERR_NOMEM;
    if (from->nfilter > 0) {
        size_t total = 0;
        uint8_t *p;

        for (uint32_t i = 0; i < from->nfilter; i++)
            total += from->filter[i].len;
        r->filter = wr_malloc(from->nfilter * sizeof *r->filter);
        r->fbuf = wr_malloc(total ? total : 1);
        if (r->filter == NULL || r->fbuf == NULL) {
            wr_free(r->filter);
            wr_free(r->fbuf);
            wr_free(r);
            return WR_ERR_NOMEM;
        }
        p = r->fbuf;
        for (uint32_t i = 0; i < from->nfilter; i++) {
            if (from->filter[i].len)
                memcpy(p, from->filter[i].ptr, from->filter[i].len);
            r->filter[i] = (struct wr_bytes){p, from->filter[i].len};
            p += from->filter[i].len;
        }
        r->nfilter = from->nfilter;
        r->match_unfiltered = from->match_unfiltered;
    }
    c->kstate = r;
    r->handle = 1;
    if (s->st == NULL) {
        c->position = 0;
        return WR_OK;
    }
    first = wr_store_first(s->st);
    end = wr_store_end(s->st);
    if (from->track) {
        uint64_t at;
        bool known = wr_offsets_get(s->offs, from->tag.ptr, from->tag.len, &at);

        /* the stored offset wins over x-stream-offset; one that retention
         * removed starts at the oldest kept (the reader moves there) */
        if (known)
            c->position = WR_MIN(at, end);
        else
            start_at(s, c, r, from, first, end);
        r->track =
            wr_strack_new(&s->tracks, c, from->tag, c->position, &r->handle);
        if (r->track == NULL) {
            stream_consumer_gone(q, c);
            return WR_ERR_NOMEM;
        }
        if (known || from->start != WR_STREAM_TIME)
            wr_store_seek(s->st, c->position, &r->cur);
        return WR_OK;
    }
    start_at(s, c, r, from, first, end);
    if (from->start != WR_STREAM_TIME)
        wr_store_seek(s->st, c->position, &r->cur);
    return WR_OK;
}

/* Places c by x-stream-offset (its reader when by time). */
static void
start_at(struct stream *s, struct wr_consumer *c, struct reader *r,
         const struct wr_stream_offset *from, uint64_t first, uint64_t end)
{
    uint64_t last;

    switch (from->start) {
    case WR_STREAM_FIRST:
        c->position = first;
        break;
    case WR_STREAM_LAST:
        c->position =
            wr_store_last_chunk(s->st, &last) && last >= first ? last : end;
        break;
    case WR_STREAM_OFFSET:
        /* RabbitMQ's: one past the end waits for that offset */
        c->position = WR_MAX(from->offset, first);
        break;
    case WR_STREAM_TIME:
        c->position = first;
        r->min_time = from->time_ms;
        wr_store_seek_time(s->st, from->time_ms, &r->cur);
        break;
    default:
        c->position = end;
        break;
    }
}

static void
stream_consumer_gone(struct wr_queue *q, struct wr_consumer *c)
{
    struct reader *r = c->kstate;

    if (r == NULL)
        return;
    if (r->track)
        wr_strack_gone(&S(q)->tracks, r->track);
    wr_free(r->buf);
    wr_free(r->filter);
    wr_free(r->fbuf);
    wr_free(r);
    c->kstate = NULL;
}

/* Whether a message with these headers is for r (exact: its
 * x-stream-filter-value is one of r's filters, or it has none and r
 * matches unfiltered ones). */
static bool
wanted(const struct reader *r, struct wr_table headers)
{
    struct wr_value v;

    if (r->nfilter == 0)
        return true;
    if (wr_table_get(headers, "x-stream-filter-value", &v) != WR_OK ||
        (v.type != WR_FT_LONGSTR && v.type != WR_FT_BYTES))
        return r->match_unfiltered;
    for (uint32_t i = 0; i < r->nfilter; i++)
        if (wr_bytes_eq(r->filter[i], v.v.str))
            return true;
    return false;
}

/* The message of a MSG record as delivered: its headers gain
 * x-stream-offset (a long), as RabbitMQ's stream queues add it. NULL when
 * it does not decode, or when r's filter leaves it out. */
static struct wr_msg *
build(struct wr_bytes payload, uint64_t offset, const struct reader *r)
{
    static const char *const skip[] = {"x-stream-offset", NULL};
    struct wr_prec pr;
    struct wr_props p = {0};
    struct wr_msg_spec sp = {0};
    struct wr_msg *m = NULL;
    struct wr_tb b;
    size_t hcap, pcap, plen;
    uint8_t *hbuf, *pbuf;

    if (wr_prec_decode(WR_PREC_MSG, payload, &pr) != WR_OK)
        return NULL;
    if (pr.msg.props.len > 0 &&
        wr_props_decode(pr.msg.props.ptr, pr.msg.props.len, &p) != WR_OK)
        return NULL;
    if (!wanted(r, p.headers))
        return NULL;
    hcap = (size_t)p.headers.len + 64;
    pcap = (size_t)pr.msg.props.len + 64 + 8;
    hbuf = wr_malloc(hcap);
    pbuf = wr_malloc(pcap);
    if (hbuf == NULL || pbuf == NULL)
        goto done;
    wr_tb_init(&b, hbuf, hcap);
    wr_headers_copy(&b, p.headers, skip);
    wr_tb_add_int(&b, "x-stream-offset", WR_FT_I64, (int64_t)offset);
    wr_tb_end(&b);
    if (b.err != WR_OK)
        goto done;
    p.flags |= WR_PROP_HEADERS;
    p.headers = wr_tb_table(&b);
    if (wr_props_encode(&p, pbuf, pcap, &plen) != WR_OK)
        goto done;
    sp.exchange = pr.msg.exchange;
    sp.rkey = pr.msg.rkey;
    sp.props = pbuf;
    sp.props_len = (uint32_t)plen;
    sp.decoded = &p;
    sp.body_size = pr.msg.body.len;
    m = wr_msg_build(&sp);
    if (m && pr.msg.body.len > 0)
        memcpy(wr_msg_body(m), pr.msg.body.ptr, pr.msg.body.len);
done:
    wr_free(hbuf);
    wr_free(pbuf);
    return m;
}

/* Moves r to the next chunk that has something for c below limit. */
static bool
next_chunk(struct stream *s, struct wr_consumer *c, struct reader *r,
           uint64_t limit)
{
    for (;;) {
        int rc = wr_store_read_chunk(s->st, &r->cur, limit, &r->buf, &r->cap,
                                     &r->ch);

        if (rc == WR_ERR_SYNTAX)
            continue; /* damage: the reader moved on */
        if (rc != WR_OK)
            return false;
        if (r->min_time) {
            if (r->ch.time_ms < r->min_time)
                continue;
            r->min_time = 0;
            c->position = WR_MAX(c->position, r->ch.first);
        }
        if (r->ch.first + r->ch.records <= c->position)
            continue;
        if (r->ch.first > c->position) /* retention passed it */
            c->position = r->ch.first;
        r->in_chunk = true;
        r->rpos = 0;
        r->roff = r->ch.first;
        return true;
    }
}

/* Feeds one consumer from its position while it can take more. */
static uint64_t
feed(struct wr_queue *q, struct stream *s, struct wr_consumer *c,
     uint64_t limit)
{
    struct reader *r = c->kstate;
    uint64_t n = 0;

    while (r && c->ops->can_take(c)) {
        struct wr_delivery d = {0};
        struct wr_bytes payload;
        uint8_t type;
        uint64_t off;

        if (!r->in_chunk && !next_chunk(s, c, r, limit))
            break;
        if (r->track && wr_strack_reserve(r->track) != WR_OK)
            break; /* out of memory: tried again at the next dispatch */
        if (wr_store_chunk_next(&r->ch, &r->rpos, &type, &payload) != WR_OK) {
            r->in_chunk = false; /* the end, or damage: the rest is lost */
            continue;
        }
        off = r->roff++;
        if (off < c->position || type != WR_PREC_MSG)
            continue;
        c->position = off + 1;
        d.msg = build(payload, off, r);
        if (d.msg == NULL)
            continue;
        d.id = off;
        d.handle = r->handle;
        if (r->track)
            wr_strack_delivered(r->track, off);
        q->counts.delivered++;
        q->counts.unacked++;
        n++;
        c->ops->deliver(c, q, &d);
        wr_msg_unref(&d.msg);
        /* deliver may have removed c (its channel closed) */
        r = c->queue == q ? c->kstate : NULL;
    }
    return n;
}

static uint64_t
stream_dispatch(struct wr_queue *q, int64_t now)
{
    struct stream *s = S(q);
    struct wr_list *pos, *tmp;
    uint64_t limit, n = 0;

    (void)now;
    if (s->st == NULL || q->deleted)
        return 0;
    limit = wr_store_durable(s->st);
    wr_list_for_each_safe(pos, tmp, &q->consumers)
    {
        struct wr_consumer *c = WR_CONTAINER_OF(pos, struct wr_consumer, link);
        n += feed(q, s, c, limit);
    }
    return n;
}

static bool
stream_get(struct wr_queue *q, int64_t now, bool no_ack, struct wr_delivery *d)
{
    (void)q;
    (void)now;
    (void)no_ack;
    (void)d;
    return false; /* basic.get is refused above (540) */
}

static void
stream_settle(struct wr_queue *q, uint64_t id, uint32_t handle,
              enum wr_settle how, int64_t now)
{
    struct stream *s = S(q);

    (void)now;
    wr_assert(q->counts.unacked > 0);
    q->counts.unacked--;
    if (how == WR_SETTLE_ACK)
        q->counts.acked++;
    if (handle >= WR_STRACK_HANDLE0 &&
        wr_strack_settle(&s->tracks, handle, id, how == WR_SETTLE_ACK,
                         s->offs) &&
        q->hooks && q->hooks->stream_dirty)
        q->hooks->stream_dirty(q); /* written at the end of the turn */
}

int
wr_stream_flush_offsets(struct wr_queue *q)
{
    return wr_queue_is_stream(q) ? wr_offsets_flush(S(q)->offs) : WR_OK;
}

bool
wr_stream_tracked(const struct wr_queue *q, struct wr_bytes tag,
                  uint64_t *offset)
{
    return wr_queue_is_stream(q) &&
           wr_offsets_get(S(q)->offs, tag.ptr, tag.len, offset);
}

bool
wr_stream_tracked_next(const struct wr_queue *q, size_t *pos,
                       struct wr_bytes *tag, uint64_t *offset)
{
    return wr_queue_is_stream(q) &&
           wr_offsets_next(S(q)->offs, pos, tag, offset);
}

static uint64_t
stream_purge(struct wr_queue *q)
{
    (void)q;
    return 0;
}

void
wr_stream_close(struct wr_queue *q, bool destroy)
{
    struct stream *s = S(q);

    if (destroy) {
        wr_offsets_destroy(s->offs);
        wr_store_destroy(s->st);
    } else {
        wr_offsets_close(s->offs);
        wr_store_close(s->st);
    }
    s->offs = NULL;
    s->st = NULL;
}

static uint64_t
stream_delete(struct wr_queue *q)
{
    (void)q; /* the owner closed or removed the store */
    return 0;
}

static uint64_t
stream_expire(struct wr_queue *q, int64_t now)
{
    (void)q;
    (void)now;
    return 0;
}

static bool
stream_next_deadline(const struct wr_queue *q, int64_t *at)
{
    (void)q;
    (void)at;
    return false;
}

static size_t
stream_peek(const struct wr_queue *q, int64_t now, struct wr_qentry *out,
            size_t n)
{
    (void)q;
    (void)now;
    (void)out;
    (void)n;
    return 0;
}

static void
stream_limits_changed(struct wr_queue *q)
{
    (void)q; /* retention applies at the next wr_stream_retain */
}

void
wr_stream_info(const struct wr_queue *q, struct wr_stream_info *out)
{
    struct wr_store *st = wr_stream_store(q);
    size_t n;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return;
    out->first = wr_store_first(st);
    out->next = wr_store_end(st);
    out->committed = wr_store_durable(st);
    n = wr_store_segments(st);
    out->segments = n;
    for (size_t i = 0; i < n; i++) {
        struct wr_store_seginfo si;
        wr_store_segment(st, i, &si);
        out->bytes += si.bytes;
    }
}

unsigned
wr_stream_retain(struct wr_queue *q, int64_t wall)
{
    struct wr_store *st = wr_stream_store(q);
    unsigned dropped = 0;

    if (st == NULL || (!q->eff.has_max_bytes && !q->eff.has_max_age))
        return 0;
    for (;;) {
        struct wr_store_seginfo head;
        uint64_t total = 0;
        size_t n = wr_store_segments(st);
        bool over;

        if (n < 2)
            break;
        for (size_t i = 0; i < n; i++) {
            struct wr_store_seginfo si;
            wr_store_segment(st, i, &si);
            total += si.bytes;
        }
        wr_store_segment(st, 0, &head);
        over = q->eff.has_max_bytes && total > q->eff.max_bytes;
        if (q->eff.has_max_age && head.last_time > 0 &&
            head.last_time < wall - (int64_t)q->eff.max_age_ms)
            over = true;
        if (!over || wr_store_drop_head(st) != WR_OK)
            break;
        dropped++;
    }
    return dropped;
}

const struct wr_queue_kind wr_queue_stream = {
    .name = "stream",
    .init = stream_init,
    .cleanup = stream_cleanup,
    .enqueue = stream_enqueue,
    .dispatch = stream_dispatch,
    .get = stream_get,
    .settle = stream_settle,
    .purge = stream_purge,
    .delete = stream_delete,
    .expire = stream_expire,
    .next_deadline = stream_next_deadline,
    .peek = stream_peek,
    .limits_changed = stream_limits_changed,
    .consumer_gone = stream_consumer_gone,
};
