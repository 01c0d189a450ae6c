/* SPDX-License-Identifier: MIT */
/* The clock: monotonic milliseconds (the `now` queues/ are given) and
 * seconds (heartbeats, connection ages). */
#include "runtime_internal.h"

#include <time.h>

int64_t
wr_now_ms(void)
{
    struct timespec ts;

    /* Called several times per message: the coarse clock is a plain read
     * of the kernel's tick (a few ms of resolution, plenty for TTLs). */
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wr_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec;
}
