/* SPDX-License-Identifier: MIT */
/* Loads and writes the definitions file (RabbitMQ's definitions JSON:
 * users with rabbit_password_hashing_sha256 hashes, vhosts, permissions,
 * topic_permissions, vhost-limits parameters). */
#include "vhost_internal.h"
#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFS_MAX_SIZE (64u << 20)

/* The vhosts a file names, collected before they are created, and the
 * vhost-limits parameters it has (for those vhosts or existing ones). */
struct vh_decl {
    const char *name;
    const char *description;
    bool declared;   /* in "vhosts" (else only named by a parameter) */
    bool has_limits; /* a vhost-limits parameter replaces its limits */
    int64_t limits[WR_VHOST_NLIMITS];
};

/* The entry of vhs for name, or a new one (capacity permitting). */
static struct vh_decl *
vh_find(struct vh_decl *vhs, size_t *nvh, const char *name)
{
    for (size_t j = 0; j < *nvh; j++)
        if (strcmp(vhs[j].name, name) == 0)
            return &vhs[j];
    vhs[*nvh].name = name;
    for (int k = 0; k < WR_VHOST_NLIMITS; k++)
        vhs[*nvh].limits[k] = WR_LIMIT_UNSET;
    return &vhs[(*nvh)++];
}

static int
bad(char *err, size_t errlen, const char *path, const char *section, size_t i,
    const char *what)
{
    snprintf(err, errlen, "%s: %s[%zu]: %s", path, section, i, what);
    return WR_ERR_INVALID;
}

static json_t *
section(const json_t *root, const char *name)
{
    json_t *a = json_object_get(root, name);

    return json_is_array(a) ? a : NULL;
}

/* The string member key of object o, or NULL when absent or not a string. */
static const char *
get_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* tags: ["a", "b"] (RabbitMQ 3.9+) or "a,b" (older exports) */
int
wr_defs_tags(const json_t *t, char *out, size_t cap)
{
    size_t n = 0, i;
    json_t *tag;

    out[0] = '\0';
    if (t == NULL)
        return 0;
    if (json_is_string(t)) {
        snprintf(out, cap, "%s", json_string_value(t));
        return 0;
    }
    if (!json_is_array(t))
        return WR_ERR_INVALID;
    json_array_foreach(t, i, tag)
    {
        const char *str = json_string_value(tag);
        size_t l;
        if (str == NULL)
            return WR_ERR_INVALID;
        l = strlen(str);
        if (n + l + 2 > cap)
            return WR_ERR_INVALID;
        if (n)
            out[n++] = ',';
        memcpy(out + n, str, l + 1);
        n += l;
    }
    return 0;
}

/* Applies a parsed file to users (and to s's vhosts when s is not NULL).
 * With merge, a user already in users is updated (hash, tags) instead of
 * being a duplicate, and permissions may name users of known (checked
 * into users as password-less stand-ins). */
