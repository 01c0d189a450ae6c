/* SPDX-License-Identifier: MIT */
/* The broker suite (tests/unit/check_broker.c) keeps its definitions and
 * shovel test cases here, one file each; this is what they share. */
#ifndef WARREN_TEST_BROKER_CASES_H
#define WARREN_TEST_BROKER_CASES_H

#include "../../../broker/broker.h"
#include "../../../mgmt/mgmt_internal.h"

#include <check.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The test cases kept here, in the order the suite runs them. */
TCase *broker_definitions_tcase(void);
TCase *broker_shovels_tcase(void);

#endif
