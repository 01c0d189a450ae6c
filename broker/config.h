/* SPDX-License-Identifier: MIT */
/* Broker configuration: defaults, the key = value file (etc/warren.conf)
 * and command-line overrides. */
#ifndef WR_CONFIG_H
#define WR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WR_PATH_MAX 512

/* TLS protocol versions (ssl_options.versions.N). */
#define WR_TLS_V12 1u
#define WR_TLS_V13 2u

struct wr_config {
    char bind[64];                    /* listeners.tcp.default address */
    int port;                         /* listeners.tcp.default port, 0 = any */
    bool ssl_on;                      /* listeners.ssl.default given */
    char ssl_bind[64];                /* its address ("" = same as bind) */
    int ssl_port;                     /* its port, 0 = any */
    char ssl_cacertfile[WR_PATH_MAX]; /* ssl_options.cacertfile */
    char ssl_certfile[WR_PATH_MAX];   /* ssl_options.certfile */
    char ssl_keyfile[WR_PATH_MAX];    /* ssl_options.keyfile */
    bool ssl_verify_peer;             /* ssl_options.verify */
    bool ssl_fail_if_no_peer_cert;    /* ssl_options.fail_if_no_peer_cert */
    unsigned ssl_versions;            /* WR_TLS_V12 | WR_TLS_V13 */
    char ssl_ciphers[1024];    /* ssl_options.ciphers.N, ':'-joined (TLS 1.2) */
    char ssl_suites[512];      /* ... the TLS_* ones (TLS 1.3) */
    char auth_mechanisms[128]; /* auth_mechanisms.N, space-separated */
    char default_user[128];    /* default_user */
    char default_pass[128];    /* default_pass */
    char default_vhost[128];   /* default_vhost */
    char loopback_users[1024]; /* loopback_users.NAME, comma-separated */
    uint16_t heartbeat;        /* heartbeat (s) offered in connection.tune */
    uint32_t frame_max;        /* frame_max offered in connection.tune */
    uint16_t channel_max;      /* channel_max offered in connection.tune */
    uint64_t max_message_size; /* max_message_size (bytes) */
    uint32_t connection_max;   /* connection_max, 0 = unlimited */
    uint32_t consumer_max;     /* consumer_max_per_channel, 0 = unlimited */
    uint32_t handshake_timeout; /* handshake_timeout (ms) */
    size_t output_limit;        /* per-connection output bound before pausing */
    uint64_t mem_absolute;      /* vm_memory_high_watermark.absolute, 0 = off */
    double mem_relative;        /* vm_memory_high_watermark.relative */
    int mgmt_port;              /* management.tcp.port */
    char definitions_file[WR_PATH_MAX]; /* definitions.file, "" = none */
    uint32_t auth_failure_delay;        /* auth_failure_delay (ms) */
    int log_level;                      /* log.level */
    /* while loading: which list keys were seen (a file's list replaces
     * the default one) */
    unsigned seen_lists;
    char mgmt_bind[64];      /* management.tcp.ip */
    uint32_t stats_interval; /* collect_statistics_interval (ms) */
    size_t mgmt_max_body;    /* management.http.max_body_size (bytes) */
    bool mgmt_ssl_on;        /* management.ssl.port given */
    int mgmt_ssl_port;       /* management.ssl.port, 0 = any */
    char mgmt_ssl_bind[64];  /* management.ssl.ip ("" = management.tcp.ip) */
    char mgmt_ssl_cacertfile[WR_PATH_MAX]; /* management.ssl.cacertfile */
    char mgmt_ssl_certfile[WR_PATH_MAX];   /* management.ssl.certfile */
    char mgmt_ssl_keyfile[WR_PATH_MAX];    /* management.ssl.keyfile */
    char mgmt_ui_dir[WR_PATH_MAX];         /* management.ui.dir, "" = found */
    bool mgmt_ssl_verify_peer;             /* management.ssl.verify */
    bool
        mgmt_ssl_fail_if_no_peer_cert; /* management.ssl.fail_if_no_peer_cert */
    /* config_service.c: running as a service, RabbitMQ's keys */
    char log_file[WR_PATH_MAX];         /* log.file, "" = none */
    int log_file_level;                 /* log.file.level, -1 = log.level */
    bool log_console;                   /* log.console (stderr) */
    int log_console_level;              /* log.console.level, -1 = log.level */
    uint64_t disk_free_limit;           /* disk_free_limit.absolute (bytes) */
    char load_definitions[WR_PATH_MAX]; /* load_definitions, "" = none */
    uint32_t consumer_timeout;          /* consumer_timeout (ms), 0 = off */
    int prometheus_port;                /* prometheus.tcp.port, -1 = off */
    char prometheus_bind[64];           /* prometheus.tcp.ip */
};

/* Fills in the defaults. */
void wr_config_defaults(struct wr_config *cfg);
/* Reads a key = value file. Logs a warning "FILE:LINE: KEY: ignored: no
 * effect in warren" for each RabbitMQ key warren has no use for. On
 * error returns -1 with a message "FILE:LINE: ..." in err. */
int wr_config_load(struct wr_config *cfg, const char *path, char *err,
                   size_t errlen);
/* Applies one key = value pair (shared by the file, --set and tests).
 * Returns 0, 1 for a key RabbitMQ knows that warren has no use for
 * (accepted, "KEY: ignored: no effect in warren" in err: the caller warns),
 * or -1 with a message in err. */
int wr_config_set(struct wr_config *cfg, const char *key, const char *value,
                  char *err, size_t errlen);
/* Checks combinations (certificate files when TLS is on, ...). Returns 0
 * or -1 with a message. */
int wr_config_validate(const struct wr_config *cfg, char *err, size_t errlen);
/* Parses a size: bytes, or with a unit k/kB/KiB/M/MB/MiB/G/GB/GiB
 * (RabbitMQ's information units). Returns 0 or -1. */
int wr_config_parse_size(const char *v, uint64_t *out);
/* The memory watermark in bytes: absolute when set, else relative times
 * physical memory. */
uint64_t wr_config_watermark(const struct wr_config *cfg);
/* config_service.c: the keys for running as a service (log.*,
 * disk_free_limit.*, load_definitions, consumer_timeout, prometheus.*).
 * Returns 0, -1 with a message, or 1 when key is not one of them. */
int wr_config_set_service(struct wr_config *cfg, const char *key,
                          const char *value, char *err, size_t errlen);
/* rabbit_keys.c: whether key is one of RabbitMQ's rabbitmq.conf keys
 * (rabbit_keys.txt, from RabbitMQ's schemas; `$name` there stands for any
 * one segment). */
bool wr_rabbit_key_known(const char *key);
/* Whether user is in loopback_users. */
bool wr_config_loopback_user(const struct wr_config *cfg, const char *user);

#endif
