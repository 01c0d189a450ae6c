/* SPDX-License-Identifier: MIT */
/* Unit tests of broker/ security pieces: configuration parsing, password
 * hashing (RabbitMQ's rabbit_password_hashing_sha256), permission regexes
 * and RabbitMQ's resource mapping, topic permissions, loopback address
 * classification, the JSON reader and the definitions file. Suite
 * "broker"; its definitions and shovels test cases are in
 * tests/unit/broker/, one file each. */
#include "broker/cases.h"
#include "../../auth/auth_internal.h"
#include "../../broker/broker.h"
#include "../../mgmt/mgmt_internal.h"

#include <arpa/inet.h>
#include <check.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t used_before;

static void
leak_setup(void)
{
    used_before = wr_alloc_used();
}

static void
leak_teardown(void)
{
    ck_assert_uint_eq(wr_alloc_used(), used_before);
}

/* ==== config ============================================================ */

static struct wr_config cfg;
static char err[600];

static void
config_setup(void)
{
    wr_config_defaults(&cfg);
    err[0] = '\0';
}

static int
set(const char *k, const char *v)
{
    return wr_config_set(&cfg, k, v, err, sizeof(err));
}

START_TEST(config_defaults)
{
    ck_assert_str_eq(cfg.bind, "localhost");
    ck_assert_int_eq(cfg.port, 5672);
    ck_assert_uint_eq(cfg.ntcp_extra, 0);
    ck_assert(!cfg.ssl_on);
    ck_assert_int_eq(cfg.ssl_port, 5671);
    ck_assert_uint_eq(cfg.ssl_versions, WR_TLS_V12 | WR_TLS_V13);
    ck_assert_str_eq(cfg.auth_mechanisms, "PLAIN AMQPLAIN");
    ck_assert(wr_config_loopback_user(&cfg, "guest"));
    ck_assert(!wr_config_loopback_user(&cfg, "gues"));
    ck_assert_int_eq(cfg.mgmt_port, 15672);
    ck_assert_uint_eq(cfg.handshake_timeout, 10000);
    ck_assert_uint_eq(cfg.mem_absolute, 0);
    ck_assert(cfg.mem_relative > 0.39 && cfg.mem_relative < 0.41);
    ck_assert_int_eq(wr_config_validate(&cfg, err, sizeof(err)), 0);
}
END_TEST

START_TEST(config_listeners)
{
    /* named ones alone leave the default unbound (broker/server.c) */
    ck_assert_int_eq(set("listeners.tcp.local", "127.0.0.1:5690"), 0);
    ck_assert(!cfg.tcp_default_set);
    ck_assert_int_eq(set("listeners.tcp.default", "bad:port:x"),
                     WR_ERR_INVALID);
    ck_assert(!cfg.tcp_default_set);
    cfg.ntcp_extra = 0;
    ck_assert_int_eq(set("listeners.tcp.default", "5673"), 0);
    ck_assert(cfg.tcp_default_set);
    ck_assert_int_eq(cfg.port, 5673);
    ck_assert_int_eq(set("listeners.tcp.default", "0.0.0.0:1"), 0);
    ck_assert_str_eq(cfg.bind, "0.0.0.0");
    ck_assert_int_eq(set("listeners.tcp.default", "[::1]:5674"), 0);
    ck_assert_str_eq(cfg.bind, "::1");
    ck_assert_int_eq(cfg.port, 5674);
    /* a bare IPv6 address, as RabbitMQ writes it: up to the last colon */
    ck_assert_int_eq(set("listeners.tcp.default", "::1:5675"), 0);
    ck_assert_str_eq(cfg.bind, "::1");
    ck_assert_int_eq(cfg.port, 5675);
    ck_assert_int_eq(set("listeners.tcp.default", "localhost:5672"), 0);
    ck_assert_str_eq(cfg.bind, "localhost");
    ck_assert_int_eq(set("listeners.tcp.default", "example.org:5672"),
                     WR_ERR_INVALID);
    ck_assert_int_eq(set("listeners.tcp.default", "1.2.3:5672"),
                     WR_ERR_INVALID);
    /* listeners.tcp.NAME: one more listener each, a name again replaces */
    ck_assert_int_eq(set("listeners.tcp.1", "::1:5680"), 0);
    ck_assert_int_eq(set("listeners.tcp.2", "5681"), 0);
    ck_assert_int_eq(set("listeners.tcp.1", "[::]:5682"), 0);
    ck_assert_uint_eq(cfg.ntcp_extra, 2);
    ck_assert_str_eq(cfg.tcp_extra[0].addr, "::");
    ck_assert_int_eq(cfg.tcp_extra[0].port, 5682);
    ck_assert_str_eq(cfg.tcp_extra[1].addr, "localhost");
    ck_assert_int_eq(cfg.tcp_extra[1].port, 5681);
    ck_assert_int_eq(set("listeners.tcp.3", "nowhere:1"), WR_ERR_INVALID);
    ck_assert_uint_eq(cfg.ntcp_extra, 2);
    ck_assert_int_eq(set("listeners.tcp.a.b", "1"), WR_ERR_INVALID);
    ck_assert_int_eq(set("listeners.tcp.default", "65536"), WR_ERR_INVALID);
    ck_assert_int_eq(set("listeners.tcp.default", ":5672"), WR_ERR_INVALID);
    ck_assert_int_eq(set("listeners.ssl.default", "5671"), 0);
    ck_assert(cfg.ssl_on);
    ck_assert_str_eq(cfg.ssl_bind, "");
    ck_assert_int_eq(set("listeners.ssl.default", "none"), 0);
    ck_assert(!cfg.ssl_on);
}
END_TEST

