/* SPDX-License-Identifier: MIT */
/* amqps:// with OpenSSL 3: context setup (CA, client certificate, peer and
 * host-name verification), a non-blocking handshake, and reads and writes
 * through a socket BIO that never raises SIGPIPE. The only file of client/
 * that includes OpenSSL. */
#include "client_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct wr_client_tls {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO_METHOD *meth; /* our socket BIO's method table */
    bool up;          /* handshake finished */
};

/* ---- a socket BIO using send(MSG_NOSIGNAL) ----------------------------- */

static int
bio_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int
bio_write(BIO *b, const char *buf, int len)
{
    ssize_t n;

    BIO_clear_retry_flags(b);
    n = send(bio_fd(b), buf, (size_t)len, MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            BIO_set_retry_write(b);
        return -1;
    }
    return (int)n;
}

static int
bio_read(BIO *b, char *buf, int len)
{
    ssize_t n;

    BIO_clear_retry_flags(b);
    n = recv(bio_fd(b), buf, (size_t)len, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            BIO_set_retry_read(b);
        return -1;
    }
    return (int)n;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* ---- errors ---------------------------------------------------------- */

static void
ssl_reason(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];

    if (e == 0) {
        snprintf(err, errlen, "%s", what);
        return;
    }
    ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, errlen, "%s: %s", what, buf);
    ERR_clear_error();
}

/* ---- setup ----------------------------------------------------------- */

static int
make_ctx(struct wr_client_tls *t, const struct wr_client_tls_opts *o, char *err,
         size_t errlen)
{
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL) {
        ssl_reason(err, errlen, "SSL_CTX_new");
        return WR_ERR_NOMEM;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    /* A peer that drops TCP without close_notify reads as EOF, which the
     * AMQP layer judges (mid-frame or not). */
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(t->ctx, o->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
                       NULL);
    if (o->ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(t->ctx, o->ca_file, NULL) != 1) {
            char what[300];

            snprintf(what, sizeof(what), "cannot load CA file %s", o->ca_file);
            ssl_reason(err, errlen, what);
            return WARREN_ERR_TLS;
        }
    } else if (o->verify && SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        ssl_reason(err, errlen, "cannot load the system CA store");
        return WARREN_ERR_TLS;
    }
    if (o->cert_file != NULL) {
        char what[300];

        if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) != 1) {
            snprintf(what, sizeof(what), "cannot load certificate %s",
                     o->cert_file);
            ssl_reason(err, errlen, what);
            return WARREN_ERR_TLS;
        }
        if (SSL_CTX_use_PrivateKey_file(t->ctx, o->key_file,
                                        SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(t->ctx) != 1) {
            snprintf(what, sizeof(what), "cannot load key %s for %s",
                     o->key_file, o->cert_file);
            ssl_reason(err, errlen, what);
            return WARREN_ERR_TLS;
        }
    }
    return WR_OK;
}

static int
make_ssl(struct wr_client_tls *t, int fd, const struct wr_client_tls_opts *o,
         char *err, size_t errlen)
{
    unsigned char addr[sizeof(struct in6_addr)];
    bool is_ip = inet_pton(AF_INET, o->host, addr) == 1 ||
                 inet_pton(AF_INET6, o->host, addr) == 1;
    const char *sni = o->sni ? o->sni : is_ip ? NULL : o->host;
    BIO *bio;

    t->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                           "warren socket");
    if (t->meth == NULL || (t->ssl = SSL_new(t->ctx)) == NULL) {
        ssl_reason(err, errlen, "SSL_new");
        return WR_ERR_NOMEM;
    }
    BIO_meth_set_write(t->meth, bio_write);
    BIO_meth_set_read(t->meth, bio_read);
    BIO_meth_set_ctrl(t->meth, bio_ctrl);
    BIO_meth_set_create(t->meth, bio_create);
    if ((bio = BIO_new(t->meth)) == NULL) {
        ssl_reason(err, errlen, "BIO_new");
        return WR_ERR_NOMEM;
    }
    BIO_set_data(bio, (void *)(intptr_t)fd);
    SSL_set_bio(t->ssl, bio, bio);
    if (sni != NULL && SSL_set_tlsext_host_name(t->ssl, sni) != 1) {
        ssl_reason(err, errlen, "bad server name");
        return WARREN_ERR_TLS;
    }
    if (o->verify) {
        /* RFC 6125: the certificate must name the host we dialled. */
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl),
                                                       o->host)
                       : SSL_set1_host(t->ssl, o->host);

        if (ok != 1) {
            ssl_reason(err, errlen, "cannot set the host to verify");
            return WARREN_ERR_TLS;
        }
    }
    return WR_OK;
}

