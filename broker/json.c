/* SPDX-License-Identifier: MIT */
/* JSON (RFC 8259) into a tree, and a string builder to write it. Used for
 * the definitions file; bounded nesting, no recursion past 32 levels. */
#include "json.h"
#include "../common/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

struct parser {
    const char *s, *end;
    int line;
    char *err;
    size_t errlen;
};

static int
fail(struct parser *p, const char *what)
{
    if (p->err[0] == '\0')
        snprintf(p->err, p->errlen, "line %d: %s", p->line, what);
    return -1;
}

static void
skip_ws(struct parser *p)
{
    while (p->s < p->end &&
           (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) {
        if (*p->s == '\n')
            p->line++;
        p->s++;
    }
}

static void
put_utf8(struct wr_sbuf *b, unsigned cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    wr_sbuf_add(b, u, n);
}

static int
hex4(struct parser *p, unsigned *out)
{
    unsigned v = 0;

    if (p->end - p->s < 4)
        return fail(p, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        char c = *p->s++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return fail(p, "bad \\u escape");
    }
    *out = v;
    return 0;
}

/* After the opening quote. */
static int
parse_string(struct parser *p, char **out)
{
    struct wr_sbuf b;

    wr_sbuf_init(&b);
    while (p->s < p->end && *p->s != '"') {
        unsigned char c = (unsigned char)*p->s++;
        if (c < 0x20) {
            wr_sbuf_cleanup(&b);
            return fail(p, "control character in string");
        }
        if (c != '\\') {
            wr_sbuf_add(&b, (const char *)&c, 1);
            continue;
        }
        if (p->s >= p->end)
            break;
        c = (unsigned char)*p->s++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            wr_sbuf_add(&b, (const char *)&c, 1);
            break;
        case 'b':
            wr_sbuf_add(&b, "\b", 1);
            break;
        case 'f':
            wr_sbuf_add(&b, "\f", 1);
            break;
        case 'n':
            wr_sbuf_add(&b, "\n", 1);
            break;
        case 'r':
            wr_sbuf_add(&b, "\r", 1);
            break;
        case 't':
            wr_sbuf_add(&b, "\t", 1);
            break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(p, &cp)) {
                wr_sbuf_cleanup(&b);
                return -1;
            }
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (p->end - p->s < 2 || p->s[0] != '\\' || p->s[1] != 'u') {
                    wr_sbuf_cleanup(&b);
                    return fail(p, "lone surrogate in string");
                }
                p->s += 2;
                if (hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    wr_sbuf_cleanup(&b);
                    return fail(p, "bad surrogate pair in string");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0) {
                wr_sbuf_cleanup(&b);
                return fail(p, "\\u0000 in string");
            }
            put_utf8(&b, cp);
            break;
        }
        default:
            wr_sbuf_cleanup(&b);
            return fail(p, "bad escape in string");
        }
    }
    if (p->s >= p->end) {
        wr_sbuf_cleanup(&b);
        return fail(p, "unterminated string");
    }
    p->s++;
    *out = b.p ? b.p : wr_strdup("");
    return 0;
}

static int parse_value(struct parser *p, struct wr_json **out, int depth);

static void
push(struct wr_json *j, char *key, struct wr_json *v)
{
    if ((j->n & (j->n - 1)) == 0) { /* grow at powers of two */
        size_t cap = j->n ? j->n * 2 : 4;
        j->items = wr_realloc(j->items, cap * sizeof(*j->items));
        if (j->type == WR_JSON_OBJ)
            j->keys = wr_realloc(j->keys, cap * sizeof(*j->keys));
    }
    if (j->type == WR_JSON_OBJ)
        j->keys[j->n] = key;
    j->items[j->n++] = v;
}

static int
parse_container(struct parser *p, struct wr_json *j, int depth)
{
    char close = j->type == WR_JSON_OBJ ? '}' : ']';

    skip_ws(p);
    if (p->s < p->end && *p->s == close) {
        p->s++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        struct wr_json *v = NULL;
        skip_ws(p);
        if (j->type == WR_JSON_OBJ) {
            if (p->s >= p->end || *p->s != '"')
                return fail(p, "expected a member name");
            p->s++;
            if (parse_string(p, &key))
                return -1;
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':') {
                wr_free(key);
                return fail(p, "expected ':'");
            }
            p->s++;
        }
        if (parse_value(p, &v, depth + 1)) {
            wr_json_free(v);
            wr_free(key);
            return -1;
        }
        push(j, key, v);
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == close) {
            p->s++;
            return 0;
        }
        return fail(p, j->type == WR_JSON_OBJ ? "expected ',' or '}'"
                                              : "expected ',' or ']'");
    }
}

