/* SPDX-License-Identifier: MIT */
/* Test case "methods" of the protocol suite: golden methods, a round
 * trip of every method, and the descriptors against the spec XML. */
#include "cases.h"

#define SPEC_XML                                                               \
    "/usr/share/amqp/specs/0-9-1-rabbit/amqp0-9-1.stripped.extended.xml"

/* ==== methods (AMQP 0-9-1 section 4.2.4, class and method ids) ========== */

/* connection.start as a server sends it: version 0-9, server-properties
 * {product: "warren", capabilities: {publisher_confirms: true}},
 * mechanisms "PLAIN AMQPLAIN", locales "en_US". */
/* clang-format off */
static const char start_golden[] =
    "\x00\x0A\x00\x0A"                       /* class 10, method 10 */
    "\x00" "\x09"                            /* version-major, -minor */
    "\x00\x00\x00\x3A"                       /* server-properties: 58 */
        "\x07" "product" "S\x00\x00\x00\x06" "warren"
        "\x0C" "capabilities" "F\x00\x00\x00\x15"
            "\x12" "publisher_confirms" "t\x01"
    "\x00\x00\x00\x0E" "PLAIN AMQPLAIN"      /* mechanisms */
    "\x00\x00\x00\x05" "en_US";              /* locales */
/* clang-format on */

START_TEST(method_connection_start_golden)
{
    uint8_t tbuf[128], out[256];
    struct wr_tb b;
    struct wr_method m = {.id = WR_CONNECTION_START}, d;
    struct wr_value v;
    size_t len;

    wr_tb_init(&b, tbuf, sizeof(tbuf));
    wr_tb_add_str(&b, "product", WR_BYTES_LIT("warren"));
    wr_tb_begin_table(&b, "capabilities");
    wr_tb_add_bool(&b, "publisher_confirms", true);
    wr_tb_end(&b);
    wr_tb_end(&b);
    ck_assert_int_eq(b.err, WR_OK);
    m.u.connection_start.version_major = 0;
    m.u.connection_start.version_minor = 9;
    m.u.connection_start.server_properties = wr_tb_table(&b);
    m.u.connection_start.mechanisms = WR_BYTES_LIT("PLAIN AMQPLAIN");
    m.u.connection_start.locales = WR_BYTES_LIT("en_US");
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(start_golden));

    ck_assert_int_eq(wr_method_decode(G(start_golden), &d), WR_OK);
    ck_assert_uint_eq(d.id, WR_CONNECTION_START);
    ck_assert_str_eq(wr_method_name(d.id), "connection.start");
    ck_assert_uint_eq(d.u.connection_start.version_minor, 9);
    ck_assert(wr_bytes_eq_str(d.u.connection_start.locales, "en_US"));
    ck_assert_int_eq(wr_table_get(d.u.connection_start.server_properties,
                                  "capabilities", &v),
                     WR_OK);
    ck_assert_int_eq(wr_table_get(v.v.table, "publisher_confirms", &v), WR_OK);
    ck_assert(v.v.b);
}
END_TEST

START_TEST(method_connection_tune_golden)
{
    struct wr_method m = {.id = WR_CONNECTION_TUNE}, d;
    uint8_t out[64];
    size_t len;
    struct wr_frame f;

    m.u.connection_tune.channel_max = 2047;
    m.u.connection_tune.frame_max = 131072;
    m.u.connection_tune.heartbeat = 60;
    ck_assert_int_eq(wr_method_frame_encode(0, &m, out, sizeof(out), &len),
                     WR_OK);
    ck_bytes(out, len, G(tune_frame_golden));
    ck_assert_int_eq(wr_frame_decode(out, len, WR_FRAME_MIN_SIZE, &f, &len),
                     WR_OK);
    ck_assert_int_eq(wr_method_decode(f.payload, f.size, &d), WR_OK);
    ck_assert_uint_eq(d.u.connection_tune.frame_max, 131072);
    ck_assert_uint_eq(d.u.connection_tune.channel_max, 2047);
    ck_assert_uint_eq(d.u.connection_tune.heartbeat, 60);
}
END_TEST

