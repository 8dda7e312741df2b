/* A byte-pair-encoding subword tokenizer of our own (Sennrich et al. 2016, in SentencePiece's
 * clothes): text is split at whitespace, each word starts with U+2581 ("▁"), words begin as their
 * UTF-8 characters, and training merges the most frequent adjacent pair of symbols (counted over
 * the distinct words, weighted by their counts; ties to the lowest symbol ids, so the result never
 * depends on hashing) until vocab_sz symbols or no pair occurs twice. Encoding applies the learned
 * merges to each word, lowest rank first, as training did. */
#include <stdlib.h>
#include <string.h>

#include "text_impl.h"

struct fc_bpe {
    int64_t n_sym;
    char **sym;          /* n_sym symbol strings                      */
    int64_t n_base;      /* the first n_base are single characters    */
    /* merges: rank r made symbol n_base + r from (left[r], right[r]) */
    int32_t *left, *right;
    /* lookup of a pair (a << 32 | b) -> rank + 1, open addressing */
    uint64_t *pkey;
    int32_t *pval;
    size_t pcap;
    struct strmap *chars; /* base character -> symbol id */
};

struct strmap;
static void strmap_free(struct strmap *m);

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33, x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

void fc_bpe_free(fc_bpe *b) {
    if (!b) return;
    for (int64_t i = 0; i < b->n_sym; i++) free(b->sym[i]);
    free(b->sym), free(b->left), free(b->right), free(b->pkey), free(b->pval);
    if (b->chars) strmap_free(b->chars);
    free(b->chars);
    free(b);
}

int64_t fc_bpe_len(const fc_bpe *b) { return b ? b->n_sym : 0; }
const char *fc_bpe_symbol(const fc_bpe *b, int64_t i) { return b && i >= 0 && i < b->n_sym ? b->sym[i] : NULL; }

/* ---- a small string -> id map for the base characters and words ---- */

typedef struct strmap {
    char **key;
    int64_t *val;
    size_t cap, n;
} strmap;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The id of s[0..n) (added with id 'next' when absent); -1 out of memory. */
static int64_t strmap_get(strmap *m, const char *s, size_t n, int64_t next, int *added) {
    *added = 0;
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        char **k = calloc(cap, sizeof *k);
        int64_t *v = calloc(cap, sizeof *v);
        if (!k || !v) {
            free(k), free(v);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->key[i]) continue;
            size_t j = hash_bytes(m->key[i], strlen(m->key[i])) & (cap - 1);
            while (k[j]) j = (j + 1) & (cap - 1);
            k[j] = m->key[i], v[j] = m->val[i];
        }
        free(m->key), free(m->val);
        m->key = k, m->val = v, m->cap = cap;
    }
    size_t j = hash_bytes(s, n) & (m->cap - 1);
    for (; m->key[j]; j = (j + 1) & (m->cap - 1))
        if (!strncmp(m->key[j], s, n) && m->key[j][n] == '\0') return m->val[j];
    char *c = malloc(n + 1);
    if (!c) return -1;
    memcpy(c, s, n);
    c[n] = '\0';
    m->key[j] = c, m->val[j] = next, m->n++;
    *added = 1;
    return next;
}

static void strmap_free(strmap *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->key[i]);
    free(m->key), free(m->val);
}

/* ---- pair lookup ---- */

static int32_t pair_rank(const fc_bpe *b, int32_t x, int32_t y) {
    if (!b->pcap) return -1;
    uint64_t key = (uint64_t)(uint32_t)x << 32 | (uint32_t)y;
    for (size_t j = mix64(key) & (b->pcap - 1); b->pval[j]; j = (j + 1) & (b->pcap - 1))
        if (b->pkey[j] == key) return b->pval[j] - 1;
    return -1;
}

static fc_status index_pairs(fc_bpe *b) {
    int64_t n_merge = b->n_sym - b->n_base;
    size_t cap = 16;
    while (cap < (size_t)n_merge * 2 + 2) cap *= 2;
    b->pkey = calloc(cap, sizeof *b->pkey);
    b->pval = calloc(cap, sizeof *b->pval);
    if (!b->pkey || !b->pval) return fc_fail(FC_ERR_NOMEM, "bpe: out of memory (%zu pairs)", cap);
    b->pcap = cap;
    for (int64_t r = 0; r < n_merge; r++) {
        uint64_t key = (uint64_t)(uint32_t)b->left[r] << 32 | (uint32_t)b->right[r];
        size_t j = mix64(key) & (cap - 1);
        while (b->pval[j]) j = (j + 1) & (cap - 1);
        b->pkey[j] = key, b->pval[j] = (int32_t)r + 1;
    }
    return FC_OK;
}

