/* SPDX-License-Identifier: MIT */
/* The configuration file: one `key = value` per line, '#' comments, keys
 * named as RabbitMQ names them (rabbitmq.conf) where one exists. */
#include "runtime_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* seen_lists bits */
#define SEEN_VERSIONS 1u
#define SEEN_CIPHERS 2u
#define SEEN_MECHS 4u
#define SEEN_LOOPBACK 8u

void
wr_config_defaults(struct wr_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->bind, sizeof(cfg->bind), "localhost");
    cfg->port = 5672;
    cfg->ssl_port = 5671;
    cfg->ssl_versions = WR_TLS_V12 | WR_TLS_V13;
    snprintf(cfg->auth_mechanisms, sizeof(cfg->auth_mechanisms),
             "PLAIN AMQPLAIN");
    snprintf(cfg->default_user, sizeof(cfg->default_user), "guest");
    snprintf(cfg->default_pass, sizeof(cfg->default_pass), "guest");
    snprintf(cfg->default_vhost, sizeof(cfg->default_vhost), "/");
    snprintf(cfg->loopback_users, sizeof(cfg->loopback_users), "guest");
    cfg->heartbeat = 60;
    cfg->frame_max = 131072;
    cfg->channel_max = 2047;
    cfg->max_message_size = 134217728;
    cfg->connection_max = 0;
    cfg->handshake_timeout = 10000;
    cfg->output_limit = 4u << 20;
    cfg->mem_relative = 0.4;
    cfg->queue_ram_messages = 16384;
    cfg->queue_ram_bytes = 8u << 20;
    cfg->paging_ratio = 0.5;
    cfg->mgmt_port = 15672;
    cfg->auth_failure_delay = 1000;
    cfg->log_level = WR_LOG_NOTICE;
    snprintf(cfg->mgmt_bind, sizeof(cfg->mgmt_bind), "127.0.0.1");
    cfg->stats_interval = 5000;
    cfg->mgmt_max_body = 20u << 20;
    cfg->mgmt_ssl_port = 15671;
    cfg->log_file_level = -1;
    cfg->log_console = true;
    cfg->log_console_level = -1;
    cfg->disk_free_limit = 50000000; /* RabbitMQ's default, 50MB */
    cfg->consumer_timeout = 1800000; /* RabbitMQ's default, 30 minutes */
    cfg->prometheus_port = 15692;
    snprintf(cfg->prometheus_bind, sizeof(cfg->prometheus_bind), "127.0.0.1");
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "/var/lib/warren");
}

static int
parse_u64(const char *v, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long n;

    if (!isdigit((unsigned char)*v))
        return WR_ERR_INVALID;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || *end || n > max)
        return WR_ERR_INVALID;
    *out = n;
    return 0;
}

int
wr_config_parse_size(const char *v, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {
        {"", 1},
        {"k", 1024},
        {"kib", 1024},
        {"kb", 1000},
        {"m", 1024 * 1024},
        {"mib", 1024 * 1024},
        {"mb", 1000 * 1000},
        {"g", 1024ull * 1024 * 1024},
        {"gib", 1024ull * 1024 * 1024},
        {"gb", 1000ull * 1000 * 1000},
    };
    char *end;
    unsigned long long n;

    if (!isdigit((unsigned char)*v))
        return WR_ERR_INVALID;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno)
        return WR_ERR_INVALID;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(end, units[i].unit) == 0) {
            if (n > UINT64_MAX / units[i].mul)
                return WR_ERR_INVALID;
            *out = n * units[i].mul;
            return 0;
        }
    }
    return WR_ERR_INVALID;
}

static int
copy_str(char *dst, size_t cap, const char *v, bool empty_ok)
{
    size_t n = strlen(v);

    if ((n == 0 && !empty_ok) || n >= cap)
        return WR_ERR_INVALID;
    memcpy(dst, v, n + 1);
    return 0;
}