START_TEST(config_tls_options)
{
    ck_assert_int_eq(set("ssl_options.verify", "verify_peer"), 0);
    ck_assert(cfg.ssl_verify_peer);
    ck_assert_int_eq(set("ssl_options.verify", "verify_none"), 0);
    ck_assert(!cfg.ssl_verify_peer);
    ck_assert_int_eq(set("ssl_options.verify", "yes"), WR_ERR_INVALID);
    ck_assert_int_eq(set("ssl_options.fail_if_no_peer_cert", "true"), 0);
    ck_assert(cfg.ssl_fail_if_no_peer_cert);
    ck_assert_int_eq(set("ssl_options.fail_if_no_peer_cert", "1"),
                     WR_ERR_INVALID);
    /* the first list element replaces the default list */
    ck_assert_int_eq(set("ssl_options.versions.1", "tlsv1.3"), 0);
    ck_assert_uint_eq(cfg.ssl_versions, WR_TLS_V13);
    ck_assert_int_eq(set("ssl_options.versions.2", "tlsv1.2"), 0);
    ck_assert_uint_eq(cfg.ssl_versions, WR_TLS_V12 | WR_TLS_V13);
    ck_assert_int_eq(set("ssl_options.versions.3", "tlsv1"), WR_ERR_INVALID);
    ck_assert_int_eq(
        set("ssl_options.ciphers.1", "ECDHE-RSA-AES128-GCM-SHA256"), 0);
    ck_assert_int_eq(set("ssl_options.ciphers.2", "TLS_AES_128_GCM_SHA256"), 0);
    ck_assert_int_eq(set("ssl_options.ciphers.3", "AES256-SHA"), 0);
    ck_assert_str_eq(cfg.ssl_ciphers, "ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA");
    ck_assert_str_eq(cfg.ssl_suites, "TLS_AES_128_GCM_SHA256");
    ck_assert_int_eq(set("ssl_options.ciphers.4", "A B"), WR_ERR_INVALID);
    ck_assert_int_eq(set("ssl_options.certfile", "/x.pem"), 0);
    ck_assert_str_eq(cfg.ssl_certfile, "/x.pem");
    /* combinations */
    ck_assert_int_eq(set("listeners.ssl.default", "5671"), 0);
    ck_assert_int_eq(wr_config_validate(&cfg, err, sizeof(err)),
                     WR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "keyfile"));
    ck_assert_int_eq(set("ssl_options.keyfile", "/x.key"), 0);
    ck_assert_int_eq(wr_config_validate(&cfg, err, sizeof(err)),
                     WR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "verify_peer"));
    ck_assert_int_eq(set("ssl_options.verify", "verify_peer"), 0);
    ck_assert_int_eq(wr_config_validate(&cfg, err, sizeof(err)),
                     WR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "cacertfile"));
    ck_assert_int_eq(set("ssl_options.cacertfile", "/ca.pem"), 0);
    ck_assert_int_eq(wr_config_validate(&cfg, err, sizeof(err)), 0);
}
END_TEST

