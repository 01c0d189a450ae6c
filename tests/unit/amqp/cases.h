/* SPDX-License-Identifier: MIT */
/* The amqp suite (tests/unit/check_amqp.c) has one file per test
 * case here; this is what they share (defined in check_amqp.c). */
#ifndef WARREN_TEST_AMQP_CASES_H
#define WARREN_TEST_AMQP_CASES_H

#include "../../../broker/broker.h"

#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* The test cases, in the order the suite runs them. */
TCase *amqp_reply_tcase(void);
TCase *amqp_handshake_tcase(void);
TCase *amqp_channel_tcase(void);
TCase *amqp_content_tcase(void);
TCase *amqp_modes_tcase(void);
TCase *amqp_tags_tcase(void);
TCase *amqp_qos_tcase(void);

extern struct wr_server srv;
extern struct bufferevent *pair[2];
extern struct wr_frame rx;
extern uint8_t rx_buf[WR_FRAME_MIN_SIZE * 4];
extern struct wr_method rx_m;
void turn(void);
void send_bytes(const void *p, size_t n);
void send_method(uint16_t ch, const struct wr_method *m);
void send_id(uint16_t ch, uint32_t id);
void send_frame(uint8_t type, uint16_t ch, const void *p, uint32_t size);
void send_header(uint16_t ch, uint64_t body_size);
void send_publish(uint16_t ch, const char *exchange, const char *rkey);
void publish(uint16_t ch, const char *rkey, const char *body);
size_t pending(void);
void recv_frame(void);
const struct wr_method *expect(uint16_t ch, uint32_t id);
const char *expect_close(uint16_t ch, uint16_t code, uint32_t method);
void expect_nothing(void);
void start(void);
void start_ok(void);
void tune_ok(void);
void open_vhost(void);
void connect_open(uint16_t ch);
void declare_queue(uint16_t ch, const char *name);
struct wr_queue *queue(const char *name);
uint64_t get(uint16_t ch, const char *q, const char *want_body);
void settle(uint16_t ch, uint32_t id, uint64_t tag, bool multiple,
            bool requeue);
uint32_t ready(const char *q);
uint32_t unacked(const char *q);

#endif
