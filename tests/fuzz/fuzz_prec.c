/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the payloads of durable queues' store records
 * (queues/persist.c), which recovery reads back from disk. Input: a type
 * byte, then the payload. What decodes must encode back to the same bytes
 * (for MSG: through a rebuilt message, when its properties decode), and
 * nothing may leak. */
#include "../../queues/queues_internal.h"

#include <stdlib.h>
#include <string.h>

static void
check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t base = wr_alloc_used();
    struct wr_bytes p;
    struct wr_prec rec;
    uint8_t buf[64];
    uint8_t type;

    if (size < 1 || size > (1u << 20))
        return 0;
    type = (uint8_t)(data[0] % 7); /* 0 and 6: not queue records */
    p = (struct wr_bytes){data + 1, (uint32_t)(size - 1)};
    if (wr_prec_decode(type, p, &rec) != WR_OK)
        return 0;
    check(rec.type == type);
    switch (type) {
    case WR_PREC_MSG: {
        struct wr_msg *m = wr_prec_msg_build(&rec.msg);
        uint8_t hdr[WR_PREC_MSG_HDR];
        struct wr_bytes parts[3];
        size_t at = 0;

        if (m == NULL)
            break; /* properties that do not decode */
        check(wr_prec_msg_parts(m, rec.msg.published_ms, hdr, parts) == 3);
        /* The header may differ in its persistent flag (the rebuilt
         * message takes it from the properties); the rest is the same. */
        check(memcmp(hdr + 2, p.ptr + 2, WR_PREC_MSG_HDR - 2) == 0);
        at = WR_PREC_MSG_HDR;
        for (int i = 1; i < 3; i++) {
            check(parts[i].len <= p.len - at);
            check(parts[i].len == 0 ||
                  memcmp(parts[i].ptr, p.ptr + at, parts[i].len) == 0);
            at += parts[i].len;
        }
        check(at == p.len);
        wr_msg_unref(&m);
        break;
    }
    case WR_PREC_ENQ:
        check(wr_prec_enq_encode(buf, &rec.enq) == p.len);
        check(memcmp(buf, p.ptr, p.len) == 0);
        break;
    default:
        check(wr_prec_ref_encode(buf, &rec.ref) == p.len);
        check(memcmp(buf, p.ptr, p.len) == 0);
        break;
    }
    check(wr_alloc_used() == base);
    return 0;
}