START_TEST(config_users_and_mechanisms)
{
    ck_assert_int_eq(set("auth_mechanisms.1", "EXTERNAL"), 0);
    ck_assert_str_eq(cfg.auth_mechanisms, "EXTERNAL");
    ck_assert_int_eq(set("auth_mechanisms.2", "PLAIN"), 0);
    ck_assert_int_eq(set("auth_mechanisms.3", "PLAIN"), 0); /* no duplicate */
    ck_assert_str_eq(cfg.auth_mechanisms, "EXTERNAL PLAIN");
    ck_assert_int_eq(set("auth_mechanisms.4", "SCRAM-SHA-1"), WR_ERR_INVALID);
    ck_assert_int_eq(set("loopback_users.admin", "true"), 0);
    ck_assert(wr_config_loopback_user(&cfg, "admin"));
    ck_assert(wr_config_loopback_user(&cfg, "guest"));
    ck_assert_int_eq(set("loopback_users.guest", "false"), 0);
    ck_assert(!wr_config_loopback_user(&cfg, "guest"));
    ck_assert(wr_config_loopback_user(&cfg, "admin"));
    ck_assert_int_eq(set("loopback_users", "none"), 0);
    ck_assert(!wr_config_loopback_user(&cfg, "admin"));
    ck_assert_int_eq(set("loopback_users", "guest"), WR_ERR_INVALID);
    ck_assert_int_eq(set("loopback_users.", "true"), WR_ERR_INVALID);
    ck_assert_int_eq(set("default_user", ""), WR_ERR_INVALID);
    ck_assert_int_eq(set("definitions.file", ""), 0);
    ck_assert_int_eq(set("definitions.file", "/var/lib/w.json"), 0);
    ck_assert_str_eq(cfg.definitions_file, "/var/lib/w.json");
    ck_assert_int_eq(set("auth_failure_delay", "0"), 0);
    ck_assert_int_eq(set("auth_failure_delay", "60001"), WR_ERR_INVALID);
}
END_TEST

START_TEST(config_sizes_and_watermark)
{
    uint64_t n;

    ck_assert_int_eq(wr_config_parse_size("100", &n), 0);
    ck_assert_uint_eq(n, 100);
    ck_assert_int_eq(wr_config_parse_size("2KiB", &n), 0);
    ck_assert_uint_eq(n, 2048);
    ck_assert_int_eq(wr_config_parse_size("2kB", &n), 0);
    ck_assert_uint_eq(n, 2000);
    ck_assert_int_eq(wr_config_parse_size("3MiB", &n), 0);
    ck_assert_uint_eq(n, 3u << 20);
    ck_assert_int_eq(wr_config_parse_size("1GB", &n), 0);
    ck_assert_uint_eq(n, 1000000000u);
    ck_assert_int_eq(wr_config_parse_size("1gib", &n), 0);
    ck_assert_uint_eq(n, 1u << 30);
    ck_assert_int_eq(wr_config_parse_size("1 GiB", &n), WR_ERR_INVALID);
    ck_assert_int_eq(wr_config_parse_size("-1", &n), WR_ERR_INVALID);
    ck_assert_int_eq(wr_config_parse_size("99999999999999999999", &n),
                     WR_ERR_INVALID);
    ck_assert_int_eq(wr_config_parse_size("99999999999GiB", &n),
                     WR_ERR_INVALID);
    ck_assert_int_eq(set("vm_memory_high_watermark.absolute", "64MiB"), 0);
    ck_assert_uint_eq(wr_config_watermark(&cfg), 64u << 20);
    ck_assert_int_eq(set("vm_memory_high_watermark.absolute", "1000"),
                     WR_ERR_INVALID);
    ck_assert_int_eq(set("vm_memory_high_watermark.relative", "0"),
                     WR_ERR_INVALID);
    ck_assert_int_eq(set("vm_memory_high_watermark.relative", "0.5x"),
                     WR_ERR_INVALID);
    ck_assert_int_eq(set("vm_memory_high_watermark.absolute", "0"), 0);
    ck_assert_int_eq(set("vm_memory_high_watermark.relative", "0.5"), 0);
    ck_assert(wr_config_watermark(&cfg) > 0);
}
END_TEST

