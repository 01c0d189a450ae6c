/* SPDX-License-Identifier: MIT */
/* consumer: prints each message of QUEUE on its own line and acks it, until
 * COUNT messages were handled (exit 0) or none came for 10 s (exit 1).
 *   usage: consumer [URL [QUEUE [COUNT]]]
 *   default: amqp://guest:guest@127.0.0.1:5672/ hello 10 */
#include <warren.h>

#include <stdio.h>
#include <stdlib.h>

struct state {
    int seen;
    int error; /* the first failed ack */
};

/* Runs inside warren_process: d is a view, valid until we return. Acks
 * are allowed here (they are sent when warren_process returns). */
static void
on_message(const struct warren_delivery *d, void *arg)
{
    struct state *st = arg;
    int rc;

    printf("%.*s\n", (int)d->body.len, (const char *)d->body.ptr);
    fflush(stdout);
    rc = warren_ack(d->channel, d->delivery_tag, 0);
    if (rc != WARREN_OK && st->error == WARREN_OK)
        st->error = rc;
    st->seen++;
}

/* Hears the broker close our channel (e.g. the queue was deleted). */
static void
on_close(struct warren_conn *c, struct warren_channel *ch,
         const struct warren_close *why, void *arg)
{
    (void)c;
    (void)arg;
    fprintf(stderr, "consumer: %s closed: %u %s\n",
            ch ? "channel" : "connection", why->reply_code, why->reply_text);
}

int
main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "amqp://guest:guest@127.0.0.1:5672/";
    const char *queue = argc > 2 ? argv[2] : "hello";
    int count = argc > 3 ? atoi(argv[3]) : 10;
    struct warren_callbacks cbs = {.on_close = on_close};
    struct state st = {0, WARREN_OK};
    struct warren_conn *c;
    struct warren_channel *ch;
    int rc, idle = 0;

    if (warren_conn_new(&c) != WARREN_OK)
        return 1;
    warren_set_callbacks(c, &cbs);
    rc = warren_connect_url(c, url);
    if (rc == WARREN_OK)
        rc = warren_channel_open(c, &ch);
    if (rc == WARREN_OK)
        rc = warren_queue_declare(ch, queue, 0, NULL, NULL);
    if (rc == WARREN_OK) /* at most 50 unacked messages in flight */
        rc = warren_qos(ch, 50, 0);
    if (rc == WARREN_OK)
        rc = warren_consume(ch, queue, NULL, 0, NULL, on_message, &st, NULL);
    /* The loop: warren_process dispatches deliveries to on_message. */
    while (rc == WARREN_OK && st.seen < count && idle < 10) {
        rc = warren_process(c, 1000);
        if (rc == WARREN_AGAIN) { /* a second without a message */
            idle++;
            rc = WARREN_OK;
        } else {
            idle = 0;
        }
        if (rc == WARREN_OK && !warren_channel_is_open(ch))
            rc = WARREN_ERR_CHANNEL_CLOSED;
        if (rc == WARREN_OK)
            rc = st.error;
    }
    if (rc != WARREN_OK)
        fprintf(stderr, "consumer: %s\n", warren_strerror(rc));
    else if (st.seen < count)
        fprintf(stderr, "consumer: got %d of %d messages\n", st.seen, count);
    warren_conn_free(c); /* closes the channel and the connection */
    return rc == WARREN_OK && st.seen >= count ? 0 : 1;
}
