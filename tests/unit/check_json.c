/* SPDX-License-Identifier: MIT */
/* Unit tests of mgmt/json.c: field tables <-> JSON in both directions,
 * basic properties <-> JSON, UTF-8 repair and base64. Suite "json". */
#include "../../mgmt/mgmt_internal.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static size_t used_before;

static void
setup(void)
{
    json_set_alloc_funcs(wr_malloc, wr_free);
    used_before = wr_alloc_used();
}

/* Every test frees all it allocated, jansson's objects included. */
static void
teardown(void)
{
    ck_assert_uint_eq(wr_alloc_used(), used_before);
}

/* JSON text -> table -> JSON must give the same value back. */
static void
round_trip(const char *text)
{
    json_error_t jerr;
    json_t *in = json_loads(text, 0, &jerr), *out;
    uint8_t *buf;
    struct wr_table t;
    char err[128];

    ck_assert_ptr_nonnull(in);
    ck_assert_int_eq(wr_json_to_table(in, &buf, &t, err, sizeof(err)), WR_OK);
    ck_assert_int_eq(wr_table_validate(t.ptr, t.len, WR_TABLE_MAX_DEPTH),
                     WR_OK);
    out = wr_json_from_table(t);
    ck_assert_msg(json_equal(in, out), "round trip of %s", text);
    json_decref(in);
    json_decref(out);
    wr_free(buf);
}

START_TEST(table_round_trips)
{
    round_trip("{}");
    round_trip("{\"a\": 1, \"b\": -2147483649, \"c\": 9223372036854775807}");
    round_trip("{\"s\": \"text\", \"u\": \"\\u00fcn\\u00ef\", \"e\": \"\"}");
    round_trip("{\"t\": true, \"f\": false, \"n\": null, \"d\": 2.5}");
    round_trip("{\"arr\": [1, \"two\", [3, []], {\"x\": {}}, null]}");
    round_trip("{\"deep\": {\"a\": {\"b\": {\"c\": [{\"d\": 1}]}}}}");
}
END_TEST

START_TEST(table_integer_widths)
{
    json_t *in =
        json_pack("{s:i, s:I}", "small", -5, "big", (json_int_t)1 << 40);
    uint8_t *buf;
    struct wr_table t;
    struct wr_value v;
    char err[64];

    ck_assert_int_eq(wr_json_to_table(in, &buf, &t, err, sizeof(err)), WR_OK);
    ck_assert_int_eq(wr_table_get(t, "small", &v), WR_OK);
    ck_assert_int_eq(v.type, WR_FT_I32);
    ck_assert_int_eq(wr_table_get(t, "big", &v), WR_OK);
    ck_assert_int_eq(v.type, WR_FT_I64);
    json_decref(in);
    wr_free(buf);
}
END_TEST

START_TEST(table_from_amqp_types)
{
    uint8_t buf[512];
    struct wr_tb b;
    json_t *j;

    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_int(&b, "i8", WR_FT_I8, -3);
    wr_tb_add_u64(&b, "L", WR_FT_U64, UINT64_MAX);
    wr_tb_add_u64(&b, "ts", WR_FT_TIMESTAMP, 1700000000);
    wr_tb_add_decimal(&b, "dec", 2, 12345);
    wr_tb_add_float(&b, "f", 0.5f);
    wr_tb_add_bytes(&b, "x", (struct wr_bytes){(const uint8_t *)"\xff\x00", 2});
    wr_tb_add_void(&b, "v");
    wr_tb_end(&b);
    ck_assert_int_eq(b.err, WR_OK);
    j = wr_json_from_table(wr_tb_table(&b));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "i8")), -3);
    ck_assert(json_is_real(json_object_get(j, "L")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "ts")), 1700000000);
    ck_assert(json_real_value(json_object_get(j, "dec")) == 123.45);
    ck_assert(json_real_value(json_object_get(j, "f")) == 0.5);
    /* Bytes that are not UTF-8 become U+FFFD: still a valid string. */
    ck_assert_str_eq(json_string_value(json_object_get(j, "x")),
                     "\xEF\xBF\xBD\xEF\xBF\xBD");
    ck_assert(json_is_null(json_object_get(j, "v")));
    json_decref(j);
}
END_TEST

START_TEST(table_refusals)
{
    json_t *deep = json_object(), *cur = deep, *arr = json_pack("[i]", 1);
    json_t *longkey = json_object();
    uint8_t *buf;
    struct wr_table t;
    char err[128], key[300];

    for (int i = 0; i < 80; i++) {
        json_t *next = json_object();
        json_object_set_new(cur, "d", next);
        cur = next;
    }
    ck_assert_int_eq(wr_json_to_table(deep, &buf, &t, err, sizeof(err)),
                     WR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "nested too deeply"));
    ck_assert_int_eq(wr_json_to_table(arr, &buf, &t, err, sizeof(err)),
                     WR_ERR_INVALID);
    memset(key, 'k', 256);
    key[256] = '\0';
    json_object_set_new(longkey, key, json_true());
    ck_assert_int_eq(wr_json_to_table(longkey, &buf, &t, err, sizeof(err)),
                     WR_ERR_INVALID);
    /* NULL and null are the empty table. */
    ck_assert_int_eq(wr_json_to_table(NULL, &buf, &t, err, sizeof(err)), WR_OK);
    ck_assert_uint_eq(t.len, 0);
    json_decref(deep);
    json_decref(arr);
    json_decref(longkey);
}
END_TEST