START_TEST(config_numbers_and_unknown)
{
    ck_assert_int_eq(set("heartbeat", "0"), 0);
    ck_assert_int_eq(set("heartbeat", "65536"), WR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "from 0 to 65535"));
    ck_assert_int_eq(set("frame_max", "4095"), WR_ERR_INVALID);
    ck_assert_int_eq(set("channel_max", "+5"), WR_ERR_INVALID);
    ck_assert_int_eq(set("connection_max", "12"), 0);
    ck_assert_uint_eq(cfg.connection_max, 12);
    ck_assert_int_eq(set("management.tcp.port", "15673"), 0);
    ck_assert_int_eq(cfg.mgmt_port, 15673);
    ck_assert_int_eq(set("max_message_size", "1024"), 0);
    ck_assert_uint_eq(cfg.max_message_size, 1024);
    /* consumer_max_per_channel: 0 (the default) = unlimited */
    ck_assert_uint_eq(cfg.consumer_max, 0);
    ck_assert_int_eq(set("consumer_max_per_channel", "100"), 0);
    ck_assert_uint_eq(cfg.consumer_max, 100);
    ck_assert_int_eq(set("consumer_max_per_channel", "0"), 0);
    ck_assert_uint_eq(cfg.consumer_max, 0);
    ck_assert_int_eq(set("consumer_max_per_channel", "-1"), WR_ERR_INVALID);
    ck_assert_int_eq(set("consumer_max_per_channel", "infinity"),
                     WR_ERR_INVALID);
    ck_assert_int_eq(set("consumer_max_per_channel", "10000001"),
                     WR_ERR_INVALID);
    ck_assert_int_eq(set("no.such.key", "1"), WR_ERR_INVALID);
    ck_assert_str_eq(err, "unknown key 'no.such.key'");
    ck_assert_int_eq(set("log.level", "loud"), WR_ERR_INVALID);
}
END_TEST

