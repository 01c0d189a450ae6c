/* SPDX-License-Identifier: MIT */
/* Unit tests of the AMQP 0-9-1 codec (protocol/): golden bytes written by
 * hand from the spec, round trips of every method and field type, and
 * truncation at every offset. Suite "protocol"; its test cases are in
 * tests/unit/protocol/, one file each. */
#include "protocol/cases.h"

/* A copy of p[0..n) in an allocation of exactly n bytes, so that ASan sees
 * any read past the end. */
uint8_t *
dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *d = wr_malloc(n ? n : 1);

    ck_assert_ptr_nonnull(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

void
ck_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
         size_t want_len)
{
    ck_assert_uint_eq(got_len, want_len);
    for (size_t i = 0; i < want_len; i++)
        ck_assert_msg(got[i] == want[i], "byte %zu: got 0x%02x, want 0x%02x", i,
                      got[i], want[i]);
}

static Suite *
protocol_suite(void)
{
    Suite *s = suite_create("protocol");

    suite_add_tcase(s, protocol_frame_tcase());
    suite_add_tcase(s, protocol_proto_header_tcase());
    suite_add_tcase(s, protocol_methods_tcase());
    suite_add_tcase(s, protocol_tables_tcase());
    suite_add_tcase(s, protocol_props_tcase());
    suite_add_tcase(s, protocol_truncation_tcase());
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(protocol_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
