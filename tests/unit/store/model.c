/* SPDX-License-Identifier: MIT */
/* The store suite's model test case: random sequences of append, flush,
 * release, ack (a tombstone pinned to the record it cancels, as a queue's
 * settle will do), poll and reopen, against a model of what must be on disk:
 * every record still referenced reads back and is recovered, and no acked
 * record comes back without its tombstone. Small segments, so reclamation runs
 * all the time. Then the same with the writer killed (SIGKILL) in the middle.
 */
#include "cases.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#define M_MAX 8192

struct mrec {
    bool held;    /* the test holds a reference */
    bool tomb;    /* cancels `target` */
    bool flushed; /* written before the last flush */
    bool recovered;
    uint64_t target;
    uint32_t len;
    struct wr_store_loc loc;
};

static struct mrec mrecs[M_MAX];
static uint64_t mnext, mseed, mreclaimed;
static int mops = 3000; /* operations a run; fewer under valgrind */
static struct wr_store *mst;

static uint64_t
mrand(void)
{
    mseed ^= mseed << 13;
    mseed ^= mseed >> 7;
    mseed ^= mseed << 17;
    return mseed;
}

static uint8_t
mbyte(uint64_t off, uint32_t i)
{
    return (uint8_t)(off * 131 + i * 7 + (off >> 3));
}

/* One assertion per record: Check reports every assertion's place to its
 * parent with a write, so none goes in a loop over bytes. */
static bool
m_bytes_ok(const uint8_t *p, uint64_t off, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        if (p[i] != mbyte(off, i))
            return false;
    return true;
}

static int
no_sync(int fd)
{
    (void)fd;
    return 0;
}

static int
m_record(void *arg, uint8_t type, const struct wr_store_loc *loc,
         struct wr_bytes payload, int64_t time_ms)
{
    struct mrec *r;

    (void)arg;
    (void)time_ms;
    ck_assert_uint_lt(loc->offset, mnext);
    r = &mrecs[loc->offset];
    ck_assert_uint_eq(type, r->tomb ? 3 : 1);
    ck_assert_uint_eq(payload.len, r->len);
    ck_assert(m_bytes_ok(payload.ptr, loc->offset, payload.len));
    r->recovered = true;
    r->loc = *loc;
    if (r->held)
        wr_store_ref(mst, loc);
    /* As a queue will: a tombstone whose target is still there is kept
     * for as long as the target's segment is. */
    if (r->tomb && mrecs[r->target].recovered)
        wr_store_pin(mst, loc, &mrecs[r->target].loc);
    return WR_OK;
}

static void
m_damage(void *arg, const struct wr_store_damage *d)
{
    (void)arg;
    ck_abort_msg("damage in %s at %llu: %s", d->file,
                 (unsigned long long)d->pos, d->what);
}

static void
m_open(void)
{
    struct wr_store_opts o = {
        .segment_size = 4096, .chunk_max = 1024, .sync_fn = no_sync};
    char err[256];

    for (uint64_t i = 0; i < mnext; i++)
        mrecs[i].recovered = false;
    ck_assert_int_eq(wr_store_open(dir, &o, &mst, err, sizeof err), WR_OK);
    ck_assert_int_eq(wr_store_recover(mst, m_record, m_damage, NULL, 1000),
                     WR_OK);
}

/* After a recovery: what is referenced came back, and nothing acked came
 * back without its tombstone (durable: flushed before the stop). */
static void
m_check_recovered(void)
{
    for (uint64_t i = 0; i < mnext; i++) {
        const struct mrec *r = &mrecs[i];

        if (r->held && r->flushed && !r->recovered)
            ck_abort_msg("record %llu lost", (unsigned long long)i);
        if (r->tomb && r->flushed && mrecs[r->target].recovered &&
            !r->recovered)
            ck_abort_msg("record %llu back without its tombstone %llu",
                         (unsigned long long)r->target, (unsigned long long)i);
    }
}

/* A random held, non-tombstone record, or UINT64_MAX. */
static uint64_t
m_pick_held(void)
{
    for (int tries = 0; tries < 8 && mnext > 0; tries++) {
        uint64_t i = mrand() % mnext;

        if (mrecs[i].held && !mrecs[i].tomb)
            return i;
    }
    return UINT64_MAX;
}

static void
m_append(bool tomb, uint64_t target)
{
    uint8_t buf[800];
    struct mrec *r = &mrecs[mnext];
    struct wr_bytes part = {buf, 0};

    ck_assert_uint_lt(mnext, M_MAX);
    memset(r, 0, sizeof *r);
    r->len = tomb ? 8 : (uint32_t)(mrand() % 700);
    for (uint32_t i = 0; i < r->len; i++)
        buf[i] = mbyte(mnext, i);
    part.len = r->len;
    r->tomb = tomb;
    r->target = target;
    r->held = !tomb;
    if (mst != NULL) {
        ck_assert_int_eq(
            wr_store_append(mst, tomb ? 3 : 1, &part, 1, 2000, &r->loc), WR_OK);
        ck_assert_uint_eq(r->loc.offset, mnext);
    }
    mnext++;
}

/* One random operation; the model is kept whether or not a store is
 * there (mst NULL: the parent following what a killed child did). */
