/* SPDX-License-Identifier: MIT */
/* RabbitMQ's disk alarm (disk_free_limit.absolute, 50MB by default): when
 * the filesystem holding the broker's files has less free space than
 * that, every publishing connection gets connection.blocked "low on disk"
 * and is no longer read from (flow.c), until the space is back. The
 * broker's files are the definitions file's directory, else the working
 * directory; checked at start and every CHECK_S seconds, as RabbitMQ's
 * disk monitor polls. */
#include "amqp_internal.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#define CHECK_S 5

/* The directory whose filesystem is watched. */
static void
watched_dir(const struct wr_server *s, char *out, size_t cap)
{
    char path[WR_PATH_MAX];

    if (s->cfg.definitions_file[0] == '\0') {
        snprintf(out, cap, ".");
        return;
    }
    snprintf(path, sizeof(path), "%s", s->cfg.definitions_file);
    snprintf(out, cap, "%s", dirname(path));
}

static void
check(struct wr_server *s)
{
    char dir[WR_PATH_MAX];
    struct statvfs st;
    bool low;

    watched_dir(s, dir, sizeof(dir));
    if (statvfs(dir, &st) != 0) {
        wr_log(WR_LOG_WARN, "disk alarm: cannot check %s: %s", dir,
               strerror(errno));
        return;
    }
    s->disk_free = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
    low = s->disk_free < s->cfg.disk_free_limit;
    if (low == s->disk_alarm)
        return;
    s->disk_alarm = low;
    wr_log(WR_LOG_WARN,
           "disk alarm %s: %llu bytes free on the filesystem of %s, limit "
           "%llu: %s publishers",
           low ? "set" : "cleared", (unsigned long long)s->disk_free, dir,
           (unsigned long long)s->cfg.disk_free_limit,
           low ? "blocking" : "unblocking");
    wr_flow_alarm_changed(s);
}

static void
check_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    check(arg);
}

void
wr_disk_init(struct wr_server *s)
{
    struct timeval tv = {CHECK_S, 0};

    if (s->cfg.disk_free_limit == 0)
        return;
    check(s);
    s->disk_ev = event_new(s->base, -1, EV_PERSIST, check_cb, s);
    event_add(s->disk_ev, &tv);
}

void
wr_disk_cleanup(struct wr_server *s)
{
    if (s->disk_ev)
        event_free(s->disk_ev);
    s->disk_ev = NULL;
}