/* PORT | ADDR:PORT | [V6ADDR]:PORT | V6ADDR:PORT */
static int
parse_listener(const char *v, char *bind, size_t bindcap, int *port)
{
    const char *colon = strrchr(v, ':');
    char addr[64];
    uint64_t p;
    size_t alen;

    if (colon == NULL) {
        if (parse_u64(v, 65535, &p))
            return WR_ERR_INVALID;
        *port = (int)p;
        return 0;
    }
    if (parse_u64(colon + 1, 65535, &p))
        return WR_ERR_INVALID;
    if (v[0] == '[') {
        if (colon == v || colon[-1] != ']')
            return WR_ERR_INVALID;
        v++;
        alen = (size_t)(colon - 1 - v);
    } else {
        /* a bare IPv6 address ends at the last colon, as RabbitMQ reads
         * "::1:5672" */
        alen = (size_t)(colon - v);
    }
    if (alen == 0 || alen >= bindcap || alen >= sizeof(addr))
        return WR_ERR_INVALID;
    memcpy(addr, v, alen);
    addr[alen] = '\0';
    if (!wr_config_listen_addr_ok(addr))
        return WR_ERR_INVALID;
    memcpy(bind, addr, alen + 1);
    *port = (int)p;
    return 0;
}

bool
wr_config_listen_addr_ok(const char *addr)
{
    struct in6_addr a;

    return strcmp(addr, "localhost") == 0 ||
           inet_pton(AF_INET, addr, &a) == 1 ||
           inet_pton(AF_INET6, addr, &a) == 1;
}

static int
parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0)
        *out = false;
    else
        return WR_ERR_INVALID;
    return 0;
}

/* Appends item to a sep-separated list in dst. */
static int
list_add(char *dst, size_t cap, const char *item, char sep)
{
    size_t n = strlen(dst), l = strlen(item);

    if (l == 0 || n + l + 2 > cap)
        return WR_ERR_INVALID;
    if (n)
        dst[n++] = sep;
    memcpy(dst + n, item, l + 1);
    return 0;
}

static bool
list_has(const char *list, const char *item, char sep)
{
    return wr_bytes_in_list(wr_bytes_str(item), list, sep);
}

static void
list_remove(char *list, const char *item, char sep)
{
    char out[1024] = "";
    char sepstr[2] = {sep, 0};

    for (char *p = list; *p;) {
        char *e = strchr(p, sep);
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (!(n == strlen(item) && memcmp(p, item, n) == 0)) {
            if (out[0])
                strncat(out, sepstr, sizeof(out) - strlen(out) - 1);
            strncat(out, p,
                    (n < sizeof(out) - strlen(out) - 1
                         ? n
                         : sizeof(out) - strlen(out) - 1));
        }
        if (e == NULL)
            break;
        p = e + 1;
    }
    snprintf(list, 1024, "%s", out);
}

bool
wr_config_loopback_user(const struct wr_config *cfg, const char *user)
{
    return list_has(cfg->loopback_users, user, ',');
}

/* ssl_options.versions.N, ssl_options.ciphers.N, auth_mechanisms.N,
 * loopback_users.NAME: RabbitMQ's list syntax. The first element given
 * replaces the default list. Returns 1 if key is not a list key. */
