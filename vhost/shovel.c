/* SPDX-License-Identifier: MIT */
/* Local shovels, as RabbitMQ's dynamic shovels (rabbitmq_shovel): the
 * runtime parameter of component "shovel" names a source (a queue, or an
 * exchange and key, which get a server-named queue bound to them) and a
 * destination (a queue, or an exchange and key) inside this broker; the
 * shovel is a consumer on the source queue that republishes each message
 * to the destination and acks it on the source only after the
 * destination has taken it (ack-mode on-confirm and on-publish; no-ack
 * takes it at once). Deliveries are collected during dispatch and
 * forwarded from a deferred timer after the event, so forwarding never
 * re-enters the source queue's dispatch. Only amqp:// URIs (this broker)
 * are accepted: shovels to other brokers come with multi-node work. */
#include "vhost_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- the definition -------------------------------------------------- */

/* Keys RabbitMQ knows that warren takes only with their neutral value. */
static const char *const neutral_false[] = {
    "add-forward-headers",
    "dest-add-forward-headers",
    "dest-add-timestamp-header",
    NULL,
};

static const char *const known_keys[] = {
    "src-protocol",
    "src-uri",
    "src-queue",
    "src-exchange",
    "src-exchange-key",
    "src-delete-after",
    "delete-after",
    "src-prefetch-count",
    "prefetch-count",
    "dest-protocol",
    "dest-uri",
    "dest-queue",
    "dest-exchange",
    "dest-exchange-key",
    "ack-mode",
    "reconnect-delay",
    "add-forward-headers",
    "dest-add-forward-headers",
    "dest-add-timestamp-header",
    NULL,
};

static bool
in_list(const char *const *l, const char *k)
{
    for (; *l; l++)
        if (strcmp(*l, k) == 0)
            return true;
    return false;
}

/* A string member; *ok false (and err set) when present but not one. */
static const char *
opt_str(const json_t *v, const char *key, bool *ok, char *err, size_t cap)
{
    const json_t *s = json_object_get(v, key);

    if (s == NULL)
        return NULL;
    if (!json_is_string(s)) {
        snprintf(err, cap, "%s should be a string, actually was %s", key,
                 json_is_integer(s) ? "a number" : "not a string");
        *ok = false;
        return NULL;
    }
    if (json_string_length(s) > 255) {
        snprintf(err, cap, "%s is longer than 255 bytes", key);
        *ok = false;
        return NULL;
    }
    return json_string_value(s);
}

/* Decodes %XX in [p, p + n) into out (at most cap - 1 bytes). */
static bool
pct_decode(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (c == '%') {
            unsigned v;
            if (n - i < 3 || sscanf(p + i + 1, "%2x", &v) != 1)
                return false;
            c = (int)v;
            i += 2;
        }
        if (o + 1 >= cap || c == 0)
            return false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}

/* The vhost an amqp:// URI of this broker names ("amqp://" and
 * "amqp:///" are the default vhost "/", as amqp_uri has them). Returns
 * false, with the reason, for any other URI. */
static bool
local_uri(const char *key, const json_t *u, char *vhost, size_t vcap, char *err,
          size_t cap)
{
    const char *s, *rest;

    if (json_is_array(u)) { /* a list of URIs: the first is used */
        if (json_array_size(u) == 0) {
            snprintf(err, cap, "%s: an empty list of URIs", key);
            return false;
        }
        u = json_array_get(u, 0);
    }
    if (!json_is_string(u)) {
        snprintf(err, cap, "%s should be a string, actually was not", key);
        return false;
    }
    s = json_string_value(u);
    if (strncmp(s, "amqp://", 7) != 0) {
        snprintf(err, cap,
                 "%s: \"%.200s\" is not supported: warren shovels are local "
                 "only (amqp:// or amqp:///VHOST)",
                 key, s);
        return false;
    }
    rest = s + 7;
    if (rest[0] != '\0' && rest[0] != '/') {
        snprintf(err, cap,
                 "%s: \"%.200s\": remote URIs are not supported yet "
                 "(warren shovels are local only: amqp:// or amqp:///VHOST)",
                 key, s);
        return false;
    }
    if (rest[0] == '\0' || rest[1] == '\0') {
        snprintf(vhost, vcap, "/");
        return true;
    }
    if (strchr(rest + 1, '?') || strchr(rest + 1, '/') ||
        !pct_decode(rest + 1, strlen(rest + 1), vhost, vcap)) {
        snprintf(err, cap, "%s: \"%.200s\" is not a valid URI", key, s);
        return false;
    }
    return true;
}

