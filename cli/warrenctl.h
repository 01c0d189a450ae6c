/* SPDX-License-Identifier: MIT */
/* warrenctl's internals: settings (where the broker is), the HTTP client
 * for the management API, output formats, commands and their help. */
#ifndef WC_WARRENCTL_H
#define WC_WARRENCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses (documented in warrenctl --help and README.md). */
enum wc_exit {
    WC_EXIT_OK = 0,
    WC_EXIT_ERROR = 1,        /* any other error the broker reported */
    WC_EXIT_USAGE = 2,        /* bad command line */
    WC_EXIT_UNREACHABLE = 3,  /* cannot connect, or no answer in time */
    WC_EXIT_AUTH = 4,         /* authentication failed */
    WC_EXIT_NOT_FOUND = 5,    /* 404: no such vhost, queue, exchange, ... */
    WC_EXIT_PRECONDITION = 6, /* 406: inequivalent redeclare, in use, ... */
    WC_EXIT_ACCESS = 7,       /* 403: reserved name, default exchange */
    WC_EXIT_LOCKED = 8,       /* 405: exclusive queue of another connection */
};

enum wc_format {
    WC_FMT_TABLE,
    WC_FMT_TSV,
    WC_FMT_JSON,
};

/* Where the broker is and how to talk to it. */
struct wc_settings {
    char base[512]; /* "http://127.0.0.1:15672" (no trailing slash) */
    char user[256];
    char pass[256];
    char vhost[256];
    enum wc_format format;
    long timeout; /* seconds */
    bool quiet;
    char cacert[512]; /* --cacert: CA bundle for https ("" = system's) */
    bool insecure;    /* --insecure: do not verify the https certificate */
    /* set_policy / set_operator_policy: --priority and --apply-to as
     * given (NULL when not) */
    const char *priority;
    const char *apply_to;
    /* close_connection: sent as the X-Reason header (NULL: none) */
    const char *x_reason;
};

/* Fills s from, lowest priority first: defaults, the rc file
 * (~/.warrenctl.conf or rc_path), WARREN_URL, WARREN_MGMT_URL. Command
 * line flags are applied afterwards by the caller. Returns 0, or -1 after
 * printing why. */
int wc_settings_load(struct wc_settings *s, const char *rc_path);
/* Applies a URL: http(s)://[user[:pass]@]host[:port][/prefix] for the
 * API, or amqp(s)://[user[:pass]@]host[:port][/vhost], from which the
 * credentials, host and vhost are taken (API on port 15672). */
int wc_settings_url(struct wc_settings *s, const char *url);
/* Sets the output format from "table", "tsv" or "json"; -1 if unknown. */
int wc_settings_format(struct wc_settings *s, const char *name);

/* ---- HTTP ---------------------------------------------------------------- */

struct wc_reply {
    long status;  /* HTTP status, 0 when there was no answer */
    json_t *json; /* parsed body (NULL when empty or not JSON) */
    FILE *raw;    /* the body as received, rewound */
};

/* Sends METHOD base/api/PATH (path already percent-encoded) with an
 * optional JSON body (body may be NULL) or raw upload (upload may be NULL;
 * read to its end). Returns WC_EXIT_OK with *rep filled (any HTTP status),
 * or WC_EXIT_UNREACHABLE after printing why. wc_reply_cleanup frees. */
int wc_http(const struct wc_settings *s, const char *method, const char *path,
            json_t *body, FILE *upload, struct wc_reply *rep);
void wc_reply_cleanup(struct wc_reply *rep);
/* Maps an error reply to an exit status and prints one line:
 * "warrenctl: not found: queue 'q' in vhost '/'" (what names the
 * object for a plain 404). */
int wc_fail(const struct wc_settings *s, const struct wc_reply *rep,
            const char *what);
/* wc_http for a request whose success is any 2xx: returns WC_EXIT_OK with
 * *rep (free it with wc_reply_cleanup), or the exit status after printing
 * the failure (*rep already freed). */
int wc_call(const struct wc_settings *s, const char *method, const char *path,
            json_t *body, const char *what, struct wc_reply *rep);
