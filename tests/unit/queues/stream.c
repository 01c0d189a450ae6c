/* SPDX-License-Identifier: MIT */
/* The stream kind (queues/stream.c): messages appended to a store of its
 * own, delivered only once durable, to every consumer from its own
 * position (first, last, next, an offset, a time), with x-stream-offset in
 * their headers; settling removes nothing; retention by size drops head
 * segments; a reopened stream has everything and goes on numbering. */
#include "cases.h"

#include "../../../store/store.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

static char sdir[256];

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static struct wr_queue *
mk_stream(uint64_t max_bytes, uint64_t segment)
{
    struct wr_queue_args a = {.stream = true};
    struct wr_queue *q;
    char err[256];

    if (max_bytes) {
        a.has_max_bytes = true;
        a.max_bytes = max_bytes;
    }
    if (segment) {
        a.has_segment_size = true;
        a.segment_size = segment;
    }
    q = mk_queue_args(&a);
    ck_assert_ptr_eq(q->kind, &wr_queue_stream);
    ck_assert(wr_queue_is_stream(q));
    ck_assert_int_eq(
        wr_stream_open(q, sdir, NULL, NULL, NULL, 1000, err, sizeof err),
        WR_OK);
    return q;
}

/* Publishes ids from..to-1 and makes them durable (what the broker's
 * end-of-turn flush and the sync thread do). */
static void
publish(struct wr_queue *q, uint64_t from, uint64_t to, int64_t wall)
{
    struct wr_store *st = wr_stream_store(q);

    for (uint64_t i = from; i < to; i++) {
        struct wr_msg *m = mk_msg(i, -1, "body");
        ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_OK);
        wr_msg_unref(&m);
    }
    ck_assert_int_eq(wr_store_flush(st, wall), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, wr_store_end(st)), WR_OK);
}

static void
start(struct wr_queue *q, struct fake *f, int id, int credit,
      enum wr_stream_start how, uint64_t offset)
{
    struct wr_stream_offset from = {.start = how, .offset = offset};

    fake_init(f, id, credit);
    ck_assert_int_eq(wr_stream_consumer_start(q, &f->c, &from), WR_OK);
    ck_assert_int_eq(wr_queue_consumer_add(q, &f->c), WR_OK);
}

/* Dispatches to f 250 at a time, acking in between, until nothing more
 * comes; returns how many. */
static uint64_t
drain(struct wr_queue *q, struct fake *f)
{
    uint64_t n = 0, got;

    do {
        f->credit = 250;
        got = wr_queue_dispatch(q, 0);
        fake_ack_all(f, q);
        n += got;
    } while (got > 0);
    return n;
}

static void
stream_setup(void)
{
    snprintf(sdir, sizeof sdir, "/tmp/wr-stream-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(sdir));
    reset_log();
}

static void
stream_teardown(void)
{
    nftw(sdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

START_TEST(stream_consumers_at_their_positions)
{
    struct wr_queue *q = mk_stream(0, 0);
    struct fake a, b, c;
    struct wr_stream_info info;

    publish(q, 0, 10, 5000);
    start(q, &a, 1, 100, WR_STREAM_FIRST, 0);
    start(q, &b, 2, 100, WR_STREAM_OFFSET, 7);
    start(q, &c, 3, 100, WR_STREAM_NEXT, 0);
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 13);
    ck_assert_int_eq(a.got, 10);
    ck_assert_int_eq(b.got, 3);
    ck_assert_int_eq(c.got, 0);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(log_who[i], 1);
        ck_assert_uint_eq(log_id[i], (uint64_t)i); /* the offset */
        ck_assert_uint_eq(log_seq[i], (uint64_t)i);
    }
    ck_assert_uint_eq(a.c.position, 10);
    ck_assert_uint_eq(b.c.position, 10);
    ck_assert_uint_eq(c.c.position, 10);
    /* acks remove nothing */
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 13);
    fake_ack_all(&a, q);
    fake_ack_all(&b, q);
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->acked, 13);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    /* appended but not durable yet: not delivered */
    {
        struct wr_msg *m = mk_msg(10, -1, "x");
        ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_OK);
        wr_msg_unref(&m);
    }
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 0);
    publish(q, 11, 12, 6000);
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 6);
    ck_assert_int_eq(c.got, 2);
    wr_stream_info(q, &info);
    ck_assert_uint_eq(info.first, 0);
    ck_assert_uint_eq(info.next, 12);
    ck_assert_uint_eq(info.committed, 12);
    ck_assert_uint_eq(info.segments, 1);
    ck_assert_uint_gt(info.bytes, 12 * 12);
    /* credit bounds it */
    {
        struct fake d;
        start(q, &d, 4, 3, WR_STREAM_FIRST, 0);
        ck_assert_uint_eq(wr_queue_dispatch(q, 0), 3);
        ck_assert_uint_eq(d.c.position, 3);
        wr_queue_consumer_remove(q, &d.c);
        fake_ack_all(&d, q);
    }
    wr_queue_consumer_remove(q, &a.c);
    wr_queue_consumer_remove(q, &b.c);
    wr_queue_consumer_remove(q, &c.c);
    fake_ack_all(&c, q);
    wr_stream_close(q, true);
    wr_queue_unref(&q);
}
END_TEST

