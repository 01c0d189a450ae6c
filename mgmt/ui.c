/* SPDX-License-Identifier: MIT */
/* The web UI's static files (mgmt/ui/ in the source tree, share/warren/ui
 * once installed) on the management listener: GET / and the files below
 * it, with a strict Content-Security-Policy. The UI itself is a client of
 * the public API under /api/. */
#include "mgmt_internal.h"

#include <event2/buffer.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* No inline script or style, nothing from another origin, never framed. */
#define UI_CSP                                                                 \
    "default-src 'none'; script-src 'self'; style-src 'self'; "                \
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "              \
    "manifest-src 'self'; form-action 'self'; base-uri 'none'; "               \
    "frame-ancestors 'none'"

#define UI_MAX_PATH 128        /* longest path served */
#define UI_MAX_FILE (4u << 20) /* largest file served */

struct ui_type {
    const char *ext;
    const char *ctype;
};

static const struct ui_type types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

/* The content type for path's extension, NULL for one not served. */
static const char *
content_type(const char *path)
{
    const char *dot = strrchr(path, '.');

    if (dot == NULL || strchr(dot, '/'))
        return NULL;
    for (size_t i = 0; i < WR_ARRAY_LEN(types); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].ctype;
    return NULL;
}

/* Whether path (raw, after the leading "/") names a file the UI may have:
 * segments of letters, digits, '-', '_' and '.', none starting with '.'
 * (so no "..", no hidden files), no escapes, no empty segment. Nothing
 * else reaches the file system. */
static bool
safe_path(const char *p)
{
    bool seg_start = true;
    size_t n = 0;

    for (; *p; p++, n++) {
        char c = *p;
        if (n >= UI_MAX_PATH)
            return false;
        if (c == '/') {
            if (seg_start)
                return false;
            seg_start = true;
            continue;
        }
        if (seg_start && c == '.')
            return false;
        seg_start = false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return n > 0 && !seg_start;
}

/* Whether dir holds the UI (its index.html). */
static bool
ui_dir_ok(const char *dir)
{
    char f[PATH_MAX];

    return (size_t)snprintf(f, sizeof(f), "%s/index.html", dir) < sizeof(f) &&
           access(f, R_OK) == 0;
}

/* The UI's directory into dir: management.ui.dir, else next to the
 * program: ../share/warren/ui (installed) or ../mgmt/ui (the build tree). */
static bool
find_ui_dir(const struct wr_config *cfg, char *dir, size_t cap)
{
    static const char *const rel[] = {"../share/warren/ui", "../mgmt/ui"};
    char exe[PATH_MAX];
    ssize_t n;
    char *slash;

    if (cfg->mgmt_ui_dir[0]) {
        snprintf(dir, cap, "%s", cfg->mgmt_ui_dir);
        return true;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (slash == NULL)
        return false;
    *slash = '\0';
    for (size_t i = 0; i < WR_ARRAY_LEN(rel); i++)
        if ((size_t)snprintf(dir, cap, "%s/%s", exe, rel[i]) < cap &&
            ui_dir_ok(dir))
            return true;
    return false;
}

static void
add_headers(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Server", WR_PRODUCT "/" WR_VERSION);
    evhttp_add_header(h, "Content-Security-Policy", UI_CSP);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
    evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
}

/* 404 with the API's body, so that a client sees one kind of answer. */
static int
not_found(struct evhttp_request *req)
{
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evbuffer_add_printf(b, "{\"error\":\"Object Not Found\","
                           "\"reason\":\"Not Found\"}");
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_send_reply(req, 404, "Not Found", b);
    evbuffer_free(b);
    return 404;
}

/* Serves one file: revalidated on every use (no-cache) against an ETag
 * of its size and modification time, so a new install shows at once and
 * an unchanged file costs a 304. */
static int
serve_file(struct evhttp_request *req, const char *dir, const char *rel,
           const char *ctype)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(req),
                                         "If-None-Match");
    char file[PATH_MAX], etag[64];
    struct evbuffer *b;
    struct stat st;
    int fd;

    if ((size_t)snprintf(file, sizeof(file), "%s/%s", dir, rel) >= sizeof(file))
        return not_found(req);
    fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return not_found(req);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > UI_MAX_FILE) {
        close(fd);
        return not_found(req);
    }
    snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"",
             (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec,
             (unsigned long)st.st_mtim.tv_nsec);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "ETag", etag);
    if (inm && strcmp(inm, etag) == 0) {
        close(fd);
        evhttp_send_reply(req, 304, "Not Modified", NULL);
        return 304;
    }
    evhttp_add_header(h, "Content-Type", ctype);
    /* Read, not evbuffer_add_file: the files are small, and that one may
     * or may not close fd when it fails. */
    b = evbuffer_new();
    while (evbuffer_get_length(b) < (size_t)st.st_size) {
        int n =
            evbuffer_read(b, fd, (int)(st.st_size - evbuffer_get_length(b)));
        if (n <= 0)
            break;
    }
    close(fd);
    if (evbuffer_get_length(b) != (size_t)st.st_size) { /* changed under us */
        evbuffer_free(b);
        return not_found(req);
    }
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
    return 200;
}

void
wr_mgmt_ui_serve(struct wr_mgmt *m, struct evhttp_request *req,
                 const char *path)
{
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    const char *rel = path[0] == '/' ? path + 1 : path;
    const char *ctype;
    char dir[PATH_MAX];
    int status;

    add_headers(req);
    if (rel[0] == '\0')
        rel = "index.html";
    ctype = content_type(rel);
    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          "GET, HEAD");
        evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
        status = 405;
    } else if (!safe_path(rel) || ctype == NULL ||
               !find_ui_dir(&m->srv->cfg, dir, sizeof(dir))) {
        status = not_found(req);
    } else {
        status = serve_file(req, dir, rel, ctype);
    }
    if (WR_LOG_DEBUG <= wr_log_level) {
        struct evhttp_connection *ec = evhttp_request_get_connection(req);
        char *addr = NULL;
        ev_uint16_t port = 0;
        if (ec)
            evhttp_connection_get_peer(ec, &addr, &port);
        wr_log(WR_LOG_DEBUG, "http %s:%u %s -> %d (ui)", addr ? addr : "?",
               port, evhttp_request_get_uri(req), status);
    }
}
