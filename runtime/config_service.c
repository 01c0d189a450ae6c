/* SPDX-License-Identifier: MIT */
/* The configuration keys for running as a service, named and valued as in
 * rabbitmq.conf: log file and console, disk free limit, definitions to
 * import at boot, consumer timeout, the Prometheus listener. */
#include "runtime_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int
parse_level(const char *v)
{
    int l = wr_log_parse_any_level(v);

    return l == -1 ? -100 : l;
}

static int
parse_uint(const char *v, unsigned long long max, unsigned long long *out)
{
    char *end;

    if (!isdigit((unsigned char)*v))
        return WR_ERR_INVALID;
    errno = 0;
    *out = strtoull(v, &end, 10);
    return errno || *end || *out > max ? WR_ERR_INVALID : WR_OK;
}

static int
set_path(char *dst, size_t cap, const char *key, const char *v, char *err,
         size_t errlen)
{
    if (strlen(v) >= cap) {
        snprintf(err, errlen, "%s: expected a path of at most %zu bytes", key,
                 cap - 1);
        return WR_ERR_INVALID;
    }
    snprintf(dst, cap, "%s", v);
    return 0;
}

int
wr_config_set_service(struct wr_config *cfg, const char *key, const char *v,
                      char *err, size_t errlen)
{
    unsigned long long n;
    uint64_t size;

    if (strcmp(key, "log.file") == 0) {
        /* RabbitMQ: a file name (relative ones go to its log.dir) or
         * false for no file. warren takes the path as given. */
        if (strcmp(v, "false") == 0) {
            cfg->log_file[0] = '\0';
            return 0;
        }
        if (*v == '\0') {
            snprintf(err, errlen, "%s: expected a path or false", key);
            return WR_ERR_INVALID;
        }
        return set_path(cfg->log_file, sizeof(cfg->log_file), key, v, err,
                        errlen);
    }
    if (strcmp(key, "log.file.level") == 0 ||
        strcmp(key, "log.console.level") == 0 ||
        strcmp(key, "log.default.level") == 0) {
        int l = parse_level(v);
        if (l == -100) {
            snprintf(err, errlen,
                     "%s: expected debug, info, notice, warning, error, "
                     "critical or none",
                     key);
            return WR_ERR_INVALID;
        }
        if (key[4] == 'f')
            cfg->log_file_level = l;
        else if (key[4] == 'c')
            cfg->log_console_level = l;
        else if (l == WR_LOG_NONE)
            cfg->log_file_level = cfg->log_console_level = l;
        else
            cfg->log_level = l;
        return 0;
    }
    if (strcmp(key, "log.console") == 0) {
        if (strcmp(v, "true") && strcmp(v, "false")) {
            snprintf(err, errlen, "%s: expected true or false", key);
            return WR_ERR_INVALID;
        }
        cfg->log_console = v[0] == 't';
        return 0;
    }
    if (strcmp(key, "disk_free_limit.absolute") == 0) {
        if (wr_config_parse_size(v, &size) == 0) {
            cfg->disk_free_limit = size;
            return 0;
        }
        snprintf(err, errlen,
                 "%s: expected a size (bytes, or with a unit: KiB, MiB, GiB, "
                 "kB, MB, GB), got '%s'",
                 key, v);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "disk_free_limit.relative") == 0) {
        /* RabbitMQ's: a multiple of the total RAM (1.0 .. 2.0 advised);
         * the later of .absolute and .relative wins, as there */
        char *end;
        double d;
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

        errno = 0;
        d = strtod(v, &end);
        if (!errno && end != v && *end == '\0' && d >= 0 && d <= 1000 &&
            pages > 0 && psize > 0) {
            cfg->disk_free_limit =
                (uint64_t)((double)pages * (double)psize * d);
            return 0;
        }
        snprintf(err, errlen,
                 "%s: expected a multiple of the RAM from 0 (e.g. 1.5), got "
                 "'%s'",
                 key, v);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "load_definitions") == 0)
        return set_path(cfg->load_definitions, sizeof(cfg->load_definitions),
                        key, v, err, errlen);
    if (strcmp(key, "consumer_timeout") == 0) {
        if (parse_uint(v, UINT32_MAX, &n) == 0) {
            cfg->consumer_timeout = (uint32_t)n;
            return 0;
        }
        snprintf(err, errlen,
                 "%s: expected milliseconds from 0 (off) to 4294967295, got "
                 "'%s'",
                 key, v);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "prometheus.tcp.port") == 0) {
        if (strcmp(v, "none") == 0) {
            cfg->prometheus_port = -1;
            return 0;
        }
        if (parse_uint(v, 65535, &n) == 0) {
            cfg->prometheus_port = (int)n;
            return 0;
        }
        snprintf(err, errlen, "%s: expected 0 to 65535 or none, got '%s'", key,
                 v);
        return WR_ERR_INVALID;
    }
    if (strcmp(key, "prometheus.tcp.ip") == 0) {
        if (*v == '\0' || strlen(v) >= sizeof(cfg->prometheus_bind)) {
            snprintf(err, errlen, "%s: expected an address", key);
            return WR_ERR_INVALID;
        }
        snprintf(cfg->prometheus_bind, sizeof(cfg->prometheus_bind), "%s", v);
        return 0;
    }
    return 1;
}
