/* SPDX-License-Identifier: MIT */
/* The queues suite (tests/unit/check_queues.c) has one file per test case
 * here; this is what they share. */
#ifndef WARREN_TEST_QUEUES_CASES_H
#define WARREN_TEST_QUEUES_CASES_H

#include "../../../queues/queues_internal.h"

#include "../quiet.h"

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The test cases, in the order the suite runs them. */
TCase *queues_message_tcase(void);
TCase *queues_fifo_tcase(void);
TCase *queues_priority_tcase(void);
TCase *queues_requeue_purge_tcase(void);
TCase *queues_settle_tcase(void);
TCase *queues_dispatch_tcase(void);
TCase *queues_args_tcase(void);
TCase *queues_expiry_tcase(void);
TCase *queues_limits_tcase(void);
TCase *queues_consumer_selection_tcase(void);
TCase *queues_args_and_messages_tcase(void);
TCase *queues_lifetimes_tcase(void);
TCase *queues_policy_tcase(void);
TCase *queues_persist_tcase(void);
TCase *queues_durable_tcase(void);
TCase *queues_paging_tcase(void);
TCase *queues_stream_tcase(void);

/* check_queues.c: a message with an optional priority property (-1 for
 * none), tagged with id (tid reads it back: it is the exchange name); a
 * queue "q" with x-max-priority; a basic.get-style no-ack pop at time 0;
 * a basic.get at now kept unacked, and settling it; push a new message
 * and drop the test's reference; pop one message, check its id and
 * redelivered flag and release it. */
struct wr_msg *mk_msg(uint64_t id, int priority, const char *body);
uint64_t tid(const struct wr_msg *m);
struct wr_queue *mk_queue(uint8_t max_priority);
bool pop_msg(struct wr_queue *q, struct wr_msg **m, bool *redelivered);
bool get_unacked(struct wr_queue *q, int64_t now, struct wr_delivery *d);
void settle(struct wr_queue *q, const struct wr_delivery *d, enum wr_settle how,
            int64_t now);
void push_new(struct wr_queue *q, uint64_t id, int priority);
void pop_expect(struct wr_queue *q, uint64_t id, bool redelivered);

/* check_queues.c: whether Check runs each test in its own process
 * (CK_FORK is not "no"); a test that expects an abort needs one. */
bool forking(void);

/* check_queues.c: a fake consumer with a credit (prefetch left) that holds
 * what it is given and logs who got which message (log_who, log_seq: the
 * test's tag, log_id: the entry id; nlog entries); an optional hook runs
 * after each delivery. */
struct fake {
    struct wr_consumer c;
    int id;
    int credit; /* prefetch left */
    int got;
    struct wr_delivery held[300]; /* unacked deliveries (not no-ack) */
    int nheld;
    void (*hook)(struct fake *f, struct wr_queue *q);
};

extern int log_who[600];
extern uint64_t log_seq[600];
extern uint64_t log_id[600];
extern int nlog;

/* Makes f a consumer with id and credit; acks everything f holds in q;
 * empties the delivery log. */
void fake_init(struct fake *f, int id, int credit);
void fake_ack_all(struct fake *f, struct wr_queue *q);
void reset_log(void);

/* check_queues.c: what the owner of a queue made by mk_queue_args heard:
 * dead messages (references held) with their reasons, and deadlines. */
extern struct wr_msg *dead_msgs[2000];
extern int dead_why[2000];
extern int ndead;
extern int64_t last_deadline;
extern int ndeadlines;

/* Releases the dead messages and forgets the deadlines; a queue "q" with
 * the given arguments that reports to the recorder above (reset); a
 * message with an expiration property (ms, as text, or NULL); push one
 * at now and drop the test's reference; pop at now and check the id. */
void reset_dead(void);
struct wr_queue *mk_queue_args(const struct wr_queue_args *a);
struct wr_msg *mk_msg_ttl(uint64_t id, int priority, const char *expiration);
void push_ttl(struct wr_queue *q, uint64_t id, int priority, const char *exp,
              int64_t now);
void pop_at(struct wr_queue *q, int64_t now, uint64_t id);

#endif
