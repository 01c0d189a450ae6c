/* SPDX-License-Identifier: MIT */
/* The topic exchange type (AMQP 0-9-1 section 3.1.3.3) with RabbitMQ's
 * matching: binding keys form a trie of words, walked breadth-first for a
 * routing key; results are cached per routing key until bindings change. */
#include "exchanges_internal.h"
#include "../common/hmap.h"

#include <string.h>

#define CACHE_MAX 4096 /* routing keys remembered; past that, start over */

struct tnode {
    struct wr_hmap children; /* literal word -> struct tnode */
    struct tnode *star;      /* the child for "*" */
    struct tnode *hash;      /* the child for "#" */
    struct tnode *parent;
    char *word; /* owned copy of the word on the edge from parent */
    uint32_t word_len;
    bool is_hash; /* reached through "#": absorbs any words */
    uint32_t nbindings;
    struct wr_list bindings; /* keys ending here, of wr_binding_int.type_link */
    uint64_t mark;           /* last match step that put it in a set */
};

/* A cached routing result. */
struct centry {
    size_t n;
    struct wr_binding *b[];
};

struct topic {
    struct tnode root;
    size_t nnodes;                 /* root included */
    struct tnode **set_a, **set_b; /* match state sets, set_cap >= nnodes */
    size_t set_cap;
    uint64_t step;        /* match step counter, for tnode.mark */
    struct wr_hmap cache; /* routing key -> struct centry */
};

/* ---- words -------------------------------------------------------------- */

/* RabbitMQ's split_topic_key (rabbit_exchange_type_topic): the empty key has
 * no words; otherwise every '.' separates two words, which may be empty
 * ("a..b" is a, "", b; "a." is a, ""). */
struct words {
    const uint8_t *s;
    size_t len, pos;
    bool done;
};

static void
words_init(struct words *w, struct wr_bytes k)
{
    w->s = k.ptr;
    w->len = k.len;
    w->pos = 0;
    w->done = k.len == 0;
}

static bool
words_next(struct words *w, struct wr_bytes *word)
{
    const uint8_t *dot = NULL;
    size_t end;

    if (w->done)
        return false;
    if (w->pos < w->len)
        dot = memchr(w->s + w->pos, '.', w->len - w->pos);
    end = dot ? (size_t)(dot - w->s) : w->len;
    word->ptr = w->s + w->pos;
    word->len = (uint32_t)(end - w->pos);
    if (dot)
        w->pos = end + 1;
    else
        w->done = true;
    return true;
}

static bool
is_word(struct wr_bytes w, char c)
{
    return w.len == 1 && w.ptr[0] == (uint8_t)c;
}

/* A pointer the hash map accepts for a possibly empty word. */
static const void *
kptr(struct wr_bytes w)
{
    return w.len ? (const void *)w.ptr : "";
}

bool
wr_topic_match(struct wr_bytes pattern, struct wr_bytes key)
{
    struct words p, k, pn, kn, after_hash, hash_key;
    struct wr_bytes pw, kw;
    bool have_hash = false;

    /* Glob matching over words ('#' as '*' and '*' as '?' over letters),
     * greedy with one backtrack point: O(words(pattern) * words(key)). */
    words_init(&p, pattern);
    words_init(&k, key);
    for (;;) {
        kn = k;
        if (!words_next(&kn, &kw))
            break;
        pn = p;
        if (words_next(&pn, &pw)) {
            if (is_word(pw, '#')) {
                have_hash = true;
                after_hash = pn;
                hash_key = k; /* '#' has taken no word yet */
                p = pn;
                continue;
            }
            if (is_word(pw, '*') || wr_bytes_eq(pw, kw)) {
                p = pn;
                k = kn;
                continue;
            }
        }
        if (!have_hash)
            return false;
        /* Let the last '#' take one more word and retry after it. */
        words_next(&hash_key, &kw);
        k = hash_key;
        p = after_hash;
    }
    while (words_next(&p, &pw))
        if (!is_word(pw, '#'))
            return false;
    return true;
}

/* ---- the trie ----------------------------------------------------------- */

static void
node_init(struct tnode *nd, struct tnode *parent)
{
    memset(nd, 0, sizeof(*nd));
    wr_hmap_init(&nd->children);
    wr_list_init(&nd->bindings);
    nd->parent = parent;
}

static struct tnode *
child(const struct tnode *nd, struct wr_bytes w)
{
    if (is_word(w, '*'))
        return nd->star;
    if (is_word(w, '#'))
        return nd->hash;
    if (nd->children.count == 0)
        return NULL;
    return wr_hmap_get(&nd->children, kptr(w), w.len);
}

