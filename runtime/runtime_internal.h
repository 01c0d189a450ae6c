/* SPDX-License-Identifier: MIT */
/* What runtime/'s files share beyond runtime.h. */
#ifndef WR_RUNTIME_INTERNAL_H
#define WR_RUNTIME_INTERNAL_H

#include "../common/common.h"
#include "runtime.h"

/* streams.c: the end-of-turn flush of the stream stores appended to. */
void wr_persist_streams_flush(struct wr_server *s, int64_t now);

#endif
