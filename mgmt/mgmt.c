/* SPDX-License-Identifier: MIT */
/* The HTTP management API: the evhttp listeners (HTTP and HTTPS), basic
 * auth, the route table (RabbitMQ's paths) and the reply helpers every
 * handler uses. */
#include "mgmt_internal.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- routes ------------------------------------------------------------- */

/* A path pattern after "/api/": literal segments and "*" for one name. */
/* Who may use a route beyond a management login (rabbit_mgmt_util's
 * is_authorized_admin / _monitor); per-vhost checks are the handlers'. */
enum route_access {
    ANY,         /* any management user */
    MONITOR,     /* monitoring or administrator */
    ADMIN,       /* administrator, every method */
    ADMIN_WRITE, /* GET for any management user; PUT / DELETE administrator */
    POLICY,      /* policymaker or administrator (is_authorized_policies) */
};

struct route {
    const char *pattern;
    wr_mgmt_handler_cb get, put, post, del;
    enum route_access access;
};

/* RabbitMQ's paths (rabbit_mgmt_dispatcher), the subset warren serves.
 * /queues/{vhost}/{name}/peek and .../move are warren's own. */
static const struct route routes[] = {
    {"overview", wr_mgmt_get_overview, NULL, NULL, NULL, ANY},
    {"whoami", wr_mgmt_get_whoami, NULL, NULL, NULL, ANY},
    {"nodes", wr_mgmt_get_nodes, NULL, NULL, NULL, MONITOR},
    {"nodes/*", wr_mgmt_get_node, NULL, NULL, NULL, MONITOR},
    {"vhosts", wr_mgmt_get_vhosts, NULL, NULL, NULL, ANY},
    {"vhosts/*", wr_mgmt_get_vhost, wr_mgmt_put_vhost, NULL,
     wr_mgmt_delete_vhost, ADMIN_WRITE},
    {"vhosts/*/permissions", wr_mgmt_get_vhost_permissions, NULL, NULL, NULL,
     ADMIN},
    {"vhosts/*/topic-permissions", wr_mgmt_get_vhost_topic_permissions, NULL,
     NULL, NULL, ADMIN},
    {"users", wr_mgmt_get_users, NULL, NULL, NULL, ADMIN},
    {"users/*", wr_mgmt_get_user, wr_mgmt_put_user, NULL, wr_mgmt_delete_user,
     ADMIN},
    {"users/*/permissions", wr_mgmt_get_user_permissions, NULL, NULL, NULL,
     ADMIN},
    {"users/*/topic-permissions", wr_mgmt_get_user_topic_permissions, NULL,
     NULL, NULL, ADMIN},
    {"permissions", wr_mgmt_get_permissions, NULL, NULL, NULL, ADMIN},
    {"permissions/*/*", wr_mgmt_get_permission, wr_mgmt_put_permission, NULL,
     wr_mgmt_delete_permission, ADMIN},
    {"topic-permissions", wr_mgmt_get_topic_permissions, NULL, NULL, NULL,
     ADMIN},
    {"topic-permissions/*/*", wr_mgmt_get_topic_permission,
     wr_mgmt_put_topic_permission, NULL, wr_mgmt_delete_topic_permission,
     ADMIN},
    {"vhosts/*/connections", wr_mgmt_get_connections, NULL, NULL, NULL, ANY},
    {"vhosts/*/channels", wr_mgmt_get_channels, NULL, NULL, NULL, ANY},
    {"connections", wr_mgmt_get_connections, NULL, NULL, NULL, ANY},
    {"connections/*", wr_mgmt_get_connection, NULL, NULL,
     wr_mgmt_delete_connection, ANY},
    {"connections/*/channels", wr_mgmt_get_connection_channels, NULL, NULL,
     NULL, ANY},
    {"channels", wr_mgmt_get_channels, NULL, NULL, NULL, ANY},
    {"channels/*", wr_mgmt_get_channel, NULL, NULL, NULL, ANY},
    {"consumers", wr_mgmt_get_consumers, NULL, NULL, NULL, ANY},
    {"consumers/*", wr_mgmt_get_consumers, NULL, NULL, NULL, ANY},
    {"exchanges", wr_mgmt_get_exchanges, NULL, NULL, NULL, ANY},
    {"exchanges/*", wr_mgmt_get_exchanges, NULL, NULL, NULL, ANY},
    {"exchanges/*/*", wr_mgmt_get_exchange, wr_mgmt_put_exchange, NULL,
     wr_mgmt_delete_exchange, ANY},
    {"exchanges/*/*/bindings/source", wr_mgmt_get_exchange_bindings, NULL, NULL,
     NULL, ANY},
    {"exchanges/*/*/bindings/destination", wr_mgmt_get_exchange_bindings, NULL,
     NULL, NULL, ANY},
    {"exchanges/*/*/publish", NULL, NULL, wr_mgmt_post_publish, NULL, ANY},
    {"queues", wr_mgmt_get_queues, NULL, NULL, NULL, ANY},
    {"queues/*", wr_mgmt_get_queues, NULL, NULL, NULL, ANY},
    {"queues/*/*", wr_mgmt_get_queue, wr_mgmt_put_queue, NULL,
     wr_mgmt_delete_queue, ANY},
    {"queues/*/*/bindings", wr_mgmt_get_queue_bindings, NULL, NULL, NULL, ANY},
    {"queues/*/*/contents", NULL, NULL, NULL, wr_mgmt_delete_queue_contents,
     ANY},
    {"queues/*/*/get", NULL, NULL, wr_mgmt_post_get, NULL, ANY},
    {"queues/*/*/peek", wr_mgmt_get_peek, NULL, NULL, NULL, ANY},
    {"queues/*/*/move", NULL, NULL, wr_mgmt_post_move, NULL, ANY},
    {"stream/super-streams", wr_mgmt_get_super_streams, NULL, NULL, NULL, ANY},
    {"stream/super-streams/*", wr_mgmt_get_super_streams, NULL, NULL, NULL,
     ANY},
    {"stream/super-streams/*/*", wr_mgmt_get_super_stream,
     wr_mgmt_put_super_stream, NULL, wr_mgmt_delete_super_stream, ANY},
    {"bindings", wr_mgmt_get_bindings, NULL, NULL, NULL, ANY},
    {"bindings/*", wr_mgmt_get_bindings, NULL, NULL, NULL, ANY},
    {"bindings/*/e/*/q/*", wr_mgmt_get_bindings_between, NULL,
     wr_mgmt_post_binding, NULL, ANY},
    {"bindings/*/e/*/e/*", wr_mgmt_get_bindings_between, NULL,
     wr_mgmt_post_binding, NULL, ANY},
    {"bindings/*/e/*/q/*/*", wr_mgmt_get_binding, NULL, NULL,
     wr_mgmt_delete_binding, ANY},
    {"bindings/*/e/*/e/*/*", wr_mgmt_get_binding, NULL, NULL,
     wr_mgmt_delete_binding, ANY},
    {"definitions", wr_mgmt_get_definitions, NULL, wr_mgmt_post_definitions,
     NULL, ADMIN},
    {"definitions/*", wr_mgmt_get_definitions, NULL, wr_mgmt_post_definitions,
     NULL, ADMIN},
    {"vhost-limits", wr_mgmt_get_vhost_limits, NULL, NULL, NULL, ADMIN},
    {"vhost-limits/*", wr_mgmt_get_vhost_limit, NULL, NULL, NULL, ADMIN},
    {"vhost-limits/*/*", NULL, wr_mgmt_put_vhost_limit, NULL,
     wr_mgmt_delete_vhost_limit, ADMIN},
    {"user-limits", wr_mgmt_get_user_limits, NULL, NULL, NULL, ADMIN},
    {"user-limits/*", wr_mgmt_get_user_limit, NULL, NULL, NULL, ADMIN},
    {"user-limits/*/*", NULL, wr_mgmt_put_user_limit, NULL,
     wr_mgmt_delete_user_limit, ADMIN},
    {"aliveness-test/*", wr_mgmt_get_aliveness, NULL, NULL, NULL, ANY},
    {"health/checks/alarms", wr_mgmt_get_health_alarms, NULL, NULL, NULL, ANY},
    {"health/checks/local-alarms", wr_mgmt_get_health_local_alarms, NULL, NULL,
     NULL, ANY},
    {"health/checks/virtual-hosts", wr_mgmt_get_health_ok, NULL, NULL, NULL,
     ANY},
    {"health/checks/node-is-quorum-critical", wr_mgmt_get_health_single_node,
     NULL, NULL, NULL, ANY},
    {"health/checks/node-is-mirror-sync-critical",
     wr_mgmt_get_health_single_node, NULL, NULL, NULL, ANY},
    {"health/checks/port-listener/*", wr_mgmt_get_health_port_listener, NULL,
     NULL, NULL, ANY},
    {"health/checks/protocol-listener/*", wr_mgmt_get_health_protocol_listener,
     NULL, NULL, NULL, ANY},
    {"healthchecks/node", wr_mgmt_get_healthchecks_node, NULL, NULL, NULL, ANY},
    {"cluster-name", wr_mgmt_get_cluster_name, NULL, NULL, NULL, ANY},
    {"log-level", wr_mgmt_get_log_level, wr_mgmt_put_log_level, NULL, NULL,
     ADMIN},
    {"parameters", wr_mgmt_get_shovel_params, NULL, NULL, NULL, POLICY},
    {"parameters/*", wr_mgmt_get_shovel_params, NULL, NULL, NULL, POLICY},
    {"parameters/*/*", wr_mgmt_get_shovel_params, NULL, NULL, NULL, POLICY},
    {"parameters/*/*/*", wr_mgmt_get_shovel_param, wr_mgmt_put_shovel_param,
     NULL, wr_mgmt_delete_shovel_param, POLICY},
    {"shovels", wr_mgmt_get_shovels, NULL, NULL, NULL, ANY},
    {"shovels/*", wr_mgmt_get_shovels, NULL, NULL, NULL, ANY},
    {"policies", wr_mgmt_get_policies, NULL, NULL, NULL, POLICY},
    {"policies/*", wr_mgmt_get_policies, NULL, NULL, NULL, POLICY},
    {"policies/*/*", wr_mgmt_get_policy, wr_mgmt_put_policy, NULL,
     wr_mgmt_delete_policy, POLICY},
    {"operator-policies", wr_mgmt_get_policies, NULL, NULL, NULL, ADMIN},
    {"operator-policies/*", wr_mgmt_get_policies, NULL, NULL, NULL, ADMIN},
    {"operator-policies/*/*", wr_mgmt_get_policy, wr_mgmt_put_policy, NULL,
     wr_mgmt_delete_policy, ADMIN},
};

