/* SPDX-License-Identifier: MIT */
/* Server TLS for the AMQPS listener (ssl_options.*) and the HTTPS API
 * (management.ssl.*): OpenSSL contexts, bufferevent_openssl filters,
 * reload on SIGHUP, peer certificate checks for SASL EXTERNAL. */
#include "runtime_internal.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

struct wr_tls {
    SSL_CTX *ctx;
    enum wr_tls_use use; /* which keys it is (re)built from */
};

/* The files and verify mode of one listener; versions and ciphers are
 * ssl_options.* for both. */
struct tls_files {
    const char *prefix; /* of the keys, for messages */
    const char *cacertfile, *certfile, *keyfile;
    bool verify_peer, fail_if_no_peer_cert;
};

static struct tls_files
files_for(const struct wr_config *cfg, enum wr_tls_use use)
{
    struct tls_files f = {"ssl_options",        cfg->ssl_cacertfile,
                          cfg->ssl_certfile,    cfg->ssl_keyfile,
                          cfg->ssl_verify_peer, cfg->ssl_fail_if_no_peer_cert};

    if (use == WR_TLS_MGMT) {
        f.prefix = "management.ssl";
        f.cacertfile = cfg->mgmt_ssl_cacertfile;
        f.certfile = cfg->mgmt_ssl_certfile;
        f.keyfile = cfg->mgmt_ssl_keyfile;
        f.verify_peer = cfg->mgmt_ssl_verify_peer;
        f.fail_if_no_peer_cert = cfg->mgmt_ssl_fail_if_no_peer_cert;
    }
    return f;
}

static void *
tls_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return wr_malloc(n);
}

static void *
tls_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return wr_realloc(p, n);
}

static void
tls_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    wr_free(p);
}

void
wr_tls_global_init(void)
{
    CRYPTO_set_mem_functions(tls_malloc, tls_realloc, tls_free);
}

/* Appends OpenSSL's queued errors to a message. */
static void
ssl_errors(char *err, size_t errlen, const char *what, const char *file)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256] = "";

    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    snprintf(err, errlen, "%s%s%s: %s", what, file ? " " : "", file ? file : "",
             buf[0] ? buf : "failed");
}

static SSL_CTX *
build(const struct wr_config *cfg, enum wr_tls_use use, char *err,
      size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    struct tls_files f = files_for(cfg, use);
    int verify = SSL_VERIFY_NONE;
    char what[64];

    if (ctx == NULL) {
        ssl_errors(err, errlen, "SSL_CTX_new", NULL);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, (cfg->ssl_versions & WR_TLS_V12)
                                           ? TLS1_2_VERSION
                                           : TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, (cfg->ssl_versions & WR_TLS_V13)
                                           ? TLS1_3_VERSION
                                           : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    if (cfg->ssl_ciphers[0] &&
        SSL_CTX_set_cipher_list(ctx, cfg->ssl_ciphers) != 1) {
        ssl_errors(err, errlen, "ssl_options.ciphers", cfg->ssl_ciphers);
        goto fail;
    }
    if (cfg->ssl_suites[0] &&
        SSL_CTX_set_ciphersuites(ctx, cfg->ssl_suites) != 1) {
        ssl_errors(err, errlen, "ssl_options.ciphers", cfg->ssl_suites);
        goto fail;
    }
    snprintf(what, sizeof(what), "%s.certfile", f.prefix);
    if (SSL_CTX_use_certificate_chain_file(ctx, f.certfile) != 1) {
        ssl_errors(err, errlen, what, f.certfile);
        goto fail;
    }
    snprintf(what, sizeof(what), "%s.keyfile", f.prefix);
    if (SSL_CTX_use_PrivateKey_file(ctx, f.keyfile, SSL_FILETYPE_PEM) != 1) {
        ssl_errors(err, errlen, what, f.keyfile);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(what, sizeof(what), "%s.keyfile does not match certfile",
                 f.prefix);
        ssl_errors(err, errlen, what, NULL);
        goto fail;
    }
    if (f.cacertfile[0]) {
        STACK_OF(X509_NAME) * names;
        snprintf(what, sizeof(what), "%s.cacertfile", f.prefix);
        if (SSL_CTX_load_verify_locations(ctx, f.cacertfile, NULL) != 1) {
            ssl_errors(err, errlen, what, f.cacertfile);
            goto fail;
        }
        names = SSL_load_client_CA_file(f.cacertfile);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
    }
    if (f.verify_peer) {
        verify = SSL_VERIFY_PEER;
        if (f.fail_if_no_peer_cert)
            verify |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(ctx, verify, NULL);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"warren", 6);
    ERR_clear_error();
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

struct wr_tls *
wr_tls_new(const struct wr_config *cfg, enum wr_tls_use use, char *err,
           size_t errlen)
{
    SSL_CTX *ctx = build(cfg, use, err, errlen);
    struct wr_tls *t;

    if (ctx == NULL)
        return NULL;
    t = wr_calloc(1, sizeof(*t));
    t->ctx = ctx;
    t->use = use;
    return t;
}

int
wr_tls_reload(struct wr_tls *t, const struct wr_config *cfg, char *err,
              size_t errlen)
{
    SSL_CTX *ctx = build(cfg, t->use, err, errlen);

    if (ctx == NULL)
        return WR_ERR_INVALID;
    /* Open connections hold a reference to the old context. */
    SSL_CTX_free(t->ctx);
    t->ctx = ctx;
    return 0;
}

void
wr_tls_free(struct wr_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    wr_free(t);
}

struct bufferevent *
wr_tls_bev_new(struct wr_tls *t, struct event_base *base, int fd)
{
    SSL *ssl = SSL_new(t->ctx);
    struct bufferevent *bev;

    if (ssl == NULL)
        return NULL;
    bev = bufferevent_openssl_socket_new(
        base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    /* Many clients close the socket without a TLS close_notify. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

void
wr_tls_describe(struct bufferevent *bev, char *out, size_t cap)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);

    if (ssl == NULL) {
        snprintf(out, cap, "?");
        return;
    }
    snprintf(out, cap, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}

bool
wr_tls_peer_cn(struct bufferevent *bev, char *out, size_t cap)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    X509 *cert;
    int n;

    if (ssl == NULL)
        return false;
    cert = SSL_get1_peer_certificate(ssl);
    if (cert == NULL)
        return false;
    n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
                                  out, (int)cap);
    X509_free(cert);
    return n > 0 && SSL_get_verify_result(ssl) == X509_V_OK;
}

void
wr_tls_error(struct bufferevent *bev, char *out, size_t cap)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    unsigned long e;
    char buf[256] = "";
    long vr;

    /* libevent also queues the bare SSL_get_error() code (library 0):
     * keep the first real OpenSSL reason. */
    while ((e = bufferevent_get_openssl_error(bev)) != 0)
        if (buf[0] == '\0' && ERR_GET_LIB(e) != 0)
            ERR_error_string_n(e, buf, sizeof(buf));
    vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (vr != X509_V_OK)
        snprintf(out, cap, "%s (peer certificate: %s)",
                 buf[0] ? buf : "TLS error", X509_verify_cert_error_string(vr));
    else
        snprintf(out, cap, "%s", buf[0] ? buf : "connection reset");
    ERR_clear_error();
}