static int
parse_value(struct parser *p, struct wr_json **out, int depth)
{
    struct wr_json *j;

    if (depth > MAX_DEPTH)
        return fail(p, "nested too deeply");
    skip_ws(p);
    if (p->s >= p->end)
        return fail(p, "unexpected end of input");
    j = wr_calloc(1, sizeof(*j));
    *out = j;
    switch (*p->s) {
    case '{':
    case '[':
        j->type = *p->s == '{' ? WR_JSON_OBJ : WR_JSON_ARR;
        p->s++;
        return parse_container(p, j, depth);
    case '"':
        j->type = WR_JSON_STR;
        p->s++;
        return parse_string(p, &j->str);
    case 't':
    case 'f':
    case 'n': {
        static const char *const words[] = {"true", "false", "null"};
        for (int i = 0; i < 3; i++) {
            size_t l = strlen(words[i]);
            if ((size_t)(p->end - p->s) >= l &&
                memcmp(p->s, words[i], l) == 0) {
                p->s += l;
                j->type = i == 2 ? WR_JSON_NULL : WR_JSON_BOOL;
                j->b = i == 0;
                return 0;
            }
        }
        return fail(p, "unexpected word");
    }
    default: {
        char num[64], *end;
        size_t n = 0;
        while (p->s + n < p->end && n < sizeof(num) - 1 &&
               strchr("+-.0123456789eE", p->s[n]))
            n++;
        memcpy(num, p->s, n);
        num[n] = '\0';
        if (n == 0)
            return fail(p, "unexpected character");
        j->type = WR_JSON_NUM;
        j->num = strtod(num, &end);
        if (*end != '\0')
            return fail(p, "bad number");
        p->s += n;
        return 0;
    }
    }
}

int
wr_json_parse(const char *s, size_t len, struct wr_json **out, char *err,
              size_t errlen)
{
    struct parser p = {s, s + len, 1, err, errlen};
    struct wr_json *j = NULL;

    err[0] = '\0';
    if (parse_value(&p, &j, 0) == 0) {
        skip_ws(&p);
        if (p.s == p.end) {
            *out = j;
            return 0;
        }
        fail(&p, "trailing characters");
    }
    wr_json_free(j);
    return -1;
}

void
wr_json_free(struct wr_json *j)
{
    if (j == NULL)
        return;
    for (size_t i = 0; i < j->n; i++) {
        wr_json_free(j->items[i]);
        if (j->keys)
            wr_free(j->keys[i]);
    }
    wr_free(j->items);
    wr_free(j->keys);
    wr_free(j->str);
    wr_free(j);
}

const struct wr_json *
wr_json_get(const struct wr_json *j, const char *key)
{
    if (j == NULL || j->type != WR_JSON_OBJ)
        return NULL;
    for (size_t i = 0; i < j->n; i++)
        if (strcmp(j->keys[i], key) == 0)
            return j->items[i];
    return NULL;
}

const char *
wr_json_get_str(const struct wr_json *j, const char *key)
{
    const struct wr_json *v = wr_json_get(j, key);

    return v && v->type == WR_JSON_STR ? v->str : NULL;
}

void
wr_sbuf_init(struct wr_sbuf *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void
wr_sbuf_cleanup(struct wr_sbuf *b)
{
    wr_free(b->p);
    wr_sbuf_init(b);
}

void
wr_sbuf_add(struct wr_sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = wr_realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void
wr_sbuf_printf(struct wr_sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        wr_sbuf_add(b, tmp, (size_t)n);
        return;
    }
    char *big = wr_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    wr_sbuf_add(b, big, (size_t)n);
    wr_free(big);
}

void
wr_sbuf_json_str(struct wr_sbuf *b, const char *s)
{
    wr_sbuf_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            wr_sbuf_add(b, e, 2);
        } else if (c < 0x20) {
            wr_sbuf_printf(b, "\\u%04x", c);
        } else {
            wr_sbuf_add(b, s, 1);
        }
    }
    wr_sbuf_add(b, "\"", 1);
}