static bool
route_match(const char *pattern, const struct wr_mgmt_req *r)
{
    const char *p = pattern;

    for (int i = 0; i < r->nseg; i++) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0)
            return false; /* pattern shorter than the path */
        if (!(n == 1 && p[0] == '*') &&
            (n != r->seglen[i] || memcmp(p, r->seg[i], n) != 0))
            return false;
        p += n;
        if (*p == '/')
            p++;
        else if (i + 1 < r->nseg)
            return false;
    }
    return *p == '\0';
}

/* ---- authentication ------------------------------------------------------ */

static bool
management_user(const struct wr_user *u)
{
    static const char *const tags[] = {"management", "policymaker",
                                       "monitoring", "administrator"};

    for (size_t i = 0; i < WR_ARRAY_LEN(tags); i++)
        if (wr_user_has_tag(u, tags[i]))
            return true;
    return false;
}

enum wr_mgmt_auth
wr_mgmt_authenticate(struct wr_server *s, const char *user, const char *pass,
                     bool loopback, struct wr_user **out, const char **why)
{
    struct wr_user *u = wr_users_get(&s->users, user);

    /* The same answer for an unknown user and a wrong password. */
    if (u == NULL || !wr_user_check_password(u, pass, strlen(pass))) {
        *why = "Login failed";
        return WR_MGMT_AUTH_FAILED;
    }
    if (!loopback && wr_config_loopback_user(&s->cfg, user)) {
        *why = "User can only log in via localhost";
        return WR_MGMT_AUTH_REFUSED;
    }
    if (!management_user(u)) {
        *why = "Not management user";
        return WR_MGMT_AUTH_REFUSED;
    }
    *out = u;
    return WR_MGMT_AUTH_OK;
}

