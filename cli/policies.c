/* SPDX-License-Identifier: MIT */
/* warrenctl's policy commands, named and ordered as rabbitmqctl's:
 * set_policy, clear_policy, list_policies and their operator-policy
 * twins, through /api/policies and /api/operator-policies. */
#include "warrenctl.h"

#include <stdlib.h>
#include <string.h>

/* "policies" or "operator-policies", and how a command names it. */
static const char *
kind_path(bool op)
{
    return op ? "operator-policies" : "policies";
}

static const char *
kind_word(bool op)
{
    return op ? "operator policy" : "policy";
}

static int
set_policy(const struct wc_settings *s, int argc, char **argv, bool op)
{
    const char *cmd = op ? "set_operator_policy" : "set_policy";
    char v[800], n[800], path[1800], what[1200];
    json_t *defn, *body;
    json_error_t jerr;
    struct wc_reply rep;
    long long prio = 0;
    int rc;

    if (argc != 3)
        return wc_usage(cmd,
                        "expected: %s [-p VHOST] [--priority N] [--apply-to "
                        "queues|exchanges|all] NAME PATTERN DEFINITION",
                        cmd);
    if (s->priority) {
        char *end;
        prio = strtoll(s->priority, &end, 10);
        if (*s->priority == '\0' || *end)
            return wc_usage(cmd, "--priority: expected an integer");
    }
    defn = json_loads(argv[2], JSON_DECODE_ANY, &jerr);
    if (defn == NULL)
        return wc_usage(cmd, "DEFINITION is not JSON: %s", jerr.text);
    if (!json_is_object(defn)) {
        json_decref(defn);
        return wc_usage(cmd, "DEFINITION must be a JSON object such as "
                             "'{\"max-length\": 1000}'");
    }
    body = json_pack("{s:s, s:o, s:I}", "pattern", argv[1], "definition", defn,
                     "priority", (json_int_t)prio);
    if (s->apply_to)
        json_object_set_new(body, "apply-to", json_string(s->apply_to));
    snprintf(path, sizeof(path), "%s/%s/%s", kind_path(op),
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(argv[0], n, sizeof(n)));
    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    rc = wc_call(s, "PUT", path, body, what, &rep);
    json_decref(body);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "%s '%s' in vhost '%s' set", kind_word(op), argv[0], s->vhost);
    return WC_EXIT_OK;
}

static int
clear_policy(const struct wc_settings *s, int argc, char **argv, bool op)
{
    const char *cmd = op ? "clear_operator_policy" : "clear_policy";
    char v[800], n[800], path[1800], what[1200];
    struct wc_reply rep;
    int rc;

    if (argc != 1)
        return wc_usage(cmd, "expected: %s [-p VHOST] NAME", cmd);
    snprintf(path, sizeof(path), "%s/%s/%s", kind_path(op),
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(argv[0], n, sizeof(n)));
    snprintf(what, sizeof(what), "%s '%s' in vhost '%s'", kind_word(op),
             argv[0], s->vhost);
    rc = wc_call(s, "DELETE", path, NULL, what, &rep);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "%s '%s' in vhost '%s' cleared", kind_word(op), argv[0],
           s->vhost);
    return WC_EXIT_OK;
}

static int
list_policies(const struct wc_settings *s, int argc, bool op)
{
    static const struct wc_column cols[] = {
        {"vhost", "vhost"},           {"name", "name"},
        {"pattern", "pattern"},       {"apply-to", "apply-to"},
        {"definition", "definition"}, {"priority", "priority"}};
    const char *cmd = op ? "list_operator_policies" : "list_policies";
    char v[800], path[900], what[400];

    if (argc != 0)
        return wc_usage(cmd, "expected: %s [-p VHOST]", cmd);
    snprintf(path, sizeof(path), "%s/%s", kind_path(op),
             wc_seg(s->vhost, v, sizeof(v)));
    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    return wc_list(s, path, what, cols, sizeof(cols) / sizeof(cols[0]));
}

int
wc_cmd_set_policy(const struct wc_settings *s, int argc, char **argv)
{
    return set_policy(s, argc, argv, false);
}

int
wc_cmd_clear_policy(const struct wc_settings *s, int argc, char **argv)
{
    return clear_policy(s, argc, argv, false);
}

int
wc_cmd_list_policies(const struct wc_settings *s, int argc, char **argv)
{
    (void)argv;
    return list_policies(s, argc, false);
}

int
wc_cmd_set_operator_policy(const struct wc_settings *s, int argc, char **argv)
{
    return set_policy(s, argc, argv, true);
}

int
wc_cmd_clear_operator_policy(const struct wc_settings *s, int argc, char **argv)
{
    return clear_policy(s, argc, argv, true);
}

int
wc_cmd_list_operator_policies(const struct wc_settings *s, int argc,
                              char **argv)
{
    (void)argv;
    return list_policies(s, argc, true);
}
