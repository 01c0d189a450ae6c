/* SPDX-License-Identifier: MIT */
/* Byte views and result-code names. */
#include "common.h"

#include <string.h>

struct wr_bytes
wr_bytes_str(const char *s)
{
    return (struct wr_bytes){(const uint8_t *)s, (uint32_t)strlen(s)};
}

bool
wr_bytes_eq(struct wr_bytes a, struct wr_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool
wr_bytes_eq_str(struct wr_bytes a, const char *s)
{
    return wr_bytes_eq(a, wr_bytes_str(s));
}

bool
wr_bytes_in_list(struct wr_bytes word, const char *list, char sep)
{
    for (const char *p = list; *p;) {
        const char *e = strchr(p, sep);
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == word.len && memcmp(p, word.ptr, n) == 0)
            return true;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return false;
}

int
wr_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const char *
wr_strerror(int rc)
{
    switch (rc) {
    case WR_OK:
        return "ok";
    case WR_AGAIN:
        return "need more bytes";
    case WR_ERR_NOMEM:
        return "out of memory";
    case WR_ERR_NOSPACE:
        return "output buffer too small";
    case WR_ERR_PROTO_HEADER:
        return "bad protocol header";
    case WR_ERR_FRAME_END:
        return "frame-end octet is not 0xCE";
    case WR_ERR_FRAME_SIZE:
        return "frame larger than frame-max";
    case WR_ERR_FRAME_TYPE:
        return "unknown frame type";
    case WR_ERR_SYNTAX:
        return "malformed payload";
    case WR_ERR_UNKNOWN_METHOD:
        return "unknown method";
    case WR_ERR_FIELD_TYPE:
        return "unknown field value type";
    case WR_ERR_TOO_DEEP:
        return "field tables nested too deep";
    case WR_ERR_NOT_FOUND:
        return "not found";
    case WR_ERR_EXISTS:
        return "already exists";
    case WR_ERR_INVALID:
        return "invalid argument";
    case WR_ERR_CLOSED:
        return "closed";
    case WR_ERR_IO:
        return "i/o error";
    case WR_ERR_TIMEOUT:
        return "timed out";
    case WR_ERR_FULL:
        return "queue full";
    }
    return "unknown error";
}
