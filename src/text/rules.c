/* fastai 2.7's text_proc_rules over one document, in its order: fix_html, replace_rep, replace_wrep,
 * spec_add_spaces, rm_useless_spaces, replace_all_caps, replace_maj, lowercase (with xxbos). Each
 * rule is a pass from one buffer to the next that reproduces the Python regex it stands for,
 * including its quirks (fix_html turns "&amp;" into "&&", as fastai's does); the classes [A-Z],
 * [a-z], \s and \w are extended to Unicode upper/lower case, whitespace and word characters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_impl.h"

/* ---- buffers ---- */

void fci_buf_add(fci_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}
void fci_buf_adds(fci_buf *b, const char *s) { fci_buf_add(b, s, strlen(s)); }
void fci_buf_free(fci_buf *b) {
    free(b->p);
    *b = (fci_buf){0};
}
static void buf_addcp(fci_buf *b, uint32_t cp) {
    char u[4];
    fci_buf_add(b, u, (size_t)fci_utf8_encode(cp, u));
}

static uint32_t cp_at(const fci_buf *s, size_t i, int *len) { return fci_utf8_decode(s->p + i, s->n - i, len); }

/* ---- fix_html ---- */

static void replace_all(fci_buf *in, fci_buf *out, const char *from, const char *to) {
    size_t lf = strlen(from), lt = strlen(to), i = 0;
    out->n = 0;
    fci_buf_add(out, "", 0);
    for (const char *hit; (hit = strstr(in->p + i, from)); i = (size_t)(hit - in->p) + lf) {
        fci_buf_add(out, in->p + i, (size_t)(hit - in->p) - i);
        fci_buf_add(out, to, lt);
    }
    fci_buf_add(out, in->p + i, in->n - i);
    fci_buf t = *in;
    *in = *out, *out = t;
}

/* Windows-1252 for the C1 range, as html.unescape maps &#128; ... &#159;. */
static const uint16_t cp1252[32] = {
    0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178};

/* The named references worth knowing in movie reviews and Wikipedia text; legacy ones (no ';'
 * needed, as html.unescape accepts) are marked. */
static const struct { const char *name; uint32_t cp; int legacy; } entities[] = {
    {"lt", '<', 1}, {"gt", '>', 1}, {"amp", '&', 1}, {"quot", '"', 1}, {"apos", '\'', 0},
    {"nbsp", 0xA0, 1}, {"copy", 0xA9, 1}, {"reg", 0xAE, 1}, {"deg", 0xB0, 1}, {"middot", 0xB7, 1},
    {"laquo", 0xAB, 1}, {"raquo", 0xBB, 1}, {"pound", 0xA3, 1}, {"cent", 0xA2, 1}, {"yen", 0xA5, 1},
    {"sect", 0xA7, 1}, {"times", 0xD7, 1}, {"divide", 0xF7, 1}, {"frac12", 0xBD, 1},
    {"szlig", 0xDF, 1}, {"eacute", 0xE9, 1}, {"egrave", 0xE8, 1}, {"ecirc", 0xEA, 1},
    {"aacute", 0xE1, 1}, {"agrave", 0xE0, 1}, {"acirc", 0xE2, 1}, {"auml", 0xE4, 1},
    {"ccedil", 0xE7, 1}, {"iacute", 0xED, 1}, {"iuml", 0xEF, 1}, {"ntilde", 0xF1, 1},
    {"oacute", 0xF3, 1}, {"ouml", 0xF6, 1}, {"uacute", 0xFA, 1}, {"uuml", 0xFC, 1},
    {"Eacute", 0xC9, 1}, {"euro", 0x20AC, 0}, {"trade", 0x2122, 0}, {"hellip", 0x2026, 0},
    {"mdash", 0x2014, 0}, {"ndash", 0x2013, 0}, {"lsquo", 0x2018, 0}, {"rsquo", 0x2019, 0},
    {"ldquo", 0x201C, 0}, {"rdquo", 0x201D, 0}, {"bull", 0x2022, 0},
};

