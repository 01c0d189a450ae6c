/* SPDX-License-Identifier: MIT */
/* The definitions file: users, vhosts, permissions, topic permissions and
 * vhost limits in RabbitMQ's definitions JSON, loaded at start and
 * rewritten on every change. */
#ifndef WR_DEFS_H
#define WR_DEFS_H

#include <stddef.h>

struct wr_server;

/* Loads path into s (users into s->users, vhosts created). Returns 0,
 * 1 when the file does not exist (nothing loaded), or -1 with a message
 * "PATH: ..." in err. */
int wr_defs_load(struct wr_server *s, const char *path, char *err,
                 size_t errlen);
/* A fresh broker: default_user (tag administrator) with default_pass,
 * default_vhost, and full permissions for the one on the other. */
void wr_defs_bootstrap(struct wr_server *s);
/* Writes the definitions to path atomically (temporary file + rename,
 * mode 0600). Returns 0 or -1 with a message. */
int wr_defs_save(struct wr_server *s, const char *path, char *err,
                 size_t errlen);
/* Parses and validates path without a running server (--check-config).
 * Returns 0, 1 when missing, -1 with a message. */
int wr_defs_check(const char *path, char *err, size_t errlen);

#endif
