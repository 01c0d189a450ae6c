/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a field-table body through wr_table_validate, then
 * every entry visited (nested tables and arrays too), rebuilt with the
 * wr_tb_* builder and compared with wr_table_equal. */
#include "../../protocol/protocol.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

/* Rebuilding needs C-string names: a name with a NUL cannot round trip. */
static bool key_has_nul;

static void rebuild_array(struct wr_tb *b, struct wr_array a);

static void
visit_value(const struct wr_value *v)
{
    int64_t n;
    int rc = wr_value_int(v, &n);

    switch (v->type) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'U':
    case 'I':
    case 'i':
    case 'l':
    case 'L':
        CHECK(rc == WR_OK);
        break;
    case 'T':
        CHECK(rc == (v->v.u > INT64_MAX ? WR_ERR_INVALID : WR_OK));
        break;
    default:
        CHECK(rc == WR_ERR_INVALID);
        break;
    }
}

static void
rebuild_table(struct wr_tb *b, struct wr_table t)
{
    struct wr_table_iter it;
    struct wr_bytes k;
    struct wr_value v, got;
    char key[256];
    size_t n = 0;

    wr_table_iter_init(&it, t);
    while (wr_table_next(&it, &k, &v) == WR_OK) {
        visit_value(&v);
        memcpy(key, k.ptr, k.len);
        key[k.len] = '\0';
        if (memchr(k.ptr, 0, k.len) != NULL)
            key_has_nul = true;
        /* The first entry with this name is found by lookup. */
        CHECK(wr_table_get(t, key, &got) == WR_OK || key_has_nul);
        if (v.type == WR_FT_TABLE) {
            wr_tb_begin_table(b, key);
            rebuild_table(b, v.v.table);
            wr_tb_end(b);
        } else if (v.type == WR_FT_ARRAY) {
            wr_tb_begin_array(b, key);
            rebuild_array(b, v.v.array);
            wr_tb_end(b);
        } else {
            wr_tb_add_value(b, key, &v);
        }
        n++;
    }
    CHECK(it.off == it.len); /* validated: iteration reaches the end */
    CHECK(n == wr_table_count(t));
}

static void
rebuild_array(struct wr_tb *b, struct wr_array a)
{
    struct wr_array_iter it;
    struct wr_value v;

    wr_array_iter_init(&it, a);
    while (wr_array_next(&it, &v) == WR_OK) {
        visit_value(&v);
        if (v.type == WR_FT_TABLE) {
            wr_tb_elem_begin_table(b);
            rebuild_table(b, v.v.table);
            wr_tb_end(b);
        } else if (v.type == WR_FT_ARRAY) {
            wr_tb_begin_array(b, NULL);
            rebuild_array(b, v.v.array);
            wr_tb_end(b);
        } else {
            wr_tb_elem_value(b, &v);
        }
    }
    CHECK(it.off == it.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wr_table t, r;
    struct wr_tb b;
    uint8_t *in, *out;
    size_t half;
    int rc;

    if (size > UINT32_MAX)
        return 0;
    in = wr_malloc(size ? size : 1);
    CHECK(in != NULL);
    if (size)
        memcpy(in, data, size);
    rc = wr_table_validate(in, size, WR_TABLE_MAX_DEPTH);
    CHECK(rc == WR_OK || rc == WR_ERR_SYNTAX || rc == WR_ERR_FIELD_TYPE ||
          rc == WR_ERR_TOO_DEEP);
    /* Two tables from the halves: equality is symmetric either way. */
    half = size / 2;
    if (wr_table_validate(in, half, WR_TABLE_MAX_DEPTH) == WR_OK &&
        wr_table_validate(in + half, size - half, WR_TABLE_MAX_DEPTH) ==
            WR_OK) {
        struct wr_table x = {in, (uint32_t)half};
        struct wr_table y = {in + half, (uint32_t)(size - half)};
        CHECK(wr_table_equal(x, y) == wr_table_equal(y, x));
    }
    if (rc != WR_OK) {
        wr_free(in);
        return 0;
    }
    t = (struct wr_table){in, (uint32_t)size};
    CHECK(wr_table_equal(t, t));

    out = wr_malloc(size + 4);
    CHECK(out != NULL);
    key_has_nul = false;
    wr_tb_init(&b, out, size + 4);
    rebuild_table(&b, t);
    wr_tb_end(&b);
    CHECK(b.err == WR_OK && b.depth == 0);
    r = wr_tb_table(&b);
    /* Same encoded size (booleans may be normalised to 0/1), unless a name
     * with a NUL was cut short. */
    CHECK(r.len == t.len || key_has_nul);
    CHECK(wr_table_validate(r.ptr, r.len, WR_TABLE_MAX_DEPTH) == WR_OK);
    /* Past 1,024 entries equality only compares bytes; a table that large
     * needs more than 2,048 bytes (2 per entry at least). */
    if (!key_has_nul && size <= 2048) {
        CHECK(wr_table_equal(t, r));
        CHECK(wr_table_equal(r, t));
    }
    wr_free(out);
    wr_free(in);
    return 0;
}
