/* SPDX-License-Identifier: MIT */
/* What runtime/'s files share beyond runtime.h. */
#ifndef WR_RUNTIME_INTERNAL_H
#define WR_RUNTIME_INTERNAL_H

#include "../common/common.h"
#include "runtime.h"

#endif
