/* SPDX-License-Identifier: MIT */
/* Unit tests for queues/: messages, FIFO and priority storage, requeue,
 * purge, the kind interface (entry ids, settle, counters), round-robin
 * dispatch with credit, queue arguments, lifetimes.
 * Suite "queues"; its test cases are in tests/unit/queues/, one file
 * each, and share the fixture and helpers here. */
#include "queues/cases.h"

/* Every test must give back all it allocated (checked in the teardown). */
static size_t alloc_base;

static void
setup(void)
{
    alloc_base = wr_alloc_used();
}

static void
teardown(void)
{
    wr_alloc_fail_after(0);
    ck_assert_uint_eq(wr_alloc_used(), alloc_base);
}

/* A message with an optional priority property, tagged with id: its
 * exchange name is id in decimal. */
struct wr_msg *
mk_msg(uint64_t id, int priority, const char *body)
{
    struct wr_props p;
    uint8_t props[64];
    size_t plen;
    struct wr_msg *m;
    size_t blen = strlen(body);
    char x[24];

    memset(&p, 0, sizeof(p));
    if (priority >= 0) {
        p.flags |= WR_PROP_PRIORITY;
        p.priority = (uint8_t)priority;
    }
    ck_assert_int_eq(wr_props_encode(&p, props, sizeof(props), &plen), WR_OK);
    snprintf(x, sizeof(x), "%llu", (unsigned long long)id);
    m = wr_msg_new(wr_bytes_str(x), WR_BYTES_LIT("rk"), props, (uint32_t)plen,
                   blen);
    ck_assert_ptr_nonnull(m);
    memcpy(wr_msg_body(m), body, blen);
    return m;
}

uint64_t
tid(const struct wr_msg *m)
{
    struct wr_bytes x = wr_msg_exchange(m);
    uint64_t id = 0;

    for (uint32_t i = 0; i < x.len; i++)
        id = id * 10 + (uint64_t)(x.ptr[i] - '0');
    return id;
}

struct wr_queue *
mk_queue(uint8_t max_priority)
{
    struct wr_queue_args a = {.max_priority = max_priority};
    struct wr_queue *q =
        wr_queue_new(WR_BYTES_LIT("q"), &a, (struct wr_table){NULL, 0});

    ck_assert_ptr_nonnull(q);
    return q;
}

/* basic.get-style no-ack pop at time 0: the message (a reference) and
 * its redelivered flag. */
bool
pop_msg(struct wr_queue *q, struct wr_msg **m, bool *redelivered)
{
    struct wr_delivery d;

    if (!wr_queue_get(q, 0, true, &d))
        return false;
    ck_assert_uint_eq(d.handle, 0);
    *m = d.msg;
    *redelivered = d.redelivered;
    return true;
}

/* basic.get at now, kept unacked: the delivery into *d. */
bool
get_unacked(struct wr_queue *q, int64_t now, struct wr_delivery *d)
{
    if (!wr_queue_get(q, now, false, d))
        return false;
    ck_assert_uint_ne(d->handle, 0);
    return true;
}

/* Settles delivery d of q at now. */
void
settle(struct wr_queue *q, const struct wr_delivery *d, enum wr_settle how,
       int64_t now)
{
    wr_queue_settle(q, d->id, d->handle, how, now);
}

/* Pushes a new message and drops the test's own reference. */
void
push_new(struct wr_queue *q, uint64_t id, int priority)
{
    struct wr_msg *m = mk_msg(id, priority, "body");

    ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_OK);
    wr_msg_unref(&m);
}

/* Pops one message, checks its id and redelivered flag, releases it. */
void
pop_expect(struct wr_queue *q, uint64_t id, bool redelivered)
{
    struct wr_msg *m = NULL;
    bool r = !redelivered;

    ck_assert_msg(pop_msg(q, &m, &r), "queue empty, expected %llu",
                  (unsigned long long)id);
    ck_assert_uint_eq(tid(m), id);
    ck_assert(r == redelivered);
    wr_msg_unref(&m);
}

bool
forking(void)
{
    const char *fork = getenv("CK_FORK");

    return fork == NULL || strcmp(fork, "no") != 0;
}

/* ---- the fake consumer (dispatch, consumer_selection) ------------- */

int log_who[600];
uint64_t log_seq[600];
uint64_t log_id[600];
int nlog;

static bool
fake_can_take(struct wr_consumer *c)
{
    return WR_CONTAINER_OF(c, struct fake, c)->credit > 0;
}

static void
fake_deliver(struct wr_consumer *c, struct wr_queue *q,
             const struct wr_delivery *d)
{
    struct fake *f = WR_CONTAINER_OF(c, struct fake, c);

    ck_assert_int_gt(f->credit, 0);
    ck_assert_int_lt(nlog, 600);
    f->credit--;
    f->got++;
    log_who[nlog] = f->id;
    log_id[nlog] = d->id;
    log_seq[nlog++] = tid(d->msg);
    if (!c->no_ack) {
        ck_assert_uint_ne(d->handle, 0);
        f->held[f->nheld++] = *d;
    }
    if (f->hook)
        f->hook(f, q);
}