static int
set_list(struct wr_config *cfg, const char *key, const char *v, char *err,
         size_t errlen)
{
    static const char mechs[] = "PLAIN AMQPLAIN EXTERNAL";
    uint64_t idx;

    if (strncmp(key, "ssl_options.versions.", 21) == 0) {
        if (parse_u64(key + 21, 1000, &idx))
            goto badidx;
        if (!(cfg->seen_lists & SEEN_VERSIONS))
            cfg->ssl_versions = 0;
        cfg->seen_lists |= SEEN_VERSIONS;
        if (strcmp(v, "tlsv1.2") == 0)
            cfg->ssl_versions |= WR_TLS_V12;
        else if (strcmp(v, "tlsv1.3") == 0)
            cfg->ssl_versions |= WR_TLS_V13;
        else {
            snprintf(err, errlen,
                     "%s: expected tlsv1.2 or tlsv1.3 (older versions are "
                     "not supported)",
                     key);
            return WR_ERR_INVALID;
        }
        return 0;
    }
    if (strncmp(key, "ssl_options.ciphers.", 20) == 0) {
        bool suite = strncmp(v, "TLS_", 4) == 0;
        if (parse_u64(key + 20, 1000, &idx))
            goto badidx;
        if (!(cfg->seen_lists & SEEN_CIPHERS)) {
            cfg->ssl_ciphers[0] = '\0';
            cfg->ssl_suites[0] = '\0';
        }
        cfg->seen_lists |= SEEN_CIPHERS;
        for (const char *p = v; *p; p++) {
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
                *p != '.' && *p != '@' && *p != '=' && *p != '+' && *p != '!') {
                snprintf(err, errlen, "%s: bad cipher name '%s'", key, v);
                return WR_ERR_INVALID;
            }
        }
        if (suite ? list_add(cfg->ssl_suites, sizeof(cfg->ssl_suites), v, ':')
                  : list_add(cfg->ssl_ciphers, sizeof(cfg->ssl_ciphers), v,
                             ':')) {
            snprintf(err, errlen, "%s: too many ciphers", key);
            return WR_ERR_INVALID;
        }
        return 0;
    }
    if (strncmp(key, "auth_mechanisms.", 16) == 0) {
        if (parse_u64(key + 16, 1000, &idx))
            goto badidx;
        if (!(cfg->seen_lists & SEEN_MECHS))
            cfg->auth_mechanisms[0] = '\0';
        cfg->seen_lists |= SEEN_MECHS;
        if (!list_has(mechs, v, ' ')) {
            snprintf(err, errlen, "%s: expected PLAIN, AMQPLAIN or EXTERNAL",
                     key);
            return WR_ERR_INVALID;
        }
        if (!list_has(cfg->auth_mechanisms, v, ' '))
            list_add(cfg->auth_mechanisms, sizeof(cfg->auth_mechanisms), v,
                     ' ');
        return 0;
    }
    if (strcmp(key, "loopback_users") == 0) {
        if (strcmp(v, "none") != 0) {
            snprintf(err, errlen,
                     "%s: expected 'none' (or loopback_users.NAME = true)",
                     key);
            return WR_ERR_INVALID;
        }
        cfg->loopback_users[0] = '\0';
        cfg->seen_lists |= SEEN_LOOPBACK;
        return 0;
    }
    if (strncmp(key, "loopback_users.", 15) == 0) {
        const char *user = key + 15;
        bool on;
        if (*user == '\0' || strchr(user, ',')) {
            snprintf(err, errlen, "%s: bad user name", key);
            return WR_ERR_INVALID;
        }
        if (parse_bool(v, &on)) {
            snprintf(err, errlen, "%s: expected true or false", key);
            return WR_ERR_INVALID;
        }
        if (!on) {
            list_remove(cfg->loopback_users, user, ',');
        } else if (!list_has(cfg->loopback_users, user, ',') &&
                   list_add(cfg->loopback_users, sizeof(cfg->loopback_users),
                            user, ',')) {
            snprintf(err, errlen, "%s: too many loopback users", key);
            return WR_ERR_INVALID;
        }
        return 0;
    }
    return 1;
badidx:
    snprintf(err, errlen, "%s: expected a number after the last '.'", key);
    return WR_ERR_INVALID;
}

struct num_key {
    const char *key;
    uint64_t min, max;
    size_t off, size;
};

#define NUM(k, lo, hi, field)                                                  \
    {                                                                          \
        k, lo, hi, offsetof(struct wr_config, field),                          \
            sizeof(((struct wr_config *)0)->field)                             \
    }

static const struct num_key nums[] = {
    NUM("heartbeat", 0, 65535, heartbeat),
    NUM("frame_max", 4096, 1048576, frame_max),
    NUM("channel_max", 1, 65535, channel_max),
    NUM("max_message_size", 1, 536870912, max_message_size),
    NUM("connection_max", 0, 10000000, connection_max),
    NUM("consumer_max_per_channel", 0, 10000000, consumer_max),
    NUM("handshake_timeout", 100, 3600000, handshake_timeout),
    NUM("output_limit", 65536, 1u << 30, output_limit),
    NUM("management.tcp.port", 0, 65535, mgmt_port),
    NUM("auth_failure_delay", 0, 60000, auth_failure_delay),
    NUM("collect_statistics_interval", 100, 3600000, stats_interval),
    NUM("management.http.max_body_size", 4096, 1u << 30, mgmt_max_body),
};

static void
store_num(struct wr_config *cfg, const struct num_key *k, uint64_t n)
{
    char *p = (char *)cfg + k->off;

    switch (k->size) {
    case 2: {
        uint16_t v = (uint16_t)n;
        memcpy(p, &v, 2);
        break;
    }
    case 4: {
        uint32_t v = (uint32_t)n;
        memcpy(p, &v, 4);
        break;
    }
    default: {
        uint64_t v = n;
        memcpy(p, &v, 8);
        break;
    }
    }
}

struct str_key {
    const char *key;
    size_t off, cap;
    bool empty_ok;
};

#define STR(k, field, e)                                                       \
    {                                                                          \
        k, offsetof(struct wr_config, field),                                  \
            sizeof(((struct wr_config *)0)->field), e                          \
    }