/* ---- words ---- */

/* Calls fn for each whitespace-separated word of text, with "▁" prepended (into buf). */
typedef int (*word_fn)(void *ctx, const char *w, size_t n);
static int for_each_word(const char *text, fci_buf *buf, word_fn fn, void *ctx) {
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t c = fci_utf8_decode(text + i, n - i, &len);
        if (fci_cp_is_space(c)) {
            i += (size_t)len;
            continue;
        }
        buf->n = 0;
        fci_buf_add(buf, "\xe2\x96\x81", 3);
        while (i < n) {
            c = fci_utf8_decode(text + i, n - i, &len);
            if (fci_cp_is_space(c)) break;
            char u[4];
            fci_buf_add(buf, u, (size_t)fci_utf8_encode(c, u)); /* invalid bytes -> U+FFFD */
            i += (size_t)len;
        }
        if (buf->oom || fn(ctx, buf->p, buf->n) != 0) return -1;
    }
    return 0;
}

typedef struct train_ctx {
    strmap words, chars;
    int64_t *count;   /* per distinct word */
    size_t cap_words;
} train_ctx;

static int count_word(void *arg, const char *w, size_t n) {
    train_ctx *t = arg;
    int added;
    int64_t id = strmap_get(&t->words, w, n, (int64_t)t->words.n, &added);
    if (id < 0) return -1;
    if ((size_t)id >= t->cap_words) {
        size_t cap = t->cap_words ? t->cap_words * 2 : 1024;
        int64_t *g = realloc(t->count, cap * sizeof *g);
        if (!g) return -1;
        t->count = g, t->cap_words = cap;
    }
    if (added) t->count[id] = 0;
    t->count[id]++;
    return 0;
}

/* ---- training ---- */

typedef struct pair_counts {
    uint64_t *key;
    int64_t *cnt;
    size_t cap;
} pair_counts;

static void pair_add(pair_counts *pc, uint64_t key, int64_t c) {
    size_t j = mix64(key) & (pc->cap - 1);
    while (pc->cnt[j] && pc->key[j] != key) j = (j + 1) & (pc->cap - 1);
    pc->key[j] = key;
    pc->cnt[j] += c;
}

static fc_status add_symbol(fc_bpe *b, const char *s, size_t n, int64_t *cap) {
    if (b->n_sym == *cap) {
        int64_t c = *cap ? *cap * 2 : 256;
        char **g = realloc(b->sym, (size_t)c * sizeof *g);
        if (!g) return fc_fail(FC_ERR_NOMEM, "bpe_train: out of memory (%lld symbols)", (long long)c);
        b->sym = g, *cap = c;
    }
    char *c = malloc(n + 1);
    if (!c) return fc_fail(FC_ERR_NOMEM, "bpe_train: out of memory");
    memcpy(c, s, n);
    c[n] = '\0';
    b->sym[b->n_sym++] = c;
    return FC_OK;
}

