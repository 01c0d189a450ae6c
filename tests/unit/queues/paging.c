/* SPDX-License-Identifier: MIT */
/* Test case "paging" of the queues suite (queues/paging.c, STORE.md
 * "Paging"): past the thresholds a durable queue keeps only the location
 * of a persistent message and reads it back, a batch at a time, before it
 * hands it out; bodies, properties, order, priorities and the redelivered
 * flag come back intact; transient messages stay resident; purge and
 * expiry of paged-out entries; recovery restores a backlog paged out
 * without reading it; a damaged record costs only its own entry. */
#include "cases.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

/* A message with a body, a priority (-1: none), a message-id property and
 * delivery mode 2 when persistent. */
static struct wr_msg *
pmsg(const char *body, int priority, bool persistent)
{
    struct wr_props p;
    uint8_t props[128];
    size_t plen;
    struct wr_msg *m;

    memset(&p, 0, sizeof(p));
    p.flags = WR_PROP_DELIVERY_MODE | WR_PROP_MESSAGE_ID;
    p.delivery_mode = persistent ? 2 : 1;
    p.message_id = wr_bytes_str(body);
    if (priority >= 0) {
        p.flags |= WR_PROP_PRIORITY;
        p.priority = (uint8_t)priority;
    }
    ck_assert_int_eq(wr_props_encode(&p, props, sizeof(props), &plen), WR_OK);
    m = wr_msg_new(WR_BYTES_LIT("ex"), WR_BYTES_LIT("rk"), props,
                   (uint32_t)plen, strlen(body));
    ck_assert_ptr_nonnull(m);
    memcpy(wr_msg_body(m), body, strlen(body));
    return m;
}

static struct wr_store *
open_store(const char *dir)
{
    struct wr_store_opts o = {.segment_size = 1 << 16, .chunk_max = 4096};
    struct wr_store *st = NULL;
    char err[256];

    ck_assert_int_eq(wr_store_open(dir, &o, &st, err, sizeof err), WR_OK);
    return st;
}

static void
rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void
push(struct wr_queue *q, const char *body, int priority, bool persistent)
{
    struct wr_msg *m = pmsg(body, priority, persistent);

    ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_OK);
    wr_msg_unref(&m);
}

/* Pops the next message (no-ack) and checks its body, message-id,
 * exchange, routing key and redelivered flag. */
static void
expect(struct wr_queue *q, const char *body, bool redelivered)
{
    struct wr_msg *m = NULL;
    struct wr_props p;
    bool r = false;

    ck_assert(pop_msg(q, &m, &r));
    ck_assert_uint_eq(m->body_size, strlen(body));
    ck_assert(memcmp(wr_msg_body(m), body, strlen(body)) == 0);
    ck_assert_int_eq(wr_msg_props(m, &p), WR_OK);
    ck_assert(p.flags & WR_PROP_MESSAGE_ID);
    ck_assert_uint_eq(p.message_id.len, strlen(body));
    ck_assert(memcmp(p.message_id.ptr, body, strlen(body)) == 0);
    ck_assert_uint_eq(wr_msg_exchange(m).len, 2);
    ck_assert_uint_eq(wr_msg_rkey(m).len, 2);
    ck_assert_int_eq(r, redelivered);
    wr_msg_unref(&m);
}

/* Every record settled: once the log is durable and polled, the files
 * of settled records are gone with their pins, and nothing is held. */
static void
nothing_held(struct wr_store *st)
{
    struct wr_store_stats stats;

    /* a file's pins go once its unlink is durable: a few polls */
    for (int i = 0; i < 500; i++) {
        ck_assert_int_eq(wr_store_flush(st, 0), WR_OK);
        ck_assert_int_eq(wr_store_wait(st, wr_store_end(st)), WR_OK);
        ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
        wr_store_stats(st, &stats);
        if (stats.live_refs == 0)
            break;
        usleep(10000);
    }
    ck_assert_uint_eq(stats.live_refs, 0);
}

static void
teardown(void)
{
    wr_queues_set_paging(WR_PAGING_KEEP_MSGS, WR_PAGING_KEEP_BYTES);
    wr_queues_set_memory_pressure(false);
}

/* Past 4 resident messages new persistent ones are paged out; transient
 * ones stay; all come back in order, with their properties. */
