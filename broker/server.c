/* SPDX-License-Identifier: MIT */
/* The event base, the AMQP listener, signals and the deferred reaper. */
#include "broker_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define ACCEPT_PAUSE_MS 100 /* after EMFILE and the like */

static void
accept_one(struct wr_server *s, evutil_socket_t fd, struct sockaddr *sa,
           bool tls, const char *local)
{
    if (s->stopping ||
        (s->cfg.connection_max && s->nconns >= s->cfg.connection_max)) {
        char host[INET6_ADDRSTRLEN] = "?";
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host,
                      sizeof(host));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host,
                      sizeof(host));
        wr_log(WR_LOG_WARN, "refusing connection from %s: %s", host,
               s->stopping ? "shutting down" : "connection_max reached");
        evutil_closesocket(fd);
        return;
    }
    s->accept_failing = false;
    wr_conn_accept(s, fd, sa, tls, local);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int socklen, void *arg)
{
    struct wr_listener *wl = arg;

    (void)l;
    (void)socklen;
    accept_one(wl->srv, fd, sa, wl->tls, wl->bound);
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wr_server *s = arg;

    (void)fd;
    (void)what;
    if (s->stopping) /* the listeners are gone */
        return;
    for (unsigned i = 0; i < s->nlisteners; i++)
        evconnlistener_enable(s->listeners[i].l);
}

static void
free_listeners(struct wr_server *s)
{
    for (unsigned i = 0; i < s->nlisteners; i++)
        evconnlistener_free(s->listeners[i].l);
    s->nlisteners = 0;
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
    struct wr_server *s = ((struct wr_listener *)arg)->srv;
    struct timeval pause = {0, ACCEPT_PAUSE_MS * 1000};
    int err = EVUTIL_SOCKET_ERROR();

    /* EMFILE and friends: the connection stays in the backlog, so the
     * listener would wake again at once, forever: a busy loop writing a
     * log line each turn. Stop accepting for a moment instead (the
     * backlog waits), and log once until an accept succeeds again. */
    if (!s->accept_failing)
        wr_log(WR_LOG_WARN, "accept failed: %s; retrying every %d ms",
               evutil_socket_error_to_string(err), ACCEPT_PAUSE_MS);
    s->accept_failing = true;
    evconnlistener_disable(l);
    evtimer_add(s->accept_ev, &pause);
}

static void
stop_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wr_server *s = arg;

    (void)fd;
    (void)what;
    wr_log(WR_LOG_NOTICE,
           "shutdown: dropping %u connection(s) that did "
           "not finish closing",
           s->nconns);
    event_base_loopexit(s->base, NULL);
}

/* SIGHUP: re-read the AMQPS and HTTPS certificate files. A bad file keeps
 * the old context. */
static void
reload_tls(struct wr_server *s)
{
    char err[600];
    int rc;

    if (s->tls == NULL) {
        wr_log(WR_LOG_NOTICE, "SIGHUP received: no TLS listener");
    } else if (wr_tls_reload(s->tls, &s->cfg, err, sizeof(err)) == 0) {
        wr_log(WR_LOG_NOTICE, "SIGHUP received: TLS certificates "
                              "reloaded; open connections keep theirs");
    } else {
        wr_log(WR_LOG_ERROR,
               "SIGHUP received: TLS reload failed, "
               "keeping the old certificates: %s",
               err);
    }
    rc = wr_mgmt_reload_tls(s->mgmt, err, sizeof(err));
    if (rc == 0)
        wr_log(WR_LOG_NOTICE, "SIGHUP received: HTTPS certificates "
                              "reloaded; open connections keep theirs");
    else if (rc < 0)
        wr_log(WR_LOG_ERROR,
               "SIGHUP received: HTTPS reload failed, "
               "keeping the old certificates: %s",
               err);
}

