/* SPDX-License-Identifier: MIT */
/* One AMQP connection: reads every complete frame in the input buffer in
 * one pass, runs the connection-class handshake (start, tune, open),
 * heartbeats both ways and the close handshake, and hands channel frames
 * to their channel (chan_frame.c). What goes out is in out.c; errors,
 * teardown and drop in close.c. */
#include "amqp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

/* Bytes asked for per read callback (evbuffer_reserve_space may give up
 * to two chains, and the read takes them: 32 KiB seen): with one frame in
 * progress this bounds what a blocked publisher can add past the memory
 * watermark. Reading only READ_CHUNK measured 4-5 % slower with
 * auto-ack (twice the reads) and 6-8 % faster with manual acks at
 * prefetch 100 (shorter publisher passes for acks to wait behind):
 * BENCHMARKS.md. */
#define READ_CHUNK 16384
/* Bytes written to one peer per write call: libevent's default is 16 KiB;
 * more per call means fewer system calls and fewer wakeups of the peer
 * when deliveries are large. */
#define WRITE_CHUNK (256 * 1024)

void
wr_conn_free(struct wr_conn *c)
{
    wr_conn_teardown(c);
    wr_conn_stage_discard(c);
    wr_list_remove(&c->flush_link);
    if (c->timer)
        event_free(c->timer);
    if (c->rev)
        event_free(c->rev);
    bufferevent_free(c->bev);
    wr_free(c->chans);
    wr_free(c->user);
    wr_free(c->client_name);
    wr_free(c->client_props);
    wr_free(c->cert_cn);
    wr_free(c);
}

static void
channel_open(struct wr_conn *c, uint16_t id)
{
    struct wr_method ok = {.id = WR_CHANNEL_OPEN_OK};

    /* RabbitMQ's user limit max-channels: over all the user's
     * connections; a connection error. */
    if (c->u->max_channels != WR_LIMIT_UNSET &&
        wr_limit_reached(c->u->max_channels,
                         wr_auth_user_count(c->srv, c->u, true))) {
        wr_conn_error(c, WR_REPLY_NOT_ALLOWED, WR_CHANNEL_OPEN,
                      "number of channels opened for user '%s' has reached "
                      "the maximum allowed user limit of (%lld)",
                      c->user, (long long)c->u->max_channels);
        return;
    }
    if (id >= c->nchans) {
        uint32_t n = c->nchans ? c->nchans : 8;
        while (n <= id)
            n *= 2;
        struct wr_chan **nc = wr_realloc(c->chans, n * sizeof(*nc));
        memset(nc + c->nchans, 0, (n - c->nchans) * sizeof(*nc));
        c->chans = nc;
        c->nchans = n;
    }
    c->chans[id] = wr_chan_new(c, id);
    c->open_chans++;
    wr_conn_send_method(c, id, &ok);
}

