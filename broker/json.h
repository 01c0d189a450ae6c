/* SPDX-License-Identifier: MIT */
/* A small JSON reader (into a tree) and writer, for the definitions file. */
#ifndef WR_JSON_H
#define WR_JSON_H

#include <stdbool.h>
#include <stddef.h>

enum wr_json_type {
    WR_JSON_NULL,
    WR_JSON_BOOL,
    WR_JSON_NUM,
    WR_JSON_STR,
    WR_JSON_ARR,
    WR_JSON_OBJ,
};

struct wr_json {
    enum wr_json_type type;
    bool b;
    double num;
    char *str;              /* WR_JSON_STR, NUL-terminated UTF-8 */
    struct wr_json **items; /* WR_JSON_ARR / WR_JSON_OBJ values */
    char **keys;            /* WR_JSON_OBJ keys */
    size_t n;
};

/* Parses len bytes of s (nesting up to 32 levels). Returns 0 and a new tree
 * in *out, or -1 with "line N: ..." in err. */
int wr_json_parse(const char *s, size_t len, struct wr_json **out, char *err,
                  size_t errlen);
void wr_json_free(struct wr_json *j);
/* Member key of an object, or NULL (also when j is not an object). */
const struct wr_json *wr_json_get(const struct wr_json *j, const char *key);
/* The string of member key, or NULL when absent or not a string. */
const char *wr_json_get_str(const struct wr_json *j, const char *key);

/* A growable output string. */
struct wr_sbuf {
    char *p; /* NUL-terminated, owned */
    size_t len, cap;
};

void wr_sbuf_init(struct wr_sbuf *b);
void wr_sbuf_cleanup(struct wr_sbuf *b);
void wr_sbuf_add(struct wr_sbuf *b, const char *s, size_t n);
void wr_sbuf_printf(struct wr_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a quoted, escaped JSON string. */
void wr_sbuf_json_str(struct wr_sbuf *b, const char *s);

#endif
