/* fastai's Vocab and make_vocab: the special tokens first, then the tokens seen at least min_freq
 * times by decreasing count (ties in order of first appearance, as Counter.most_common), at most
 * max_vocab in all, then "xxfake" padding. fastai pads with 8 - len % 8 tokens, so a length already
 * a multiple of 8 still gets 8 more: kept, so that ids and sizes match fastai's. Lookup is fastai's
 * o2i: xxfake is unknown (id 0), and of duplicate tokens the last wins. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/core_impl.h"
#include "text_impl.h"

struct fc_vocab {
    int64_t n;
    char **tok;     /* n strings, each malloc'd */
    int64_t *slot;  /* open addressing: id + 1, 0 empty */
    size_t cap;     /* power of two */
};

static uint64_t hash_str(const char *s) { /* FNV-1a */
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void fc_vocab_free(fc_vocab *v) {
    if (!v) return;
    for (int64_t i = 0; i < v->n; i++) free(v->tok[i]);
    free(v->tok);
    free(v->slot);
    free(v);
}

/* Fills the lookup table (xxfake left out, the last of duplicates kept). */
static fc_status index_vocab(fc_vocab *v, const char *who) {
    size_t cap = 16;
    while (cap < (size_t)v->n * 2) cap *= 2;
    v->slot = calloc(cap, sizeof *v->slot);
    if (!v->slot) return fc_fail(FC_ERR_NOMEM, "%s: out of memory (%zu bytes)", who, cap * sizeof *v->slot);
    v->cap = cap;
    for (int64_t i = 0; i < v->n; i++) {
        if (!strcmp(v->tok[i], "xxfake")) continue;
        size_t k = hash_str(v->tok[i]) & (cap - 1);
        while (v->slot[k] && strcmp(v->tok[v->slot[k] - 1], v->tok[i])) k = (k + 1) & (cap - 1);
        v->slot[k] = i + 1;
    }
    return FC_OK;
}

static fc_vocab *vocab_alloc(int64_t n, const char *who) {
    fc_vocab *v = calloc(1, sizeof *v);
    char **tok = calloc(n ? (size_t)n : 1, sizeof *tok);
    if (!v || !tok) {
        free(v), free(tok);
        fc_fail(FC_ERR_NOMEM, "%s: out of memory (%lld tokens)", who, (long long)n);
        return NULL;
    }
    v->tok = tok;
    return v;
}

/* Adds a copy of s as token v->n. */
static fc_status vocab_push(fc_vocab *v, const char *s, size_t len, const char *who) {
    char *c = malloc(len + 1);
    if (!c) return fc_fail(FC_ERR_NOMEM, "%s: out of memory (%zu bytes)", who, len + 1);
    memcpy(c, s, len);
    c[len] = '\0';
    v->tok[v->n++] = c;
    return FC_OK;
}

fc_vocab *fc_vocab_new(const char *const *tokens, int64_t n) {
    if (n < 0 || (n > 0 && !tokens)) {
        fc_fail(FC_ERR_ARG, "vocab_new: expected n >= 0 tokens, found %lld%s", (long long)n,
                n > 0 ? " and a NULL array" : "");
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)
        if (!tokens[i]) {
            fc_fail(FC_ERR_ARG, "vocab_new: tokens[%lld] is NULL", (long long)i);
            return NULL;
        }
    fc_vocab *v = vocab_alloc(n, "vocab_new");
    if (!v) return NULL;
    for (int64_t i = 0; i < n; i++)
        if (vocab_push(v, tokens[i], strlen(tokens[i]), "vocab_new") != FC_OK) goto fail;
    if (index_vocab(v, "vocab_new") != FC_OK) goto fail;
    return v;
fail:
    fc_vocab_free(v);
    return NULL;
}

/* ---- make_vocab ---- */

typedef struct count_entry {
    const char *tok;
    int64_t count, first;
} count_entry;

static int by_count(const void *a, const void *b) {
    const count_entry *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int is_special(const char *t) {
    for (int k = 0; k < FC_TEXT_N_SPECIAL; k++)
        if (!strcmp(t, fc_text_special[k])) return 1;
    return 0;
}

fc_vocab *fc_vocab_from_tokens_(const fc_tokens *docs, int64_t n, const fc_vocab_opts *o) {
    static const fc_vocab_opts none = {0};
    if (!o) o = &none;
    int64_t min_freq = o->min_freq ? o->min_freq : 3, max_vocab = o->max_vocab ? o->max_vocab : 60000;
    if (min_freq < 0 || max_vocab < 0) {
        fc_fail(FC_ERR_ARG, "vocab_from_tokens: .%s must be > 0, found %lld", min_freq < 0 ? "min_freq" : "max_vocab",
                (long long)(min_freq < 0 ? min_freq : max_vocab));
        return NULL;
    }
    if (n < 0 || (n > 0 && !docs)) {
        fc_fail(FC_ERR_ARG, "vocab_from_tokens: expected n >= 0 documents, found %lld%s", (long long)n,
                n > 0 ? " and a NULL array" : "");
        return NULL;
    }
    int64_t total = 0;
    for (int64_t d = 0; d < n; d++) total += docs[d].n;
    size_t cap = 16;
    while (cap < (size_t)total * 2 + 2) cap *= 2;
    int64_t *slot = calloc(cap, sizeof *slot);
    count_entry *ent = malloc(((size_t)total + 1) * sizeof *ent);
    fc_vocab *v = NULL;
    int64_t n_ent = 0;
    if (!slot || !ent) {
        fc_fail(FC_ERR_NOMEM, "vocab_from_tokens: out of memory (%zu bytes to count %lld tokens)",
                cap * sizeof *slot + (size_t)total * sizeof *ent, (long long)total);
        goto done;
    }
    for (int64_t d = 0; d < n; d++)
        for (int64_t i = 0; i < docs[d].n; i++) {
            const char *t = docs[d].tok[i];
            size_t k = hash_str(t) & (cap - 1);
            while (slot[k] && strcmp(ent[slot[k] - 1].tok, t)) k = (k + 1) & (cap - 1);
            if (!slot[k]) {
                ent[n_ent] = (count_entry){t, 0, n_ent};
                slot[k] = ++n_ent;
            }
            ent[slot[k] - 1].count++;
        }
    qsort(ent, (size_t)n_ent, sizeof *ent, by_count); /* stable by the first-appearance key */
    int64_t keep = n_ent < max_vocab ? n_ent : max_vocab, len = FC_TEXT_N_SPECIAL;
    for (int64_t i = 0; i < keep; i++) len += ent[i].count >= min_freq && !is_special(ent[i].tok);
    if (len > max_vocab) len = max_vocab;
    v = vocab_alloc(len + 8, "vocab_from_tokens");
    if (!v) goto done;
    for (int k = 0; k < FC_TEXT_N_SPECIAL && v->n < len; k++)
        if (vocab_push(v, fc_text_special[k], strlen(fc_text_special[k]), "vocab_from_tokens") != FC_OK) goto fail;
    for (int64_t i = 0; i < keep && v->n < len; i++)
        if (ent[i].count >= min_freq && !is_special(ent[i].tok) &&
            vocab_push(v, ent[i].tok, strlen(ent[i].tok), "vocab_from_tokens") != FC_OK)
            goto fail;
    for (int64_t k = 0, pad = 8 - v->n % 8; k < pad; k++)
        if (vocab_push(v, "xxfake", 6, "vocab_from_tokens") != FC_OK) goto fail;
    if (index_vocab(v, "vocab_from_tokens") != FC_OK) goto fail;
    goto done;
fail:
    fc_vocab_free(v);
    v = NULL;
done:
    free(ent);
    free(slot);
    return v;
}

/* ---- lookup ---- */

int64_t fc_vocab_len(const fc_vocab *v) { return v ? v->n : 0; }

const char *fc_vocab_token(const fc_vocab *v, int64_t id) {
    return v && id >= 0 && id < v->n ? v->tok[id] : NULL;
}

int64_t fc_vocab_id(const fc_vocab *v, const char *token) {
    if (!v || !token || !v->cap) return FC_TOK_UNK;
    size_t k = hash_str(token) & (v->cap - 1);
    while (v->slot[k]) {
        if (!strcmp(v->tok[v->slot[k] - 1], token)) return v->slot[k] - 1;
        k = (k + 1) & (v->cap - 1);
    }
    return FC_TOK_UNK;
}

fc_tensor *fc_vocab_numericalize(const fc_vocab *v, const fc_tokens *doc) {
    if (!v || !doc) {
        if (!fc_error_code()) fc_fail(FC_ERR_ARG, "vocab_numericalize: expected a vocab and a document, found NULL");
        return NULL;
    }
    fc_scope *s = fci_scope_suspend(); /* the tensor belongs to the caller, not to an open scope */
    fc_tensor *t = fc_tensor_new(FC_SHAPE(doc->n), FC_DTYPE_I64);
    fci_scope_resume(s);
    if (!t) return NULL;
    int64_t *ids = fc_tensor_data(t);
    for (int64_t i = 0; i < doc->n; i++) ids[i] = fc_vocab_id(v, doc->tok[i]);
    return t;
}

/* ---- decode ---- */

/* Appends w with its first letter (cap) or all letters (up) upper-cased, U+2581 back to spaces. */
static void add_word(fci_buf *b, const char *w, int cap, int up) {
    size_t n = strlen(w);
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t c = fci_utf8_decode(w + i, n - i, &len);
        if (c == 0x2581) c = ' ';
        if (up || (cap && i == 0)) c = fci_cp_upper(c);
        char u[4];
        fci_buf_add(b, u, (size_t)fci_utf8_encode(c, u));
        i += (size_t)len;
    }
}

static int64_t parse_count(const char *s) {
    int64_t n = 0;
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || n > 1000000) return -1;
        n = n * 10 + (*s - '0');
    }
    return n;
}

