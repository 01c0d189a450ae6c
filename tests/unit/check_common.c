/* SPDX-License-Identifier: MIT */
/* Unit tests of common/: the hash map, the allocation wrappers (counters and
 * failure injection), byte views and the intrusive list. Suite "common". */
#include "../../common/common.h"
#include "../../common/hmap.h"
#include "../../common/list.h"
#include "quiet.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== hmap ============================================================= */

static struct wr_hmap map;
static size_t used_before;

static void
hmap_setup(void)
{
    used_before = wr_alloc_used();
    wr_hmap_init(&map);
}

/* Every test ends with the map freed and no byte left allocated. */
static void
hmap_teardown(void)
{
    wr_alloc_fail_after(0);
    wr_hmap_cleanup(&map);
    ck_assert_uint_eq(wr_alloc_used(), used_before);
}

static int vals[64];

START_TEST(hmap_put_get_del)
{
    void *old = &vals[9];

    ck_assert_ptr_null(wr_hmap_get(&map, "a", 1));
    ck_assert_ptr_null(wr_hmap_del(&map, "a", 1));
    ck_assert_int_eq(wr_hmap_put(&map, "a", 1, &vals[0], &old), WR_OK);
    ck_assert_ptr_null(old);
    ck_assert_int_eq(wr_hmap_put(&map, "b", 1, &vals[1], NULL), WR_OK);
    ck_assert_uint_eq(map.count, 2);
    ck_assert_ptr_eq(wr_hmap_get(&map, "a", 1), &vals[0]);
    ck_assert_ptr_eq(wr_hmap_get(&map, "b", 1), &vals[1]);
    ck_assert_ptr_null(wr_hmap_get(&map, "ab", 2));
    /* Replace: the old value comes back, the count stays. */
    ck_assert_int_eq(wr_hmap_put(&map, "a", 1, &vals[2], &old), WR_OK);
    ck_assert_ptr_eq(old, &vals[0]);
    ck_assert_ptr_eq(wr_hmap_get(&map, "a", 1), &vals[2]);
    ck_assert_uint_eq(map.count, 2);
    ck_assert_ptr_eq(wr_hmap_del(&map, "a", 1), &vals[2]);
    ck_assert_ptr_null(wr_hmap_get(&map, "a", 1));
    ck_assert_ptr_null(wr_hmap_del(&map, "a", 1));
    ck_assert_uint_eq(map.count, 1);
}
END_TEST

/* Keys are byte strings: NUL inside, the empty key, prefixes. */
START_TEST(hmap_binary_keys)
{
    ck_assert_int_eq(wr_hmap_put(&map, "a\0b", 3, &vals[0], NULL), WR_OK);
    ck_assert_int_eq(wr_hmap_put(&map, "a\0c", 3, &vals[1], NULL), WR_OK);
    ck_assert_int_eq(wr_hmap_put(&map, "a", 1, &vals[2], NULL), WR_OK);
    ck_assert_int_eq(wr_hmap_put(&map, "", 0, &vals[3], NULL), WR_OK);
    ck_assert_ptr_eq(wr_hmap_get(&map, "a\0b", 3), &vals[0]);
    ck_assert_ptr_eq(wr_hmap_get(&map, "a\0c", 3), &vals[1]);
    ck_assert_ptr_eq(wr_hmap_get(&map, "a", 1), &vals[2]);
    ck_assert_ptr_eq(wr_hmap_get(&map, "", 0), &vals[3]);
    ck_assert_ptr_null(wr_hmap_get(&map, "a\0", 2));
    ck_assert_uint_eq(map.count, 4);
}
END_TEST