static void
handle_frame(struct wr_conn *c, const struct wr_frame *f)
{
    struct wr_method m;
    struct wr_chan *ch;
    int rc;

    if (f->type == WR_FRAME_HEARTBEAT) {
        if (f->channel != 0)
            wr_conn_error(c, WR_REPLY_UNEXPECTED_FRAME, 0,
                          "heartbeat frame on channel %u", f->channel);
        return;
    }
    if (f->type == WR_FRAME_METHOD) {
        uint32_t id = f->size >= 4
                          ? ((uint32_t)f->payload[0] << 24) |
                                ((uint32_t)f->payload[1] << 16) |
                                ((uint32_t)f->payload[2] << 8) | f->payload[3]
                          : 0;
        rc = wr_method_decode(f->payload, f->size, &m);
        if (rc == WR_ERR_UNKNOWN_METHOD) {
            wr_conn_error(c, WR_REPLY_NOT_IMPLEMENTED, id,
                          "unknown method %u.%u", WR_METHOD_CLASS(id),
                          WR_METHOD_INDEX(id));
            return;
        }
        if (rc != WR_OK) {
            char sample[64];
            wr_log_sample(sample, sizeof(sample), f->payload, f->size);
            wr_log(WR_LOG_INFO, "conn %llu %s: malformed method (%s): %s",
                   (unsigned long long)c->id, c->peer, wr_strerror(rc), sample);
            /* RabbitMQ reports an undecodable method as a frame error. */
            wr_conn_error(c, WR_REPLY_FRAME_ERROR, id, "cannot decode %s: %s",
                          wr_method_name(id) ? wr_method_name(id) : "method",
                          wr_strerror(rc));
            return;
        }
    }
    if (c->state == WR_CONN_CLOSING) {
        /* AMQP 0-9-1 2.2.4: after close, discard all but close/close-ok. */
        if (f->type == WR_FRAME_METHOD && f->channel == 0 &&
            (m.id == WR_CONNECTION_CLOSE || m.id == WR_CONNECTION_CLOSE_OK))
            wr_conn_connection_method(c, &m);
        return;
    }
    if (c->state != WR_CONN_OPEN) {
        if (f->type != WR_FRAME_METHOD || f->channel != 0) {
            wr_conn_error(c, WR_REPLY_UNEXPECTED_FRAME, 0,
                          "frame type %u on channel %u during handshake",
                          f->type, f->channel);
            return;
        }
        wr_conn_handshake_method(c, &m);
        return;
    }
    if (f->channel == 0) {
        if (f->type != WR_FRAME_METHOD) {
            wr_conn_error(c, WR_REPLY_UNEXPECTED_FRAME, 0,
                          "content frame on channel 0");
            return;
        }
        if (WR_METHOD_CLASS(m.id) != 10) {
            wr_conn_error(c, WR_REPLY_CHANNEL_ERROR, m.id,
                          "unexpected method in connection state running");
            return;
        }
        wr_conn_connection_method(c, &m);
        return;
    }
    ch = f->channel < c->nchans ? c->chans[f->channel] : NULL;
    if (ch == NULL) {
        if (f->type == WR_FRAME_METHOD && m.id == WR_CHANNEL_CLOSE_OK)
            return; /* late close-ok for a channel we already released */
        /* As RabbitMQ: channel_max limits how many channels are open (a
         * channel closing, awaiting its close-ok, counts), not their
         * numbers; any frame for one more channel is refused. */
        if (c->open_chans >= c->channel_max)
            wr_conn_error(c, WR_REPLY_NOT_ALLOWED, 0,
                          "number of channels opened (%u) has reached the "
                          "negotiated channel_max (%u)",
                          c->open_chans, c->channel_max);
        else if (f->type == WR_FRAME_METHOD && m.id == WR_CHANNEL_OPEN)
            channel_open(c, f->channel);
        else
            wr_conn_error(c, WR_REPLY_CHANNEL_ERROR,
                          f->type == WR_FRAME_METHOD ? m.id : 0,
                          "expected 'channel.open' on channel %u", f->channel);
        return;
    }
    if (f->type == WR_FRAME_METHOD && m.id == WR_CHANNEL_OPEN && !ch->closing) {
        wr_conn_error(c, WR_REPLY_CHANNEL_ERROR, m.id,
                      "second 'channel.open' seen on channel %u", f->channel);
        return;
    }
    wr_chan_frame(ch, f, f->type == WR_FRAME_METHOD ? &m : NULL);
}

static void
frame_error(struct wr_conn *c, int rc, const uint8_t *hdr, size_t n)
{
    char sample[32];

    wr_log_sample(sample, sizeof(sample), hdr, n);
    wr_log(WR_LOG_INFO, "conn %llu %s: frame error (%s): %s",
           (unsigned long long)c->id, c->peer, wr_strerror(rc), sample);
    wr_conn_error(c, WR_REPLY_FRAME_ERROR, 0, "%s", wr_strerror(rc));
    /* Nothing after a broken frame can be parsed, not even a close-ok:
     * send the close and drop the connection once it is written. */
    wr_conn_flush_and_close(c);
}

static void
read_header(struct wr_conn *c, struct evbuffer *in)
{
    uint8_t hdr[WR_PROTO_HEADER_LEN];
    size_t n = WR_MIN(evbuffer_get_length(in), sizeof(hdr));
    int rc;

    evbuffer_copyout(in, hdr, n);
    rc = wr_proto_header_check(hdr, n);
    if (rc == WR_AGAIN)
        return;
    if (rc != WR_OK) {
        char sample[16];
        wr_log_sample(sample, sizeof(sample), hdr, n);
        wr_log(WR_LOG_INFO, "conn %llu %s: bad protocol header '%s'",
               (unsigned long long)c->id, c->peer, sample);
        /* AMQP 0-9-1 4.2.2: answer with our header, then close. */
        wr_conn_send_raw(c, WR_PROTO_HEADER, WR_PROTO_HEADER_LEN);
        wr_conn_flush_and_close(c);
        return;
    }
    evbuffer_drain(in, WR_PROTO_HEADER_LEN);
    wr_conn_send_start(c);
}

