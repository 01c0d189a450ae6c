/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a byte stream fed to wr_frame_decode in random-sized
 * chunks (partial reads), then every complete method or content-header
 * payload decoded. Input: 4 bytes of chunking seed, then the stream. */
#include "../../protocol/protocol.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

static uint32_t
next_rand(uint32_t *s)
{
    /* xorshift32; the state is never 0 */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void
decode_payload(const struct wr_frame *f)
{
    struct wr_method m;
    struct wr_content_header h;

    /* Views must stay inside the frame: decode from an exact-size copy. */
    uint8_t *p = wr_malloc(f->size ? f->size : 1);

    CHECK(p != NULL);
    memcpy(p, f->payload, f->size);
    if (f->type == WR_FRAME_METHOD) {
        if (wr_method_decode(p, f->size, &m) == WR_OK)
            CHECK(wr_method_name(m.id) != NULL);
    } else if (f->type == WR_FRAME_HEADER) {
        if (wr_content_header_decode(p, f->size, &h) == WR_OK)
            CHECK(h.raw_props + h.raw_props_len == p + f->size);
    }
    wr_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t frame_maxes[] = {0, WR_FRAME_MIN_SIZE, 131072, 16};
    uint32_t seed, frame_max;
    size_t have = 0, start = 0;

    if (size < 4)
        return 0;
    seed = ((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
            (uint32_t)data[2] << 8 | data[3]) |
           1;
    frame_max = frame_maxes[data[3] & 3];
    data += 4;
    size -= 4;
    while (have < size) {
        have += 1 + next_rand(&seed) % 64;
        if (have > size)
            have = size;
        for (;;) {
            /* Only the bytes received so far, in an exact-size buffer. */
            size_t avail = have - start, used = 0;
            uint8_t *buf = wr_malloc(avail ? avail : 1);
            struct wr_frame f;
            int rc;

            CHECK(buf != NULL);
            memcpy(buf, data + start, avail);
            rc = wr_frame_decode(buf, avail, frame_max, &f, &used);
            if (rc == WR_OK) {
                CHECK(used == (size_t)f.size + WR_FRAME_OVERHEAD);
                CHECK(used <= avail);
                CHECK(f.payload == buf + WR_FRAME_HEADER_SIZE);
                /* below the spec minimum, frame-max counts as 4096 */
                CHECK(frame_max == 0 ||
                      used <= WR_MAX(frame_max, (uint32_t)WR_FRAME_MIN_SIZE));
                decode_payload(&f);
            }
            wr_free(buf);
            if (rc == WR_AGAIN)
                break;
            if (rc != WR_OK)
                return 0; /* a connection error: the stream ends here */
            start += used;
        }
    }
    return 0;
}