/* Growth keeps every entry, and the capacity stays a power of two. */
START_TEST(hmap_growth)
{
    char key[32];
    size_t n = 10000;

    for (size_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof(key), "key-%zu", i);
        ck_assert_int_eq(
            wr_hmap_put(&map, key, (size_t)len, &vals[i % 64], NULL), WR_OK);
    }
    ck_assert_uint_eq(map.count, n);
    ck_assert_uint_ge(map.cap, n);
    ck_assert_uint_eq(map.cap & (map.cap - 1), 0);
    ck_assert_uint_le(map.used * 4, map.cap * 3);
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof(key), "key-%zu", i);
        ck_assert_ptr_eq(wr_hmap_get(&map, key, (size_t)len), &vals[i % 64]);
    }
}
END_TEST

/* Deleting leaves tombstones that lookups probe past; churn reuses them or
 * rehashes in place instead of growing without bound. */
START_TEST(hmap_tombstones)
{
    char key[32];

    for (int i = 0; i < 8; i++) {
        int len = snprintf(key, sizeof(key), "k%d", i);
        wr_hmap_put(&map, key, (size_t)len, &vals[i], NULL);
    }
    /* Delete every other key: the rest must still be found. */
    for (int i = 0; i < 8; i += 2) {
        int len = snprintf(key, sizeof(key), "k%d", i);
        ck_assert_ptr_eq(wr_hmap_del(&map, key, (size_t)len), &vals[i]);
    }
    ck_assert_uint_eq(map.count, 4);
    ck_assert_uint_ge(map.used, map.count);
    for (int i = 0; i < 8; i++) {
        int len = snprintf(key, sizeof(key), "k%d", i);
        ck_assert_ptr_eq(wr_hmap_get(&map, key, (size_t)len),
                         i % 2 ? &vals[i] : NULL);
    }
    /* 100,000 distinct keys, each inserted then deleted. */
    for (int i = 0; i < 100000; i++) {
        int len = snprintf(key, sizeof(key), "churn-%d", i);
        ck_assert_int_eq(wr_hmap_put(&map, key, (size_t)len, &vals[0], NULL),
                         WR_OK);
        ck_assert_ptr_eq(wr_hmap_del(&map, key, (size_t)len), &vals[0]);
    }
    ck_assert_uint_eq(map.count, 4);
    ck_assert_uint_le(map.cap, 64);
    for (int i = 1; i < 8; i += 2) {
        int len = snprintf(key, sizeof(key), "k%d", i);
        ck_assert_ptr_eq(wr_hmap_get(&map, key, (size_t)len), &vals[i]);
    }
}
END_TEST

START_TEST(hmap_iterate)
{
    char key[32];
    bool seen[64] = {false};
    size_t pos = 0, klen, n = 0;
    const char *k;
    void *v;

    for (int i = 0; i < 64; i++) {
        int len = snprintf(key, sizeof(key), "%d", i);
        wr_hmap_put(&map, key, (size_t)len, &vals[i], NULL);
    }
    while (wr_hmap_next(&map, &pos, &k, &klen, &v)) {
        int i = (int)((int *)v - vals);
        ck_assert_int_ge(i, 0);
        ck_assert_int_lt(i, 64);
        ck_assert(!seen[i]);
        seen[i] = true;
        ck_assert_int_eq(atoi(k), i);
        ck_assert_uint_eq(klen, strlen(k));
        n++;
    }
    ck_assert_uint_eq(n, 64);
    /* Deleting the current entry while iterating is allowed. */
    pos = 0;
    n = 0;
    while (wr_hmap_next(&map, &pos, &k, &klen, &v)) {
        ck_assert_ptr_eq(wr_hmap_del(&map, k, klen), v);
        n++;
    }
    ck_assert_uint_eq(n, 64);
    ck_assert_uint_eq(map.count, 0);
    pos = 0;
    ck_assert(!wr_hmap_next(&map, &pos, NULL, NULL, NULL));
    /* An empty, never-used map iterates to nothing. */
    wr_hmap_cleanup(&map);
    pos = 0;
    ck_assert(!wr_hmap_next(&map, &pos, NULL, NULL, NULL));
}
END_TEST