/* The x-stream-offset header of a delivered message. */
static int64_t
offset_header(struct wr_msg *m)
{
    struct wr_props p;
    struct wr_value v;

    ck_assert_int_eq(wr_msg_props(m, &p), WR_OK);
    ck_assert(p.flags & WR_PROP_HEADERS);
    ck_assert_int_eq(wr_table_get(p.headers, "x-stream-offset", &v), WR_OK);
    ck_assert_int_eq(v.type, WR_FT_I64);
    return v.v.i;
}

static int64_t seen_offsets[64];
static int nseen;

static void
record_header(struct fake *f, struct wr_queue *q)
{
    (void)q;
    seen_offsets[nseen++] = offset_header(f->held[f->nheld - 1].msg);
}

START_TEST(stream_offset_header_last_and_time)
{
    struct wr_queue *q = mk_stream(0, 0);
    struct fake a, l;
    struct wr_stream_offset t = {.start = WR_STREAM_TIME, .time_ms = 15000};

    publish(q, 0, 5, 10000);
    publish(q, 5, 8, 20000);
    nseen = 0;
    start(q, &a, 1, 100, WR_STREAM_FIRST, 0);
    a.hook = record_header;
    wr_queue_dispatch(q, 0);
    ck_assert_int_eq(nseen, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(seen_offsets[i], i);
    /* last: the start of the last chunk */
    start(q, &l, 2, 100, WR_STREAM_LAST, 0);
    wr_queue_dispatch(q, 0);
    ck_assert_int_eq(l.got, 3);
    ck_assert_uint_eq(log_seq[nlog - 3], 5);
    wr_queue_consumer_remove(q, &l.c);
    fake_ack_all(&l, q);
    /* a time: the first chunk at or after it */
    fake_init(&l, 3, 100);
    ck_assert_int_eq(wr_stream_consumer_start(q, &l.c, &t), WR_OK);
    ck_assert_int_eq(wr_queue_consumer_add(q, &l.c), WR_OK);
    wr_queue_dispatch(q, 0);
    ck_assert_int_eq(l.got, 3);
    ck_assert_uint_eq(log_seq[nlog - 3], 5);
    wr_queue_consumer_remove(q, &l.c);
    fake_ack_all(&l, q);
    wr_queue_consumer_remove(q, &a.c);
    fake_ack_all(&a, q);
    wr_stream_close(q, false);
    wr_queue_unref(&q);
}
END_TEST

START_TEST(stream_reopened)
{
    struct wr_queue *q = mk_stream(0, 4096);
    struct fake a;

    publish(q, 0, 300, 5000);
    wr_stream_close(q, false);
    wr_queue_unref(&q);
    q = mk_stream(0, 4096);
    start(q, &a, 1, 0, WR_STREAM_FIRST, 0);
    ck_assert_uint_eq(drain(q, &a), 300);
    publish(q, 300, 310, 6000);
    ck_assert_uint_eq(drain(q, &a), 10);
    ck_assert_uint_eq(log_id[nlog - 1], 309);
    ck_assert_uint_eq(log_seq[nlog - 1], 309);
    wr_queue_consumer_remove(q, &a.c);
    fake_ack_all(&a, q);
    wr_stream_close(q, false);
    wr_queue_unref(&q);
}
END_TEST

START_TEST(stream_retention_by_size)
{
    struct wr_queue *q = mk_stream(10000, 4096);
    struct fake a;
    struct wr_stream_info info;

    publish(q, 0, 1000, 5000);
    ck_assert_uint_gt(wr_stream_retain(q, 5000), 0);
    wr_stream_info(q, &info);
    ck_assert_uint_le(info.bytes, 10000);
    ck_assert_uint_gt(info.first, 0);
    ck_assert_uint_eq(info.next, 1000);
    start(q, &a, 1, 0, WR_STREAM_FIRST, 0);
    reset_log();
    ck_assert_uint_eq(drain(q, &a), 1000 - info.first);
    ck_assert_uint_eq(log_id[0], info.first);
    wr_queue_consumer_remove(q, &a.c);
    fake_ack_all(&a, q);
    ck_assert_uint_eq(wr_stream_retain(q, 5000), 0);
    wr_stream_close(q, true);
    wr_queue_unref(&q);
}
END_TEST

/* x-stream-automatic-offset-tracking: each ack stores the first offset
 * the consumer has not acked (not past one given back unacked); acks after
 * the consumer went still count; the next consumer of the tag starts
 * there, whatever x-stream-offset says; the offsets survive a reopen. */
static void
start_tracked(struct wr_queue *q, struct fake *f, int id, int credit,
              enum wr_stream_start how)
{
    struct wr_stream_offset from = {
        .start = how, .track = true, .tag = {(const uint8_t *)"t", 1}};

    fake_init(f, id, credit);
    ck_assert_int_eq(wr_stream_consumer_start(q, &f->c, &from), WR_OK);
    ck_assert_int_eq(wr_queue_consumer_add(q, &f->c), WR_OK);
}

static uint64_t
tracked(struct wr_queue *q)
{
    uint64_t at = UINT64_MAX;

    if (!wr_stream_tracked(q, (struct wr_bytes){(const uint8_t *)"t", 1}, &at))
        return UINT64_MAX;
    return at;
}

START_TEST(stream_offset_tracking)
{
    struct wr_queue *q = mk_stream(0, 0);
    struct fake a, b;

    publish(q, 0, 20, 5000);
    start_tracked(q, &a, 1, 10, WR_STREAM_FIRST);
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 10);
    ck_assert_uint_eq(tracked(q), UINT64_MAX); /* nothing acked yet */
    for (int i = 0; i < 5; i++)
        settle(q, &a.held[i], WR_SETTLE_ACK, 0);
    ck_assert_uint_eq(tracked(q), 5);
    settle(q, &a.held[6], WR_SETTLE_ACK, 0); /* 5 is still out */
    ck_assert_uint_eq(tracked(q), 5);
    settle(q, &a.held[5], WR_SETTLE_REQUEUE, 0); /* given back */
    for (int i = 7; i < 10; i++)
        settle(q, &a.held[i], WR_SETTLE_ACK, 0);
    ck_assert_uint_eq(tracked(q), 5);
    wr_queue_consumer_remove(q, &a.c);
    /* the tag resumes at 5, not at "next" */
    start_tracked(q, &b, 2, 10, WR_STREAM_NEXT);
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 10);
    ck_assert_uint_eq(log_id[0], 5);
    /* acked after the consumer went: still stored */
    wr_queue_consumer_remove(q, &b.c);
    fake_ack_all(&b, q);
    ck_assert_uint_eq(tracked(q), 15);
    ck_assert_int_eq(wr_stream_flush_offsets(q), WR_OK);
    wr_stream_close(q, false);
    wr_queue_unref(&q);
    q = mk_stream(0, 0);
    ck_assert_uint_eq(tracked(q), 15);
    start_tracked(q, &b, 3, 100, WR_STREAM_FIRST);
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 5);
    ck_assert_uint_eq(log_id[0], 15);
    wr_queue_consumer_remove(q, &b.c);
    fake_ack_all(&b, q);
    ck_assert_uint_eq(tracked(q), 20);
    wr_stream_close(q, true);
    wr_queue_unref(&q);
}
END_TEST

TCase *
queues_stream_tcase(void)
{
    TCase *tc = tcase_create("stream");

    tcase_add_checked_fixture(tc, stream_setup, stream_teardown);
    tcase_add_test(tc, stream_consumers_at_their_positions);
    tcase_add_test(tc, stream_offset_header_last_and_time);
    tcase_add_test(tc, stream_reopened);
    tcase_add_test(tc, stream_retention_by_size);
    tcase_add_test(tc, stream_offset_tracking);
    return tc;
}
