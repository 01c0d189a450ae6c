/* SPDX-License-Identifier: MIT */
/* The client's I/O pump: connecting, buffered reads and writes over a
 * non-blocking socket (plain or TLS) with poll(), heartbeats, and tearing a
 * lost connection down. No frame is interpreted here. */
#include "client_internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t
wr_client_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wr_client_deadline(int ms)
{
    return ms < 0 ? -1 : wr_client_now() + ms;
}

void
wr_client_log(struct warren_conn *c, int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (c->cb.on_log == NULL || level > c->cb.log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->cb.on_log(level, msg, c->cb.arg);
}

void
wr_client_close_set(struct warren_close *w, uint16_t channel, uint16_t code,
                    struct wr_bytes text, uint32_t method, bool by_broker,
                    int error)
{
    size_t n = WR_MIN((size_t)text.len, sizeof(w->reply_text) - 1);

    memset(w, 0, sizeof(*w));
    w->channel = channel;
    w->reply_code = code;
    w->class_id = WR_METHOD_CLASS(method);
    w->method_id = WR_METHOD_INDEX(method);
    w->by_broker = by_broker;
    w->error = error;
    if (n)
        memcpy(w->reply_text, text.ptr, n);
    w->reply_text[n] = '\0';
}

static void
close_socket(struct warren_conn *c)
{
    if (c->tls != NULL) {
        wr_client_tls_free(c->tls);
        c->tls = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

void
wr_client_teardown(struct warren_conn *c, const struct warren_close *why,
                   bool notify)
{
    if (c->state == WR_CLIENT_DEAD)
        return;
    c->last_close = *why;
    c->has_close = true;
    c->state = WR_CLIENT_DEAD;
    c->dead_rc = why->error;
    close_socket(c);
    c->out_off = c->out_len = 0;
    for (size_t i = 0; i < c->nchans; i++)
        if (c->chans[i] != NULL)
            wr_client_channel_mark_closed(c->chans[i], why);
    if (notify && c->cb.on_close != NULL) {
        c->in_callback++;
        c->cb.on_close(c, NULL, why, c->cb.arg);
        c->in_callback--;
    }
}

static int
vfail(struct warren_conn *c, int rc, uint16_t code, uint32_t method,
      bool by_broker, const char *fmt, va_list ap)
{
    char text[256];
    struct warren_close why;

    if (c->state == WR_CLIENT_DEAD)
        return c->dead_rc;
    vsnprintf(text, sizeof(text), fmt, ap);
    wr_client_close_set(&why, 0, code, wr_bytes_str(text), method, by_broker,
                        rc);
    wr_client_log(c, by_broker ? WARREN_LOG_NOTICE : WARREN_LOG_ERROR,
                  "connection closed: %s (%s)", text, warren_strerror(rc));
    /* warren_connect_url reports its own failures, and a hang-up after
     * our connection.close is no news: only an open connection notifies. */
    wr_client_teardown(c, &why, c->state == WR_CLIENT_OPEN);
    return rc;
}

int
wr_client_fail(struct warren_conn *c, int rc, uint16_t reply_code,
               uint32_t method, bool by_broker, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rc = vfail(c, rc, reply_code, method, by_broker, fmt, ap);
    va_end(ap);
    return rc;
}

int
wr_client_fail_protocol(struct warren_conn *c, uint16_t reply_code,
                        uint32_t method, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    int rc;

    if (c->state == WR_CLIENT_DEAD)
        return c->dead_rc;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    /* AMQP 0-9-1 section 2.3.5.1: a connection exception is reported with
     * connection.close. The stream is broken, so don't wait for close-ok:
     * send it (best effort, briefly) and hang up. */
    {
        struct wr_method m = {.id = WR_CONNECTION_CLOSE};

        m.u.connection_close.reply_code = reply_code;
        m.u.connection_close.reply_text = wr_bytes_str(text);
        m.u.connection_close.class_id = WR_METHOD_CLASS(method);
        m.u.connection_close.method_id = WR_METHOD_INDEX(method);
        c->dispatching++; /* never read (views may be live) */
        if (wr_client_send_method(c, 0, &m) == WR_OK)
            (void)wr_client_io_flush(c, wr_client_deadline(1000));
        c->dispatching--;
        if (c->fd >= 0)
            shutdown(c->fd, SHUT_WR);
    }
    rc = wr_client_fail(c, WARREN_ERR_PROTOCOL, reply_code, method, false, "%s",
                        text);
    return rc;
}

/* ---- connect --------------------------------------------------------- */

int
wr_client_wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};

    for (;;) {
        int64_t now = wr_client_now();
        int ms = deadline < 0 ? -1 : (int)WR_MAX(deadline - now, 0);
        int n = poll(&p, 1, ms);

        if (n > 0)
            return WR_OK;
        if (n == 0)
            return WR_ERR_TIMEOUT;
        if (errno != EINTR)
            return WR_ERR_IO;
    }
}

/* One non-blocking connect attempt. WR_OK and *fd, or WR_ERR_TIMEOUT, or
 * WR_ERR_IO with errno set. */
static int
connect_one(const struct addrinfo *ai, int64_t deadline, int *fd)
{
    int s =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);
    int rc, one = 1, soerr = 0;
    socklen_t len = sizeof(soerr);

    if (s < 0)
        return WR_ERR_IO;
    if (connect(s, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS)
            goto fail;
        rc = wr_client_wait_fd(s, POLLOUT, deadline);
        if (rc != WR_OK) {
            close(s);
            if (rc == WR_ERR_TIMEOUT)
                errno = ETIMEDOUT;
            return rc;
        }
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
            goto fail;
        if (soerr != 0) {
            errno = soerr;
            goto fail;
        }
    }
    /* Frames are coalesced by the library; don't let Nagle delay them. */
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *fd = s;
    return WR_OK;
fail:
    rc = errno;
    close(s);
    errno = rc;
    return WR_ERR_IO;
}