static const struct str_key strs[] = {
    STR("default_user", default_user, false),
    STR("default_pass", default_pass, false),
    STR("default_vhost", default_vhost, false),
    STR("ssl_options.cacertfile", ssl_cacertfile, true),
    STR("ssl_options.certfile", ssl_certfile, true),
    STR("ssl_options.keyfile", ssl_keyfile, true),
    STR("definitions.file", definitions_file, true),
    STR("management.tcp.ip", mgmt_bind, false),
    STR("management.ssl.ip", mgmt_ssl_bind, true),
    STR("management.ssl.cacertfile", mgmt_ssl_cacertfile, true),
    STR("management.ssl.certfile", mgmt_ssl_certfile, true),
    STR("management.ssl.keyfile", mgmt_ssl_keyfile, true),
    STR("management.ui.dir", mgmt_ui_dir, true),
    STR("data_dir", data_dir, false),
};

int
wr_config_set(struct wr_config *cfg, const char *key, const char *v, char *err,
              size_t errlen)
{
    uint64_t n;
    int rc;

    if (strcmp(key, "listeners.tcp.default") == 0) {
        if (parse_listener(v, cfg->bind, sizeof(cfg->bind), &cfg->port) == 0) {
            cfg->tcp_default_set = true;
            return 0;
        }
        snprintf(err, errlen,
                 "%s: expected PORT, ADDRESS:PORT or [IPV6]:PORT, got '%s'",
                 key, v);
        return WR_ERR_INVALID;
    }
    if (strncmp(key, "listeners.tcp.", 14) == 0 && key[14] != '\0' &&
        strchr(key + 14, '.') == NULL) {
        struct wr_listen_spec *l = NULL;
        const char *name = key + 14;
        unsigned i;

        for (i = 0; i < cfg->ntcp_extra; i++)
            if (strcmp(cfg->tcp_extra[i].name, name) == 0)
                l = &cfg->tcp_extra[i];
        if (l == NULL && (cfg->ntcp_extra == WR_TCP_EXTRA_MAX ||
                          strlen(name) >= sizeof(l->name))) {
            snprintf(err, errlen,
                     "%s: at most %d listeners.tcp.NAME, names "
                     "of at most %zu characters",
                     key, WR_TCP_EXTRA_MAX, sizeof(l->name) - 1);
            return WR_ERR_INVALID;
        }
        if (l == NULL) {
            l = &cfg->tcp_extra[cfg->ntcp_extra];
            memset(l, 0, sizeof(*l));
            snprintf(l->name, sizeof(l->name), "%s", name);
            memcpy(l->addr, cfg->bind, sizeof(l->addr));
            l->port = cfg->port;
        }
        if (parse_listener(v, l->addr, sizeof(l->addr), &l->port) == 0) {
            if (l == &cfg->tcp_extra[cfg->ntcp_extra])
                cfg->ntcp_extra++;
            return 0;
        }
        snprintf(err, errlen,
                 "%s: expected PORT, ADDRESS:PORT or [IPV6]:PORT, got '%s'",
                 key, v);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "store_sync") == 0) {
        if (strcmp(v, "safe") == 0 || strcmp(v, "background") == 0) {
            cfg->store_sync_background = strcmp(v, "background") == 0;
            return 0;
        }
        snprintf(err, errlen, "%s: expected safe or background, got '%s'", key,
                 v);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "listeners.ssl.default") == 0) {
        if (strcmp(v, "none") == 0) {
            cfg->ssl_on = false;
            return 0;
        }
        if (parse_listener(v, cfg->ssl_bind, sizeof(cfg->ssl_bind),
                           &cfg->ssl_port) == 0) {
            cfg->ssl_on = true;
            return 0;
        }
        snprintf(err, errlen,
                 "%s: expected PORT, ADDRESS:PORT, [IPV6]:PORT or none, got "
                 "'%s'",
                 key, v);
        return WR_ERR_INVALID;
    }
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (strcmp(key, strs[i].key) != 0)
            continue;
        if (copy_str((char *)cfg + strs[i].off, strs[i].cap, v,
                     strs[i].empty_ok) == 0)
            return 0;
        snprintf(err, errlen, "%s: expected %s1 to %zu characters", key,
                 strs[i].empty_ok ? "0 or " : "", strs[i].cap - 1);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "ssl_options.verify") == 0 ||
        strcmp(key, "management.ssl.verify") == 0) {
        if (strcmp(v, "verify_peer") == 0 || strcmp(v, "verify_none") == 0) {
            *(key[0] == 's' ? &cfg->ssl_verify_peer
                            : &cfg->mgmt_ssl_verify_peer) = v[7] == 'p';
            return 0;
        }
        snprintf(err, errlen, "%s: expected verify_peer or verify_none", key);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "channel_flow_pause") == 0) {
        if (parse_bool(v, &cfg->channel_flow_pause) == 0)
            return 0;
        snprintf(err, errlen, "%s: expected true or false", key);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "ssl_options.fail_if_no_peer_cert") == 0 ||
        strcmp(key, "management.ssl.fail_if_no_peer_cert") == 0) {
        if (parse_bool(v, key[0] == 's'
                              ? &cfg->ssl_fail_if_no_peer_cert
                              : &cfg->mgmt_ssl_fail_if_no_peer_cert) == 0)
            return 0;
        snprintf(err, errlen, "%s: expected true or false", key);
        return WR_ERR_INVALID;
    }
    /* Off unless set, as RabbitMQ's management.ssl.port. */
    if (strcmp(key, "management.ssl.port") == 0) {
        char *end;
        long p = strtol(v, &end, 10);
        if (strcmp(v, "none") == 0) {
            cfg->mgmt_ssl_on = false;
            return 0;
        }
        if (*v != '\0' && *end == '\0' && p >= 0 && p <= 65535) {
            cfg->mgmt_ssl_port = (int)p;
            cfg->mgmt_ssl_on = true;
            return 0;
        }
        snprintf(err, errlen, "%s: expected 0 to 65535 or none, got '%s'", key,
                 v);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "vm_memory_high_watermark.absolute") == 0) {
        if (wr_config_parse_size(v, &n) == 0 && (n == 0 || n >= (1u << 20))) {
            cfg->mem_absolute = n;
            return 0;
        }
        snprintf(err, errlen,
                 "%s: expected a size of at least 1MiB (bytes, or with a "
                 "unit: KiB, MiB, GiB, kB, MB, GB), got '%s'",
                 key, v);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "queue_ram_messages") == 0) {
        char *end;
        unsigned long long u;
        errno = 0;
        u = strtoull(v, &end, 10);
        if (!errno && end != v && *end == '\0' && v[0] != '-') {
            cfg->queue_ram_messages = u;
            return 0;
        }
        snprintf(err, errlen, "%s: expected a count, got '%s'", key, v);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "queue_ram_bytes") == 0) {
        if (wr_config_parse_size(v, &n) == 0) {
            cfg->queue_ram_bytes = n;
            return 0;
        }
        snprintf(err, errlen,
                 "%s: expected a size (bytes, or with a unit: KiB, MiB, GiB, "
                 "kB, MB, GB), got '%s'",
                 key, v);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "vm_memory_high_watermark_paging_ratio") == 0) {
        char *end;
        double d;
        errno = 0;
        d = strtod(v, &end);
        if (!errno && end != v && *end == '\0' && d > 0 && d <= 1.0) {
            cfg->paging_ratio = d;
            return 0;
        }
        snprintf(err, errlen, "%s: expected a fraction above 0 and up to 1",
                 key);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "vm_memory_high_watermark.relative") == 0) {
        char *end;
        double d;
        errno = 0;
        d = strtod(v, &end);
        if (!errno && end != v && *end == '\0' && d > 0 && d <= 1.0) {
            cfg->mem_relative = d;
            return 0;
        }
        snprintf(err, errlen, "%s: expected a fraction above 0 and up to 1",
                 key);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "log.level") == 0) {
        int l = wr_log_parse_level(v);
        if (l >= 0) {
            cfg->log_level = l;
            return 0;
        }
        snprintf(err, errlen, "%s: expected error, warn, notice, info or debug",
                 key);
        return WR_ERR_INVALID;
    }
    rc = set_list(cfg, key, v, err, errlen);
    if (rc <= 0)
        return rc;
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (strcmp(key, nums[i].key) != 0)
            continue;
        if (parse_u64(v, nums[i].max, &n) || n < nums[i].min) {
            snprintf(err, errlen,
                     "%s: expected an integer from %" PRIu64 " to %" PRIu64
                     ", got '%s'",
                     key, nums[i].min, nums[i].max, v);
            return WR_ERR_INVALID;
        }
        store_num(cfg, &nums[i], n);
        return 0;
    }
    rc = wr_config_set_service(cfg, key, v, err, errlen);
    if (rc <= 0)
        return rc;
    if (wr_rabbit_key_known(key)) {
        snprintf(err, errlen, "%s: ignored: no effect in warren", key);
        return 1;
    }
    snprintf(err, errlen, "unknown key '%s'", key);
    return WR_ERR_INVALID;
}