/* SIGUSR1, SIGHUP: logrotate moved log.file away; write to a new one. */
static void
reopen_log(void)
{
    char err[600];

    if (wr_log_reopen(err, sizeof(err)))
        wr_log(WR_LOG_ERROR, "log file not reopened: %s", err);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct wr_server *s = arg;
    struct wr_list *pos, *tmp;
    struct timeval deadline = {2, 0};

    (void)what;
    if (sig == SIGPIPE)
        return;
    if (sig == SIGUSR1) {
        /* Connections dropped in this loop turn are counted out already;
         * free them first, so that the line shows live memory only. */
        wr_amqp_reap(s);
        reopen_log();
        wr_server_log_stats(s);
        return;
    }
    if (sig == SIGHUP) {
        reopen_log();
        reload_tls(s);
        return;
    }
    if (s->stopping)
        return;
    wr_log(WR_LOG_NOTICE, "%s received: closing %u connection(s)",
           sig == SIGINT ? "SIGINT" : "SIGTERM", s->nconns);
    s->stopping = true;
    free_listeners(s);
    wr_list_for_each_safe(pos, tmp, &s->conns)
    {
        wr_conn_shutdown(WR_CONTAINER_OF(pos, struct wr_conn, link));
    }
    s->stop_ev = evtimer_new(s->base, stop_deadline_cb, s);
    evtimer_add(s->stop_ev, &deadline);
    wr_server_schedule_reap(s);
}

/* ADDR is an IPv4 or IPv6 literal; port 0 asks for any free port. */
static int
parse_addr(const char *addr, int port, struct sockaddr_storage *ss, int *len)
{
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

    if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        *len = sizeof(*in);
        return 0;
    }
    if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*in6);
        return 0;
    }
    return WR_ERR_INVALID;
}

/* Binds one listener on the literal addr:port. Returns its port, or
 * WR_ERR_INVALID (bad address, too many listeners) / WR_ERR_IO (bind
 * failed), with errno set, when it cannot. */
static int
listen_one(struct wr_server *s, const char *addr, int port, bool tls)
{
    struct sockaddr_storage ss, got;
    int sslen = sizeof(ss);
    socklen_t gl = sizeof(got);
    char host[INET6_ADDRSTRLEN] = "?";
    struct wr_listener *wl = &s->listeners[s->nlisteners];
    struct evconnlistener *l;

    memset(&ss, 0, sizeof(ss));
    if (s->nlisteners == WR_ARRAY_LEN(s->listeners) ||
        parse_addr(addr, port, &ss, &sslen)) {
        errno = EINVAL;
        return WR_ERR_INVALID;
    }
    l = evconnlistener_new_bind(s->base, on_accept, wl,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                    LEV_OPT_CLOSE_ON_EXEC,
                                1024, (struct sockaddr *)&ss, sslen);
    if (l == NULL)
        return WR_ERR_IO;
    evconnlistener_set_error_cb(l, on_accept_error);
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&got, &gl);
    if (got.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&got;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(wl->bound, sizeof(wl->bound), "%s:%d", host, port);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&got;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(wl->bound, sizeof(wl->bound), "[%s]:%d", host, port);
    }
    wl->l = l;
    wl->srv = s;
    wl->tls = tls;
    s->nlisteners++;
    return port;
}

/* Listens on addr:port; localhost is 127.0.0.1 and ::1 (as RabbitMQ
 * listens on both families), the second on the port the first got, and
 * left out with a warning when the host has no IPv6. Copies the first
 * "ADDR:PORT" into bound when it is empty. Returns WR_OK or WR_ERR_IO
 * (logged). */
static int
listen_on(struct wr_server *s, const char *addr, int port, bool tls,
          char *bound, size_t boundcap)
{
    bool local = strcmp(addr, "localhost") == 0;
    const char *first = local ? "127.0.0.1" : addr;
    int got = listen_one(s, first, port, tls);

    if (got < 0) {
        wr_log(WR_LOG_ERROR,
               strchr(first, ':') ? "cannot listen on [%s]:%d: %s"
                                  : "cannot listen on %s:%d: %s",
               first, port, strerror(errno));
        return WR_ERR_IO;
    }
    if (bound[0] == '\0')
        snprintf(bound, boundcap, "%s", s->listeners[s->nlisteners - 1].bound);
    if (local && listen_one(s, "::1", got, tls) < 0) {
        if (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT) {
            wr_log(WR_LOG_WARN,
                   "no IPv6 on this host: listening on "
                   "127.0.0.1:%d only",
                   got);
            return 0;
        }
        wr_log(WR_LOG_ERROR, "cannot listen on [::1]:%d: %s", got,
               strerror(errno));
        return WR_ERR_IO;
    }
    return 0;
}

