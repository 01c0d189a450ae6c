/* SPDX-License-Identifier: MIT */
/* warrenctl's runtime parameter and shovel commands, named as
 * rabbitmqctl's: set_parameter, clear_parameter, list_parameters (the
 * "shovel" component, through /api/parameters/shovel) and shovel_status
 * (/api/shovels). */
#include "warrenctl.h"

#include <string.h>

static bool
is_shovel(const char *cmd, const char *component, int *rc)
{
    if (strcmp(component, "shovel") == 0)
        return true;
    *rc = wc_usage(cmd,
                   "component '%s': warren has runtime parameters of the "
                   "component 'shovel' only (vhost limits: set_vhost_limits)",
                   component);
    return false;
}

int
wc_cmd_set_parameter(const struct wc_settings *s, int argc, char **argv)
{
    char v[800], n[800], path[1800], what[1200];
    json_t *value, *body;
    json_error_t jerr;
    struct wc_reply rep;
    int rc;

    if (argc != 3)
        return wc_usage("set_parameter",
                        "expected: set_parameter [-p VHOST] COMPONENT NAME "
                        "VALUE");
    if (!is_shovel("set_parameter", argv[0], &rc))
        return rc;
    value = json_loads(argv[2], JSON_DECODE_ANY, &jerr);
    if (value == NULL)
        return wc_usage("set_parameter", "VALUE is not JSON: %s", jerr.text);
    body = json_pack("{s:o}", "value", value);
    snprintf(path, sizeof(path), "parameters/shovel/%s/%s",
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(argv[1], n, sizeof(n)));
    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    rc = wc_call(s, "PUT", path, body, what, &rep);
    json_decref(body);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "shovel '%s' in vhost '%s' set", argv[1], s->vhost);
    return WC_EXIT_OK;
}

int
wc_cmd_clear_parameter(const struct wc_settings *s, int argc, char **argv)
{
    char v[800], n[800], path[1800], what[1200];
    struct wc_reply rep;
    int rc;

    if (argc != 2)
        return wc_usage("clear_parameter",
                        "expected: clear_parameter [-p VHOST] COMPONENT NAME");
    if (!is_shovel("clear_parameter", argv[0], &rc))
        return rc;
    snprintf(path, sizeof(path), "parameters/shovel/%s/%s",
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(argv[1], n, sizeof(n)));
    snprintf(what, sizeof(what), "shovel '%s' in vhost '%s'", argv[1],
             s->vhost);
    rc = wc_call(s, "DELETE", path, NULL, what, &rep);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "shovel '%s' in vhost '%s' cleared", argv[1], s->vhost);
    return WC_EXIT_OK;
}

int
wc_cmd_list_parameters(const struct wc_settings *s, int argc, char **argv)
{
    static const struct wc_column cols[] = {
        {"component", "component"}, {"name", "name"}, {"value", "value"}};
    char v[800], path[900], what[400];

    (void)argv;
    if (argc != 0)
        return wc_usage("list_parameters",
                        "expected: list_parameters [-p VHOST]");
    snprintf(path, sizeof(path), "parameters/shovel/%s",
             wc_seg(s->vhost, v, sizeof(v)));
    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    return wc_list(s, path, what, cols, sizeof(cols) / sizeof(cols[0]));
}

int
wc_cmd_shovel_status(const struct wc_settings *s, int argc, char **argv)
{
    /* rabbitmqctl shovel_status's columns */
    static const struct wc_column cols[] = {
        {"name", "name"},
        {"vhost", "vhost"},
        {"type", "type"},
        {"state", "state"},
        {"src_queue", "source_queue"},
        {"src_exchange", "source_exchange"},
        {"dest_queue", "destination_queue"},
        {"dest_exchange", "destination_exchange"},
        {"messages_moved", "messages_moved"},
        {"reason", "termination_reason"}};

    (void)argv;
    if (argc != 0)
        return wc_usage("shovel_status", "expected: shovel_status");
    return wc_list(s, "shovels", "shovels", cols,
                   sizeof(cols) / sizeof(cols[0]));
}