/* Size of the frame whose header is at h, frame-end included. */
static size_t
frame_total(const uint8_t *h)
{
    return ((size_t)h[3] << 24 | (size_t)h[4] << 16 | (size_t)h[5] << 8 |
            h[6]) +
           WR_FRAME_OVERHEAD;
}

/* Handles every frame that lies whole in the input's first chain, then
 * drains them at once. Returns false when there was none (the next frame
 * is incomplete, spans chains, or is broken: the caller's frame-by-frame
 * path deals with it). */
static bool
read_frames_in_place(struct wr_conn *c, struct evbuffer *in)
{
    struct evbuffer_iovec v;
    const uint8_t *p;
    size_t n, off = 0;

    if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
        return false;
    p = v.iov_base;
    n = v.iov_len;
    while (c->state > WR_CONN_AWAIT_HEADER && c->state < WR_CONN_FLUSHING &&
           c->credit_queue == NULL && n - off >= WR_FRAME_HEADER_SIZE) {
        size_t total = frame_total(p + off), used = 0;
        struct wr_frame f;

        if (total > n - off ||
            wr_frame_decode(p + off, total, c->frame_max, &f, &used) != WR_OK)
            break;
        handle_frame(c, &f);
        c->frames_in++;
        off += used;
        /* What the frame dead-lettered is routed before the next frame. */
        if (c->vh && !wr_list_empty(&c->vh->dead_letters))
            wr_vhost_drain_dead_letters(c->vh);
    }
    if (off > 0)
        evbuffer_drain(in, off);
    c->bytes_in += off;
    return off > 0;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
    struct wr_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    c->last_recv = wr_now();
    if (c->state == WR_CONN_AWAIT_HEADER)
        read_header(c, in);
    c->in_read_pass = true;
    /* Throttled by credit flow (credit.c): what is left stays in the
     * input buffer until the queue has drained. */
    while (c->state > WR_CONN_AWAIT_HEADER && c->state < WR_CONN_FLUSHING &&
           c->credit_queue == NULL) {
        uint8_t hdr[WR_FRAME_HEADER_SIZE];
        size_t len = evbuffer_get_length(in), used = 0, total;
        struct wr_frame f;
        uint8_t *p;
        int rc;

        /* The frames that lie whole in the first chain are handled in
         * place, with one drain for all of them; copyout, pullup and
         * drain per frame cost more than decoding a small one. */
        if (read_frames_in_place(c, in))
            continue;
        if (len < WR_FRAME_HEADER_SIZE)
            break;
        evbuffer_copyout(in, hdr, sizeof(hdr));
        rc = wr_frame_decode(hdr, sizeof(hdr), c->frame_max, &f, &used);
        if (rc != WR_AGAIN && rc != WR_OK) {
            frame_error(c, rc, hdr, sizeof(hdr));
            break;
        }
        total = frame_total(hdr);
        if (len < total)
            break;
        p = evbuffer_pullup(in, (ev_ssize_t)total);
        rc = wr_frame_decode(p, total, c->frame_max, &f, &used);
        if (rc != WR_OK) {
            frame_error(c, rc, p, WR_MIN(total, (size_t)16));
            break;
        }
        handle_frame(c, &f);
        evbuffer_drain(in, used);
        c->frames_in++;
        c->bytes_in += used;
        /* What the frame dead-lettered is routed before the next frame. */
        if (c->vh && !wr_list_empty(&c->vh->dead_letters))
            wr_vhost_drain_dead_letters(c->vh);
    }
    /* The window the pass's acks opened, refilled in one dispatch per
     * channel. */
    c->in_read_pass = false;
    wr_chan_kick_pending(c);
    /* One confirm per channel per read pass, multiple when it covers
     * several publishes. */
    while (!wr_list_empty(&c->confirm_chans)) {
        struct wr_chan *ch = WR_CONTAINER_OF(c->confirm_chans.next,
                                             struct wr_chan, confirm_link);
        wr_chan_flush_confirms(ch);
    }
    if (c->state >= WR_CONN_FLUSHING) {
        evbuffer_drain(in, evbuffer_get_length(in));
    } else if (wr_conn_output_length(c) >= c->srv->cfg.output_limit) {
        /* A peer that does not read what we send (replies, returns,
         * confirms, deliveries) must not make us buffer without limit:
         * past output_limit, stop reading from it too, so TCP pushes back
         * on it, until the output has drained to half (write_cb). */
        c->write_blocked = true;
        c->read_paused = true;
        wr_conn_read_off(c);
    }
    wr_flow_check(c->srv);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
    struct wr_conn *c = arg;
    size_t left = wr_conn_output_length(c);

    if (c->write_waiting && left == 0) {
        /* libevent wrote what the socket would not take: back to writing
         * directly (wr_conn_flush_all). */
        c->write_waiting = false;
        bufferevent_disable(bev, EV_WRITE);
    }
    if (c->state == WR_CONN_FLUSHING) {
        if (left == 0 && !c->linger)
            wr_conn_drop(c, "closed");
        return;
    }
    wr_flow_check(c->srv);
    if (left > c->srv->cfg.output_limit / 2)
        return;
    if (c->read_paused) {
        c->read_paused = false;
        c->last_recv = wr_now(); /* it read our output: it is alive */
        if (!c->flow_blocked && c->credit_queue == NULL)
            wr_conn_read_on(c);
    }
    if (c->write_blocked) {
        c->write_blocked = false;
        for (uint32_t i = 0; i < c->nchans; i++)
            if (c->chans[i])
                wr_chan_kick(c->chans[i]);
    }
}