static char *
trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int
wr_config_load(struct wr_config *cfg, const char *path, char *err,
               size_t errlen)
{
    char line[2048], msg[512];
    FILE *f = fopen(path, "r");
    int lineno = 0;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return WR_ERR_IO;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s, *eq;
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line longer than %zu bytes", path,
                     lineno, sizeof(line) - 2);
            fclose(f);
            return WR_ERR_INVALID;
        }
        s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", path,
                     lineno);
            fclose(f);
            return WR_ERR_INVALID;
        }
        *eq = '\0';
        if (*trim(s) == '\0') {
            snprintf(err, errlen, "%s:%d: missing key before '='", path,
                     lineno);
            fclose(f);
            return WR_ERR_INVALID;
        }
        switch (wr_config_set(cfg, trim(s), trim(eq + 1), msg, sizeof(msg))) {
        case 0:
            break;
        case 1:
            wr_log(WR_LOG_WARN, "%s:%d: %s", path, lineno, msg);
            break;
        default:
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            fclose(f);
            return WR_ERR_INVALID;
        }
    }
    fclose(f);
    return 0;
}

/* One TLS listener's files and versions (the AMQP listener's options are
 * ssl_options.*, the management one's management.ssl.*: prefix), as
 * RabbitMQ refuses them at boot. */
