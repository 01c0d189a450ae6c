/* SPDX-License-Identifier: MIT */
/* broker/: warren-server's main() and the start, reload and stop of the
 * layers below (runtime, auth, vhost, amqp, mgmt). */
#ifndef WR_BROKER_H
#define WR_BROKER_H

#include "../mgmt/mgmt.h"

/* Sets up the event base, the reaper, memory flow control and the
 * definitions (users, vhosts); no sockets, no signal handlers (the
 * connection fuzzer runs a server like this). Returns WR_OK or WR_ERR_IO
 * (logged). */
int wr_server_init(struct wr_server *s, const struct wr_config *cfg);
/* Opens data_dir (locked) and recovers what its stores hold: durable
 * definitions, then durable queues' messages. Before listening. Returns
 * WR_OK, WR_ERR_EXISTS (another warren has data_dir) or WR_ERR_IO
 * (logged). */
int wr_server_recover(struct wr_server *s);
/* Installs the signal handlers (SIGINT/SIGTERM: shut down; SIGHUP: reload
 * the TLS certificates; SIGUSR1: log stats) and opens the AMQP and AMQPS
 * listeners. Returns WR_OK or WR_ERR_IO (logged). */
int wr_server_listen(struct wr_server *s);
/* Logs one "stats: connections=N alloc_used=BYTES" line at NOTICE. */
void wr_server_log_stats(struct wr_server *s);
/* Runs the loop until SIGINT/SIGTERM. Returns the exit status. */
int wr_server_run(struct wr_server *s);
void wr_server_cleanup(struct wr_server *s);

#endif
