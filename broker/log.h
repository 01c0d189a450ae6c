/* SPDX-License-Identifier: MIT */
/* Leveled logging to stderr. wr_log tests the level before formatting. */
#ifndef WR_LOG_H
#define WR_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum wr_log_level {
    WR_LOG_ERROR,
    WR_LOG_WARN,
    WR_LOG_NOTICE,
    WR_LOG_INFO,
    WR_LOG_DEBUG,
};

/* A log.file.level or log.console.level that turns its output off. */
#define WR_LOG_NONE (-2)

extern int wr_log_level;

#define wr_log(level, ...)                                                     \
    do {                                                                       \
        if ((level) <= wr_log_level)                                           \
            wr_log_write((level), __VA_ARGS__);                                \
    } while (0)

void wr_log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* log_sink.c: where lines go. Until wr_log_setup, every line goes to
 * stderr. Then to stderr when console (lines "<N>level message", syslog
 * priorities, when stderr is the journal: systemd's JOURNAL_STREAM) at
 * console_level, and appended to file (unless "") at file_level; -1 for
 * either level means level. Sets wr_log_level to the most verbose.
 * Returns 0, or -1 with a message when file cannot be opened. */
int wr_log_setup(const char *file, int file_level, bool console,
                 int console_level, int level, char *err, size_t errlen);
/* Reopens the log file (after logrotate moved it: SIGUSR1, SIGHUP).
 * Returns 0, or -1 (the old file is kept) with a message in err. */
int wr_log_reopen(char *err, size_t errlen);
/* rabbitmqctl set_log_level: every output at level from now on. */
void wr_log_set_level(int level);
/* The name of a level ("debug" .. "error", "none"). */
const char *wr_log_level_name(int level);
/* Parses RabbitMQ's level names (debug, info, notice, warning, error,
 * critical, alert, emergency, none) and warren's (warn). Returns the level,
 * WR_LOG_NONE for none, or -1 if unknown. */
int wr_log_parse_any_level(const char *s);
/* Closes the log file. */
void wr_log_close(void);
/* Writes one formatted line ("TIMESTAMP LEVEL message" in stamped, the
 * message alone in msg) to the outputs that take level. */
void wr_log_emit(int level, const char *stamped, const char *msg);

/* Parses "error", "warn", "notice", "info", "debug"; -1 if unknown. */
int wr_log_parse_level(const char *s);
/* Writes a printable, bounded sample of bytes (non-printables as '.') into
 * out (cap bytes, NUL-terminated). */
void wr_log_sample(char *out, size_t cap, const void *p, size_t n);

#endif