/* Whether the HTTP peer is on a loopback address. */
static bool
peer_loopback(struct wr_mgmt_req *r)
{
    struct evhttp_connection *ec = evhttp_request_get_connection(r->req);
    struct bufferevent *bev = ec ? evhttp_connection_get_bufferevent(ec) : NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (bev == NULL ||
        getpeername(bufferevent_getfd(bev), (struct sockaddr *)&ss, &sl) != 0)
        return false;
    return wr_addr_is_loopback((struct sockaddr *)&ss);
}

/* Reads "Authorization: Basic base64(user:pass)" and checks it. */
static enum wr_mgmt_auth
check_auth(struct wr_mgmt_req *r, const char **why)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req),
                                       "Authorization");
    uint8_t dec[600];
    size_t n;
    char *colon;

    *why = "Login failed";
    if (h == NULL)
        return WR_MGMT_AUTH_FAILED;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "Basic ", 6) != 0)
        return WR_MGMT_AUTH_FAILED;
    h += 6;
    while (*h == ' ')
        h++;
    if (wr_json_b64_decode(h, strlen(h), dec, sizeof(dec) - 1, &n) != WR_OK)
        return WR_MGMT_AUTH_FAILED;
    dec[n] = '\0';
    if (memchr(dec, '\0', n) != NULL)
        return WR_MGMT_AUTH_FAILED;
    colon = strchr((char *)dec, ':');
    if (colon == NULL || (size_t)(colon - (char *)dec) >= sizeof(r->user))
        return WR_MGMT_AUTH_FAILED;
    *colon = '\0';
    memcpy(r->user, dec, (size_t)(colon - (char *)dec) + 1);
    return wr_mgmt_authenticate(r->srv, r->user, colon + 1, peer_loopback(r),
                                &r->u, why);
}

