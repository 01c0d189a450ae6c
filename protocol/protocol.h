/* SPDX-License-Identifier: MIT */
/* The AMQP 0-9-1 wire codec: frames, methods, field tables and content
 * headers. Sans-I/O: bytes in, structs and "bytes consumed" out; encoders
 * write into a caller's buffer. libc only; shared by broker and client.
 *
 * Decoded values are views: every struct wr_bytes / struct wr_table in a
 * decoded struct points into the input buffer and is valid only as long as
 * that buffer is. Copy (or take a reference to) what you keep. */
#ifndef WR_PROTOCOL_H
#define WR_PROTOCOL_H

#include "../common/common.h"

#include <stdarg.h>

/* AMQP 0-9-1, section 4.2.2: the protocol header. */
#define WR_PROTO_HEADER "AMQP\x00\x00\x09\x01"
#define WR_PROTO_HEADER_LEN 8

/* AMQP 0-9-1, General Frame Format. */
enum wr_frame_type {
    WR_FRAME_METHOD = 1,
    WR_FRAME_HEADER = 2,
    WR_FRAME_BODY = 3,
    WR_FRAME_HEARTBEAT = 8,
};
#define WR_FRAME_END 0xCE
#define WR_FRAME_HEADER_SIZE 7 /* type, channel, size */
#define WR_FRAME_OVERHEAD 8    /* header + frame-end */
/* frame-max before tune (the spec's frame-min-size) */
#define WR_FRAME_MIN_SIZE 4096

/* AMQP reply codes (spec constants). */
enum wr_reply_code {
    WR_REPLY_SUCCESS = 200,
    WR_REPLY_CONTENT_TOO_LARGE = 311,
    WR_REPLY_NO_ROUTE = 312,
    WR_REPLY_NO_CONSUMERS = 313,
    WR_REPLY_CONNECTION_FORCED = 320,
    WR_REPLY_INVALID_PATH = 402,
    WR_REPLY_ACCESS_REFUSED = 403,
    WR_REPLY_NOT_FOUND = 404,
    WR_REPLY_RESOURCE_LOCKED = 405,
    WR_REPLY_PRECONDITION_FAILED = 406,
    WR_REPLY_FRAME_ERROR = 501,
    WR_REPLY_SYNTAX_ERROR = 502,
    WR_REPLY_COMMAND_INVALID = 503,
    WR_REPLY_CHANNEL_ERROR = 504,
    WR_REPLY_UNEXPECTED_FRAME = 505,
    WR_REPLY_RESOURCE_ERROR = 506,
    WR_REPLY_NOT_ALLOWED = 530,
    WR_REPLY_NOT_IMPLEMENTED = 540,
    WR_REPLY_INTERNAL_ERROR = 541,
};

/* AMQP's name of reply code ("NOT_FOUND" for 404, "OK" for 200), or
 * "ERROR" for a code the spec does not define. */
const char *wr_reply_name(uint16_t code);
/* Formats RabbitMQ's reply text into out (cap bytes, NUL-terminated):
 * the code's name, " - ", then fmt ("NOT_FOUND - no queue 'q' in vhost
 * '/'"), cut to fit. Returns its length. */
size_t wr_reply_vformat(char *out, size_t cap, uint16_t code, const char *fmt,
                        va_list ap);

/* An operation refused, as a value: the AMQP reply code and RabbitMQ's
 * text. The layer that speaks to the client renders it (amqp/ as
 * channel.close or connection.close, mgmt/ as an HTTP status). */
struct wr_op_err {
    uint16_t code;  /* AMQP reply code: 403, 404, 405, 406 or 503 */
    bool hard;      /* AMQP makes it a connection error (503) */
    bool bare;      /* the HTTP API gives text alone, without the reply
                       code's name (RabbitMQ's API checks this one itself) */
    char text[240]; /* RabbitMQ's text, without the "NOT_FOUND - " prefix */
};

/* ---- protocol header ------------------------------------------------- */

/* Checks the first bytes a client sends (AMQP 0-9-1 section 4.2.2).
 * Returns WR_OK when buf starts with WR_PROTO_HEADER, WR_AGAIN when the
 * len < 8 bytes seen so far are a prefix of it, WR_ERR_PROTO_HEADER
 * otherwise (the server then sends its own header and closes). */
int wr_proto_header_check(const uint8_t *buf, size_t len);