static void
m_step(bool allow_reopen)
{
    unsigned op = (unsigned)(mrand() % 100);
    uint64_t t;

    if (op < 40) {
        m_append(false, 0);
    } else if (op < 55) {
        if (mst != NULL)
            ck_assert_int_eq(wr_store_flush(mst, 3000), WR_OK);
        for (uint64_t i = 0; i < mnext; i++)
            mrecs[i].flushed = true;
    } else if (op < 72) {
        if ((t = m_pick_held()) != UINT64_MAX) {
            if (mst != NULL)
                wr_store_unref(mst, &mrecs[t].loc);
            mrecs[t].held = false;
        }
    } else if (op < 89) {
        if ((t = m_pick_held()) != UINT64_MAX) {
            m_append(true, t);
            if (mst != NULL) {
                struct mrec *tb = &mrecs[mnext - 1];

                wr_store_pin(mst, &tb->loc, &mrecs[t].loc);
                wr_store_unref(mst, &mrecs[t].loc);
                wr_store_unref(mst, &tb->loc);
            }
            mrecs[t].held = false;
        }
    } else if (op < 97 || !allow_reopen) {
        if (mst != NULL)
            ck_assert_int_eq(wr_store_poll(mst, NULL), WR_OK);
    } else if (mst != NULL) {
        struct wr_store_stats stats;

        wr_store_stats(mst, &stats);
        mreclaimed += stats.reclaimed;
        wr_store_close(mst); /* flushes and syncs */
        for (uint64_t i = 0; i < mnext; i++)
            mrecs[i].flushed = true;
        m_open();
        m_check_recovered();
    }
}

/* Every record still referenced (and, after a kill, flushed) reads back. */
static void
m_check_reads(bool flushed_only)
{
    uint8_t buf[800];

    for (uint64_t i = 0; i < mnext; i++) {
        if (!mrecs[i].held || (flushed_only && !mrecs[i].flushed))
            continue;
        ck_assert_int_eq(
            wr_store_read(mst, &mrecs[i].loc, buf, sizeof buf, NULL), WR_OK);
        ck_assert(m_bytes_ok(buf, i, mrecs[i].len));
    }
}

START_TEST(model_random_ops)
{
    struct wr_store_stats stats;
    size_t before;

    mseed = 0x9E3779B97F4A7C15ull * (uint64_t)(_i + 1);
    mnext = 0;
    mreclaimed = 0;
    mst = NULL;
    m_open();
    for (int n = 0; n < mops; n++) {
        m_step(true);
        if (n % 500 == 499)
            m_check_reads(false);
    }
    m_check_reads(false);
    wr_store_stats(mst, &stats);
    ck_assert_uint_gt(mreclaimed + stats.reclaimed, 0);
    /* Everything released: the log shrinks to its active segment. */
    for (uint64_t i = 0; i < mnext; i++)
        if (mrecs[i].held) {
            wr_store_unref(mst, &mrecs[i].loc);
            mrecs[i].held = false;
        }
    ck_assert_int_eq(wr_store_flush(mst, 4000), WR_OK);
    ck_assert_int_eq(wr_store_wait(mst, wr_store_end(mst)), WR_OK);
    before = count_segments();
    for (int k = 0; k < 100; k++) {
        struct pollfd pfd = {wr_store_event_fd(mst), POLLIN, 0};

        ck_assert_int_eq(wr_store_poll(mst, NULL), WR_OK);
        wr_store_stats(mst, &stats);
        /* The last pins go once the last unlink is durable. */
        if (stats.segments == 1 && stats.live_refs == 0)
            break;
        poll(&pfd, 1, 100);
    }
    wr_store_stats(mst, &stats);
    ck_assert_msg(stats.segments == 1, "%llu segments left of %zu",
                  (unsigned long long)stats.segments, before);
    ck_assert_uint_eq(stats.live_refs, 0);
    wr_store_close(mst);
    mst = NULL;
}
END_TEST

/* The writer is killed after a random number of steps: what it had
 * flushed (the kernel has it) and still referenced comes back, and no
 * acked record whose tombstone was flushed comes back without it. */
START_TEST(model_killed_writer)
{
    uint64_t seed = 0xD1B54A32D192ED03ull * (uint64_t)(_i + 1);
    int steps = mops / 6 + (int)(seed % (uint64_t)(mops / 2)), status;
    pid_t pid;

    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        mseed = seed;
        mnext = 0;
        mst = NULL;
        m_open();
        for (int n = 0; n < steps; n++)
            m_step(false);
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* Follow the same steps without a store. */
    mseed = seed;
    mnext = 0;
    mst = NULL;
    for (int n = 0; n < steps; n++)
        m_step(false);
    m_open();
    m_check_recovered();
    m_check_reads(true);
    wr_store_close(mst);
    mst = NULL;
}
END_TEST

TCase *
store_model_tcase(void)
{
    TCase *tc = tcase_create("model");
    int seeds;

    tcase_set_timeout(tc, 60);
    /* Under valgrind (make valgrind), two short runs of each. */
    seeds = RUNNING_ON_VALGRIND ? 2 : 8;
    if (RUNNING_ON_VALGRIND)
        mops = 1000;
    tcase_add_loop_test(tc, model_random_ops, 0, seeds);
    tcase_add_loop_test(tc, model_killed_writer, 0, seeds);
    return tc;
}