/* issue 19: rabbitmq.conf keys warren acts on, and the ones it ignores */
START_TEST(config_service_keys)
{
    ck_assert_int_eq(cfg.consumer_timeout, 1800000);
    ck_assert_int_eq(cfg.prometheus_port, 15692);
    ck_assert(cfg.log_console);
    ck_assert_int_eq(cfg.log_file_level, -1);
    ck_assert_int_eq(set("log.file", "/var/log/warren/warren.log"), 0);
    ck_assert_str_eq(cfg.log_file, "/var/log/warren/warren.log");
    ck_assert_int_eq(set("log.file", "false"), 0);
    ck_assert_str_eq(cfg.log_file, "");
    ck_assert_int_eq(set("log.file.level", "warning"), 0);
    ck_assert_int_eq(cfg.log_file_level, WR_LOG_WARN);
    ck_assert_int_eq(set("log.console.level", "critical"), 0);
    ck_assert_int_eq(cfg.log_console_level, WR_LOG_ERROR);
    ck_assert_int_eq(set("log.console.level", "none"), 0);
    ck_assert_int_eq(cfg.log_console_level, WR_LOG_NONE);
    ck_assert_int_eq(set("log.default.level", "debug"), 0);
    ck_assert_int_eq(cfg.log_level, WR_LOG_DEBUG);
    ck_assert_int_eq(set("log.console", "false"), 0);
    ck_assert(!cfg.log_console);
    ck_assert_int_eq(set("log.console", "0"), WR_ERR_INVALID);
    ck_assert_int_eq(set("disk_free_limit.absolute", "1GB"), 0);
    ck_assert_uint_eq(cfg.disk_free_limit, 1000000000);
    ck_assert_int_eq(set("disk_free_limit.absolute", "1 GB"), WR_ERR_INVALID);
    ck_assert_int_eq(set("consumer_timeout", "60000"), 0);
    ck_assert_uint_eq(cfg.consumer_timeout, 60000);
    ck_assert_int_eq(set("consumer_timeout", "4294967296"), WR_ERR_INVALID);
    ck_assert_int_eq(set("prometheus.tcp.port", "9419"), 0);
    ck_assert_int_eq(cfg.prometheus_port, 9419);
    ck_assert_int_eq(set("prometheus.tcp.port", "none"), 0);
    ck_assert_int_eq(cfg.prometheus_port, -1);
    ck_assert_int_eq(set("load_definitions", "/etc/warren/defs.json"), 0);
    ck_assert_str_eq(cfg.load_definitions, "/etc/warren/defs.json");
    /* relative to the RAM; the later of the two wins, as in RabbitMQ */
    ck_assert_int_eq(set("disk_free_limit.relative", "2.0"), 0);
    ck_assert_uint_eq(cfg.disk_free_limit,
                      (uint64_t)((double)sysconf(_SC_PHYS_PAGES) *
                                 (double)sysconf(_SC_PAGESIZE) * 2.0));
    ck_assert_uint_gt(cfg.disk_free_limit, 1 << 20);
    ck_assert_int_eq(set("disk_free_limit.absolute", "1GB"), 0);
    ck_assert_uint_eq(cfg.disk_free_limit, 1000000000);
    ck_assert_int_eq(set("disk_free_limit.relative", "lots"), WR_ERR_INVALID);
    ck_assert_int_eq(set("disk_free_limit.relative", "-1"), WR_ERR_INVALID);
    /* RabbitMQ knows these; warren has no use for them */
    ck_assert_int_eq(set("mnesia_table_loading_retry_limit", "10"), 1);
    ck_assert_str_eq(err, "mnesia_table_loading_retry_limit: ignored: no "
                          "effect in warren");
    ck_assert_int_eq(set("cluster_formation.classic_config.nodes.1", "r@h"), 1);
    ck_assert_int_eq(set("mqtt.listeners.tcp.default", "1883"), 1);
    /* "$name" is one segment, not several or none */
    ck_assert_int_eq(set("cluster_formation.classic_config.nodes", "x"),
                     WR_ERR_INVALID);
    ck_assert_int_eq(set("mqtt.listeners.tcp.a.b", "1883"), WR_ERR_INVALID);
    ck_assert_int_eq(set("mqtt.listeners.tcp.", "1883"), WR_ERR_INVALID);
    ck_assert_int_eq(set("cluster_formaton.peer_discovery_backend", "x"),
                     WR_ERR_INVALID);
    ck_assert(wr_rabbit_key_known("log.syslog.ssl_options.versions.1"));
    ck_assert(!wr_rabbit_key_known("log"));
    ck_assert(!wr_rabbit_key_known(""));
}
END_TEST

