/* SPDX-License-Identifier: MIT */
/* The configuration file: one `key = value` per line, '#' comments, keys
 * named as RabbitMQ names them where one exists. */
#include "config.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
wr_config_defaults(struct wr_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->bind, sizeof(cfg->bind), "127.0.0.1");
    cfg->port = 5672;
    snprintf(cfg->default_user, sizeof(cfg->default_user), "guest");
    snprintf(cfg->default_pass, sizeof(cfg->default_pass), "guest");
    snprintf(cfg->default_vhost, sizeof(cfg->default_vhost), "/");
    cfg->heartbeat = 60;
    cfg->frame_max = 131072;
    cfg->channel_max = 2047;
    cfg->max_message_size = 134217728;
    cfg->connection_max = 0;
    cfg->handshake_timeout = 10000;
    cfg->output_limit = 4u << 20;
    cfg->log_level = WR_LOG_NOTICE;
    snprintf(cfg->mgmt_bind, sizeof(cfg->mgmt_bind), "127.0.0.1");
    cfg->mgmt_port = 15672;
    cfg->stats_interval = 5000;
    cfg->mgmt_max_body = 20u << 20;
}

static int
parse_u64(const char *v, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long n;

    if (!isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || *end || n > max)
        return -1;
    *out = n;
    return 0;
}

static int
copy_str(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || n >= cap)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

/* listeners.tcp.default = PORT | ADDR:PORT */
static int
parse_listener(struct wr_config *cfg, const char *v)
{
    const char *colon = strrchr(v, ':');
    uint64_t port;

    if (colon == NULL)
        return parse_u64(v, 65535, &port) ? -1 : (cfg->port = (int)port, 0);
    if ((size_t)(colon - v) == 0 || (size_t)(colon - v) >= sizeof(cfg->bind))
        return -1;
    if (parse_u64(colon + 1, 65535, &port))
        return -1;
    memcpy(cfg->bind, v, (size_t)(colon - v));
    cfg->bind[colon - v] = '\0';
    cfg->port = (int)port;
    return 0;
}

int
wr_config_set(struct wr_config *cfg, const char *key, const char *v, char *err,
              size_t errlen)
{
    uint64_t n;

    if (strcmp(key, "listeners.tcp.default") == 0) {
        if (parse_listener(cfg, v) == 0)
            return 0;
        snprintf(err, errlen, "%s: expected PORT or ADDRESS:PORT", key);
        return -1;
    }
    if (strcmp(key, "default_user") == 0 || strcmp(key, "default_pass") == 0 ||
        strcmp(key, "default_vhost") == 0) {
        char *dst = key[8] == 'u'   ? cfg->default_user
                    : key[8] == 'p' ? cfg->default_pass
                                    : cfg->default_vhost;
        if (copy_str(dst, 128, v) == 0)
            return 0;
        snprintf(err, errlen, "%s: expected 1 to 127 characters", key);
        return -1;
    }
    if (strcmp(key, "management.tcp.ip") == 0) {
        if (copy_str(cfg->mgmt_bind, sizeof(cfg->mgmt_bind), v) == 0)
            return 0;
        snprintf(err, errlen, "%s: expected an IPv4 or IPv6 address", key);
        return -1;
    }
    if (strcmp(key, "log.level") == 0) {
        int l = wr_log_parse_level(v);
        if (l >= 0) {
            cfg->log_level = l;
            return 0;
        }
        snprintf(err, errlen, "%s: expected error, warn, notice, info or debug",
                 key);
        return -1;
    }
    static const struct {
        const char *key;
        uint64_t min, max;
    } nums[] = {
        {"heartbeat", 0, 65535},
        {"frame_max", 4096, 1048576},
        {"channel_max", 1, 65535},
        {"max_message_size", 1, 536870912},
        {"connection_max", 0, 10000000},
        {"handshake_timeout", 100, 3600000},
        {"output_limit", 65536, 1u << 30},
        {"management.tcp.port", 0, 65535},
        {"collect_statistics_interval", 100, 3600000},
        {"management.http.max_body_size", 4096, 1u << 30},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (strcmp(key, nums[i].key) != 0)
            continue;
        if (parse_u64(v, nums[i].max, &n) || n < nums[i].min) {
            snprintf(err, errlen,
                     "%s: expected an integer from %" PRIu64 " to %" PRIu64,
                     key, nums[i].min, nums[i].max);
            return -1;
        }
        switch (i) {
        case 0:
            cfg->heartbeat = (uint16_t)n;
            break;
        case 1:
            cfg->frame_max = (uint32_t)n;
            break;
        case 2:
            cfg->channel_max = (uint16_t)n;
            break;
        case 3:
            cfg->max_message_size = n;
            break;
        case 4:
            cfg->connection_max = (uint32_t)n;
            break;
        case 5:
            cfg->handshake_timeout = (uint32_t)n;
            break;
        case 6:
            cfg->output_limit = (size_t)n;
            break;
        case 7:
            cfg->mgmt_port = (int)n;
            break;
        case 8:
            cfg->stats_interval = (uint32_t)n;
            break;
        case 9:
            cfg->mgmt_max_body = (size_t)n;
            break;
        }
        return 0;
    }
    snprintf(err, errlen, "unknown key '%s'", key);
    return -1;
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
    char line[1024], msg[512];
    FILE *f = fopen(path, "r");
    int lineno = 0;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s, *eq;
        lineno++;
        s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", path,
                     lineno);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        if (wr_config_set(cfg, trim(s), trim(eq + 1), msg, sizeof(msg))) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}
