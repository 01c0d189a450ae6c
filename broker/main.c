/* SPDX-License-Identifier: MIT */
/* warren-server: command line, configuration, run. */
#include "broker_internal.h"

#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read when there is no --config and no WARREN_CONFIG_FILE, if it exists
 * (as RabbitMQ reads /etc/rabbitmq/rabbitmq.conf). */
#define DEFAULT_CONFIG "/etc/warren/warren.conf"

static const char usage[] =
    "NAME\n"
    "    warren-server - the warren AMQP 0-9-1 message broker\n"
    "\n"
    "SYNOPSIS\n"
    "    warren-server [--config FILE] [--bind ADDR] [--port N]\n"
    "                  [--ssl-port N] [--mgmt-port N] [--definitions FILE]\n"
    "                  [--set KEY=VALUE]... [--log-level LEVEL]\n"
    "                  [--pid-file FILE] [--data-dir DIR] [--check-config]\n"
    "\n"
    "DESCRIPTION\n"
    "    Accepts AMQP 0-9-1 connections (RabbitMQ's dialect: publisher\n"
    "    confirms, basic.nack, exchange-to-exchange bindings, consumer\n"
    "    cancel notifications) and routes messages through direct, fanout,\n"
    "    topic and headers exchanges into FIFO, priority or stream queues.\n"
    "    Users, vhosts and per-vhost permissions are RabbitMQ's; with\n"
    "    listeners.ssl.default set it also accepts AMQPS (TLS 1.2 / 1.3).\n"
    "    It also serves RabbitMQ's HTTP management API and Prometheus\n"
    "    /metrics (management.tcp.ip / management.tcp.port, default\n"
    "    127.0.0.1:15672), and over HTTPS with management.ssl.port\n"
    "    (and management.ssl.certfile / keyfile) set. Once listening it\n"
    "    prints on stderr:\n"
    "        warren-server ready on amqp://ADDR:PORT [amqp://ADDR:PORT]...\n"
    "        warren-server management on http://ADDR:PORT\n"
    "    (preceded by 'warren-server TLS listener on amqps://ADDR:PORT'\n"
    "    when TLS is on, followed by 'warren-server management on\n"
    "    https://ADDR:PORT' when HTTPS is on). SIGHUP reloads the TLS and\n"
    "    HTTPS certificates.\n"
    "    SIGINT or SIGTERM closes every connection with connection.close\n"
    "    320 CONNECTION_FORCED and exits 0. SIGUSR1 logs a line with the\n"
    "    number of connections and the bytes allocated. SIGUSR1 and SIGHUP\n"
    "    reopen log.file (for logrotate). Under systemd (Type=notify) it\n"
    "    sends READY=1 to $NOTIFY_SOCKET once listening, and its stderr\n"
    "    lines carry journald priorities (<N>) when $JOURNAL_STREAM says\n"
    "    stderr is the journal.\n"
    "\n"
    "OPTIONS\n"
    "    -c, --config FILE     read key = value settings from FILE (see\n"
    "                          etc/warren.conf for every key and default);\n"
    "                          without it, $WARREN_CONFIG_FILE, else\n"
    "                          " DEFAULT_CONFIG " when it exists.\n"
    "                          RabbitMQ's rabbitmq.conf keys that warren\n"
    "                          has no use for are accepted with a warning\n"
    "    -b, --bind ADDR       listen address (default localhost: 127.0.0.1\n"
    "                          and ::1)\n"
    "    -p, --port N          AMQP port (default 5672; 0 = any free port)\n"
    "        --ssl-port N      turn on AMQPS on port N (needs\n"
    "                          ssl_options.certfile and keyfile)\n"
    "        --definitions FILE  users, vhosts and permissions file\n"
    "                          (definitions.file)\n"
    "    -s, --set KEY=VALUE   set any configuration key; repeatable\n"
    "    -m, --mgmt-port N     HTTP API port (default 15672; 0 = any free\n"
    "                          port)\n"
    "    -l, --log-level L     error, warn, notice (default), info, debug\n"
    "        --pid-file FILE   write the pid to FILE once listening;\n"
    "                          removed at exit\n"
    "    -d, --data-dir DIR    where durable definitions, persistent messages\n"
    "                          and streams are kept (data_dir,\n"
    "                          default /var/lib/warren; created if missing).\n"
    "                          Locked while the broker runs: a second\n"
    "                          warren-server on the same DIR refuses to\n"
    "                          start\n"
    "        --check-config    validate the configuration (keys, values,\n"
    "                          TLS files, definitions file) and exit\n"
    "    Flags override the configuration file, whatever their order.\n"
    "    -h, --help            this text\n"
    "    -V, --version         print the version\n"
    "\n"
    "EXIT STATUS\n"
    "    0 after a clean shutdown, 1 on a configuration or listen error,\n"
    "    2 on a usage error.\n";