/* basic.publish on channel 1: exchange "amq.direct", routing key "rk",
 * mandatory set, immediate clear (4.2.5.2: bits pack from bit 0). */
/* clang-format off */
static const char publish_frame_golden[] =
    "\x01" "\x00\x01" "\x00\x00\x00\x15"     /* method frame, channel 1 */
    "\x00\x3C\x00\x28"                       /* class 60, method 40 */
    "\x00\x00"                               /* reserved-1 */
    "\x0A" "amq.direct"                      /* exchange */
    "\x02" "rk"                              /* routing-key */
    "\x01"                                   /* mandatory=1 immediate=0 */
    "\xCE";
/* clang-format on */

START_TEST(method_basic_publish_golden)
{
    struct wr_method m = {.id = WR_BASIC_PUBLISH}, d;
    uint8_t out[64];
    size_t len;
    struct wr_frame f;

    m.u.basic_publish.exchange = WR_BYTES_LIT("amq.direct");
    m.u.basic_publish.routing_key = WR_BYTES_LIT("rk");
    m.u.basic_publish.mandatory = true;
    ck_assert_int_eq(wr_method_frame_encode(1, &m, out, sizeof(out), &len),
                     WR_OK);
    ck_bytes(out, len, G(publish_frame_golden));
    ck_assert_int_eq(
        wr_frame_decode(G(publish_frame_golden), WR_FRAME_MIN_SIZE, &f, &len),
        WR_OK);
    ck_assert_uint_eq(f.channel, 1);
    ck_assert_int_eq(wr_method_decode(f.payload, f.size, &d), WR_OK);
    ck_assert_uint_eq(d.id, WR_BASIC_PUBLISH);
    ck_assert(wr_bytes_eq_str(d.u.basic_publish.exchange, "amq.direct"));
    ck_assert(wr_bytes_eq_str(d.u.basic_publish.routing_key, "rk"));
    ck_assert(d.u.basic_publish.mandatory);
    ck_assert(!d.u.basic_publish.immediate);
    ck_assert(wr_method_has_content(d.id));
    ck_assert(!wr_method_is_sync(d.id));
}
END_TEST

/* basic.deliver: consumer-tag "ctag", delivery-tag 0x0102030405060708,
 * redelivered, exchange "", routing key "q". */
/* clang-format off */
static const char deliver_golden[] =
    "\x00\x3C\x00\x3C"                       /* class 60, method 60 */
    "\x04" "ctag"                            /* consumer-tag */
    "\x01\x02\x03\x04\x05\x06\x07\x08"       /* delivery-tag */
    "\x01"                                   /* redelivered */
    "\x00"                                   /* exchange "" */
    "\x01" "q";                              /* routing-key */
/* clang-format on */

START_TEST(method_basic_deliver_golden)
{
    struct wr_method m = {.id = WR_BASIC_DELIVER}, d;
    uint8_t out[64];
    size_t len;

    m.u.basic_deliver.consumer_tag = WR_BYTES_LIT("ctag");
    m.u.basic_deliver.delivery_tag = 0x0102030405060708ULL;
    m.u.basic_deliver.redelivered = true;
    m.u.basic_deliver.exchange = WR_BYTES_LIT("");
    m.u.basic_deliver.routing_key = WR_BYTES_LIT("q");
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(deliver_golden));
    ck_assert_int_eq(wr_method_decode(G(deliver_golden), &d), WR_OK);
    ck_assert_uint_eq(d.u.basic_deliver.delivery_tag, 0x0102030405060708ULL);
    ck_assert(d.u.basic_deliver.redelivered);
    ck_assert_uint_eq(d.u.basic_deliver.exchange.len, 0);
    ck_assert(wr_bytes_eq_str(d.u.basic_deliver.routing_key, "q"));
}
END_TEST

