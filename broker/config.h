/* SPDX-License-Identifier: MIT */
/* Broker configuration: defaults, the key = value file (etc/warren.conf)
 * and command-line overrides. */
#ifndef WR_CONFIG_H
#define WR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wr_config {
    char bind[64];              /* listeners.tcp.default address */
    int port;                   /* listeners.tcp.default port, 0 = any */
    char default_user[128];     /* default_user */
    char default_pass[128];     /* default_pass */
    char default_vhost[128];    /* default_vhost */
    uint16_t heartbeat;         /* heartbeat (s) offered in connection.tune */
    uint32_t frame_max;         /* frame_max offered in connection.tune */
    uint16_t channel_max;       /* channel_max offered in connection.tune */
    uint64_t max_message_size;  /* max_message_size (bytes) */
    uint32_t connection_max;    /* connection_max, 0 = unlimited */
    uint32_t handshake_timeout; /* handshake_timeout (ms) */
    size_t output_limit;        /* per-connection output bound before pausing */
    int log_level;              /* log.level */
    char mgmt_bind[64];         /* management.tcp.ip */
    int mgmt_port;              /* management.tcp.port, 0 = any */
    uint32_t stats_interval;    /* collect_statistics_interval (ms) */
    size_t mgmt_max_body;       /* management.http.max_body_size (bytes) */
};

/* Fills in the defaults. */
void wr_config_defaults(struct wr_config *cfg);
/* Reads a key = value file. On error returns -1 with a message
 * "FILE:LINE: ..." in err. */
int wr_config_load(struct wr_config *cfg, const char *path, char *err,
                   size_t errlen);
/* Applies one key = value pair (shared by the file and tests). */
int wr_config_set(struct wr_config *cfg, const char *key, const char *value,
                  char *err, size_t errlen);

#endif
