/* SPDX-License-Identifier: MIT */
/* Test case "persist" of the queues suite: the payloads of durable
 * queues' store records (queues/persist.c, STORE.md "Record types"):
 * golden bytes, a message through its MSG record and back, and every
 * malformed payload refused. */
#include "cases.h"

/* A persistent message with a priority, and BCC keys (routing only: not
 * in its record). */
static struct wr_msg *
persistent_msg(const char *body)
{
    struct wr_props p;
    uint8_t props[64];
    size_t plen;
    struct wr_msg_spec spec = {0};
    struct wr_msg *m;
    static const uint8_t bcc[] = {'S', 0, 0, 0, 1, 'k'};

    memset(&p, 0, sizeof(p));
    p.flags = WR_PROP_PRIORITY | WR_PROP_DELIVERY_MODE;
    p.priority = 3;
    p.delivery_mode = 2;
    ck_assert_int_eq(wr_props_encode(&p, props, sizeof(props), &plen), WR_OK);
    spec.exchange = WR_BYTES_LIT("amq.direct");
    spec.rkey = WR_BYTES_LIT("rk");
    spec.props = props;
    spec.props_len = (uint32_t)plen;
    spec.bcc = (struct wr_bytes){bcc, sizeof bcc};
    spec.body_size = strlen(body);
    m = wr_msg_build(&spec);
    ck_assert_ptr_nonnull(m);
    memcpy(wr_msg_body(m), body, strlen(body));
    return m;
}

static size_t
join(const struct wr_bytes *parts, unsigned n, uint8_t *out)
{
    size_t len = 0;

    for (unsigned i = 0; i < n; i++) {
        memcpy(out + len, parts[i].ptr, parts[i].len);
        len += parts[i].len;
    }
    return len;
}

START_TEST(prec_msg_round_trip)
{
    struct wr_msg *m = persistent_msg("hello"), *back;
    uint8_t hdr[WR_PREC_MSG_HDR], buf[256];
    struct wr_bytes parts[3];
    struct wr_prec rec;
    size_t len;

    ck_assert_uint_eq(wr_prec_msg_parts(m, 1700000000123, hdr, parts), 3);
    len = join(parts, 3, buf);
    /* 24 + "amq.direct" + "rk" + properties + "hello", no BCC keys. */
    ck_assert_uint_eq(len, 24 + 10 + 2 + m->props_len + 5);
    ck_assert_uint_eq(buf[0], WR_PREC_VERSION);
    ck_assert_uint_eq(buf[1], WR_PREC_PERSISTENT);
    ck_assert_int_eq(wr_prec_decode(WR_PREC_MSG,
                                    (struct wr_bytes){buf, (uint32_t)len},
                                    &rec),
                     WR_OK);
    ck_assert(rec.msg.persistent);
    ck_assert_int_eq(rec.msg.published_ms, 1700000000123);
    ck_assert(wr_bytes_eq_str(rec.msg.exchange, "amq.direct"));
    ck_assert(wr_bytes_eq_str(rec.msg.rkey, "rk"));
    ck_assert(wr_bytes_eq_str(rec.msg.body, "hello"));
    ck_assert_uint_eq(rec.msg.props.len, m->props_len);
    back = wr_prec_msg_build(&rec.msg);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(back->priority, 3);
    ck_assert_uint_eq(back->persistent, 1);
    ck_assert_uint_eq(back->bcc_len, 0);
    ck_assert(wr_bytes_eq(wr_msg_exchange(back), wr_msg_exchange(m)));
    ck_assert(wr_bytes_eq(wr_msg_rkey(back), wr_msg_rkey(m)));
    ck_assert_mem_eq(wr_msg_props_data(back), wr_msg_props_data(m),
                     m->props_len);
    ck_assert_mem_eq(wr_msg_body(back), "hello", 5);
    /* Any other length is refused: one byte short, one too many. */
    ck_assert_int_eq(wr_prec_decode(WR_PREC_MSG,
                                    (struct wr_bytes){buf, (uint32_t)len - 1},
                                    &rec),
                     WR_ERR_SYNTAX);
    ck_assert_int_eq(wr_prec_decode(WR_PREC_MSG,
                                    (struct wr_bytes){buf, (uint32_t)len + 1},
                                    &rec),
                     WR_ERR_SYNTAX);
    /* A body length near 2^64 must not wrap the sum of the lengths
     * around to the payload's (fuzz_prec: crash_body_length_wraps). */
    {
        uint8_t w[24 + 23] = {1, 1, 10, 2, 0, 0, 0, 12};

        memset(w + 8, 0xff, 8); /* 10 + 2 + 12 + (2^64 - 1) = 23 */
        ck_assert_int_eq(
            wr_prec_decode(WR_PREC_MSG, (struct wr_bytes){w, sizeof w}, &rec),
            WR_ERR_SYNTAX);
    }
    buf[0] = 2; /* a version this code does not know */
    ck_assert_int_eq(wr_prec_decode(WR_PREC_MSG,
                                    (struct wr_bytes){buf, (uint32_t)len},
                                    &rec),
                     WR_ERR_SYNTAX);
    wr_msg_unref(&back);
    wr_msg_unref(&m);
}
END_TEST

