/* SPDX-License-Identifier: MIT */
/* warrenctl's command arguments: name=value pairs, checked and turned
 * into the JSON the management API takes, and names in API paths. */
#include "warrenctl.h"

#include <stdlib.h>
#include <string.h>

/* ---- name=value arguments -------------------------------------------------
 */

/* Splits argv into name=value pairs; allowed is a NULL-terminated list. */
int
wc_kv_parse(const char *cmd, int argc, char **argv, struct wc_kv *kv,
            const char *const *allowed)
{
    kv->n = 0;
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        size_t j;
        if (eq == NULL || eq == argv[i])
            return wc_usage(cmd, "expected NAME=VALUE, got '%s'", argv[i]);
        *eq = '\0';
        for (j = 0; allowed[j] && strcmp(allowed[j], argv[i]) != 0; j++)
            ;
        if (allowed[j] == NULL)
            return wc_usage(cmd, "unknown argument '%s'", argv[i]);
        for (j = 0; j < kv->n; j++)
            if (strcmp(kv->key[j], argv[i]) == 0)
                return wc_usage(cmd, "'%s' given twice", argv[i]);
        if (kv->n == WC_MAX_KV)
            return wc_usage(cmd, "too many arguments");
        kv->key[kv->n] = argv[i];
        kv->val[kv->n++] = eq + 1;
    }
    return WC_EXIT_OK;
}

const char *
wc_kv_get(const struct wc_kv *kv, const char *key)
{
    for (size_t i = 0; i < kv->n; i++)
        if (strcmp(kv->key[i], key) == 0)
            return kv->val[i];
    return NULL;
}

int
wc_kv_need(const char *cmd, const struct wc_kv *kv, const char *key,
           const char **out)
{
    *out = wc_kv_get(kv, key);
    if (*out == NULL)
        return wc_usage(cmd, "missing %s=...", key);
    return WC_EXIT_OK;
}

/* Adds key as a JSON boolean when given. */
int
wc_kv_bool(const char *cmd, const struct wc_kv *kv, const char *key,
           json_t *body)
{
    const char *v = wc_kv_get(kv, key);

    if (v == NULL)
        return WC_EXIT_OK;
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
        json_object_set_new(body, key, json_true());
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
        json_object_set_new(body, key, json_false());
    else
        return wc_usage(cmd, "%s: expected true or false, got '%s'", key, v);
    return WC_EXIT_OK;
}

/* Adds key as parsed JSON (an object) when given. */
int
wc_kv_json(const char *cmd, const struct wc_kv *kv, const char *key,
           json_t *body)
{
    const char *v = wc_kv_get(kv, key);
    json_error_t err;
    json_t *j;

    if (v == NULL)
        return WC_EXIT_OK;
    j = json_loads(v, 0, &err);
    if (!json_is_object(j)) {
        json_decref(j);
        return wc_usage(
            cmd, "%s: expected a JSON object, as in %s='{\"k\": 1}'", key, key);
    }
    json_object_set_new(body, key, j);
    return WC_EXIT_OK;
}

int
wc_kv_int(const char *cmd, const struct wc_kv *kv, const char *key, long lo,
          json_t *body)
{
    const char *v = wc_kv_get(kv, key);
    char *end;
    long n;

    if (v == NULL)
        return WC_EXIT_OK;
    n = strtol(v, &end, 10);
    if (*v == '\0' || *end || n < lo)
        return wc_usage(cmd, "%s: expected an integer of at least %ld", key,
                        lo);
    json_object_set_new(body, key, json_integer(n));
    return WC_EXIT_OK;
}

/* ---- shared helpers ---------------------------------------------------------
 */

/* "amq.default" names the default exchange in paths. */
const char *
wc_xpath(const char *name)
{
    return *name ? name : "amq.default";
}
