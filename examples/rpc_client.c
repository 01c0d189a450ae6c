/* SPDX-License-Identifier: MIT */
/* rpc_client: asks the rpc_server on QUEUE for fib(N) and prints
 * "fib(N) = X". The reply comes to an exclusive, server-named queue; it is
 * read with warren_next_delivery, which hands over an owned copy.
 *   usage: rpc_client [URL [QUEUE [N]]]
 *   default: amqp://guest:guest@127.0.0.1:5672/ rpc_queue 30 */
#include <warren.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "amqp://guest:guest@127.0.0.1:5672/";
    const char *queue = argc > 2 ? argv[2] : "rpc_queue";
    const char *n = argc > 3 ? argv[3] : "30";
    struct warren_queue_info replies;
    struct warren_conn *c;
    struct warren_channel *ch;
    struct warren_delivery *d = NULL;
    char corr[64];
    int rc;

    snprintf(corr, sizeof(corr), "%ld-%ld", (long)getpid(), (long)time(NULL));
    if (warren_conn_new(&c) != WARREN_OK)
        return 1;
    rc = warren_connect_url(c, url);
    if (rc == WARREN_OK)
        rc = warren_channel_open(c, &ch);
    if (rc == WARREN_OK) /* "" asks the broker to name it */
        rc = warren_queue_declare(ch, "", WARREN_EXCLUSIVE, NULL, &replies);
    if (rc == WARREN_OK) /* no callback: deliveries queue for next_delivery */
        rc = warren_consume(ch, replies.name, NULL, WARREN_NO_ACK, NULL, NULL,
                            NULL, NULL);
    if (rc == WARREN_OK) {
        struct warren_props props = {
            .flags = WARREN_PROP_REPLY_TO | WARREN_PROP_CORRELATION_ID,
            .reply_to = {replies.name, strlen(replies.name)},
            .correlation_id = {corr, strlen(corr)},
        };

        printf("[x] requesting fib(%s)\n", n);
        rc = warren_publish(ch, "", queue, 0, &props, n, strlen(n));
    }
    /* Wait up to 10 s; skip replies to other requests. */
    while (rc == WARREN_OK) {
        rc = warren_next_delivery(c, 10000, &d);
        if (rc != WARREN_OK)
            break;
        if (d->props.correlation_id.len == strlen(corr) &&
            memcmp(d->props.correlation_id.ptr, corr, strlen(corr)) == 0)
            break;
        warren_delivery_free(d);
        d = NULL;
    }
    if (rc == WARREN_OK)
        printf("[.] fib(%s) = %.*s\n", n, (int)d->body.len,
               (const char *)d->body.ptr);
    else
        fprintf(stderr, "rpc_client: %s\n",
                rc == WARREN_AGAIN ? "no reply in 10 s" : warren_strerror(rc));
    warren_delivery_free(d);
    warren_conn_free(c);
    return rc == WARREN_OK ? 0 : 1;
}