START_TEST(test_page_out_and_back)
{
    char dir[] = "/tmp/wr-paging-XXXXXX";
    struct wr_store *st;
    struct wr_queue *q;
    char body[64];

    ck_assert_ptr_nonnull(mkdtemp(dir));
    st = open_store(dir);
    ck_assert_int_eq(wr_store_recover(st, NULL, NULL, NULL, 0), WR_OK);
    q = mk_queue(0);
    wr_queue_set_store(q, st, 1);
    wr_queues_set_paging(4, 1 << 20);
    for (int i = 0; i < 1000; i++) {
        snprintf(body, sizeof body, "m%04d", i);
        push(q, body, -1, i % 10 != 9); /* every tenth transient */
        if (i % 100 == 0) /* some from the file, some from the chunk */
            ck_assert_int_eq(wr_store_flush(st, 0), WR_OK);
    }
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 1000);
    ck_assert_uint_eq(wr_queue_counts(q)->persistent, 900);
    ck_assert_uint_eq(wr_queue_counts(q)->persistent_bytes, 900 * 5);
    /* 4 persistent ones resident, and the transient ones */
    ck_assert_uint_eq(wr_queue_counts(q)->paged, 896);
    ck_assert_uint_eq(wr_queue_counts(q)->paged_bytes, 896 * 5);
    for (int i = 0; i < 1000; i++) {
        snprintf(body, sizeof body, "m%04d", i);
        expect(q, body, false);
        ck_assert_uint_le(wr_queue_counts(q)->ready - wr_queue_counts(q)->paged,
                          4 + 256 + 100);
    }
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready_bytes, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->paged, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->persistent, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->lost, 0);
    nothing_held(st); /* every entry settled (no-ack pops) */
    wr_queue_unref(&q);
    wr_store_close(st);
    rm_dir(dir);
}
END_TEST

/* A priority queue pages out per level and hands out by priority; an
 * unacked entry requeued goes back in front, resident. */
START_TEST(test_priority_paged)
{
    char dir[] = "/tmp/wr-paging-XXXXXX";
    static const int prio[] = {1, 5, 3, 0, 5, 2, 9, 1};
    struct wr_store *st;
    struct wr_queue *q;
    struct wr_delivery d;
    char body[32];

    ck_assert_ptr_nonnull(mkdtemp(dir));
    st = open_store(dir);
    ck_assert_int_eq(wr_store_recover(st, NULL, NULL, NULL, 0), WR_OK);
    q = mk_queue(5);
    wr_queue_set_store(q, st, 2);
    wr_queues_set_paging(0, 0); /* everything persistent goes out */
    for (int i = 0; i < 8; i++) {
        snprintf(body, sizeof body, "p%d-%d", prio[i], i);
        push(q, body, prio[i], true);
    }
    ck_assert_uint_eq(wr_queue_counts(q)->paged, 8);
    /* 9 is capped at 5: in with the fives, in order */
    ck_assert(get_unacked(q, 0, &d));
    ck_assert_uint_eq(d.msg->body_size, 4);
    ck_assert(memcmp(wr_msg_body(d.msg), "p5-1", 4) == 0);
    settle(q, &d, WR_SETTLE_REQUEUE, 0);
    expect(q, "p5-1", true);
    expect(q, "p5-4", false);
    expect(q, "p9-6", false);
    expect(q, "p3-2", false);
    expect(q, "p2-5", false);
    expect(q, "p1-0", false);
    expect(q, "p1-7", false);
    expect(q, "p0-3", false);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    wr_queue_unref(&q);
    wr_store_close(st);
    rm_dir(dir);
}
END_TEST

/* Purge drops paged-out entries without reading them; expiry reads them
 * back to hand them to the dead hook; memory pressure pages out what is
 * resident. */
START_TEST(test_purge_expire_pressure)
{
    char dir[] = "/tmp/wr-paging-XXXXXX";
    struct wr_store *st;
    struct wr_queue *q;
    struct wr_msg *m;
    char body[32];

    ck_assert_ptr_nonnull(mkdtemp(dir));
    st = open_store(dir);
    ck_assert_int_eq(wr_store_recover(st, NULL, NULL, NULL, 0), WR_OK);
    q = mk_queue(0);
    wr_queue_set_store(q, st, 3);
    for (int i = 0; i < 50; i++) {
        snprintf(body, sizeof body, "x%d", i);
        push(q, body, -1, true);
    }
    ck_assert_uint_eq(wr_queue_counts(q)->paged, 0); /* under the defaults */
    wr_queues_set_memory_pressure(true);
    ck_assert_uint_eq(wr_queue_page_out(q), 50);
    push(q, "new", -1, true); /* paged out at once */
    push(q, "transient", -1, false);
    ck_assert_uint_eq(wr_queue_counts(q)->paged, 51);
    wr_queues_set_memory_pressure(false);
    /* the management API's peek reads the first ones back */
    ck_assert_uint_eq(wr_queue_page_in(q, 3), 3);
    ck_assert_uint_eq(wr_queue_counts(q)->paged, 48);
    ck_assert_uint_eq(wr_queue_purge(q), 52);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready_bytes, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->paged, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->paged_bytes, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->persistent, 0);
    nothing_held(st);

    /* a message TTL: expired while paged out */
    wr_queues_set_paging(0, 0);
    m = pmsg("ttl", -1, true);
    m->ttl = 10;
    ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_OK);
    wr_msg_unref(&m);
    push(q, "stays", -1, true);
    ck_assert_uint_eq(wr_queue_counts(q)->paged, 2);
    ck_assert_uint_eq(wr_queue_expire(q, 100), 1);
    ck_assert_uint_eq(wr_queue_counts(q)->expired, 1);
    ck_assert_uint_eq(wr_queue_counts(q)->paged, 1);
    expect(q, "stays", false);
    nothing_held(st);
    wr_queue_unref(&q);
    wr_store_close(st);
    rm_dir(dir);
}
END_TEST