/* Output added to a connection libevent writes (TLS): counted only. */
static void
count_output_cb(struct evbuffer *out, const struct evbuffer_cb_info *info,
                void *arg)
{
    struct wr_conn *c = arg;

    (void)out;
    c->bytes_out += info->n_added;
}

/* Output added to a direct-write connection: counted (send_oct) and
 * written at the end of this loop turn, after every callback that may add
 * more. */
static void
output_cb(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
    struct wr_conn *c = arg;

    (void)out;
    c->bytes_out += info->n_added;
    if (info->n_added == 0 || c->write_waiting || c->state == WR_CONN_DEAD ||
        !wr_list_empty(&c->flush_link))
        return;
    if (wr_list_empty(&c->srv->flush))
        wr_server_schedule_flush(c->srv);
    wr_list_push_back(&c->srv->flush, &c->flush_link);
}

/* One write of what this loop turn queued, as libevent's write callback
 * does it (at most WRITE_CHUNK). What the socket does not take, and any
 * error, is left to libevent: EV_WRITE on until the output is empty. */
static void
conn_flush(struct wr_conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    int n;

    if (evbuffer_get_length(out) == 0)
        return;
    /* A socket bufferevent keeps its output's start frozen between its
     * own writes; thaw it for ours, as libevent's write does. */
    evbuffer_unfreeze(out, 1);
    n = evbuffer_write_atmost(out, fd, WRITE_CHUNK);
    evbuffer_freeze(out, 1);
    if (n <= 0 || evbuffer_get_length(out) > 0) {
        c->write_waiting = true;
        bufferevent_enable(c->bev, EV_WRITE);
    }
    if (n > 0)
        write_cb(c->bev, c);
}

