/* SPDX-License-Identifier: MIT */
/* Users with salted password hashes, tags, and per-vhost permission regexes
 * (configure / write / read) plus topic permissions, checked the way
 * RabbitMQ's internal auth backend checks them. */
#include "auth_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_LEN 4

void
wr_users_init(struct wr_users *u)
{
    wr_hmap_init(&u->by_name);
    u->gen = 1;
}

static void
perm_free(struct wr_perm *p)
{
    for (int i = 0; i < 3; i++) {
        if (p->pat[i][0])
            regfree(&p->re[i]);
        wr_free(p->pat[i]);
    }
    wr_free(p->vhost);
    wr_free(p);
}

static void
topic_perm_cleanup(struct wr_topic_perm *t)
{
    for (int i = 0; i < 2; i++) {
        if (t->pat[i][0])
            regfree(&t->re[i]);
        wr_free(t->pat[i]);
    }
    wr_free(t->vhost);
    wr_free(t->exchange);
}

static void
user_free(struct wr_user *usr)
{
    size_t it = 0;
    void *v;

    while (wr_hmap_next(&usr->perms, &it, NULL, NULL, &v))
        perm_free(v);
    wr_hmap_cleanup(&usr->perms);
    for (size_t i = 0; i < usr->ntp; i++)
        topic_perm_cleanup(&usr->tp[i]);
    wr_free(usr->tp);
    wr_free(usr->tags);
    wr_free(usr->name);
    wr_free(usr);
}

void
wr_users_cleanup(struct wr_users *u)
{
    size_t it = 0;
    void *v;

    while (wr_hmap_next(&u->by_name, &it, NULL, NULL, &v))
        user_free(v);
    wr_hmap_cleanup(&u->by_name);
}

struct wr_user *
wr_users_get(const struct wr_users *u, const char *name)
{
    return wr_hmap_get(&u->by_name, name, strlen(name));
}

int
wr_users_add(struct wr_users *u, const char *name, const char *password,
             const char *tags, struct wr_user **out)
{
    struct wr_user *usr;

    if (name[0] == '\0')
        return WR_ERR_INVALID;
    if (wr_users_get(u, name))
        return WR_ERR_EXISTS;
    usr = wr_calloc(1, sizeof(*usr));
    usr->name = wr_strdup(name);
    usr->tags = wr_strdup("");
    usr->max_channels = WR_LIMIT_UNSET;
    usr->max_connections = WR_LIMIT_UNSET;
    wr_hmap_init(&usr->perms);
    wr_user_set_password(usr, password);
    wr_user_set_tags(usr, tags ? tags : "");
    wr_hmap_put(&u->by_name, usr->name, strlen(usr->name), usr, NULL);
    u->gen++;
    if (out)
        *out = usr;
    return WR_OK;
}

int
wr_users_delete(struct wr_users *u, const char *name)
{
    struct wr_user *usr = wr_hmap_del(&u->by_name, name, strlen(name));

    if (usr == NULL)
        return WR_ERR_NOT_FOUND;
    user_free(usr);
    u->gen++;
    return WR_OK;
}

void
wr_user_set_password(struct wr_user *usr, const char *password)
{
    uint8_t *salt = usr->hash;

    usr->alg = WR_HASH_SHA256;
    usr->hash_len = 0;
    if (password == NULL)
        return;
    if (wr_crypto_random(salt, SALT_LEN) != 0)
        abort(); /* no entropy: refuse to make a guessable salt */
    wr_crypto_sha256(salt, SALT_LEN, password, strlen(password),
                     usr->hash + SALT_LEN);
    usr->hash_len = SALT_LEN + WR_SHA256_LEN;
}

int
wr_user_set_hash(struct wr_user *usr, enum wr_hash_alg alg, const char *b64)
{
    uint8_t buf[sizeof(usr->hash)];
    size_t want =
        SALT_LEN + (alg == WR_HASH_SHA512 ? WR_SHA512_LEN : WR_SHA256_LEN);
    int n;

    if (b64[0] == '\0') {
        usr->alg = alg;
        usr->hash_len = 0;
        return WR_OK;
    }
    n = wr_base64_decode(b64, strlen(b64), buf, sizeof(buf));
    if (n < 0 || (size_t)n != want)
        return WR_ERR_INVALID;
    memcpy(usr->hash, buf, want);
    usr->hash_len = want;
    usr->alg = alg;
    return WR_OK;
}

void
wr_user_hash_b64(const struct wr_user *usr, char *out, size_t cap)
{
    if (usr->hash_len == 0 ||
        wr_base64_encode(usr->hash, usr->hash_len, out, cap) < 0)
        out[0] = '\0';
}

