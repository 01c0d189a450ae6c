/* SPDX-License-Identifier: MIT */
/* Test helpers shared by tests/unit/check_client*.c: start a child process
 * (warren-server, or the scripted fake_broker.py) and learn its port, wait
 * for it with a deadline, find the files the tests need. */
#ifndef WARREN_TEST_CLIENT_HELPERS_H
#define WARREN_TEST_CLIENT_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct wt_child {
    pid_t pid;
    int port;
    char log[64]; /* the file the watched stream goes to */
};

static inline long
wt_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Starts argv[0] with stream `which` (1 stdout, 2 stderr) going to a temp
 * file and waits up to timeout_ms for a line holding prefix and a port
 * number right after it. Returns 0 with k->port set, or -1 (child
 * killed). */
static inline int
wt_spawn(struct wt_child *k, char *const argv[], int which, const char *prefix,
         int timeout_ms)
{
    long end = wt_now_ms() + timeout_ms;
    int fd;

    snprintf(k->log, sizeof(k->log), "/tmp/warren-test-XXXXXX");
    fd = mkstemp(k->log);
    if (fd < 0)
        return -1;
    k->port = 0;
    k->pid = fork();
    if (k->pid < 0) {
        close(fd);
        return -1;
    }
    if (k->pid == 0) {
        int null = open("/dev/null", O_RDWR);

        dup2(null, 0);
        dup2(fd, which);
        if (which == 2)
            dup2(null, 1);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    while (wt_now_ms() < end) {
        char buf[8192];
        FILE *f = fopen(k->log, "r");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        char *at;

        if (f)
            fclose(f);
        buf[n] = '\0';
        if ((at = strstr(buf, prefix)) != NULL &&
            strchr(at + strlen(prefix), '\n') != NULL) {
            k->port = atoi(at + strlen(prefix));
            if (k->port > 0)
                return 0;
        }
        if (waitpid(k->pid, NULL, WNOHANG) == k->pid) {
            fprintf(stderr, "%s exited before printing its port: %s\n", argv[0],
                    buf);
            k->pid = -1;
            return -1;
        }
        usleep(10000);
    }
    kill(k->pid, SIGKILL);
    waitpid(k->pid, NULL, 0);
    k->pid = -1;
    return -1;
}

/* Waits up to timeout_ms for the child; returns its exit status, 128 +
 * signal, or -1 when it had to be killed. Removes its log. */
static inline int
wt_wait(struct wt_child *k, int timeout_ms)
{
    long end = wt_now_ms() + timeout_ms;
    int st = 0;

    if (k->pid <= 0)
        return -1;
    while (waitpid(k->pid, &st, WNOHANG) == 0) {
        if (wt_now_ms() > end) {
            kill(k->pid, SIGKILL);
            waitpid(k->pid, NULL, 0);
            k->pid = -1;
            unlink(k->log);
            return -1;
        }
        usleep(10000);
    }
    k->pid = -1;
    unlink(k->log);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* SIGTERM (then SIGKILL after 5 s) and wait. Returns the exit status. */
static inline int
wt_stop(struct wt_child *k)
{
    if (k->pid <= 0)
        return -1;
    kill(k->pid, SIGTERM);
    return wt_wait(k, 5000);
}

static inline bool
wt_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* The Python the fake broker runs on ($WARREN_PYTHON or /usr/bin/python3)
 * and the script itself (relative to the repository root, where make runs
 * the tests; $WARREN_SRCDIR overrides). */
static inline const char *
wt_python(void)
{
    const char *p = getenv("WARREN_PYTHON");

    return p && *p ? p : "/usr/bin/python3";
}

static inline const char *
wt_srcpath(const char *rel, char *buf, size_t len)
{
    const char *dir = getenv("WARREN_SRCDIR");

    snprintf(buf, len, "%s%s%s", dir && *dir ? dir : "", dir && *dir ? "/" : "",
             rel);
    return buf;
}

#endif
