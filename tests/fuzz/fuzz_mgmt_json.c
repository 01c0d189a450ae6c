/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the management HTTP API's request bodies, through the
 * real handlers. A wr_server with the API served (wr_mgmt_start_fd) on a
 * listening UNIX socket, no TCP port; each request of the input is sent
 * on its own connection (Connection: close) and the event loop runs until
 * the broker has answered and hung up. So the JSON travels the whole way:
 * evhttp, the route table, basic auth, wr_mgmt_body and the field
 * readers, json.c's tables, properties and base64, the definitions
 * import (defs.c) and the broker state the handlers change (vhosts,
 * exchanges, queues, bindings, messages, users, permissions). Then
 * everything is torn down, and every byte the broker allocated (libevent's
 * and jansson's included) must have been given back.
 *
 * Input: requests separated by a line "%%". Each request is a first line
 * "METHOD PATH [USER:PASS]" (the path from "/api/..."; bytes outside
 * printable ASCII are percent-encoded; the login defaults to guest:guest)
 * and the rest is the body. Example:
 *   PUT /api/queues/%2F/q1
 *   {"durable":true,"arguments":{"x-max-length":10}}
 *   %%
 *   POST /api/exchanges/%2F/amq.default/publish
 *   {"routing_key":"q1","payload":"aGk=","payload_encoding":"base64",
 *    "properties":{"headers":{"a":[1,2.5,null]}}}
 */
#include "../../broker/broker.h"
#include "../../mgmt/mgmt.h"

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

#define MAX_INPUT (256u << 10) /* longer inputs are skipped */
#define MAX_REQUESTS 64
#define MAX_TURNS 10000 /* a request unanswered after this many is a hang */
#define SEP "\n%%\n"

struct buf {
    char *p;
    size_t len, cap;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 1024;
        while (n > cap - b->len)
            cap *= 2;
        b->p = realloc(b->p, cap);
        CHECK(b->p != NULL);
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void
buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static const char *const methods[] = {"GET",    "PUT",  "POST",
                                      "DELETE", "HEAD", "OPTIONS"};

/* Standard base64 of p[0..n) into out (NUL-terminated). */
static void
b64(const char *p, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
                            "yz0123456789+/";
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(uint8_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(uint8_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= (uint8_t)p[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Builds the HTTP request for one request of the input, or returns false
 * when its first line is not "METHOD PATH [LOGIN]". */
static bool
build_request(const char *p, size_t n, struct buf *out)
{
    const char *nl = memchr(p, '\n', n), *body, *sp, *path, *login = NULL;
    size_t line = nl ? (size_t)(nl - p) : n, mlen, plen, llen = 0;
    char hdr[1024], auth[700];
    bool known = false;

    body = nl ? nl + 1 : p + n;
    sp = memchr(p, ' ', line);
    if (sp == NULL)
        return false;
    mlen = (size_t)(sp - p);
    for (size_t i = 0; i < WR_ARRAY_LEN(methods); i++)
        known |= strlen(methods[i]) == mlen && memcmp(methods[i], p, mlen) == 0;
    if (!known)
        return false;
    path = sp + 1;
    plen = line - mlen - 1;
    sp = memchr(path, ' ', plen);
    if (sp != NULL) {
        login = sp + 1;
        llen = plen - (size_t)(login - path);
        plen = (size_t)(sp - path);
    }
    if (plen == 0 || llen > 500)
        return false;
    buf_add(out, p, mlen + 1);
    for (size_t i = 0; i < plen; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c <= ' ' || c >= 0x7f) {
            char esc[4];
            snprintf(esc, sizeof(esc), "%%%02X", c);
            buf_str(out, esc);
        } else {
            buf_add(out, &path[i], 1);
        }
    }
    if (login)
        b64(login, llen, auth);
    else
        b64("guest:guest", 11, auth);
    snprintf(hdr, sizeof(hdr),
             " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic %s\r\n"
             "Content-Type: application/json\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n",
             auth, (size_t)(p + n - body));
    buf_str(out, hdr);
    buf_add(out, body, (size_t)(p + n - body));
    return true;
}

/* Sends one request on a new connection to the API and runs the loop
 * until the broker has answered and closed it. */
static void
exchange(struct wr_server *srv, const struct sockaddr_un *addr, socklen_t alen,
         const struct buf *req)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    size_t off = 0;
    bool eof = false;
    char tmp[4096];

    CHECK(fd >= 0);
    CHECK(connect(fd, (const struct sockaddr *)addr, alen) == 0);
    CHECK(evutil_make_socket_nonblocking(fd) == 0);
    for (int t = 0; t < MAX_TURNS && !eof; t++) {
        ssize_t k;
        if (off < req->len) {
            k = send(fd, req->p + off, req->len - off, MSG_NOSIGNAL);
            if (k > 0)
                off += (size_t)k;
            else if (k < 0 && errno != EAGAIN)
                off = req->len; /* the broker gave up on it already */
        }
        event_base_loop(srv->base, EVLOOP_NONBLOCK);
        while ((k = recv(fd, tmp, sizeof(tmp), 0)) > 0)
            ;
        if (k == 0 || (k < 0 && errno != EAGAIN))
            eof = true;
    }
    CHECK(eof); /* an unanswered request: the API hangs */
    close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* As main() does: libevent allocates through the counted wrappers. */
    event_set_mem_functions(wr_malloc, wr_realloc, wr_free);
    /* The same hash order on every run, so a crash replays. */
    json_object_seed(1);
    /* Silent, unless WARREN_FUZZ_LOG is set (to replay a crash). */
    wr_log_level = getenv("WARREN_FUZZ_LOG") ? WR_LOG_DEBUG : -1;
    wr_alloc_set_abort_on_oom(true);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wr_config cfg;
    struct wr_server srv;
    struct sockaddr_un addr;
    socklen_t alen = sizeof(sa_family_t);
    const char *p = (const char *)data, *end = p + size;
    struct buf req = {0};
    size_t base = wr_alloc_used();
    int lfd, nreq = 0;

    /* PUT /api/log-level changes it for the process: back to the
     * harness's level for every input. */
    wr_log_set_level(getenv("WARREN_FUZZ_LOG") ? WR_LOG_DEBUG : -1);

    if (size > MAX_INPUT)
        return 0;
    wr_config_defaults(&cfg);
    cfg.loopback_users[0] = '\0'; /* guest over a UNIX socket */
    CHECK(wr_server_init(&srv, &cfg) == 0);
    /* An abstract UNIX socket the kernel names (autobind): nothing in
     * the file system, nothing on TCP. */
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(lfd >= 0);
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    CHECK(bind(lfd, (struct sockaddr *)&addr, alen) == 0);
    alen = sizeof(addr);
    CHECK(getsockname(lfd, (struct sockaddr *)&addr, &alen) == 0);
    CHECK(listen(lfd, 16) == 0);
    CHECK(evutil_make_socket_nonblocking(lfd) == 0);
    CHECK(wr_mgmt_start_fd(&srv, lfd) == 0);

    while (p < end && nreq < MAX_REQUESTS) {
        const char *sep = memmem(p, (size_t)(end - p), SEP, strlen(SEP));
        const char *stop = sep ? sep : end;
        req.len = 0;
        if (build_request(p, (size_t)(stop - p), &req)) {
            exchange(&srv, &addr, alen, &req);
            nreq++;
        }
        p = sep ? sep + strlen(SEP) : end;
    }
    free(req.p);
    for (int i = 0; i < 4; i++)
        event_base_loop(srv.base, EVLOOP_NONBLOCK);
    wr_server_cleanup(&srv);
    CHECK(wr_alloc_used() == base);
    return 0;
}
