/* SPDX-License-Identifier: MIT */
/* Policies and operator policies: validation with RabbitMQ's texts
 * (rabbit_policy, rabbit_policies), matching by regex and priority, and
 * re-resolving a vhost's queues and exchanges whenever they change. */
#include "vhost_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- validation ---------------------------------------------------------- */

/* What a definition key takes. */
enum kind {
    K_STR,  /* a string */
    K_INT0, /* an integer >= 0 */
    K_INT1, /* an integer >= 1 */
    K_ENUM, /* one of choices */
    K_AGE,  /* a stream's max age: "7D" (wr_max_age_parse) */
    K_ANY,  /* accepted as it is, ignored */
};

struct key {
    const char *name;
    enum kind kind;
    const char *what;           /* "~p is not a valid <what>" */
    const char *const *choices; /* K_ENUM */
    bool op;                    /* allowed in operator policies */
};

static const char *const overflows[] = {"drop-head", "reject-publish",
                                        "reject-publish-dlx", NULL};
static const char *const queue_modes[] = {"default", "lazy", NULL};

/* RabbitMQ 3.10's policy validators (rabbit_policies, and the HA and
 * stream keys of the features warren lacks, accepted and ignored). */
static const struct key keys[] = {
    {"alternate-exchange", K_STR, "alternate exchange name", NULL, false},
    {"dead-letter-exchange", K_STR, "dead letter exchange name", NULL, false},
    {"dead-letter-routing-key", K_STR, "dead letter routing key", NULL, false},
    {"message-ttl", K_INT0, "message TTL", NULL, true},
    {"expires", K_INT1, "queue expiry", NULL, true},
    {"max-length", K_INT0, "maximum length", NULL, true},
    {"max-length-bytes", K_INT0, "maximum length in bytes", NULL, true},
    {"max-in-memory-length", K_INT0, "maximum memory message count", NULL,
     true},
    {"max-in-memory-bytes", K_INT0, "maximum memory in bytes", NULL, true},
    {"delivery-limit", K_INT0, "delivery limit", NULL, true},
    /* RabbitMQ 3.12's; 3.10 does not know it */
    {"consumer-timeout", K_INT0, "consumer timeout", NULL, false},
    {"overflow", K_ENUM, "overflow value", overflows, false},
    {"queue-mode", K_ENUM, "queue-mode value", queue_modes, false},
    {"queue-version", K_ANY, NULL, NULL, false},
    {"queue-master-locator", K_ANY, NULL, NULL, false},
    {"queue-leader-locator", K_ANY, NULL, NULL, false},
    {"dead-letter-strategy", K_ANY, NULL, NULL, false},
    {"ha-mode", K_ANY, NULL, NULL, false},
    {"ha-params", K_ANY, NULL, NULL, false},
    {"ha-sync-mode", K_ANY, NULL, NULL, false},
    {"ha-sync-batch-size", K_ANY, NULL, NULL, false},
    {"ha-promote-on-shutdown", K_ANY, NULL, NULL, false},
    {"ha-promote-on-failure", K_ANY, NULL, NULL, false},
    {"max-age", K_AGE, "max age", NULL, false},
    {"stream-max-segment-size-bytes", K_INT0, "segment size", NULL, false},
    {"initial-cluster-size", K_ANY, NULL, NULL, false},
    {"federation-upstream", K_ANY, NULL, NULL, false},
    {"federation-upstream-set", K_ANY, NULL, NULL, false},
};

static int fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return WR_ERR_INVALID;
}

static const struct key *
find_key(const char *name, bool op)
{
    for (size_t i = 0; i < WR_ARRAY_LEN(keys); i++)
        if (strcmp(keys[i].name, name) == 0)
            return !op || keys[i].op ? &keys[i] : NULL;
    return NULL;
}

