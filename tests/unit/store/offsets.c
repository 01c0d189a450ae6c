/* SPDX-License-Identifier: MIT */
/* The consumer offsets file (store/offsets.c, STORE.md "Consumer
 * offsets"): the record and header layouts in golden bytes, the decoder's
 * refusals, the scan over damaged and torn images, and the file: set,
 * flush, reopen, the last value of a tag winning, a torn tail cut, the
 * tag cap, the rewrite that keeps it small, destroy. */
#include "cases.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a scan or an open reported. */
struct got {
    int n;
    char tag[16][8];
    uint64_t off[16];
    int damages, torn;
    uint64_t damage_pos[8];
};

static void
on_rec(void *arg, struct wr_bytes tag, uint64_t offset)
{
    struct got *g = arg;

    ck_assert_int_lt(g->n, 16);
    ck_assert_uint_lt(tag.len, 8);
    memcpy(g->tag[g->n], tag.ptr, tag.len);
    g->tag[g->n][tag.len] = '\0';
    g->off[g->n++] = offset;
}

static void
on_dmg(void *arg, const struct wr_store_damage *d)
{
    struct got *g = arg;

    ck_assert_str_eq(d->file, "offsets");
    if (g->damages < 8)
        g->damage_pos[g->damages] = d->pos;
    g->damages++;
    if (d->torn)
        g->torn++;
}

START_TEST(offsets_golden)
{
    /* marker, tag length, offset (big-endian), tag, CRC32C of the rest */
    static const uint8_t want[] = {0xA7, 0x02, 0x01, 0x02, 0x03, 0x04,
                                   0x05, 0x06, 0x07, 0x08, 'a',  'b',
                                   0xCA, 0x74, 0x76, 0x11};
    static const uint8_t hdr[] = {'W', 'R', 'O', 'F', 'F',  'S',  '0',  '1',
                                  0,   0,   0,   0,   0x39, 0x57, 0xD0, 0x09};
    uint8_t buf[WR_OFFREC_MAX], long_tag[255];
    struct wr_bytes tag;
    uint64_t off;
    size_t n;

    ck_assert_uint_eq(wr_offrec_encode("ab", 2, 0x0102030405060708ull, buf),
                      sizeof want);
    ck_assert_mem_eq(buf, want, sizeof want);
    ck_assert_int_eq(wr_offrec_decode(want, sizeof want, &tag, &off, &n),
                     WR_OK);
    ck_assert_uint_eq(n, sizeof want);
    ck_assert_uint_eq(off, 0x0102030405060708ull);
    ck_assert_uint_eq(tag.len, 2);
    ck_assert_mem_eq(tag.ptr, "ab", 2);
    wr_offsets_hdr_encode(buf);
    ck_assert_mem_eq(buf, hdr, sizeof hdr);
    /* the longest tag */
    memset(long_tag, 'z', sizeof long_tag);
    ck_assert_uint_eq(wr_offrec_encode(long_tag, 255, 7, buf), WR_OFFREC_MAX);
    ck_assert_int_eq(wr_offrec_decode(buf, WR_OFFREC_MAX, &tag, &off, &n),
                     WR_OK);
    ck_assert_uint_eq(tag.len, 255);
}
END_TEST