/* ---- dispatch ------------------------------------------------------------ */

/* Splits the raw path after "/api/" into percent-decoded segments. A
 * trailing "/" is ignored. Returns false on a bad escape, a NUL, too many
 * or too long segments. */
static bool
split_path(struct wr_mgmt_req *r, const char *p)
{
    r->nseg = 0;
    while (*p) {
        size_t o = 0;
        if (r->nseg == WR_MGMT_MAX_SEGS)
            return false;
        while (*p && *p != '/') {
            int c = (unsigned char)*p;
            if (c == '%') {
                int hi = wr_hex_digit(p[1]),
                    lo = hi >= 0 ? wr_hex_digit(p[2]) : -1;
                if (hi < 0 || lo < 0)
                    return false;
                c = hi * 16 + lo;
                p += 2;
            }
            if (c == 0 || o + 1 >= WR_MGMT_SEG_MAX)
                return false;
            r->seg[r->nseg][o++] = (char)c;
            p++;
        }
        r->seg[r->nseg][o] = '\0';
        r->seglen[r->nseg++] = (uint32_t)o;
        if (*p == '/' && p[1] == '\0')
            break;
        if (*p == '/')
            p++;
    }
    return true;
}

static const char *
method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    default:
        return "OTHER";
    }
}

static void
allow_header(struct wr_mgmt_req *r, const struct route *rt)
{
    char allow[64] = "";

    if (rt->get)
        strcat(allow, "GET, HEAD, ");
    if (rt->put)
        strcat(allow, "PUT, ");
    if (rt->post)
        strcat(allow, "POST, ");
    if (rt->del)
        strcat(allow, "DELETE, ");
    strcat(allow, "OPTIONS");
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow",
                      allow);
}