START_TEST(config_file_line_numbers)
{
    char path[] = "/tmp/check_broker_confXXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    char want[128];

    fputs("# comment\n\nheartbeat = 5\n  frame_max = 8192  \nbogus\n", f);
    fclose(f);
    ck_assert_int_eq(wr_config_load(&cfg, path, err, sizeof(err)),
                     WR_ERR_INVALID);
    snprintf(want, sizeof(want), "%s:5: expected 'key = value'", path);
    ck_assert_str_eq(err, want);
    ck_assert_uint_eq(cfg.heartbeat, 5);
    ck_assert_uint_eq(cfg.frame_max, 8192);
    f = fopen(path, "w");
    fputs("heartbeat = 5\nssl_options.verify = maybe\n", f);
    fclose(f);
    ck_assert_int_eq(wr_config_load(&cfg, path, err, sizeof(err)),
                     WR_ERR_INVALID);
    snprintf(want, sizeof(want), "%s:2: ssl_options.verify", path);
    ck_assert_int_eq(strncmp(err, want, strlen(want)), 0);
    unlink(path);
    ck_assert_int_eq(wr_config_load(&cfg, path, err, sizeof(err)), WR_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

/* ==== hashing ============================================================ */

START_TEST(hash_rabbitmq_sha256_vector)
{
    /* RabbitMQ's documented example: salt 908DC60A, password "test12". */
    static const uint8_t salt[4] = {0x90, 0x8d, 0xc6, 0x0a};
    char out[128];

    wr_password_hash_sha256(salt, "test12", out, sizeof(out));
    ck_assert_str_eq(out, "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR");
}
END_TEST

START_TEST(hash_user_passwords)
{
    struct wr_users users;
    struct wr_user *u;
    char b64[128], b64b[128];

    wr_users_init(&users);
    ck_assert_int_eq(wr_users_add(&users, "ann", "pw", "management", &u),
                     WR_OK);
    ck_assert_int_eq(wr_users_add(&users, "ann", "x", NULL, NULL),
                     WR_ERR_EXISTS);
    ck_assert_int_eq(wr_users_add(&users, "", "x", NULL, NULL), WR_ERR_INVALID);
    ck_assert(wr_user_check_password(u, "pw", 2));
    ck_assert(!wr_user_check_password(u, "pw2", 3));
    ck_assert(!wr_user_check_password(u, "p", 1));
    /* salted: the same password hashes differently each time */
    wr_user_hash_b64(u, b64, sizeof(b64));
    ck_assert_uint_eq(strlen(b64), 48);
    wr_user_set_password(u, "pw");
    wr_user_hash_b64(u, b64b, sizeof(b64b));
    ck_assert_str_ne(b64, b64b);
    ck_assert(wr_user_check_password(u, "pw", 2));
    /* a hash from a definitions file */
    ck_assert_int_eq(
        wr_user_set_hash(u, WR_HASH_SHA256,
                         "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"),
        WR_OK);
    ck_assert(wr_user_check_password(u, "test12", 6));
    ck_assert_int_eq(
        wr_user_set_hash(
            u, WR_HASH_SHA512,
            "AQIDBFEKgg91QUjXOoEuIijrYjDJqmh1G3gQJEpEZS2FiDEOS23JGo"
            "N2eht5cR6qAC4KAE7kqph8wGA/9reOn6y+bcw="),
        WR_OK);
    ck_assert(wr_user_check_password(u, "pw", 2));
    ck_assert(!wr_user_check_password(u, "test12", 6));
    ck_assert_int_eq(wr_user_set_hash(u, WR_HASH_SHA256, "a2I="),
                     WR_ERR_INVALID); /* too short */
    ck_assert_int_eq(wr_user_set_hash(u, WR_HASH_SHA256, "!!!!"),
                     WR_ERR_INVALID);
    ck_assert_int_eq(wr_user_set_hash(u, WR_HASH_SHA256, ""), WR_OK);
    ck_assert(!wr_user_check_password(u, "", 0)); /* no password: no login */
    /* tags */
    wr_user_set_tags(u, "administrator, monitoring management");
    ck_assert_str_eq(u->tags, "administrator,monitoring,management");
    ck_assert(wr_user_has_tag(u, "monitoring"));
    ck_assert(!wr_user_has_tag(u, "monitor"));
    wr_user_set_tags(u, "");
    ck_assert(!wr_user_has_tag(u, "administrator"));
    ck_assert_int_eq(wr_users_delete(&users, "ann"), WR_OK);
    ck_assert_int_eq(wr_users_delete(&users, "ann"), WR_ERR_NOT_FOUND);
    wr_users_cleanup(&users);
}
END_TEST

START_TEST(hash_base64)
{
    char out[16];
    uint8_t bin[8];

    ck_assert_int_eq(wr_base64_encode("ab", 2, out, sizeof(out)), 4);
    ck_assert_str_eq(out, "YWI=");
    ck_assert_int_eq(wr_base64_decode("YWI=", 4, bin, sizeof(bin)), 2);
    ck_assert_int_eq(memcmp(bin, "ab", 2), 0);
    ck_assert_int_eq(wr_base64_decode("YWJj", 4, bin, sizeof(bin)), 3);
    ck_assert_int_eq(wr_base64_decode("YWJ", 3, bin, sizeof(bin)),
                     WR_ERR_INVALID);
    ck_assert_int_eq(wr_base64_decode("Y=Jj", 4, bin, sizeof(bin)),
                     WR_ERR_INVALID);
    ck_assert_int_eq(wr_base64_decode("YWJj", 4, bin, 2), WR_ERR_NOSPACE);
    ck_assert_int_eq(wr_base64_encode("abcdefghijkl", 12, out, 16),
                     WR_ERR_NOSPACE);
}
END_TEST

/* ==== permissions ======================================================== */

static struct wr_users users;
static struct wr_user *usr;

static void
perm_setup(void)
{
    leak_setup();
    wr_users_init(&users);
    wr_users_add(&users, "u", "pw", NULL, &usr);
}

static void
perm_teardown(void)
{
    wr_users_cleanup(&users);
    leak_teardown();
}

static bool
can(const char *vh, enum wr_perm_kind k, const char *name)
{
    return wr_perm_check(usr, vh, k, name, strlen(name));
}

START_TEST(perm_regex_mapping)
{
    ck_assert(!can("/", WR_PERM_READ, "q")); /* no permissions at all */
    ck_assert_int_eq(wr_user_set_perm(&users, usr, "/", "^tmp-", "",
                                      "^(amq\\.default|q[0-9]+)$", err,
                                      sizeof(err)),
                     WR_OK);
    ck_assert(can("/", WR_PERM_CONFIGURE, "tmp-1"));
    ck_assert(!can("/", WR_PERM_CONFIGURE, "xtmp-1"));
    ck_assert(!can("/", WR_PERM_WRITE, "tmp-1")); /* "" denies everything */
    ck_assert(!can("/", WR_PERM_WRITE, ""));
    ck_assert(can("/", WR_PERM_READ, "q12"));
    ck_assert(!can("/", WR_PERM_READ, "q12a"));
    /* the default exchange is checked as amq.default */
    ck_assert(can("/", WR_PERM_READ, ""));
    /* unanchored patterns match anywhere, as in RabbitMQ (re:run) */
    ck_assert_int_eq(
        wr_user_set_perm(&users, usr, "/", "mid", ".*", ".*", err, sizeof(err)),
        WR_OK);
    ck_assert(can("/", WR_PERM_CONFIGURE, "a-mid-b"));
    /* names with a NUL are refused rather than matched on a prefix */
    ck_assert(!wr_perm_check(usr, "/", WR_PERM_WRITE, "ok\0evil", 7));
    /* per vhost */
    ck_assert(!can("v2", WR_PERM_READ, "q1"));
    ck_assert_ptr_null(wr_user_perm(usr, "v2"));
    ck_assert_int_eq(wr_user_clear_perm(&users, usr, "/"), WR_OK);
    ck_assert_int_eq(wr_user_clear_perm(&users, usr, "/"), WR_ERR_NOT_FOUND);
    ck_assert(!can("/", WR_PERM_CONFIGURE, "a-mid-b"));
}
END_TEST

START_TEST(perm_bad_regex)
{
    uint64_t gen = users.gen;

    ck_assert_int_eq(
        wr_user_set_perm(&users, usr, "/", ".*", "([", ".*", err, sizeof(err)),
        WR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "invalid regular expression '(['"));
    ck_assert_ptr_null(wr_user_perm(usr, "/"));
    ck_assert_uint_eq(users.gen, gen);
}
END_TEST

START_TEST(perm_topic)
{
    /* no topic permission on an exchange: allowed */
    ck_assert(wr_topic_check(usr, "/", "amq.topic", WR_PERM_WRITE, "x", 1));
    ck_assert_int_eq(wr_user_set_topic_perm(&users, usr, "/", "amq.topic",
                                            "^{username}\\.", "^{vhost}-", err,
                                            sizeof(err)),
                     WR_OK);
    ck_assert(wr_topic_check(usr, "/", "amq.topic", WR_PERM_WRITE, "u.a", 3));
    ck_assert(!wr_topic_check(usr, "/", "amq.topic", WR_PERM_WRITE, "v.a", 3));
    ck_assert(wr_topic_check(usr, "/", "amq.topic", WR_PERM_READ, "/-x", 3));
    ck_assert(!wr_topic_check(usr, "/", "amq.topic", WR_PERM_READ, "u.a", 3));
    ck_assert(wr_topic_check(usr, "v2", "amq.topic", WR_PERM_WRITE, "v", 1));
    /* replace, then clear */
    ck_assert_int_eq(wr_user_set_topic_perm(&users, usr, "/", "amq.topic", "",
                                            ".*", err, sizeof(err)),
                     WR_OK);
    ck_assert_uint_eq(usr->ntp, 1);
    ck_assert(!wr_topic_check(usr, "/", "amq.topic", WR_PERM_WRITE, "u.a", 3));
    ck_assert_int_eq(wr_user_set_topic_perm(&users, usr, "/", "t", "(", ".*",
                                            err, sizeof(err)),
                     WR_ERR_INVALID);
    ck_assert_int_eq(wr_user_clear_topic_perm(&users, usr, "/", "amq.topic"),
                     WR_OK);
    ck_assert_uint_eq(usr->ntp, 0);
    ck_assert(wr_topic_check(usr, "/", "amq.topic", WR_PERM_WRITE, "u.a", 3));
}
END_TEST

START_TEST(perm_forget_vhost)
{
    wr_user_set_perm(&users, usr, "gone", ".*", ".*", ".*", err, sizeof(err));
    wr_user_set_perm(&users, usr, "kept", ".*", ".*", ".*", err, sizeof(err));
    wr_user_set_topic_perm(&users, usr, "gone", "x", ".*", ".*", err,
                           sizeof(err));
    wr_users_forget_vhost(&users, "gone");
    ck_assert_ptr_null(wr_user_perm(usr, "gone"));
    ck_assert_ptr_nonnull(wr_user_perm(usr, "kept"));
    ck_assert_uint_eq(usr->ntp, 0);
}
END_TEST

/* ==== address classification ============================================ */

static bool
loop4(const char *a)
{
    struct sockaddr_in in = {.sin_family = AF_INET};

    ck_assert_int_eq(inet_pton(AF_INET, a, &in.sin_addr), 1);
    return wr_addr_is_loopback((struct sockaddr *)&in);
}

static bool
loop6(const char *a)
{
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};

    ck_assert_int_eq(inet_pton(AF_INET6, a, &in6.sin6_addr), 1);
    return wr_addr_is_loopback((struct sockaddr *)&in6);
}

