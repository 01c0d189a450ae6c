/* SPDX-License-Identifier: MIT */
/* Authentication (PLAIN, AMQPLAIN, EXTERNAL), loopback-only users, the
 * brute-force slowdown, vhost access at connection.open, and the channel
 * permission checks (RabbitMQ's access control mapping). */
#include "amqp_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define FAIL_MEMORY 60   /* seconds a failure is remembered per host */
#define FAIL_MAX_SHIFT 4 /* the delay grows up to 16 x auth_failure_delay */
#define FAIL_MAX_HOSTS 4096

struct wr_auth_fail {
    uint32_t count;
    int64_t last; /* monotonic seconds */
};

/* PLAIN: "authzid\0user\0pass"; AMQPLAIN: a table body with LOGIN and
 * PASSWORD (RabbitMQ's rabbit_auth_mechanism_amqplain). */
static bool
parse_credentials(struct wr_bytes mech, struct wr_bytes resp,
                  struct wr_bytes *user, struct wr_bytes *pass)
{
    if (wr_bytes_eq_str(mech, "PLAIN")) {
        const uint8_t *end = resp.ptr + resp.len;
        const uint8_t *z1 = resp.len ? memchr(resp.ptr, 0, resp.len) : NULL;
        const uint8_t *z2;
        if (z1 == NULL)
            return false;
        z2 = memchr(z1 + 1, 0, (size_t)(end - z1 - 1));
        if (z2 == NULL)
            return false;
        *user = (struct wr_bytes){z1 + 1, (uint32_t)(z2 - z1 - 1)};
        *pass = (struct wr_bytes){z2 + 1, (uint32_t)(end - z2 - 1)};
        return true;
    }
    if (wr_bytes_eq_str(mech, "AMQPLAIN")) {
        struct wr_table t = {resp.ptr, resp.len};
        struct wr_value v;
        if (wr_table_validate(resp.ptr, resp.len, 4) != WR_OK)
            return false;
        if (wr_table_get(t, "LOGIN", &v) != WR_OK || v.type != WR_FT_LONGSTR)
            return false;
        *user = v.v.str;
        if (wr_table_get(t, "PASSWORD", &v) != WR_OK || v.type != WR_FT_LONGSTR)
            return false;
        *pass = v.v.str;
        return true;
    }
    return false;
}

void
wr_auth_mechanisms(const struct wr_conn *c, char *out, size_t cap)
{
    const char *list = c->srv->cfg.auth_mechanisms;
    size_t n = 0;

    out[0] = '\0';
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        bool external = l == 8 && memcmp(p, "EXTERNAL", 8) == 0;
        if ((!external || c->cert_cn) && n + l + 2 <= cap) {
            if (n)
                out[n++] = ' ';
            memcpy(out + n, p, l);
            n += l;
            out[n] = '\0';
        }
        if (e == NULL)
            break;
        p = e + 1;
    }
}

static bool
mechanism_offered(const struct wr_conn *c, struct wr_bytes mech)
{
    char list[128];

    wr_auth_mechanisms(c, list, sizeof(list));
    return wr_bytes_in_list(mech, list, ' ');
}

static void
forget_failures(struct wr_server *s, const char *host)
{
    struct wr_auth_fail *f = wr_hmap_del(&s->auth_fails, host, strlen(host));

    wr_free(f);
}

