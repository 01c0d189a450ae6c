/* SPDX-License-Identifier: MIT */
/* The headers exchange type (AMQP 0-9-1 section 3.1.3.4) as RabbitMQ's
 * rabbit_exchange_type_headers: x-match all / any / all-with-x / any-with-x,
 * binding arguments parsed once at bind time. */
#include "exchanges_internal.h"

#include <math.h>
#include <string.h>

/* One binding argument to test against the message headers. */
struct hent {
    struct wr_bytes key;  /* view into the binding's own args copy */
    struct wr_value want; /* likewise */
};

struct hspec {
    bool any; /* any / any-with-x, else all / all-with-x */
    size_t n;
    struct hent e[];
};

static bool
starts_with_x(struct wr_bytes k)
{
    return k.len >= 2 && k.ptr[0] == 'x' && k.ptr[1] == '-';
}

/* ---- value equality ---------------------------------------------------- */

/* RabbitMQ compares values with Erlang's ==, ignoring the field types:
 * integers of any width and timestamps compare as numbers, also against
 * floats; a long string equals a byte array with the same bytes; booleans
 * only equal booleans; decimals compare scale and digits. */
enum vclass {
    VC_SINT,
    VC_UINT,
    VC_FLOAT,
    VC_BIN,
    VC_BOOL,
    VC_DEC,
    VC_LIST,
    VC_VOID,
    VC_OTHER
};

static enum vclass
vclass(uint8_t t)
{
    switch (t) {
    case WR_FT_I8:
    case WR_FT_I16:
    case 'U': /* the spec's short-int, read like 's' */
    case WR_FT_I32:
    case WR_FT_I64:
        return VC_SINT;
    case WR_FT_U8:
    case WR_FT_U16:
    case WR_FT_U32:
    case WR_FT_U64:
    case WR_FT_TIMESTAMP:
        return VC_UINT;
    case WR_FT_FLOAT:
    case WR_FT_DOUBLE:
        return VC_FLOAT;
    case WR_FT_LONGSTR:
    case WR_FT_BYTES:
        return VC_BIN;
    case WR_FT_BOOL:
        return VC_BOOL;
    case WR_FT_DECIMAL:
        return VC_DEC;
    case WR_FT_TABLE:
    case WR_FT_ARRAY:
        return VC_LIST;
    case WR_FT_VOID:
        return VC_VOID;
    }
    return VC_OTHER;
}

static double
as_double(const struct wr_value *v)
{
    return v->type == WR_FT_FLOAT ? (double)v->v.f : v->v.d;
}

/* Integer (signed when sgn) against a float, as Erlang does: below 2^53 the
 * integer becomes a float; beyond, the (integral) float becomes an
 * integer. */
static bool
int_eq_float(bool sgn, int64_t i, uint64_t u, double d)
{
    if (isnan(d))
        return false;
    if (fabs(d) < 9007199254740992.0)
        return (sgn ? (double)i : (double)u) == d;
    if (sgn) {
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
            return false;
        return (int64_t)d == i;
    }
    if (d < 0 || d >= 18446744073709551616.0)
        return false;
    return (uint64_t)d == u;
}

static bool
values_equal(const struct wr_value *a, const struct wr_value *b)
{
    enum vclass ca = vclass(a->type), cb = vclass(b->type);

    if ((ca == VC_SINT || ca == VC_UINT) && (cb == VC_SINT || cb == VC_UINT)) {
        if (ca == cb)
            return ca == VC_SINT ? a->v.i == b->v.i : a->v.u == b->v.u;
        if (ca == VC_UINT) {
            const struct wr_value *t = a;
            a = b;
            b = t;
        }
        return a->v.i >= 0 && (uint64_t)a->v.i == b->v.u;
    }
    if (ca == VC_FLOAT && cb == VC_FLOAT)
        return as_double(a) == as_double(b);
    if (ca == VC_FLOAT || cb == VC_FLOAT) {
        const struct wr_value *n = ca == VC_FLOAT ? b : a;
        double d = as_double(ca == VC_FLOAT ? a : b);
        enum vclass cn = ca == VC_FLOAT ? cb : ca;

        if (cn != VC_SINT && cn != VC_UINT)
            return false;
        return int_eq_float(cn == VC_SINT, n->v.i, n->v.u, d);
    }
    if (ca != cb)
        return false;
    switch (ca) {
    case VC_BIN:
        return wr_bytes_eq(a->v.str, b->v.str);
    case VC_BOOL:
        return a->v.b == b->v.b;
    case VC_DEC:
        return a->v.decimal.scale == b->v.decimal.scale &&
               a->v.decimal.value == b->v.decimal.value;
    case VC_LIST: {
        /* Erlang holds both as lists of typed entries: equal when the
         * encodings are (an empty table even equals an empty array). */
        struct wr_bytes x = {
            a->type == WR_FT_TABLE ? a->v.table.ptr : a->v.array.ptr,
            a->type == WR_FT_TABLE ? a->v.table.len : a->v.array.len};
        struct wr_bytes y = {
            b->type == WR_FT_TABLE ? b->v.table.ptr : b->v.array.ptr,
            b->type == WR_FT_TABLE ? b->v.table.len : b->v.array.len};
        if (x.len == 0 && y.len == 0)
            return true;
        return a->type == b->type && wr_bytes_eq(x, y);
    }
    default:
        return false; /* void data never equals a value */
    }
}