/* clang-format off */
/* basic.ack (60, 80) delivery-tag 42 with multiple; basic.nack (60, 120)
 * delivery-tag 7: multiple is bit 0, requeue bit 1 of one octet. */
static const char ack_golden[] =
    "\x00\x3C\x00\x50" "\x00\x00\x00\x00\x00\x00\x00\x2A" "\x01";
static const char nack_golden[] =
    "\x00\x3C\x00\x78" "\x00\x00\x00\x00\x00\x00\x00\x07" "\x02";
/* queue.declare (50, 10) "q1", durable and auto-delete: bits 1 and 3. */
static const char declare_golden[] =
    "\x00\x32\x00\x0A" "\x00\x00" "\x02" "q1" "\x0A" "\x00\x00\x00\x00";
/* clang-format on */

START_TEST(method_basic_ack_nack_golden)
{
    struct wr_method m = {.id = WR_BASIC_ACK}, d;
    uint8_t out[64];
    size_t len;

    m.u.basic_ack.delivery_tag = 42;
    m.u.basic_ack.multiple = true;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(ack_golden));
    m.u.basic_ack.multiple = false;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_assert_uint_eq(out[len - 1], 0);
    ck_assert_int_eq(wr_method_decode(G(ack_golden), &d), WR_OK);
    ck_assert(d.u.basic_ack.multiple);
    ck_assert_uint_eq(d.u.basic_ack.delivery_tag, 42);

    memset(&m, 0, sizeof(m));
    m.id = WR_BASIC_NACK;
    m.u.basic_nack.delivery_tag = 7;
    m.u.basic_nack.requeue = true;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(nack_golden));
    m.u.basic_nack.multiple = true;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_assert_uint_eq(out[len - 1], 3);
    ck_assert_int_eq(wr_method_decode(out, len, &d), WR_OK);
    ck_assert(d.u.basic_nack.multiple && d.u.basic_nack.requeue);
}
END_TEST

/* queue.declare: five consecutive bits share one octet, passive in bit 0
 * up to no-wait in bit 4 (4.2.5.2). */
START_TEST(method_queue_declare_bits_golden)
{
    struct wr_method m = {.id = WR_QUEUE_DECLARE}, d;
    struct wr_queue_declare *q = &m.u.queue_declare;
    bool *bits[] = {&q->passive, &q->durable, &q->exclusive, &q->auto_delete,
                    &q->no_wait};
    uint8_t out[64];
    size_t len;

    q->queue = WR_BYTES_LIT("q1");
    q->durable = true;
    q->auto_delete = true;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(declare_golden));
    for (size_t i = 0; i < WR_ARRAY_LEN(bits); i++) {
        memset(q, 0, sizeof(*q));
        q->queue = WR_BYTES_LIT("q1");
        *bits[i] = true;
        ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
        ck_assert_uint_eq(len, 4 + 2 + 3 + 1 + 4);
        ck_assert_uint_eq(out[9], 1u << i);
        ck_assert_int_eq(wr_method_decode(out, len, &d), WR_OK);
        ck_assert(d.u.queue_declare.passive == (i == 0));
        ck_assert(d.u.queue_declare.durable == (i == 1));
        ck_assert(d.u.queue_declare.exclusive == (i == 2));
        ck_assert(d.u.queue_declare.auto_delete == (i == 3));
        ck_assert(d.u.queue_declare.no_wait == (i == 4));
    }
}
END_TEST

/* clang-format off */
static const char close_ok_trailing[] = "\x00\x14\x00\x29" "\x00";
static const char declare_bad_arg[] =
    "\x00\x32\x00\x0A" "\x00\x00" "\x01" "q" "\x00"
    "\x00\x00\x00\x03" "\x01" "a" "Z";      /* arguments {a: 'Z'?} */
