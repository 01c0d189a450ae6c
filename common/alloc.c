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

/* ---- the small-block cache ---------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__) || defined(WR_NO_SMALL_CACHE)
#define SMALL_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define SMALL_CACHE 0
#endif
#endif
#ifndef SMALL_CACHE
#define SMALL_CACHE 1
#endif

/* One LIFO list per glibc chunk size (16-byte steps): a block is filed by
 * its usable size, and a request takes from the list of the chunk size
 * malloc would give it, so a cached block always fits. */
#define SMALL_CLASSES ((WR_SMALL_MAX + 8) / 16 + 1)

struct small_block {
    struct small_block *next;
};

static struct {
    struct small_block *head;
    uint32_t n;
} small[SMALL_CLASSES];

static size_t small_bytes;

static unsigned
small_class(size_t usable)
{
    return (unsigned)((usable + 8) / 16);
}

void *
wr_small_alloc(size_t n)
{
    if (SMALL_CACHE && n <= WR_SMALL_MAX) {
        /* the chunk malloc would give n bytes: n + 8, 16-aligned, >= 32 */
        size_t chunk = (n + 8 + 15) & ~(size_t)15;
        unsigned c = small_class((chunk < 32 ? 32 : chunk) - 8);
        struct small_block *b = small[c].head;

        if (b != NULL && !should_fail()) {
            small[c].head = b->next;
            small[c].n--;
            small_bytes -= malloc_usable_size(b);
            used_bytes += malloc_usable_size(b);
            return b;
        }
        if (b != NULL) /* the armed failure, as wr_malloc reports it */
            return checked(NULL, n ? n : 1);
    }
    return wr_malloc(n);
}

void
wr_small_free(void *p)
{
    size_t usable;
    unsigned c;

    if (p == NULL)
        return;
    usable = malloc_usable_size(p);
    c = small_class(usable);
    if (!SMALL_CACHE || usable > WR_SMALL_MAX || small[c].n >= WR_SMALL_DEPTH) {
        wr_free(p);
        return;
    }
    used_bytes -= usable;
    small_bytes += usable;
    ((struct small_block *)p)->next = small[c].head;
    small[c].head = p;
    small[c].n++;
}

void
wr_small_trim(void)
{
    for (unsigned c = 0; c < SMALL_CLASSES; c++) {
        while (small[c].head != NULL) {
            struct small_block *b = small[c].head;

            small[c].head = b->next;
            free(b);
        }
        small_bytes = 0;
        small[c].n = 0;
    }
}

size_t
wr_small_cached_bytes(void)
{
    return small_bytes;
}

bool
wr_small_cache_on(void)
{
    return SMALL_CACHE;
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
