/* SPDX-License-Identifier: MIT */
/* libFuzzer target: wr_method_decode on a method frame payload; whatever
 * decodes must re-encode to the same length and decode to the same fields
 * (bit octets are normalised, so the bytes may differ once). */
#include "../../protocol/protocol.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

static const struct wr_method_desc *
desc_of(uint32_t id)
{
    for (size_t i = 0; i < WR_METHOD_COUNT; i++)
        if (wr_method_descs[i].id == id)
            return &wr_method_descs[i];
    return NULL;
}

static void
check_same(const struct wr_method *a, const struct wr_method *b)
{
    const struct wr_method_desc *d = desc_of(a->id);

    CHECK(d != NULL && a->id == b->id);
    for (unsigned i = 0; i < d->nfields; i++) {
        const void *x = (const char *)&a->u + d->fields[i].offset;
        const void *y = (const char *)&b->u + d->fields[i].offset;
        switch (d->fields[i].kind) {
        case WR_FD_OCTET:
            CHECK(*(const uint8_t *)x == *(const uint8_t *)y);
            break;
        case WR_FD_SHORT:
            CHECK(*(const uint16_t *)x == *(const uint16_t *)y);
            break;
        case WR_FD_LONG:
            CHECK(*(const uint32_t *)x == *(const uint32_t *)y);
            break;
        case WR_FD_LONGLONG:
            CHECK(*(const uint64_t *)x == *(const uint64_t *)y);
            break;
        case WR_FD_BIT:
            CHECK(*(const bool *)x == *(const bool *)y);
            break;
        case WR_FD_SHORTSTR:
        case WR_FD_LONGSTR:
            CHECK(wr_bytes_eq(*(const struct wr_bytes *)x,
                              *(const struct wr_bytes *)y));
            break;
        case WR_FD_TABLE: {
            const struct wr_table *tx = x, *ty = y;
            CHECK(tx->len == ty->len);
            CHECK(tx->len == 0 || memcmp(tx->ptr, ty->ptr, tx->len) == 0);
            CHECK(wr_table_equal(*tx, *ty));
            break;
        }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wr_method m, d;
    uint8_t *in, *out, *out2;
    size_t len, len2;

    /* An exact-size copy, so that ASan sees any read past the end. */
    in = wr_malloc(size ? size : 1);
    CHECK(in != NULL);
    if (size)
        memcpy(in, data, size);
    if (wr_method_decode(in, size, &m) != WR_OK) {
        wr_free(in);
        return 0;
    }
    CHECK(wr_method_name(m.id) != NULL);
    out = wr_malloc(size + 1);
    out2 = wr_malloc(size + 1);
    CHECK(out != NULL && out2 != NULL);
    /* Too small by one byte, then exact. */
    if (size > 0)
        CHECK(wr_method_encode(&m, out, size - 1, &len) == WR_ERR_NOSPACE);
    CHECK(wr_method_encode(&m, out, size + 1, &len) == WR_OK);
    CHECK(len == size);
    CHECK(wr_method_decode(out, len, &d) == WR_OK);
    check_same(&m, &d);
    /* The re-encoded form is canonical: encoding it again is identical. */
    CHECK(wr_method_encode(&d, out2, size + 1, &len2) == WR_OK);
    CHECK(len2 == len && memcmp(out, out2, len) == 0);
    wr_free(out2);
    wr_free(out);
    wr_free(in);
    return 0;
}