/* One character reference at s (just after '&'); returns the bytes consumed, 0 if none. */
static size_t unescape_one(const char *s, uint32_t *cp) {
    if (s[0] == '#') {
        int hex = s[1] == 'x' || s[1] == 'X';
        const char *d = s + 1 + hex, *e = d;
        uint64_t v = 0;
        while (hex ? (*e >= '0' && *e <= '9') || ((*e | 0x20) >= 'a' && (*e | 0x20) <= 'f')
                   : (*e >= '0' && *e <= '9')) {
            int x = *e <= '9' ? *e - '0' : (*e | 0x20) - 'a' + 10;
            if (v < 0x1000000) v = v * (hex ? 16 : 10) + (uint64_t)x;
            e++;
        }
        if (e == d) return 0;
        if (v >= 0x80 && v <= 0x9F) v = cp1252[v - 0x80];
        else if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) v = 0xFFFD;
        *cp = (uint32_t)v;
        return (size_t)(e - s) + (*e == ';');
    }
    for (size_t k = 0; k < sizeof entities / sizeof entities[0]; k++) {
        size_t l = strlen(entities[k].name);
        if (strncmp(s, entities[k].name, l)) continue;
        if (s[l] != ';' && !entities[k].legacy) continue;
        *cp = entities[k].cp;
        return l + (s[l] == ';');
    }
    return 0;
}

static void html_unescape(fci_buf *in, fci_buf *out) {
    out->n = 0;
    fci_buf_add(out, "", 0);
    for (size_t i = 0; i < in->n;) {
        uint32_t cp;
        size_t used = in->p[i] == '&' ? unescape_one(in->p + i + 1, &cp) : 0;
        if (used) {
            buf_addcp(out, cp);
            i += used + 1;
        } else {
            size_t j = i + 1;
            while (j < in->n && in->p[j] != '&') j++;
            fci_buf_add(out, in->p + i, j - i);
            i = j;
        }
    }
    fci_buf t = *in;
    *in = *out, *out = t;
}

/* fastai 2.7's fix_html, replacement for replacement ("..." becomes " \u2026"), then html.unescape. */
static void fix_html(fci_buf *s, fci_buf *t) {
    static const char *const pairs[][2] = {
        {"#39;", "'"}, {"amp;", "&"}, {"#146;", "'"}, {"nbsp;", " "}, {"#36;", "$"}, {"\\n", "\n"},
        {"quot;", "'"}, {"<br />", "\n"}, {"\\\"", "\""}, {"<unk>", "xxunk"}, {" @.@ ", "."},
        {" @-@ ", "-"}, {"...", " \xe2\x80\xa6"},
    };
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) replace_all(s, t, pairs[k][0], pairs[k][1]);
    html_unescape(s, t);
}

/* ---- repetitions ---- */

/* replace_rep: (\S)(\1{2,}) -> " xxrep n c " — a character three or more times in a row. */
static void replace_rep(fci_buf *s, fci_buf *out) {
    out->n = 0;
    fci_buf_add(out, "", 0);
    for (size_t i = 0; i < s->n;) {
        int len, l2;
        uint32_t cp = cp_at(s, i, &len);
        size_t j = i + (size_t)len;
        int64_t n = 1;
        if (!fci_cp_is_space(cp))
            while (j < s->n && cp_at(s, j, &l2) == cp && l2 == len) j += (size_t)len, n++;
        if (n >= 3) {
            char num[32];
            snprintf(num, sizeof num, " xxrep %lld ", (long long)n);
            fci_buf_adds(out, num);
            fci_buf_add(out, s->p + i, (size_t)len);
            fci_buf_add(out, " ", 1);
        } else {
            fci_buf_add(out, s->p + i, j - i);
        }
        i = j;
    }
    fci_buf t = *s;
    *s = *out, *out = t;
}

static size_t span_while(const fci_buf *s, size_t i, int (*pred)(uint32_t)) {
    int len;
    while (i < s->n && pred(cp_at(s, i, &len))) i += (size_t)len;
    return i;
}

/* replace_wrep: (?:\s|^)(\w+)\s+((?:\1\s+)+)\1(\s|\W|$) -> " xxwrep n w e": a word three or more
 * times. The greedy repetition backs off until the last copy ends the word; the match consumes its
 * leading whitespace and the one character e after it, as the regex does. */
typedef struct wrep_match {
    size_t w0, w1;   /* the word                          */
    size_t e0, end;  /* e (empty at the end of the text)  */
    int64_t count;
} wrep_match;

