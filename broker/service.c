/* SPDX-License-Identifier: MIT */
/* sd_notify without libsystemd (the protocol of sd_notify(3): a datagram
 * of newline-separated VAR=VALUE to $NOTIFY_SOCKET) and the pid file. */
#include "broker_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
wr_service_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len;
    socklen_t salen;
    ssize_t n;
    int fd;

    if (path == NULL || path[0] == '\0')
        return 0;
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
        return WR_ERR_IO;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@') /* an abstract socket: a leading NUL */
        sa.sun_path[0] = '\0';
    salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return WR_ERR_IO;
    n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
               salen);
    close(fd);
    return n == (ssize_t)strlen(state) ? 1 : -1;
}

int
wr_service_write_pid(const char *path, char *err, size_t errlen)
{
    char tmp[600];
    FILE *f;
    int bad;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        snprintf(err, errlen, "--pid-file: path too long");
        return WR_ERR_IO;
    }
    f = fopen(tmp, "w");
    if (f == NULL) {
        snprintf(err, errlen, "--pid-file %s: %s", path, strerror(errno));
        return WR_ERR_IO;
    }
    bad = fprintf(f, "%ld\n", (long)getpid()) < 0;
    bad |= fclose(f) != 0;
    if (bad) {
        snprintf(err, errlen, "--pid-file %s: cannot write", path);
        unlink(tmp);
        return WR_ERR_IO;
    }
    if (rename(tmp, path)) {
        snprintf(err, errlen, "--pid-file %s: %s", path, strerror(errno));
        unlink(tmp);
        return WR_ERR_IO;
    }
    return 0;
}

void
wr_service_remove_pid(const char *path)
{
    char buf[32] = "";
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return;
    if (fgets(buf, sizeof(buf), f) && atol(buf) == (long)getpid())
        unlink(path);
    fclose(f);
}