/* ---- frames ---------------------------------------------------------- */

struct wr_frame {
    uint8_t type; /* enum wr_frame_type */
    uint16_t channel;
    uint32_t size;          /* payload size */
    const uint8_t *payload; /* view into the input buffer */
};

/* Reads one frame from buf[0..len). frame_max is the negotiated maximum
 * total frame size (WR_FRAME_MIN_SIZE before tune; 0 = no limit; a value
 * below WR_FRAME_MIN_SIZE counts as WR_FRAME_MIN_SIZE).
 * Returns WR_OK and sets *f and *consumed (header + payload + frame-end);
 * WR_AGAIN when more bytes are needed (*consumed untouched); or
 * WR_ERR_FRAME_TYPE, WR_ERR_FRAME_SIZE (checked from the 7-byte header,
 * before waiting for the payload), WR_ERR_FRAME_END. Borrows buf. */
int wr_frame_decode(const uint8_t *buf, size_t len, uint32_t frame_max,
                    struct wr_frame *f, size_t *consumed);

/* Writes the 7-byte frame header into out (which must hold 7 bytes). */
void wr_frame_header_encode(uint8_t *out, uint8_t type, uint16_t channel,
                            uint32_t size);

/* Writes a whole frame (header, payload, frame-end) into out[0..cap).
 * Returns WR_OK and *len, or WR_ERR_NOSPACE. */
int wr_frame_encode(uint8_t *out, size_t cap, uint8_t type, uint16_t channel,
                    const uint8_t *payload, uint32_t size, size_t *len);

/* The 8-byte heartbeat frame (AMQP 0-9-1 section 4.2.7: channel 0). */
extern const uint8_t wr_heartbeat_frame[8];

/* ---- field tables (AMQP 0-9-1 section 4.2.5.5, RabbitMQ's type set) ---- */

/* An encoded field table: the bytes after the 4-byte length prefix. A
 * decoded wr_table has been validated (every nested value well-formed,
 * depth within WR_TABLE_MAX_DEPTH). */
struct wr_table {
    const uint8_t *ptr;
    uint32_t len;
};
/* An encoded field array: the bytes after its 4-byte length prefix. */
struct wr_array {
    const uint8_t *ptr;
    uint32_t len;
};

#define WR_TABLE_MAX_DEPTH 64

/* Value type octets as RabbitMQ reads and writes them. */
enum wr_field_type {
    WR_FT_BOOL = 't',      /* boolean, 1 octet */
    WR_FT_I8 = 'b',        /* signed 8 */
    WR_FT_U8 = 'B',        /* unsigned 8 */
    WR_FT_I16 = 's',       /* signed 16 */
    WR_FT_U16 = 'u',       /* unsigned 16 */
    WR_FT_I32 = 'I',       /* signed 32 */
    WR_FT_U32 = 'i',       /* unsigned 32 */
    WR_FT_I64 = 'l',       /* signed 64 */
    WR_FT_U64 = 'L',       /* unsigned 64 (read only by some peers) */
    WR_FT_FLOAT = 'f',     /* IEEE 754 single */
    WR_FT_DOUBLE = 'd',    /* IEEE 754 double */
    WR_FT_DECIMAL = 'D',   /* scale octet + unsigned 32 */
    WR_FT_LONGSTR = 'S',   /* 4-byte length + bytes */
    WR_FT_BYTES = 'x',     /* 4-byte length + bytes (byte array) */
    WR_FT_ARRAY = 'A',     /* 4-byte length + values */
    WR_FT_TIMESTAMP = 'T', /* unsigned 64, seconds */
    WR_FT_TABLE = 'F',     /* nested table */
    WR_FT_VOID = 'V',      /* no value */
};

struct wr_value {
    uint8_t type; /* enum wr_field_type */
    union {
        bool b;     /* t */
        int64_t i;  /* b s I l */
        uint64_t u; /* B u i L T */
        float f;    /* f */
        double d;   /* d */
        struct {    /* D */
            uint8_t scale;
            uint32_t value;
        } decimal;
        struct wr_bytes str;   /* S x (views) */
        struct wr_table table; /* F */
        struct wr_array array; /* A */
    } v;
};

/* Validates an encoded table body (without its length prefix) up to
 * max_depth levels of nesting. Returns WR_OK, WR_ERR_SYNTAX,
 * WR_ERR_FIELD_TYPE or WR_ERR_TOO_DEEP. */
