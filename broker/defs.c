/* SPDX-License-Identifier: MIT */
/* Loads and writes the definitions file (RabbitMQ's definitions JSON:
 * users with rabbit_password_hashing_sha256 hashes, vhosts, permissions,
 * topic_permissions, vhost-limits parameters). */
#include "defs.h"
#include "broker.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFS_MAX_SIZE (64u << 20)

/* The vhosts a file names, collected before they are created. */
struct vh_decl {
    const char *name;
    const char *description;
    int64_t max_connections;
};

static int
bad(char *err, size_t errlen, const char *path, const char *section, size_t i,
    const char *what)
{
    snprintf(err, errlen, "%s: %s[%zu]: %s", path, section, i, what);
    return -1;
}

static const struct wr_json *
section(const struct wr_json *root, const char *name)
{
    const struct wr_json *a = wr_json_get(root, name);

    return a && a->type == WR_JSON_ARR ? a : NULL;
}

/* tags: ["a", "b"] (RabbitMQ 3.9+) or "a,b" (older exports) */
static int
tags_of(const struct wr_json *t, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    if (t == NULL)
        return 0;
    if (t->type == WR_JSON_STR) {
        snprintf(out, cap, "%s", t->str);
        return 0;
    }
    if (t->type != WR_JSON_ARR)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t l;
        if (t->items[i]->type != WR_JSON_STR)
            return -1;
        l = strlen(t->items[i]->str);
        if (n + l + 2 > cap)
            return -1;
        if (n)
            out[n++] = ',';
        memcpy(out + n, t->items[i]->str, l + 1);
        n += l;
    }
    return 0;
}

/* Applies a parsed file to users (and to s's vhosts when s is not NULL). */
static int
apply(const struct wr_json *root, const char *path, struct wr_users *users,
      struct wr_server *s, char *err, size_t errlen)
{
    const struct wr_json *a;
    struct vh_decl *vhs = NULL;
    size_t nvh = 0;
    char msg[256], tags[512];
    int rc = -1;