/* clang-format on */

/* basic.publish and basic.ack have their own decoder (decode_hot): it
 * must agree with the table's on every bit and reject what it rejects. */
START_TEST(method_hot_paths)
{
    struct wr_method d;

    /* publish: reserved 0x0102, exchange "x", key "", both bits set. */
    ck_assert_int_eq(
        wr_method_decode(G("\x00\x3C\x00\x28\x01\x02\x01x\x00\x03"), &d),
        WR_OK);
    ck_assert_uint_eq(d.id, WR_BASIC_PUBLISH);
    ck_assert_uint_eq(d.u.basic_publish.reserved_1, 0x0102);
    ck_assert(wr_bytes_eq_str(d.u.basic_publish.exchange, "x"));
    ck_assert_uint_eq(d.u.basic_publish.routing_key.len, 0);
    ck_assert(d.u.basic_publish.mandatory && d.u.basic_publish.immediate);
    /* A byte too many, a key longer than the payload, no bits octet. */
    ck_assert_int_eq(
        wr_method_decode(G("\x00\x3C\x00\x28\x00\x00\x00\x00\x00\x00"), &d),
        WR_ERR_SYNTAX);
    ck_assert_int_eq(wr_method_decode(G("\x00\x3C\x00\x28\x00\x00\x00\x05"
                                        "ab\x00"),
                                      &d),
                     WR_ERR_SYNTAX);
    ck_assert_int_eq(
        wr_method_decode(G("\x00\x3C\x00\x28\x00\x00\x00\x01k"), &d),
        WR_ERR_SYNTAX);
    /* ack: unknown bits are ignored, as the table decoder does. */
    ck_assert_int_eq(
        wr_method_decode(
            G("\x00\x3C\x00\x50\x80\x00\x00\x00\x00\x00\x00\x01\xFE"), &d),
        WR_OK);
    ck_assert_uint_eq(d.id, WR_BASIC_ACK);
    ck_assert_uint_eq(d.u.basic_ack.delivery_tag, 0x8000000000000001ull);
    ck_assert(!d.u.basic_ack.multiple);
    ck_assert_int_eq(
        wr_method_decode(
            G("\x00\x3C\x00\x50\x00\x00\x00\x00\x00\x00\x00\x01\x01\x00"), &d),
        WR_ERR_SYNTAX);
}
END_TEST

START_TEST(method_errors)
{
    struct wr_method m = {.id = WR_BASIC_ACK}, d;
    uint8_t out[300];
    char big[256];
    size_t len;

    /* Unknown class or method id. */
    ck_assert_int_eq(wr_method_decode(G("\x00\x3C\x00\x01"), &d),
                     WR_ERR_UNKNOWN_METHOD);
    ck_assert_int_eq(wr_method_decode(G("\x00\x1E\x00\x0A"), &d),
                     WR_ERR_UNKNOWN_METHOD); /* access.request, 0-8 only */
    ck_assert_int_eq(wr_method_decode(G("\xFF\xFF\xFF\xFF"), &d),
                     WR_ERR_UNKNOWN_METHOD);
    ck_assert_ptr_null(wr_method_name(WR_METHOD_ID(60, 1)));
    m.id = WR_METHOD_ID(60, 1);
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len),
                     WR_ERR_UNKNOWN_METHOD);
    /* 4.2.3: trailing bytes after the arguments. */
    ck_assert_int_eq(wr_method_decode(G(close_ok_trailing), &d), WR_ERR_SYNTAX);
    ck_assert_int_eq(wr_method_decode(G("\x00\x14\x00\x29"), &d), WR_OK);
    /* A short string over 255 octets cannot be encoded. */
    memset(big, 'x', sizeof(big));
    memset(&m, 0, sizeof(m));
    m.id = WR_BASIC_CONSUME_OK;
    m.u.basic_consume_ok.consumer_tag =
        (struct wr_bytes){(const uint8_t *)big, 256};
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len),
                     WR_ERR_INVALID);
    m.u.basic_consume_ok.consumer_tag.len = 255;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_assert_uint_eq(len, 4 + 1 + 255);
    /* Table arguments are validated. */
    ck_assert_int_eq(wr_method_decode(G(declare_bad_arg), &d),
                     WR_ERR_FIELD_TYPE);
}
END_TEST

