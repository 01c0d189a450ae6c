/* SPDX-License-Identifier: MIT */
/* What every warren module shares: result codes, allocation wrappers, byte
 * views and the always-on assertion. libc only. */
#ifndef WR_COMMON_H
#define WR_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Result codes. Functions return WR_OK or a negative code; values come back
 * through pointer arguments. These are internal codes, not AMQP reply codes:
 * a refusal a client hears is a struct wr_op_err (protocol.h) that amqp/
 * and mgmt/ render. Callers test != WR_OK, < 0 or a specific code, never
 * == -1. A bare -1 remains only as a documented "none" sentinel of a
 * lookup that returns an index, a value or a count (wr_hex_digit,
 * wr_log_parse_level), never as a status. */
enum wr_result {
    WR_OK = 0,
    WR_AGAIN = -1,              /* need more bytes / would block */
    WR_ERR_NOMEM = -2,          /* allocation failed */
    WR_ERR_NOSPACE = -3,        /* caller's output buffer too small */
    WR_ERR_PROTO_HEADER = -4,   /* not "AMQP\0\0\x09\x01" */
    WR_ERR_FRAME_END = -5,      /* frame-end octet is not 0xCE */
    WR_ERR_FRAME_SIZE = -6,     /* frame larger than the negotiated frame-max */
    WR_ERR_FRAME_TYPE = -7,     /* unknown frame type */
    WR_ERR_SYNTAX = -8,         /* payload malformed: truncated, bad length */
    WR_ERR_UNKNOWN_METHOD = -9, /* class/method id not in the spec */
    WR_ERR_FIELD_TYPE = -10,    /* unknown field-table value type */
    WR_ERR_TOO_DEEP = -11,      /* field tables nested past the limit */
    WR_ERR_NOT_FOUND = -12,
    WR_ERR_EXISTS = -13,
    WR_ERR_INVALID = -14, /* an argument is out of range */
    WR_ERR_CLOSED = -15,
    WR_ERR_IO = -16,
    WR_ERR_TIMEOUT = -17,
    WR_ERR_FULL = -18, /* a queue refused a message (x-overflow reject-*) */
};

/* Short human name of a result code ("frame-end is not 0xCE", ...). */
const char *wr_strerror(int rc);

/* A view of bytes owned by someone else (an input buffer, a message).
 * Never freed through the view. */
struct wr_bytes {
    const uint8_t *ptr;
    uint32_t len;
};

#define WR_BYTES_LIT(s) ((struct wr_bytes){(const uint8_t *)(s), sizeof(s) - 1})

/* A view of a NUL-terminated C string (borrows s). */
struct wr_bytes wr_bytes_str(const char *s);
/* true when a and b hold the same bytes. */
bool wr_bytes_eq(struct wr_bytes a, struct wr_bytes b);
/* true when a holds exactly the C string s. */
bool wr_bytes_eq_str(struct wr_bytes a, const char *s);
/* true when word is one of the items of list, a C string of items
 * separated by sep ("PLAIN AMQPLAIN", "guest,admin"). */
bool wr_bytes_in_list(struct wr_bytes word, const char *list, char sep);
/* The value of a hexadecimal digit (either case), or -1 when c is not one
 * (a lookup sentinel, not a status code). */
int wr_hex_digit(int c);

/* Allocation. All warren code allocates through these (STYLE.md 5.10): one
 * place for accounting and failure injection. wr_malloc returns NULL on
 * failure unless wr_alloc_set_abort_on_oom(true) was called (the broker does:
 * it aborts, as Redis's zmalloc does; the client library returns
 * WR_ERR_NOMEM instead). */
void *wr_malloc(size_t n);
void *wr_calloc(size_t count, size_t size);
void *wr_realloc(void *p, size_t n);
void wr_free(void *p);
/* Copies n bytes into a new NUL-terminated allocation. */
char *wr_strndup(const void *s, size_t n);
char *wr_strdup(const char *s);
void wr_alloc_set_abort_on_oom(bool on);
/* Bytes currently allocated through the wrappers (usable sizes). */
size_t wr_alloc_used(void);
/* Test hook: the n-th allocation from now (1 = next) fails; 0 disarms. */
void wr_alloc_fail_after(uint64_t n);
/* Small blocks that come and go at the message rate (the broker's
 * messages): freed blocks of up to WR_SMALL_MAX usable bytes are kept, up
 * to WR_SMALL_DEPTH per malloc size class, and handed out again without
 * malloc (glibc's tcache holds 7 per class: with hundreds of messages
 * unacked and queued, the frees overflow it and every malloc took
 * _int_malloc's slow path). For ONE thread only (the broker's loop): the
 * client library, whose applications run a connection per thread, does not
 * use them. Cached blocks do not count in wr_alloc_used. Blocks from
 * wr_small_alloc may be wr_realloc'd; they are freed with wr_small_free.
 * Sanitizer and valgrind builds (WR_NO_SMALL_CACHE) skip the cache, so
 * use after free stays visible. */
#define WR_SMALL_MAX 248
#define WR_SMALL_DEPTH 1024
void *wr_small_alloc(size_t n);
void wr_small_free(void *p);
/* Frees the cached blocks (tests, shutdown). */
void wr_small_trim(void);
/* Bytes held in the cache now; whether this build caches at all. */
size_t wr_small_cached_bytes(void);
bool wr_small_cache_on(void);

/* Always compiled in; guards our own invariants only, never peer input. */
#define wr_assert(cond)                                                        \
    ((cond) ? (void)0 : wr_assert_fail(#cond, __FILE__, __LINE__))
void wr_assert_fail(const char *expr, const char *file, int line)
    __attribute__((noreturn));

#define WR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define WR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define WR_MAX(a, b) ((a) > (b) ? (a) : (b))
#define WR_CONTAINER_OF(ptr, type, member)                                     \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
