/* SPDX-License-Identifier: MIT */
/* Log lines: "2026-11-25T10:00:00.123Z INFO  message". */
#include "runtime_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

int wr_log_level = WR_LOG_NOTICE;

static const char *const names[] = {"error", "warn", "notice", "info", "debug"};

void
wr_log_write(int level, const char *fmt, ...)
{
    char ts[32], line[1024], out[1100];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    snprintf(out, sizeof(out), "%s.%03dZ %-6s %s", ts, (int)(tv.tv_usec / 1000),
             names[level], line);
    wr_log_emit(level, out, line);
}

int
wr_log_parse_level(const char *s)
{
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

void
wr_log_sample(char *out, size_t cap, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    if (cap == 0)
        return;
    for (i = 0; i < n && i < cap - 1; i++)
        out[i] = (b[i] >= 0x20 && b[i] < 0x7f) ? (char)b[i] : '.';
    out[i] = '\0';
}
