/* SPDX-License-Identifier: MIT */
/* Leveled logging to stderr. wr_log tests the level before formatting. */
#ifndef WR_LOG_H
#define WR_LOG_H

#include <stddef.h>

enum wr_log_level {
    WR_LOG_ERROR,
    WR_LOG_WARN,
    WR_LOG_NOTICE,
    WR_LOG_INFO,
    WR_LOG_DEBUG,
};

extern int wr_log_level;

#define wr_log(level, ...)                                                     \
    do {                                                                       \
        if ((level) <= wr_log_level)                                           \
            wr_log_write((level), __VA_ARGS__);                                \
    } while (0)

void wr_log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Parses "error", "warn", "notice", "info", "debug"; -1 if unknown. */
int wr_log_parse_level(const char *s);
/* Writes a printable, bounded sample of bytes (non-printables as '.') into
 * out (cap bytes, NUL-terminated). */
void wr_log_sample(char *out, size_t cap, const void *p, size_t n);

#endif
