/* SPDX-License-Identifier: MIT */
/* Server TLS for the AMQPS listener and the HTTPS management API: the
 * contexts built from ssl_options.* / management.ssl.*, OpenSSL-filtered
 * bufferevents, certificate reload on SIGHUP. OpenSSL types stay inside
 * broker/tls.c. */
#ifndef WR_TLS_H
#define WR_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct wr_config;
struct wr_tls;
struct bufferevent;
struct event_base;

/* Routes OpenSSL's allocations through wr_malloc (memory accounting).
 * Call before any other OpenSSL use. */
void wr_tls_global_init(void);
/* Which keys a context is built from. */
enum wr_tls_use {
    WR_TLS_AMQPS, /* ssl_options.* */
    WR_TLS_MGMT,  /* management.ssl.* files and verify mode; ssl_options
                     versions and ciphers */
};

/* Builds a server context from cfg (certificate, key, CA, verify mode,
 * versions, ciphers). Returns NULL with a message naming the key at fault
 * in err. */
struct wr_tls *wr_tls_new(const struct wr_config *cfg, enum wr_tls_use use,
                          char *err, size_t errlen);
/* Rebuilds the context from the files (SIGHUP). New connections use the
 * new one; open connections keep theirs. On failure the old context stays
 * and -1 is returned with a message. */
int wr_tls_reload(struct wr_tls *t, const struct wr_config *cfg, char *err,
                  size_t errlen);
void wr_tls_free(struct wr_tls *t);
/* A server-side (accepting) TLS bufferevent on fd, or NULL. fd may be -1
 * when the owner sets it later (evhttp's bevcb). */
struct bufferevent *wr_tls_bev_new(struct wr_tls *t, struct event_base *base,
                                   int fd);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for an established connection. */
void wr_tls_describe(struct bufferevent *bev, char *out, size_t cap);
/* CN of the peer's certificate if it presented one that verified; false
 * otherwise. */
bool wr_tls_peer_cn(struct bufferevent *bev, char *out, size_t cap);
/* Why the TLS layer failed (OpenSSL error queue and verify result). */
void wr_tls_error(struct bufferevent *bev, char *out, size_t cap);

#endif