START_TEST(method_deep_arguments)
{
    size_t tlen;
    uint8_t *t = nested(1000, WR_FT_TABLE, &tlen);
    uint8_t *p = wr_malloc(tlen + 64);
    size_t n = 0;
    struct wr_method d;

    ck_assert_ptr_nonnull(p);
    memcpy(p, "\x00\x32\x00\x0A\x00\x00\x01q\x00", 9);
    n = 9;
    p[n++] = (uint8_t)(tlen >> 24);
    p[n++] = (uint8_t)(tlen >> 16);
    p[n++] = (uint8_t)(tlen >> 8);
    p[n++] = (uint8_t)tlen;
    memcpy(p + n, t, tlen);
    n += tlen;
    ck_assert_int_eq(wr_method_decode(p, n, &d), WR_ERR_TOO_DEEP);
    wr_free(p);
    wr_free(t);
}
END_TEST

/* ---- every method: fill generically from the descriptors -------------- */

static const struct wr_method_desc *
desc_of(uint32_t id)
{
    for (size_t i = 0; i < WR_METHOD_COUNT; i++)
        if (wr_method_descs[i].id == id)
            return &wr_method_descs[i];
    return NULL;
}

static uint8_t filler[300];
static uint8_t fill_table_buf[512];

/* Non-zero values derived from the field index; bit patterns: 0 all set,
 * 1 even bits, 2 odd bits. Strings have distinct lengths (the last
 * short string of pattern 0 is 255 long). */
void
fill_method(struct wr_method *m, uint32_t id, int pattern)
{
    const struct wr_method_desc *d = desc_of(id);
    struct wr_tb b;
    struct wr_table t =
        build_all_types(fill_table_buf, sizeof(fill_table_buf), &b);

    ck_assert_ptr_nonnull(d);
    for (size_t i = 0; i < sizeof(filler); i++)
        filler[i] = (uint8_t)(i * 7 + 1);
    memset(m, 0, sizeof(*m));
    m->id = id;
    for (unsigned i = 0; i < d->nfields; i++) {
        void *at = (char *)&m->u + d->fields[i].offset;
        switch (d->fields[i].kind) {
        case WR_FD_OCTET:
            *(uint8_t *)at = (uint8_t)(0x81 + i);
            break;
        case WR_FD_SHORT:
            *(uint16_t *)at = (uint16_t)(0x8123 + i);
            break;
        case WR_FD_LONG:
            *(uint32_t *)at = 0x81234567u + i;
            break;
        case WR_FD_LONGLONG:
            *(uint64_t *)at = 0x8123456789ABCDEFULL + i;
            break;
        case WR_FD_BIT:
            *(bool *)at = pattern == 0 || (int)(i % 2) == pattern - 1;
            break;
        case WR_FD_SHORTSTR:
            *(struct wr_bytes *)at =
                (struct wr_bytes){filler, pattern == 0 ? 255 - i : 1 + i * 3};
            break;
        case WR_FD_LONGSTR:
            *(struct wr_bytes *)at = (struct wr_bytes){filler, 260 + i};
            break;
        case WR_FD_TABLE:
            *(struct wr_table *)at = t;
            break;
        }
    }
}