static struct tnode *
add_child(struct topic *t, struct tnode *nd, struct wr_bytes w)
{
    struct tnode *c = wr_malloc(sizeof(*c));

    if (c == NULL)
        return NULL;
    node_init(c, nd);
    c->word = wr_strndup(w.ptr, w.len);
    c->word_len = w.len;
    if (c->word == NULL)
        goto fail;
    if (is_word(w, '*')) {
        nd->star = c;
    } else if (is_word(w, '#')) {
        c->is_hash = true;
        nd->hash = c;
    } else if (wr_hmap_put(&nd->children, kptr(w), w.len, c, NULL) != WR_OK) {
        goto fail;
    }
    t->nnodes++;
    return c;
fail:
    wr_free(c->word);
    wr_free(c);
    return NULL;
}

/* Removes nd and its ancestors while they hold neither bindings nor
 * children. */
static void
prune(struct topic *t, struct tnode *nd)
{
    while (nd != &t->root && nd->nbindings == 0 && nd->star == NULL &&
           nd->hash == NULL && nd->children.count == 0) {
        struct tnode *parent = nd->parent;
        struct wr_bytes w = {(const uint8_t *)nd->word, nd->word_len};

        if (is_word(w, '*'))
            parent->star = NULL;
        else if (is_word(w, '#'))
            parent->hash = NULL;
        else if (wr_hmap_del(&parent->children, kptr(w), w.len) != NULL &&
                 parent->children.count == 0)
            wr_hmap_cleanup(&parent->children); /* give the slots back */
        wr_hmap_cleanup(&nd->children);
        wr_free(nd->word);
        wr_free(nd);
        t->nnodes--;
        nd = parent;
    }
}

/* Frees nd's subtree (nd too, unless it is the root). Depth is bounded by
 * the words of a 255-byte key. */
static void
free_subtree(struct topic *t, struct tnode *nd)
{
    size_t pos = 0;
    void *v;

    while (wr_hmap_next(&nd->children, &pos, NULL, NULL, &v))
        free_subtree(t, v);
    if (nd->star)
        free_subtree(t, nd->star);
    if (nd->hash)
        free_subtree(t, nd->hash);
    wr_hmap_cleanup(&nd->children);
    if (nd != &t->root) {
        wr_free(nd->word);
        wr_free(nd);
    }
}

/* Makes room in the state sets for n nodes. */
static int
reserve_sets(struct topic *t, size_t n)
{
    struct tnode **a, **b;
    size_t ncap = t->set_cap ? t->set_cap : 16;

    if (n <= t->set_cap)
        return WR_OK;
    while (ncap < n)
        ncap *= 2;
    a = wr_realloc(t->set_a, ncap * sizeof(*a));
    if (a == NULL)
        return WR_ERR_NOMEM;
    t->set_a = a;
    b = wr_realloc(t->set_b, ncap * sizeof(*b));
    if (b == NULL)
        return WR_ERR_NOMEM;
    t->set_b = b;
    t->set_cap = ncap;
    return WR_OK;
}

/* ---- the route cache ------------------------------------------------- */

static void
cache_clear(struct topic *t)
{
    size_t pos = 0;
    void *v;

    if (t->cache.cap == 0)
        return;
    while (wr_hmap_next(&t->cache, &pos, NULL, NULL, &v))
        wr_free(v);
    wr_hmap_cleanup(&t->cache);
}

static void
cache_store(struct topic *t, struct wr_bytes key, struct tnode **set, size_t n)
{
    struct centry *ce;
    size_t nb = 0, i = 0;

    for (size_t s = 0; s < n; s++)
        nb += set[s]->nbindings;
    if (t->cache.count >= CACHE_MAX)
        cache_clear(t);
    ce = wr_malloc(sizeof(*ce) + nb * sizeof(ce->b[0]));
    if (ce == NULL)
        return; /* only a cache */
    for (size_t s = 0; s < n; s++) {
        struct wr_list *l;

        for (l = set[s]->bindings.next; l != &set[s]->bindings; l = l->next)
            ce->b[i++] = wr_binding_of_type_link(l);
    }
    ce->n = i;
    if (wr_hmap_put(&t->cache, kptr(key), key.len, ce, NULL) != WR_OK)
        wr_free(ce);
}

/* ---- matching ----------------------------------------------------------- */

static size_t
set_add(struct topic *t, struct tnode **set, size_t n, struct tnode *nd)
{
    if (nd != NULL && nd->mark != t->step) {
        nd->mark = t->step;
        set[n++] = nd;
    }
    return n;
}

/* A "#" may match zero words: whoever is in the set, its "#" child is too
 * (and that child's, for "#.#"). */