void
wr_conn_flush_all(struct wr_server *s)
{
    /* A flush may resume deliveries (write_cb), which queue more output
     * and put the connection back on the list. */
    while (!wr_list_empty(&s->flush)) {
        struct wr_conn *c =
            WR_CONTAINER_OF(s->flush.next, struct wr_conn, flush_link);
        if (s->stage_conn == c) /* what it staged goes out with the rest */
            wr_conn_stage_flush(s);
        wr_list_remove(&c->flush_link);
        if (c->state != WR_CONN_DEAD && !c->write_waiting)
            conn_flush(c);
    }
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct wr_conn *c = arg;
    char why[300];

    if ((what & BEV_EVENT_CONNECTED) && c->tls) {
        char cn[256], desc[128];
        c->tls_up = true;
        wr_tls_describe(bev, desc, sizeof(desc));
        if (wr_tls_peer_cn(bev, cn, sizeof(cn)))
            c->cert_cn = wr_strdup(cn);
        wr_log(WR_LOG_INFO,
               "conn %llu %s: TLS established (%s), peer "
               "certificate %s%s%s",
               (unsigned long long)c->id, c->peer, desc,
               c->cert_cn ? "CN '" : "none or unverified",
               c->cert_cn ? c->cert_cn : "", c->cert_cn ? "'" : "");
        return;
    }
    if (c->tls && !c->tls_up && (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))) {
        /* Refused handshakes: plain AMQP on the TLS port, an untrusted or
         * expired certificate, a missing one when required. */
        wr_tls_error(bev, why, sizeof(why));
        wr_log(WR_LOG_WARN, "conn %llu %s: TLS handshake failed: %s",
               (unsigned long long)c->id, c->peer, why);
        wr_conn_drop(c, "TLS handshake failed");
        return;
    }
    if ((what & BEV_EVENT_ERROR) && c->tls) {
        wr_tls_error(bev, why, sizeof(why));
        wr_log(WR_LOG_INFO, "conn %llu %s: TLS error: %s",
               (unsigned long long)c->id, c->peer, why);
    }
    if (what & BEV_EVENT_EOF)
        wr_conn_drop(c, c->state == WR_CONN_FLUSHING
                            ? "closed"
                            : "peer closed the socket");
    else if (what & BEV_EVENT_ERROR)
        wr_conn_drop(c, "socket error");
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wr_conn *c = arg;
    int64_t now = wr_now();

    (void)fd;
    (void)what;
    if (c->auth_failed && c->state == WR_CONN_AWAIT_START_OK) {
        /* The delayed answer to a refused login (authentication_failure_
         * close capability): 403, then close once it is written. */
        wr_conn_error(c, WR_REPLY_ACCESS_REFUSED, WR_CONNECTION_START_OK,
                      "Login was refused using authentication mechanism %s. "
                      "For details see the broker logfile.",
                      c->mech);
        wr_conn_flush_and_close(c);
        return;
    }
    switch (c->state) {
    case WR_CONN_OPEN:
        if (c->heartbeat == 0)
            return;
        /* A blocked publisher, or a peer whose output is over its bound,
         * is not read from, so its heartbeats are not seen either
         * (RabbitMQ suspends the check the same way). */
        if (!c->flow_blocked && !c->read_paused && c->credit_queue == NULL &&
            now - c->last_recv > 2 * (int64_t)c->heartbeat) {
            wr_log(WR_LOG_NOTICE,
                   "conn %llu %s: missed heartbeats from "
                   "client, timeout: %us",
                   (unsigned long long)c->id, c->peer, c->heartbeat);
            wr_conn_drop(c, "heartbeat timeout");
            return;
        }
        if (now - c->last_send >= (c->heartbeat + 1) / 2)
            wr_conn_send_raw(c, wr_heartbeat_frame, sizeof(wr_heartbeat_frame));
        wr_conn_arm_timer(c, (int64_t)c->heartbeat * 500);
        return;
    case WR_CONN_CLOSING:
    case WR_CONN_FLUSHING:
        wr_conn_drop(c, c->linger ? "socket still open after close-ok"
                                  : "no close-ok from client");
        return;
    case WR_CONN_DEAD:
        return;
    default:
        wr_log(WR_LOG_NOTICE, "conn %llu %s: %shandshake timeout",
               (unsigned long long)c->id, c->peer,
               c->tls && !c->tls_up ? "TLS " : "");
        wr_conn_drop(c, "handshake timeout");
        return;
    }
}

/* Plain sockets are read here, not by the bufferevent: libevent 2.1 asks
 * the socket how much it holds (ioctl FIONREAD) before every read and
 * reads at most 4 KiB, so each read cost two system calls, and a busy
 * publisher several reads per pass. Here: one readv of up to READ_CHUNK
 * into the input buffer, then the read callback. An EOF or an error goes
 * to event_cb as libevent reports it. Called for EV_READ by the loop, or
 * with EV_TIMEOUT by wr_conn_read_again for the frames already read. */