/* Golden bytes, STORE.md "Record types": big-endian, reserved zero. */
START_TEST(prec_fixed_golden)
{
    struct wr_prec_enq e = {0x0102030405060708,
                            {0x1112131415161718, 0x21222324, 0x31323334},
                            9,
                            0x41424344,
                            0x5152535455565758};
    struct wr_prec_ref r = {7, 0x1000, 2};
    static const uint8_t want_enq[WR_PREC_ENQ_SIZE] = {
        1,    2,    3,    4,    5,    6,    7,    8,    0x11, 0x12,
        0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x21, 0x22, 0x23, 0x24,
        0x31, 0x32, 0x33, 0x34, 9,    0,    0,    0,    0x41, 0x42,
        0x43, 0x44, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58};
    static const uint8_t want_ref[WR_PREC_REF_SIZE] = {
        0, 0, 0,    0, 0, 0, 0, 7, 0, 0, 0, 0,
        0, 0, 0x10, 0, 0, 0, 0, 2, 0, 0, 0, 0};
    uint8_t buf[64];
    struct wr_prec rec;

    ck_assert_uint_eq(wr_prec_enq_encode(buf, &e), WR_PREC_ENQ_SIZE);
    ck_assert_mem_eq(buf, want_enq, WR_PREC_ENQ_SIZE);
    ck_assert_int_eq(wr_prec_decode(WR_PREC_ENQ,
                                    (struct wr_bytes){buf, WR_PREC_ENQ_SIZE},
                                    &rec),
                     WR_OK);
    ck_assert_uint_eq(rec.enq.queue_id, e.queue_id);
    ck_assert_uint_eq(rec.enq.msg.offset, e.msg.offset);
    ck_assert_uint_eq(rec.enq.msg.pos, e.msg.pos);
    ck_assert_uint_eq(rec.enq.msg.len, e.msg.len);
    ck_assert_uint_eq(rec.enq.priority, 9);
    ck_assert_uint_eq(rec.enq.delivery_count, e.delivery_count);
    ck_assert_int_eq(rec.enq.expires_ms, e.expires_ms);
    buf[26] = 1; /* reserved */
    ck_assert_int_eq(wr_prec_decode(WR_PREC_ENQ,
                                    (struct wr_bytes){buf, WR_PREC_ENQ_SIZE},
                                    &rec),
                     WR_ERR_SYNTAX);

    ck_assert_uint_eq(wr_prec_ref_encode(buf, &r), WR_PREC_REF_SIZE);
    ck_assert_mem_eq(buf, want_ref, WR_PREC_REF_SIZE);
    ck_assert_int_eq(wr_prec_decode(WR_PREC_REQUEUE,
                                    (struct wr_bytes){buf, WR_PREC_REF_SIZE},
                                    &rec),
                     WR_OK);
    ck_assert_uint_eq(rec.ref.queue_id, 7);
    ck_assert_uint_eq(rec.ref.entry_id, 0x1000);
    ck_assert_uint_eq(rec.ref.delivery_count, 2);
    /* Only REQUEUE has a delivery count. */
    ck_assert_int_eq(wr_prec_decode(WR_PREC_SETTLE,
                                    (struct wr_bytes){buf, WR_PREC_REF_SIZE},
                                    &rec),
                     WR_ERR_SYNTAX);
    r.delivery_count = 0;
    wr_prec_ref_encode(buf, &r);
    for (uint8_t t = WR_PREC_SETTLE; t <= WR_PREC_PURGE; t++) {
        ck_assert_int_eq(
            wr_prec_decode(t, (struct wr_bytes){buf, WR_PREC_REF_SIZE}, &rec),
            WR_OK);
        ck_assert_int_eq(
            wr_prec_decode(t, (struct wr_bytes){buf, WR_PREC_REF_SIZE - 1},
                           &rec),
            WR_ERR_SYNTAX);
    }
    ck_assert_int_eq(wr_prec_decode(WR_PREC_ENQ,
                                    (struct wr_bytes){buf, WR_PREC_REF_SIZE},
                                    &rec),
                     WR_ERR_SYNTAX);
    ck_assert_int_eq(
        wr_prec_decode(16, (struct wr_bytes){buf, WR_PREC_REF_SIZE}, &rec),
        WR_ERR_INVALID);
}
END_TEST

TCase *
queues_persist_tcase(void)
{
    TCase *tc = tcase_create("persist");

    tcase_add_test(tc, prec_msg_round_trip);
    tcase_add_test(tc, prec_fixed_golden);
    return tc;
}
