/* SPDX-License-Identifier: MIT */
/* rpc_server: answers "fib(n)" requests on QUEUE, as in RabbitMQ tutorial
 * six: the request body is n in decimal, the reply (to the request's
 * reply_to queue, with its correlation_id) is fib(n). Serves MAX requests
 * and exits 0 (MAX 0: forever).
 *   usage: rpc_server [URL [QUEUE [MAX]]]
 *   default: amqp://guest:guest@127.0.0.1:5672/ rpc_queue 0 */
#include <warren.h>

#include <stdio.h>
#include <stdlib.h>

struct state {
    int served;
    int error;
};

static unsigned long long
fib(unsigned n)
{
    unsigned long long a = 0, b = 1;

    for (unsigned i = 0; i < n; i++) {
        unsigned long long t = a + b;

        a = b;
        b = t;
    }
    return a;
}

/* One request: publish the answer, then ack (both allowed in callbacks). */
static void
on_request(const struct warren_delivery *d, void *arg)
{
    struct state *st = arg;
    struct warren_props props = {.flags = WARREN_PROP_CORRELATION_ID,
                                 .correlation_id = d->props.correlation_id};
    char in[32], out[32];
    int n = snprintf(in, sizeof(in), "%.*s", (int)d->body.len,
                     (const char *)d->body.ptr);
    unsigned v = (unsigned)atoi(in) % 94; /* fib(93) is the last to fit */
    char reply_to[256];
    int rc;

    (void)n;
    snprintf(reply_to, sizeof(reply_to), "%.*s", (int)d->props.reply_to.len,
             (const char *)d->props.reply_to.ptr);
    n = snprintf(out, sizeof(out), "%llu", fib(v));
    printf("[.] fib(%u) = %s\n", v, out);
    fflush(stdout);
    rc = warren_publish(d->channel, "", reply_to, 0, &props, out, (size_t)n);
    if (rc == WARREN_OK)
        rc = warren_ack(d->channel, d->delivery_tag, 0);
    if (rc != WARREN_OK && st->error == WARREN_OK)
        st->error = rc;
    st->served++;
}

int
main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "amqp://guest:guest@127.0.0.1:5672/";
    const char *queue = argc > 2 ? argv[2] : "rpc_queue";
    int max = argc > 3 ? atoi(argv[3]) : 0;
    struct state st = {0, WARREN_OK};
    struct warren_conn *c;
    struct warren_channel *ch;
    int rc;

    if (warren_conn_new(&c) != WARREN_OK)
        return 1;
    rc = warren_connect_url(c, url);
    if (rc == WARREN_OK)
        rc = warren_channel_open(c, &ch);
    if (rc == WARREN_OK)
        rc = warren_queue_declare(ch, queue, 0, NULL, NULL);
    if (rc == WARREN_OK) /* one request at a time */
        rc = warren_qos(ch, 1, 0);
    if (rc == WARREN_OK)
        rc = warren_consume(ch, queue, NULL, 0, NULL, on_request, &st, NULL);
    if (rc == WARREN_OK) {
        printf("[x] awaiting RPC requests on %s\n", queue);
        fflush(stdout);
    }
    while (rc == WARREN_OK && (max == 0 || st.served < max)) {
        rc = warren_process(c, -1); /* heartbeats are handled inside */
        if (rc == WARREN_OK)
            rc = st.error;
    }
    if (rc != WARREN_OK)
        fprintf(stderr, "rpc_server: %s\n", warren_strerror(rc));
    warren_conn_free(c);
    return rc == WARREN_OK ? 0 : 1;
}