/* Prints one line of progress, unless -q or -f json. */
void wc_say(const struct wc_settings *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Percent-encodes one path segment into out (cap bytes). Returns out. */
char *wc_seg(const char *in, char *out, size_t cap);

/* ---- output ------------------------------------------------------------- */

/* A column: the JSON path read from each item ("message_stats.publish")
 * and its header. */
struct wc_column {
    const char *path;
    const char *header;
};

/* Prints items (a JSON array of objects) as a table, TSV or JSON. */
void wc_print_list(const struct wc_settings *s, json_t *items,
                   const struct wc_column *cols, size_t ncols);
/* GETs path as wc_call does and checks that the answer is a JSON array:
 * WC_EXIT_OK with *rep, or the exit status after printing why
 * ("warrenctl: CMD: the broker's answer is not a list"; cmd may be NULL). */
int wc_get_list(const struct wc_settings *s, const char *cmd, const char *path,
                const char *what, struct wc_reply *rep);
/* GETs path (as wc_call, what naming it in errors) and prints the array
 * the broker answers with, as wc_print_list. Returns WC_EXIT_OK, or the
 * exit status after printing why (WC_EXIT_ERROR for an answer that is
 * not a list). */
int wc_list(const struct wc_settings *s, const char *path, const char *what,
            const struct wc_column *cols, size_t ncols);
/* Prints label/value pairs (status). */
void wc_print_pairs(const struct wc_settings *s, const char *const *labels,
                    const char *const *values, size_t n);
/* The text of a cell: strings as they are, numbers, true/false, compact
 * JSON for objects and arrays, "" for null or missing. */
void wc_cell(json_t *item, const char *path, char *out, size_t cap);
json_t *wc_path_get(json_t *o, const char *path);

/* ---- command arguments (args.c) ------------------------------------------
 */

#define WC_MAX_KV 16

struct wc_kv {
    const char *key[WC_MAX_KV];
    const char *val[WC_MAX_KV];
    size_t n;
};

/* Splits argv into name=value pairs; allowed is a NULL-terminated list.
 * Returns WC_EXIT_OK or WC_EXIT_USAGE after printing why. */
int wc_kv_parse(const char *cmd, int argc, char **argv, struct wc_kv *kv,
                const char *const *allowed);
/* The value given for key, or NULL. */
const char *wc_kv_get(const struct wc_kv *kv, const char *key);
/* As wc_kv_get, but a missing key is a usage error. */
int wc_kv_need(const char *cmd, const struct wc_kv *kv, const char *key,
               const char **out);
/* Copies key into body as a JSON boolean, integer (at least lo) or
 * parsed JSON value when given; a bad value is a usage error. */
int wc_kv_bool(const char *cmd, const struct wc_kv *kv, const char *key,
               json_t *body);
int wc_kv_json(const char *cmd, const struct wc_kv *kv, const char *key,
               json_t *body);
int wc_kv_int(const char *cmd, const struct wc_kv *kv, const char *key, long lo,
              json_t *body);
/* An exchange's name in API paths: "amq.default" for the default one. */
const char *wc_xpath(const char *name);

/* ---- commands and help ----------------------------------------------------
 */

typedef int (*wc_command_cb)(const struct wc_settings *s, int argc,
                             char **argv);

struct wc_command {
    const char *name;
    wc_command_cb run;
    const char *summary;
    const char *help; /* man-style page */
};

extern const struct wc_command wc_commands[];
extern const size_t wc_ncommands;
extern const char wc_main_help[];
const struct wc_command *wc_command_find(const char *name);
/* Prints "warrenctl: MESSAGE" and the hint to see help; returns
 * WC_EXIT_USAGE. */
int wc_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The commands (commands.c). */
int wc_cmd_declare(const struct wc_settings *s, int argc, char **argv);
/* streams.c: super streams and stream listings, with their help pages */
int wc_cmd_add_super_stream(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_delete_super_stream(const struct wc_settings *s, int argc,
                               char **argv);
int wc_cmd_list_super_streams(const struct wc_settings *s, int argc,
                              char **argv);
int wc_cmd_list_streams(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list_stream_consumers(const struct wc_settings *s, int argc,
                                 char **argv);
int wc_cmd_list_stream_tracking(const struct wc_settings *s, int argc,
                                char **argv);
bool wc_stream_tracking_option(const char *word);
/* help_admin.c */
extern const char wc_add_user_help[];
extern const char wc_delete_user_help[];
extern const char wc_change_password_help[];
extern const char wc_set_user_tags_help[];
extern const char wc_list_users_help[];
extern const char wc_add_vhost_help[];
extern const char wc_delete_vhost_help[];
extern const char wc_list_vhosts_help[];
extern const char wc_set_permissions_help[];
extern const char wc_clear_permissions_help[];
extern const char wc_list_permissions_help[];
extern const char wc_list_user_permissions_help[];
extern const char wc_set_topic_permissions_help[];
extern const char wc_clear_topic_permissions_help[];
extern const char wc_set_policy_help[];
extern const char wc_clear_policy_help[];
extern const char wc_list_policies_help[];
extern const char wc_set_operator_policy_help[];
extern const char wc_clear_operator_policy_help[];
extern const char wc_list_operator_policies_help[];
extern const char wc_set_parameter_help[];
extern const char wc_clear_parameter_help[];
extern const char wc_list_parameters_help[];
extern const char wc_shovel_status_help[];
extern const char wc_set_vhost_limits_help[];
extern const char wc_clear_vhost_limits_help[];
extern const char wc_list_vhost_limits_help[];
extern const char wc_set_user_limits_help[];
extern const char wc_clear_user_limits_help[];
extern const char wc_list_user_limits_help[];
/* streams.c */
extern const char wc_add_super_stream_help[];
extern const char wc_delete_super_stream_help[];
extern const char wc_list_super_streams_help[];
extern const char wc_list_streams_help[];
extern const char wc_list_stream_consumers_help[];
extern const char wc_list_stream_tracking_help[];
/* Whether word (an option with its "--" taken off) is one of
 * add_super_stream's: "partitions", "max-age=7D", ... */
bool wc_super_stream_option(const char *word);
int wc_cmd_delete(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_purge(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_publish(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_get(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_peek(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_move(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_status(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_export(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_import(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_help(const struct wc_settings *s, int argc, char **argv);
/* users.c: rabbitmqctl's access control commands */
int wc_cmd_add_user(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_delete_user(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_change_password(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_set_user_tags(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list_users(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_add_vhost(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_delete_vhost(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list_vhosts(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_set_permissions(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_clear_permissions(const struct wc_settings *s, int argc,
                             char **argv);
int wc_cmd_list_permissions(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list_user_permissions(const struct wc_settings *s, int argc,
                                 char **argv);
int wc_cmd_set_topic_permissions(const struct wc_settings *s, int argc,
                                 char **argv);
int wc_cmd_clear_topic_permissions(const struct wc_settings *s, int argc,
                                   char **argv);
int wc_cmd_set_vhost_limits(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_clear_vhost_limits(const struct wc_settings *s, int argc,
                              char **argv);
int wc_cmd_list_vhost_limits(const struct wc_settings *s, int argc,
                             char **argv);
int wc_cmd_set_user_limits(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_clear_user_limits(const struct wc_settings *s, int argc,
                             char **argv);
int wc_cmd_list_user_limits(const struct wc_settings *s, int argc, char **argv);
/* shovels.c: rabbitmqctl's set_parameter shovel NAME JSON,
 * clear_parameter shovel NAME, list_parameters, shovel_status. */
int wc_cmd_set_parameter(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_clear_parameter(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list_parameters(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_shovel_status(const struct wc_settings *s, int argc, char **argv);
/* policies.c: rabbitmqctl's policy commands (set_policy NAME PATTERN
 * DEFINITION with --priority and --apply-to from the settings;
 * clear_policy NAME; list_policies), and the operator-policy ones. */
int wc_cmd_set_policy(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_clear_policy(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list_policies(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_set_operator_policy(const struct wc_settings *s, int argc,
                               char **argv);
int wc_cmd_clear_operator_policy(const struct wc_settings *s, int argc,
                                 char **argv);
int wc_cmd_list_operator_policies(const struct wc_settings *s, int argc,
                                  char **argv);
/* rabbitmqctl.c: rabbitmqctl's names for listing (its default columns,
 * or the info items given), closing connections, purging and deleting
 * queues, and the log level. */
int wc_cmd_list_queues(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list_exchanges(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list_bindings(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list_connections(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list_consumers(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_list_channels(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_close_connection(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_purge_queue(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_delete_queue(const struct wc_settings *s, int argc, char **argv);
int wc_cmd_set_log_level(const struct wc_settings *s, int argc, char **argv);
/* Whether a command takes rabbitmqctl's "-p VHOST" (main.c maps it to
 * --vhost; elsewhere -p is --password). */
bool wc_command_takes_vhost_p(const char *name);

#endif