/* Loads the state, binds the listeners, writes the pid file. lock: the
 * data_dir's, held. */
static int
start(struct wr_server *srv, const struct wr_config *cfg, const char *pid_file,
      int lock)
{
    char err[600];
    int rc = wr_server_init(srv, cfg);

    srv->data_lock = lock;
    if (rc)
        return WR_ERR_IO;
    if (cfg->load_definitions[0] &&
        wr_mgmt_import_file(srv, cfg->load_definitions, err, sizeof(err))) {
        wr_log(WR_LOG_ERROR, "load_definitions: %s", err);
        return WR_ERR_IO;
    }
    if (wr_server_recover(srv))
        return WR_ERR_IO;
    if (wr_server_listen(srv))
        return WR_ERR_IO;
    if (pid_file && wr_service_write_pid(pid_file, err, sizeof(err))) {
        wr_log(WR_LOG_ERROR, "%s", err);
        return WR_ERR_IO;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"bind", required_argument, NULL, 'b'},
        {"port", required_argument, NULL, 'p'},
        {"mgmt-port", required_argument, NULL, 'm'},
        {"log-level", required_argument, NULL, 'l'},
        {"check-config", no_argument, NULL, 'C'},
        {"ssl-port", required_argument, NULL, 'S'},
        {"definitions", required_argument, NULL, 'D'},
        {"set", required_argument, NULL, 's'},
        {"pid-file", required_argument, NULL, 'P'},
        {"data-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *bind = NULL, *port = NULL, *level = NULL;
    const char *sets[64];
    size_t nsets = 0;
    const char *mgmt_port = NULL, *pid_file = NULL;
    bool check_only = false;
    struct wr_config cfg;
    struct wr_server srv;
    char err[600];
    int opt, rc, lock;

    while ((opt = getopt_long(argc, argv, "c:b:p:m:l:s:d:hV", opts, NULL)) !=
           -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'b':
            bind = optarg;
            break;
        case 'p':
            port = optarg;
            break;
        case 'm':
            mgmt_port = optarg;
            break;
        case 'l':
            level = optarg;
            break;
        case 'C':
            check_only = true;
            break;
        case 'P':
            pid_file = optarg;
            break;
        case 'S':
        case 'D':
        case 'd':
        case 's': {
            /* kept in order; applied after the file */
            static char buf[64][600];
            if (nsets == WR_ARRAY_LEN(sets)) {
                fprintf(stderr, "warren-server: too many --set\n");
                return 2;
            }
            if (opt == 'S')
                snprintf(buf[nsets], sizeof(buf[0]), "listeners.ssl.default=%s",
                         optarg);
            else if (opt == 'D')
                snprintf(buf[nsets], sizeof(buf[0]), "definitions.file=%s",
                         optarg);
            else if (opt == 'd')
                snprintf(buf[nsets], sizeof(buf[0]), "data_dir=%s", optarg);
            else
                snprintf(buf[nsets], sizeof(buf[0]), "%s", optarg);
            sets[nsets] = buf[nsets];
            nsets++;
            break;
        }
        case 'h':
            fputs(usage, stdout);
            return 0;
        case 'V':
            printf("warren-server %s\n", WR_VERSION);
            return 0;
        default:
            fputs("usage: warren-server [--config FILE] [--bind ADDR] "
                  "[--port N] (see --help)\n",
                  stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "warren-server: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    wr_config_defaults(&cfg);
    if (config == NULL && getenv("WARREN_CONFIG_FILE") &&
        getenv("WARREN_CONFIG_FILE")[0])
        config = getenv("WARREN_CONFIG_FILE");
    if (config == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
        config = DEFAULT_CONFIG;
    if (config && wr_config_load(&cfg, config, err, sizeof(err))) {
        fprintf(stderr, "warren-server: %s\n", err);
        return 1;
    }
    for (size_t i = 0; i < nsets; i++) {
        char kv[600], *eq;
        snprintf(kv, sizeof(kv), "%s", sets[i]);
        eq = strchr(kv, '=');
        if (eq == NULL) {
            fprintf(stderr, "warren-server: --set: expected KEY=VALUE\n");
            return 2;
        }
        *eq = '\0';
        rc = wr_config_set(&cfg, kv, eq + 1, err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "warren-server: %s\n", err);
            return 2;
        }
        if (rc > 0)
            wr_log(WR_LOG_WARN, "--set %s", err);
    }
    if (level && wr_config_set(&cfg, "log.level", level, err, sizeof(err))) {
        fprintf(stderr, "warren-server: %s\n", err);
        return 2;
    }
    if (bind) {
        if (strlen(bind) >= sizeof(cfg.bind) ||
            !wr_config_listen_addr_ok(bind)) {
            fprintf(stderr, "warren-server: --bind: bad address\n");
            return 2;
        }
        snprintf(cfg.bind, sizeof(cfg.bind), "%s", bind);
        cfg.tcp_default_set = true;
    }
    if (port) {
        char *end;
        long p = strtol(port, &end, 10);
        if (*port == '\0' || *end || p < 0 || p > 65535) {
            fprintf(stderr, "warren-server: --port: expected 0 to 65535\n");
            return 2;
        }
        cfg.port = (int)p;
        cfg.tcp_default_set = true;
    }
    if (mgmt_port && wr_config_set(&cfg, "management.tcp.port", mgmt_port, err,
                                   sizeof(err))) {
        fprintf(stderr, "warren-server: --mgmt-port: expected 0 to 65535\n");
        return 2;
    }
    if (wr_config_validate(&cfg, err, sizeof(err))) {
        fprintf(stderr, "warren-server: %s%s%s\n", config ? config : "",
                config ? ": " : "", err);
        return 1;
    }
    /* Every allocation, libevent's and OpenSSL's included, goes through
     * wr_malloc: the memory watermark sees all queued bytes. */
    event_set_mem_functions(wr_malloc, wr_realloc, wr_free);
    wr_tls_global_init();
    if (check_only) {
        if (cfg.ssl_on) {
            struct wr_tls *t = wr_tls_new(&cfg, WR_TLS_AMQPS, err, sizeof(err));
            if (t == NULL) {
                fprintf(stderr, "warren-server: TLS: %s\n", err);
                return 1;
            }
            wr_tls_free(t);
        }
        if (cfg.mgmt_ssl_on) {
            struct wr_tls *t = wr_tls_new(&cfg, WR_TLS_MGMT, err, sizeof(err));
            if (t == NULL) {
                fprintf(stderr, "warren-server: management TLS: %s\n", err);
                return 1;
            }
            wr_tls_free(t);
        }
        if (cfg.definitions_file[0] &&
            wr_defs_check(cfg.definitions_file, err, sizeof(err)) < 0) {
            fprintf(stderr, "warren-server: %s\n", err);
            return 1;
        }
        if (config)
            printf("configuration ok: %s\n", config);
        else
            printf("configuration ok (no configuration file)\n");
        return 0;
    }
    if (wr_log_setup(cfg.log_file, cfg.log_file_level, cfg.log_console,
                     cfg.log_console_level, cfg.log_level, err, sizeof(err))) {
        fprintf(stderr, "warren-server: %s\n", err);
        return 1;
    }
    wr_alloc_set_abort_on_oom(true);
    /* data_dir first: a second broker on it stops here, before it reads
     * or writes anything there */
    if (wr_persist_lock(cfg.data_dir, &lock) != WR_OK) {
        wr_log_close();
        return 1;
    }
    /* Users, vhosts, permissions, limits and policies are kept in data_dir
     * unless definitions.file says where. */
    if (cfg.definitions_file[0] == '\0' &&
        strlen(cfg.data_dir) + sizeof("/definitions.json") <=
            sizeof(cfg.definitions_file)) {
        memcpy(cfg.definitions_file, cfg.data_dir, strlen(cfg.data_dir));
        memcpy(cfg.definitions_file + strlen(cfg.data_dir), "/definitions.json",
               sizeof("/definitions.json"));
    }
    if (start(&srv, &cfg, pid_file, lock)) {
        wr_server_cleanup(&srv);
        wr_log_close();
        return 1;
    }
    /* systemd's Type=notify: the listeners are bound */
    wr_service_notify("READY=1");
    rc = wr_server_run(&srv);
    wr_service_notify("STOPPING=1");
    wr_server_cleanup(&srv);
    wr_small_trim();
    if (pid_file)
        wr_service_remove_pid(pid_file);
    wr_log(WR_LOG_NOTICE, "stopped");
    wr_log_close();
    return rc;
}