START_TEST(offsets_decode_refuses)
{
    uint8_t buf[WR_OFFREC_MAX];
    struct wr_bytes tag;
    uint64_t off;
    size_t n = wr_offrec_encode("tag", 3, 42, buf), used;

    /* cut anywhere: not complete yet */
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(wr_offrec_decode(buf, i, &tag, &off, &used), WR_AGAIN);
    /* any bit flipped: not a record */
    for (size_t i = 0; i < n * 8; i++) {
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        ck_assert_int_ne(wr_offrec_decode(buf, n, &tag, &off, &used), WR_OK);
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    /* a tag of length 0 */
    buf[1] = 0;
    ck_assert_int_eq(wr_offrec_decode(buf, n, &tag, &off, &used),
                     WR_ERR_SYNTAX);
}
END_TEST

/* An image: the header, then records a=1, b=2, a=3. */
static size_t
image(uint8_t *buf, size_t rec_at[3])
{
    size_t n = WR_OFFSETS_HDR;

    wr_offsets_hdr_encode(buf);
    rec_at[0] = n;
    n += wr_offrec_encode("a", 1, 1, buf + n);
    rec_at[1] = n;
    n += wr_offrec_encode("b", 1, 2, buf + n);
    rec_at[2] = n;
    n += wr_offrec_encode("a", 1, 3, buf + n);
    return n;
}

START_TEST(offsets_scan_damage)
{
    uint8_t buf[256];
    size_t at[3], len = image(buf, at), end;
    struct got g;

    /* whole: every record in order, nothing reported */
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(wr_offsets_scan(buf, len, on_rec, &g, on_dmg, &g, &end),
                     0);
    ck_assert_int_eq(g.n, 3);
    ck_assert_str_eq(g.tag[2], "a");
    ck_assert_uint_eq(g.off[2], 3);
    ck_assert_uint_eq(end, len);
    /* empty: nothing at all */
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(wr_offsets_scan(buf, 0, on_rec, &g, on_dmg, &g, &end), 0);
    ck_assert_uint_eq(end, 0);
    /* a short header: torn */
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(wr_offsets_scan(buf, 9, on_rec, &g, on_dmg, &g, &end), 1);
    ck_assert_int_eq(g.torn, 1);
    ck_assert_uint_eq(end, 0);
    /* the last record cut: torn, the good ones kept */
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(
        wr_offsets_scan(buf, len - 3, on_rec, &g, on_dmg, &g, &end), 1);
    ck_assert_int_eq(g.n, 2);
    ck_assert_int_eq(g.torn, 1);
    ck_assert_uint_eq(end, at[2]);
    /* zeros after the last record (a file system's hole): torn too */
    memset(buf + len, 0, 40);
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(
        wr_offsets_scan(buf, len + 40, on_rec, &g, on_dmg, &g, &end), 1);
    ck_assert_int_eq(g.n, 3);
    ck_assert_uint_eq(end, len);
    /* the middle record damaged: skipped, reported, the next one read */
    buf[at[1] + 5] ^= 0x01;
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(wr_offsets_scan(buf, len, on_rec, &g, on_dmg, &g, &end),
                     1);
    ck_assert_int_eq(g.n, 2);
    ck_assert_int_eq(g.torn, 0);
    ck_assert_uint_eq(g.damage_pos[0], at[1]);
    ck_assert_uint_eq(g.off[1], 3);
    ck_assert_uint_eq(end, len);
    buf[at[1] + 5] ^= 0x01;
    /* a bad header: reported, the records still read */
    buf[3] ^= 0x20;
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(wr_offsets_scan(buf, len, on_rec, &g, on_dmg, &g, &end),
                     1);
    ck_assert_int_eq(g.n, 3);
    ck_assert_uint_eq(g.damage_pos[0], 0);
}
END_TEST

static struct wr_offsets *
open_offsets(uint32_t max_tags, struct got *g)
{
    struct wr_offsets *o = NULL;
    char err[256];

    memset(g, 0, sizeof *g);
    ck_assert_int_eq(
        wr_offsets_open(dir, max_tags, on_dmg, g, &o, err, sizeof err), WR_OK);
    return o;
}

static off_t
file_size(void)
{
    char path[300];
    struct stat sb;

    snprintf(path, sizeof path, "%s/offsets", dir);
    if (stat(path, &sb) != 0)
        return -1;
    return sb.st_size;
}

static uint64_t
get(struct wr_offsets *o, const char *tag)
{
    uint64_t v = UINT64_MAX;

    if (!wr_offsets_get(o, tag, strlen(tag), &v))
        return UINT64_MAX;
    return v;
}

START_TEST(offsets_file_roundtrip)
{
    struct got g;
    struct wr_offsets *o = open_offsets(0, &g);
    char path[300];
    int fd;

    /* a new file has its header at once */
    ck_assert_int_eq(file_size(), WR_OFFSETS_HDR);
    ck_assert_uint_eq(get(o, "a"), UINT64_MAX);
    ck_assert_int_eq(wr_offsets_set(o, "a", 1, 5), WR_OK);
    ck_assert_int_eq(wr_offsets_set(o, "bb", 2, 7), WR_OK);
    ck_assert_int_eq(wr_offsets_set(o, "", 0, 7), WR_ERR_INVALID);
    ck_assert_uint_eq(get(o, "a"), 5);
    ck_assert_int_eq(file_size(), WR_OFFSETS_HDR); /* not flushed yet */
    ck_assert_int_eq(wr_offsets_flush(o), WR_OK);
    ck_assert_int_eq(file_size(), WR_OFFSETS_HDR + 15 + 16);
    ck_assert_int_eq(wr_offsets_set(o, "a", 1, 9), WR_OK);
    ck_assert_int_eq(wr_offsets_set(o, "a", 1, 10), WR_OK);
    ck_assert_int_eq(wr_offsets_close(o), WR_OK); /* flushes */
    ck_assert_int_eq(file_size(), WR_OFFSETS_HDR + 15 + 16 + 15);
    o = open_offsets(0, &g);
    ck_assert_int_eq(g.damages, 0);
    ck_assert_uint_eq(wr_offsets_count(o), 2);
    ck_assert_uint_eq(get(o, "a"), 10);
    ck_assert_uint_eq(get(o, "bb"), 7);
    ck_assert_int_eq(wr_offsets_close(o), WR_OK);
    /* a torn tail (half a record): cut, reported, the rest kept, and
     * appends go after the good data */
    snprintf(path, sizeof path, "%s/offsets", dir);
    fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "\xA7\x03\x00\x00", 4), 4);
    close(fd);
    o = open_offsets(0, &g);
    ck_assert_int_eq(g.torn, 1);
    ck_assert_uint_eq(get(o, "a"), 10);
    ck_assert_int_eq(file_size(), WR_OFFSETS_HDR + 15 + 16); /* rewritten */
    ck_assert_int_eq(wr_offsets_set(o, "ccc", 3, 1), WR_OK);
    ck_assert_int_eq(wr_offsets_close(o), WR_OK);
    o = open_offsets(0, &g);
    ck_assert_int_eq(g.damages, 0);
    ck_assert_uint_eq(get(o, "ccc"), 1);
    ck_assert_uint_eq(get(o, "a"), 10);
    /* destroy removes the file */
    wr_offsets_destroy(o);
    ck_assert_int_eq(file_size(), -1);
}
END_TEST