char *fc_vocab_decode(const fc_vocab *v, const int64_t *ids, int64_t n) {
    if (!v || n < 0 || (n > 0 && !ids)) {
        if (!fc_error_code()) fc_fail(FC_ERR_ARG, "vocab_decode: expected a vocab and n >= 0 ids, found %s",
                                      v ? "a NULL or negative id array" : "a NULL vocab");
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= v->n) {
            fc_fail(FC_ERR_ARG, "vocab_decode: ids[%lld] = %lld is outside the vocabulary [0, %lld)",
                    (long long)i, (long long)ids[i], (long long)v->n);
            return NULL;
        }
    fci_buf b = {0};
    fci_buf_add(&b, "", 0);
    int cap = 0, up = 0;
    for (int64_t i = 0; i < n; i++) {
        const char *t = v->tok[ids[i]];
        if (ids[i] == FC_TOK_BOS || ids[i] == FC_TOK_PAD) continue;
        if (ids[i] == FC_TOK_MAJ) { cap = 1; continue; }
        if (ids[i] == FC_TOK_UP) { up = 1; continue; }
        /* xxrep n c, xxwrep n w; fastai's rules run before xxmaj/xxup, which then mark w itself:
         * xxwrep 3 xxmaj word */
        int64_t reps = 1, j = i;
        int word_rep = ids[i] == FC_TOK_WREP;
        if ((ids[i] == FC_TOK_REP || word_rep) && i + 2 < n && parse_count(v->tok[ids[i + 1]]) >= 0) {
            int c2 = cap, u2 = up;
            j = i + 2;
            while (j + 1 < n && (ids[j] == FC_TOK_MAJ || ids[j] == FC_TOK_UP)) {
                c2 |= ids[j] == FC_TOK_MAJ, u2 |= ids[j] == FC_TOK_UP;
                j++;
            }
            reps = parse_count(v->tok[ids[i + 1]]);
            t = v->tok[ids[j]];
            cap = c2, up = u2;
        }
        i = j;
        if (b.n) fci_buf_add(&b, " ", 1);
        for (int64_t r = 0; r < reps; r++) {
            if (r && word_rep) fci_buf_add(&b, " ", 1);
            add_word(&b, t, cap && (r == 0 || word_rep), up);
        }
        cap = up = 0;
    }
    if (b.oom) {
        fci_buf_free(&b);
        fc_fail(FC_ERR_NOMEM, "vocab_decode: out of memory (%lld tokens)", (long long)n);
        return NULL;
    }
    return b.p;
}