/* Users, vhosts and permissions: from the definitions file when there is
 * one, else RabbitMQ's fresh-node defaults (written to the file). */
static int
load_definitions(struct wr_server *s)
{
    const char *path = s->cfg.definitions_file;
    char err[600];
    int rc = path[0] ? wr_defs_load(s, path, err, sizeof(err)) : 1;

    if (rc < 0) {
        wr_log(WR_LOG_ERROR, "%s", err);
        return WR_ERR_IO;
    }
    if (rc == 0) {
        wr_log(WR_LOG_NOTICE,
               "definitions loaded from %s: %zu user(s), %zu "
               "vhost(s)",
               path, s->users.by_name.count, s->vhosts.count);
        return 0;
    }
    wr_defs_bootstrap(s);
    if (path[0] == '\0') {
        wr_log(WR_LOG_INFO, "no definitions.file: users, vhosts and "
                            "permissions are kept in memory only");
        return 0;
    }
    wr_log(WR_LOG_NOTICE, "%s not found: created user '%s' and vhost '%s'",
           path, s->cfg.default_user, s->cfg.default_vhost);
    return wr_server_save_definitions(s);
}

void
wr_server_log_stats(struct wr_server *s)
{
    /* One line for tests and operators (tests/proto/test_hostile.py reads
     * it): every byte allocated through wr_malloc, libevent's included.
     * First hand the heap's free pages back to the kernel (glibc keeps
     * them after a burst, e.g. 65,535 channels opened and closed), so the
     * process's RSS then shows live memory. */
    malloc_trim(0);
    wr_log(WR_LOG_NOTICE, "stats: connections=%u alloc_used=%zu", s->nconns,
           wr_alloc_used());
}

int
wr_server_init(struct wr_server *s, const struct wr_config *cfg)
{
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    s->data_lock = -1;
    wr_list_init(&s->conns);
    wr_list_init(&s->reap);
    wr_list_init(&s->flush);
    wr_list_init(&s->pstreams_dirty);
    wr_list_init(&s->pstreams_waiting);
    s->stream_gen = 1;
    wr_hmap_init(&s->vhosts);
    wr_hmap_init(&s->auth_fails);
    wr_users_init(&s->users);
    s->base = event_base_new();
    if (s->base == NULL)
        return WR_ERR_IO;
    /* Two priorities (fairness, FLOW.md): connections with consumers and
     * the end-of-turn flush run before everything else that is ready, so
     * acks and deliveries are not starved by publishers' input. */
    if (event_base_priority_init(s->base, WR_PRIO_LEVELS) != 0)
        return WR_ERR_IO;
    wr_amqp_init(s);
    wr_flow_init(s);
    wr_credit_init(s);
    wr_ack_timeout_init(s);
    wr_disk_init(s);
    if (load_definitions(s))
        return WR_ERR_IO;
    if (s->watermark)
        wr_log(WR_LOG_INFO, "memory high watermark: %llu bytes",
               (unsigned long long)s->watermark);
    return 0;
}

int
wr_server_recover(struct wr_server *s)
{
    int rc = wr_persist_open(s);

    if (rc == WR_OK)
        rc = wr_vhost_recover(s);
    if (rc != WR_OK)
        return rc;
    wr_persist_start(s);
    return WR_OK;
}