int wr_table_validate(const uint8_t *p, size_t len, int max_depth);

/* Iterates a validated table. Usage:
 *   struct wr_table_iter it; wr_table_iter_init(&it, t);
 *   while (wr_table_next(&it, &key, &val) == WR_OK) ...
 * wr_table_next returns WR_OK, or WR_AGAIN at the end (or WR_ERR_SYNTAX if
 * the table was not validated and is malformed). key and val are views. */
struct wr_table_iter {
    const uint8_t *p;
    size_t len, off;
};
void wr_table_iter_init(struct wr_table_iter *it, struct wr_table t);
int wr_table_next(struct wr_table_iter *it, struct wr_bytes *key,
                  struct wr_value *val);
/* Same for arrays (values without names). */
struct wr_array_iter {
    const uint8_t *p;
    size_t len, off;
};
void wr_array_iter_init(struct wr_array_iter *it, struct wr_array a);
int wr_array_next(struct wr_array_iter *it, struct wr_value *val);

/* Finds key in t. Returns WR_OK and *val, or WR_ERR_NOT_FOUND. */
int wr_table_get(struct wr_table t, const char *key, struct wr_value *val);
/* Number of entries in t. */
size_t wr_table_count(struct wr_table t);
/* Integer value of any integer type (b B s u I i l L T); WR_ERR_INVALID for
 * others. */
int wr_value_int(const struct wr_value *v, int64_t *out);
/* Semantic equality of two tables: same keys with equal values, in any
 * order (RabbitMQ compares declare arguments this way). */
bool wr_table_equal(struct wr_table a, struct wr_table b);

/* Building tables into a caller's buffer. begin writes a 4-byte length
 * placeholder; add_* append entries; end patches the length. Errors are
 * sticky: check b->err (WR_OK or WR_ERR_NOSPACE) once at the end.
 * Nested: wr_tb_begin_table(b, key) ... wr_tb_end(b), arrays likewise
 * with wr_tb_begin_array(b, key) and the wr_tb_elem_* appenders. Up to
 * WR_TABLE_MAX_DEPTH levels. */
struct wr_tb {
    uint8_t *buf;
    size_t cap, len;
    size_t stack[WR_TABLE_MAX_DEPTH]; /* offsets of open length prefixes */
    int depth;
    int err;
};
/* Starts a top-level table at buf (the result, length prefix included, is
 * buf[0..b->len)). */
void wr_tb_init(struct wr_tb *b, uint8_t *buf, size_t cap);
void wr_tb_add_bool(struct wr_tb *b, const char *key, bool v);
void wr_tb_add_int(struct wr_tb *b, const char *key, uint8_t type, int64_t v);
void wr_tb_add_u64(struct wr_tb *b, const char *key, uint8_t type,
                   uint64_t v); /* L or T */
void wr_tb_add_float(struct wr_tb *b, const char *key, float v);
void wr_tb_add_double(struct wr_tb *b, const char *key, double v);
void wr_tb_add_decimal(struct wr_tb *b, const char *key, uint8_t scale,
                       uint32_t v);
void wr_tb_add_str(struct wr_tb *b, const char *key, struct wr_bytes s);
void wr_tb_add_bytes(struct wr_tb *b, const char *key, struct wr_bytes s);
void wr_tb_add_void(struct wr_tb *b, const char *key);
/* Appends an already-encoded value (type octet + payload) under key. */
void wr_tb_add_value(struct wr_tb *b, const char *key,
                     const struct wr_value *v);
void wr_tb_begin_table(struct wr_tb *b, const char *key);
void wr_tb_begin_array(struct wr_tb *b, const char *key);
/* Array element appenders (inside begin_array). */
void wr_tb_elem_value(struct wr_tb *b, const struct wr_value *v);
void wr_tb_elem_str(struct wr_tb *b, struct wr_bytes s);
void wr_tb_elem_begin_table(struct wr_tb *b);
/* Closes the innermost open table or array, or the top-level one. */
void wr_tb_end(struct wr_tb *b);
/* The finished top-level table as a wr_table view (after the final
 * wr_tb_end; borrows b->buf). */
struct wr_table wr_tb_table(const struct wr_tb *b);

/* ---- content header (AMQP 0-9-1 section 4.2.6.1, basic properties) ---- */