void
assert_methods_equal(const struct wr_method *a, const struct wr_method *b)
{
    const struct wr_method_desc *d = desc_of(a->id);

    ck_assert_uint_eq(a->id, b->id);
    for (unsigned i = 0; i < d->nfields; i++) {
        const void *x = (const char *)&a->u + d->fields[i].offset;
        const void *y = (const char *)&b->u + d->fields[i].offset;
        switch (d->fields[i].kind) {
        case WR_FD_OCTET:
            ck_assert_uint_eq(*(const uint8_t *)x, *(const uint8_t *)y);
            break;
        case WR_FD_SHORT:
            ck_assert_uint_eq(*(const uint16_t *)x, *(const uint16_t *)y);
            break;
        case WR_FD_LONG:
            ck_assert_uint_eq(*(const uint32_t *)x, *(const uint32_t *)y);
            break;
        case WR_FD_LONGLONG:
            ck_assert_uint_eq(*(const uint64_t *)x, *(const uint64_t *)y);
            break;
        case WR_FD_BIT:
            ck_assert_msg(*(const bool *)x == *(const bool *)y, "%s field %u",
                          d->name, i);
            break;
        case WR_FD_SHORTSTR:
        case WR_FD_LONGSTR:
            ck_assert_msg(wr_bytes_eq(*(const struct wr_bytes *)x,
                                      *(const struct wr_bytes *)y),
                          "%s field %u", d->name, i);
            break;
        case WR_FD_TABLE: {
            const struct wr_table *tx = x, *ty = y;
            ck_assert_uint_eq(tx->len, ty->len);
            ck_assert_mem_eq(tx->ptr, ty->ptr, tx->len);
            ck_assert(wr_table_equal(*tx, *ty));
            break;
        }
        }
    }
}

/* Encode -> decode -> compare, for every method and bit pattern; the
 * decoded method re-encodes to the same bytes. */
START_TEST(method_roundtrip_every)
{
    uint32_t id = wr_method_ids[_i];
    static uint8_t out[2048], out2[2048];

    ck_assert_ptr_nonnull(wr_method_name(id));
    for (int pattern = 0; pattern < 3; pattern++) {
        struct wr_method m, d;
        size_t len, len2;

        fill_method(&m, id, pattern);
        ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
        ck_assert_uint_eq(out[0] << 8 | out[1], WR_METHOD_CLASS(id));
        ck_assert_uint_eq(out[2] << 8 | out[3], WR_METHOD_INDEX(id));
        ck_assert_int_eq(wr_method_decode(out, len, &d), WR_OK);
        assert_methods_equal(&m, &d);
        ck_assert_int_eq(wr_method_encode(&d, out2, sizeof(out2), &len2),
                         WR_OK);
        ck_bytes(out2, len2, out, len);
        /* Every smaller output buffer is refused. */
        for (size_t cap = 0; cap < len; cap++)
            ck_assert_int_eq(wr_method_encode(&m, out2, cap, &len2),
                             WR_ERR_NOSPACE);
    }
}
END_TEST

/* ---- the spec XML: every class and method has a descriptor ------------ */

static bool
xml_attr(const char *tag, const char *name, char *out, size_t cap)
{
    char pat[32];
    const char *p, *e;

    snprintf(pat, sizeof(pat), " %s=\"", name);
    p = strstr(tag, pat);
    if (p == NULL)
        return false;
    p += strlen(pat);
    e = strchr(p, '"');
    if (e == NULL || (size_t)(e - p) >= cap)
        return false;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return true;
}