static int wrep_at(const fci_buf *s, size_t p, wrep_match *m) {
    int len;
    size_t w = p;
    if (p < s->n && fci_cp_is_space(cp_at(s, p, &len))) w = p + (size_t)len;
    else if (p != 0) return 0;
    size_t we = span_while(s, w, fci_cp_is_word);
    if (we == w) return 0;
    size_t wl = we - w, q = span_while(s, we, fci_cp_is_space);
    if (q == we) return 0;
    /* pos[k]: where the copy after k repetitions of "w\s+" starts */
    size_t local[64], *pos = local, *heap = NULL, cap = 64;
    int64_t n_rep = 0;
    pos[0] = q;
    for (;;) {
        size_t c = pos[n_rep];
        if (c + wl > s->n || memcmp(s->p + c, s->p + w, wl)) break;
        size_t after = span_while(s, c + wl, fci_cp_is_space);
        if (after == c + wl) break;
        if ((size_t)n_rep + 2 > cap) {
            size_t *g = realloc(heap, 2 * cap * sizeof *g);
            if (!g) break; /* out of memory: fewer repetitions are found, nothing is lost */
            if (!heap) memcpy(g, local, sizeof local);
            heap = pos = g, cap *= 2;
        }
        pos[++n_rep] = after;
    }
    int found = 0;
    for (int64_t k = n_rep; k >= 1 && !found; k--) {
        size_t c = pos[k];
        if (c + wl > s->n || memcmp(s->p + c, s->p + w, wl)) continue;
        size_t e = c + wl;
        if (e < s->n && fci_cp_is_word(cp_at(s, e, &len))) continue;
        *m = (wrep_match){w, we, e, e < s->n ? e + (size_t)len : e, k + 2};
        found = 1;
    }
    free(heap);
    return found;
}

static void replace_wrep(fci_buf *s, fci_buf *out) {
    out->n = 0;
    fci_buf_add(out, "", 0);
    size_t done = 0;
    for (size_t p = 0; p < s->n;) {
        wrep_match m;
        int len;
        if (wrep_at(s, p, &m)) {
            char num[40];
            fci_buf_add(out, s->p + done, p - done);
            snprintf(num, sizeof num, " xxwrep %lld ", (long long)m.count);
            fci_buf_adds(out, num);
            fci_buf_add(out, s->p + m.w0, m.w1 - m.w0);
            fci_buf_add(out, " ", 1);
            fci_buf_add(out, s->p + m.e0, m.end - m.e0);
            done = p = m.end;
            /* the regex's next search starts at the match's end; a match there needs \s or ^ */
            if (m.end == m.e0) break;
        } else {
            cp_at(s, p, &len);
            p += (size_t)len;
        }
    }
    fci_buf_add(out, s->p + done, s->n - done);
    fci_buf t = *s;
    *s = *out, *out = t;
}

/* ---- spaces ---- */

/* spec_add_spaces: ([/#\\]) -> " \1 " */
static void spec_add_spaces(fci_buf *s, fci_buf *out) {
    out->n = 0;
    fci_buf_add(out, "", 0);
    size_t done = 0;
    for (size_t i = 0; i < s->n; i++) {
        char c = s->p[i];
        if (c != '/' && c != '#' && c != '\\') continue;
        fci_buf_add(out, s->p + done, i - done);
        char t[3] = {' ', c, ' '};
        fci_buf_add(out, t, 3);
        done = i + 1;
    }
    fci_buf_add(out, s->p + done, s->n - done);
    fci_buf t = *s;
    *s = *out, *out = t;
}

/* rm_useless_spaces: " {2,}" -> " " (in place) */
static void rm_useless_spaces(fci_buf *s) {
    size_t o = 0;
    char prev = 0;
    for (size_t i = 0; i < s->n; i++) {
        char c = s->p[i];
        if (!(c == ' ' && prev == ' ')) s->p[o++] = c;
        prev = c;
    }
    s->n = o;
    if (s->p) s->p[o] = '\0';
}

/* ---- case ---- */

/* replace_all_caps, (\s|^)([A-Z]+[^a-z\s]*)(?=(\s|$)): a word starting with a capital and holding
 * no lowercase letter; replace_maj, (\s|^)([A-Z][^A-Z\s]*)(?=(\s|$)): a word starting with a
 * capital and holding no other. Both lowercase the word and mark it when it has > 1 character. */