static void
dispatch(struct wr_mgmt_req *r, enum evhttp_cmd_type method)
{
    const struct route *rt = NULL;
    wr_mgmt_handler_cb fn = NULL;
    const char *why;
    bool write;

    for (size_t i = 0; i < WR_ARRAY_LEN(routes) && rt == NULL; i++)
        if (route_match(routes[i].pattern, r))
            rt = &routes[i];
    if (rt == NULL) {
        wr_mgmt_not_found(r);
        return;
    }
    switch (check_auth(r, &why)) {
    case WR_MGMT_AUTH_OK:
        break;
    case WR_MGMT_AUTH_FAILED:
        /* Not to the web UI (its fetches say X-Requested-With): a browser
         * would answer the challenge with its own login dialog. */
        if (evhttp_find_header(evhttp_request_get_input_headers(r->req),
                               "X-Requested-With") == NULL)
            evhttp_add_header(evhttp_request_get_output_headers(r->req),
                              "WWW-Authenticate",
                              "Basic realm=\"RabbitMQ Management\"");
        wr_mgmt_error(r, 401, "not_authorized", "%s", why);
        return;
    case WR_MGMT_AUTH_REFUSED:
        wr_mgmt_error(r, 401, "not_authorised", "%s", why);
        return;
    }
    r->tags = r->u->tags;
    write = method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD &&
            method != EVHTTP_REQ_OPTIONS;
    /* RabbitMQ answers these with 401 not_authorised, not 403: its tools
     * expect that. */
    if ((rt->access == ADMIN || (rt->access == ADMIN_WRITE && write)) &&
        !wr_mgmt_has_tag(r, "administrator")) {
        wr_mgmt_error(r, 401, "not_authorised", "Not administrator user");
        return;
    }
    if (rt->access == POLICY && !wr_mgmt_has_tag(r, "administrator") &&
        !wr_mgmt_has_tag(r, "policymaker")) {
        wr_mgmt_error(r, 401, "not_authorised",
                      "User not authorised to access object");
        return;
    }
    if (rt->access == MONITOR && !wr_mgmt_is_monitor(r)) {
        wr_mgmt_error(r, 401, "not_authorised", "Not monitor user");
        return;
    }
    switch (method) {
    case EVHTTP_REQ_GET:
    case EVHTTP_REQ_HEAD:
        fn = rt->get;
        break;
    case EVHTTP_REQ_PUT:
        fn = rt->put;
        break;
    case EVHTTP_REQ_POST:
        fn = rt->post;
        break;
    case EVHTTP_REQ_DELETE:
        fn = rt->del;
        break;
    case EVHTTP_REQ_OPTIONS:
        allow_header(r, rt);
        wr_mgmt_reply_empty(r, 204);
        return;
    default:
        break;
    }
    if (fn == NULL) {
        allow_header(r, rt);
        wr_mgmt_error(r, 405, "Method Not Allowed", "%s is not allowed on %s",
                      method_name(method), rt->pattern);
        return;
    }
    fn(r);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
    struct wr_mgmt *m = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    struct wr_mgmt_req *r;

    if (path && strcmp(path, "/metrics") == 0) {
        if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
            evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
        else
            wr_mgmt_metrics(m, req);
        return;
    }
    if (path && strncmp(path, "/api/", 5) != 0 && strcmp(path, "/api") != 0) {
        wr_mgmt_ui_serve(m, req, path);
        return;
    }
    /* The request context holds the decoded path: keep it off the stack. */
    r = wr_calloc(1, sizeof(*r));
    r->m = m;
    r->srv = m->srv;
    r->req = req;
    TAILQ_INIT(&r->query);
    if (path == NULL || strncmp(path, "/api/", 5) != 0 ||
        !split_path(r, path + 5) || r->nseg == 0)
        wr_mgmt_not_found(r);
    else if (query && evhttp_parse_query_str(query, &r->query) != 0)
        wr_mgmt_error(r, 400, "bad_request", "malformed query string");
    else
        dispatch(r, method);
    wr_assert(r->status != 0); /* every path through dispatch replies */
    if (WR_LOG_INFO <= wr_log_level) {
        struct evhttp_connection *ec = evhttp_request_get_connection(req);
        char *addr = NULL;
        ev_uint16_t port = 0;
        if (ec)
            evhttp_connection_get_peer(ec, &addr, &port);
        wr_log(WR_LOG_INFO, "http %s:%u %s %s -> %d user '%s'",
               addr ? addr : "?", port, method_name(method),
               evhttp_request_get_uri(req), r->status, r->user);
    }
    evhttp_clear_headers(&r->query);
    json_decref(r->body);
    wr_free(r);
}

/* ---- lifecycle ----------------------------------------------------------- */

/* An evhttp serving the API with the limits of management.http.*. */
static struct evhttp *
http_new(struct wr_mgmt *m)
{
    struct evhttp *http = evhttp_new(m->srv->base);

    if (http == NULL)
        return NULL;
    evhttp_set_gencb(http, on_request, m);
    evhttp_set_allowed_methods(
        http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                  EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                  EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE);
    evhttp_set_max_body_size(http, (ev_ssize_t)m->srv->cfg.mgmt_max_body);
    evhttp_set_max_headers_size(http, 64 * 1024);
    evhttp_set_timeout(http, 60);
    return http;
}

/* Listens on addr:port and writes "ADDR:PORT" (the port it got) to
 * bound. Returns 0 or -1 after logging. */
static int
http_bind(struct evhttp *http, const char *what, const char *addr, int port,
          char *bound, size_t cap)
{
    struct evhttp_bound_socket *sock;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";

    sock = evhttp_bind_socket_with_handle(http, addr, (ev_uint16_t)port);
    if (sock == NULL) {
        wr_log(WR_LOG_ERROR,
               "management API: cannot listen for %s on %s "
               "port %d",
               what, addr, port);
        return WR_ERR_IO;
    }
    /* out of file descriptors: pause, do not spin (issue 7) */
    wr_listener_pause_on_error(evhttp_bound_socket_get_listener(sock));
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl);
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(bound, cap, "[%s]:%d", host, ntohs(in6->sin6_port));
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(bound, cap, "%s:%d", host, ntohs(in->sin_port));
    }
    return 0;
}