/* Recovery restores a backlog paged out (beyond the thresholds) without
 * reading the bodies, and they read back intact, redelivered. */
START_TEST(test_recover_paged)
{
    char dir[] = "/tmp/wr-paging-XXXXXX";
    struct wr_store *st;
    struct wr_queue *q;
    struct wr_queues_recovery out;
    char body[64];

    ck_assert_ptr_nonnull(mkdtemp(dir));
    st = open_store(dir);
    ck_assert_int_eq(wr_store_recover(st, NULL, NULL, NULL, 0), WR_OK);
    q = mk_queue(3);
    wr_queue_set_store(q, st, 4);
    for (int i = 0; i < 300; i++) {
        snprintf(body, sizeof body, "r%03d", i);
        push(q, body, i % 2 ? 3 : 0, true);
    }
    ck_assert_int_eq(wr_store_flush(st, 0), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, wr_store_end(st)), WR_OK);
    wr_store_close(st);
    wr_queue_unref(&q);

    wr_queues_set_paging(10, 1 << 20);
    st = open_store(dir);
    q = mk_queue(3);
    wr_queue_set_store(q, st, 4);
    ck_assert_int_eq(
        wr_queues_recover(st, &q, 1, NULL, 0, NULL, NULL, NULL, 0, 0, &out),
        WR_OK);
    ck_assert_uint_eq(out.messages, 300);
    ck_assert_uint_eq(out.bytes, 300 * 4);
    ck_assert_uint_eq(wr_queue_counts(q)->paged, 290);
    ck_assert_uint_eq(wr_queue_counts(q)->persistent, 300);
    for (int i = 1; i < 300; i += 2) {
        snprintf(body, sizeof body, "r%03d", i);
        expect(q, body, true);
    }
    for (int i = 0; i < 300; i += 2) {
        snprintf(body, sizeof body, "r%03d", i);
        expect(q, body, true);
    }
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    wr_queue_unref(&q);
    wr_store_close(st);
    rm_dir(dir);
}
END_TEST

/* Flips a byte of the only occurrence of needle in dir's files. */
static void
damage(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int hits = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        char path[512];
        static char buf[1 << 16];
        ssize_t n;
        int fd;

        if (strstr(e->d_name, ".seg") == NULL)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        fd = open(path, O_RDWR);
        ck_assert_int_ge(fd, 0);
        n = pread(fd, buf, sizeof buf, 0);
        for (ssize_t i = 0; n > 0 && i + (ssize_t)strlen(needle) <= n; i++)
            if (memcmp(buf + i, needle, strlen(needle)) == 0) {
                char c = (char)(buf[i] ^ 0x20);
                ck_assert_int_eq(pwrite(fd, &c, 1, i), 1);
                hits++;
            }
        close(fd);
    }
    closedir(d);
    ck_assert_int_ge(hits, 1);
}

/* A paged-out entry whose record no longer reads back is dropped (and
 * counted lost); its neighbours are delivered. */
START_TEST(test_damaged_record_dropped)
{
    char dir[] = "/tmp/wr-paging-XXXXXX";
    struct wr_store *st;
    struct wr_queue *q;
    struct wr_msg *m;
    bool r;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    st = open_store(dir);
    ck_assert_int_eq(wr_store_recover(st, NULL, NULL, NULL, 0), WR_OK);
    q = mk_queue(0);
    wr_queue_set_store(q, st, 5);
    wr_queues_set_paging(0, 0);
    push(q, "good-one", -1, true);
    push(q, "BADBODY!", -1, true);
    push(q, "good-two", -1, true);
    ck_assert_int_eq(wr_store_flush(st, 0), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, wr_store_end(st)), WR_OK);
    damage(dir, "BADBODY!");
    expect(q, "good-one", false);
    expect(q, "good-two", false);
    ck_assert(!pop_msg(q, &m, &r));
    ck_assert_uint_eq(wr_queue_counts(q)->lost, 1);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->persistent, 0);
    wr_queue_unref(&q);
    wr_store_close(st);
    rm_dir(dir);
}
END_TEST

TCase *
queues_paging_tcase(void)
{
    TCase *tc = tcase_create("paging");

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_page_out_and_back);
    tcase_add_test(tc, test_priority_paged);
    tcase_add_test(tc, test_purge_expire_pressure);
    tcase_add_test(tc, test_recover_paged);
    tcase_add_test(tc, test_damaged_record_dropped);
    return tc;
}