static bool
value_ok(const struct key *k, const json_t *v)
{
    switch (k->kind) {
    case K_STR:
        return json_is_string(v);
    case K_INT0:
        return json_is_integer(v) && json_integer_value(v) >= 0;
    case K_INT1:
        return json_is_integer(v) && json_integer_value(v) >= 1;
    case K_ENUM:
        if (!json_is_string(v))
            return false;
        for (const char *const *c = k->choices; *c; c++)
            if (strcmp(*c, json_string_value(v)) == 0)
                return true;
        return false;
    case K_AGE: {
        uint64_t ms;
        return json_is_string(v) &&
               wr_max_age_parse(
                   (struct wr_bytes){(const uint8_t *)json_string_value(v),
                                     (uint32_t)json_string_length(v)},
                   &ms) == WR_OK;
    }
    case K_ANY:
        return true;
    }
    return false;
}

static struct wr_bytes
jbytes(const json_t *v)
{
    return (struct wr_bytes){(const uint8_t *)json_string_value(v),
                             (uint32_t)json_string_length(v)};
}

/* Records a valid key's setting in p. */
static void
take_key(struct wr_policy *p, const char *name, const json_t *v)
{
    struct wr_queue_args *a = &p->qargs;
    int64_t n = json_is_integer(v) ? json_integer_value(v) : 0;

    if (strcmp(name, "alternate-exchange") == 0) {
        p->has_ae = true;
        p->ae = jbytes(v);
    } else if (strcmp(name, "dead-letter-exchange") == 0) {
        a->has_dlx = true;
        a->dlx = jbytes(v);
    } else if (strcmp(name, "dead-letter-routing-key") == 0) {
        a->has_dlrk = true;
        a->dlrk = jbytes(v);
    } else if (strcmp(name, "message-ttl") == 0) {
        a->has_message_ttl = true;
        a->message_ttl = n;
    } else if (strcmp(name, "expires") == 0) {
        a->expires = n;
    } else if (strcmp(name, "max-length") == 0) {
        a->has_max_length = true;
        a->max_length = (uint64_t)n;
    } else if (strcmp(name, "max-length-bytes") == 0) {
        a->has_max_bytes = true;
        a->max_bytes = (uint64_t)n;
    } else if (strcmp(name, "max-age") == 0) {
        a->has_max_age = wr_max_age_parse(jbytes(v), &a->max_age_ms) == WR_OK;
    } else if (strcmp(name, "stream-max-segment-size-bytes") == 0) {
        a->has_segment_size = true;
        a->segment_size = (uint64_t)n;
    } else if (strcmp(name, "delivery-limit") == 0) {
        a->has_delivery_limit = true;
        a->delivery_limit = (uint64_t)n;
    } else if (strcmp(name, "consumer-timeout") == 0) {
        a->has_consumer_timeout = true;
        a->consumer_timeout = (uint64_t)n;
    } else if (strcmp(name, "overflow") == 0) {
        const char *s = json_string_value(v);
        a->has_overflow = true;
        a->overflow = strcmp(s, "reject-publish") == 0 ? WR_OVERFLOW_REJECT
                      : strcmp(s, "reject-publish-dlx") == 0
                          ? WR_OVERFLOW_REJECT_DLX
                          : WR_OVERFLOW_DROP_HEAD;
    }
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The definition's keys, sorted (wr_free the array). */
static const char **
sorted_keys(const json_t *def, size_t *n)
{
    const char **v = wr_malloc((json_object_size(def) + 1) * sizeof(*v));
    const char *key;
    json_t *val;

    *n = 0;
    json_object_foreach((json_t *)def, key, val)
    {
        (void)val;
        v[(*n)++] = key;
    }
    qsort(v, *n, sizeof(*v), cmp_str);
    return v;
}

/* RabbitMQ checks every key it knows first, then lists the others. */
static int
check_definition(struct wr_policy *p, const json_t *def, bool op, char *err,
                 size_t cap)
{
    size_t n, len = 0;
    const char **names;
    char term[128];
    int rc = WR_OK;

    if (!json_is_object(def)) {
        wr_defs_erl_term(def, term, sizeof(term));
        return fail(err, cap,
                    "definition should be a JSON object, actually "
                    "was %s",
                    term);
    }
    if (json_object_size(def) == 0)
        return fail(err, cap, "no policy provided");
    names = sorted_keys(def, &n);
    for (size_t i = 0; i < n && rc == WR_OK; i++) {
        const struct key *k = find_key(names[i], op);
        const json_t *v = json_object_get(def, names[i]);
        if (k == NULL)
            continue;
        if (!value_ok(k, v)) {
            wr_defs_erl_term(v, term, sizeof(term));
            rc = fail(err, cap, "%s is not a valid %s", term, k->what);
        } else {
            take_key(p, names[i], v);
        }
    }
    for (size_t i = 0; i < n && rc == WR_OK; i++) {
        if (find_key(names[i], op) != NULL)
            continue;
        wr_defs_erl_term(json_object_get(def, names[i]), term, sizeof(term));
        len += (size_t)snprintf(err + len, len < cap ? cap - len : 0,
                                "%s{<<\"%s\">>,%s}", len ? "," : "[", names[i],
                                term);
    }
    if (rc == WR_OK && len > 0) {
        char list[512];
        snprintf(list, sizeof(list), "%s", err);
        rc = fail(err, cap, "%s] are not recognised policy settings", list);
    }
    wr_free(names);
    return rc;
}

static int
check_apply_to(struct wr_policy *p, const json_t *v, char *err, size_t cap)
{
    static const struct {
        const char *name;
        enum wr_policy_apply a;
    } to[] = {
        {"all", WR_APPLY_ALL},
        {"queues", WR_APPLY_QUEUES},
        {"classic_queues", WR_APPLY_QUEUES},
        {"exchanges", WR_APPLY_EXCHANGES},
        {"quorum_queues", WR_APPLY_NOTHING},
        {"streams", WR_APPLY_NOTHING},
    };
    char term[128];

    if (v == NULL || json_is_null(v)) {
        p->apply_to = wr_strdup("all");
        p->applies = WR_APPLY_ALL;
        return WR_OK;
    }
    if (json_is_string(v))
        for (size_t i = 0; i < WR_ARRAY_LEN(to); i++)
            if (strcmp(json_string_value(v), to[i].name) == 0) {
                p->apply_to = wr_strdup(to[i].name);
                p->applies = to[i].a;
                return WR_OK;
            }
    if (json_is_string(v))
        snprintf(term, sizeof(term), "%.64s", json_string_value(v));
    else
        wr_defs_erl_term(v, term, sizeof(term));
    return fail(err, cap,
                "apply-to '%s' unrecognised; should be 'queues', "
                "'exchanges' or 'all'",
                term);
}

int
wr_policy_parse(const char *name, const json_t *o, bool op,
                struct wr_policy **out, char *err, size_t cap)
{
    struct wr_policy *p = wr_calloc(1, sizeof(*p));
    const json_t *pat = json_object_get(o, "pattern");
    const json_t *def = json_object_get(o, "definition");
    const json_t *prio = json_object_get(o, "priority");
    char term[128];
    int rc;

    *out = NULL;
    p->name = wr_strdup(name);
    if (pat == NULL) {
        fail(err, cap, "[{key_missing,pattern}]");
        goto fail;
    }
    if (def == NULL) {
        fail(err, cap, "[{key_missing,definition}]");
        goto fail;
    }
    if (!json_is_string(pat)) {
        wr_defs_erl_term(pat, term, sizeof(term));
        fail(err, cap, "pattern should be regular expression but is %s", term);
        goto fail;
    }
    if (strlen(json_string_value(pat)) != json_string_length(pat)) {
        fail(err, cap,
             "pattern should be regular expression but is invalid: "
             "a NUL byte");
        goto fail;
    }
    rc = regcomp(&p->re, json_string_value(pat), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &p->re, msg, sizeof(msg));
        fail(err, cap,
             "pattern should be regular expression but is invalid: "
             "%s",
             msg);
        goto fail;
    }
    p->pattern = wr_strdup(json_string_value(pat));
    if (prio != NULL && !json_is_null(prio) && !json_is_integer(prio)) {
        wr_defs_erl_term(prio, term, sizeof(term));
        fail(err, cap, "priority should be an integer, actually was %s", term);
        goto fail;
    }
    p->priority = prio && json_is_integer(prio) ? json_integer_value(prio) : 0;
    if (check_apply_to(p, json_object_get(o, "apply-to"), err, cap) != WR_OK)
        goto fail;
    if (check_definition(p, def, op, err, cap) != WR_OK)
        goto fail;
    /* The views in qargs and ae point into this copy's strings. */
    p->definition = json_deep_copy(def);
    memset(&p->qargs, 0, sizeof(p->qargs));
    p->has_ae = false;
    {
        const char *key;
        json_t *v;
        json_object_foreach(p->definition, key, v) take_key(p, key, v);
    }
    *out = p;
    return WR_OK;
fail:
    wr_policy_free(p);
    return WR_ERR_INVALID;
}

