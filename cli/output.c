/* SPDX-License-Identifier: MIT */
/* warrenctl's output: aligned tables for people, TSV for pipes (no
 * header, one row per line, tabs and newlines in values escaped), JSON for
 * programs. */
#include "warrenctl.h"

#include <stdarg.h>

#include <string.h>

#define WC_MAX_COLS 32
#define WC_CELL_MAX 1024 /* a table cell longer than this is cut */

json_t *
wc_path_get(json_t *o, const char *path)
{
    char key[256];

    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = json_is_object(o) ? json_object_get(o, key) : NULL;
        path += n + (dot != NULL);
    }
    return o;
}

void
wc_cell(json_t *item, const char *path, char *out, size_t cap)
{
    json_t *v = wc_path_get(item, path);

    out[0] = '\0';
    if (v == NULL || json_is_null(v))
        return;
    if (json_is_string(v))
        snprintf(out, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, cap, "%.1f", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
    else {
        size_t n = json_dumpb(v, out, cap - 1, JSON_COMPACT);
        if (n < cap)
            out[n] = '\0';
        else
            snprintf(out, cap, "%s", json_is_object(v) ? "{...}" : "[...]");
    }
}

/* Display width of UTF-8 text: code points, not bytes. */
static size_t
width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static bool
numeric(json_t *item, const char *path)
{
    return json_is_number(wc_path_get(item, path));
}

/* Tabs, newlines and backslashes escaped, so each row is one line. */
static void
tsv_field(const char *s)
{
    for (; *s; s++) {
        if (*s == '\t')
            fputs("\\t", stdout);
        else if (*s == '\n')
            fputs("\\n", stdout);
        else if (*s == '\r')
            fputs("\\r", stdout);
        else if (*s == '\\')
            fputs("\\\\", stdout);
        else
            putchar(*s);
    }
}

/* Control characters would break the table's lines. */
static void
table_field(const char *s, size_t pad, bool right)
{
    if (right)
        for (size_t i = 0; i < pad; i++)
            putchar(' ');
    for (; *s; s++)
        putchar((unsigned char)*s < 0x20 ? ' ' : *s);
    if (!right)
        for (size_t i = 0; i < pad; i++)
            putchar(' ');
}

void
wc_print_list(const struct wc_settings *s, json_t *items,
              const struct wc_column *cols, size_t ncols)
{
    size_t w[WC_MAX_COLS], i, c;
    bool right[WC_MAX_COLS];
    char cell[WC_CELL_MAX];
    json_t *item;

    if (s->format == WC_FMT_JSON) {
        json_dumpf(items, stdout, JSON_INDENT(2));
        putchar('\n');
        return;
    }
    if (ncols > WC_MAX_COLS)
        ncols = WC_MAX_COLS;
    if (s->format == WC_FMT_TSV) {
        json_array_foreach(items, i, item)
        {
            for (c = 0; c < ncols; c++) {
                wc_cell(item, cols[c].path, cell, sizeof(cell));
                if (c)
                    putchar('\t');
                tsv_field(cell);
            }
            putchar('\n');
        }
        return;
    }
    for (c = 0; c < ncols; c++) {
        w[c] = width(cols[c].header);
        right[c] = json_array_size(items) > 0;
    }
    json_array_foreach(items, i, item)
    {
        for (c = 0; c < ncols; c++) {
            size_t n;
            wc_cell(item, cols[c].path, cell, sizeof(cell));
            n = width(cell);
            if (n > w[c])
                w[c] = n;
            if (cell[0] && !numeric(item, cols[c].path))
                right[c] = false;
        }
    }
    for (c = 0; c < ncols; c++) {
        size_t pad = w[c] - width(cols[c].header);
        table_field(cols[c].header, c + 1 < ncols || right[c] ? pad : 0,
                    right[c]);
        fputs(c + 1 < ncols ? "  " : "\n", stdout);
    }
    json_array_foreach(items, i, item)
    {
        for (c = 0; c < ncols; c++) {
            wc_cell(item, cols[c].path, cell, sizeof(cell));
            /* The last column needs no padding. */
            table_field(cell,
                        c + 1 < ncols || right[c] ? w[c] - width(cell) : 0,
                        right[c]);
            fputs(c + 1 < ncols ? "  " : "\n", stdout);
        }
    }
}

int
wc_get_list(const struct wc_settings *s, const char *cmd, const char *path,
            const char *what, struct wc_reply *rep)
{
    int rc = wc_call(s, "GET", path, NULL, what, rep);

    if (rc != WC_EXIT_OK)
        return rc;
    if (!json_is_array(rep->json)) {
        fprintf(stderr, "warrenctl: %s%sthe broker's answer is not a list\n",
                cmd ? cmd : "", cmd ? ": " : "");
        wc_reply_cleanup(rep);
        return WC_EXIT_ERROR;
    }
    return WC_EXIT_OK;
}

int
wc_list(const struct wc_settings *s, const char *path, const char *what,
        const struct wc_column *cols, size_t ncols)
{
    struct wc_reply rep;
    int rc = wc_get_list(s, NULL, path, what, &rep);

    if (rc != WC_EXIT_OK)
        return rc;
    wc_print_list(s, rep.json, cols, ncols);
    wc_reply_cleanup(&rep);
    return WC_EXIT_OK;
}

void
wc_print_pairs(const struct wc_settings *s, const char *const *labels,
               const char *const *values, size_t n)
{
    size_t w = 0;

    for (size_t i = 0; i < n; i++)
        if (width(labels[i]) > w)
            w = width(labels[i]);
    for (size_t i = 0; i < n; i++) {
        if (s->format == WC_FMT_TSV) {
            tsv_field(labels[i]);
            putchar('\t');
            tsv_field(values[i]);
            putchar('\n');
        } else {
            table_field(labels[i], w - width(labels[i]), false);
            fputs("  ", stdout);
            table_field(values[i], 0, false);
            putchar('\n');
        }
    }
}

void
wc_say(const struct wc_settings *s, const char *fmt, ...)
{
    va_list ap;

    if (s->quiet || s->format == WC_FMT_JSON)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}
