/* SPDX-License-Identifier: MIT */
/* What broker/'s files share beyond broker.h. */
#ifndef WR_BROKER_INTERNAL_H
#define WR_BROKER_INTERNAL_H

#include "broker.h"

#include <event2/event.h>

/* ---- running under a service manager (service.c): systemd's readiness
 * notification and a pid file ---- */

/* Sends state ("READY=1", "STOPPING=1", ...) to systemd's NOTIFY_SOCKET
 * (sd_notify(3)'s protocol: one datagram on a UNIX socket, a path or an
 * abstract name written "@name"). Returns 1 when sent, 0 when
 * NOTIFY_SOCKET is not set, WR_ERR_IO when sending failed. */
int wr_service_notify(const char *state);
/* Writes this process's pid and a newline to path (temporary file +
 * rename). Returns WR_OK or WR_ERR_IO with a message in err. */
int wr_service_write_pid(const char *path, char *err, size_t errlen);
/* Removes the pid file if it still holds this process's pid. */
void wr_service_remove_pid(const char *path);

#endif