const char *
wr_policy_name(const struct wr_policy *p)
{
    return p->name;
}

void
wr_policy_free(struct wr_policy *p)
{
    if (p == NULL)
        return;
    if (p->pattern)
        regfree(&p->re);
    json_decref(p->definition);
    wr_free(p->apply_to);
    wr_free(p->pattern);
    wr_free(p->name);
    wr_free(p);
}

json_t *
wr_policy_json(const char *vhost, const struct wr_policy *p)
{
    json_t *o = json_object();

    if (vhost)
        json_object_set_new(o, "vhost", json_string(vhost));
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "pattern", json_string(p->pattern));
    json_object_set_new(o, "apply-to", json_string(p->apply_to));
    json_object_set_new(o, "definition", json_deep_copy(p->definition));
    json_object_set_new(o, "priority", json_integer(p->priority));
    return o;
}

json_t *
wr_policy_effective_json(const struct wr_policy *p, const struct wr_policy *op)
{
    json_t *o = p ? json_deep_copy(p->definition) : json_object();
    const char *key;
    json_t *v;

    if (op == NULL)
        return o;
    /* Operator-policy keys are all integers: the smaller wins. */
    json_object_foreach(op->definition, key, v)
    {
        json_t *cur = json_object_get(o, key);
        if (json_is_integer(cur) && json_is_integer(v) &&
            json_integer_value(cur) <= json_integer_value(v))
            continue;
        json_object_set(o, key, v);
    }
    return o;
}