START_TEST(addr_loopback)
{
    struct sockaddr sa = {.sa_family = AF_UNIX};

    ck_assert(loop4("127.0.0.1"));
    ck_assert(loop4("127.0.0.2"));
    ck_assert(loop4("127.255.255.254"));
    ck_assert(!loop4("128.0.0.1"));
    ck_assert(!loop4("126.255.255.255"));
    ck_assert(!loop4("10.0.0.1"));
    ck_assert(!loop4("192.0.2.2"));
    ck_assert(!loop4("0.0.0.0"));
    ck_assert(loop6("::1"));
    ck_assert(loop6("::ffff:127.0.0.1"));
    ck_assert(loop6("::ffff:127.1.2.3"));
    ck_assert(!loop6("::ffff:10.0.0.1"));
    ck_assert(!loop6("::2"));
    ck_assert(!loop6("::"));
    ck_assert(!loop6("fd00::2"));
    ck_assert(!loop6("fe80::1"));
    ck_assert(!wr_addr_is_loopback(&sa));
}
END_TEST

static Suite *
broker_suite(void)
{
    Suite *s = suite_create("broker");
    TCase *tc;

    tc = tcase_create("config");
    tcase_add_checked_fixture(tc, config_setup, NULL);
    tcase_add_test(tc, config_defaults);
    tcase_add_test(tc, config_listeners);
    tcase_add_test(tc, config_tls_options);
    tcase_add_test(tc, config_users_and_mechanisms);
    tcase_add_test(tc, config_sizes_and_watermark);
    tcase_add_test(tc, config_numbers_and_unknown);
    tcase_add_test(tc, config_file_line_numbers);
    tcase_add_test(tc, config_service_keys);
    suite_add_tcase(s, tc);

    tc = tcase_create("hashing");
    tcase_add_checked_fixture(tc, leak_setup, leak_teardown);
    tcase_add_test(tc, hash_rabbitmq_sha256_vector);
    tcase_add_test(tc, hash_user_passwords);
    tcase_add_test(tc, hash_base64);
    suite_add_tcase(s, tc);

    tc = tcase_create("permissions");
    tcase_add_checked_fixture(tc, perm_setup, perm_teardown);
    tcase_add_test(tc, perm_regex_mapping);
    tcase_add_test(tc, perm_bad_regex);
    tcase_add_test(tc, perm_topic);
    tcase_add_test(tc, perm_forget_vhost);
    suite_add_tcase(s, tc);

    tc = tcase_create("address");
    tcase_add_test(tc, addr_loopback);
    suite_add_tcase(s, tc);

    tc = broker_definitions_tcase();
    tcase_add_checked_fixture(tc, leak_setup, leak_teardown);
    suite_add_tcase(s, tc);

    tc = broker_shovels_tcase();
    tcase_add_checked_fixture(tc, leak_setup, leak_teardown);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(broker_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