START_TEST(method_spec_xml_coverage)
{
    FILE *fp = fopen(SPEC_XML, "r");
    char line[1024], cname[64] = "", mname[64] = "", idx[16], full[160];
    char flag[8];
    unsigned cls = 0, nmethods = 0, nfields = 0;
    uint32_t cur = 0;
    bool in_method = false;

    ck_assert_msg(fp != NULL, "cannot open %s (Debian package amqp-specs)",
                  SPEC_XML);
    while (fgets(line, sizeof(line), fp) != NULL) {
        const char *c = strstr(line, "<class ");
        const char *m = strstr(line, "<method ");

        if (c != NULL) {
            ck_assert(xml_attr(c, "name", cname, sizeof(cname)));
            ck_assert(xml_attr(c, "index", idx, sizeof(idx)));
            cls = (unsigned)atoi(idx);
        } else if (m != NULL) {
            const struct wr_method_desc *d;

            ck_assert(xml_attr(m, "name", mname, sizeof(mname)));
            ck_assert(xml_attr(m, "index", idx, sizeof(idx)));
            cur = WR_METHOD_ID(cls, atoi(idx));
            snprintf(full, sizeof(full), "%s.%s", cname, mname);
            ck_assert_msg(wr_method_name(cur) != NULL,
                          "no descriptor for %s (%u, %s)", full, cls, idx);
            ck_assert_str_eq(wr_method_name(cur), full);
            ck_assert_msg(wr_method_is_sync(cur) ==
                              (xml_attr(m, "synchronous", flag, sizeof(flag)) &&
                               flag[0] == '1'),
                          "%s: synchronous", full);
            ck_assert_msg(wr_method_has_content(cur) ==
                              (xml_attr(m, "content", flag, sizeof(flag)) &&
                               flag[0] == '1'),
                          "%s: content", full);
            d = desc_of(cur);
            ck_assert_ptr_nonnull(d);
            nmethods++;
            nfields = 0;
            in_method = strstr(m, "/>") == NULL;
            if (!in_method)
                ck_assert_uint_eq(d->nfields, 0);
        } else if (in_method && strstr(line, "<field ") != NULL) {
            nfields++;
        } else if (in_method && strstr(line, "</method>") != NULL) {
            ck_assert_msg(desc_of(cur)->nfields == nfields,
                          "%s: %u fields in the spec", wr_method_name(cur),
                          nfields);
            in_method = false;
        }
    }
    fclose(fp);
    ck_assert_uint_ge(nmethods, 60);
    /* RabbitMQ's extensions, not in the XML. */
    ck_assert_str_eq(wr_method_name(WR_METHOD_ID(10, 60)),
                     "connection.blocked");
    ck_assert_str_eq(wr_method_name(WR_METHOD_ID(10, 61)),
                     "connection.unblocked");
    ck_assert_str_eq(wr_method_name(WR_METHOD_ID(10, 70)),
                     "connection.update-secret");
    ck_assert_str_eq(wr_method_name(WR_METHOD_ID(10, 71)),
                     "connection.update-secret-ok");
    ck_assert_uint_eq(nmethods + 4, WR_METHOD_COUNT);
}
END_TEST

START_TEST(method_ids_sorted_and_unique)
{
    for (size_t i = 1; i < WR_METHOD_COUNT; i++)
        ck_assert_uint_lt(wr_method_descs[i - 1].id, wr_method_descs[i].id);
    for (size_t i = 0; i < WR_METHOD_COUNT; i++)
        ck_assert_ptr_nonnull(desc_of(wr_method_ids[i]));
}
END_TEST

TCase *
protocol_methods_tcase(void)
{
    TCase *tc = tcase_create("methods");

    tcase_add_test(tc, method_connection_start_golden);
    tcase_add_test(tc, method_connection_tune_golden);
    tcase_add_test(tc, method_basic_publish_golden);
    tcase_add_test(tc, method_basic_deliver_golden);
    tcase_add_test(tc, method_basic_ack_nack_golden);
    tcase_add_test(tc, method_queue_declare_bits_golden);
    tcase_add_test(tc, method_hot_paths);
    tcase_add_test(tc, method_errors);
    tcase_add_test(tc, method_deep_arguments);
    tcase_add_loop_test(tc, method_roundtrip_every, 0, WR_METHOD_COUNT);
    tcase_add_test(tc, method_spec_xml_coverage);
    tcase_add_test(tc, method_ids_sorted_and_unique);
    return tc;
}