fc_bpe *fc_bpe_train_(const char *const *texts, int64_t n, const fc_bpe_opts *o) {
    static const fc_bpe_opts none = {0};
    if (!o) o = &none;
    int64_t vocab_sz = o->vocab_sz ? o->vocab_sz : 1000;
    if (vocab_sz < 1 || vocab_sz > INT32_MAX) {
        fc_fail(FC_ERR_ARG, "bpe_train: .vocab_sz must be in [1, 2^31), found %lld", (long long)vocab_sz);
        return NULL;
    }
    if (n < 0 || (n > 0 && !texts)) {
        fc_fail(FC_ERR_ARG, "bpe_train: expected n >= 0 texts, found %lld%s", (long long)n, n > 0 ? " and NULL" : "");
        return NULL;
    }
    train_ctx t = {0};
    fci_buf buf = {0};
    fc_bpe *b = calloc(1, sizeof *b);
    int32_t *seq = NULL;
    int64_t *start = NULL, *len = NULL, sym_cap = 0, merge_cap = 0;
    char **wstr = NULL;
    pair_counts pc = {0};
    fc_status st = FC_OK;
    if (!b || !(b->chars = calloc(1, sizeof *b->chars))) goto nomem;
    for (int64_t i = 0; i < n; i++) {
        if (!texts[i]) {
            st = fc_fail(FC_ERR_ARG, "bpe_train: texts[%lld] is NULL", (long long)i);
            goto fail;
        }
        if (for_each_word(texts[i], &buf, count_word, &t) != 0) goto nomem;
    }
    /* the distinct words in order of first appearance, as character symbols */
    size_t nw = t.words.n, total = 0;
    wstr = calloc(nw ? nw : 1, sizeof *wstr);
    start = calloc(nw + 1, sizeof *start);
    len = calloc(nw ? nw : 1, sizeof *len);
    if (!wstr || !start || !len) goto nomem;
    for (size_t i = 0; i < t.words.cap; i++)
        if (t.words.key[i]) wstr[t.words.val[i]] = t.words.key[i];
    for (size_t w = 0; w < nw; w++) total += strlen(wstr[w]);
    seq = malloc((total ? total : 1) * sizeof *seq);
    if (!seq) goto nomem;
    for (size_t w = 0, at = 0; w < nw; w++) {
        const char *s = wstr[w];
        size_t ls = strlen(s);
        start[w] = (int64_t)at;
        for (size_t i = 0; i < ls;) {
            int l, added;
            fci_utf8_decode(s + i, ls - i, &l);
            int64_t id = strmap_get(b->chars, s + i, (size_t)l, b->n_sym, &added);
            if (id < 0) goto nomem;
            if (added && add_symbol(b, s + i, (size_t)l, &sym_cap) != FC_OK) goto fail;
            seq[at++] = (int32_t)id;
            i += (size_t)l;
        }
        len[w] = (int64_t)at - start[w];
    }
    b->n_base = b->n_sym;
    pc.cap = 16;
    while (pc.cap < total * 2 + 2) pc.cap *= 2;
    pc.key = malloc(pc.cap * sizeof *pc.key);
    pc.cnt = malloc(pc.cap * sizeof *pc.cnt);
    if (!pc.key || !pc.cnt) goto nomem;
    while (b->n_sym < vocab_sz) {
        memset(pc.cnt, 0, pc.cap * sizeof *pc.cnt);
        for (size_t w = 0; w < nw; w++)
            for (int64_t i = 0; i + 1 < len[w]; i++)
                pair_add(&pc, (uint64_t)(uint32_t)seq[start[w] + i] << 32 | (uint32_t)seq[start[w] + i + 1], t.count[w]);
        uint64_t best = 0;
        int64_t best_c = 1;
        for (size_t j = 0; j < pc.cap; j++)
            if (pc.cnt[j] > best_c || (pc.cnt[j] == best_c && best_c > 1 && pc.key[j] < best))
                best = pc.key[j], best_c = pc.cnt[j];
        if (best_c < 2) break; /* no pair occurs twice: nothing worth a symbol */
        int32_t x = (int32_t)(best >> 32), y = (int32_t)(best & 0xffffffffu), z = (int32_t)b->n_sym;
        if (b->n_sym - b->n_base == merge_cap) {
            int64_t c = merge_cap ? merge_cap * 2 : 256;
            int32_t *l2 = realloc(b->left, (size_t)c * sizeof *l2);
            if (l2) b->left = l2;
            int32_t *r2 = l2 ? realloc(b->right, (size_t)c * sizeof *r2) : NULL;
            if (!r2) goto nomem;
            b->right = r2, merge_cap = c;
        }
        b->left[z - b->n_base] = x, b->right[z - b->n_base] = y;
        buf.n = 0;
        fci_buf_adds(&buf, b->sym[x]);
        fci_buf_adds(&buf, b->sym[y]);
        if (buf.oom) goto nomem;
        if (add_symbol(b, buf.p, buf.n, &sym_cap) != FC_OK) goto fail;
        for (size_t w = 0; w < nw; w++) { /* merge left to right, as encoding will */
            int32_t *s = seq + start[w];
            int64_t o2 = 0;
            for (int64_t i = 0; i < len[w]; i++) {
                if (i + 1 < len[w] && s[i] == x && s[i + 1] == y) s[o2++] = z, i++;
                else s[o2++] = s[i];
            }
            len[w] = o2;
        }
    }
    if (index_pairs(b) != FC_OK) goto fail;
    goto done;
nomem:
    st = fc_fail(FC_ERR_NOMEM, "bpe_train: out of memory");
fail:
    (void)st;
    fc_bpe_free(b);
    b = NULL;
done:
    free(pc.key), free(pc.cnt), free(seq), free(start), free(len), free(wstr);
    strmap_free(&t.words);
    free(t.count);
    fci_buf_free(&buf);
    return b;
}

/* ---- encode / decode ---- */

typedef struct enc_ctx {
    const fc_bpe *b;
    fci_buf out;     /* the pieces, each followed by '\0' */
    int64_t n;
    int32_t *ids;    /* per character: symbol id, or -1 - byte offset for unknown characters */
    size_t cap;
} enc_ctx;