    if (root->type != WR_JSON_OBJ) {
        snprintf(err, errlen, "%s: expected a JSON object", path);
        return -1;
    }
    a = section(root, "vhosts");
    if (a) {
        vhs = wr_calloc(a->n + 1, sizeof(*vhs));
        for (size_t i = 0; i < a->n; i++) {
            const char *name = wr_json_get_str(a->items[i], "name");
            if (name == NULL || name[0] == '\0' || strlen(name) > 255) {
                bad(err, errlen, path, "vhosts", i, "missing or bad name");
                goto out;
            }
            for (size_t j = 0; j < nvh; j++)
                if (strcmp(vhs[j].name, name) == 0) {
                    bad(err, errlen, path, "vhosts", i, "duplicate name");
                    goto out;
                }
            vhs[nvh].name = name;
            vhs[nvh].description = wr_json_get_str(a->items[i], "description");
            vhs[nvh].max_connections = -1;
            nvh++;
        }
    }
    a = section(root, "parameters");
    for (size_t i = 0; a && i < a->n; i++) {
        const char *comp = wr_json_get_str(a->items[i], "component");
        const char *vh = wr_json_get_str(a->items[i], "vhost");
        const struct wr_json *mc =
            wr_json_get(wr_json_get(a->items[i], "value"), "max-connections");
        if (comp == NULL || strcmp(comp, "vhost-limits") != 0)
            continue;
        if (vh == NULL || mc == NULL || mc->type != WR_JSON_NUM ||
            mc->num < -1 || mc->num > 1e9) {
            bad(err, errlen, path, "parameters", i,
                "vhost-limits needs a vhost and a max-connections number");
            goto out;
        }
        for (size_t j = 0; j < nvh; j++)
            if (strcmp(vhs[j].name, vh) == 0)
                vhs[j].max_connections = (int64_t)mc->num;
    }
    a = section(root, "users");
    for (size_t i = 0; a && i < a->n; i++) {
        const struct wr_json *u = a->items[i];
        const char *name = wr_json_get_str(u, "name");
        const char *hash = wr_json_get_str(u, "password_hash");
        const char *alg = wr_json_get_str(u, "hashing_algorithm");
        const char *pw = wr_json_get_str(u, "password");
        enum wr_hash_alg h = WR_HASH_SHA256;
        struct wr_user *usr;
        if (name == NULL || name[0] == '\0' || strlen(name) > 255) {
            bad(err, errlen, path, "users", i, "missing or bad name");
            goto out;
        }
        if (alg && strcmp(alg, "rabbit_password_hashing_sha512") == 0)
            h = WR_HASH_SHA512;
        else if (alg && strcmp(alg, "rabbit_password_hashing_sha256") != 0) {
            bad(err, errlen, path, "users", i,
                "hashing_algorithm must be rabbit_password_hashing_sha256 or "
                "rabbit_password_hashing_sha512");
            goto out;
        }
        if (tags_of(wr_json_get(u, "tags"), tags, sizeof(tags))) {
            bad(err, errlen, path, "users", i, "bad tags");
            goto out;
        }
        if (wr_users_add(users, name, pw, tags, &usr) != WR_OK) {
            bad(err, errlen, path, "users", i, "duplicate name");
            goto out;
        }
        if (pw == NULL && wr_user_set_hash(usr, h, hash ? hash : "") != WR_OK) {
            bad(err, errlen, path, "users", i,
                "password_hash is not base64 of a 4-byte salt and a digest");
            goto out;
        }
    }
    a = section(root, "permissions");
    for (size_t i = 0; a && i < a->n; i++) {
        const struct wr_json *p = a->items[i];
        const char *un = wr_json_get_str(p, "user");
        const char *vh = wr_json_get_str(p, "vhost");
        const char *c = wr_json_get_str(p, "configure");
        const char *w = wr_json_get_str(p, "write");
        const char *r = wr_json_get_str(p, "read");
        struct wr_user *usr = un ? wr_users_get(users, un) : NULL;
        if (!un || !vh || !c || !w || !r) {
            bad(err, errlen, path, "permissions", i,
                "needs user, vhost, configure, write and read");
            goto out;
        }
        if (usr == NULL) {
            bad(err, errlen, path, "permissions", i, "no such user");
            goto out;
        }
        if (wr_user_set_perm(users, usr, vh, c, w, r, msg, sizeof(msg))) {
            bad(err, errlen, path, "permissions", i, msg);
            goto out;
        }
    }
    a = section(root, "topic_permissions");
    for (size_t i = 0; a && i < a->n; i++) {
        const struct wr_json *p = a->items[i];
        const char *un = wr_json_get_str(p, "user");
        const char *vh = wr_json_get_str(p, "vhost");
        const char *x = wr_json_get_str(p, "exchange");
        const char *w = wr_json_get_str(p, "write");
        const char *r = wr_json_get_str(p, "read");
        struct wr_user *usr = un ? wr_users_get(users, un) : NULL;
        if (!un || !vh || !x || !w || !r) {
            bad(err, errlen, path, "topic_permissions", i,
                "needs user, vhost, exchange, write and read");
            goto out;
        }
        if (usr == NULL) {
            bad(err, errlen, path, "topic_permissions", i, "no such user");
            goto out;
        }
        if (wr_user_set_topic_perm(users, usr, vh, x, w, r, msg, sizeof(msg))) {
            bad(err, errlen, path, "topic_permissions", i, msg);
            goto out;
        }
    }
    if (s) {
        for (size_t i = 0; i < nvh; i++) {
            struct wr_vhost *vh =
                wr_hmap_get(&s->vhosts, vhs[i].name, strlen(vhs[i].name));
            if (vh == NULL) {
                vh = wr_vhost_new(s, vhs[i].name);
                wr_hmap_put(&s->vhosts, vh->name, strlen(vh->name), vh, NULL);
            }
            if (vhs[i].description) {
                wr_free(vh->description);
                vh->description = wr_strdup(vhs[i].description);
            }
            vh->max_connections = vhs[i].max_connections;
        }
    }
    rc = 0;
out:
    wr_free(vhs);
    return rc;
}

static int
read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *p;

    if (f == NULL) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    p = wr_malloc(cap);
    for (;;) {
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        if (cap >= DEFS_MAX_SIZE) {
            snprintf(err, errlen, "%s: larger than %u bytes", path,
                     DEFS_MAX_SIZE);
            wr_free(p);
            fclose(f);
            return -1;
        }
        cap *= 2;
        p = wr_realloc(p, cap);
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        wr_free(p);
        fclose(f);
        return -1;
    }
    fclose(f);
    *buf = p;
    *len = n;
    return 0;
}