/* ---- save / load ---- */

/* File: "fastc-vocab 1 <n>\n", then n lines, one token each, with '\\', '\n' and '\r' escaped as
 * \\, \n and \r (tokens can be newlines). */
#define MAGIC "fastc-vocab 1 "

fc_status fc_vocab_save(const fc_vocab *v, const char *path) {
    if (!v || !path) return fc_error_code() ? fc_error_code() : fc_fail(FC_ERR_ARG, "vocab_save: expected a vocab and a path, found NULL");
    size_t lp = strlen(path);
    char *tmp = malloc(lp + 16);
    if (!tmp) return fc_fail(FC_ERR_NOMEM, "vocab_save: out of memory");
    snprintf(tmp, lp + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fc_status st = fc_fail(FC_ERR_IO, "vocab_save: cannot create '%s': %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    FILE *f = fdopen(fd, "wb");
    int ok = f != NULL;
    if (ok) ok = fprintf(f, MAGIC "%lld\n", (long long)v->n) > 0;
    for (int64_t i = 0; ok && i < v->n; i++) {
        for (const char *c = v->tok[i]; ok && *c; c++) {
            if (*c == '\\') ok = fputs("\\\\", f) >= 0;
            else if (*c == '\n') ok = fputs("\\n", f) >= 0;
            else if (*c == '\r') ok = fputs("\\r", f) >= 0;
            else ok = fputc(*c, f) != EOF;
        }
        if (ok) ok = fputc('\n', f) != EOF;
    }
    if (ok) ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    if (f ? fclose(f) != 0 : close(fd) != 0) ok = 0;
    fc_status st = FC_OK;
    if (!ok) st = fc_fail(FC_ERR_IO, "vocab_save: cannot write '%s': %s", tmp, strerror(e));
    else if (rename(tmp, path) != 0)
        st = fc_fail(FC_ERR_IO, "vocab_save: cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (st != FC_OK) remove(tmp);
    free(tmp);
    return st;
}

static fc_status utf8_ok(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        int len;
        if (fci_utf8_decode(s + i, n - i, &len) == 0xFFFD && len == 1) return FC_ERR_FORMAT;
        i += (size_t)len;
    }
    return FC_OK;
}

fc_vocab *fc_vocab_load(const char *path) {
    if (!path) {
        fc_fail(FC_ERR_ARG, "vocab_load: expected a path, found NULL");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fc_fail(FC_ERR_IO, "vocab_load: cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    fci_buf b = {0};
    char chunk[65536];
    for (size_t got; (got = fread(chunk, 1, sizeof chunk, f)) > 0;) fci_buf_add(&b, chunk, got);
    int rerr = ferror(f);
    fclose(f);
    fc_vocab *v = NULL;
    char *line = NULL;
    if (rerr || b.oom) {
        fc_fail(rerr ? FC_ERR_IO : FC_ERR_NOMEM, "vocab_load: cannot read '%s'", path);
        goto fail;
    }
    long long n = -1;
    char *p = b.p, *end = b.p + b.n, *nl = b.n ? memchr(p, '\n', b.n) : NULL;
    if (!nl || strncmp(p, MAGIC, strlen(MAGIC)) || sscanf(p + strlen(MAGIC), "%lld", &n) != 1 || n < 0 ||
        n > (long long)b.n) {
        fc_fail(FC_ERR_FORMAT, "vocab_load: '%s' is not a fastc vocabulary: expected a first line '" MAGIC
                "<count>'", path);
        goto fail;
    }
    v = vocab_alloc(n, "vocab_load");
    line = malloc(b.n + 1);
    if (!v || !line) {
        if (!line) fc_fail(FC_ERR_NOMEM, "vocab_load: out of memory (%zu bytes)", b.n + 1);
        goto fail;
    }
    p = nl + 1;
    for (long long i = 0; i < n; i++) {
        nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        if (!nl) {
            fc_fail(FC_ERR_FORMAT, "vocab_load: '%s' is truncated: expected %lld tokens, found %lld", path, n, i);
            goto fail;
        }
        size_t k = 0;
        for (char *c = p; c < nl; c++) {
            if (*c != '\\') {
                line[k++] = *c;
                continue;
            }
            char e = ++c < nl ? *c : 0;
            if (e != '\\' && e != 'n' && e != 'r') {
                fc_fail(FC_ERR_FORMAT, "vocab_load: '%s' line %lld: expected an escape \\\\, \\n or \\r, found '\\%c'",
                        path, i + 2, e ? e : ' ');
                goto fail;
            }
            line[k++] = e == 'n' ? '\n' : e == 'r' ? '\r' : '\\';
        }
        if (utf8_ok(line, k) != FC_OK || memchr(line, '\0', k)) {
            fc_fail(FC_ERR_FORMAT, "vocab_load: '%s' line %lld: expected UTF-8 text, found invalid bytes", path, i + 2);
            goto fail;
        }
        if (vocab_push(v, line, k, "vocab_load") != FC_OK) goto fail;
        p = nl + 1;
    }
    if (p != end) {
        fc_fail(FC_ERR_FORMAT, "vocab_load: '%s': expected %lld tokens, found more lines after them", path, n);
        goto fail;
    }
    if (index_vocab(v, "vocab_load") != FC_OK) goto fail;
    free(line);
    fci_buf_free(&b);
    return v;
fail:
    free(line);
    fc_vocab_free(v);
    fci_buf_free(&b);
    return NULL;
}
