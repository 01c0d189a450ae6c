/* SPDX-License-Identifier: MIT */
/* The allocation wrappers every module uses, with a byte counter and a
 * failure-injection hook for tests. */
#include "common.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t used_bytes;
static bool abort_on_oom;
static uint64_t fail_countdown;

static bool
should_fail(void)
{
    if (fail_countdown == 0)
        return false;
    return --fail_countdown == 0;
}

static void *
checked(void *p, size_t n)
{
    if (p == NULL && n != 0 && abort_on_oom) {
        fprintf(stderr, "warren: out of memory allocating %zu bytes\n", n);
        abort();
    }
    if (p != NULL)
        used_bytes += malloc_usable_size(p);
    return p;
}

void *
wr_malloc(size_t n)
{
    if (should_fail())
        return checked(NULL, n ? n : 1);
    return checked(malloc(n ? n : 1), n ? n : 1);
}

void *
wr_calloc(size_t count, size_t size)
{
    if (should_fail())
        return checked(NULL, 1);
    if (count == 0 || size == 0)
        count = size = 1;
    return checked(calloc(count, size), count * size);
}

void *
wr_realloc(void *p, size_t n)
{
    size_t before = p ? malloc_usable_size(p) : 0;
    void *q;

    if (should_fail())
        return checked(NULL, n ? n : 1);
    q = realloc(p, n ? n : 1);
    if (q == NULL)
        return checked(NULL, n ? n : 1);
    used_bytes -= before;
    return checked(q, n);
}

void
wr_free(void *p)
{
    if (p == NULL)
        return;
    used_bytes -= malloc_usable_size(p);
    free(p);
}

char *
wr_strndup(const void *s, size_t n)
{
    char *d = wr_malloc(n + 1);

    if (d == NULL)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *
wr_strdup(const char *s)
{
    return wr_strndup(s, strlen(s));
}

void
wr_alloc_set_abort_on_oom(bool on)
{
    abort_on_oom = on;
}

size_t
wr_alloc_used(void)
{
    return used_bytes;
}

void
wr_alloc_fail_after(uint64_t n)
{
    fail_countdown = n;
}

void
wr_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "warren: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