enum wr_prop_flag {
    WR_PROP_CONTENT_TYPE = 1 << 15,
    WR_PROP_CONTENT_ENCODING = 1 << 14,
    WR_PROP_HEADERS = 1 << 13,
    WR_PROP_DELIVERY_MODE = 1 << 12,
    WR_PROP_PRIORITY = 1 << 11,
    WR_PROP_CORRELATION_ID = 1 << 10,
    WR_PROP_REPLY_TO = 1 << 9,
    WR_PROP_EXPIRATION = 1 << 8,
    WR_PROP_MESSAGE_ID = 1 << 7,
    WR_PROP_TIMESTAMP = 1 << 6,
    WR_PROP_TYPE = 1 << 5,
    WR_PROP_USER_ID = 1 << 4,
    WR_PROP_APP_ID = 1 << 3,
    WR_PROP_CLUSTER_ID = 1 << 2,
};

/* The 14 basic properties. A field is present when its flag is set. */
struct wr_props {
    uint16_t flags; /* enum wr_prop_flag */
    struct wr_bytes content_type;
    struct wr_bytes content_encoding;
    struct wr_table headers;
    uint8_t delivery_mode;
    uint8_t priority;
    struct wr_bytes correlation_id;
    struct wr_bytes reply_to;
    struct wr_bytes expiration;
    struct wr_bytes message_id;
    uint64_t timestamp;
    struct wr_bytes type;
    struct wr_bytes user_id;
    struct wr_bytes app_id;
    struct wr_bytes cluster_id;
};

struct wr_content_header {
    uint16_t class_id; /* 60 for basic */
    uint16_t weight;   /* must be 0 */
    uint64_t body_size;
    struct wr_props props;
    /* The encoded property list (flags included) as received: the broker
     * stores these bytes once and replays them on delivery. View. */
    const uint8_t *raw_props;
    uint32_t raw_props_len;
};

/* Decodes a content-header frame payload. Returns WR_OK, WR_ERR_SYNTAX
 * (truncated, trailing bytes, bad lengths, a flag word with the
 * continuation bit set) or a table error for malformed headers. */
int wr_content_header_decode(const uint8_t *p, size_t len,
                             struct wr_content_header *h);
/* Decodes just an encoded property list (flags first). */
int wr_props_decode(const uint8_t *p, size_t len, struct wr_props *props);
/* Encodes the property list of props into out[0..cap) (flags first).
 * Returns WR_OK and *len or WR_ERR_NOSPACE. */
int wr_props_encode(const struct wr_props *props, uint8_t *out, size_t cap,
                    size_t *len);
/* Encodes a whole content-header payload (class, weight, size, props). */
int wr_content_header_encode(uint16_t class_id, uint64_t body_size,
                             const struct wr_props *props, uint8_t *out,
                             size_t cap, size_t *len);

/* ---- methods ---------------------------------------------------------- */

#include "methods_gen.h"

/* Decodes a method frame payload (class-id, method-id, arguments) into *m.
 * Returns WR_OK, WR_ERR_UNKNOWN_METHOD, WR_ERR_SYNTAX (truncated or
 * trailing bytes), or a table error. Views point into p. */
int wr_method_decode(const uint8_t *p, size_t len, struct wr_method *m);
/* Encodes *m as a method frame payload into out[0..cap). Returns WR_OK and
 * *len, WR_ERR_NOSPACE, WR_ERR_UNKNOWN_METHOD, or WR_ERR_INVALID (a short
 * string longer than 255). */
int wr_method_encode(const struct wr_method *m, uint8_t *out, size_t cap,
                     size_t *len);
/* Encodes a whole method frame (header, payload, frame-end) for channel. */
int wr_method_frame_encode(uint16_t channel, const struct wr_method *m,
                           uint8_t *out, size_t cap, size_t *len);
/* "basic.publish" for an id, or NULL if unknown. */
const char *wr_method_name(uint32_t id);
/* true if the method carries content (publish, return, deliver, get-ok). */
bool wr_method_has_content(uint32_t id);
/* true if the method is synchronous (expects a reply). */
bool wr_method_is_sync(uint32_t id);

#define WR_METHOD_ID(class_id, method_id)                                      \
    (((uint32_t)(class_id) << 16) | (uint32_t)(method_id))
#define WR_METHOD_CLASS(id) ((uint16_t)((id) >> 16))
#define WR_METHOD_INDEX(id) ((uint16_t)((id)&0xFFFF))

#endif