START_TEST(props_round_trip)
{
    const char *text =
        "{\"content_type\": \"text/plain\", \"delivery_mode\": 2, "
        "\"priority\": 7, \"timestamp\": 1700000000, \"message_id\": \"m\", "
        "\"headers\": {\"k\": [1, \"v\"]}, \"app_id\": \"a\"}";
    json_error_t jerr;
    json_t *in = json_loads(text, 0, &jerr), *out;
    struct wr_props p, back;
    uint8_t *hdrs, enc[512];
    size_t len;
    char err[128];

    ck_assert_int_eq(wr_json_to_props(in, &p, &hdrs, err, sizeof(err)), WR_OK);
    ck_assert_int_eq(wr_props_encode(&p, enc, sizeof(enc), &len), WR_OK);
    ck_assert_int_eq(wr_props_decode(enc, len, &back), WR_OK);
    out = wr_json_from_props(&back);
    ck_assert(json_equal(in, out));
    json_decref(in);
    json_decref(out);
    wr_free(hdrs);
}
END_TEST

START_TEST(props_refusals)
{
    static const char *const bad[] = {
        "{\"priority\": 256}", "{\"delivery_mode\": \"x\"}",
        "{\"nosuch\": 1}",     "{\"headers\": 5}",
        "{\"type\": 5}",       "[1]",
    };
    json_error_t jerr;
    struct wr_props p;
    uint8_t *hdrs;
    char err[128];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i], 0, &jerr);
        ck_assert_int_eq(wr_json_to_props(j, &p, &hdrs, err, sizeof(err)),
                         WR_ERR_INVALID);
        wr_free(hdrs);
        json_decref(j);
    }
}
END_TEST

/* fuzz_mgmt_json: headers encoded before a later property is refused
 * were leaked by POST .../publish, which frees the buffer only on
 * success. A refusal leaves no buffer (the teardown counts the bytes). */
START_TEST(props_refusal_after_headers)
{
    static const char *const bad[] = {
        "{\"headers\": {\"a\": 1}, \"clusTer_id\": \"k\"}",
        "{\"headers\": {\"a\": [1, {}]}, \"priority\": 300}",
        "{\"headers\": {}, \"timestamp\": -1}",
        "{\"headers\": {\"b\": \"x\"}, \"app_id\": 7}",
    };
    json_error_t jerr;
    struct wr_props p;
    uint8_t *hdrs;
    char err[128];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i], 0, &jerr);
        ck_assert_ptr_nonnull(j);
        ck_assert_int_eq(wr_json_to_props(j, &p, &hdrs, err, sizeof(err)),
                         WR_ERR_INVALID);
        ck_assert_ptr_null(hdrs);
        json_decref(j);
    }
}
END_TEST

START_TEST(base64)
{
    uint8_t out[16];
    size_t n;
    json_t *j = wr_json_b64_encode("hi!x", 4);

    ck_assert_str_eq(json_string_value(j), "aGkheA==");
    json_decref(j);
    ck_assert_int_eq(wr_json_b64_decode("aGkheA==", 8, out, sizeof(out), &n),
                     WR_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(memcmp(out, "hi!x", 4), 0);
    ck_assert_int_eq(wr_json_b64_decode("aGk h\neA", 8, out, sizeof(out), &n),
                     WR_OK);
    ck_assert_int_eq(wr_json_b64_decode("a*==", 4, out, sizeof(out), &n),
                     WR_ERR_INVALID);
    ck_assert_int_eq(wr_json_b64_decode("aGk=eA", 6, out, sizeof(out), &n),
                     WR_ERR_INVALID);
    ck_assert_int_eq(wr_json_b64_decode("aGkheA", 6, out, 2, &n),
                     WR_ERR_NOSPACE);
}
END_TEST

START_TEST(utf8)
{
    ck_assert(wr_json_utf8_ok("plain", 5));
    ck_assert(wr_json_utf8_ok("\xc3\xbc", 2));
    ck_assert(!wr_json_utf8_ok("\xc3", 1));         /* truncated */
    ck_assert(!wr_json_utf8_ok("\xc0\xaf", 2));     /* overlong */
    ck_assert(!wr_json_utf8_ok("\xed\xa0\x80", 3)); /* surrogate */
    ck_assert(!wr_json_utf8_ok("a\0b", 3));         /* NUL */
}
END_TEST

static Suite *
json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tables = tcase_create("tables");
    TCase *props = tcase_create("properties");
    TCase *text = tcase_create("text");

    tcase_add_checked_fixture(tables, setup, teardown);
    tcase_add_test(tables, table_round_trips);
    tcase_add_test(tables, table_integer_widths);
    tcase_add_test(tables, table_from_amqp_types);
    tcase_add_test(tables, table_refusals);
    tcase_add_checked_fixture(props, setup, teardown);
    tcase_add_test(props, props_round_trip);
    tcase_add_test(props, props_refusals);
    tcase_add_test(props, props_refusal_after_headers);
    tcase_add_checked_fixture(text, setup, teardown);
    tcase_add_test(text, base64);
    tcase_add_test(text, utf8);
    suite_add_tcase(s, tables);
    suite_add_tcase(s, props);
    suite_add_tcase(s, text);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(json_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