int
wr_client_io_connect(struct warren_conn *c, const char *host, int port,
                     bool tls, const char *sni, int64_t deadline)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL, *ai;
    char portstr[16], err[256];
    int rc = WR_ERR_IO, gai, saved = 0;

    snprintf(portstr, sizeof(portstr), "%d", port);
    gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0)
        return wr_client_fail(c, WR_ERR_IO, 0, 0, false,
                              "cannot resolve %s: %s", host, gai_strerror(gai));
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        rc = connect_one(ai, deadline, &c->fd);
        if (rc == WR_OK || rc == WR_ERR_TIMEOUT)
            break;
        saved = errno;
    }
    freeaddrinfo(res);
    if (rc == WR_ERR_TIMEOUT)
        return wr_client_fail(c, WR_ERR_TIMEOUT, 0, 0, false,
                              "timed out connecting to %s:%d", host, port);
    if (rc != WR_OK)
        return wr_client_fail(c, WR_ERR_IO, 0, 0, false,
                              "cannot connect to %s:%d: %s", host, port,
                              strerror(saved));
    c->last_recv = c->last_send = wr_client_now();
    c->rd_events = POLLIN;
    c->wr_events = POLLOUT;
    if (!tls)
        return WR_OK;
    {
        struct wr_client_tls_opts o = {
            .ca_file = c->ca_file,
            .cert_file = c->cert_file,
            .key_file = c->key_file,
            .host = host,
            .sni = sni,
            .verify = c->tls_verify,
        };

        err[0] = '\0';
        rc = wr_client_tls_connect(c->fd, &o, deadline, &c->tls, err,
                                   sizeof(err));
    }
    if (rc != WR_OK)
        return wr_client_fail(c, rc, 0, 0, false, "TLS with %s:%d: %s", host,
                              port, err);
    return WR_OK;
}

/* ---- buffers --------------------------------------------------------- */

int
wr_client_out_reserve(struct warren_conn *c, size_t n)
{
    size_t cap;
    uint8_t *p;

    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (n <= c->out_cap - c->out_len)
        return WR_OK;
    if (c->out_off > 0) { /* drop what was written */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (n <= c->out_cap - c->out_len)
            return WR_OK;
    }
    cap = c->out_cap ? c->out_cap : 4096;
    while (cap - c->out_len < n)
        cap *= 2;
    p = wr_realloc(c->out, cap);
    if (p == NULL)
        return WR_ERR_NOMEM;
    c->out = p;
    c->out_cap = cap;
    return WR_OK;
}

int
wr_client_send_method(struct warren_conn *c, uint16_t channel,
                      const struct wr_method *m)
{
    size_t want = 512, n = 0;
    int rc;

    for (;;) {
        rc = wr_client_out_reserve(c, want);
        if (rc != WR_OK)
            return rc;
        rc = wr_method_frame_encode(channel, m, c->out + c->out_len,
                                    c->out_cap - c->out_len, &n);
        if (rc != WR_ERR_NOSPACE)
            break;
        if (want > ((size_t)1 << 30))
            return WR_ERR_INVALID;
        want *= 4;
    }
    if (rc != WR_OK)
        return rc == WR_ERR_NOMEM ? rc : WR_ERR_INVALID;
    if (c->frame_max && n > c->frame_max) {
        wr_client_log(c, WARREN_LOG_WARN, "%s of %zu bytes exceeds frame-max",
                      wr_method_name(m->id), n);
        return WR_ERR_INVALID;
    }
    c->out_len += n;
    return WR_OK;
}

