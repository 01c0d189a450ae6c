/* SPDX-License-Identifier: MIT */
/* JSON <-> AMQP conversions for the HTTP API (jansson): field tables
 * (arguments, headers), basic properties, payload encodings. */
#ifndef WR_JSON_H
#define WR_JSON_H

#include "../protocol/protocol.h"

#include <jansson.h>

/* Largest encoded field table accepted from JSON (arguments, headers). */
#define WR_JSON_TABLE_MAX (1u << 20)

/* A JSON string of bytes p[0..n). Invalid UTF-8 sequences become U+FFFD,
 * so any bytes give a valid string. Returns a new reference. */
json_t *wr_json_bytes(const void *p, size_t n);
/* true when p[0..n) is valid UTF-8 without NUL. */
bool wr_json_utf8_ok(const void *p, size_t n);

/* A JSON object of field table t (validated), as RabbitMQ shows it:
 * integers as numbers, strings and byte arrays as strings, timestamps as
 * numbers, decimals and floats as numbers, void as null, nested tables as
 * objects, arrays as arrays. Returns a new reference. */
json_t *wr_json_from_table(struct wr_table t);
/* Encodes JSON object obj as a field table (RabbitMQ's rules: integers
 * become signed 64-bit 'l', other numbers doubles 'd', strings long
 * strings 'S', booleans 't', null void 'V', arrays 'A', objects 'F'),
 * except that integers that fit take signed 32-bit 'I', as AMQP clients
 * encode them.
 * obj NULL or null gives the empty table. On success *buf is a new
 * allocation (wr_free it) holding the table and *t views it. Returns
 * WR_OK, or WR_ERR_INVALID with a reason in err (not an object, a key
 * longer than 255 bytes, nested too deeply, larger than
 * WR_JSON_TABLE_MAX). */
int wr_json_to_table(const json_t *obj, uint8_t **buf, struct wr_table *t,
                     char *err, size_t errlen);

/* A JSON object of the properties that are present (RabbitMQ's names:
 * content_type, headers, delivery_mode, ...). Returns a new reference. */
json_t *wr_json_from_props(const struct wr_props *p);
/* Reads RabbitMQ's properties object into *p. String fields view obj's
 * strings; headers are encoded into *buf (wr_free it; may stay NULL).
 * Returns WR_OK, or WR_ERR_INVALID with a reason in err (unknown
 * property, wrong type, out of range) and *buf NULL. */
int wr_json_to_props(const json_t *obj, struct wr_props *p, uint8_t **buf,
                     char *err, size_t errlen);

/* Base64 (RFC 4648, with padding). encode returns a new JSON string.
 * decode writes at most cap bytes into out and returns WR_OK and *len,
 * WR_ERR_INVALID on a bad character or length, WR_ERR_NOSPACE. */
json_t *wr_json_b64_encode(const void *p, size_t n);
int wr_json_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                       size_t *len);

#endif
