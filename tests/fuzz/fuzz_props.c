/* SPDX-License-Identifier: MIT */
/* libFuzzer target: wr_content_header_decode on a content-header payload;
 * whatever decodes must re-encode (wr_content_header_encode) to the same
 * length and decode to the same class, body size and properties. */
#include "../../protocol/protocol.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

static void
check_same(const struct wr_props *a, const struct wr_props *b)
{
    CHECK(a->flags == b->flags);
    CHECK(wr_bytes_eq(a->content_type, b->content_type));
    CHECK(wr_bytes_eq(a->content_encoding, b->content_encoding));
    CHECK(a->headers.len == b->headers.len);
    CHECK(a->headers.len == 0 ||
          memcmp(a->headers.ptr, b->headers.ptr, a->headers.len) == 0);
    CHECK(a->delivery_mode == b->delivery_mode);
    CHECK(a->priority == b->priority);
    CHECK(wr_bytes_eq(a->correlation_id, b->correlation_id));
    CHECK(wr_bytes_eq(a->reply_to, b->reply_to));
    CHECK(wr_bytes_eq(a->expiration, b->expiration));
    CHECK(wr_bytes_eq(a->message_id, b->message_id));
    CHECK(a->timestamp == b->timestamp);
    CHECK(wr_bytes_eq(a->type, b->type));
    CHECK(wr_bytes_eq(a->user_id, b->user_id));
    CHECK(wr_bytes_eq(a->app_id, b->app_id));
    CHECK(wr_bytes_eq(a->cluster_id, b->cluster_id));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wr_content_header h, h2;
    struct wr_props p;
    uint8_t *in, *out;
    size_t len;

    in = wr_malloc(size ? size : 1);
    CHECK(in != NULL);
    if (size)
        memcpy(in, data, size);
    if (wr_content_header_decode(in, size, &h) != WR_OK) {
        wr_free(in);
        return 0;
    }
    CHECK(h.weight == 0);
    CHECK(h.raw_props == in + 12 && h.raw_props_len == size - 12);
    CHECK(wr_props_decode(h.raw_props, h.raw_props_len, &p) == WR_OK);
    check_same(&h.props, &p);

    out = wr_malloc(size);
    CHECK(out != NULL);
    CHECK(wr_content_header_encode(h.class_id, h.body_size, &h.props, out,
                                   size - 1, &len) == WR_ERR_NOSPACE);
    CHECK(wr_content_header_encode(h.class_id, h.body_size, &h.props, out, size,
                                   &len) == WR_OK);
    CHECK(len == size);
    CHECK(wr_content_header_decode(out, len, &h2) == WR_OK);
    CHECK(h2.class_id == h.class_id && h2.body_size == h.body_size);
    check_same(&h.props, &h2.props);
    CHECK(wr_props_encode(&h.props, out, size, &len) == WR_OK);
    CHECK(len == size - 12);
    wr_free(out);
    wr_free(in);
    return 0;
}
