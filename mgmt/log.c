/* SPDX-License-Identifier: MIT */
/* GET / PUT /api/log-level {"level": "debug"}: the broker's log level at
 * run time, for warrenctl set_log_level (rabbitmqctl's command, which
 * RabbitMQ's HTTP API has no path for: warren's own). Administrators. */
#include "mgmt_internal.h"

void
wr_mgmt_get_log_level(struct wr_mgmt_req *r)
{
    wr_mgmt_reply(r, 200,
                  json_pack("{s:s}", "level", wr_log_level_name(wr_log_level)));
}

void
wr_mgmt_put_log_level(struct wr_mgmt_req *r)
{
    json_t *body = wr_mgmt_body(r), *v;
    int level;

    if (body == NULL)
        return;
    v = json_object_get(body, "level");
    level =
        json_is_string(v) ? wr_log_parse_any_level(json_string_value(v)) : -1;
    if (level < 0) {
        wr_mgmt_error(r, 400, "bad_request",
                      "level must be one of debug, info, notice, warning, "
                      "error, critical, none");
        return;
    }
    /* said before the change, so that it is seen whatever the new level */
    wr_log(WR_LOG_NOTICE, "log level set to %s by user '%s'",
           wr_log_level_name(level), r->user);
    wr_log_set_level(level);
    wr_mgmt_reply_empty(r, 204);
}
