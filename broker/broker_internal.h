/* SPDX-License-Identifier: MIT */
/* What broker/'s files share beyond broker.h. */
#ifndef WR_BROKER_INTERNAL_H
#define WR_BROKER_INTERNAL_H

#include "broker.h"

#include <event2/event.h>

#endif