int
wr_shovel_parse(const char *name, const json_t *v, struct wr_shovel_def *d,
                char *err, size_t cap)
{
    const char *key, *s;
    const json_t *m;
    bool ok = true;

    memset(d, 0, sizeof(*d));
    d->delete_after = -1;
    d->prefetch = 1000;
    d->reconnect_ms = 1000;
    d->ack_mode = WR_SHOVEL_ON_CONFIRM;
    if (!json_is_object(v)) {
        snprintf(err, cap, "the value of shovel %.255s is not an object", name);
        return WR_ERR_INVALID;
    }
    json_object_foreach((json_t *)v, key, m)
    {
        if (!in_list(known_keys, key)) {
            snprintf(err, cap,
                     "Unrecognised terms [{<<\"%.100s\">>,...}] in "
                     "%.255s",
                     key, name);
            return WR_ERR_INVALID;
        }
        if (in_list(neutral_false, key) && !json_is_false(m)) {
            snprintf(err, cap, "%s: only false is supported by warren", key);
            return WR_ERR_INVALID;
        }
    }
    for (int i = 0; i < 2; i++) {
        const char *pk = i ? "dest-protocol" : "src-protocol";
        s = opt_str(v, pk, &ok, err, cap);
        if (!ok)
            return WR_ERR_INVALID;
        if (s && strcmp(s, "amqp091") != 0) {
            snprintf(err, cap,
                     "%s: \"%.50s\" is not supported: warren shovels speak "
                     "amqp091",
                     pk, s);
            return WR_ERR_INVALID;
        }
    }
    for (int i = 0; i < 2; i++) {
        const char *uk = i ? "dest-uri" : "src-uri";
        const json_t *u = json_object_get(v, uk);
        if (u == NULL) {
            snprintf(err, cap, "Key <<\"%s\">> not found in %.255s", uk, name);
            return WR_ERR_INVALID;
        }
        if (!local_uri(uk, u, i ? d->dest_vhost : d->src_vhost,
                       sizeof(d->src_vhost), err, cap))
            return WR_ERR_INVALID;
    }
    d->src_queue = opt_str(v, "src-queue", &ok, err, cap);
    if (ok)
        d->src_exchange = opt_str(v, "src-exchange", &ok, err, cap);
    if (ok)
        d->src_key = opt_str(v, "src-exchange-key", &ok, err, cap);
    if (ok)
        d->dest_queue = opt_str(v, "dest-queue", &ok, err, cap);
    if (ok)
        d->dest_exchange = opt_str(v, "dest-exchange", &ok, err, cap);
    if (ok)
        d->dest_key = opt_str(v, "dest-exchange-key", &ok, err, cap);
    if (!ok)
        return WR_ERR_INVALID;
    if (!d->src_queue == !d->src_exchange) {
        snprintf(err, cap,
                 d->src_queue ? "Cannot specify 'src-exchange' and 'src-queue'"
                              : "Must specify 'src-exchange' or 'src-queue'");
        return WR_ERR_INVALID;
    }
    if (d->dest_queue && d->dest_exchange) {
        snprintf(err, cap, "Cannot specify 'dest-exchange' and 'dest-queue'");
        return WR_ERR_INVALID;
    }
    if ((s = opt_str(v, "ack-mode", &ok, err, cap)) != NULL) {
        if (strcmp(s, "on-confirm") == 0)
            d->ack_mode = WR_SHOVEL_ON_CONFIRM;
        else if (strcmp(s, "on-publish") == 0)
            d->ack_mode = WR_SHOVEL_ON_PUBLISH;
        else if (strcmp(s, "no-ack") == 0)
            d->ack_mode = WR_SHOVEL_NO_ACK;
        else {
            snprintf(err, cap,
                     "ack-mode should be one of [\"no-ack\",\"on-publish\","
                     "\"on-confirm\"], actually was \"%.50s\"",
                     s);
            return WR_ERR_INVALID;
        }
    } else if (!ok) {
        return WR_ERR_INVALID;
    }
    for (int i = 0; i < 2; i++) {
        const char *dk = i ? "delete-after" : "src-delete-after";
        m = json_object_get(v, dk);
        if (m == NULL)
            continue;
        if (json_is_string(m) && strcmp(json_string_value(m), "never") == 0)
            d->delete_after = -1;
        else if (json_is_string(m) &&
                 strcmp(json_string_value(m), "queue-length") == 0)
            d->queue_length = true;
        else if (json_is_integer(m) && json_integer_value(m) >= 0)
            d->delete_after = json_integer_value(m);
        else {
            snprintf(err, cap,
                     "%s should be number, \"never\" or \"queue-length\"", dk);
            return WR_ERR_INVALID;
        }
        if (json_is_integer(m) && d->ack_mode == WR_SHOVEL_NO_ACK) {
            snprintf(err, cap,
                     "Cannot specify 'no-ack' and numerical 'delete-after'");
            return WR_ERR_INVALID;
        }
    }
    for (int i = 0; i < 2; i++) {
        const char *pk = i ? "prefetch-count" : "src-prefetch-count";
        m = json_object_get(v, pk);
        if (m == NULL)
            continue;
        if (!json_is_integer(m) || json_integer_value(m) < 1 ||
            json_integer_value(m) > 65535) {
            snprintf(err, cap, "%s should be a number from 1 to 65535", pk);
            return WR_ERR_INVALID;
        }
        d->prefetch = (uint32_t)json_integer_value(m);
    }
    m = json_object_get(v, "reconnect-delay");
    if (m) {
        if (!json_is_number(m) || json_number_value(m) < 0 ||
            json_number_value(m) > 86400) {
            snprintf(err, cap, "reconnect-delay should be a number");
            return WR_ERR_INVALID;
        }
        d->reconnect_ms = (int64_t)(json_number_value(m) * 1000);
    }
    return WR_OK;
}