static int
load(struct wr_server *s, struct wr_users *users, const char *path, char *err,
     size_t errlen)
{
    char *buf = NULL, jerr[200];
    size_t len = 0;
    struct wr_json *root = NULL;
    int rc = read_file(path, &buf, &len, err, errlen);

    if (rc != 0)
        return rc;
    if (wr_json_parse(buf, len, &root, jerr, sizeof(jerr))) {
        /* "line N: ..." -> "PATH:N: ..." */
        int line = 0;
        const char *what = strchr(jerr, ':');
        sscanf(jerr, "line %d", &line);
        snprintf(err, errlen, "%s:%d:%s", path, line, what ? what + 1 : "");
        wr_free(buf);
        return -1;
    }
    wr_free(buf);
    rc = apply(root, path, users, s, err, errlen);
    wr_json_free(root);
    return rc;
}

int
wr_defs_load(struct wr_server *s, const char *path, char *err, size_t errlen)
{
    return load(s, &s->users, path, err, errlen);
}

int
wr_defs_check(const char *path, char *err, size_t errlen)
{
    struct wr_users users;
    int rc;

    wr_users_init(&users);
    rc = load(NULL, &users, path, err, errlen);
    wr_users_cleanup(&users);
    return rc;
}

void
wr_defs_bootstrap(struct wr_server *s)
{
    const struct wr_config *cfg = &s->cfg;
    struct wr_user *u = NULL;
    char msg[128];

    if (wr_hmap_get(&s->vhosts, cfg->default_vhost,
                    strlen(cfg->default_vhost)) == NULL) {
        struct wr_vhost *vh = wr_vhost_new(s, cfg->default_vhost);
        wr_hmap_put(&s->vhosts, vh->name, strlen(vh->name), vh, NULL);
    }
    if (wr_users_add(&s->users, cfg->default_user, cfg->default_pass,
                     "administrator", &u) == WR_OK)
        wr_user_set_perm(&s->users, u, cfg->default_vhost, ".*", ".*", ".*",
                         msg, sizeof(msg));
}

static int
cmp_vh(const void *a, const void *b)
{
    return strcmp((*(struct wr_vhost *const *)a)->name,
                  (*(struct wr_vhost *const *)b)->name);
}