/* Room to read into: compacts (and with grow, enlarges) the input buffer.
 * Only legal while no views into it are live (dispatching == 0). Returns
 * the free space at the end, 0 when nothing can be read now, or
 * WR_ERR_NOMEM. */
static long
in_room(struct warren_conn *c, bool grow)
{
    size_t used, need = WR_FRAME_OVERHEAD;

    if (c->dispatching > 0)
        return 0;
    used = c->in_w - c->in_r;
    if (c->in_r > 0 &&
        (used == 0 || c->in_cap - c->in_w < WR_CLIENT_READ_MIN)) {
        memmove(c->in, c->in + c->in_r, used);
        c->in_r = 0;
        c->in_w = used;
    }
    if (c->in_w < c->in_cap || !grow)
        return (long)(c->in_cap - c->in_w);
    /* Full with an incomplete frame: make room for all of it (the decoder
     * has already checked its size against frame-max). */
    if (used >= WR_FRAME_HEADER_SIZE) {
        const uint8_t *h = c->in + c->in_r;
        need = ((size_t)h[3] << 24 | (size_t)h[4] << 16 | (size_t)h[5] << 8 |
                h[6]) +
               WR_FRAME_OVERHEAD;
    }
    {
        size_t cap = WR_MAX(c->in_cap * 2, need + WR_CLIENT_READ_MIN);
        uint8_t *p = wr_realloc(c->in, cap);

        if (p == NULL)
            return WR_ERR_NOMEM;
        c->in = p;
        c->in_cap = cap;
    }
    return (long)(c->in_cap - c->in_w);
}

/* ---- raw reads and writes -------------------------------------------- */

static int
eof_failure(struct warren_conn *c)
{
    if (c->state == WR_CLIENT_HANDSHAKE && c->sent_start_ok)
        /* AMQP 0-9-1 section 4.2.2 (and RabbitMQ before the
         * authentication_failure_close capability): a refused login
         * closes the socket. */
        return wr_client_fail(c, WARREN_ERR_AUTH, 0, 0, false,
                              "the broker closed the connection during "
                              "login (probably bad credentials)");
    if (c->in_w > c->in_r)
        return wr_client_fail(c, WR_ERR_IO, 0, 0, false,
                              "the broker closed the connection in the "
                              "middle of a frame");
    return wr_client_fail(c, WR_ERR_IO, 0, 0, false,
                          "the broker closed the connection without "
                          "connection.close");
}

/* One read attempt. WR_OK (bytes read), WR_AGAIN, or the fatal code. */
static int
try_read(struct warren_conn *c, size_t room)
{
    char err[256] = "";
    size_t n = 0;
    int rc;

    if (c->tls != NULL) {
        rc = wr_client_tls_read(c->tls, c->in + c->in_w, room, &n,
                                &c->rd_events, err, sizeof(err));
        if (rc == WR_AGAIN)
            return WR_AGAIN;
        if (rc != WR_OK)
            return wr_client_fail(c, rc, 0, 0, false, "TLS read: %s", err);
    } else {
        ssize_t r = recv(c->fd, c->in + c->in_w, room, 0);

        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return WR_AGAIN;
            return wr_client_fail(c, WR_ERR_IO, 0, 0, false, "read: %s",
                                  strerror(errno));
        }
        n = (size_t)r;
    }
    if (n == 0)
        return eof_failure(c);
    c->in_w += n;
    c->last_recv = wr_client_now();
    return WR_OK;
}

/* One write attempt of the pending output. WR_OK (some written or
 * nothing to write), WR_AGAIN, or the fatal code. */
static int
try_write(struct warren_conn *c)
{
    char err[256] = "";
    size_t n = 0;
    int rc;

    if (c->out_off == c->out_len)
        return WR_OK;
    if (c->tls != NULL) {
        rc = wr_client_tls_write(c->tls, c->out + c->out_off,
                                 c->out_len - c->out_off, &n, &c->wr_events,
                                 err, sizeof(err));
        if (rc == WR_AGAIN)
            return WR_AGAIN;
        if (rc != WR_OK)
            return wr_client_fail(c, rc, 0, 0, false, "TLS write: %s", err);
    } else {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);

        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return WR_AGAIN;
            return wr_client_fail(c, WR_ERR_IO, 0, 0, false, "write: %s",
                                  strerror(errno));
        }
        n = (size_t)w;
    }
    c->out_off += n;
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    c->last_send = wr_client_now();
    return WR_OK;
}

