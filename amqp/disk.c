/* SPDX-License-Identifier: MIT */
/* RabbitMQ's disk alarm (disk_free_limit.absolute, 50MB by default, or
 * disk_free_limit.relative to the RAM): when a filesystem holding the
 * broker's files has less free space than that, every publishing
 * connection gets connection.blocked "low on disk" and is no longer read
 * from (flow.c), until the space is back. The broker's files are data_dir
 * (the stores) and the definitions file's directory, when that is on
 * another filesystem. Checked at start and every CHECK_S seconds, and at
 * once when a store finds the disk full (ENOSPC, s->disk_full_cb): then the
 * alarm holds until the free space is the limit plus what the store could
 * not get, so a publisher is not let in only to fill the disk again. */
#include "amqp_internal.h"

#include "../store/store.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define CHECK_S 1

/* The directory of the definitions file, or "" when there is none. */
static void
defs_dir(const struct wr_server *s, char *out, size_t cap)
{
    char path[WR_PATH_MAX];

    out[0] = '\0';
    if (s->cfg.definitions_file[0] == '\0')
        return;
    snprintf(path, sizeof(path), "%s", s->cfg.definitions_file);
    snprintf(out, cap, "%s", dirname(path));
}

/* Free bytes on dir's filesystem into *free and its device into *dev;
 * false (logged once per failing spell) when it cannot be told. */
static bool
free_of(struct wr_server *s, const char *dir, uint64_t *free, dev_t *dev)
{
    struct statvfs vf;
    struct stat sb;

    if (statvfs(dir, &vf) != 0 || stat(dir, &sb) != 0) {
        if (!s->disk_warned)
            wr_log(WR_LOG_WARN, "disk alarm: cannot check %s: %s", dir,
                   strerror(errno));
        s->disk_warned = true;
        return false;
    }
    *free = (uint64_t)vf.f_bavail * (uint64_t)vf.f_frsize;
    *dev = sb.st_dev;
    return true;
}

static uint64_t
space_wanted(const struct wr_server *s)
{
    uint64_t a = s->msgs ? wr_store_space_wanted(s->msgs) : 0;
    uint64_t b = s->defs ? wr_store_space_wanted(s->defs) : 0;

    return a > b ? a : b;
}

static void
check(struct wr_server *s)
{
    char ddir[WR_PATH_MAX];
    const char *low_dir = NULL;
    uint64_t free_data = UINT64_MAX, free_defs = UINT64_MAX, limit, want;
    dev_t dev_data = 0, dev_defs = 0;
    bool have_data, have_defs = false, low = false, ok = true;

    limit = s->cfg.disk_free_limit;
    want = space_wanted(s);
    have_data = free_of(s, s->cfg.data_dir, &free_data, &dev_data);
    ok = have_data;
    defs_dir(s, ddir, sizeof(ddir));
    if (ddir[0] != '\0') {
        have_defs = free_of(s, ddir, &free_defs, &dev_defs);
        ok = ok && have_defs;
        if (have_defs && have_data && dev_defs == dev_data)
            have_defs = false; /* one filesystem: counted once */
    }
    if (ok)
        s->disk_warned = false;
    if (!have_data && !have_defs)
        return;
    /* The stores write to data_dir: what they could not get comes on top. */
    if (have_data && (free_data < limit || (want && free_data < limit + want)))
        low = true, low_dir = s->cfg.data_dir;
    if (have_defs && free_defs < limit)
        low = true, low_dir = low_dir ? low_dir : ddir;
    s->disk_free = free_data < free_defs ? free_data : free_defs;
    if (low == s->disk_alarm)
        return;
    s->disk_alarm = low;
    if (low)
        wr_log(WR_LOG_WARN,
               "disk alarm set: %llu bytes free on the filesystem of %s, "
               "limit %llu%s: blocking publishers",
               (unsigned long long)(low_dir == ddir ? free_defs : free_data),
               low_dir, (unsigned long long)limit,
               want ? " (and a store found the disk full)" : "");
    else
        wr_log(WR_LOG_WARN,
               "disk alarm cleared: %llu bytes free, limit %llu: unblocking "
               "publishers",
               (unsigned long long)s->disk_free, (unsigned long long)limit);
    wr_flow_alarm_changed(s);
    /* a chunk the disk refused is written again at the end of this turn */
    if (!low && want)
        wr_persist_dirty(s);
}

static void
check_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    check(arg);
}

/* A store met ENOSPC: block publishers now rather than at the next tick. */
static void
disk_full(struct wr_server *s)
{
    if (!s->disk_alarm)
        check(s);
}

void
wr_disk_init(struct wr_server *s)
{
    struct timeval tv = {CHECK_S, 0};

    s->disk_full_cb = disk_full;
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
    s->disk_full_cb = NULL;
}