static int encode_word(void *arg, const char *w, size_t n) {
    enc_ctx *e = arg;
    if (n > e->cap) {
        int32_t *g = realloc(e->ids, n * sizeof *g);
        if (!g) return -1;
        e->ids = g, e->cap = n;
    }
    int32_t *ids = e->ids;
    int64_t k = 0;
    for (size_t i = 0; i < n;) {
        int l;
        fci_utf8_decode(w + i, n - i, &l);
        const struct strmap *m = e->b->chars;
        int64_t id = -1;
        if (m->cap)
            for (size_t j = hash_bytes(w + i, (size_t)l) & (m->cap - 1); m->key[j]; j = (j + 1) & (m->cap - 1))
                if (!strncmp(m->key[j], w + i, (size_t)l) && m->key[j][l] == '\0') {
                    id = m->val[j];
                    break;
                }
        ids[k++] = id >= 0 ? (int32_t)id : (int32_t)(-1 - (int64_t)i);
        i += (size_t)l;
    }
    for (;;) { /* the lowest-ranked merge first, leftmost on ties */
        int32_t best = -1;
        int64_t at = -1;
        for (int64_t i = 0; i + 1 < k; i++) {
            if (ids[i] < 0 || ids[i + 1] < 0) continue;
            int32_t r = pair_rank(e->b, ids[i], ids[i + 1]);
            if (r >= 0 && (best < 0 || r < best)) best = r, at = i;
        }
        if (best < 0) break;
        ids[at] = (int32_t)(e->b->n_base + best);
        memmove(ids + at + 1, ids + at + 2, (size_t)(k - at - 2) * sizeof *ids);
        k--;
    }
    for (int64_t i = 0; i < k; i++) {
        if (ids[i] >= 0) {
            fci_buf_adds(&e->out, e->b->sym[ids[i]]);
        } else {
            size_t off = (size_t)(-1 - (int64_t)ids[i]);
            int l;
            fci_utf8_decode(w + off, n - off, &l);
            fci_buf_add(&e->out, w + off, (size_t)l);
        }
        fci_buf_add(&e->out, "", 1);
        e->n++;
    }
    return e->out.oom ? -1 : 0;
}

fc_status fc_bpe_encode(const fc_bpe *b, const char *text, fc_tokens *out) {
    if (!out) return fc_fail(FC_ERR_ARG, "bpe_encode: expected an output fc_tokens, found NULL");
    *out = (fc_tokens){0};
    if (!b || !text) return fc_error_code() ? fc_error_code() : fc_fail(FC_ERR_ARG, "bpe_encode: expected a bpe and a text, found NULL");
    enc_ctx e = {.b = b};
    fci_buf word = {0};
    int bad = for_each_word(text, &word, encode_word, &e);
    fc_status st = FC_OK;
    if (bad) {
        st = fc_fail(FC_ERR_NOMEM, "bpe_encode: out of memory");
    } else {
        size_t bytes = (size_t)e.n * sizeof(char *) + e.out.n;
        char **tok = malloc(bytes ? bytes : 1);
        if (!tok) {
            st = fc_fail(FC_ERR_NOMEM, "bpe_encode: out of memory (%zu bytes)", bytes);
        } else {
            char *p = (char *)(tok + e.n);
            if (e.out.n) memcpy(p, e.out.p, e.out.n);
            for (int64_t i = 0; i < e.n; i++) tok[i] = p, p += strlen(p) + 1;
            out->n = e.n, out->tok = tok;
        }
    }
    fci_buf_free(&word);
    fci_buf_free(&e.out);
    free(e.ids);
    return st;
}

char *fc_bpe_decode(const fc_tokens *pieces) {
    if (!pieces) {
        fc_fail(FC_ERR_ARG, "bpe_decode: expected pieces, found NULL");
        return NULL;
    }
    fci_buf b = {0};
    fci_buf_add(&b, "", 0);
    for (int64_t i = 0; i < pieces->n; i++) {
        const char *s = pieces->tok[i];
        for (const char *m; (m = strstr(s, "\xe2\x96\x81")); s = m + 3) {
            fci_buf_add(&b, s, (size_t)(m - s));
            if (b.n) fci_buf_add(&b, " ", 1); /* a word start: a space, none before the first */
        }
        fci_buf_adds(&b, s);
    }
    if (b.oom) {
        fci_buf_free(&b);
        fc_fail(FC_ERR_NOMEM, "bpe_decode: out of memory");
        return NULL;
    }
    return b.p;
}