int
wr_server_listen(struct wr_server *s)
{
    const struct wr_config *cfg = &s->cfg;
    char err[600];

    s->sig_int = evsignal_new(s->base, SIGINT, on_signal, s);
    s->sig_term = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sig_pipe = evsignal_new(s->base, SIGPIPE, on_signal, s);
    s->sig_hup = evsignal_new(s->base, SIGHUP, on_signal, s);
    s->sig_usr1 = evsignal_new(s->base, SIGUSR1, on_signal, s);
    s->accept_ev = evtimer_new(s->base, accept_resume_cb, s);
    event_add(s->sig_int, NULL);
    event_add(s->sig_term, NULL);
    event_add(s->sig_pipe, NULL);
    event_add(s->sig_hup, NULL);
    event_add(s->sig_usr1, NULL);
    /* as RabbitMQ: the listeners.tcp.* given, else the default one */
    if ((cfg->tcp_default_set || cfg->ntcp_extra == 0) &&
        listen_on(s, cfg->bind, cfg->port, false, s->bound, sizeof(s->bound)))
        return WR_ERR_IO;
    for (unsigned i = 0; i < cfg->ntcp_extra; i++)
        if (listen_on(s, cfg->tcp_extra[i].addr, cfg->tcp_extra[i].port, false,
                      s->bound, sizeof(s->bound)))
            return WR_ERR_IO;
    if (cfg->ssl_on) {
        s->tls = wr_tls_new(cfg, WR_TLS_AMQPS, err, sizeof(err));
        if (s->tls == NULL) {
            wr_log(WR_LOG_ERROR, "TLS: %s", err);
            return WR_ERR_IO;
        }
        if (listen_on(s, cfg->ssl_bind[0] ? cfg->ssl_bind : cfg->bind,
                      cfg->ssl_port, true, s->ssl_bound, sizeof(s->ssl_bound)))
            return WR_ERR_IO;
    }
    if (wr_mgmt_start(s) != 0)
        return WR_ERR_IO;
    return 0;
}

static void
print_listeners(struct wr_server *s, bool tls, const char *what)
{
    fputs(what, stderr);
    for (unsigned i = 0; i < s->nlisteners; i++)
        if (s->listeners[i].tls == tls)
            fprintf(stderr, " %s://%s", tls ? "amqps" : "amqp",
                    s->listeners[i].bound);
    fputc('\n', stderr);
}

int
wr_server_run(struct wr_server *s)
{
    /* The one line tests and scripts wait for: the first AMQP listener,
     * then any others. */
    if (s->ssl_bound[0])
        print_listeners(s, true, "warren-server TLS listener on");
    print_listeners(s, false, "warren-server ready on");
    /* before the management line, which tests take as the last one */
    if (wr_mgmt_prom_address(s->mgmt))
        fprintf(stderr, "warren-server prometheus on http://%s/metrics\n",
                wr_mgmt_prom_address(s->mgmt));
    if (s->mgmt)
        fprintf(stderr, "warren-server management on http://%s\n",
                wr_mgmt_address(s->mgmt));
    if (s->mgmt && wr_mgmt_https_address(s->mgmt))
        fprintf(stderr, "warren-server management on https://%s\n",
                wr_mgmt_https_address(s->mgmt));
    fflush(stderr);
    s->dispatching = true;
    event_base_dispatch(s->base);
    s->dispatching = false;
    return 0;
}

void
wr_server_cleanup(struct wr_server *s)
{
    struct wr_list *pos, *tmp;
    size_t it = 0;
    void *v;

    wr_list_for_each_safe(pos, tmp, &s->conns)
    {
        struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, link);
        wr_list_remove(pos);
        wr_conn_free(c);
    }
    wr_list_for_each_safe(pos, tmp, &s->reap)
    {
        wr_list_remove(pos);
        wr_conn_free(WR_CONTAINER_OF(pos, struct wr_conn, link));
    }
    /* the registry goes; what is durable stays on disk */
    wr_defs_log_close(s);
    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v))
        wr_vhost_free(v);
    wr_hmap_cleanup(&s->vhosts);
    wr_users_cleanup(&s->users);
    wr_auth_fails_cleanup(s);
    wr_mgmt_free(s->mgmt);
    s->mgmt = NULL;
    free_listeners(s);
    wr_tls_free(s->tls);
    wr_flow_cleanup(s);
    wr_credit_cleanup(s);
    wr_ack_timeout_cleanup(s);
    wr_disk_cleanup(s);
    /* after the queues: their entries hold references on records */
    wr_persist_close(s);
    wr_defs_log_free(s);
    if (s->sig_hup)
        event_free(s->sig_hup);
    if (s->stop_ev)
        event_free(s->stop_ev);
    if (s->accept_ev)
        event_free(s->accept_ev);
    if (s->reap_ev)
        event_free(s->reap_ev);
    if (s->flush_ev)
        event_free(s->flush_ev);
    if (s->flush_low)
        event_free(s->flush_low);
    wr_free(s->stage);
    s->stage = NULL;
    if (s->sig_int) {
        event_free(s->sig_int);
        event_free(s->sig_term);
        event_free(s->sig_pipe);
        event_free(s->sig_usr1);
    }
    if (s->base)
        event_base_free(s->base);
}
