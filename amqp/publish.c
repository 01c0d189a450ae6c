/* SPDX-License-Identifier: MIT */
/* What a publish's properties must be and what the broker changes in them
 * before the message is stored: the expiration property (per-message TTL)
 * is checked, the CC and BCC headers (sender-selected distribution) are
 * checked and BCC is taken out of the delivered headers, and a direct
 * reply-to address is made unique to the publishing channel. Everything
 * else is stored as the publisher sent it. */
#include "amqp_internal.h"

#include <string.h>

/* CC and BCC must be arrays (RabbitMQ: "invalid message:
 * {unacceptable_type_in_header,...}"). */
static bool
routes_header_ok(struct wr_chan *ch, struct wr_table headers, const char *key,
                 struct wr_value *v, bool *found)
{
    *found = wr_table_get(headers, key, v) == WR_OK;
    if (!*found || v->type == WR_FT_ARRAY)
        return true;
    wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_PUBLISH,
                  "invalid message: {unacceptable_type_in_header,\"%s\",%s}",
                  key, wr_field_type_name(v->type));
    return false;
}

struct wr_msg *
wr_chan_publish_message(struct wr_chan *ch, struct wr_bytes exchange,
                        struct wr_bytes rkey, const struct wr_content_header *h)
{
    static const char *const skip_bcc[] = {"BCC", NULL};
    struct wr_props p = h->props;
    struct wr_msg_spec sp = {.exchange = exchange,
                             .rkey = rkey,
                             .props = h->raw_props,
                             .props_len = h->raw_props_len,
                             .body_size = h->body_size,
                             /* a peer may announce more than it sends */
                             .body_grows = true};
    struct wr_value cc, bcc;
    bool has_cc = false, has_bcc = false, rewrite = false;
    uint8_t *hbuf = NULL, *pbuf = NULL;
    struct wr_msg *m = NULL;
    char why[128];
    int64_t ttl;

    if ((p.flags & WR_PROP_EXPIRATION) &&
        wr_expiration_parse(p.expiration, &ttl, why, sizeof(why)) != WR_OK) {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_PUBLISH,
                      "invalid expiration '%.*s': %s", (int)p.expiration.len,
                      p.expiration.ptr, why);
        return NULL;
    }
    if (p.flags & WR_PROP_HEADERS) {
        if (!routes_header_ok(ch, p.headers, "CC", &cc, &has_cc) ||
            !routes_header_ok(ch, p.headers, "BCC", &bcc, &has_bcc))
            return NULL;
    }
    if ((p.flags & WR_PROP_REPLY_TO) && wr_reply_to_is_pseudo(p.reply_to)) {
        if (ch->reply_tag == NULL) {
            wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_PUBLISH,
                          "fast reply consumer does not exist");
            return NULL;
        }
        p.reply_to = wr_bytes_str(ch->reply_key);
        rewrite = true;
    }
    if (has_bcc) {
        /* Receivers must not see who else got it: keep the keys for
         * routing only (wr_msg_bcc). */
        struct wr_tb b;
        size_t cap = p.headers.len + 8;
        hbuf = wr_malloc(cap);
        wr_tb_init(&b, hbuf, cap);
        wr_headers_copy(&b, p.headers, skip_bcc);
        wr_tb_end(&b);
        wr_assert(b.err == WR_OK); /* smaller than what it came from */
        p.headers = wr_tb_table(&b);
        sp.bcc = (struct wr_bytes){bcc.v.array.ptr, bcc.v.array.len};
        rewrite = true;
    }
    if (rewrite) {
        size_t cap = h->raw_props_len + 256, len;
        pbuf = wr_malloc(cap);
        if (wr_props_encode(&p, pbuf, cap, &len) != WR_OK) {
            /* cannot happen: the list shrank or grew by < 64 bytes */
            wr_conn_error(ch->conn, WR_REPLY_INTERNAL_ERROR, WR_BASIC_PUBLISH,
                          "cannot encode properties");
            goto done;
        }
        sp.props = pbuf;
        sp.props_len = (uint32_t)len;
    }
    /* p is what the stored bytes say (a rewrite changes neither priority,
     * delivery mode nor expiration): the header is decoded once. */
    sp.decoded = &p;
    m = wr_msg_build(&sp);
    if (m == NULL)
        wr_conn_error(ch->conn, WR_REPLY_SYNTAX_ERROR, WR_BASIC_PUBLISH,
                      "malformed basic properties");
done:
    wr_free(hbuf);
    wr_free(pbuf);
    return m;
}
