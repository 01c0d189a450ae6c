/* SPDX-License-Identifier: MIT */
/* libwarren's pure functions, no broker needed: the amqp:// URL parser
 * (client/url.c, an internal) and the public field-table codec. Suite
 * "client_api". */
#include "../../client/client_internal.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

/* RabbitMQ's URI spec (uri-spec.html) and query parameters. */
START_TEST(url_parse)
{
    struct wr_client_url u;
    char err[128];

    ck_assert_int_eq(wr_client_url_parse("amqp://", &u, err, sizeof(err)),
                     WR_OK);
    ck_assert(!u.tls);
    ck_assert_str_eq(u.host, "localhost");
    ck_assert_str_eq(u.user, "guest");
    ck_assert_str_eq(u.pass, "guest");
    ck_assert_str_eq(u.vhost, "/");
    ck_assert_int_eq(u.port, 5672);
    ck_assert_int_eq(u.heartbeat, -1);
    wr_client_url_cleanup(&u);

    ck_assert_int_eq(wr_client_url_parse("AMQPS://us%40r:p%3Aw@d@Host:1234/"
                                         "v%2fh?heartbeat=7&"
                                         "connection_timeout=99&"
                                         "channel_max=9&frame_max=8192&"
                                         "verify=verify_none&"
                                         "cacertfile=%2Ftmp%2Fca.pem&"
                                         "certfile=c&keyfile=k&"
                                         "server_name_indication=sni&"
                                         "auth_mechanism=PLAIN",
                                         &u, err, sizeof(err)),
                     WR_OK);
    ck_assert(u.tls);
    ck_assert_str_eq(u.user, "us@r");
    ck_assert_str_eq(u.pass, "p:w@d");
    ck_assert_str_eq(u.host, "Host");
    ck_assert_int_eq(u.port, 1234);
    ck_assert_str_eq(u.vhost, "v/h");
    ck_assert_int_eq(u.heartbeat, 7);
    ck_assert_int_eq(u.connection_timeout, 99);
    ck_assert_int_eq(u.channel_max, 9);
    ck_assert_int_eq(u.frame_max, 8192);
    ck_assert_int_eq(u.verify, 0);
    ck_assert_str_eq(u.cacertfile, "/tmp/ca.pem");
    ck_assert_str_eq(u.certfile, "c");
    ck_assert_str_eq(u.keyfile, "k");
    ck_assert_str_eq(u.sni, "sni");
    wr_client_url_cleanup(&u);

    ck_assert_int_eq(
        wr_client_url_parse("amqps://[::1]/%2F", &u, err, sizeof(err)), WR_OK);
    ck_assert_str_eq(u.host, "::1");
    ck_assert_int_eq(u.port, 5671);
    ck_assert_str_eq(u.vhost, "/");
    wr_client_url_cleanup(&u);
    ck_assert_int_eq(
        wr_client_url_parse("amqp://bob@[::1]:99/vh", &u, err, sizeof(err)),
        WR_OK);
    ck_assert_str_eq(u.user, "bob");
    ck_assert_str_eq(u.pass, "guest");
    ck_assert_int_eq(u.port, 99);
    ck_assert_str_eq(u.vhost, "vh");
    wr_client_url_cleanup(&u);

    {
        static const char *const bad[] = {
            "amqp:/x",
            "tcp://h/",
            "amqp://h:0/",
            "amqp://h:70000/",
            "amqp://h:/",
            "amqp://h:1x/",
            "amqp://[::1/",
            "amqp://[::1]x/",
            "amqp://h/a/b",
            "amqp://h/%zz",
            "amqp://h/%00",
            "amqp://h/#frag",
            "amqp://h/?x",
            "amqp://h/?heartbeat=-1",
            "amqp://h/?heartbeat=70000",
            "amqp://h/?frame_max=100",
            "amqp://h/?verify=maybe",
            "amqp://h/?auth_mechanism=EXTERNAL",
            "amqp://h/?nope=1",
            "amqp://us%4/",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            err[0] = '\0';
            ck_assert_msg(wr_client_url_parse(bad[i], &u, err, sizeof(err)) ==
                              WR_ERR_INVALID,
                          "%s", bad[i]);
            ck_assert_msg(err[0] != '\0', "no reason for %s", bad[i]);
        }
    }
    ck_assert_uint_eq(wr_alloc_used(), 0);
}
END_TEST

