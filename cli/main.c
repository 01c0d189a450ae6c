/* SPDX-License-Identifier: MIT */
/* warrenctl: the admin CLI. Options, settings, then one command; every
 * command talks to the broker's HTTP management API, as rabbitmqadmin
 * does (see help.c for the pages, commands.c for what each one calls). */
#include "warrenctl.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define WC_VERSION "0.1.0"

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'U'},
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'P'},
        {"username", required_argument, NULL, 'u'},
        {"password", required_argument, NULL, 'p'},
        {"vhost", required_argument, NULL, 'V'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"timeout", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'v'},
        {"cacert", required_argument, NULL, 'A'},
        {"insecure", no_argument, NULL, 'k'},
        {"priority", required_argument, NULL, 'R'},
        {"apply-to", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *host = NULL, *port = NULL, *user = NULL,
               *pass = NULL, *vhost = NULL, *format = NULL, *timeout = NULL,
               *config = NULL, *cacert = NULL, *priority = NULL,
               *apply_to = NULL;
    bool help = false, quiet = false, insecure = false;
    const struct wc_command *cmd;
    struct wc_settings s;
    int opt, rc;

    opterr = 0;
    /* rabbitmqctl's "set_permissions -p VHOST ...": after those commands'
     * names -p is the vhost, not the password. */
    for (int i = 1; i < argc; i++) {
        static const char *const with_arg[] = {
            "-U",        "-H",        "-P",         "-u",         "-p",
            "-V",        "-f",        "-t",         "-c",         "--url",
            "--host",    "--port",    "--username", "--password", "--vhost",
            "--format",  "--timeout", "--config",   "--cacert",   "--priority",
            "--apply-to"};
        if (argv[i][0] == '-') {
            for (size_t k = 0; k < sizeof(with_arg) / sizeof(with_arg[0]); k++)
                if (strcmp(argv[i], with_arg[k]) == 0)
                    i++;
            continue;
        }
        if (wc_command_takes_vhost_p(argv[i]))
            for (int j = i + 1; j < argc; j++)
                if (strcmp(argv[j], "-p") == 0)
                    argv[j] = "-V";
        /* rabbitmqctl's "list_vhost_limits --global", "list_user_limits
         * --user U": not options of ours, so they reach the command as
         * words */
        if (wc_command_find(argv[i]) &&
            (wc_command_find(argv[i])->run == wc_cmd_list_vhost_limits ||
             wc_command_find(argv[i])->run == wc_cmd_list_user_limits))
            for (int j = i + 1; j < argc; j++)
                if (strcmp(argv[j], "--global") == 0 ||
                    strcmp(argv[j], "--user") == 0)
                    argv[j] += 2;
        /* rabbitmq-streams' "add_super_stream NAME --partitions 3" */
        if (wc_command_find(argv[i]) &&
            wc_command_find(argv[i])->run == wc_cmd_add_super_stream)
            for (int j = i + 1; j < argc; j++)
                if (strncmp(argv[j], "--", 2) == 0 &&
                    wc_super_stream_option(argv[j] + 2))
                    argv[j] += 2;
        /* rabbitmq-streams' "list_stream_tracking S --offset" */
        if (wc_command_find(argv[i]) &&
            wc_command_find(argv[i])->run == wc_cmd_list_stream_tracking)
            for (int j = i + 1; j < argc; j++)
                if (strncmp(argv[j], "--", 2) == 0 &&
                    wc_stream_tracking_option(argv[j] + 2))
                    argv[j] += 2;
        /* rabbitmqctl's "delete_queue Q --if-empty --if-unused" */
        if (wc_command_find(argv[i]) &&
            wc_command_find(argv[i])->run == wc_cmd_delete_queue)
            for (int j = i + 1; j < argc; j++)
                if (strcmp(argv[j], "--if-empty") == 0 ||
                    strcmp(argv[j], "--if-unused") == 0)
                    argv[j] += 2;
        break;
    }
    while ((opt = getopt_long(argc, argv, "U:H:P:u:p:V:f:qt:c:h", opts,
                              NULL)) != -1) {
        switch (opt) {
        case 'U':
            url = optarg;
            break;
        case 'H':
            host = optarg;
            break;
        case 'P':
            port = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'p':
            pass = optarg;
            break;
        case 'V':
            vhost = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 't':
            timeout = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'h':
            help = true;
            break;
        case 'A':
            cacert = optarg;
            break;
        case 'k':
            insecure = true;
            break;
        case 'R':
            priority = optarg;
            break;
        case 'T':
            apply_to = optarg;
            break;
        case 'v':
            printf("warrenctl %s\n", WC_VERSION);
            return WC_EXIT_OK;
        default:
            return wc_usage(NULL, "unknown or incomplete option '%s'",
                            argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        if (help)
            return wc_cmd_help(NULL, 0, NULL);
        return wc_usage(NULL, "expected a command");
    }
    cmd = wc_command_find(argv[optind]);
    if (cmd == NULL)
        return wc_usage(NULL, "no command '%s'", argv[optind]);
    if (help || cmd->run == wc_cmd_help)
        return wc_cmd_help(NULL, help ? 1 : argc - optind - 1,
                           argv + optind + (help ? 0 : 1));
    if (wc_settings_load(&s, config) != 0)
        return WC_EXIT_USAGE;
    if (url && wc_settings_url(&s, url) != 0)
        return WC_EXIT_USAGE;
    if (host || port) {
        char h[300] = "127.0.0.1", p[16] = "15672", *colon;
        /* Keep the parts of the current base that are not overridden. */
        const char *b = strstr(s.base, "://");
        if (b) {
            snprintf(h, sizeof(h), "%s", b + 3);
            if ((colon = strrchr(h, ':')) != NULL && !strchr(colon, ']')) {
                snprintf(p, sizeof(p), "%s", colon + 1);
                *colon = '\0';
            }
        }
        if (port) {
            char *end;
            long n = strtol(port, &end, 10);
            if (*port == '\0' || *end || n < 1 || n > 65535)
                return wc_usage(NULL, "--port: expected 1 to 65535");
        }
        snprintf(s.base, sizeof(s.base), "http://%s:%s", host ? host : h,
                 port ? port : p);
    }
    if (user)
        snprintf(s.user, sizeof(s.user), "%s", user);
    if (pass)
        snprintf(s.pass, sizeof(s.pass), "%s", pass);
    if (vhost)
        snprintf(s.vhost, sizeof(s.vhost), "%s", vhost);
    if (format && wc_settings_format(&s, format) != 0)
        return wc_usage(NULL, "--format: table, tsv or json");
    if (timeout) {
        char *end;
        s.timeout = strtol(timeout, &end, 10);
        if (*timeout == '\0' || *end || s.timeout < 1)
            return wc_usage(NULL, "--timeout: expected seconds (1 or more)");
    }
    s.quiet = quiet;
    if (cacert)
        snprintf(s.cacert, sizeof(s.cacert), "%s", cacert);
    s.insecure = insecure;
    if ((priority || apply_to) && cmd->run != wc_cmd_set_policy &&
        cmd->run != wc_cmd_set_operator_policy)
        return wc_usage(NULL, "--priority and --apply-to are for set_policy "
                              "and set_operator_policy");
    s.priority = priority;
    s.apply_to = apply_to;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmd->run(&s, argc - optind - 1, argv + optind + 1);
    curl_global_cleanup();
    fflush(stdout);
    return rc;
}
