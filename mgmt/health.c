/* SPDX-License-Identifier: MIT */
/* The management API's health checks, RabbitMQ's /api/health/checks/...
 * and /api/aliveness-test: 200 {"status":"ok"} or 503 with the reason. */
#include "mgmt_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
wr_mgmt_get_aliveness(struct wr_mgmt_req *r)
{
    if (wr_mgmt_vhost(r, 1))
        wr_mgmt_reply(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* The memory and disk alarms, RabbitMQ's resource alarms. */
static void
alarms(struct wr_mgmt_req *r, const char *where)
{
    json_t *list;

    if (!r->srv->mem_alarm && !r->srv->disk_alarm && !r->srv->store_failed) {
        wr_mgmt_reply(r, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    /* RabbitMQ 3.10: 503 with the alarms as maps. */
    list = json_array();
    if (r->srv->mem_alarm)
        json_array_append_new(list, json_pack("{s:s, s:s}", "node", r->m->node,
                                              "resource", "memory"));
    if (r->srv->disk_alarm)
        json_array_append_new(list, json_pack("{s:s, s:s}", "node", r->m->node,
                                              "resource", "disk"));
    /* warren's own: the message store failed (an fsync error); persistent
     * messages to durable queues are refused until a restart */
    if (r->srv->store_failed)
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s}", "node", r->m->node, "resource",
                            "store", "reason", strerror(r->srv->store_failed)));
    wr_mgmt_reply(r, 503,
                  json_pack("{s:s, s:s, s:o}", "status", "failed", "reason",
                            where, "alarms", list));
}

void
wr_mgmt_get_health_alarms(struct wr_mgmt_req *r)
{
    alarms(r, "There are alarms in effect in the cluster");
}

void
wr_mgmt_get_health_local_alarms(struct wr_mgmt_req *r)
{
    alarms(r, "There are alarms in effect on the node");
}

void
wr_mgmt_get_healthchecks_node(struct wr_mgmt_req *r)
{
    char why[512];
    size_t n;

    /* RabbitMQ's older, deprecated check: alarms in its reason. */
    if (!r->srv->mem_alarm && !r->srv->disk_alarm) {
        wr_mgmt_reply(r, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    n = (size_t)snprintf(why, sizeof(why), "resource alarm(s) in effect:[");
    if (r->srv->mem_alarm)
        n += (size_t)snprintf(why + n, sizeof(why) - n,
                              "{resource_limit,memory,%s}", r->m->node);
    if (r->srv->disk_alarm && n < sizeof(why))
        n += (size_t)snprintf(why + n, sizeof(why) - n,
                              "%s{resource_limit,disk,%s}",
                              r->srv->mem_alarm ? "," : "", r->m->node);
    if (n < sizeof(why))
        snprintf(why + n, sizeof(why) - n, "]");
    wr_mgmt_reply(r, 503,
                  json_pack("{s:s, s:s}", "status", "failed", "reason", why));
}

void
wr_mgmt_get_health_ok(struct wr_mgmt_req *r)
{
    /* Every vhost runs while the broker does. */
    wr_mgmt_reply(r, 200, json_pack("{s:s}", "status", "ok"));
}

void
wr_mgmt_get_health_single_node(struct wr_mgmt_req *r)
{
    /* node-is-quorum-critical, node-is-mirror-sync-critical: one node
     * holds every queue, so there is nothing to lose by stopping it. */
    wr_mgmt_reply(r, 200,
                  json_pack("{s:s, s:s}", "status", "ok", "reason",
                            "single node cluster"));
}

/* The listeners as RabbitMQ names their protocols, with their ports. */
struct listener {
    const char *proto;
    int port;
};

static int
listeners(struct wr_mgmt *m, struct listener *out)
{
    const char *bound[] = {m->srv->bound, m->srv->ssl_bound, m->bound,
                           m->https_bound};
    const char *proto[] = {"amqp", "amqp/ssl", "http", "https"};
    int n = 0;

    for (size_t i = 0; i < WR_ARRAY_LEN(bound); i++) {
        const char *colon = strrchr(bound[i], ':');
        if (bound[i][0] == '\0' || colon == NULL)
            continue;
        out[n].proto = proto[i];
        out[n].port = atoi(colon + 1);
        n++;
    }
    return n;
}

void
wr_mgmt_get_health_port_listener(struct wr_mgmt_req *r)
{
    struct listener ls[4];
    int n = listeners(r->m, ls);
    char *end;
    long port = strtol(r->seg[3], &end, 10);
    json_t *ports;

    if (r->seg[3][0] == '\0' || *end != '\0' || port < 0 || port > 65535) {
        wr_mgmt_error(r, 400, "bad_request", "invalid port '%s'", r->seg[3]);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (ls[i].port == port) {
            wr_mgmt_reply(
                r, 200,
                json_pack("{s:s, s:i}", "status", "ok", "port", (int)port));
            return;
        }
    }
    ports = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(ports, json_integer(ls[i].port));
    wr_mgmt_reply(r, 503,
                  json_pack("{s:s, s:s, s:i, s:o}", "status", "failed",
                            "reason", "No active listener", "missing",
                            (int)port, "ports", ports));
}

/* RabbitMQ's spellings of a protocol name, lower-cased: amqp091 and the
 * like are "amqp", amqps is "amqp/ssl". */
static void
normalize(const char *in, char *out, size_t cap)
{
    static const char *const amqp[] = {"amqp091", "amqp0.9.1", "amqp0-9-1",
                                       "amqp0_9_1"};
    size_t i;

    for (i = 0; in[i] != '\0' && i + 1 < cap; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
    for (i = 0; i < WR_ARRAY_LEN(amqp); i++)
        if (strcmp(out, amqp[i]) == 0)
            snprintf(out, cap, "amqp");
    if (strcmp(out, "amqps") == 0)
        snprintf(out, cap, "amqp/ssl");
}

void
wr_mgmt_get_health_protocol_listener(struct wr_mgmt_req *r)
{
    struct listener ls[4];
    int n = listeners(r->m, ls);
    char want[64];
    json_t *protos;

    normalize(r->seg[3], want, sizeof(want));
    for (int i = 0; i < n; i++) {
        if (strcmp(ls[i].proto, want) == 0) {
            wr_mgmt_reply(
                r, 200,
                json_pack("{s:s, s:s}", "status", "ok", "protocol", want));
            return;
        }
    }
    protos = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(protos, json_string(ls[i].proto));
    wr_mgmt_reply(r, 503,
                  json_pack("{s:s, s:s, s:s, s:o}", "status", "failed",
                            "reason", "No active listener", "missing", want,
                            "protocols", protos));
}