static void case_rule(fci_buf *s, fci_buf *out, int all_caps) {
    out->n = 0;
    fci_buf_add(out, "", 0);
    for (size_t i = 0; i < s->n;) {
        int len;
        uint32_t cp = cp_at(s, i, &len);
        if (fci_cp_is_space(cp)) {
            fci_buf_add(out, s->p + i, (size_t)len);
            i += (size_t)len;
            continue;
        }
        size_t j = i, n_chars = 0;
        int ok = fci_cp_is_upper(cp);
        for (int first = 1; j < s->n; first = 0) {
            uint32_t c = cp_at(s, j, &len);
            if (fci_cp_is_space(c)) break;
            if (!first && (all_caps ? fci_cp_is_lower(c) : fci_cp_is_upper(c))) ok = 0;
            j += (size_t)len, n_chars++;
        }
        if (ok && n_chars > 1) fci_buf_adds(out, all_caps ? "xxup " : "xxmaj ");
        size_t at = out->n;
        fci_buf_add(out, s->p + i, j - i);
        if (ok && !out->oom) fci_utf8_lower_inplace(out->p + at, j - i);
        i = j;
    }
    fci_buf t = *s;
    *s = *out, *out = t;
}

/* lowercase: "xxbos " + t.lower().strip() (+ " xxeos") */
static void lowercase(fci_buf *s, fci_buf *out, const fc_tokenize_opts *o) {
    out->n = 0;
    fci_buf_add(out, "", 0);
    if (!o->no_bos) fci_buf_adds(out, "xxbos ");
    size_t a = 0, b = s->n;
    int len;
    while (a < b && fci_cp_is_space(cp_at(s, a, &len))) a += (size_t)len;
    while (b > a) {
        size_t c = b - 1;
        while (c > a && ((unsigned char)s->p[c] & 0xC0) == 0x80) c--;
        if (!fci_cp_is_space(fci_utf8_decode(s->p + c, b - c, &len)) || (size_t)len != b - c) break;
        b = c;
    }
    size_t at = out->n;
    fci_buf_add(out, s->p + a, b - a);
    if (!o->no_lower && !out->oom) fci_utf8_lower_inplace(out->p + at, b - a);
    if (o->add_eos) fci_buf_adds(out, " xxeos");
    fci_buf t = *s;
    *s = *out, *out = t;
}

/* ---- all rules ---- */

/* Invalid UTF-8 becomes U+FFFD, one per bad byte (Python's errors="replace" per maximal bad run
 * differs only in how many U+FFFD a broken sequence gives). */
static void sanitize(const char *text, fci_buf *out) {
    size_t n = strlen(text);
    fci_buf_add(out, "", 0);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        int len;
        while (j < n && (unsigned char)text[j] < 0x80) j++;
        fci_buf_add(out, text + i, j - i);
        if (j == n) break;
        uint32_t cp = fci_utf8_decode(text + j, n - j, &len);
        if (cp == 0xFFFD && len == 1) buf_addcp(out, 0xFFFD);
        else fci_buf_add(out, text + j, (size_t)len);
        i = j + (size_t)len;
    }
}

char *fci_text_rules(const char *text, const fc_tokenize_opts *o) {
    fci_buf s = {0}, t = {0};
    /* a pass over a failed buffer would read a partial string: stop at the first failure */
#define PASS(call) if (!s.oom && !t.oom) call
    sanitize(text, &s);
    PASS(fix_html(&s, &t));
    PASS(replace_rep(&s, &t));
    PASS(replace_wrep(&s, &t));
    PASS(spec_add_spaces(&s, &t));
    PASS(rm_useless_spaces(&s));
    if (!o->no_lower) {
        PASS(case_rule(&s, &t, 1));
        PASS(case_rule(&s, &t, 0));
    }
    PASS(lowercase(&s, &t, o));
#undef PASS
    int oom = s.oom || t.oom;
    fci_buf_free(&t);
    if (oom) {
        fci_buf_free(&s);
        fc_fail(FC_ERR_NOMEM, "tokenize: out of memory (%zu bytes for a document's text)", strlen(text) * 2);
        return NULL;
    }
    return s.p;
}