static void
sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wr_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(c->bev);

    if ((what & EV_READ) || event_pending(c->rev, EV_READ, NULL)) {
        struct evbuffer_iovec v[2];
        struct iovec iov[2];
        ssize_t got = -1;
        int n, err = 0;

        /* A socket bufferevent keeps its input's end frozen between its
         * own reads; thaw it for ours, as libevent's read does. */
        evbuffer_unfreeze(in, 0);
        n = evbuffer_reserve_space(in, READ_CHUNK, v, 2);
        if (n > 0) {
            for (int i = 0; i < n; i++) {
                iov[i].iov_base = v[i].iov_base;
                iov[i].iov_len = v[i].iov_len;
            }
            got = readv(fd, iov, n);
            err = errno;
            if (got > 0) {
                for (int i = 0; i < n; i++) {
                    v[i].iov_len = WR_MIN(v[i].iov_len, (size_t)got);
                    got -= (ssize_t)v[i].iov_len;
                }
                evbuffer_commit_space(in, v, n);
                got = 1;
            }
        }
        evbuffer_freeze(in, 0);
        if (n > 0 && (got == 0 || (got < 0 && err != EAGAIN &&
                                   err != EWOULDBLOCK && err != EINTR))) {
            wr_conn_read_off(c);
            event_cb(c->bev,
                     BEV_EVENT_READING |
                         (got == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR),
                     c);
            return;
        }
    }
    if (evbuffer_get_length(in) > 0)
        read_cb(c->bev, c);
}

struct wr_conn *
wr_conn_attach(struct wr_server *s, struct bufferevent *bev,
               const struct sockaddr *sa, bool tls)
{
    struct wr_conn *c;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    c = wr_calloc(1, sizeof(*c));
    c->srv = s;
    c->id = ++s->next_conn_id;
    snprintf(c->host, sizeof(c->host), "%s", host);
    snprintf(c->peer, sizeof(c->peer),
             sa->sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
    c->loopback = wr_addr_is_loopback(sa);
    c->tls = tls;
    c->state = WR_CONN_AWAIT_HEADER;
    c->frame_max = WR_FRAME_MIN_SIZE;
    c->channel_max = s->cfg.channel_max;
    c->started = c->last_recv = c->last_send = wr_now();
    wr_list_init(&c->exclusive_queues);
    wr_list_init(&c->confirm_chans);
    wr_list_init(&c->kick_chans);
    wr_list_init(&c->vh_link);
    wr_list_init(&c->flush_link);
    wr_list_init(&c->credit_link);
    c->bev = bev;
    c->direct_write = !tls && bufferevent_getfd(bev) >= 0;
    c->timer = evtimer_new(s->base, timer_cb, c);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, s->cfg.output_limit / 2, 0);
    bufferevent_set_max_single_read(c->bev, READ_CHUNK);
    bufferevent_set_max_single_write(c->bev, WRITE_CHUNK);
    if (c->direct_write) {
        /* A new bufferevent has EV_WRITE on: that would make libevent
         * watch the socket for every byte added. */
        evbuffer_add_cb(bufferevent_get_output(bev), output_cb, c);
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        c->rev = event_new(s->base, bufferevent_getfd(bev),
                           EV_READ | EV_PERSIST, sock_read_cb, c);
        wr_conn_read_on(c);
    } else {
        evbuffer_add_cb(bufferevent_get_output(bev), count_output_cb, c);
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    }
    wr_list_push_back(&s->conns, &c->link);
    s->nconns++;
    wr_conn_arm_timer(c, s->cfg.handshake_timeout);
    wr_log(WR_LOG_NOTICE, "conn %llu %s: accepted%s", (unsigned long long)c->id,
           c->peer, tls ? " on the TLS listener" : "");
    return c;
}

void
wr_conn_accept(struct wr_server *s, int fd, const struct sockaddr *sa, bool tls,
               const char *local)
{
    struct bufferevent *bev;
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    evutil_make_socket_nonblocking(fd);
    bev = tls ? wr_tls_bev_new(s->tls, s->base, fd)
              : bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        wr_log(WR_LOG_WARN, "cannot set up a%s connection", tls ? " TLS" : "");
        evutil_closesocket(fd);
        return;
    }
    wr_conn_attach(s, bev, sa, tls)->local = local;
}
