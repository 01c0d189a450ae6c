/* SPDX-License-Identifier: MIT */
/* libFuzzer target: topic matching three ways. The input is "pattern\nkey";
 * wr_topic_match, the trie of a topic exchange (the pattern and its
 * '.'-prefixes bound to one queue each) and a memoized transcription of
 * RabbitMQ's trie_match recursion must agree on every binding. */
#include "../../exchanges/exchanges.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BINDINGS 16

static void
check(bool ok)
{
    if (!ok)
        abort();
}

static bool
routed_to(const struct wr_route_set *rs, const struct wr_queue *q)
{
    for (size_t i = 0; i < rs->count; i++)
        if (rs->queues[i] == q)
            return true;
    return false;
}

/* ---- the reference: RabbitMQ's split_topic_key and trie_match ---------- */

#define MAX_WORDS 256 /* a 255-byte key has at most 256 words */

struct wordv {
    struct wr_bytes w[MAX_WORDS];
    size_t n;
};

/* "" has no words; otherwise split on every '.'. */
static void
split(struct wr_bytes s, struct wordv *v)
{
    uint32_t start = 0;

    v->n = 0;
    if (s.len == 0)
        return;
    for (uint32_t i = 0; i <= s.len; i++) {
        if (i == s.len || s.ptr[i] == '.') {
            v->w[v->n++] = (struct wr_bytes){s.ptr + start, i - start};
            start = i + 1;
        }
    }
}

static bool
is_word(struct wr_bytes w, char c)
{
    return w.len == 1 && w.ptr[0] == (uint8_t)c;
}

/* memo: 0 unknown, 1 false, 2 true, indexed [pattern pos][key pos]. */
static uint8_t memo[MAX_WORDS + 1][MAX_WORDS + 1];

static bool
ref_match(const struct wordv *p, size_t pi, const struct wordv *k, size_t ki)
{
    bool r = false;

    if (memo[pi][ki])
        return memo[pi][ki] == 2;
    if (pi == p->n) {
        r = ki == k->n;
    } else if (is_word(p->w[pi], '#')) {
        /* trie_match_skip_any: '#' takes 0, 1, ... of the remaining */
        for (size_t j = ki; j <= k->n && !r; j++)
            r = ref_match(p, pi + 1, k, j);
    } else if (ki < k->n &&
               (is_word(p->w[pi], '*') || wr_bytes_eq(p->w[pi], k->w[ki]))) {
        r = ref_match(p, pi + 1, k, ki + 1);
    }
    memo[pi][ki] = r ? 2 : 1;
    return r;
}

static bool
reference(struct wr_bytes pattern, struct wr_bytes key)
{
    static struct wordv p, k;

    split(pattern, &p);
    split(key, &k);
    for (size_t i = 0; i <= p.n; i++)
        memset(memo[i], 0, k.n + 1);
    return ref_match(&p, 0, &k, 0);
}

/* ---- the target -------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    struct wr_bytes pattern, key, pats[MAX_BINDINGS];
    struct wr_queue *qs[MAX_BINDINGS];
    struct wr_queue_args qa = {0};
    struct wr_table none = {NULL, 0};
    struct wr_route_set rs = {NULL, 0, 0};
    struct wr_route_req req = {.rkey = {NULL, 0}}; /* no CC, no lookup */
    struct wr_exchange *x;
    size_t n = 0, base = wr_alloc_used();

    if (nl == NULL)
        return 0;
    pattern = (struct wr_bytes){data, (uint32_t)(nl - data)};
    key = (struct wr_bytes){nl + 1, (uint32_t)(size - (size_t)(nl - data) - 1)};
    if (pattern.len > 255 || key.len > 255) /* AMQP shortstr limits */
        return 0;

    /* The pattern and each prefix ending before a '.'. */
    pats[n++] = pattern;
    for (uint32_t i = 0; i < pattern.len && n < MAX_BINDINGS; i++)
        if (pattern.ptr[i] == '.')
            pats[n++] = (struct wr_bytes){pattern.ptr, i};

    x = wr_exchange_new(WR_BYTES_LIT("t"), &wr_exch_topic, none);
    check(x != NULL);
    for (size_t i = 0; i < n; i++) {
        qs[i] = wr_queue_new(WR_BYTES_LIT("q"), &qa, none);
        check(qs[i] != NULL);
        check(wr_exchange_bind(x, WR_DEST_QUEUE, qs[i], pats[i], none, NULL) ==
              WR_OK);
    }
    req.rkey = key;
    req.headers = none;
    for (int pass = 0; pass < 2; pass++) { /* the second from the cache */
        check(wr_exchange_route(x, &req, &rs) == WR_OK);
        for (size_t i = 0; i < n; i++) {
            bool want = reference(pats[i], key);

            check(wr_topic_match(pats[i], key) == want);
            check(routed_to(&rs, qs[i]) == want);
        }
    }
    for (size_t i = 0; i < n; i++) {
        wr_queue_unbind_all(qs[i], NULL, NULL);
        wr_queue_unref(&qs[i]);
    }
    wr_exchange_free(x);
    wr_route_set_cleanup(&rs);
    check(wr_alloc_used() == base);
    return 0;
}