START_TEST(offsets_tag_cap)
{
    struct got g;
    struct wr_offsets *o = open_offsets(3, &g);

    ck_assert_int_eq(wr_offsets_set(o, "t1", 2, 1), WR_OK);
    ck_assert_int_eq(wr_offsets_set(o, "t2", 2, 2), WR_OK);
    ck_assert_int_eq(wr_offsets_set(o, "t3", 2, 3), WR_OK);
    ck_assert_int_eq(wr_offsets_flush(o), WR_OK);
    ck_assert_int_eq(wr_offsets_set(o, "t1", 2, 11), WR_OK); /* t2 oldest */
    ck_assert_int_eq(wr_offsets_set(o, "t4", 2, 4), WR_OK);
    ck_assert_uint_eq(wr_offsets_count(o), 3);
    ck_assert_uint_eq(wr_offsets_evicted(o), 1);
    ck_assert_uint_eq(get(o, "t2"), UINT64_MAX);
    ck_assert_int_eq(wr_offsets_close(o), WR_OK);
    /* the file still has t2's record: the cap drops it again at open, the
     * oldest first, and the file is rewritten */
    o = open_offsets(3, &g);
    ck_assert_uint_eq(wr_offsets_count(o), 3);
    ck_assert_uint_eq(get(o, "t2"), UINT64_MAX);
    ck_assert_uint_eq(get(o, "t1"), 11);
    ck_assert_int_eq(wr_offsets_close(o), WR_OK);
    ck_assert_int_eq(file_size(), WR_OFFSETS_HDR + 3 * 16);
    o = open_offsets(2, &g);
    ck_assert_uint_eq(wr_offsets_count(o), 2);
    ck_assert_uint_eq(get(o, "t3"), UINT64_MAX);
    ck_assert_uint_eq(get(o, "t4"), 4);
    ck_assert_int_eq(wr_offsets_close(o), WR_OK);
}
END_TEST

START_TEST(offsets_rewritten_when_stale)
{
    struct got g;
    struct wr_offsets *o = open_offsets(0, &g);
    off_t biggest = 0;

    ck_assert_int_eq(wr_offsets_set(o, "other", 5, 77), WR_OK);
    /* 15-byte records of one tag: past 1 MiB the file is rewritten */
    for (uint64_t i = 0; i < 100000; i++) {
        ck_assert_int_eq(wr_offsets_set(o, "t", 1, i), WR_OK);
        ck_assert_int_eq(wr_offsets_flush(o), WR_OK);
        if (i % 1000 == 0 && file_size() > biggest)
            biggest = file_size();
    }
    ck_assert_int_le(biggest, (1 << 20) + 64);
    ck_assert_int_lt(file_size(), (1 << 20));
    ck_assert_int_eq(wr_offsets_close(o), WR_OK);
    o = open_offsets(0, &g);
    ck_assert_int_eq(g.damages, 0);
    ck_assert_uint_eq(get(o, "t"), 99999);
    ck_assert_uint_eq(get(o, "other"), 77);
    ck_assert_int_eq(wr_offsets_close(o), WR_OK);
}
END_TEST

TCase *
store_offsets_tcase(void)
{
    TCase *tc = tcase_create("offsets");

    tcase_add_test(tc, offsets_golden);
    tcase_add_test(tc, offsets_decode_refuses);
    tcase_add_test(tc, offsets_scan_damage);
    tcase_add_test(tc, offsets_file_roundtrip);
    tcase_add_test(tc, offsets_tag_cap);
    tcase_add_test(tc, offsets_rewritten_when_stale);
    return tc;
}