static void
write_defs(struct wr_server *s, struct wr_sbuf *b)
{
    size_t nu, nv = 0, it = 0;
    const char **names = wr_users_sorted(&s->users, &nu);
    struct wr_vhost **vhs = wr_malloc((s->vhosts.count + 1) * sizeof(*vhs));
    bool first = true;
    void *v;

    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v))
        vhs[nv++] = v;
    qsort(vhs, nv, sizeof(*vhs), cmp_vh);
    wr_sbuf_printf(b,
                   "{\n  \"product_name\": \"%s\",\n"
                   "  \"product_version\": \"%s\",\n  \"users\": [",
                   WR_PRODUCT, WR_VERSION);
    for (size_t i = 0; i < nu; i++) {
        const struct wr_user *u = wr_users_get(&s->users, names[i]);
        char hash[128];
        wr_user_hash_b64(u, hash, sizeof(hash));
        wr_sbuf_printf(b, "%s\n    {\"name\": ", i ? "," : "");
        wr_sbuf_json_str(b, u->name);
        wr_sbuf_add(b, ", \"password_hash\": ", 19);
        wr_sbuf_json_str(b, hash);
        wr_sbuf_printf(b, ", \"hashing_algorithm\": \"%s\", \"tags\": [",
                       u->alg == WR_HASH_SHA512
                           ? "rabbit_password_hashing_sha512"
                           : "rabbit_password_hashing_sha256");
        for (const char *p = u->tags; *p;) {
            const char *e = strchr(p, ',');
            char *tag = wr_strndup(p, e ? (size_t)(e - p) : strlen(p));
            wr_sbuf_add(b, p == u->tags ? "" : ", ", p == u->tags ? 0 : 2);
            wr_sbuf_json_str(b, tag);
            wr_free(tag);
            if (e == NULL)
                break;
            p = e + 1;
        }
        wr_sbuf_add(b, "], \"limits\": {}}", 16);
    }
    wr_sbuf_add(b, "\n  ],\n  \"vhosts\": [", 19);
    for (size_t i = 0; i < nv; i++) {
        wr_sbuf_printf(b, "%s\n    {\"name\": ", i ? "," : "");
        wr_sbuf_json_str(b, vhs[i]->name);
        wr_sbuf_add(b, ", \"description\": ", 17);
        wr_sbuf_json_str(b, vhs[i]->description ? vhs[i]->description : "");
        wr_sbuf_add(b, "}", 1);
    }
    wr_sbuf_add(b, "\n  ],\n  \"permissions\": [", 24);
    for (size_t i = 0; i < nu; i++) {
        const struct wr_user *u = wr_users_get(&s->users, names[i]);
        for (size_t j = 0; j < nv; j++) {
            const struct wr_perm *p = wr_user_perm(u, vhs[j]->name);
            if (p == NULL)
                continue;
            wr_sbuf_printf(b, "%s\n    {\"user\": ", first ? "" : ",");
            first = false;
            wr_sbuf_json_str(b, u->name);
            wr_sbuf_add(b, ", \"vhost\": ", 11);
            wr_sbuf_json_str(b, p->vhost);
            wr_sbuf_add(b, ", \"configure\": ", 15);
            wr_sbuf_json_str(b, p->pat[WR_PERM_CONFIGURE]);
            wr_sbuf_add(b, ", \"write\": ", 11);
            wr_sbuf_json_str(b, p->pat[WR_PERM_WRITE]);
            wr_sbuf_add(b, ", \"read\": ", 10);
            wr_sbuf_json_str(b, p->pat[WR_PERM_READ]);
            wr_sbuf_add(b, "}", 1);
        }
    }
    wr_sbuf_add(b, "\n  ],\n  \"topic_permissions\": [", 30);
    first = true;
    for (size_t i = 0; i < nu; i++) {
        const struct wr_user *u = wr_users_get(&s->users, names[i]);
        for (size_t j = 0; j < u->ntp; j++) {
            const struct wr_topic_perm *t = &u->tp[j];
            wr_sbuf_printf(b, "%s\n    {\"user\": ", first ? "" : ",");
            first = false;
            wr_sbuf_json_str(b, u->name);
            wr_sbuf_add(b, ", \"vhost\": ", 11);
            wr_sbuf_json_str(b, t->vhost);
            wr_sbuf_add(b, ", \"exchange\": ", 14);
            wr_sbuf_json_str(b, t->exchange);
            wr_sbuf_add(b, ", \"write\": ", 11);
            wr_sbuf_json_str(b, t->pat[0]);
            wr_sbuf_add(b, ", \"read\": ", 10);
            wr_sbuf_json_str(b, t->pat[1]);
            wr_sbuf_add(b, "}", 1);
        }
    }
    wr_sbuf_add(b, "\n  ],\n  \"parameters\": [", 23);
    first = true;
    for (size_t i = 0; i < nv; i++) {
        if (vhs[i]->max_connections < 0)
            continue;
        wr_sbuf_printf(b, "%s\n    {\"vhost\": ", first ? "" : ",");
        first = false;
        wr_sbuf_json_str(b, vhs[i]->name);
        wr_sbuf_printf(b,
                       ", \"component\": \"vhost-limits\", \"name\": "
                       "\"limits\", \"value\": {\"max-connections\": %lld}}",
                       (long long)vhs[i]->max_connections);
    }
    wr_sbuf_add(b, "\n  ]\n}\n", 7);
    wr_free(names);
    wr_free(vhs);
}

int
wr_defs_save(struct wr_server *s, const char *path, char *err, size_t errlen)
{
    struct wr_sbuf b;
    char tmp[WR_PATH_MAX + 16];
    int fd, rc = -1;

    wr_sbuf_init(&b);
    write_defs(s, &b);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    for (size_t off = 0; off < b.len;) {
        ssize_t n = write(fd, b.p + off, b.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    wr_sbuf_cleanup(&b);
    return rc;
}