static int
check_tls(const char *listener, const char *prefix, const char *certfile,
          const char *keyfile, bool verify_peer, const char *cacertfile,
          unsigned versions, char *err, size_t errlen)
{
    if (!certfile[0] || !keyfile[0]) {
        snprintf(err, errlen, "%s needs %scertfile and %skeyfile", listener,
                 prefix, prefix);
        return WR_ERR_INVALID;
    }
    if (verify_peer && !cacertfile[0]) {
        snprintf(err, errlen, "%sverify = verify_peer needs %scacertfile",
                 prefix, prefix);
        return WR_ERR_INVALID;
    }
    if (versions == 0) {
        snprintf(err, errlen, "ssl_options.versions: none given");
        return WR_ERR_INVALID;
    }
    return 0;
}

/* fail_if_no_peer_cert asks for a certificate only verify_peer requests. */
static int
check_peer_cert(const char *prefix, bool fail_if_no_peer_cert, bool verify_peer,
                char *err, size_t errlen)
{
    if (fail_if_no_peer_cert && !verify_peer) {
        snprintf(err, errlen,
                 "%sfail_if_no_peer_cert = true needs %sverify = verify_peer",
                 prefix, prefix);
        return WR_ERR_INVALID;
    }
    return 0;
}

int
wr_config_validate(const struct wr_config *cfg, char *err, size_t errlen)
{
    int rc;

    if (cfg->ssl_on &&
        (rc = check_tls("listeners.ssl.default", "ssl_options.",
                        cfg->ssl_certfile, cfg->ssl_keyfile,
                        cfg->ssl_verify_peer, cfg->ssl_cacertfile,
                        cfg->ssl_versions, err, errlen)) != 0)
        return rc;
    if (cfg->mgmt_ssl_on &&
        (rc = check_tls("management.ssl.port", "management.ssl.",
                        cfg->mgmt_ssl_certfile, cfg->mgmt_ssl_keyfile,
                        cfg->mgmt_ssl_verify_peer, cfg->mgmt_ssl_cacertfile,
                        cfg->ssl_versions, err, errlen)) != 0)
        return rc;
    if ((rc = check_peer_cert("management.ssl.",
                              cfg->mgmt_ssl_fail_if_no_peer_cert,
                              cfg->mgmt_ssl_verify_peer, err, errlen)) != 0)
        return rc;
    return check_peer_cert("ssl_options.", cfg->ssl_fail_if_no_peer_cert,
                           cfg->ssl_verify_peer, err, errlen);
}

uint64_t
wr_config_watermark(const struct wr_config *cfg)
{
    long pages, psize;

    if (cfg->mem_absolute)
        return cfg->mem_absolute;
    pages = sysconf(_SC_PHYS_PAGES);
    psize = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || psize <= 0)
        return 0;
    return (uint64_t)((double)pages * (double)psize * cfg->mem_relative);
}