/* ---- the pump -------------------------------------------------------- */

/* Drives the socket until need_read is satisfied (some bytes read) or,
 * without need_read, all output is written; or until deadline. */
static int
pump(struct warren_conn *c, int64_t deadline, bool need_read)
{
    for (;;) {
        struct pollfd p = {.fd = c->fd};
        bool want_write, can_read;
        long room;
        int64_t now, wake;
        int rc;

        if (c->state == WR_CLIENT_DEAD)
            return c->dead_rc;
        want_write = c->out_off < c->out_len;
        if (want_write) {
            rc = try_write(c);
            if (rc < 0 && rc != WR_AGAIN)
                return rc;
            want_write = c->out_off < c->out_len;
        }
        if (!need_read && !want_write)
            return WR_OK;
        room = in_room(c, need_read);
        if (room < 0)
            return wr_client_fail(c, WR_ERR_NOMEM, 0, 0, false,
                                  "out of memory for the input buffer");
        can_read = room > 0;
        if (can_read) {
            rc = try_read(c, (size_t)room);
            if (rc == WR_OK) {
                if (need_read)
                    return WR_OK;
                continue;
            }
            if (rc != WR_AGAIN)
                return rc;
        }
        now = wr_client_now();
        wake = deadline;
        if (c->heartbeat && c->state != WR_CLIENT_HANDSHAKE) {
            int64_t hb = (int64_t)c->heartbeat * 1000;

            /* AMQP 0-9-1 section 4.2.7 (RabbitMQ): a peer that sent
             * nothing for two intervals is dead. Only judged while we
             * listen, else a long write would look like silence. */
            if (can_read && now - c->last_recv >= 2 * hb)
                return wr_client_fail(
                    c, WR_ERR_TIMEOUT, 0, 0, false,
                    "no frame from the broker for %d s (two heartbeat "
                    "intervals)",
                    2 * c->heartbeat);
            if (!want_write && now - c->last_send >= hb / 2) {
                rc = wr_client_out_reserve(c, sizeof(wr_heartbeat_frame));
                if (rc != WR_OK)
                    return wr_client_fail(c, rc, 0, 0, false, "out of memory");
                memcpy(c->out + c->out_len, wr_heartbeat_frame,
                       sizeof(wr_heartbeat_frame));
                c->out_len += sizeof(wr_heartbeat_frame);
                continue;
            }
            if (can_read)
                wake = wake < 0 ? c->last_recv + 2 * hb
                                : WR_MIN(wake, c->last_recv + 2 * hb);
            if (!want_write)
                wake = wake < 0 ? c->last_send + hb / 2
                                : WR_MIN(wake, c->last_send + hb / 2);
        }
        if (deadline >= 0 && now >= deadline)
            return WR_AGAIN;
        if (want_write)
            p.events |= c->tls ? c->wr_events : POLLOUT;
        if (can_read)
            p.events |= c->tls ? c->rd_events : POLLIN;
        {
            int ms = wake < 0 ? -1 : (int)WR_MAX(wake - now, 0);
            int n = poll(&p, 1, ms);

            if (n < 0 && errno != EINTR)
                return wr_client_fail(c, WR_ERR_IO, 0, 0, false, "poll: %s",
                                      strerror(errno));
        }
    }
}

int
wr_client_io_read(struct warren_conn *c, int64_t deadline)
{
    wr_assert(c->dispatching == 0);
    return pump(c, deadline, true);
}

int
wr_client_io_flush(struct warren_conn *c, int64_t deadline)
{
    return pump(c, deadline, false);
}

int
wr_client_flush(struct warren_conn *c)
{
    int rc;

    if (c->state == WR_CLIENT_DEAD)
        return c->dead_rc;
    if (c->out_off == c->out_len)
        return WR_OK;
    rc = wr_client_io_flush(c, wr_client_deadline(c->rpc_ms));
    if (rc == WR_AGAIN)
        rc = wr_client_fail(c, WR_ERR_TIMEOUT, 0, 0, false,
                            "could not write to the broker for %d ms",
                            c->rpc_ms);
    return rc;
}