static size_t
closure(struct topic *t, struct tnode **set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        n = set_add(t, set, n, set[i]->hash);
    return n;
}

/* Runs the trie as an automaton over the words of key: each node enters a
 * set at most once per word, so a route costs O(words * nodes) at worst,
 * whatever the '#'s. Returns the nodes where key ends in *out. */
static size_t
match(struct topic *t, struct wr_bytes key, struct tnode ***out)
{
    struct tnode **cur = t->set_a, **nxt = t->set_b, **tmp;
    struct words w;
    struct wr_bytes word;
    size_t n, m;

    t->step++;
    n = closure(t, cur, set_add(t, cur, 0, &t->root));
    words_init(&w, key);
    while (n > 0 && words_next(&w, &word)) {
        t->step++;
        m = 0;
        for (size_t i = 0; i < n; i++) {
            struct tnode *nd = cur[i];

            if (nd->is_hash)
                m = set_add(t, nxt, m, nd); /* '#' takes this word too */
            if (nd->children.count)
                m = set_add(t, nxt, m,
                            wr_hmap_get(&nd->children, kptr(word), word.len));
            m = set_add(t, nxt, m, nd->star);
        }
        n = closure(t, nxt, m);
        tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
    *out = cur;
    return n;
}

/* ---- the exchange type ------------------------------------------------ */

static int
topic_init(struct wr_exchange *x)
{
    struct topic *t = wr_calloc(1, sizeof(*t));

    if (t == NULL)
        return WR_ERR_NOMEM;
    node_init(&t->root, NULL);
    t->nnodes = 1;
    wr_hmap_init(&t->cache);
    if (reserve_sets(t, 1) != WR_OK) {
        wr_free(t->set_a);
        wr_free(t);
        return WR_ERR_NOMEM;
    }
    x->type_data = t;
    return WR_OK;
}

static void
topic_cleanup(struct wr_exchange *x)
{
    struct topic *t = x->type_data;

    if (t == NULL)
        return;
    cache_clear(t);
    free_subtree(t, &t->root);
    wr_free(t->set_a);
    wr_free(t->set_b);
    wr_free(t);
    x->type_data = NULL;
}

static int
topic_bind(struct wr_exchange *x, struct wr_binding *b)
{
    struct topic *t = x->type_data;
    struct wr_bytes key = {(const uint8_t *)b->key, b->key_len}, w;
    struct tnode *nd = &t->root, *c;
    struct words it;
    size_t nw = 0;

    words_init(&it, key);
    while (words_next(&it, &w))
        nw++;
    if (reserve_sets(t, t->nnodes + nw) != WR_OK)
        return WR_ERR_NOMEM;
    words_init(&it, key);
    while (words_next(&it, &w)) {
        c = child(nd, w);
        if (c == NULL && (c = add_child(t, nd, w)) == NULL) {
            prune(t, nd);
            return WR_ERR_NOMEM;
        }
        nd = c;
    }
    wr_list_push_back(&nd->bindings, &wr_binding_int(b)->type_link);
    nd->nbindings++;
    b->type_data = nd;
    cache_clear(t);
    return WR_OK;
}

static void
topic_unbind(struct wr_exchange *x, struct wr_binding *b)
{
    struct topic *t = x->type_data;
    struct tnode *nd = b->type_data;

    wr_list_remove(&wr_binding_int(b)->type_link);
    wr_assert(nd->nbindings > 0);
    nd->nbindings--;
    b->type_data = NULL;
    prune(t, nd);
    cache_clear(t);
}

static void
topic_route(struct wr_exchange *x, const struct wr_route_req *req,
            void (*emit)(void *ctx, struct wr_binding *b), void *ctx)
{
    struct topic *t = x->type_data;
    struct centry *ce = NULL;
    struct tnode **set;
    size_t n;

    if (t->cache.count)
        ce = wr_hmap_get(&t->cache, kptr(req->rkey), req->rkey.len);
    if (ce != NULL) {
        for (size_t i = 0; i < ce->n; i++)
            emit(ctx, ce->b[i]);
        return;
    }
    n = match(t, req->rkey, &set);
    cache_store(t, req->rkey, set, n);
    /* emit() only records: the sets stay valid while we walk them. */
    for (size_t s = 0; s < n; s++) {
        struct wr_list *l;

        for (l = set[s]->bindings.next; l != &set[s]->bindings; l = l->next)
            emit(ctx, wr_binding_of_type_link(l));
    }
}

const struct wr_exch_type wr_exch_topic = {
    .name = "topic",
    .init = topic_init,
    .cleanup = topic_cleanup,
    .bind = topic_bind,
    .unbind = topic_unbind,
    .route = topic_route,
};
