/* SPDX-License-Identifier: MIT */
/* The store suite (tests/unit/check_store.c) keeps its recovery and model
 * test cases here, one file each; this is what they share (defined in
 * check_store.c). */
#ifndef WARREN_TEST_STORE_CASES_H
#define WARREN_TEST_STORE_CASES_H

#include "../../../store/store_internal.h"

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The test cases kept here, in the order the suite runs them. */
TCase *store_recovery_tcase(void);
TCase *store_model_tcase(void);
TCase *store_cursor_tcase(void);
TCase *store_offsets_tcase(void);
TCase *store_compact_tcase(void);

/* The test's store directory, made by the fixture and removed after. */
extern char dir[256];

/* What recovery gave back (on_record, on_damage in check_store.c). */
#define MAX_SEEN 4096

struct seen {
    size_t n;
    uint8_t type[MAX_SEEN];
    struct wr_store_loc loc[MAX_SEEN];
    uint8_t first_byte[MAX_SEEN];
    size_t damages, torn;
    uint64_t damage_pos[16];
    bool ref; /* take a reference on each */
    struct wr_store *st;
};

/* Opens the store in dir with options o (NULL: defaults) and recovers it
 * into s. */
struct wr_store *open_store(const struct wr_store_opts *o, struct seen *s);
/* Appends records from..from+n-1, each filled with its own number (type
 * 1 + i % 200), into locs[i]; reads record i back at loc and checks it. */
void append_n(struct wr_store *st, uint64_t from, uint64_t n,
              struct wr_store_loc *locs);
void check_read(struct wr_store *st, const struct wr_store_loc *loc,
                uint64_t i);
/* The path of the segment file whose first record is `first`; flips one
 * bit of the byte at pos in it; how many segment files there are. */
void file_path(char *out, size_t n, uint64_t first);
void flip_byte(uint64_t seg_first, uint64_t pos);
size_t count_segments(void);

#endif
