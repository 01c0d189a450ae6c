/* SPDX-License-Identifier: MIT */
/* What amqp/'s files share beyond amqp.h. */
#ifndef WR_AMQP_INTERNAL_H
#define WR_AMQP_INTERNAL_H

#include "amqp.h"

#include <event2/event.h>

#endif
