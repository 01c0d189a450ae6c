/* SPDX-License-Identifier: MIT */
/* Test case "props" of the protocol suite: content headers and basic
 * properties. */
#include "cases.h"

/* ==== content header (AMQP 0-9-1 section 4.2.6.1) ======================= */

/* header_golden, a content header with six properties, is in cases.h. */

START_TEST(props_golden)
{
    struct wr_content_header h;
    struct wr_props p = {0};
    struct wr_value v;
    uint8_t out[128];
    size_t len;

    ck_assert_int_eq(wr_content_header_decode(G(header_golden), &h), WR_OK);
    ck_assert_uint_eq(h.class_id, 60);
    ck_assert_uint_eq(h.weight, 0);
    ck_assert_uint_eq(h.body_size, 5);
    ck_assert_uint_eq(h.props.flags, 0xB848);
    ck_assert(wr_bytes_eq_str(h.props.content_type, "text/plain"));
    ck_assert_uint_eq(h.props.delivery_mode, 2);
    ck_assert_uint_eq(h.props.priority, 5);
    ck_assert_uint_eq(h.props.timestamp, 1600000000);
    ck_assert(wr_bytes_eq_str(h.props.app_id, "app"));
    ck_assert_uint_eq(h.props.message_id.len, 0);
    ck_assert_int_eq(wr_table_get(h.props.headers, "x", &v), WR_OK);
    ck_assert_int_eq(v.v.i, 1);
    /* raw_props: the flag word and everything after it. */
    ck_assert_ptr_eq(h.raw_props, (const uint8_t *)header_golden + 12);
    ck_assert_uint_eq(h.raw_props_len, sizeof(header_golden) - 1 - 12);

    p.flags = WR_PROP_CONTENT_TYPE | WR_PROP_HEADERS | WR_PROP_DELIVERY_MODE |
              WR_PROP_PRIORITY | WR_PROP_TIMESTAMP | WR_PROP_APP_ID;
    p.content_type = WR_BYTES_LIT("text/plain");
    p.headers = T("\x01"
                  "xI\x00\x00\x00\x01");
    p.delivery_mode = 2;
    p.priority = 5;
    p.timestamp = 1600000000;
    p.app_id = WR_BYTES_LIT("app");
    ck_assert_int_eq(
        wr_content_header_encode(60, 5, &p, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(header_golden));
    ck_assert_int_eq(wr_props_encode(&p, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, (const uint8_t *)header_golden + 12,
             sizeof(header_golden) - 1 - 12);
    for (size_t cap = 0; cap < sizeof(header_golden) - 1; cap++)
        ck_assert_int_eq(wr_content_header_encode(60, 5, &p, out, cap, &len),
                         WR_ERR_NOSPACE);
}
END_TEST

void
fill_all_props(struct wr_props *p)
{
    memset(p, 0, sizeof(*p));
    p->flags = 0xFFFC;
    p->content_type = WR_BYTES_LIT("application/json");
    p->content_encoding = WR_BYTES_LIT("gzip");
    p->headers = golden_table();
    p->delivery_mode = 2;
    p->priority = 9;
    p->correlation_id = WR_BYTES_LIT("corr");
    p->reply_to = WR_BYTES_LIT("amq.rabbitmq.reply-to");
    p->expiration = WR_BYTES_LIT("60000");
    p->message_id = WR_BYTES_LIT("id-1");
    p->timestamp = 0x0102030405060708ULL;
    p->type = WR_BYTES_LIT("t");
    p->user_id = WR_BYTES_LIT("guest");
    p->app_id = WR_BYTES_LIT("warren");
    p->cluster_id = WR_BYTES_LIT("c");
}

static void
assert_props_equal(const struct wr_props *a, const struct wr_props *b)
{
    ck_assert_uint_eq(a->flags, b->flags);
    ck_assert(!(a->flags & WR_PROP_CONTENT_TYPE) ||
              wr_bytes_eq(a->content_type, b->content_type));
    ck_assert(!(a->flags & WR_PROP_CONTENT_ENCODING) ||
              wr_bytes_eq(a->content_encoding, b->content_encoding));
    ck_assert(!(a->flags & WR_PROP_HEADERS) ||
              wr_table_equal(a->headers, b->headers));
    ck_assert(!(a->flags & WR_PROP_DELIVERY_MODE) ||
              a->delivery_mode == b->delivery_mode);
    ck_assert(!(a->flags & WR_PROP_PRIORITY) || a->priority == b->priority);
    ck_assert(!(a->flags & WR_PROP_CORRELATION_ID) ||
              wr_bytes_eq(a->correlation_id, b->correlation_id));
    ck_assert(!(a->flags & WR_PROP_REPLY_TO) ||
              wr_bytes_eq(a->reply_to, b->reply_to));
    ck_assert(!(a->flags & WR_PROP_EXPIRATION) ||
              wr_bytes_eq(a->expiration, b->expiration));
    ck_assert(!(a->flags & WR_PROP_MESSAGE_ID) ||
              wr_bytes_eq(a->message_id, b->message_id));
    ck_assert(!(a->flags & WR_PROP_TIMESTAMP) || a->timestamp == b->timestamp);
    ck_assert(!(a->flags & WR_PROP_TYPE) || wr_bytes_eq(a->type, b->type));
    ck_assert(!(a->flags & WR_PROP_USER_ID) ||
              wr_bytes_eq(a->user_id, b->user_id));
    ck_assert(!(a->flags & WR_PROP_APP_ID) ||
              wr_bytes_eq(a->app_id, b->app_id));
    ck_assert(!(a->flags & WR_PROP_CLUSTER_ID) ||
              wr_bytes_eq(a->cluster_id, b->cluster_id));
}

/* All 14 properties together, then each alone (_i = flag bit 15..2). */
START_TEST(props_roundtrip)
{
    struct wr_props p, only;
    struct wr_content_header h;
    uint8_t out[1024];
    size_t len;

    fill_all_props(&p);
    if (_i < 16) {
        only = p;
        only.flags = (uint16_t)(1u << _i);
        p = only;
    }
    ck_assert_int_eq(
        wr_content_header_encode(60, 1u << 20, &p, out, sizeof(out), &len),
        WR_OK);
    ck_assert_int_eq(wr_content_header_decode(out, len, &h), WR_OK);
    ck_assert_uint_eq(h.body_size, 1u << 20);
    assert_props_equal(&p, &h.props);
    ck_assert_int_eq(wr_props_decode(h.raw_props, h.raw_props_len, &only),
                     WR_OK);
    assert_props_equal(&p, &only);
}
END_TEST

/* clang-format off */
static const char props_bad[][32] = {
    /* 0: class 60, weight 0, size 0, flags with bit 0 (continuation) */
    "\x00\x3C" "\x00\x00" "\x00\x00\x00\x00\x00\x00\x00\x00" "\x00\x01",
    /* 1: weight 1 */
    "\x00\x3C" "\x00\x01" "\x00\x00\x00\x00\x00\x00\x00\x00" "\x00\x00",
    /* 2: no properties, one byte too many */
    "\x00\x3C" "\x00\x00" "\x00\x00\x00\x00\x00\x00\x00\x00" "\x00\x00" "\x00",
};
static const size_t props_bad_len[] = {14, 14, 15};
/* clang-format on */

START_TEST(props_errors)
{
    struct wr_content_header h;
    struct wr_props p;
    uint8_t out[600];
    char big[256];
    size_t len;

    /* 4.2.6.1: bit 0 announces another flag word; basic has 14 flags, so
     * it must be clear. The weight must be zero. No trailing bytes. */
    for (size_t i = 0; i < WR_ARRAY_LEN(props_bad_len); i++)
        ck_assert_int_eq(wr_content_header_decode((const uint8_t *)props_bad[i],
                                                  props_bad_len[i], &h),
                         WR_ERR_SYNTAX);
    ck_assert_int_eq(wr_props_decode(G("\x80\x01\x00"), &p), WR_ERR_SYNTAX);
    /* No properties at all. */
    ck_assert_int_eq(
        wr_content_header_decode((const uint8_t *)props_bad[2], 14, &h), WR_OK);
    ck_assert_uint_eq(h.props.flags, 0);
    ck_assert_uint_eq(h.raw_props_len, 2);
    /* Flag bit 1 names no basic property: ignored. */
    ck_assert_int_eq(wr_props_decode(G("\x00\x02"), &p), WR_OK);
    ck_assert_uint_eq(p.flags, 0);
    /* A flag whose field is missing; a short string past the end. */
    ck_assert_int_eq(wr_props_decode(G("\x10\x00"), &p), WR_ERR_SYNTAX);
    ck_assert_int_eq(wr_props_decode(G("\x80\x00\x05"
                                       "abc"),
                                     &p),
                     WR_ERR_SYNTAX);
    /* Headers: a bad value type, a huge length. */
    ck_assert_int_eq(wr_props_decode(G("\x20\x00\x00\x00\x00\x03\x01"
                                       "aZ"),
                                     &p),
                     WR_ERR_FIELD_TYPE);
    ck_assert_int_eq(wr_props_decode(G("\x20\x00\xFF\xFF\xFF\xFF"), &p),
                     WR_ERR_SYNTAX);
    /* Encoding a short string over 255 octets. */
    memset(big, 'a', sizeof(big));
    memset(&p, 0, sizeof(p));
    p.flags = WR_PROP_MESSAGE_ID;
    p.message_id = (struct wr_bytes){(const uint8_t *)big, 256};
    ck_assert_int_eq(wr_props_encode(&p, out, sizeof(out), &len),
                     WR_ERR_INVALID);
}
END_TEST

TCase *
protocol_props_tcase(void)
{
    TCase *tc = tcase_create("props");

    tcase_add_test(tc, props_golden);
    /* 16 = all properties, 2..15 = each flag alone */
    tcase_add_loop_test(tc, props_roundtrip, 2, 17);
    tcase_add_test(tc, props_errors);
    return tc;
}
