/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the durable definitions read back from disk
 * (vhost/durable.c). Recovery hands every defs/ record to the decoder and
 * replays it into the registry; here the records are arbitrary. Input: a
 * sequence of records, each a type byte, a 16-bit big-endian length and
 * that many payload bytes, replayed in order into one server (no stores,
 * no sockets), which is then torn down: nothing may crash or leak. The
 * first record of each input is also decoded alone and, when it decodes,
 * every view it gives must lie inside the payload. */
#include "../../broker/broker.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

static void
check(bool ok)
{
    if (!ok)
        abort();
}

static bool
inside(struct wr_bytes v, const uint8_t *p, size_t n)
{
    return v.len == 0 || (v.ptr >= p && v.ptr + v.len <= p + n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    event_set_mem_functions(wr_malloc, wr_realloc, wr_free);
    /* Silent, unless WARREN_FUZZ_LOG is set (to replay a crash). */
    wr_log_level = getenv("WARREN_FUZZ_LOG") ? WR_LOG_DEBUG : -1;
    wr_alloc_set_abort_on_oom(true);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wr_config cfg;
    struct wr_server srv;
    size_t off = 0, base = wr_alloc_used();
    bool first = true;

    wr_config_defaults(&cfg);
    check(wr_server_init(&srv, &cfg) == WR_OK);
    while (off + 3 <= size) {
        uint8_t type = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        struct wr_bytes p;
        char why[300];

        off += 3;
        if (len > size - off)
            len = size - off;
        p = (struct wr_bytes){data + off, (uint32_t)len};
        if (first) {
            struct wr_drec d;
            if (wr_drec_decode(type, p, &d) == WR_OK) {
                check(inside(d.vhost, p.ptr, len) &&
                      inside(d.name, p.ptr, len));
                check(inside(d.dest, p.ptr, len) && inside(d.key, p.ptr, len));
                check(inside(d.xtype, p.ptr, len) &&
                      inside(d.policy, p.ptr, len));
                check(d.args.len == 0 ||
                      (d.args.ptr >= p.ptr &&
                       d.args.ptr + d.args.len <= p.ptr + len));
            }
            first = false;
        }
        (void)wr_defs_replay(&srv, type, p, why, sizeof(why));
        off += len;
    }
    wr_server_cleanup(&srv);
    check(wr_alloc_used() == base); /* every counted byte came back */
    return 0;
}
