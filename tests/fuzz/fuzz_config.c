/* SPDX-License-Identifier: MIT */
/* libFuzzer target: configuration text through wr_config_load (from a
 * memfd, as a file), and one key/value pair through wr_config_set. A
 * successful load leaves every value in its documented range, and a file
 * of nothing but comments and blank lines changes nothing. */
#include "../../runtime/runtime.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

static void
check_str(const char *s, size_t cap)
{
    CHECK(memchr(s, '\0', cap) != NULL);
}

static void
check_cfg(const struct wr_config *c)
{
    check_str(c->bind, sizeof(c->bind));
    check_str(c->ssl_bind, sizeof(c->ssl_bind));
    check_str(c->ssl_cacertfile, sizeof(c->ssl_cacertfile));
    check_str(c->ssl_certfile, sizeof(c->ssl_certfile));
    check_str(c->ssl_keyfile, sizeof(c->ssl_keyfile));
    check_str(c->ssl_ciphers, sizeof(c->ssl_ciphers));
    check_str(c->ssl_suites, sizeof(c->ssl_suites));
    check_str(c->auth_mechanisms, sizeof(c->auth_mechanisms));
    check_str(c->default_user, sizeof(c->default_user));
    check_str(c->default_pass, sizeof(c->default_pass));
    check_str(c->default_vhost, sizeof(c->default_vhost));
    check_str(c->loopback_users, sizeof(c->loopback_users));
    check_str(c->definitions_file, sizeof(c->definitions_file));
    check_str(c->mgmt_bind, sizeof(c->mgmt_bind));
    CHECK(c->port >= 0 && c->port <= 65535);
    CHECK(c->ssl_port >= 0 && c->ssl_port <= 65535);
    CHECK(c->mgmt_port >= 0 && c->mgmt_port <= 65535);
    CHECK(c->frame_max >= 4096 && c->frame_max <= 1048576);
    CHECK(c->channel_max >= 1);
    CHECK(c->max_message_size >= 1 && c->max_message_size <= 536870912);
    CHECK(c->handshake_timeout >= 100 && c->handshake_timeout <= 3600000);
    CHECK(c->output_limit >= 65536 && c->output_limit <= (1u << 30));
    CHECK(c->log_level >= WR_LOG_ERROR && c->log_level <= WR_LOG_DEBUG);
    CHECK(c->mem_relative >= 0 && c->mem_relative <= 1);
    /* never crashes, whatever the combination */
    {
        char err[600];
        if (wr_config_validate(c, err, sizeof(err)) != 0)
            CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        (void)wr_config_watermark(c);
    }
}

/* true when every line is blank or a comment: loading it must change
 * nothing (a long comment line must not spill into a second, parsed
 * one). */
static bool
only_comments(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t j = i;
        while (j < n && p[j] != '\n' && isspace(p[j]))
            j++;
        if (j < n && p[j] != '\n' && p[j] != '#')
            return false;
        while (j < n && p[j] != '\n')
            j++;
        i = j + 1;
    }
    return true;
}

static void
fuzz_load(const uint8_t *data, size_t size)
{
    struct wr_config cfg, def;
    char path[64], err[600];
    int fd = memfd_create("warren.conf", 0), rc;

    CHECK(fd >= 0);
    CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    wr_config_defaults(&cfg);
    def = cfg;
    err[0] = '\0';
    rc = wr_config_load(&cfg, path, err, sizeof(err));
    CHECK(rc == WR_OK || rc == WR_ERR_INVALID || rc == WR_ERR_IO);
    if (rc == 0) {
        check_cfg(&cfg);
        if (only_comments(data, size))
            CHECK(memcmp(&cfg, &def, sizeof(cfg)) == 0);
    } else {
        CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
    }
    close(fd);
}

/* KEY NUL VALUE: one wr_config_set call. */
static void
fuzz_set(const uint8_t *data, size_t size)
{
    struct wr_config cfg;
    char *buf = malloc(size + 2), err[256];
    const char *key, *value;
    size_t klen;

    CHECK(buf != NULL);
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    key = buf;
    klen = strlen(key);
    value = klen < size ? buf + klen + 1 : buf + size;
    wr_config_defaults(&cfg);
    err[0] = '\0';
    if (wr_config_set(&cfg, key, value, err, sizeof(err)) == 0)
        check_cfg(&cfg);
    else
        CHECK(err[0] != '\0');
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_load(data, size);
    fuzz_set(data, size);
    return 0;
}