/* Out of memory in put: the map is unchanged and nothing leaks. */
START_TEST(hmap_nomem)
{
    /* The first put allocates the slots, then the key copy. */
    wr_alloc_fail_after(1);
    ck_assert_int_eq(wr_hmap_put(&map, "a", 1, &vals[0], NULL), WR_ERR_NOMEM);
    ck_assert_uint_eq(map.count, 0);
    wr_alloc_fail_after(2);
    ck_assert_int_eq(wr_hmap_put(&map, "a", 1, &vals[0], NULL), WR_ERR_NOMEM);
    ck_assert_uint_eq(map.count, 0);
    ck_assert_ptr_null(wr_hmap_get(&map, "a", 1));
    wr_alloc_fail_after(0);
    ck_assert_int_eq(wr_hmap_put(&map, "a", 1, &vals[0], NULL), WR_OK);
    ck_assert_ptr_eq(wr_hmap_get(&map, "a", 1), &vals[0]);
    /* A replace needs no allocation. */
    wr_alloc_fail_after(1);
    ck_assert_int_eq(wr_hmap_put(&map, "a", 1, &vals[1], NULL), WR_OK);
    ck_assert_ptr_eq(wr_hmap_get(&map, "a", 1), &vals[1]);
}
END_TEST

START_TEST(hmap_hash_reserved_values)
{
    char key[16];

    /* 0 and 1 mark empty and deleted slots: no key may hash to them. */
    for (int i = 0; i < 100000; i++) {
        int len = snprintf(key, sizeof(key), "%d", i);
        ck_assert_uint_gt(wr_hash_bytes(key, (size_t)len), 1);
    }
    ck_assert_uint_gt(wr_hash_bytes("", 0), 1);
    ck_assert_uint_ne(wr_hash_bytes("ab", 2), wr_hash_bytes("ba", 2));
}
END_TEST

/* ==== alloc ============================================================ */

static void
alloc_teardown(void)
{
    wr_alloc_fail_after(0);
    wr_alloc_set_abort_on_oom(false);
}

START_TEST(alloc_counters)
{
    size_t base = wr_alloc_used();
    char *p = wr_malloc(100), *q;
    size_t after_malloc;

    ck_assert_ptr_nonnull(p);
    after_malloc = wr_alloc_used();
    ck_assert_uint_ge(after_malloc - base, 100);
    memset(p, 'x', 100);
    q = wr_realloc(p, 10000);
    ck_assert_ptr_nonnull(q);
    ck_assert_uint_ge(wr_alloc_used() - base, 10000);
    ck_assert_int_eq(q[99], 'x');
    q = wr_realloc(q, 10);
    ck_assert_ptr_nonnull(q);
    ck_assert_uint_lt(wr_alloc_used() - base, 10000);
    wr_free(q);
    ck_assert_uint_eq(wr_alloc_used(), base);
    wr_free(NULL);
    ck_assert_uint_eq(wr_alloc_used(), base);
}
END_TEST

START_TEST(alloc_calloc_and_zero_sizes)
{
    size_t base = wr_alloc_used();
    unsigned char *p = wr_calloc(16, 8);
    void *z1 = wr_malloc(0), *z2 = wr_calloc(0, 4), *z3 = wr_realloc(NULL, 0);

    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < 128; i++)
        ck_assert_uint_eq(p[i], 0);
    /* Zero-byte requests still return a pointer to free. */
    ck_assert_ptr_nonnull(z1);
    ck_assert_ptr_nonnull(z2);
    ck_assert_ptr_nonnull(z3);
    wr_free(p);
    wr_free(z1);
    wr_free(z2);
    wr_free(z3);
    ck_assert_uint_eq(wr_alloc_used(), base);
}
END_TEST

START_TEST(alloc_strdup)
{
    size_t base = wr_alloc_used();
    char *s = wr_strdup("hello");
    char *t = wr_strndup("a\0b", 3);

    ck_assert_str_eq(s, "hello");
    ck_assert_mem_eq(t, "a\0b\0", 4);
    wr_free(s);
    wr_free(t);
    ck_assert_uint_eq(wr_alloc_used(), base);
}
END_TEST

