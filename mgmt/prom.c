/* SPDX-License-Identifier: MIT */
/* The Prometheus listener: GET /metrics (mgmt/metrics.c) on its own port,
 * prometheus.tcp.port (15692) as RabbitMQ's rabbitmq_prometheus plugin
 * serves it, unauthenticated. The management port serves it too. */
#include "mgmt_internal.h"

#include <arpa/inet.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void
on_prom_request(struct evhttp_request *req, void *arg)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);

    if (path == NULL || strcmp(path, "/metrics") != 0)
        evhttp_send_reply(req, 404, "Not Found", NULL);
    else if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
        evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
    else
        wr_mgmt_metrics(arg, req);
}

void
wr_mgmt_prom_start(struct wr_mgmt *m)
{
    const struct wr_config *cfg = &m->srv->cfg;
    struct evhttp_bound_socket *sock;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";

    if (cfg->prometheus_port < 0)
        return;
    m->prom = evhttp_new(m->srv->base);
    if (m->prom == NULL)
        return;
    evhttp_set_gencb(m->prom, on_prom_request, m);
    evhttp_set_allowed_methods(m->prom, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE);
    evhttp_set_max_body_size(m->prom, 4096);
    evhttp_set_max_headers_size(m->prom, 64 * 1024);
    evhttp_set_timeout(m->prom, 60);
    sock = evhttp_bind_socket_with_handle(m->prom, cfg->prometheus_bind,
                                          (ev_uint16_t)cfg->prometheus_port);
    if (sock == NULL) {
        wr_log(WR_LOG_WARN,
               "prometheus: cannot listen on %s port %d; /metrics is "
               "served on the management port only",
               cfg->prometheus_bind, cfg->prometheus_port);
        evhttp_free(m->prom);
        m->prom = NULL;
        return;
    }
    wr_listener_pause_on_error(evhttp_bound_socket_get_listener(sock));
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl);
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(m->prom_bound, sizeof(m->prom_bound), "[%s]:%d", host,
                 ntohs(in6->sin6_port));
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(m->prom_bound, sizeof(m->prom_bound), "%s:%d", host,
                 ntohs(in->sin_port));
    }
}

const char *
wr_mgmt_prom_address(const struct wr_mgmt *m)
{
    return m && m->prom ? m->prom_bound : NULL;
}