static int
apply(const json_t *root, const char *path, struct wr_users *users,
      struct wr_server *s, bool merge, const struct wr_users *known, char *err,
      size_t errlen)
{
    json_t *a, *item;
    struct vh_decl *vhs = NULL, *d;
    size_t nvh = 0, i;
    char msg[256], tags[512];
    int rc = WR_ERR_INVALID;

    if (!json_is_object(root)) {
        snprintf(err, errlen, "%s: expected a JSON object", path);
        return WR_ERR_INVALID;
    }
    a = section(root, "vhosts");
    vhs = wr_calloc(json_array_size(a) +
                        json_array_size(section(root, "parameters")) + 1,
                    sizeof(*vhs));
    if (a) {
        json_array_foreach(a, i, item)
        {
            const char *name = get_str(item, "name");
            if (name == NULL || name[0] == '\0' || strlen(name) > 255) {
                bad(err, errlen, path, "vhosts", i, "missing or bad name");
                goto out;
            }
            for (size_t j = 0; j < nvh; j++)
                if (strcmp(vhs[j].name, name) == 0) {
                    bad(err, errlen, path, "vhosts", i, "duplicate name");
                    goto out;
                }
            d = vh_find(vhs, &nvh, name);
            d->description = get_str(item, "description");
            d->declared = true;
        }
    }
    /* RabbitMQ keeps vhost limits as the runtime parameter "limits" of
     * component "vhost-limits": {"max-connections": N, "max-queues": N}. */
    a = section(root, "parameters");
    json_array_foreach(a, i, item)
    {
        const char *comp = get_str(item, "component");
        const char *vh = get_str(item, "vhost");
        json_t *val = json_object_get(item, "value");
        const char *key;
        json_t *v;
        if (comp == NULL || strcmp(comp, "vhost-limits") != 0)
            continue;
        if (vh == NULL || !json_is_object(val)) {
            bad(err, errlen, path, "parameters", i,
                "vhost-limits needs a vhost and a value object");
            goto out;
        }
        d = vh_find(vhs, &nvh, vh);
        d->has_limits = true;
        json_object_foreach(val, key, v)
        {
            int which;
            int64_t n;
            if (wr_defs_vhost_limit(key, v, &which, &n, msg, sizeof(msg))) {
                /* one line: "Validation failed: max-queues should be ..." */
                char *p = strstr(msg, "\n\n");
                if (p)
                    p[0] = ':', p[1] = ' ';
                msg[strcspn(msg, "\n")] = '\0';
                bad(err, errlen, path, "parameters", i, msg);
                goto out;
            }
            d->limits[which] = n;
        }
    }
    a = section(root, "users");
    json_array_foreach(a, i, item)
    {
        const char *name = get_str(item, "name");
        const char *hash = get_str(item, "password_hash");
        const char *alg = get_str(item, "hashing_algorithm");
        const char *pw = get_str(item, "password");
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
        if (wr_defs_tags(json_object_get(item, "tags"), tags, sizeof(tags))) {
            bad(err, errlen, path, "users", i, "bad tags");
            goto out;
        }
        if (merge && (usr = wr_users_get(users, name)) != NULL) {
            wr_user_set_tags(usr, tags);
            if (pw)
                wr_user_set_password(usr, pw);
        } else if (wr_users_add(users, name, pw, tags, &usr) != WR_OK) {
            bad(err, errlen, path, "users", i, "duplicate name");
            goto out;
        }
        if (pw == NULL && wr_user_set_hash(usr, h, hash ? hash : "") != WR_OK) {
            bad(err, errlen, path, "users", i,
                "password_hash is not base64 of a 4-byte salt and a digest");
            goto out;
        }
        if (wr_defs_user_limits(usr, json_object_get(item, "limits"), msg,
                                sizeof(msg))) {
            bad(err, errlen, path, "users", i, msg);
            goto out;
        }
    }
    a = section(root, "permissions");
    json_array_foreach(a, i, item)
    {
        const char *un = get_str(item, "user");
        const char *vh = get_str(item, "vhost");
        const char *c = get_str(item, "configure");
        const char *w = get_str(item, "write");
        const char *r = get_str(item, "read");
        struct wr_user *usr = un ? wr_users_get(users, un) : NULL;
        if (usr == NULL && un && known && wr_users_get(known, un))
            wr_users_add(users, un, NULL, "", &usr);
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
    json_array_foreach(a, i, item)
    {
        const char *un = get_str(item, "user");
        const char *vh = get_str(item, "vhost");
        const char *x = get_str(item, "exchange");
        const char *w = get_str(item, "write");
        const char *r = get_str(item, "read");
        struct wr_user *usr = un ? wr_users_get(users, un) : NULL;
        if (usr == NULL && un && known && wr_users_get(known, un))
            wr_users_add(users, un, NULL, "", &usr);
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
        for (i = 0; i < nvh; i++) {
            struct wr_vhost *vh =
                wr_hmap_get(&s->vhosts, vhs[i].name, strlen(vhs[i].name));
            if (vh == NULL && !vhs[i].declared)
                continue; /* limits of a vhost that does not exist */
            if (vh == NULL) {
                vh = wr_vhost_new(s, vhs[i].name);
                wr_hmap_put(&s->vhosts, vh->name, strlen(vh->name), vh, NULL);
            }
            if (vhs[i].description) {
                wr_free(vh->description);
                vh->description = wr_strdup(vhs[i].description);
            }
            if (vhs[i].has_limits)
                for (int k = 0; k < WR_VHOST_NLIMITS; k++)
                    *wr_vhost_limit(vh, k) = vhs[i].limits[k];
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
        return WR_ERR_IO;
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
            return WR_ERR_INVALID;
        }
        cap *= 2;
        p = wr_realloc(p, cap);
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        wr_free(p);
        fclose(f);
        return WR_ERR_IO;
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
    char *buf = NULL;
    size_t len = 0;
    json_t *root;
    json_error_t jerr;
    int rc = read_file(path, &buf, &len, err, errlen);

    if (rc != 0)
        return rc;
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    wr_free(buf);
    if (root == NULL) {
        snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
        return WR_ERR_INVALID;
    }
    rc = apply(root, path, users, s, false, NULL, err, errlen);
    if (rc == 0)
        rc = wr_defs_policies(s, NULL, root, s != NULL, err, errlen);
    if (rc == 0)
        rc = wr_defs_shovels(s, root, s != NULL, err, errlen);
    json_decref(root);
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

static json_t *
perm_obj(const char *user, const char *vhost)
{
    return json_pack("{s:s, s:s}", "user", user, "vhost", vhost);
}

json_t *
wr_defs_user_json(const struct wr_user *u)
{
    json_t *tags = json_array();
    char hash[128];

    wr_user_hash_b64(u, hash, sizeof(hash));
    for (const char *p = u->tags; *p;) {
        const char *e = strchr(p, ',');
        json_array_append_new(tags,
                              json_stringn(p, e ? (size_t)(e - p) : strlen(p)));
        if (e == NULL)
            break;
        p = e + 1;
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", u->name,
                     "password_hash", hash, "hashing_algorithm",
                     u->alg == WR_HASH_SHA512
                         ? "rabbit_password_hashing_sha512"
                         : "rabbit_password_hashing_sha256",
                     "tags", tags, "limits", wr_defs_user_limits_json(u));
}

json_t *
wr_defs_perm_json(const struct wr_user *u, const struct wr_perm *p)
{
    json_t *o = perm_obj(u->name, p->vhost);

    json_object_set_new(o, "configure", json_string(p->pat[WR_PERM_CONFIGURE]));
    json_object_set_new(o, "write", json_string(p->pat[WR_PERM_WRITE]));
    json_object_set_new(o, "read", json_string(p->pat[WR_PERM_READ]));
    return o;
}

json_t *
wr_defs_topic_perm_json(const struct wr_user *u, const struct wr_topic_perm *t)
{
    json_t *o = perm_obj(u->name, t->vhost);

    json_object_set_new(o, "exchange", json_string(t->exchange));
    json_object_set_new(o, "write", json_string(t->pat[0]));
    json_object_set_new(o, "read", json_string(t->pat[1]));
    return o;
}

void
wr_defs_export(struct wr_server *s, json_t *root)
{
    size_t nu, nv = 0, it = 0;
    const char **names = wr_users_sorted(&s->users, &nu);
    struct wr_vhost **vhs = wr_malloc((s->vhosts.count + 1) * sizeof(*vhs));
    json_t *users = json_array(), *vhosts = json_array();
    json_t *perms = json_array(), *tperms = json_array();
    json_t *params = json_array(), *policies = json_array();
    void *v;

    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v))
        vhs[nv++] = v;
    qsort(vhs, nv, sizeof(*vhs), cmp_vh);
    for (size_t i = 0; i < nu; i++) {
        const struct wr_user *u = wr_users_get(&s->users, names[i]);
        json_array_append_new(users, wr_defs_user_json(u));
        for (size_t j = 0; j < nv; j++) {
            const struct wr_perm *p = wr_user_perm(u, vhs[j]->name);
            if (p)
                json_array_append_new(perms, wr_defs_perm_json(u, p));
        }
        for (size_t j = 0; j < u->ntp; j++)
            json_array_append_new(tperms,
                                  wr_defs_topic_perm_json(u, &u->tp[j]));
    }
    for (size_t i = 0; i < nv; i++) {
        json_array_append_new(
            vhosts, json_pack("{s:s, s:s}", "name", vhs[i]->name, "description",
                              vhs[i]->description ? vhs[i]->description : ""));
        json_t *lim = wr_defs_vhost_limits_json(vhs[i]);
        if (lim)
            json_array_append_new(
                params, json_pack("{s:o, s:s, s:s, s:s}", "value", lim, "vhost",
                                  vhs[i]->name, "component", "vhost-limits",
                                  "name", "limits"));
        wr_defs_export_policies(vhs[i], true, policies, params);
        wr_defs_export_shovels(vhs[i], params);
    }
    json_object_set_new(root, "users", users);
    json_object_set_new(root, "vhosts", vhosts);
    json_object_set_new(root, "permissions", perms);
    json_object_set_new(root, "topic_permissions", tperms);
    json_object_set_new(root, "parameters", params);
    json_object_set_new(root, "policies", policies);
    wr_free(names);
    wr_free(vhs);
}

/* ---- policies ------------------------------------------------------------ */

void
wr_defs_export_policies(struct wr_vhost *vh, bool with_vhost, json_t *policies,
                        json_t *params)
{
    const char *name = with_vhost ? vh->name : NULL;

    for (size_t i = 0; i < vh->policies.n; i++)
        json_array_append_new(policies,
                              wr_policy_json(name, vh->policies.v[i]));
    /* RabbitMQ keeps operator policies as runtime parameters of component
     * "operator_policy". */
    for (size_t i = 0; i < vh->op_policies.n; i++) {
        const struct wr_policy *p = vh->op_policies.v[i];
        json_t *val = wr_policy_json(NULL, p), *o = json_object();
        json_object_del(val, "name");
        json_object_set_new(o, "value", val);
        if (name)
            json_object_set_new(o, "vhost", json_string(name));
        json_object_set_new(o, "component", json_string("operator_policy"));
        json_object_set_new(o, "name", json_string(p->name));
        json_array_append_new(params, o);
    }
}

/* true when root's "vhosts" declares name. */
static bool
declares_vhost(const json_t *root, const char *name)
{
    size_t i;
    json_t *item;

    json_array_foreach(section(root, "vhosts"), i, item)
    {
        const char *n = get_str(item, "name");
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* One policy item: parsed (and set into its vhost when apply). */
static int
one_policy(struct wr_server *s, struct wr_vhost *only, const json_t *root,
           const json_t *item, const json_t *spec, const char *what, size_t i,
           bool op, bool apply, char *err, size_t errlen)
{
    const char *name = get_str(item, "name");
    const char *vname = only ? NULL : get_str(item, "vhost");
    struct wr_vhost *vh = only;
    struct wr_policy *p;
    char msg[400];

    if (name == NULL || name[0] == '\0' || strlen(name) > 255)
        return bad(err, errlen, "definitions", what, i, "missing or bad name");
    if (only == NULL && vname == NULL)
        return bad(err, errlen, "definitions", what, i, "missing vhost");
    if (vh == NULL && s)
        vh = wr_hmap_get(&s->vhosts, vname, strlen(vname));
    if (vh == NULL && (apply || !declares_vhost(root, vname))) {
        snprintf(msg, sizeof(msg), "no vhost '%.200s'", vname);
        return bad(err, errlen, "definitions", what, i, msg);
    }
    if (wr_policy_parse(name, spec, op, &p, msg, sizeof(msg)) != WR_OK)
        return bad(err, errlen, "definitions", what, i, msg);
    if (apply)
        wr_vhost_set_policy(vh, op, p);
    else
        wr_policy_free(p);
    return 0;
}

int
wr_defs_policies(struct wr_server *s, struct wr_vhost *only, const json_t *root,
                 bool apply, char *err, size_t errlen)
{
    size_t i;
    json_t *item;

    json_array_foreach(section(root, "policies"), i, item)
    {
        if (!json_is_object(item))
            return bad(err, errlen, "definitions", "policies", i,
                       "not an object");
        if (one_policy(s, only, root, item, item, "policies", i, false, apply,
                       err, errlen))
            return WR_ERR_INVALID;
    }
    json_array_foreach(section(root, "parameters"), i, item)
    {
        const char *comp = get_str(item, "component");
        json_t *val = json_object_get(item, "value");
        if (comp == NULL || strcmp(comp, "operator_policy") != 0)
            continue;
        if (!json_is_object(val))
            return bad(err, errlen, "definitions", "parameters", i,
                       "operator_policy needs a value object");
        if (one_policy(s, only, root, item, val, "parameters", i, true, apply,
                       err, errlen))
            return WR_ERR_INVALID;
    }
    return 0;
}

/* ---- shovels ------------------------------------------------------------- */

json_t *
wr_defs_shovel_json(const struct wr_vhost *vh, const struct wr_shovel *sh)
{
    return json_pack("{s:O, s:s, s:s, s:s}", "value", sh->value, "vhost",
                     vh->name, "component", "shovel", "name", sh->name);
}

void
wr_defs_export_shovels(struct wr_vhost *vh, json_t *params)
{
    struct wr_list *pos;

    for (pos = vh->shovels.next; pos != &vh->shovels; pos = pos->next)
        json_array_append_new(
            params, wr_defs_shovel_json(
                        vh, WR_CONTAINER_OF(pos, struct wr_shovel, link)));
}

/* The "parameters" of component "shovel": checked (their vhost exists or
 * is declared by the document), and set when apply. */
int
wr_defs_shovels(struct wr_server *s, const json_t *root, bool apply, char *err,
                size_t errlen)
{
    size_t i;
    json_t *item;

    json_array_foreach(section(root, "parameters"), i, item)
    {
        const char *comp = get_str(item, "component");
        const char *vname = get_str(item, "vhost");
        const char *name = get_str(item, "name");
        json_t *val = json_object_get(item, "value");
        struct wr_shovel_def d;
        struct wr_vhost *vh = NULL;
        char msg[400];
        bool created;

        if (comp == NULL || strcmp(comp, "shovel") != 0)
            continue;
        if (name == NULL || name[0] == '\0' || strlen(name) > 255 ||
            vname == NULL)
            return bad(err, errlen, "definitions", "parameters", i,
                       "a shovel needs a vhost and a name");
        if (s)
            vh = wr_hmap_get(&s->vhosts, vname, strlen(vname));
        if (vh == NULL && (apply || !declares_vhost(root, vname))) {
            snprintf(msg, sizeof(msg), "no vhost '%.200s'", vname);
            return bad(err, errlen, "definitions", "parameters", i, msg);
        }
        if (wr_shovel_parse(name, val, &d, msg, sizeof(msg)) != WR_OK)
            return bad(err, errlen, "definitions", "parameters", i, msg);
        if (apply && wr_vhost_set_shovel(vh, name, val, &created, msg,
                                         sizeof(msg)) != WR_OK)
            return bad(err, errlen, "definitions", "parameters", i, msg);
    }
    return 0;
}

/* The file's contents, in RabbitMQ's definitions format. */
static json_t *
defs_json(struct wr_server *s)
{
    json_t *root = json_pack("{s:s, s:s}", "product_name", WR_PRODUCT,
                             "product_version", WR_VERSION);

    wr_defs_export(s, root);
    return root;
}

int
wr_defs_import(struct wr_server *s, const json_t *root, char *err,
               size_t errlen)
{
    struct wr_users scratch;
    int rc;

    /* A dry run on scratch users: a bad document changes nothing. */
    wr_users_init(&scratch);
    rc = apply(root, "definitions", &scratch, NULL, true, &s->users, err,
               errlen);
    wr_users_cleanup(&scratch);
    if (rc == 0)
        rc = wr_defs_policies(s, NULL, root, false, err, errlen);
    if (rc == 0)
        rc = wr_defs_shovels(s, root, false, err, errlen);
    if (rc != 0)
        return rc;
    rc = apply(root, "definitions", &s->users, s, true, NULL, err, errlen);
    if (rc == 0)
        rc = wr_defs_policies(s, NULL, root, true, err, errlen);
    if (rc == 0)
        rc = wr_defs_shovels(s, root, true, err, errlen);
    return rc;
}

int
wr_defs_save(struct wr_server *s, const char *path, char *err, size_t errlen)
{
    json_t *root = defs_json(s);
    char tmp[WR_PATH_MAX + 16];
    int fd, rc = WR_ERR_IO;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (json_dumpfd(root, fd, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        write(fd, "\n", 1) != 1) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int
wr_server_save_definitions(struct wr_server *s)
{
    char err[600];

    if (s->cfg.definitions_file[0] == '\0')
        return WR_OK;
    if (wr_defs_save(s, s->cfg.definitions_file, err, sizeof(err)) != 0) {
        wr_log(WR_LOG_ERROR, "cannot write definitions: %s", err);
        return WR_ERR_IO;
    }
    return WR_OK;
}