/* ---- the engine ---------------------------------------------------------- */

static struct wr_shovel *
of_consumer(struct wr_consumer *c)
{
    return WR_CONTAINER_OF(c, struct wr_shovel, cons);
}

static struct wr_vhost *
vhost_named(struct wr_server *srv, const char *name)
{
    return wr_hmap_get(&srv->vhosts, name, strlen(name));
}

static void start(struct wr_shovel *s);

static void terminate(struct wr_shovel *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
retry_cb(void *arg)
{
    start(arg);
}

/* Stops consuming (pending deliveries must have been flushed), records
 * why, and tries again after reconnect-delay, as RabbitMQ's shovels do. */
static void
terminate(struct wr_shovel *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
    va_end(ap);
    s->state = WR_SHOVEL_TERMINATED;
    wr_log(WR_LOG_WARN, "shovel '%s' in vhost '%s': %s", s->name, s->vh->name,
           s->reason);
    if (s->retry_ev == NULL)
        s->retry_ev = wr_timer_new(s->vh->srv, retry_cb, s);
    if (s->retry_ev)
        wr_timer_arm(s->retry_ev, s->def.reconnect_ms);
}

static bool
sh_can_take(struct wr_consumer *c)
{
    struct wr_shovel *s = of_consumer(c);

    if (s->paused || s->npend >= s->def.prefetch)
        return false;
    return s->remaining < 0 || (int64_t)s->npend < s->remaining;
}

static void
sh_deliver(struct wr_consumer *c, struct wr_queue *q,
           const struct wr_delivery *d)
{
    struct wr_shovel *s = of_consumer(c);
    struct wr_shovel_pend *p;

    (void)q;
    /* sh_can_take bounds npend by prefetch, the array's size */
    wr_assert(s->npend < s->def.prefetch);
    p = &s->pend[s->npend++];
    p->msg = wr_msg_ref(d->msg);
    p->id = d->id;
    p->handle = d->handle;
    wr_timer_defer(s->flush_ev);
}

static void flush_pending(struct wr_shovel *s);
static void detach(struct wr_shovel *s);

/* The source queue is being deleted: what was taken goes on, the rest is
 * the queue's to drop; then start again later (re-declaring it), as a
 * RabbitMQ shovel whose channel closed. */
static void
sh_gone(struct wr_consumer *c)
{
    struct wr_shovel *s = of_consumer(c);
    struct wr_queue *q = s->src;

    flush_pending(s);
    detach(s);
    terminate(s, "source queue '%s' deleted", q ? q->name : "?");
}

static const struct wr_consumer_ops shovel_ops = {
    .can_take = sh_can_take,
    .deliver = sh_deliver,
    .gone = sh_gone,
};

/* Republishes m as the definition says; false when the destination
 * refused it (x-overflow reject-publish) or is missing. */
static bool
forward(struct wr_shovel *s, struct wr_msg *m)
{
    struct wr_vhost *dvh = vhost_named(s->vh->srv, s->def.dest_vhost);
    struct wr_msg_spec sp = {0};
    struct wr_exchange *x;
    struct wr_msg *nm;
    bool routed, rejected;
    const char *xn, *rk = NULL;

    if (dvh == NULL) {
        snprintf(s->reason, sizeof(s->reason), "no vhost '%s'",
                 s->def.dest_vhost);
        return false;
    }
    if (s->def.dest_queue) {
        xn = "";
        rk = s->def.dest_queue;
    } else if (s->def.dest_exchange) {
        xn = s->def.dest_exchange;
        rk = s->def.dest_key;
    } else {
        xn = NULL; /* the message's own exchange and routing key */
    }
    sp.exchange = xn ? wr_bytes_str(xn) : wr_msg_exchange(m);
    sp.rkey = rk ? wr_bytes_str(rk) : wr_msg_rkey(m);
    x = wr_vhost_exchange(dvh, sp.exchange);
    if (x == NULL) {
        snprintf(s->reason, sizeof(s->reason),
                 "no exchange '%.*s' in vhost '%s'", (int)sp.exchange.len,
                 sp.exchange.ptr, dvh->name);
        return false;
    }
    sp.props = wr_msg_props_data(m);
    sp.props_len = m->props_len;
    sp.share_body = m;
    nm = wr_msg_build(&sp);
    if (nm == NULL) {
        snprintf(s->reason, sizeof(s->reason), "out of memory");
        return false;
    }
    wr_vhost_publish(dvh, x, nm, false, &s->route, &routed, &rejected);
    wr_msg_unref(&nm);
    if (rejected) {
        snprintf(s->reason, sizeof(s->reason),
                 "the destination refused a message (x-overflow)");
        return false;
    }
    /* Unroutable: dropped, as a publish without mandatory (RabbitMQ's
     * shovel publishes so, and its confirm acks the source). */
    return true;
}

/* Forwards every collected delivery and settles it on the source: ack
 * once the destination has it; a refusal requeues it (and what follows)
 * and pauses the shovel for reconnect-delay. */
static void
flush_pending(struct wr_shovel *s)
{
    int64_t now = wr_now_ms();
    bool failed = false;
    size_t i;

    for (i = 0; i < s->npend; i++) {
        struct wr_shovel_pend *p = &s->pend[i];
        bool ok = !failed && forward(s, p->msg);

        if (s->def.ack_mode != WR_SHOVEL_NO_ACK && s->src)
            wr_queue_settle(s->src, p->id, p->handle,
                            ok ? WR_SETTLE_ACK : WR_SETTLE_REQUEUE, now);
        if (ok) {
            s->moved++;
            if (s->remaining > 0)
                s->remaining--;
        }
        failed = failed || !ok;
        wr_msg_unref(&p->msg);
    }
    s->npend = 0;
    if (failed)
        s->paused = true;
}

static void
detach(struct wr_shovel *s)
{
    struct wr_queue *q = s->src;
    struct wr_vhost *svh;

    if (q == NULL)
        return;
    wr_queue_consumer_remove(q, &s->cons);
    s->src = NULL;
    if (s->own_src && !q->deleted &&
        (svh = vhost_named(s->vh->srv, s->def.src_vhost)) != NULL)
        wr_vhost_delete_queue(svh, q);
    s->own_src = false;
}

static void
finish(struct wr_shovel *s)
{
    struct wr_vhost *vh = s->vh;

    wr_log(WR_LOG_INFO,
           "shovel '%s' in vhost '%s': done after %llu message(s) "
           "(src-delete-after), deleting it",
           s->name, vh->name, (unsigned long long)s->moved);
    wr_vhost_clear_shovel(vh, s->name); /* frees s */
    wr_server_save_definitions(vh->srv);
}

static void
flush_cb(void *arg)
{
    struct wr_shovel *s = arg;

    flush_pending(s);
    if (s->remaining == 0) {
        finish(s); /* frees s */
        return;
    }
    if (s->paused) {
        s->state = WR_SHOVEL_RUNNING;
        if (s->retry_ev == NULL)
            s->retry_ev = wr_timer_new(s->vh->srv, retry_cb, s);
        if (s->retry_ev)
            wr_timer_arm(s->retry_ev, s->def.reconnect_ms);
        return;
    }
    if (s->src)
        wr_queue_dispatch(s->src, wr_now_ms());
}

/* A queue of the definition: found, or declared durable as the shovel
 * plugin declares a missing one. NULL with s->reason set. */
static struct wr_queue *
ensure_queue(struct wr_shovel *s, struct wr_vhost *vh, const char *name)
{
    struct wr_bytes n = wr_bytes_str(name);
    struct wr_queue *q = wr_vhost_queue(vh, n);
    struct wr_queue_args args;

    if (q != NULL)
        return q;
    if (n.len == 0 ||
        wr_queue_args_parse((struct wr_table){NULL, 0}, &args, NULL) != WR_OK) {
        snprintf(s->reason, sizeof(s->reason), "cannot declare queue '%s'",
                 name);
        return NULL;
    }
    q = wr_vhost_add_queue(vh, n, &args, (struct wr_table){NULL, 0}, true,
                           false, false, NULL);
    if (q == NULL)
        snprintf(s->reason, sizeof(s->reason), "out of memory");
    return q;
}

static void
start(struct wr_shovel *s)
{
    struct wr_server *srv = s->vh->srv;
    struct wr_vhost *svh = vhost_named(srv, s->def.src_vhost);
    struct wr_vhost *dvh = vhost_named(srv, s->def.dest_vhost);
    struct wr_queue *q;

    if (srv->base == NULL)
        return; /* no event loop */
    s->paused = false;
    s->state = WR_SHOVEL_STARTING;
    if (s->flush_ev == NULL)
        s->flush_ev = wr_timer_new(srv, flush_cb, s);
    if (s->flush_ev == NULL) {
        terminate(s, "out of memory");
        return;
    }
    if (svh == NULL || dvh == NULL) {
        terminate(s, "no vhost '%s'",
                  svh == NULL ? s->def.src_vhost : s->def.dest_vhost);
        return;
    }
    if (s->src != NULL) { /* resumed after a pause */
        s->state = WR_SHOVEL_RUNNING;
        wr_queue_dispatch(s->src, wr_now_ms());
        return;
    }
    if (s->def.dest_queue && ensure_queue(s, dvh, s->def.dest_queue) == NULL) {
        terminate(s, "%s", s->reason);
        return;
    }
    if (s->def.dest_exchange &&
        wr_vhost_exchange(dvh, wr_bytes_str(s->def.dest_exchange)) == NULL) {
        terminate(s, "no exchange '%s' in vhost '%s'", s->def.dest_exchange,
                  dvh->name);
        return;
    }
    if (s->def.src_queue) {
        q = ensure_queue(s, svh, s->def.src_queue);
        if (q == NULL) {
            terminate(s, "%s", s->reason);
            return;
        }
        if (q->exclusive) {
            terminate(s,
                      "cannot obtain exclusive access to locked queue '%s' "
                      "in vhost '%s'",
                      q->name, svh->name);
            return;
        }
    } else {
        struct wr_exchange *x =
            wr_vhost_exchange(svh, wr_bytes_str(s->def.src_exchange));
        struct wr_queue_args args;
        static uint64_t seq;
        char gen[64];
        const char *why;

        if (x == NULL) {
            terminate(s, "no exchange '%s' in vhost '%s'", s->def.src_exchange,
                      svh->name);
            return;
        }
        snprintf(gen, sizeof(gen), "amq.gen-shovel-%llx-%llu",
                 (unsigned long long)wr_now_ms(), (unsigned long long)++seq);
        wr_queue_args_parse((struct wr_table){NULL, 0}, &args, NULL);
        q = wr_vhost_add_queue(svh, wr_bytes_str(gen), &args,
                               (struct wr_table){NULL, 0}, false, false, false,
                               NULL);
        if (q == NULL) {
            terminate(s, "out of memory");
            return;
        }
        if (wr_exchange_bind(x, WR_DEST_QUEUE, q,
                             wr_bytes_str(s->def.src_key ? s->def.src_key : ""),
                             (struct wr_table){NULL, 0}, &why) != WR_OK) {
            wr_vhost_delete_queue(svh, q);
            terminate(s, "cannot bind to exchange '%s': %s",
                      s->def.src_exchange, why ? why : "refused");
            return;
        }
        s->own_src = true;
    }
    if (s->def.src_queue && s->def.dest_queue &&
        strcmp(s->def.src_vhost, s->def.dest_vhost) == 0 &&
        strcmp(s->def.src_queue, s->def.dest_queue) == 0) {
        terminate(s, "the source and the destination are the same queue");
        return;
    }
    if (s->def.queue_length)
        s->remaining = (int64_t)wr_queue_counts(q)->ready;
    else
        s->remaining = s->def.delete_after; /* -1: never */
    if (s->remaining == 0) {
        if (s->own_src)
            wr_vhost_delete_queue(svh, q);
        s->own_src = false;
        finish(s);
        return;
    }
    memset(&s->cons, 0, sizeof(s->cons));
    s->cons.ops = &shovel_ops;
    s->cons.no_ack = s->def.ack_mode == WR_SHOVEL_NO_ACK;
    if (wr_queue_consumer_add(q, &s->cons) != WR_OK) {
        if (s->own_src)
            wr_vhost_delete_queue(svh, q);
        s->own_src = false;
        terminate(s, "out of memory");
        return;
    }
    s->src = q;
    s->state = WR_SHOVEL_RUNNING;
    s->reason[0] = '\0';
    s->since = (int64_t)time(NULL);
    wr_queue_dispatch(q, wr_now_ms());
}

static void
shovel_free(struct wr_shovel *s)
{
    /* Whatever was taken reaches the destination: nothing lost. */
    flush_pending(s);
    detach(s);
    wr_timer_free(s->flush_ev);
    wr_timer_free(s->retry_ev);
    wr_route_set_cleanup(&s->route);
    json_decref(s->value);
    wr_free(s->pend);
    wr_free(s->name);
    wr_free(s);
}

struct wr_shovel *
wr_vhost_shovel(struct wr_vhost *vh, const char *name)
{
    struct wr_list *pos;

    for (pos = vh->shovels.next; pos != &vh->shovels; pos = pos->next) {
        struct wr_shovel *s = WR_CONTAINER_OF(pos, struct wr_shovel, link);
        if (strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

bool
wr_vhost_clear_shovel(struct wr_vhost *vh, const char *name)
{
    struct wr_shovel *s = wr_vhost_shovel(vh, name);

    if (s == NULL)
        return false;
    wr_list_remove(&s->link);
    shovel_free(s);
    return true;
}

int
wr_vhost_set_shovel(struct wr_vhost *vh, const char *name, json_t *value,
                    bool *created, char *err, size_t cap)
{
    struct wr_shovel *s = wr_calloc(1, sizeof(*s));
    json_t *copy;

    if (s == NULL)
        return WR_ERR_NOMEM;
    copy = json_deep_copy(value);
    if (copy == NULL ||
        wr_shovel_parse(name, copy, &s->def, err, cap) != WR_OK) {
        json_decref(copy);
        wr_free(s);
        return copy ? WR_ERR_INVALID : WR_ERR_NOMEM;
    }
    s->value = copy; /* the def's strings are views into it */
    s->name = wr_strdup(name);
    s->pend = wr_calloc(s->def.prefetch, sizeof(*s->pend));
    s->vh = vh;
    s->remaining = -1;
    if (s->name == NULL || s->pend == NULL) {
        json_decref(copy);
        wr_free(s->name);
        wr_free(s->pend);
        wr_free(s);
        return WR_ERR_NOMEM;
    }
    /* RabbitMQ restarts a shovel whose definition changes. */
    *created = !wr_vhost_clear_shovel(vh, name);
    wr_list_push_back(&vh->shovels, &s->link);
    wr_log(WR_LOG_INFO, "shovel '%s' in vhost '%s' %s", name, vh->name,
           *created ? "added" : "updated");
    /* Started from the loop, not here: a definitions file is loaded
     * before the durable definitions are recovered, and the shovel must
     * find the queues and exchanges they bring back. */
    s->state = WR_SHOVEL_STARTING;
    if (vh->srv->base == NULL) /* no event loop: kept, never run */
        return WR_OK;
    s->retry_ev = wr_timer_new(vh->srv, retry_cb, s);
    if (s->retry_ev)
        wr_timer_arm(s->retry_ev, 0);
    else
        terminate(s, "out of memory");
    return WR_OK;
}

void
wr_vhost_shovels_free(struct wr_vhost *vh)
{
    while (!wr_list_empty(&vh->shovels)) {
        struct wr_shovel *s =
            WR_CONTAINER_OF(vh->shovels.next, struct wr_shovel, link);
        wr_list_remove(&s->link);
        shovel_free(s);
    }
}