void
wr_password_hash_sha256(const uint8_t salt[4], const char *password, char *out,
                        size_t cap)
{
    uint8_t buf[SALT_LEN + WR_SHA256_LEN];

    memcpy(buf, salt, SALT_LEN);
    wr_crypto_sha256(salt, SALT_LEN, password, strlen(password),
                     buf + SALT_LEN);
    if (wr_base64_encode(buf, sizeof(buf), out, cap) < 0)
        out[0] = '\0';
}

bool
wr_user_check_password(const struct wr_user *usr, const void *pass, size_t len)
{
    uint8_t d[WR_SHA512_LEN];
    size_t dlen;

    if (usr->hash_len == 0)
        return false;
    if (usr->alg == WR_HASH_SHA512) {
        wr_crypto_sha512(usr->hash, SALT_LEN, pass, len, d);
        dlen = WR_SHA512_LEN;
    } else {
        wr_crypto_sha256(usr->hash, SALT_LEN, pass, len, d);
        dlen = WR_SHA256_LEN;
    }
    return usr->hash_len == SALT_LEN + dlen &&
           wr_crypto_equal(d, usr->hash + SALT_LEN, dlen);
}

void
wr_user_set_tags(struct wr_user *usr, const char *tags)
{
    size_t n = strlen(tags), o = 0;
    char *out = wr_malloc(n + 1);

    /* Normalise "a, b c" to "a,b,c". */
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && tags[j] != ',' && tags[j] != ' ')
            j++;
        if (j > i) {
            if (o)
                out[o++] = ',';
            memcpy(out + o, tags + i, j - i);
            o += j - i;
        }
        i = j + 1;
    }
    out[o] = '\0';
    wr_free(usr->tags);
    usr->tags = out;
}

bool
wr_user_has_tag(const struct wr_user *usr, const char *tag)
{
    size_t tl = strlen(tag);

    for (const char *p = usr->tags; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == tl && memcmp(p, tag, l) == 0)
            return true;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return false;
}

/* Compiles pattern into re (an empty pattern compiles to nothing and
 * denies). Returns WR_OK or WR_ERR_INVALID with a message. */
static int
compile(regex_t *re, const char *pattern, char *err, size_t errlen)
{
    int rc;

    if (pattern[0] == '\0')
        return WR_OK;
    rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[128];
        regerror(rc, re, msg, sizeof(msg));
        snprintf(err, errlen, "invalid regular expression '%s': %s", pattern,
                 msg);
        return WR_ERR_INVALID;
    }
    return WR_OK;
}

static bool
match(const regex_t *re, const char *pattern, const void *s, size_t len)
{
    char buf[1024];

    /* RabbitMQ: an empty pattern matches nothing. Names with a NUL byte
     * cannot be matched safely by regexec: deny them. */
    if (pattern[0] == '\0' || len >= sizeof(buf) || memchr(s, 0, len))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return regexec(re, buf, 0, NULL, 0) == 0;
}

int
wr_user_set_perm(struct wr_users *u, struct wr_user *usr, const char *vhost,
                 const char *configure, const char *write, const char *read,
                 char *err, size_t errlen)
{
    struct wr_perm *p = wr_calloc(1, sizeof(*p));
    const char *pats[3] = {configure, write, read};
    void *old = NULL;
    int i;

    p->vhost = wr_strdup(vhost);
    for (i = 0; i < 3; i++) {
        p->pat[i] = wr_strdup(pats[i]);
        if (compile(&p->re[i], pats[i], err, errlen) != WR_OK) {
            wr_free(p->pat[i]);
            while (i-- > 0) {
                if (p->pat[i][0])
                    regfree(&p->re[i]);
                wr_free(p->pat[i]);
            }
            wr_free(p->vhost);
            wr_free(p);
            return WR_ERR_INVALID;
        }
    }
    wr_hmap_put(&usr->perms, p->vhost, strlen(p->vhost), p, &old);
    if (old)
        perm_free(old);
    u->gen++;
    return WR_OK;
}

int
wr_user_clear_perm(struct wr_users *u, struct wr_user *usr, const char *vhost)
{
    struct wr_perm *p = wr_hmap_del(&usr->perms, vhost, strlen(vhost));

    if (p == NULL)
        return WR_ERR_NOT_FOUND;
    perm_free(p);
    u->gen++;
    return WR_OK;
}

const struct wr_perm *
wr_user_perm(const struct wr_user *usr, const char *vhost)
{
    return wr_hmap_get(&usr->perms, vhost, strlen(vhost));
}

