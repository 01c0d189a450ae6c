/* SPDX-License-Identifier: MIT */
/* producer: publishes COUNT persistent messages "BODY 1" .. "BODY COUNT" to
 * QUEUE through the default exchange, with publisher confirms, and exits 0
 * once the broker has confirmed them all.
 *   usage: producer [URL [QUEUE [COUNT [BODY]]]]
 *   default: amqp://guest:guest@127.0.0.1:5672/ hello 10 "hello" */
#include <warren.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints what went wrong: the code, and why the broker closed, if it did. */
static int
die(struct warren_conn *c, const char *what, int rc)
{
    const struct warren_close *why = c ? warren_last_close(c) : NULL;

    fprintf(stderr, "producer: %s: %s", what, warren_strerror(rc));
    if (why != NULL)
        fprintf(stderr, " (%u %s)", why->reply_code, why->reply_text);
    fputc('\n', stderr);
    warren_conn_free(c);
    return 1;
}

int
main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "amqp://guest:guest@127.0.0.1:5672/";
    const char *queue = argc > 2 ? argv[2] : "hello";
    int count = argc > 3 ? atoi(argv[3]) : 10;
    const char *text = argc > 4 ? argv[4] : "hello";
    struct warren_props props = {
        .flags = WARREN_PROP_CONTENT_TYPE | WARREN_PROP_DELIVERY_MODE,
        .content_type = {"text/plain", 10},
        .delivery_mode = 2, /* persistent */
    };
    struct warren_conn *c = NULL;
    struct warren_channel *ch;
    int rc;

    if ((rc = warren_conn_new(&c)) != WARREN_OK)
        return die(NULL, "warren_conn_new", rc);
    if ((rc = warren_connect_url(c, url)) != WARREN_OK)
        return die(c, "connect", rc);
    if ((rc = warren_channel_open(c, &ch)) != WARREN_OK)
        return die(c, "channel", rc);
    if ((rc = warren_queue_declare(ch, queue, 0, NULL, NULL)) != WARREN_OK)
        return die(c, "queue.declare", rc);
    if ((rc = warren_confirm_select(ch)) != WARREN_OK)
        return die(c, "confirm.select", rc);
    for (int i = 1; i <= count; i++) {
        char body[512];
        int n = snprintf(body, sizeof(body), "%s %d", text, i);

        /* WARREN_MORE batches the frames; the last publish sends them. */
        rc = warren_publish(ch, "", queue, i < count ? WARREN_MORE : 0, &props,
                            body, (size_t)n);
        if (rc != WARREN_OK)
            return die(c, "publish", rc);
    }
    if ((rc = warren_wait_confirms(ch, 10000)) != WARREN_OK)
        return die(c, "confirms", rc);
    printf("published %d messages to %s, all confirmed\n", count, queue);
    warren_channel_close(ch);
    warren_conn_free(c);
    return 0;
}
