/* SPDX-License-Identifier: MIT */
/* The protocol suite (tests/unit/check_protocol.c) has one file per test
 * case here; this is what they share. */
#ifndef WARREN_TEST_PROTOCOL_CASES_H
#define WARREN_TEST_PROTOCOL_CASES_H

#include "../../../protocol/protocol.h"

#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The test cases, in the order the suite runs them. */
TCase *protocol_frame_tcase(void);
TCase *protocol_proto_header_tcase(void);
TCase *protocol_methods_tcase(void);
TCase *protocol_tables_tcase(void);
TCase *protocol_props_tcase(void);
TCase *protocol_truncation_tcase(void);

/* A golden byte string given as a C string literal (without its NUL). */
#define G(arr) ((const uint8_t *)(arr)), (sizeof(arr) - 1)

/* check_protocol.c: a copy of p[0..n) in an exact-size allocation (free
 * it with wr_free); assert that got equals want, byte by byte. */
uint8_t *dup_exact(const uint8_t *p, size_t n);
void ck_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
              size_t want_len);

/* tables.c: the all-types golden table, built and as bytes; a table
 * nested levels deep (free it with wr_free); a literal as a table. */
struct wr_table build_all_types(uint8_t *buf, size_t cap, struct wr_tb *b);
struct wr_table golden_table(void);
uint8_t *nested(size_t levels, uint8_t type, size_t *len);
struct wr_table tbl(const char *lit, size_t len);
#define T(lit) tbl(lit, sizeof(lit) - 1)

/* methods.c: every field of a method set from its descriptor; assert two
 * methods are equal field by field. */
void fill_method(struct wr_method *m, uint32_t id, int pattern);
void assert_methods_equal(const struct wr_method *a, const struct wr_method *b);

/* props.c: every basic property set. */
void fill_all_props(struct wr_props *p);

/* Goldens that two files use (frame.c and methods.c; props.c and
 * truncation.c). */

/* connection.tune (10, 30): channel-max 2047, frame-max 131072,
 * heartbeat 60, as a method frame on channel 0. */
static const char tune_frame_golden[] = "\x01\x00\x00\x00\x00\x00\x0C"
                                        "\x00\x0A\x00\x1E"
                                        "\x07\xFF"
                                        "\x00\x02\x00\x00"
                                        "\x00\x3C"
                                        "\xCE";

/* class 60, weight 0, body-size 5; content-type "text/plain", headers
 * {x: I 1}, delivery-mode 2, priority 5, timestamp 1600000000 (0x5F5E1000),
 * app-id "app": flags 0x8000|0x2000|0x1000|0x0800|0x0040|0x0008. */
/* clang-format off */
static const char header_golden[] =
    "\x00\x3C"                               /* class-id 60 */
    "\x00\x00"                               /* weight */
    "\x00\x00\x00\x00\x00\x00\x00\x05"       /* body-size */
    "\xB8\x48"                               /* property flags */
    "\x0A" "text/plain"                      /* content-type */
    "\x00\x00\x00\x07" "\x01" "x" "I\x00\x00\x00\x01" /* headers */
    "\x02"                                   /* delivery-mode */
    "\x05"                                   /* priority */
    "\x00\x00\x00\x00\x5F\x5E\x10\x00"       /* timestamp */
    "\x03" "app";                            /* app-id */
/* clang-format on */

#endif