/* ---- lists and matching -------------------------------------------------- */

struct wr_policy *
wr_policy_list_get(const struct wr_policy_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i]->name, name) == 0)
            return l->v[i];
    return NULL;
}

bool
wr_policy_list_put(struct wr_policy_list *l, struct wr_policy *p)
{
    size_t i = 0;

    while (i < l->n && strcmp(l->v[i]->name, p->name) < 0)
        i++;
    if (i < l->n && strcmp(l->v[i]->name, p->name) == 0) {
        wr_policy_free(l->v[i]);
        l->v[i] = p;
        return false;
    }
    l->v = wr_realloc(l->v, (l->n + 1) * sizeof(*l->v));
    memmove(l->v + i + 1, l->v + i, (l->n - i) * sizeof(*l->v));
    l->v[i] = p;
    l->n++;
    return true;
}

bool
wr_policy_list_del(struct wr_policy_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i]->name, name) != 0)
            continue;
        wr_policy_free(l->v[i]);
        memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof(*l->v));
        l->n--;
        return true;
    }
    return false;
}

void
wr_policy_list_cleanup(struct wr_policy_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        wr_policy_free(l->v[i]);
    wr_free(l->v);
    l->v = NULL;
    l->n = 0;
}

const struct wr_policy *
wr_policy_match(const struct wr_policy_list *l, bool queue, const char *name,
                size_t len)
{
    const struct wr_policy *best = NULL;
    char buf[256];

    if (l->n == 0 || len >= sizeof(buf) || memchr(name, 0, len))
        return NULL;
    memcpy(buf, name, len);
    buf[len] = '\0';
    /* The list is in name order: the first of the highest priority wins. */
    for (size_t i = 0; i < l->n; i++) {
        const struct wr_policy *p = l->v[i];
        if (p->applies == WR_APPLY_NOTHING ||
            (queue && p->applies == WR_APPLY_EXCHANGES) ||
            (!queue && p->applies == WR_APPLY_QUEUES))
            continue;
        if (best && p->priority <= best->priority)
            continue;
        if (regexec(&p->re, buf, 0, NULL, 0) == 0)
            best = p;
    }
    return best;
}

