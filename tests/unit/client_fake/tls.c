/* SPDX-License-Identifier: MIT */
/* The client_fake suite's TLS test case: libwarren against the fake broker
 * behind a Python ssl server, with certificates made once per run by
 * tests/client/make_certs.sh: verified, untrusted, another CA, the wrong
 * host, verify_none, client certificates, unreadable files. */
#include "cases.h"

static char certs[64]; /* made once per run by make_certs.sh */

static void
make_certs(void)
{
    char script[256], cmd[512];

    snprintf(certs, sizeof(certs), "/tmp/warren-certs-%d", (int)getpid());
    snprintf(cmd, sizeof(cmd), "sh %s %s",
             wt_srcpath("tests/client/make_certs.sh", script, sizeof(script)),
             certs);
    if (system(cmd) != 0)
        certs[0] = '\0';
}

static void
remove_certs(void)
{
    char cmd[128];

    if (certs[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", certs);
        (void)system(cmd);
    }
}

static const char *
cert(const char *name)
{
    static char buf[4][160];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", certs, name);
    return buf[i];
}

/* The fake's "basic" scenario over TLS with the given server cert. */
static void
tls_fake(const char *server, bool want_client_cert, const char *query)
{
    const char *args[] = {"--tls",
                          cert(server[0] == 's' ? "server.pem" : "wrong.pem"),
                          cert(server[0] == 's' ? "server.key" : "wrong.key"),
                          want_client_cert ? "--client-ca" : NULL,
                          cert("ca.pem"),
                          NULL};

    ck_assert_msg(certs[0] != '\0', "make_certs.sh failed");
    fake_start("basic", "amqps", query, args);
}

static void
tls_session_ok(void)
{
    struct warren_channel *ch;
    struct warren_queue_info info;

    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(conn, &ch), WARREN_OK);
    ck_assert_int_eq(warren_queue_declare(ch, "q", 0, NULL, &info), WARREN_OK);
    ck_assert_str_eq(info.name, "q");
    ck_assert_int_eq(warren_close(conn), WARREN_OK);
    ck_assert_int_eq(fake_verdict(), 0);
}

START_TEST(tls_verified)
{
    char q[256];

    snprintf(q, sizeof(q), "?cacertfile=%s", cert("ca.pem"));
    tls_fake("server", false, q);
    tls_session_ok();
}
END_TEST

/* warren_set_tls instead of URL parameters, and an IP address SAN. */
START_TEST(tls_set_tls_ip)
{
    tls_fake("server", false, NULL);
    snprintf(url, sizeof(url), "amqps://127.0.0.1:%d/", fake.port);
    ck_assert_int_eq(warren_set_tls(conn, cert("ca.pem"), NULL, NULL, true),
                     WARREN_OK);
    tls_session_ok();
}
END_TEST

/* Verification is on by default: an unknown CA is refused. */
START_TEST(tls_untrusted)
{
    tls_fake("server", false, NULL);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_TLS);
    ck_assert_ptr_nonnull(strstr(warren_last_close(conn)->reply_text, "verif"));
    fake_verdict();
}
END_TEST

START_TEST(tls_other_ca)
{
    char q[256];

    snprintf(q, sizeof(q), "?cacertfile=%s", cert("other-ca.pem"));
    tls_fake("server", false, q);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_TLS);
    fake_verdict();
}
END_TEST

/* RFC 6125: the certificate must name the host in the URL. */
START_TEST(tls_wrong_host)
{
    char q[256];

    snprintf(q, sizeof(q), "?cacertfile=%s", cert("ca.pem"));
    tls_fake("wrong", false, q);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_TLS);
    ck_assert_ptr_nonnull(strstr(warren_last_close(conn)->reply_text, "verif"));
    fake_verdict();
}
END_TEST

START_TEST(tls_verify_none)
{
    tls_fake("wrong", false, "?verify=verify_none");
    tls_session_ok();
}
END_TEST

START_TEST(tls_client_cert_missing)
{
    char q[256];

    snprintf(q, sizeof(q), "?cacertfile=%s", cert("ca.pem"));
    tls_fake("server", true, q);
    ck_assert_msg(warren_connect_url(conn, url) == WARREN_ERR_TLS, "%s",
                  warren_last_close(conn)->reply_text);
    fake_verdict();
}
END_TEST

START_TEST(tls_client_cert)
{
    char q[512];

    snprintf(q, sizeof(q), "?cacertfile=%s&certfile=%s&keyfile=%s",
             cert("ca.pem"), cert("client.pem"), cert("client.key"));
    tls_fake("server", true, q);
    tls_session_ok();
}
END_TEST

START_TEST(tls_bad_files)
{
    tls_fake("server", false, "?cacertfile=/nonexistent/ca.pem");
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_TLS);
    ck_assert_ptr_nonnull(
        strstr(warren_last_close(conn)->reply_text, "/nonexistent/ca.pem"));
    fake_verdict();
    ck_assert_int_eq(warren_set_tls(conn, NULL, cert("client.pem"), NULL, true),
                     WARREN_ERR_INVALID);
}
END_TEST

TCase *
client_fake_tls_tcase(void)
{
    TCase *tc = tcase_create("tls");

    tcase_add_unchecked_fixture(tc, make_certs, remove_certs);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, tls_verified);
    tcase_add_test(tc, tls_set_tls_ip);
    tcase_add_test(tc, tls_untrusted);
    tcase_add_test(tc, tls_other_ca);
    tcase_add_test(tc, tls_wrong_host);
    tcase_add_test(tc, tls_verify_none);
    tcase_add_test(tc, tls_client_cert_missing);
    tcase_add_test(tc, tls_client_cert);
    tcase_add_test(tc, tls_bad_files);
    return tc;
}