/* wr_alloc_fail_after(n): the n-th allocation from now fails, once. */
START_TEST(alloc_fail_after)
{
    size_t base = wr_alloc_used();
    void *a, *b, *c, *d;
    char *r;

    wr_alloc_fail_after(1);
    ck_assert_ptr_null(wr_malloc(8));
    a = wr_malloc(8);
    ck_assert_ptr_nonnull(a);

    wr_alloc_fail_after(3);
    b = wr_malloc(8);
    c = wr_calloc(1, 8);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_null(wr_strdup("x"));
    d = wr_malloc(8);
    ck_assert_ptr_nonnull(d);

    /* A failed realloc leaves the block and the counter as they were. */
    r = wr_strdup("keep");
    ck_assert_ptr_nonnull(r);
    {
        size_t used = wr_alloc_used();
        wr_alloc_fail_after(1);
        ck_assert_ptr_null(wr_realloc(r, 4096));
        ck_assert_uint_eq(wr_alloc_used(), used);
        ck_assert_str_eq(r, "keep");
    }
    wr_alloc_fail_after(1);
    ck_assert_ptr_null(wr_calloc(2, 2));

    /* 0 disarms. */
    wr_alloc_fail_after(1);
    wr_alloc_fail_after(0);
    wr_free(wr_malloc(1));

    wr_free(a);
    wr_free(b);
    wr_free(c);
    wr_free(d);
    wr_free(r);
    ck_assert_uint_eq(wr_alloc_used(), base);
}
END_TEST

/* The small-block cache: a freed block comes back for a request of its
 * malloc size class (88: 96-byte chunks, and under valgrind, whose
 * malloc_usable_size is the size asked for, the same class), outside the
 * counter while cached; bounded; failure injection still reaches it. */
START_TEST(alloc_small_cache)
{
    size_t base, usable, held;
    void *p, *q, *r, *big, *many[WR_SMALL_DEPTH + 8];

    wr_small_trim(); /* CK_FORK=no: earlier tests may have left blocks */
    ck_assert_uint_eq(wr_small_cached_bytes(), 0);
    base = wr_alloc_used();
    p = wr_small_alloc(88);
    ck_assert_ptr_nonnull(p);
    memset(p, 'x', 88);
    usable = wr_alloc_used() - base;
    ck_assert_uint_ge(usable, 88);
    wr_small_free(p);
    ck_assert_uint_eq(wr_alloc_used(), base);
    if (!wr_small_cache_on()) { /* sanitizer builds: plain malloc/free */
        ck_assert_uint_eq(wr_small_cached_bytes(), 0);
        return;
    }
    ck_assert_uint_eq(wr_small_cached_bytes(), usable);
    /* another size class does not take it; the same class does */
    r = wr_small_alloc(200);
    ck_assert_ptr_ne(r, p);
    q = wr_small_alloc(80);
    ck_assert_ptr_eq(q, p);
    ck_assert_uint_eq(wr_small_cached_bytes(), 0);
    ck_assert_uint_ge(wr_alloc_used() - base, usable + 200); /* q and r */
    /* grown past the cache's sizes, it is freed, not kept */
    q = wr_realloc(q, 4096);
    ck_assert_ptr_nonnull(q);
    wr_small_free(q);
    big = wr_small_alloc(WR_SMALL_MAX + 1);
    wr_small_free(big);
    ck_assert_uint_eq(wr_small_cached_bytes(), 0);
    wr_small_free(r);
    ck_assert_uint_eq(wr_alloc_used(), base);
    /* the armed failure hits a request the cache could serve */
    p = wr_small_alloc(88);
    wr_small_free(p);
    wr_alloc_fail_after(1);
    ck_assert_ptr_null(wr_small_alloc(88));
    ck_assert_ptr_eq(wr_small_alloc(88), p);
    wr_small_free(p);
    /* at most WR_SMALL_DEPTH blocks a class (r's class holds r) */
    for (size_t i = 0; i < WR_SMALL_DEPTH + 8; i++)
        many[i] = wr_small_alloc(88);
    held = wr_small_cached_bytes();
    for (size_t i = 0; i < WR_SMALL_DEPTH + 8; i++)
        wr_small_free(many[i]);
    ck_assert_uint_eq(wr_small_cached_bytes(), held + WR_SMALL_DEPTH * usable);
    ck_assert_uint_eq(wr_alloc_used(), base);
    wr_small_trim();
    ck_assert_uint_eq(wr_small_cached_bytes(), 0);
    ck_assert_uint_eq(wr_alloc_used(), base);
}
END_TEST

