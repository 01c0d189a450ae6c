/* SPDX-License-Identifier: MIT */
/* What amqp/'s files share beyond amqp.h. */
#ifndef WR_AMQP_INTERNAL_H
#define WR_AMQP_INTERNAL_H

#include "amqp.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

/* ---- between conn.c, handshake.c, close.c and out.c ---- */

/* Sends connection.start (the protocol header was right). */
void wr_conn_send_start(struct wr_conn *c);
/* A connection-class method before connection.open-ok: start-ok,
 * tune-ok, open, in that order; anything else closes the connection. */
void wr_conn_handshake_method(struct wr_conn *c, const struct wr_method *m);
/* A connection-class method on an open connection: close, close-ok,
 * blocked / unblocked, update-secret. */
void wr_conn_connection_method(struct wr_conn *c, const struct wr_method *m);
/* Releases every channel and exclusive queue of c (once). */
void wr_conn_teardown(struct wr_conn *c);
/* Queues the last bytes and drops c once they are written (close.c). */
void wr_conn_flush_and_close(struct wr_conn *c);
/* (Re)arms c's heartbeat / handshake timer to fire in ms. */
void wr_conn_arm_timer(struct wr_conn *c, int64_t ms);
/* Reading from the peer on / off (c->rev, or the bufferevent's EV_READ
 * for TLS), and a deferred run of the read callback for the frames
 * already in the input buffer (after a throttle), reading the socket
 * only if reading is on. */
void wr_conn_read_on(struct wr_conn *c);
void wr_conn_read_off(struct wr_conn *c);
void wr_conn_read_again(struct wr_conn *c);
/* Bytes the delivery stage holds at most (out.c). */
#define WR_CONN_STAGE_SIZE (16 * 1024)
/* Appends n bytes to c's output through the server's delivery stage (one
 * evbuffer_add for many small deliveries); false when c does not write
 * its own output (TLS) or n is too large: add them to wr_conn_output. */
bool wr_conn_stage(struct wr_conn *c, const void *p, size_t n);
/* Moves the stage into its connection's output. */
void wr_conn_stage_flush(struct wr_server *s);
/* c goes away: what it staged goes too. */
void wr_conn_stage_discard(struct wr_conn *c);

/* ---- between close.c and chan_life.c ---- */

/* Releases what the channel holds (idempotent): consumers cancelled,
 * unacked deliveries requeued, pending content and tx ops dropped. */
void wr_chan_release(struct wr_chan *ch);

/* ---- between chan_tx.c and chan_life.c ---- */

/* A basic.publish or settle held until tx.commit. */
struct wr_tx_op {
    struct wr_tx_op *next;
    struct wr_msg *msg; /* reference held; NULL for a settle op */
    bool mandatory;
    uint32_t method; /* basic.ack / nack / reject */
    uint64_t tag;
    bool multiple, ack, requeue;
};

/* stream.c: stream queues' rules. Each returns after sending the error
 * (true / false as named). */
bool wr_chan_stream_refused(struct wr_chan *ch, struct wr_queue *q,
                            uint32_t mid);
bool wr_chan_stream_consume(struct wr_chan *ch, struct wr_queue *q,
                            const struct wr_basic_consume *a,
                            struct wr_stream_offset *from);
bool wr_chan_stream_nack_refused(struct wr_chan *ch, uint32_t mid, uint64_t tag,
                                 bool multiple);

#endif
