/* SPDX-License-Identifier: MIT */
/* Test case "frame" of the protocol suite: frame encoding and decoding,
 * golden bytes, partial and bad frames. */
#include "cases.h"

/* ==== frames (AMQP 0-9-1 section 4.2.3, General Frame Format) ========== */

/* 4.2.7: heartbeat frames are type 8 on channel 0 with no payload. */
static const char heartbeat_golden[] = "\x08\x00\x00\x00\x00\x00\x00\xCE";

/* tune_frame_golden, a connection.tune method frame, is in cases.h. */

START_TEST(frame_heartbeat_golden)
{
    struct wr_frame f;
    size_t used = 0;

    ck_bytes(wr_heartbeat_frame, sizeof(wr_heartbeat_frame),
             G(heartbeat_golden));
    ck_assert_int_eq(wr_frame_decode(G(heartbeat_golden), 0, &f, &used), WR_OK);
    ck_assert_uint_eq(f.type, WR_FRAME_HEARTBEAT);
    ck_assert_uint_eq(f.channel, 0);
    ck_assert_uint_eq(f.size, 0);
    ck_assert_uint_eq(used, 8);
}
END_TEST

START_TEST(frame_encode_decode_golden)
{
    static const uint8_t payload[] = {0x00, 0x0A, 0x00, 0x1E, 0x07, 0xFF,
                                      0x00, 0x02, 0x00, 0x00, 0x00, 0x3C};
    uint8_t out[64];
    struct wr_frame f;
    size_t len = 0, used = 0;

    ck_assert_int_eq(wr_frame_encode(out, sizeof(out), WR_FRAME_METHOD, 0,
                                     payload, sizeof(payload), &len),
                     WR_OK);
    ck_bytes(out, len, G(tune_frame_golden));
    ck_assert_int_eq(
        wr_frame_decode(G(tune_frame_golden), WR_FRAME_MIN_SIZE, &f, &used),
        WR_OK);
    ck_assert_uint_eq(f.type, WR_FRAME_METHOD);
    ck_assert_uint_eq(f.size, sizeof(payload));
    ck_assert_uint_eq(used, sizeof(tune_frame_golden) - 1);
    ck_assert_mem_eq(f.payload, payload, sizeof(payload));
    /* Every smaller output buffer is refused. */
    for (size_t cap = 0; cap < len; cap++)
        ck_assert_int_eq(wr_frame_encode(out, cap, WR_FRAME_METHOD, 0, payload,
                                         sizeof(payload), &len),
                         WR_ERR_NOSPACE);
}
END_TEST

START_TEST(frame_header_encode_golden)
{
    uint8_t out[7];

    wr_frame_header_encode(out, WR_FRAME_BODY, 0x0102, 0x0A0B0C0D);
    ck_bytes(out, 7, G("\x03\x01\x02\x0A\x0B\x0C\x0D"));
}
END_TEST

/* Every strict prefix of a frame is "need more bytes". */
START_TEST(frame_truncated_is_again)
{
    const uint8_t *full = (const uint8_t *)tune_frame_golden;
    size_t n = sizeof(tune_frame_golden) - 1;
    struct wr_frame f;
    size_t used = 12345;

    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *p = dup_exact(full, cut);
        ck_assert_int_eq(wr_frame_decode(p, cut, 0, &f, &used), WR_AGAIN);
        ck_assert_uint_eq(used, 12345); /* untouched */
        wr_free(p);
    }
}
END_TEST

/* General Frame Format: "frame-end" must be %xCE, else a frame error. */
START_TEST(frame_bad_end)
{
    static const char bad[] = "\x08\x00\x00\x00\x00\x00\x00\xCF";
    struct wr_frame f;
    size_t used;

    ck_assert_int_eq(wr_frame_decode(G(bad), 0, &f, &used), WR_ERR_FRAME_END);
}
END_TEST

/* 4.2.3: frame-max bounds the whole frame; decided from the 7-byte header
 * before the payload has arrived. */