static const struct wr_consumer_ops fake_ops = {fake_can_take, fake_deliver,
                                                NULL};

void
fake_init(struct fake *f, int id, int credit)
{
    memset(f, 0, sizeof(*f));
    f->c.ops = &fake_ops;
    f->id = id;
    f->credit = credit;
}

/* Acks everything f holds in q. */
void
fake_ack_all(struct fake *f, struct wr_queue *q)
{
    for (int i = 0; i < f->nheld; i++)
        settle(q, &f->held[i], WR_SETTLE_ACK, 0);
    f->nheld = 0;
}

void
reset_log(void)
{
    nlog = 0;
}

/* ---- what the owner hears (expiry, limits, consumer_selection) ---- */

/* What the owner heard: dead messages (references held) and deadlines. */
struct wr_msg *dead_msgs[2000];
int dead_why[2000];
int ndead;
int64_t last_deadline;
int ndeadlines;

static bool
rec_dead(struct wr_queue *q, struct wr_msg *m, enum wr_dead_reason why)
{
    (void)q;
    ck_assert_int_lt(ndead, 2000);
    dead_why[ndead] = (int)why;
    dead_msgs[ndead++] = m;
    return why == WR_DEAD_REJECTED; /* "dead-lettered" for the counters */
}

static void
rec_deadline(struct wr_queue *q, int64_t at)
{
    (void)q;
    last_deadline = at;
    ndeadlines++;
}

static const struct wr_queue_hooks rec_hooks = {rec_dead, rec_deadline, NULL};

void
reset_dead(void)
{
    for (int i = 0; i < ndead; i++)
        wr_msg_unref(&dead_msgs[i]);
    ndead = 0;
    ndeadlines = 0;
    last_deadline = 0;
}

/* A queue with the given arguments that reports to rec_hooks. */
struct wr_queue *
mk_queue_args(const struct wr_queue_args *a)
{
    struct wr_queue *q =
        wr_queue_new(WR_BYTES_LIT("q"), a, (struct wr_table){NULL, 0});

    ck_assert_ptr_nonnull(q);
    q->hooks = &rec_hooks;
    reset_dead();
    return q;
}

/* A message with an expiration property (ms, as text) and a body. */
struct wr_msg *
mk_msg_ttl(uint64_t id, int priority, const char *expiration)
{
    struct wr_props p;
    uint8_t props[64];
    size_t plen;
    struct wr_msg *m;
    char x[24];

    memset(&p, 0, sizeof(p));
    if (priority >= 0) {
        p.flags |= WR_PROP_PRIORITY;
        p.priority = (uint8_t)priority;
    }
    if (expiration) {
        p.flags |= WR_PROP_EXPIRATION;
        p.expiration = wr_bytes_str(expiration);
    }
    ck_assert_int_eq(wr_props_encode(&p, props, sizeof(props), &plen), WR_OK);
    snprintf(x, sizeof(x), "%llu", (unsigned long long)id);
    m = wr_msg_new(wr_bytes_str(x), WR_BYTES_LIT("rk"), props, (uint32_t)plen,
                   4);
    ck_assert_ptr_nonnull(m);
    memcpy(wr_msg_body(m), "body", 4);
    return m;
}

void
push_ttl(struct wr_queue *q, uint64_t id, int priority, const char *exp,
         int64_t now)
{
    struct wr_msg *m = mk_msg_ttl(id, priority, exp);

    ck_assert_int_eq(wr_queue_enqueue(q, m, now), WR_OK);
    wr_msg_unref(&m);
}

/* Pops at now and checks the id. */
void
pop_at(struct wr_queue *q, int64_t now, uint64_t id)
{
    struct wr_delivery e;

    ck_assert_msg(wr_queue_get(q, now, true, &e), "empty, expected %llu",
                  (unsigned long long)id);
    ck_assert_uint_eq(tid(e.msg), id);
    wr_msg_unref(&e.msg);
}

/* Every case runs with the fixture: nothing leaked. */
static TCase *(*const cases[])(void) = {
    queues_message_tcase,
    queues_fifo_tcase,
    queues_priority_tcase,
    queues_requeue_purge_tcase,
    queues_settle_tcase,
    queues_dispatch_tcase,
    queues_args_tcase,
    queues_expiry_tcase,
    queues_limits_tcase,
    queues_consumer_selection_tcase,
    queues_args_and_messages_tcase,
    queues_lifetimes_tcase,
    queues_policy_tcase,
    queues_persist_tcase,
    queues_durable_tcase,
    queues_paging_tcase,
    queues_stream_tcase,
};

static Suite *
queues_suite(void)
{
    Suite *s = suite_create("queues");

    for (size_t i = 0; i < WR_ARRAY_LEN(cases); i++) {
        TCase *tc = cases[i]();

        tcase_add_checked_fixture(tc, setup, teardown);
        suite_add_tcase(s, tc);
    }
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(queues_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