START_TEST(tables)
{
    struct warren_table *t, *sub;
    struct warren_bytes k, b;
    struct warren_value v;
    size_t pos = 0;
    char key[300];

    ck_assert_int_eq(warren_table_new(&t), WARREN_OK);
    ck_assert_int_eq(warren_table_new(&sub), WARREN_OK);
    ck_assert_uint_eq(warren_table_bytes(t).len, 0);
    ck_assert_int_eq(warren_table_add_str(t, "s", "text"), WARREN_OK);
    ck_assert_int_eq(warren_table_add_int(t, "i", -5), WARREN_OK);
    ck_assert_int_eq(warren_table_add_int(t, "l", 1LL << 40), WARREN_OK);
    ck_assert_int_eq(warren_table_add_bool(t, "b", true), WARREN_OK);
    ck_assert_int_eq(warren_table_add_double(t, "d", 2.5), WARREN_OK);
    ck_assert_int_eq(warren_table_add_str(sub, "x-match", "all"), WARREN_OK);
    ck_assert_int_eq(warren_table_add_table(t, "t", sub), WARREN_OK);
    ck_assert_int_eq(warren_table_add_table(t, "self", t), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_table_add_table(t, "null", NULL),
                     WARREN_ERR_INVALID);
    memset(key, 'k', 256);
    key[256] = '\0';
    ck_assert_int_eq(warren_table_add_bool(t, key, true), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_table_add_bool(t, NULL, true), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_table_add_str(t, "n", NULL), WARREN_ERR_INVALID);
    b = warren_table_bytes(t);

    ck_assert_int_eq(warren_table_next(b, &pos, &k, &v), WARREN_OK);
    ck_assert_mem_eq(k.ptr, "s", 1);
    ck_assert_int_eq(v.type, 'S');
    ck_assert_mem_eq(v.str.ptr, "text", 4);
    ck_assert_int_eq(warren_table_next(b, &pos, &k, &v), WARREN_OK);
    ck_assert_int_eq(v.type, 'I');
    ck_assert_int_eq(v.i, -5);
    ck_assert_int_eq(warren_table_next(b, &pos, &k, &v), WARREN_OK);
    ck_assert_int_eq(v.type, 'l');
    ck_assert_int_eq(v.i, 1LL << 40);
    ck_assert_int_eq(warren_table_next(b, &pos, &k, &v), WARREN_OK);
    ck_assert_int_eq(v.type, 't');
    ck_assert(v.b);
    ck_assert_int_eq(warren_table_next(b, &pos, &k, &v), WARREN_OK);
    ck_assert_int_eq(v.type, 'd');
    ck_assert(v.d == 2.5);
    ck_assert_int_eq(warren_table_next(b, &pos, &k, &v), WARREN_OK);
    ck_assert_int_eq(v.type, 'F');
    ck_assert_int_eq(warren_table_get(v.str, "x-match", &v), WARREN_OK);
    ck_assert_mem_eq(v.str.ptr, "all", 3);
    ck_assert_int_eq(warren_table_next(b, &pos, &k, &v), WARREN_ERR_NOT_FOUND);
    ck_assert_int_eq(warren_table_get(b, "missing", &v), WARREN_ERR_NOT_FOUND);
    ck_assert_int_eq(warren_table_get(b, "l", &v), WARREN_OK);
    /* Malformed bytes are reported, never overread. */
    pos = 0;
    b.len = 3;
    ck_assert_int_eq(warren_table_next(b, &pos, &k, &v), WARREN_ERR_SYNTAX);
    /* Growth past the first buffer keeps earlier entries. */
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        ck_assert_int_eq(warren_table_add_int(t, key, i), WARREN_OK);
    }
    ck_assert_int_eq(warren_table_get(warren_table_bytes(t), "key-199", &v),
                     WARREN_OK);
    ck_assert_int_eq(v.i, 199);
    ck_assert_int_eq(warren_table_get(warren_table_bytes(t), "s", &v),
                     WARREN_OK);
    warren_table_free(t);
    warren_table_free(sub);
    ck_assert_uint_eq(wr_alloc_used(), 0);
}
END_TEST

static Suite *
client_api_suite(void)
{
    Suite *s = suite_create("client_api");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, url_parse);
    tcase_add_test(tc, tables);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(client_api_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
