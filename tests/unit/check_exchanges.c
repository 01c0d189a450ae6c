/* SPDX-License-Identifier: MIT */
/* Unit tests for exchanges/: topic matching (table-driven, RabbitMQ
 * semantics), direct, fanout, headers, exchange-to-exchange routing with
 * cycles, several routing keys (CC/BCC), alternate exchanges, bind dedup,
 * unbind, unbind_all with auto-delete. Suite "exchanges"; its test cases
 * are in tests/unit/exchanges/, one file each, and share the fixture and
 * helpers here. */
#include "exchanges/cases.h"

static size_t alloc_base;
struct wr_route_set rs;

static void
setup(void)
{
    alloc_base = wr_alloc_used();
    memset(&rs, 0, sizeof(rs));
}

static void
teardown(void)
{
    wr_alloc_fail_after(0);
    wr_route_set_cleanup(&rs);
    ck_assert_uint_eq(wr_alloc_used(), alloc_base);
}

const struct wr_table no_args = {NULL, 0};

struct wr_exchange *
mk_x(const char *name, const char *type)
{
    const struct wr_exch_type *t = wr_exch_type_find(wr_bytes_str(type));
    struct wr_exchange *x;

    ck_assert_ptr_nonnull(t);
    x = wr_exchange_new(wr_bytes_str(name), t, no_args);
    ck_assert_ptr_nonnull(x);
    return x;
}

struct wr_queue *
mk_q(const char *name)
{
    struct wr_queue_args a = {0};
    struct wr_queue *q = wr_queue_new(wr_bytes_str(name), &a, no_args);

    ck_assert_ptr_nonnull(q);
    return q;
}

void
bind_q(struct wr_exchange *x, struct wr_queue *q, const char *key,
       struct wr_table args)
{
    const char *err = NULL;

    ck_assert_int_eq(
        wr_exchange_bind(x, WR_DEST_QUEUE, q, wr_bytes_str(key), args, &err),
        WR_OK);
    ck_assert_ptr_null(err);
}

void
bind_x(struct wr_exchange *x, struct wr_exchange *dest, const char *key)
{
    ck_assert_int_eq(wr_exchange_bind(x, WR_DEST_EXCHANGE, dest,
                                      wr_bytes_str(key), no_args, NULL),
                     WR_OK);
}

/* Routes key (and headers) from x into rs; returns the count. */
size_t
route_h(struct wr_exchange *x, const char *key, struct wr_table headers)
{
    struct wr_route_req req = {.rkey = wr_bytes_str(key), .headers = headers};

    ck_assert_int_eq(wr_exchange_route(x, &req, &rs), WR_OK);
    return rs.count;
}

size_t
route(struct wr_exchange *x, const char *key)
{
    return route_h(x, key, no_args);
}

bool
routed_to(const struct wr_queue *q)
{
    for (size_t i = 0; i < rs.count; i++)
        if (rs.queues[i] == q)
            return true;
    return false;
}

/* Each queue of the last route at most once. */
void
assert_unique(void)
{
    for (size_t i = 0; i < rs.count; i++)
        for (size_t j = i + 1; j < rs.count; j++)
            ck_assert_ptr_ne(rs.queues[i], rs.queues[j]);
}

void
free_q(struct wr_queue *q)
{
    wr_queue_unbind_all(q, NULL, NULL);
    wr_queue_unref(&q);
}

/* Every case runs with the fixture: rs empty, no bytes leaked. */
static TCase *(*const cases[])(void) = {
    exchanges_topic_tcase,
    exchanges_direct_fanout_tcase,
    exchanges_headers_tcase,
    exchanges_e2e_tcase,
    exchanges_cc_and_alternates_tcase,
    exchanges_bindings_tcase,
    exchanges_consistent_hash_tcase,
    exchanges_delayed_tcase,
};

static Suite *
exchanges_suite(void)
{
    Suite *s = suite_create("exchanges");

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
    SRunner *sr = srunner_create(exchanges_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