START_TEST(frame_too_large_from_header)
{
    static const char hdr_big[] = "\x01\x00\x01\x00\x00\x0F\xF9"; /* 4089 */
    static const char hdr_max[] = "\x01\x00\x01\x00\x00\x0F\xF8"; /* 4088 */
    static const char hdr_huge[] = "\x03\x00\x01\xFF\xFF\xFF\xFF";
    struct wr_frame f;
    size_t used;

    ck_assert_int_eq(wr_frame_decode(G(hdr_big), WR_FRAME_MIN_SIZE, &f, &used),
                     WR_ERR_FRAME_SIZE);
    ck_assert_int_eq(wr_frame_decode(G(hdr_huge), WR_FRAME_MIN_SIZE, &f, &used),
                     WR_ERR_FRAME_SIZE);
    ck_assert_int_eq(wr_frame_decode(G(hdr_huge), 131072, &f, &used),
                     WR_ERR_FRAME_SIZE);
    /* Exactly frame-max in total is fine: wait for the payload. */
    ck_assert_int_eq(wr_frame_decode(G(hdr_max), WR_FRAME_MIN_SIZE, &f, &used),
                     WR_AGAIN);
    /* frame_max 0: no limit. */
    ck_assert_int_eq(wr_frame_decode(G(hdr_huge), 0, &f, &used), WR_AGAIN);
}
END_TEST

START_TEST(frame_max_exact)
{
    size_t n = WR_FRAME_MIN_SIZE;
    uint8_t *buf = wr_calloc(1, n);
    struct wr_frame f;
    size_t used = 0;

    ck_assert_ptr_nonnull(buf);
    wr_frame_header_encode(buf, WR_FRAME_BODY, 1, (uint32_t)(n - 8));
    buf[n - 1] = WR_FRAME_END;
    ck_assert_int_eq(wr_frame_decode(buf, n, WR_FRAME_MIN_SIZE, &f, &used),
                     WR_OK);
    ck_assert_uint_eq(used, n);
    ck_assert_uint_eq(f.size, n - 8);
    wr_free(buf);
}
END_TEST

/* 4.2.3: types are 1 method, 2 header, 3 body, 8 heartbeat. */
START_TEST(frame_unknown_type)
{
    static const uint8_t bad_types[] = {0, 4, 5, 6, 7, 9, 0x41, 0xCE, 0xFF};
    uint8_t buf[8] = {0, 0, 0, 0, 0, 0, 0, WR_FRAME_END};
    struct wr_frame f;
    size_t used;

    for (size_t i = 0; i < sizeof(bad_types); i++) {
        buf[0] = bad_types[i];
        ck_assert_int_eq(wr_frame_decode(buf, 8, 0, &f, &used),
                         WR_ERR_FRAME_TYPE);
        /* The header alone is enough to tell. */
        ck_assert_int_eq(wr_frame_decode(buf, 7, 0, &f, &used),
                         WR_ERR_FRAME_TYPE);
    }
}
END_TEST

/* Frames back to back, fed one byte at a time: each is found exactly when
 * its last byte arrives. */
START_TEST(frame_stream_bytewise)
{
    uint8_t stream[64];
    size_t n = 0, have = 0, start = 0, frames = 0;
    struct wr_frame f;
    size_t used;

    memcpy(stream + n, tune_frame_golden, sizeof(tune_frame_golden) - 1);
    n += sizeof(tune_frame_golden) - 1;
    memcpy(stream + n, wr_heartbeat_frame, 8);
    n += 8;
    memcpy(stream + n, tune_frame_golden, sizeof(tune_frame_golden) - 1);
    n += sizeof(tune_frame_golden) - 1;
    while (have < n) {
        int rc;
        have++;
        rc = wr_frame_decode(stream + start, have - start, 0, &f, &used);
        if (rc == WR_AGAIN)
            continue;
        ck_assert_int_eq(rc, WR_OK);
        start += used;
        ck_assert_uint_eq(start, have);
        frames++;
    }
    ck_assert_uint_eq(frames, 3);
}
END_TEST

TCase *
protocol_frame_tcase(void)
{
    TCase *tc = tcase_create("frame");

    tcase_add_test(tc, frame_heartbeat_golden);
    tcase_add_test(tc, frame_encode_decode_golden);
    tcase_add_test(tc, frame_header_encode_golden);
    tcase_add_test(tc, frame_truncated_is_again);
    tcase_add_test(tc, frame_bad_end);
    tcase_add_test(tc, frame_too_large_from_header);
    tcase_add_test(tc, frame_max_exact);
    tcase_add_test(tc, frame_unknown_type);
    tcase_add_test(tc, frame_stream_bytewise);
    return tc;
}