/* ---- binding arguments ------------------------------------------------- */

static int
headers_bind(struct wr_exchange *x, struct wr_binding *b)
{
    struct wr_table args = {b->args, b->args_len};
    struct wr_table_iter it;
    struct wr_bytes k;
    struct wr_value v;
    struct hspec *spec = NULL;
    bool any = false, with_x = false;
    size_t n = 0;

    (void)x;
    if (wr_table_get(args, "x-match", &v) == WR_OK) {
        if (v.type != WR_FT_LONGSTR)
            return wr_binding_refuse(
                b, "Invalid x-match field type; expected longstr");
        if (wr_bytes_eq_str(v.v.str, "any")) {
            any = true;
        } else if (wr_bytes_eq_str(v.v.str, "any-with-x")) {
            any = with_x = true;
        } else if (wr_bytes_eq_str(v.v.str, "all-with-x")) {
            with_x = true;
        } else if (!wr_bytes_eq_str(v.v.str, "all")) {
            return wr_binding_refuse(b, "Invalid x-match field value; "
                                        "expected all, any, all-with-x, "
                                        "or any-with-x");
        }
    }
    /* Two passes: count, then fill. x-match itself never takes part; other
     * x- keys only with the -with-x modes. */
    for (int pass = 0; pass < 2; pass++) {
        wr_table_iter_init(&it, args);
        while (wr_table_next(&it, &k, &v) == WR_OK) {
            if (wr_bytes_eq_str(k, "x-match") || (!with_x && starts_with_x(k)))
                continue;
            if (pass == 1)
                spec->e[spec->n++] = (struct hent){k, v};
            else
                n++;
        }
        if (pass == 0) {
            spec = wr_malloc(sizeof(*spec) + n * sizeof(spec->e[0]));
            if (spec == NULL)
                return WR_ERR_NOMEM;
            spec->any = any;
            spec->n = 0;
        }
    }
    b->type_data = spec;
    return WR_OK;
}

static bool
spec_match(const struct hspec *spec, struct wr_table headers)
{
    for (size_t i = 0; i < spec->n; i++) {
        const struct hent *e = &spec->e[i];
        struct wr_table_iter it;
        struct wr_bytes k;
        struct wr_value have;
        bool found = false, ok = false;

        /* The first header of that name counts, as in RabbitMQ's merge of
         * the sorted lists. */
        wr_table_iter_init(&it, headers);
        while (!found && wr_table_next(&it, &k, &have) == WR_OK)
            found = wr_bytes_eq(k, e->key);
        /* A void binding value asks for presence only. */
        if (found)
            ok = e->want.type == WR_FT_VOID || values_equal(&e->want, &have);
        if (spec->any && ok)
            return true;
        if (!spec->any && !ok)
            return false;
    }
    return !spec->any; /* nothing to test: all matches, any does not */
}

/* ---- the exchange type ------------------------------------------------ */

static int
headers_init(struct wr_exchange *x)
{
    x->type_data = NULL;
    return WR_OK;
}

static void
headers_cleanup(struct wr_exchange *x)
{
    (void)x;
}

static void
headers_unbind(struct wr_exchange *x, struct wr_binding *b)
{
    (void)x;
    wr_free(b->type_data);
    b->type_data = NULL;
}

static void
headers_route(struct wr_exchange *x, const struct wr_route_req *req,
              void (*emit)(void *ctx, struct wr_binding *b), void *ctx)
{
    struct wr_list *pos;

    for (pos = x->bindings.next; pos != &x->bindings; pos = pos->next) {
        struct wr_binding *b =
            WR_CONTAINER_OF(pos, struct wr_binding, src_link);

        if (spec_match(b->type_data, req->headers))
            emit(ctx, b);
    }
}

const struct wr_exch_type wr_exch_headers = {
    .name = "headers",
    .key_once = true,
    .init = headers_init,
    .cleanup = headers_cleanup,
    .bind = headers_bind,
    .unbind = headers_unbind,
    .route = headers_route,
};
