/* SPDX-License-Identifier: MIT */
/* The event base, the AMQP listener, signals and the deferred reaper. */
#include "broker.h"
#include "mgmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int socklen, void *arg)
{
    struct wr_server *s = arg;
    char host[INET6_ADDRSTRLEN] = "?", peer[64];
    int port = 0;

    (void)l;
    (void)socklen;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    snprintf(peer, sizeof(peer), "%s:%d", host, port);
    if (s->stopping ||
        (s->cfg.connection_max && s->nconns >= s->cfg.connection_max)) {
        wr_log(WR_LOG_WARN, "refusing connection from %s: %s", peer,
               s->stopping ? "shutting down" : "connection_max reached");
        evutil_closesocket(fd);
        return;
    }
    wr_conn_accept(s, fd, peer);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    /* EMFILE and friends: log and keep listening. */
    wr_log(WR_LOG_WARN, "accept failed: %s", strerror(errno));
}

static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wr_server *s = arg;
    struct wr_list *pos, *tmp;

    (void)fd;
    (void)what;
    wr_list_for_each_safe(pos, tmp, &s->reap)
    {
        wr_list_remove(pos);
        wr_conn_free(WR_CONTAINER_OF(pos, struct wr_conn, link));
    }
    if (s->stopping && wr_list_empty(&s->conns))
        event_base_loopexit(s->base, NULL);
}

void
wr_server_schedule_reap(struct wr_server *s)
{
    event_active(s->reap_ev, 0, 0);
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

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct wr_server *s = arg;
    struct wr_list *pos, *tmp;
    struct timeval deadline = {2, 0};

    (void)what;
    if (sig == SIGPIPE)
        return;
    if (s->stopping)
        return;
    wr_log(WR_LOG_NOTICE, "%s received: closing %u connection(s)",
           sig == SIGINT ? "SIGINT" : "SIGTERM", s->nconns);
    s->stopping = true;
    if (s->listener) {
        evconnlistener_free(s->listener);
        s->listener = NULL;
    }
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
    return -1;
}

int
wr_server_init(struct wr_server *s, const struct wr_config *cfg)
{
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    char spec[96];
    struct wr_vhost *vh;

    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    wr_list_init(&s->conns);
    wr_list_init(&s->reap);
    wr_hmap_init(&s->vhosts);
    s->base = event_base_new();
    if (s->base == NULL)
        return -1;
    s->reap_ev = event_new(s->base, -1, 0, reap_cb, s);
    s->sig_int = evsignal_new(s->base, SIGINT, on_signal, s);
    s->sig_term = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sig_pipe = evsignal_new(s->base, SIGPIPE, on_signal, s);
    event_add(s->sig_int, NULL);
    event_add(s->sig_term, NULL);
    event_add(s->sig_pipe, NULL);

    vh = wr_vhost_new(s, cfg->default_vhost);
    wr_hmap_put(&s->vhosts, vh->name, strlen(vh->name), vh, NULL);

    snprintf(spec, sizeof(spec), strchr(cfg->bind, ':') ? "[%s]:%d" : "%s:%d",
             cfg->bind, cfg->port);
    memset(&ss, 0, sizeof(ss));
    if (parse_addr(cfg->bind, cfg->port, &ss, &sslen)) {
        wr_log(WR_LOG_ERROR, "bad listen address '%s'", spec);
        return -1;
    }
    s->listener = evconnlistener_new_bind(
        s->base, on_accept, s,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
        (struct sockaddr *)&ss, sslen);
    if (s->listener == NULL) {
        wr_log(WR_LOG_ERROR, "cannot listen on %s: %s", spec, strerror(errno));
        return -1;
    }
    evconnlistener_set_error_cb(s->listener, on_accept_error);
    if (wr_mgmt_start(s) != 0)
        return -1;
    {
        struct sockaddr_storage got;
        socklen_t gl = sizeof(got);
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&got,
                    &gl);
        if (got.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&got;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
            port = ntohs(in->sin_port);
            snprintf(s->bound, sizeof(s->bound), "%s:%d", host, port);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&got;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            port = ntohs(in6->sin6_port);
            snprintf(s->bound, sizeof(s->bound), "[%s]:%d", host, port);
        }
    }
    return 0;
}

int
wr_server_run(struct wr_server *s)
{
    /* The one line tests and scripts wait for. */
    fprintf(stderr, "warren-server ready on amqp://%s\n", s->bound);
    if (s->mgmt)
        fprintf(stderr, "warren-server management on http://%s\n",
                wr_mgmt_address(s->mgmt));
    fflush(stderr);
    event_base_dispatch(s->base);
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
    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v))
        wr_vhost_free(v);
    wr_hmap_cleanup(&s->vhosts);
    wr_mgmt_free(s->mgmt);
    s->mgmt = NULL;
    if (s->listener)
        evconnlistener_free(s->listener);
    if (s->stop_ev)
        event_free(s->stop_ev);
    event_free(s->reap_ev);
    event_free(s->sig_int);
    event_free(s->sig_term);
    event_free(s->sig_pipe);
    event_base_free(s->base);
}