bool
wr_auth_login(struct wr_conn *c, struct wr_bytes mech, struct wr_bytes resp)
{
    struct wr_server *s = c->srv;
    struct wr_bytes user = {0}, pass = {0};
    char name[256];
    struct wr_user *u;

    if (!mechanism_offered(c, mech)) {
        wr_log(WR_LOG_WARN,
               "conn %llu %s: login refused: mechanism '%.*s' "
               "not offered",
               (unsigned long long)c->id, c->peer, (int)WR_MIN(mech.len, 32u),
               mech.ptr);
        return false;
    }
    if (wr_bytes_eq_str(mech, "EXTERNAL")) {
        /* RabbitMQ's rabbit_auth_mechanism_ssl: the user is the verified
         * certificate's CN; the response (an authzid) is ignored. */
        snprintf(name, sizeof(name), "%s", c->cert_cn);
    } else {
        if (!parse_credentials(mech, resp, &user, &pass)) {
            wr_log(WR_LOG_WARN,
                   "conn %llu %s: login refused: malformed "
                   "%.*s response",
                   (unsigned long long)c->id, c->peer, (int)mech.len, mech.ptr);
            return false;
        }
        if (user.len >= sizeof(name) || memchr(user.ptr, 0, user.len)) {
            wr_log(WR_LOG_WARN, "conn %llu %s: login refused: bad user name",
                   (unsigned long long)c->id, c->peer);
            return false;
        }
        memcpy(name, user.ptr, user.len);
        name[user.len] = '\0';
    }
    u = wr_users_get(&s->users, name);
    if (u == NULL) {
        wr_log(WR_LOG_WARN,
               "conn %llu %s: login refused: user '%s' does not "
               "exist",
               (unsigned long long)c->id, c->peer, name);
        return false;
    }
    if (!wr_bytes_eq_str(mech, "EXTERNAL") &&
        !wr_user_check_password(u, pass.ptr, pass.len)) {
        wr_log(WR_LOG_WARN,
               "conn %llu %s: login refused: invalid "
               "credentials for user '%s'",
               (unsigned long long)c->id, c->peer, name);
        return false;
    }
    if (!c->loopback && wr_config_loopback_user(&s->cfg, name)) {
        wr_log(WR_LOG_WARN,
               "conn %llu %s: login refused: user '%s' can only "
               "connect via localhost",
               (unsigned long long)c->id, c->peer, name);
        return false;
    }
    forget_failures(s, c->host);
    c->u = u;
    c->user = wr_strdup(name);
    return true;
}

uint32_t
wr_auth_fail_delay(struct wr_server *s, const char *host)
{
    struct wr_auth_fail *f = wr_hmap_get(&s->auth_fails, host, strlen(host));
    int64_t now = wr_now();
    uint32_t base = s->cfg.auth_failure_delay, shift;

    if (f && now - f->last > FAIL_MEMORY) {
        f->count = 0;
    } else if (f == NULL) {
        if (s->auth_fails.count >= FAIL_MAX_HOSTS) {
            /* Bounded memory: forget hosts not seen for a while. */
            size_t it = 0;
            const char *k;
            size_t kl;
            void *v;
            while (wr_hmap_next(&s->auth_fails, &it, &k, &kl, &v)) {
                if (now - ((struct wr_auth_fail *)v)->last > FAIL_MEMORY) {
                    wr_hmap_del(&s->auth_fails, k, kl);
                    wr_free(v);
                }
            }
        }
        if (s->auth_fails.count < FAIL_MAX_HOSTS) {
            f = wr_calloc(1, sizeof(*f));
            wr_hmap_put(&s->auth_fails, host, strlen(host), f, NULL);
        }
    }
    if (f == NULL)
        return base << FAIL_MAX_SHIFT;
    shift = WR_MIN(f->count, (uint32_t)FAIL_MAX_SHIFT);
    f->count++;
    f->last = now;
    return base << shift;
}

void
wr_auth_fails_cleanup(struct wr_server *s)
{
    size_t it = 0;
    void *v;

    while (wr_hmap_next(&s->auth_fails, &it, NULL, NULL, &v))
        wr_free(v);
    wr_hmap_cleanup(&s->auth_fails);
}

const char *
wr_auth_vhost_refusal(struct wr_conn *c, struct wr_vhost *vh, char *buf,
                      size_t cap)
{
    if (wr_user_perm(c->u, vh->name) == NULL) {
        snprintf(buf, cap, "access to vhost '%s' refused for user '%s'",
                 vh->name, c->user);
        return buf;
    }
    if (wr_limit_reached(vh->max_connections, vh->nconns)) {
        snprintf(buf, cap,
                 "access to vhost '%s' refused for user '%s': connection "
                 "limit (%lld) is reached",
                 vh->name, c->user, (long long)vh->max_connections);
        return buf;
    }
    if (c->u->max_connections != WR_LIMIT_UNSET &&
        wr_limit_reached(c->u->max_connections,
                         wr_auth_user_count(c->srv, c->u, false))) {
        snprintf(buf, cap,
                 "connection refused for user '%s': user connection limit "
                 "(%lld) is reached",
                 c->user, (long long)c->u->max_connections);
        return buf;
    }
    return NULL;
}

uint64_t
wr_auth_user_count(struct wr_server *s, const struct wr_user *u, bool channels)
{
    struct wr_list *pos, *tmp;
    uint64_t n = 0;

    wr_list_for_each_safe(pos, tmp, &s->conns)
    {
        const struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, link);
        if (c->vh != NULL && c->u == u)
            n += channels ? c->open_chans : 1;
    }
    return n;
}