/* evhttp_set_bevcb: each HTTPS connection gets a TLS bufferevent from the
 * current context; evhttp sets its fd, which starts the handshake. A
 * failed handshake (plain HTTP, an untrusted client certificate) is an
 * error event: evhttp drops that connection only. */
static struct bufferevent *
https_bev(struct event_base *base, void *arg)
{
    struct wr_mgmt *m = arg;
    struct bufferevent *bev = wr_tls_bev_new(m->tls, base, -1);

    /* NULL would make evhttp serve plain HTTP here; it only happens when
     * out of memory, where the broker aborts anyway. */
    wr_assert(bev != NULL);
    return bev;
}

/* The HTTPS listener (management.ssl.*), when configured. */
static int
https_start(struct wr_mgmt *m)
{
    const struct wr_config *cfg = &m->srv->cfg;
    char err[512];

    m->tls = wr_tls_new(cfg, WR_TLS_MGMT, err, sizeof(err));
    if (m->tls == NULL) {
        wr_log(WR_LOG_ERROR, "management API: TLS: %s", err);
        return WR_ERR_IO;
    }
    m->https = http_new(m);
    if (m->https == NULL)
        return WR_ERR_IO;
    evhttp_set_bevcb(m->https, https_bev, m);
    return http_bind(
        m->https, "HTTPS",
        cfg->mgmt_ssl_bind[0] ? cfg->mgmt_ssl_bind : cfg->mgmt_bind,
        cfg->mgmt_ssl_port, m->https_bound, sizeof(m->https_bound));
}

/* The API's state on s, with its evhttp not yet listening. */
static struct wr_mgmt *
mgmt_new(struct wr_server *s)
{
    struct wr_mgmt *m = wr_calloc(1, sizeof(*m));
    char hn[64] = "localhost";

    /* jansson allocates through the broker's wrappers (STYLE 5.10). */
    json_set_alloc_funcs(wr_malloc, wr_free);
    m->srv = s;
    s->mgmt = m;
    wr_hmap_init(&m->samples);
    m->http = http_new(m);
    gethostname(hn, sizeof(hn) - 1);
    hn[sizeof(hn) - 1] = '\0';
    snprintf(m->node, sizeof(m->node), "warren@%s", hn);
    m->started_ms = wr_mgmt_now_ms();
    return m;
}

int
wr_mgmt_start(struct wr_server *s)
{
    struct wr_mgmt *m = mgmt_new(s);

    if (m->http == NULL ||
        http_bind(m->http, "HTTP", s->cfg.mgmt_bind, s->cfg.mgmt_port, m->bound,
                  sizeof(m->bound)) != 0)
        return WR_ERR_IO;
    if (s->cfg.mgmt_ssl_on && https_start(m) != 0)
        return WR_ERR_IO;
    wr_mgmt_prom_start(m);
    wr_mgmt_stats_start(m);
    return 0;
}

int
wr_mgmt_start_fd(struct wr_server *s, int fd)
{
    struct wr_mgmt *m = mgmt_new(s);

    if (m->http == NULL ||
        evhttp_accept_socket_with_handle(m->http, fd) == NULL) {
        close(fd);
        return WR_ERR_IO;
    }
    snprintf(m->bound, sizeof(m->bound), "fd %d", fd);
    wr_mgmt_stats_start(m);
    return 0;
}

const char *
wr_mgmt_https_address(const struct wr_mgmt *m)
{
    return m->https ? m->https_bound : NULL;
}

int
wr_mgmt_reload_tls(struct wr_mgmt *m, char *err, size_t errlen)
{
    if (m == NULL || m->tls == NULL)
        return 1;
    return wr_tls_reload(m->tls, &m->srv->cfg, err, errlen);
}

const char *
wr_mgmt_address(const struct wr_mgmt *m)
{
    return m->bound;
}

void
wr_mgmt_free(struct wr_mgmt *m)
{
    if (m == NULL)
        return;
    if (m->http)
        evhttp_free(m->http);
    /* after the connections using it are gone */
    if (m->https)
        evhttp_free(m->https);
    if (m->prom)
        evhttp_free(m->prom);
    wr_tls_free(m->tls);
    wr_mgmt_stats_cleanup(m);
    wr_route_set_cleanup(&m->route);
    wr_free(m);
}