/* ---- applying them --------------------------------------------------------
 */

/* Sets q's effective settings from its arguments and the policies of vh
 * that match it; true when its x-expires changed. */
static bool
resolve_queue(struct wr_vhost *vh, struct wr_queue *q)
{
    const struct wr_policy *p =
        wr_policy_match(&vh->policies, true, q->name, q->name_len);
    const struct wr_policy *op =
        wr_policy_match(&vh->op_policies, true, q->name, q->name_len);
    struct wr_queue_args eff;
    int64_t old = q->eff.expires;

    wr_queue_args_merge(&q->args, p ? &p->qargs : NULL, op ? &op->qargs : NULL,
                        &eff);
    if (wr_queue_set_effective(q, &eff) != WR_OK)
        wr_log(WR_LOG_ERROR,
               "vhost '%s': queue '%s': out of memory applying "
               "policies",
               vh->name, q->name);
    return q->eff.expires != old;
}

void
wr_vhost_policy_new_queue(struct wr_vhost *vh, struct wr_queue *q)
{
    if (vh->policies.n > 0 || vh->op_policies.n > 0)
        resolve_queue(vh, q);
}

void
wr_vhost_policy_exchange(struct wr_vhost *vh, struct wr_exchange *x)
{
    const struct wr_policy *p =
        wr_policy_match(&vh->policies, false, x->name, x->name_len);

    if (p == NULL && !x->has_policy_alternate)
        return;
    wr_exchange_set_policy_alternate(x, p && p->has_ae ? &p->ae : NULL);
}

void
wr_vhost_policies_changed(struct wr_vhost *vh)
{
    size_t it = 0;
    void *v;

    while (wr_hmap_next(&vh->queues, &it, NULL, NULL, &v)) {
        struct wr_queue *q = v;
        if (resolve_queue(vh, q) && q->broker)
            wr_bqueue_expires_changed(q->broker);
    }
    it = 0;
    while (wr_hmap_next(&vh->exchanges, &it, NULL, NULL, &v))
        wr_vhost_policy_exchange(vh, v);
    /* Messages a shorter max-length dropped are dead-lettered now. */
    wr_vhost_drain_dead_letters(vh);
}

bool
wr_vhost_set_policy(struct wr_vhost *vh, bool op, struct wr_policy *p)
{
    bool created = wr_policy_list_put(op ? &vh->op_policies : &vh->policies, p);

    wr_defs_policy_set(vh, op, p);
    wr_vhost_policies_changed(vh);
    return created;
}

bool
wr_vhost_clear_policy(struct wr_vhost *vh, bool op, const char *name)
{
    if (!wr_policy_list_del(op ? &vh->op_policies : &vh->policies, name))
        return false;
    wr_defs_policy_cleared(vh, op, name);
    wr_vhost_policies_changed(vh);
    return true;
}