/* The broker's mode: out of memory aborts (STYLE.md 5.11). */
START_TEST(alloc_abort_on_oom)
{
    /* This child dies on purpose: its "out of memory" line would read
     * like a failure in make test's output. */
    CHECK_QUIET_STDERR();
    wr_alloc_set_abort_on_oom(true);
    wr_alloc_fail_after(1);
    (void)wr_malloc(8);
}
END_TEST

START_TEST(assert_fails_with_abort)
{
    volatile int x = 1;

    CHECK_QUIET_STDERR(); /* as above: the abort is the expected outcome */
    wr_assert(x == 1);
    wr_assert(x == 2);
}
END_TEST

/* ==== bytes ============================================================ */

START_TEST(bytes_helpers)
{
    struct wr_bytes a = wr_bytes_str("abc");
    struct wr_bytes nul = WR_BYTES_LIT("a\0c");
    struct wr_bytes empty1 = {NULL, 0}, empty2 = WR_BYTES_LIT("");

    ck_assert_uint_eq(a.len, 3);
    ck_assert_uint_eq(nul.len, 3);
    ck_assert(wr_bytes_eq(a, WR_BYTES_LIT("abc")));
    ck_assert(!wr_bytes_eq(a, WR_BYTES_LIT("abd")));
    ck_assert(!wr_bytes_eq(a, WR_BYTES_LIT("ab")));
    ck_assert(!wr_bytes_eq(a, nul));
    ck_assert(wr_bytes_eq(empty1, empty2));
    ck_assert(wr_bytes_eq_str(a, "abc"));
    ck_assert(!wr_bytes_eq_str(a, "abcd"));
    ck_assert(wr_bytes_eq_str(empty1, ""));
    /* A NUL inside the view is data, not the end. */
    ck_assert(!wr_bytes_eq_str(nul, "a"));
    ck_assert_uint_eq(wr_bytes_str("").len, 0);
    /* items of a separated list: whole items only, first, middle, last */
    ck_assert(wr_bytes_in_list(WR_BYTES_LIT("PLAIN"), "PLAIN AMQPLAIN", ' '));
    ck_assert(
        wr_bytes_in_list(WR_BYTES_LIT("AMQPLAIN"), "PLAIN AMQPLAIN", ' '));
    ck_assert(wr_bytes_in_list(WR_BYTES_LIT("b"), "a,b,c", ','));
    ck_assert(!wr_bytes_in_list(WR_BYTES_LIT("PLAIN"), "AMQPLAIN", ' '));
    ck_assert(!wr_bytes_in_list(WR_BYTES_LIT("PLAI"), "PLAIN", ' '));
    ck_assert(!wr_bytes_in_list(WR_BYTES_LIT("a"), "a b", ','));
    ck_assert(!wr_bytes_in_list(WR_BYTES_LIT("a"), "", ','));
    ck_assert(!wr_bytes_in_list(a, "abcd,ab", ','));
}
END_TEST