/* Expands {username} and {vhost} in a topic pattern. */
static char *
expand(const char *pat, const char *user, const char *vhost)
{
    size_t cap = strlen(pat) + 1, n = 0;
    char *out = wr_malloc(cap);

    for (const char *p = pat; *p;) {
        const char *sub = NULL;
        size_t skip = 0;
        if (strncmp(p, "{username}", 10) == 0)
            sub = user, skip = 10;
        else if (strncmp(p, "{vhost}", 7) == 0)
            sub = vhost, skip = 7;
        size_t add = sub ? strlen(sub) : 1;
        if (n + add + 1 > cap) {
            cap = (n + add + 1) * 2;
            out = wr_realloc(out, cap);
        }
        if (sub) {
            memcpy(out + n, sub, add);
            p += skip;
        } else {
            out[n] = *p++;
        }
        n += add;
    }
    out[n] = '\0';
    return out;
}

static struct wr_topic_perm *
find_tp(const struct wr_user *usr, const char *vhost, const char *exchange)
{
    for (size_t i = 0; i < usr->ntp; i++)
        if (strcmp(usr->tp[i].vhost, vhost) == 0 &&
            strcmp(usr->tp[i].exchange, exchange) == 0)
            return &usr->tp[i];
    return NULL;
}

int
wr_user_set_topic_perm(struct wr_users *u, struct wr_user *usr,
                       const char *vhost, const char *exchange,
                       const char *write, const char *read, char *err,
                       size_t errlen)
{
    struct wr_topic_perm t = {0}, *slot;
    const char *pats[2] = {write, read};

    for (int i = 0; i < 2; i++) {
        char *x = expand(pats[i], usr->name, vhost);
        int rc = compile(&t.re[i], x, err, errlen);
        wr_free(x);
        if (rc != WR_OK) {
            if (i == 1 && write[0])
                regfree(&t.re[0]);
            return WR_ERR_INVALID;
        }
    }
    t.pat[0] = wr_strdup(write);
    t.pat[1] = wr_strdup(read);
    t.vhost = wr_strdup(vhost);
    t.exchange = wr_strdup(exchange);
    slot = find_tp(usr, vhost, exchange);
    if (slot) {
        topic_perm_cleanup(slot);
    } else {
        usr->tp = wr_realloc(usr->tp, (usr->ntp + 1) * sizeof(*usr->tp));
        slot = &usr->tp[usr->ntp++];
    }
    *slot = t;
    u->gen++;
    return WR_OK;
}

int
wr_user_clear_topic_perm(struct wr_users *u, struct wr_user *usr,
                         const char *vhost, const char *exchange)
{
    size_t kept = 0, before = usr->ntp;

    for (size_t i = 0; i < usr->ntp; i++) {
        struct wr_topic_perm *t = &usr->tp[i];
        if (strcmp(t->vhost, vhost) == 0 &&
            (exchange == NULL || strcmp(t->exchange, exchange) == 0))
            topic_perm_cleanup(t);
        else
            usr->tp[kept++] = *t;
    }
    usr->ntp = kept;
    u->gen++;
    return kept == before ? WR_ERR_NOT_FOUND : WR_OK;
}

void
wr_users_forget_vhost(struct wr_users *u, const char *vhost)
{
    size_t it = 0;
    void *v;

    while (wr_hmap_next(&u->by_name, &it, NULL, NULL, &v)) {
        wr_user_clear_perm(u, v, vhost);
        wr_user_clear_topic_perm(u, v, vhost, NULL);
    }
    u->gen++;
}

bool
wr_perm_check(const struct wr_user *usr, const char *vhost,
              enum wr_perm_kind kind, const void *name, size_t len)
{
    const struct wr_perm *p = wr_user_perm(usr, vhost);

    if (p == NULL)
        return false;
    if (len == 0) { /* RabbitMQ checks the default exchange by this name */
        name = "amq.default";
        len = 11;
    }
    return match(&p->re[kind], p->pat[kind], name, len);
}

bool
wr_topic_check(const struct wr_user *usr, const char *vhost,
               const char *exchange, enum wr_perm_kind kind, const void *rkey,
               size_t len)
{
    const struct wr_topic_perm *t = find_tp(usr, vhost, exchange);
    int i = kind == WR_PERM_WRITE ? 0 : 1;

    if (t == NULL)
        return true;
    return match(&t->re[i], t->pat[i], rkey, len);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **
wr_users_sorted(const struct wr_users *u, size_t *n)
{
    const char **names = wr_malloc((u->by_name.count + 1) * sizeof(*names));
    size_t it = 0, k = 0;
    void *v;

    while (wr_hmap_next(&u->by_name, &it, NULL, NULL, &v))
        names[k++] = ((struct wr_user *)v)->name;
    qsort(names, k, sizeof(*names), cmp_str);
    *n = k;
    return names;
}
