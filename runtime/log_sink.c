/* SPDX-License-Identifier: MIT */
/* Where log lines go: stderr (journald-friendly under systemd) and a file
 * that logrotate may move away (reopened on SIGUSR1 / SIGHUP). */
#include "runtime_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    bool setup;        /* wr_log_setup was called */
    bool console;      /* write to stderr */
    bool journal;      /* stderr is systemd's journal */
    bool checked;      /* journal was set */
    int console_level; /* most verbose level for stderr */
    int file_level;    /* ... for the file */
    FILE *file;        /* NULL = none */
    char path[512];    /* the file's path, for reopening */
} out = {.console = true, .console_level = WR_LOG_DEBUG};

static const char *const names[] = {"error", "warn", "notice", "info", "debug"};

/* systemd sets JOURNAL_STREAM=DEV:INODE when stderr is the journal's
 * stream (systemd.exec(5)); a line starting "<N>" then has priority N. */
static bool
stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
        fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

static FILE *
open_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    FILE *f;

    if (fd < 0 || (f = fdopen(fd, "a")) == NULL) {
        snprintf(err, errlen, "log.file %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    return f;
}

static void
max_level(void)
{
    wr_log_level = WR_LOG_NONE;
    if (out.console && out.console_level > wr_log_level)
        wr_log_level = out.console_level;
    if (out.file && out.file_level > wr_log_level)
        wr_log_level = out.file_level;
}

int
wr_log_setup(const char *file, int file_level, bool console, int console_level,
             int level, char *err, size_t errlen)
{
    FILE *f = NULL;

    if (file && file[0] && file_level != WR_LOG_NONE &&
        (f = open_file(file, err, errlen)) == NULL)
        return WR_ERR_IO;
    wr_log_close();
    out.setup = true;
    out.file = f;
    snprintf(out.path, sizeof(out.path), "%s", f ? file : "");
    out.file_level = file_level == -1 ? level : file_level;
    out.console = console && console_level != WR_LOG_NONE;
    out.console_level = console_level == -1 ? level : console_level;
    out.journal = stderr_is_journal();
    out.checked = true;
    max_level();
    return 0;
}

void
wr_log_set_level(int level)
{
    out.console_level = level;
    out.file_level = level;
    max_level();
}

const char *
wr_log_level_name(int level)
{
    return level >= WR_LOG_ERROR && level <= WR_LOG_DEBUG ? names[level]
                                                          : "none";
}

int
wr_log_parse_any_level(const char *v)
{
    static const struct {
        const char *name;
        int level;
    } more[] = {
        {"warning", WR_LOG_WARN}, {"critical", WR_LOG_ERROR},
        {"alert", WR_LOG_ERROR},  {"emergency", WR_LOG_ERROR},
        {"none", WR_LOG_NONE},
    };
    int l = wr_log_parse_level(v);

    for (size_t i = 0; l < 0 && i < sizeof(more) / sizeof(more[0]); i++)
        if (strcasecmp(v, more[i].name) == 0)
            l = more[i].level;
    return l;
}

int
wr_log_reopen(char *err, size_t errlen)
{
    FILE *f;

    if (out.file == NULL)
        return 0;
    if ((f = open_file(out.path, err, errlen)) == NULL)
        return WR_ERR_IO;
    fclose(out.file);
    out.file = f;
    return 0;
}

void
wr_log_close(void)
{
    if (out.file)
        fclose(out.file);
    out.file = NULL;
}

void
wr_log_emit(int level, const char *stamped, const char *msg)
{
    /* syslog priorities: err, warning, notice, info, debug */
    static const int prio[] = {3, 4, 5, 6, 7};

    if (!out.checked) { /* a line before wr_log_setup */
        out.journal = stderr_is_journal();
        out.checked = true;
    }
    if (out.console && level <= out.console_level) {
        if (out.journal)
            fprintf(stderr, "<%d>%s %s\n", prio[level], names[level], msg);
        else
            fprintf(stderr, "%s\n", stamped);
    }
    if (out.file && level <= out.file_level)
        fprintf(out.file, "%s\n", stamped);
}