int
wr_client_tls_connect(int fd, const struct wr_client_tls_opts *o,
                      int64_t deadline, struct wr_client_tls **out, char *err,
                      size_t errlen)
{
    struct wr_client_tls *t = wr_calloc(1, sizeof(*t));
    int rc;

    *out = NULL;
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return WR_ERR_NOMEM;
    }
    ERR_clear_error();
    rc = make_ctx(t, o, err, errlen);
    if (rc == WR_OK)
        rc = make_ssl(t, fd, o, err, errlen);
    while (rc == WR_OK) {
        int r = SSL_connect(t->ssl), e;

        if (r == 1)
            break;
        e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            rc = wr_client_wait_fd(
                fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            if (rc == WR_ERR_TIMEOUT)
                snprintf(err, errlen, "handshake timed out");
            else if (rc != WR_OK)
                snprintf(err, errlen, "poll failed");
            continue;
        }
        if (SSL_get_verify_result(t->ssl) != X509_V_OK) {
            snprintf(
                err, errlen, "certificate verification failed: %s",
                X509_verify_cert_error_string(SSL_get_verify_result(t->ssl)));
            ERR_clear_error();
        } else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
            snprintf(err, errlen, "connection closed during the handshake");
        } else {
            ssl_reason(err, errlen, "handshake failed");
        }
        rc = WARREN_ERR_TLS;
    }
    if (rc != WR_OK) {
        wr_client_tls_free(t);
        return rc;
    }
    t->up = true;
    *out = t;
    return WR_OK;
}

/* ---- I/O ------------------------------------------------------------- */

static int
io_result(struct wr_client_tls *t, int r, size_t *n, short *events, char *err,
          size_t errlen)
{
    int e = SSL_get_error(t->ssl, r);

    switch (e) {
    case SSL_ERROR_WANT_READ:
        *events = POLLIN;
        return WR_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        *events = POLLOUT;
        return WR_AGAIN;
    case SSL_ERROR_ZERO_RETURN: /* close_notify, or EOF (see make_ctx) */
        *n = 0;
        return WR_OK;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            snprintf(err, errlen, "%s", errno ? strerror(errno) : "EOF");
            return WR_ERR_IO;
        }
        break;
    }
    ssl_reason(err, errlen, "TLS failure");
    return WARREN_ERR_TLS;
}

int
wr_client_tls_read(struct wr_client_tls *t, void *buf, size_t len, size_t *n,
                   short *events, char *err, size_t errlen)
{
    int r;

    ERR_clear_error();
    errno = 0;
    r = SSL_read(t->ssl, buf, (int)WR_MIN(len, (size_t)INT_MAX));
    if (r > 0) {
        *n = (size_t)r;
        *events = POLLIN;
        return WR_OK;
    }
    return io_result(t, r, n, events, err, errlen);
}

int
wr_client_tls_write(struct wr_client_tls *t, const void *buf, size_t len,
                    size_t *n, short *events, char *err, size_t errlen)
{
    int r, rc;

    ERR_clear_error();
    errno = 0;
    r = SSL_write(t->ssl, buf, (int)WR_MIN(len, (size_t)INT_MAX));
    if (r > 0) {
        *n = (size_t)r;
        *events = POLLOUT;
        return WR_OK;
    }
    rc = io_result(t, r, n, events, err, errlen);
    if (rc == WR_OK) { /* the peer closed: writing can't go on */
        snprintf(err, errlen, "the peer closed the TLS session");
        rc = WR_ERR_IO;
    }
    if (rc == WR_ERR_IO) {
        /* A TLS 1.3 server refuses a client certificate after our side of
         * the handshake is done: its alert may be waiting unread. The
         * connection is lost anyway, so read it for a better reason. */
        char junk[512], why[256];
        size_t got;
        short ev;

        ERR_clear_error();
        r = SSL_read(t->ssl, junk, sizeof(junk));
        if (r <= 0 &&
            io_result(t, r, &got, &ev, why, sizeof(why)) == WARREN_ERR_TLS) {
            snprintf(err, errlen, "%s", why);
            rc = WARREN_ERR_TLS;
        }
    }
    return rc;
}

size_t
wr_client_tls_pending(struct wr_client_tls *t)
{
    return (size_t)SSL_pending(t->ssl);
}

void
wr_client_tls_free(struct wr_client_tls *t)
{
    if (t == NULL)
        return;
    if (t->ssl != NULL) {
        if (t->up)
            (void)SSL_shutdown(t->ssl); /* close_notify, never waits */
        SSL_free(t->ssl);
    }
    SSL_CTX_free(t->ctx);
    BIO_meth_free(t->meth);
    ERR_clear_error();
    wr_free(t);
}
