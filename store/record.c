/* SPDX-License-Identifier: MIT */
/* The store's byte layouts (STORE.md "Format"): segment, chunk and record
 * headers, big-endian, and CRC32C (SSE4.2 where the CPU has it, slice-by-8
 * tables elsewhere). */
#include "store_internal.h"

#include <pthread.h>
#include <string.h>

/* ---- CRC32C ----------------------------------------------------------- */

#define CRC32C_POLY 0x82F63B78u /* Castagnoli, reflected */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static uint32_t (*crc_impl)(uint32_t, const uint8_t *, size_t);

static uint32_t
crc_sw(uint32_t c, const uint8_t *p, size_t n)
{
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        n--;
    }
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                           (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
                      (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;

        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
            crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
            crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n-- > 0)
        c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;

    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t v;

        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        n -= 8;
    }
    while (n-- > 0)
        c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
    return (uint32_t)c64;
}
#endif

static void
crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xff] ^
                              (crc_table[t - 1][i] >> 8);
    crc_impl = crc_sw;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2"))
        crc_impl = crc_hw;
#endif
}

uint32_t
wr_crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_impl(~crc, buf, len);
}

/* The table version whatever the CPU: for the unit test that compares the
 * two. */
uint32_t wr_crc32c_sw(uint32_t crc, const void *buf, size_t len);

uint32_t
wr_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_sw(~crc, buf, len);
}

/* ---- integers --------------------------------------------------------- */

void
wr_store_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void
wr_store_put64(uint8_t *p, uint64_t v)
{
    wr_store_put32(p, (uint32_t)(v >> 32));
    wr_store_put32(p + 4, (uint32_t)v);
}

uint32_t
wr_store_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

uint64_t
wr_store_get64(const uint8_t *p)
{
    return (uint64_t)wr_store_get32(p) << 32 | wr_store_get32(p + 4);
}

/* ---- headers ---------------------------------------------------------- */

void
wr_seg_hdr_encode(uint8_t *p, uint64_t first, int64_t time_ms)
{
    memcpy(p, WR_SEG_MAGIC, 8);
    wr_store_put64(p + 8, first);
    wr_store_put64(p + 16, (uint64_t)time_ms);
    wr_store_put32(p + 24, 0);
    wr_store_put32(p + 28, wr_crc32c(0, p, 28));
}

uint32_t
wr_seg_hdr_flags(const uint8_t *p)
{
    return wr_store_get32(p + 24);
}

void
wr_seg_hdr_set_flags(uint8_t *p, uint32_t flags)
{
    wr_store_put32(p + 24, flags);
    wr_store_put32(p + 28, wr_crc32c(0, p, 28));
}

int
wr_seg_hdr_decode(const uint8_t *p, uint64_t *first)
{
    if (memcmp(p, WR_SEG_MAGIC, 8) != 0 ||
        wr_store_get32(p + 28) != wr_crc32c(0, p, 28))
        return WR_ERR_SYNTAX;
    *first = wr_store_get64(p + 8);
    return WR_OK;
}

void
wr_chunk_hdr_encode(uint8_t *p, const struct wr_chunk_hdr *h)
{
    p[0] = WR_CHUNK_MAGIC;
    p[1] = h->type;
    p[2] = (uint8_t)(h->entries >> 8);
    p[3] = (uint8_t)h->entries;
    wr_store_put32(p + 4, h->records);
    wr_store_put64(p + 8, (uint64_t)h->time_ms);
    wr_store_put64(p + 16, h->epoch);
    wr_store_put64(p + 24, h->first);
    wr_store_put32(p + 32, h->data_crc);
    wr_store_put32(p + 36, h->data_len);
    wr_store_put32(p + 40, h->trailer_len);
    wr_store_put32(p + 44, wr_crc32c(0, p, 44));
}

int
wr_chunk_hdr_decode(const uint8_t *p, struct wr_chunk_hdr *h)
{
    if (p[0] != WR_CHUNK_MAGIC ||
        (p[1] != WR_CHUNK_RECORDS && p[1] != WR_CHUNK_USER) ||
        wr_store_get32(p + 44) != wr_crc32c(0, p, 44))
        return WR_ERR_SYNTAX;
    h->type = p[1];
    h->entries = (uint16_t)(p[2] << 8 | p[3]);
    h->records = wr_store_get32(p + 4);
    h->time_ms = (int64_t)wr_store_get64(p + 8);
    h->epoch = wr_store_get64(p + 16);
    h->first = wr_store_get64(p + 24);
    h->data_crc = wr_store_get32(p + 32);
    h->data_len = wr_store_get32(p + 36);
    h->trailer_len = wr_store_get32(p + 40);
    return WR_OK;
}

/* The record checksum covers bytes 0-7 of its header, then the payload. */
void
wr_rec_encode(uint8_t *p, uint8_t type, const struct wr_bytes *parts,
              unsigned n, uint32_t len)
{
    uint8_t *q = p + WR_REC_HDR_SIZE;

    wr_store_put32(p, len);
    p[4] = type;
    p[5] = 0;
    p[6] = 0;
    p[7] = 0;
    for (unsigned i = 0; i < n; i++) {
        if (parts[i].len > 0)
            memcpy(q, parts[i].ptr, parts[i].len);
        q += parts[i].len;
    }
    wr_store_put32(p + 8,
                   wr_crc32c(wr_crc32c(0, p, 8), p + WR_REC_HDR_SIZE, len));
}

int
wr_rec_check(const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
    uint32_t c = wr_crc32c(0, hdr, 8);

    c = wr_crc32c(c, payload, len);
    return c == wr_store_get32(hdr + 8) ? WR_OK : WR_ERR_SYNTAX;
}