START_TEST(hex_digits)
{
    const char *digits = "0123456789abcdef", *upper = "ABCDEF";

    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(wr_hex_digit(digits[i]), i);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(wr_hex_digit(upper[i]), 10 + i);
    /* Every other byte, negative chars included, is not a digit. */
    for (int c = -128; c < 256; c++) {
        if (c >= 0 && c < 128 && c != 0 && strchr("0123456789abcdefABCDEF", c))
            continue;
        ck_assert_int_eq(wr_hex_digit(c), -1);
    }
}
END_TEST

START_TEST(strerror_names)
{
    const char *seen[32];
    size_t n = 0;

    for (int rc = WR_OK; rc >= WR_ERR_FULL; rc--) {
        const char *s = wr_strerror(rc);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_ne(s, "unknown error");
        for (size_t i = 0; i < n; i++)
            ck_assert_str_ne(s, seen[i]);
        seen[n++] = s;
    }
    ck_assert_str_eq(wr_strerror(WR_ERR_FULL - 1), "unknown error");
    ck_assert_str_eq(wr_strerror(1), "unknown error");
}
END_TEST

struct item {
    int v;
    struct wr_list link;
};

START_TEST(macros_and_list)
{
    struct item items[4];
    struct wr_list head, *pos, *tmp;
    int order[4], n = 0;

    ck_assert_int_eq(WR_MIN(3, 5), 3);
    ck_assert_int_eq(WR_MAX(3, 5), 5);
    ck_assert_uint_eq(WR_ARRAY_LEN(items), 4);

    wr_list_init(&head);
    ck_assert(wr_list_empty(&head));
    for (int i = 0; i < 4; i++)
        items[i].v = i;
    wr_list_push_back(&head, &items[1].link);
    wr_list_push_back(&head, &items[2].link);
    wr_list_push_front(&head, &items[0].link);
    wr_list_push_back(&head, &items[3].link);
    ck_assert(!wr_list_empty(&head));
    /* Remove while walking. */
    wr_list_for_each_safe(pos, tmp, &head)
    {
        struct item *it = WR_CONTAINER_OF(pos, struct item, link);
        order[n++] = it->v;
        wr_list_remove(pos);
        wr_list_remove(pos); /* harmless twice */
    }
    ck_assert_int_eq(n, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(order[i], i);
    ck_assert(wr_list_empty(&head));
}
END_TEST

static Suite *
common_suite(void)
{
    Suite *s = suite_create("common");
    const char *fork_env = getenv("CK_FORK");
    bool forking = fork_env == NULL || strcmp(fork_env, "no") != 0;
    TCase *tc;

    tc = tcase_create("hmap");
    tcase_add_checked_fixture(tc, hmap_setup, hmap_teardown);
    tcase_add_test(tc, hmap_put_get_del);
    tcase_add_test(tc, hmap_binary_keys);
    tcase_add_test(tc, hmap_growth);
    tcase_add_test(tc, hmap_tombstones);
    tcase_add_test(tc, hmap_iterate);
    tcase_add_test(tc, hmap_nomem);
    tcase_add_test(tc, hmap_hash_reserved_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("alloc");
    tcase_add_checked_fixture(tc, NULL, alloc_teardown);
    tcase_add_test(tc, alloc_counters);
    tcase_add_test(tc, alloc_calloc_and_zero_sizes);
    tcase_add_test(tc, alloc_strdup);
    tcase_add_test(tc, alloc_fail_after);
    tcase_add_test(tc, alloc_small_cache);
    /* Tests that expect a signal need a forked child (Check manual 4.4). */
    if (forking) {
        tcase_add_test_raise_signal(tc, alloc_abort_on_oom, SIGABRT);
        tcase_add_test_raise_signal(tc, assert_fails_with_abort, SIGABRT);
    }
    suite_add_tcase(s, tc);

    tc = tcase_create("bytes");
    tcase_add_test(tc, bytes_helpers);
    tcase_add_test(tc, hex_digits);
    tcase_add_test(tc, strerror_names);
    tcase_add_test(tc, macros_and_list);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(common_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
