/* The word split after fastai's rules: a rule-based re-implementation of spaCy 3's English
 * tokenizer (what fastai's SpacyTokenizer runs), then fastai's post rule replace_space, and the
 * parallel driver. spaCy's algorithm, kept step for step: the text is cut at spaces (a single ' '
 * is dropped, any other whitespace run is a token); each piece is looked up in the tokenizer
 * exceptions, else prefixes and suffixes are peeled off one at a time (re-checking the
 * exceptions), the rest is kept whole when it is a URL or e-mail address, else split at infixes.
 * The patterns are spaCy's en punctuation lists (prefixes, suffixes with their look-behinds,
 * infixes: ellipses, symbols, 1-2, a,b, well-known, a:b) and its English exceptions (contractions
 * do|n't, it|'s, i|'m, gon|na ..., abbreviations e.g. a.m.). fastai lowercases before splitting, so
 * only the lowercase forms matter. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "text_impl.h"

const char *const fc_text_special[FC_TEXT_N_SPECIAL] = {
    "xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj"};

/* ---- tokenizer exceptions ---- */

/* key: the piece; split: byte lengths of its tokens (0-terminated; {0}: kept whole). */
typedef struct exc_entry {
    char key[24];
    unsigned char split[4];
} exc_entry;

static exc_entry *excs;
static size_t n_excs;
static unsigned char exc_first[256]; /* the first bytes of the keys: most pieces are rejected by it */
enum { EXC_SLOTS = 4096 };           /* open addressing over the ~900 keys: id + 1, 0 empty */
static uint16_t exc_slot[EXC_SLOTS];

static uint32_t exc_hash(const char *s, size_t n) { /* FNV-1a */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}
static pthread_once_t excs_once = PTHREAD_ONCE_INIT;

static int exc_cmp(const void *a, const void *b) { return strcmp(((const exc_entry *)a)->key, ((const exc_entry *)b)->key); }

/* Adds "a|b|c" (the split marked by '|'), and its variant with a curly apostrophe. */
static void exc_add(const char *spec, size_t *cap) {
    for (int curly = 0; curly < 2; curly++) {
        if (curly && !strchr(spec, '\'')) return;
        if (n_excs == *cap) {
            size_t c = *cap ? *cap * 2 : 1024;
            exc_entry *g = realloc(excs, c * sizeof *g);
            if (!g) return; /* out of memory at start-up: fewer exceptions, never a crash */
            excs = g, *cap = c;
        }
        exc_entry *e = &excs[n_excs];
        memset(e, 0, sizeof *e);
        size_t k = 0, part = 0, np = 0;
        for (const char *c = spec; *c && k + 3 < sizeof e->key; c++) {
            if (*c == '|') {
                if (np < 3) e->split[np++] = (unsigned char)part;
                part = 0;
                continue;
            }
            if (*c == '\'' && curly) {
                memcpy(e->key + k, "\xe2\x80\x99", 3), k += 3, part += 3;
            } else {
                e->key[k++] = *c, part++;
            }
        }
        if (np) e->split[np] = (unsigned char)part;
        n_excs++;
    }
}

static void excs_init(void) {
    size_t cap = 0;
    char b[64];
#define ADD(...) (snprintf(b, sizeof b, __VA_ARGS__), exc_add(b, &cap))
    ADD("i|'m"), ADD("i|m"), ADD("i|'m|a"), ADD("i|m|a");
    static const char *const pr_ll[] = {"i", "you", "he", "she", "it", "we", "they"};
    for (int k = 0; k < 7; k++) {
        const char *p = pr_ll[k];
        ADD("%s|'ll", p), ADD("%s|ll", p), ADD("%s|'ll|'ve", p), ADD("%s|ll|ve", p);
        ADD("%s|'d", p), ADD("%s|d", p), ADD("%s|'d|'ve", p), ADD("%s|d|ve", p);
    }
    static const char *const pr_ve[] = {"i", "you", "we", "they"};
    for (int k = 0; k < 4; k++) ADD("%s|'ve", pr_ve[k]), ADD("%s|ve", pr_ve[k]);
    static const char *const pr_re[] = {"you", "we", "they"};
    for (int k = 0; k < 3; k++) ADD("%s|'re", pr_re[k]), ADD("%s|re", pr_re[k]);
    static const char *const pr_s[] = {"he", "she", "it"};
    for (int k = 0; k < 3; k++) ADD("%s|'s", pr_s[k]), ADD("%s|s", pr_s[k]);
    static const char *const wh[] = {"who", "what", "when", "where", "why", "how", "there", "that"};
    for (int k = 0; k < 8; k++) {
        const char *w = wh[k];
        ADD("%s|'s", w), ADD("%s|s", w), ADD("%s|'ll", w), ADD("%s|ll", w), ADD("%s|'ll|'ve", w);
        ADD("%s|ll|ve", w), ADD("%s|'re", w), ADD("%s|re", w), ADD("%s|'ve", w), ADD("%s|ve", w);
        ADD("%s|'d", w), ADD("%s|d", w), ADD("%s|'d|'ve", w), ADD("%s|d|ve", w);
    }
    static const char *const verbs[] = {"ca", "could", "do", "does", "did", "had", "may", "might",
                                        "must", "need", "ought", "sha", "should", "wo", "would"};
    for (int k = 0; k < 15; k++) {
        const char *v = verbs[k];
        ADD("%s|n't", v), ADD("%s|nt", v), ADD("%s|n't|'ve", v), ADD("%s|nt|ve", v);
    }
    static const char *const modals[] = {"could", "might", "must", "should", "would"};
    for (int k = 0; k < 5; k++) ADD("%s|'ve", modals[k]), ADD("%s|ve", modals[k]);
    static const char *const aux[] = {"ai", "are", "is", "was", "were", "have", "has", "dare"};
    for (int k = 0; k < 8; k++) ADD("%s|n't", aux[k]), ADD("%s|nt", aux[k]);
    for (int h = 1; h <= 12; h++) ADD("%d|a.m.", h), ADD("%d|am", h), ADD("%d|p.m.", h), ADD("%d|pm", h);
    static const char *const other[] = {
        "y'|all", "y|all", "how|'d|'y", "not|'ve", "not|ve", "can|not", "gon|na", "got|ta", "let|'s",
        "c'm|on",
        /* kept whole */
        "doin", "doin'", "goin", "goin'", "nuthin", "nuthin'", "nothin", "nothin'", "ol", "ol'",
        "somethin", "somethin'", "lovin", "lovin'", "havin", "havin'", "'cause", "'em", "'ll", "'nuff",
        "'s", "'re", "'d", "'cos", "'coz", "'cuz", "'bout", "ma'am", "o'clock", "w/o", "and/or",
        "a.m.", "p.m.", "co.", "e.g.", "i.e.", "vs.", "v.s.", "''", "c++",
        /* emoticons without capitals */
        ":)", ":-)", ":))", ":-))", ":)))", ":-)))", "(:", "(-:", "=)", "(=", ":]", ":-]", "[:", "[-:",
        ":o)", "(o:", ":}", ":-}", "8)", "8-)", "(-8", ";)", ";-)", "(;", "(-;", ":(", ":-(", ":((",
        ":-((", ":(((", ":-(((", "):", ")-:", "=(", ">:(", ":')", ":'-)", ":'(", ":'-(", ":|", ":-|",
        "=|", ":p", ":-p", ":1", ":o", ":-o", ":0", ":-0", ":()", ">:o", ":*", ":-*", ":3", ":-3",
        "=3", ":>", ":->", ":x", ":-x", "<3", "</3", "<33", ";p", ";-p", "^_^", "^__^", "^___^",
        ">.<", ">.>", "<.<", "._.", ";_;", "-_-", "-__-", "v.v", "v_v", "o_o", "o.o", "0_0", "._.",
        "(>_<)", "(*_*)", "-_-", "^^", ":.", "=]", "=[", "[=",
    };
    for (size_t k = 0; k < sizeof other / sizeof other[0]; k++) exc_add(other[k], &cap);
    for (char c = 'a'; c <= 'z'; c++) ADD("%c.", c);
    exc_add("\xc3\xa4.", &cap), exc_add("\xc3\xb6.", &cap), exc_add("\xc3\xbc.", &cap);
#undef ADD
    if (!excs) return;
    qsort(excs, n_excs, sizeof *excs, exc_cmp);
    /* spaCy removes contractions that are words: ill, its, hell, shell, shed, were, well, whore */
    static const char *const exclude[] = {"ill", "its", "hell", "shell", "shed", "were", "well", "whore"};
    size_t o = 0;
    for (size_t i = 0; i < n_excs; i++) {
        int drop = o > 0 && !strcmp(excs[i].key, excs[o - 1].key);
        for (size_t k = 0; k < 8 && !drop; k++) drop = !strcmp(excs[i].key, exclude[k]);
        if (!drop) excs[o++] = excs[i];
    }
    n_excs = o;
    if (n_excs > EXC_SLOTS / 2) n_excs = EXC_SLOTS / 2; /* never: the lists above hold ~900 */
    for (size_t i = 0; i < n_excs; i++) {
        exc_first[(unsigned char)excs[i].key[0]] = 1;
        uint32_t k = exc_hash(excs[i].key, strlen(excs[i].key)) & (EXC_SLOTS - 1);
        while (exc_slot[k]) k = (k + 1) & (EXC_SLOTS - 1);
        exc_slot[k] = (uint16_t)(i + 1);
    }
}

static const exc_entry *exc_find(const char *s, size_t n) {
    if (n == 0 || n >= sizeof excs[0].key || !excs || !exc_first[(unsigned char)s[0]]) return NULL;
    for (uint32_t k = exc_hash(s, n) & (EXC_SLOTS - 1); exc_slot[k]; k = (k + 1) & (EXC_SLOTS - 1)) {
        const exc_entry *e = &excs[exc_slot[k] - 1];
        if (!memcmp(e->key, s, n) && e->key[n] == '\0') return e;
    }
    return NULL;
}

/* ---- character classes of spaCy's punctuation lists ---- */

static int in_list(uint32_t cp, const uint32_t *l, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (l[i] == cp) return 1;
    return 0;
}
/* LIST_PUNCT (single characters) */
static const uint32_t punct[] = {0x2026, ',', ':', ';', '!', '?', 0xBF, 0x61F, 0xA1, '(', ')', '[', ']', '{',
                                 '}', '<', '>', '_', '#', '*', '&', 0x3002, 0xFF1F, 0xFF01, 0xFF0C, 0x3001,
                                 0xFF1B, 0xFF1A, 0xFF5E, 0xB7, 0x964, 0x60C, 0x6D4, 0x61B, 0x66A};
/* LIST_QUOTES */
static const uint32_t quotes[] = {'\'', '"', 0x201D, 0x201C, '`', 0x2018, 0xB4, 0x2019, 0x201A, ',',
                                  0x201E, 0xBB, 0xAB, 0x300C, 0x300D, 0x300E, 0x300F, 0xFF08, 0xFF09,
                                  0x3014, 0x3015, 0x3010, 0x3011, 0x300A, 0x300B, 0x3008, 0x3009};
static int is_punct(uint32_t c) {
    if (c < 128) return c && strchr(",:;!?()[]{}<>_#*&", (int)c) != NULL;
    return in_list(c, punct, sizeof punct / sizeof punct[0]);
}
static int is_quote(uint32_t c) {
    if (c < 128) return c == '\'' || c == '"' || c == '`' || c == ',';
    return in_list(c, quotes, sizeof quotes / sizeof quotes[0]);
}
static int is_currency(uint32_t c) {
    return c == '$' || c == 0xA3 || c == 0x20AC || c == 0xA5 || c == 0xE3F || (c >= 0x20A0 && c <= 0x20BF) || c == 0xFDFC;
}
/* LIST_ICONS: Unicode's "other symbols" (So) but the degree sign — the blocks that hold them */
static int is_icon(uint32_t c) {
    return c == 0xA6 || c == 0xA9 || c == 0xAE || (c >= 0x2100 && c <= 0x214F && c != 0x2102 && c != 0x2107) ||
           (c >= 0x2190 && c <= 0x21FF) || (c >= 0x2300 && c <= 0x23FF) || (c >= 0x2500 && c <= 0x27BF) ||
           (c >= 0x2B00 && c <= 0x2BFF) || (c >= 0x1F000 && c <= 0x1FAFF);
}
static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_dash(uint32_t c) { return c == 0x2014 || c == 0x2013; }

/* A cursor over the code points of one piece. */
typedef struct piece {
    const char *s; /* the lowercase text decisions are made on */
    size_t n;
} piece;

static uint32_t cp_at(piece p, size_t i, int *len) { return fci_utf8_decode(p.s + i, p.n - i, len); }
static size_t prev_start(piece p, size_t i) { /* start of the code point before byte i */
    if (i == 0) return 0;
    i--;
    while (i > 0 && ((unsigned char)p.s[i] & 0xC0) == 0x80) i--;
    return i;
}
static uint32_t cp_before(piece p, size_t i) {
    int len;
    return i == 0 ? 0 : cp_at(p, prev_start(p, i), &len);
}

/* ---- prefixes, suffixes, infixes ---- */

static size_t find_prefix(piece p) {
    if (!p.n) return 0;
    int len, l2;
    uint32_t c = cp_at(p, 0, &len);
    if (c == '.') {
        size_t j = 0;
        while (j < p.n && p.s[j] == '.') j++;
        return j >= 2 ? j : 0;
    }
    if (c == '+') return (size_t)len < p.n && is_digit(cp_at(p, (size_t)len, &l2)) ? 0 : (size_t)len;
    if (c == 0xA7 || c == '%' || c == '=' || is_dash(c) || is_punct(c) || is_quote(c) || is_currency(c) ||
        is_icon(c))
        return (size_t)len;
    return 0;
}

static const char *const units[] = {
    "km", "km\xc2\xb2", "km\xc2\xb3", "m", "m\xc2\xb2", "m\xc2\xb3", "dm", "dm\xc2\xb2", "dm\xc2\xb3", "cm",
    "cm\xc2\xb2", "cm\xc2\xb3", "mm", "mm\xc2\xb2", "mm\xc2\xb3", "ha", "\xc2\xb5m", "nm", "yd", "in", "ft",
    "kg", "g", "mg", "\xc2\xb5g", "t", "lb", "oz", "m/s", "km/h", "kmh", "mph", "mbar", "mb", "kb", "gb",
    "tb", "%", "\xd0\xba\xd0\xbc", "\xd0\xbc", "\xd0\xb4\xd0\xbc", "\xd1\x81\xd0\xbc", "\xd0\xbc\xd0\xbc",
    "\xd0\xbd\xd0\xbc", "\xd0\xba\xd0\xb3", "\xd0\xb3", "\xd0\xbc\xd0\xb3", "\xd0\xba\xd0\xb1",
    "\xd0\xbc\xd0\xb1", "\xd0\xb3\xd0\xb1", "\xd1\x82\xd0\xb1"};

/* The period suffix's look-behind: [0-9{al}{e}{p}(?:{q})] of spaCy's punctuation.py. */
static int dot_suffix_after(uint32_t b) {
    return is_digit(b) || fci_cp_is_lower(b) || b == '%' || b == 0xB2 || b == '-' || b == '+' || is_punct(b) ||
           is_quote(b) || b == '|' || b == '(' || b == '?' || b == ':' || b == ')';
}

/* spaCy's suffix_search: the leftmost position from which one suffix pattern reaches the end. */
static size_t find_suffix(piece p) {
    if (!p.n) return 0;
    size_t best = p.n;
    size_t last = prev_start(p, p.n);
    int len;
    uint32_t c = cp_at(p, last, &len), b = cp_before(p, last);
    if (is_punct(c) || is_quote(c) || is_dash(c)) best = last;
    if (c == '.') {
        size_t j = p.n;
        while (j > 0 && p.s[j - 1] == '.') j--;
        if (p.n - j >= 2) best = j;
        else if (dot_suffix_after(b)) best = last;
        else if (fci_cp_is_upper(b) && fci_cp_is_upper(cp_before(p, prev_start(p, last)))) best = last;
        else if (b && b < 128 && strchr("FfCcKk", (int)b) && cp_before(p, prev_start(p, last)) == 0xB0)
            best = last;
    }
    if (is_digit(b) && (c == '+' || is_currency(c))) best = last;
    if (p.n >= 2 && last >= 1) { /* 's */
        size_t q = prev_start(p, last);
        uint32_t a = cp_at(p, q, &len);
        if ((c == 's' || c == 'S') && (a == '\'' || a == 0x2019) && q < best) best = q;
    }
    int has_digit = 0; /* units follow a digit */
    for (size_t i = p.n > 8 ? p.n - 8 : 0; i < p.n && !has_digit; i++) has_digit = p.s[i] >= '0' && p.s[i] <= '9';
    for (size_t k = 0; has_digit && k < sizeof units / sizeof units[0]; k++) {
        size_t lu = strlen(units[k]);
        if (lu >= p.n || memcmp(p.s + p.n - lu, units[k], lu)) continue;
        if (is_digit(cp_before(p, p.n - lu)) && p.n - lu < best) best = p.n - lu;
    }
    return p.n - best;
}

/* One infix match at or after i: [*a, *b); 0 when none. spaCy's en infixes in their order. */
static int find_infix(piece p, size_t i, size_t *a, size_t *b) {
    for (; i < p.n;) {
        int len, l2;
        uint32_t c = cp_at(p, i, &len), prev = cp_before(p, i);
        size_t nx = i + (size_t)len;
        uint32_t next = nx < p.n ? cp_at(p, nx, &l2) : 0;
        if (c == '.' && next == '.') { /* \.\.+ */
            size_t j = i;
            while (j < p.n && p.s[j] == '.') j++;
            *a = i, *b = j;
            return 1;
        }
        if (c == 0x2026 || is_icon(c)) {
            *a = i, *b = nx;
            return 1;
        }
        if (is_digit(prev) && (c == '+' || c == '-' || c == '*' || c == '^') && (is_digit(next) || next == '-')) {
            *a = i, *b = nx;
            return 1;
        }
        if (c == '.' && (fci_cp_is_lower(prev) || is_quote(prev)) && (fci_cp_is_upper(next) || is_quote(next))) {
            *a = i, *b = nx;
            return 1;
        }
        if (c == ',' && fci_cp_is_alpha(prev) && fci_cp_is_alpha(next)) {
            *a = i, *b = nx;
            return 1;
        }
        if (fci_cp_is_alpha(prev) || is_digit(prev)) {
            /* hyphens: - – — -- --- —— ~ (in this order; each must be followed by a letter) */
            static const char *const hy[] = {"-", "\xe2\x80\x93", "\xe2\x80\x94", "--", "---",
                                             "\xe2\x80\x94\xe2\x80\x94", "~"};
            for (int k = 0; k < 7; k++) {
                size_t lh = strlen(hy[k]);
                if (i + lh >= p.n || memcmp(p.s + i, hy[k], lh)) continue;
                if (fci_cp_is_alpha(cp_at(p, i + lh, &l2))) {
                    *a = i, *b = i + lh;
                    return 1;
                }
            }
            if ((c == ':' || c == '<' || c == '>' || c == '=' || c == '/') && fci_cp_is_alpha(next)) {
                *a = i, *b = nx;
                return 1;
            }
        }
        i = nx;
    }
    return 0;
}

/* spaCy's URL_MATCH (host names, e-mail addresses; the protocol and path forms cannot occur after
 * spec_add_spaces has spaced out '/' and '#'). */
static int is_host_char(uint32_t c) { return c < 128 ? (fci_cp_is_word(c) || c == '-') : c >= 0xA1 && c <= 0xFFFF; }
static int host_match(piece p, size_t h) {
    size_t i = h, n_labels = 0;
    for (;;) { /* labels ending in '.' */
        size_t j = i;
        int len;
        while (j < p.n && p.s[j] != '.' && is_host_char(cp_at(p, j, &len))) j += (size_t)len;
        if (j == p.n || p.s[j] != '.') break;
        if (j == i) return 0;
        uint32_t first = cp_at(p, i, &len), lastc = cp_before(p, j);
        if (first == '_' || first == '-' || lastc == '_' || lastc == '-') return 0;
        n_labels++;
        i = j + 1;
    }
    if (!n_labels) return 0;
    size_t j = i, n_tld = 0; /* the TLD: 2..63 lowercase letters */
    int len;
    while (j < p.n && fci_cp_is_lower(cp_at(p, j, &len))) j += (size_t)len, n_tld++;
    if (n_tld < 2 || n_tld > 63) return 0;
    if (j < p.n && p.s[j] == ':') { /* port */
        size_t k = j + 1;
        while (k < p.n && is_digit((unsigned char)p.s[k])) k++;
        if (k - j - 1 >= 2 && k - j - 1 <= 5) j = k;
    }
    if (j < p.n && p.s[j] == '?') return 1; /* resource path: \S* */
    return j == p.n;
}
static int url_match(piece p) {
    if (!memchr(p.s, '.', p.n)) return 0;
    for (size_t k = p.n; k > 0; k--)
        if (p.s[k - 1] == '@' && host_match(p, k)) return 1;
    return host_match(p, 0);
}

/* ---- the split ---- */

typedef struct span {
    size_t a, n;
} span;
typedef struct spans {
    span *v;
    size_t n, cap;
    int oom;
} spans;
static void push(spans *t, size_t a, size_t n) {
    if (t->oom || !n) return;
    if (t->n == t->cap) {
        size_t c = t->cap ? 2 * t->cap : 64;
        span *g = realloc(t->v, c * sizeof *g);
        if (!g) {
            t->oom = 1;
            return;
        }
        t->v = g, t->cap = c;
    }
    t->v[t->n++] = (span){a, n};
}

static void push_special(spans *t, size_t at, const exc_entry *e, size_t n) {
    if (!e->split[0]) {
        push(t, at, n);
        return;
    }
    for (int k = 0; k < 4 && e->split[k]; k++) push(t, at, e->split[k]), at += e->split[k];
}

/* One non-space piece s[at, at+n) of the whole text (base: decisions on the lowercase copy). */
static void split_piece(const char *low, size_t at, size_t n, spans *t) {
    piece p = {low + at, n};
    const exc_entry *e = exc_find(p.s, p.n);
    if (e) {
        push_special(t, at, e, n);
        return;
    }
    span pre[64], suf[64];
    int n_pre = 0, n_suf = 0;
    size_t a = 0, b = n, last = (size_t)-1; /* the remaining string is [a, b) */
    while (b > a && b - a != last && n_pre < 63 && n_suf < 63) {
        piece r = {p.s + a, b - a};
        if (exc_find(r.s, r.n)) break;
        last = r.n;
        size_t pl = find_prefix(r);
        if (pl && exc_find(r.s + pl, r.n - pl) && r.n > pl) {
            pre[n_pre++] = (span){at + a, pl};
            a += pl;
            break;
        }
        size_t sl = find_suffix((piece){r.s + pl, r.n - pl});
        if (sl && r.n > sl && exc_find(r.s, r.n - sl)) {
            suf[n_suf++] = (span){at + b - sl, sl};
            b -= sl;
            break;
        }
        if (pl && sl && pl + sl <= r.n) {
            pre[n_pre++] = (span){at + a, pl};
            suf[n_suf++] = (span){at + b - sl, sl};
            a += pl, b -= sl;
        } else if (pl) {
            pre[n_pre++] = (span){at + a, pl};
            a += pl;
        } else if (sl) {
            suf[n_suf++] = (span){at + b - sl, sl};
            b -= sl;
        }
        if (b > a && exc_find(p.s + a, b - a)) break;
    }
    for (int k = 0; k < n_pre; k++) push(t, pre[k].a, pre[k].n);
    if (b > a) {
        piece r = {p.s + a, b - a};
        if ((e = exc_find(r.s, r.n))) {
            push_special(t, at + a, e, r.n);
        } else if (url_match(r)) {
            push(t, at + a, r.n);
        } else {
            size_t start = 0, ia, ib, from = 0;
            while (find_infix(r, from, &ia, &ib)) {
                from = ib;
                if (ia == start) continue; /* an infix at the start stays with what follows */
                push(t, at + a + start, ia - start);
                push(t, at + a + ia, ib - ia);
                start = ib;
            }
            push(t, at + a + start, r.n - start);
        }
    }
    for (int k = n_suf - 1; k >= 0; k--) push(t, suf[k].a, suf[k].n);
}

/* spaCy's outer loop: pieces between spaces; a whitespace run other than one ' ' is a token (the
 * first ' ' of a run is dropped). */
static void split_text(const char *low, size_t n, spans *t) {
    if (!n) return;
    int len;
    size_t start = 0, i = 0;
    int in_ws = fci_cp_is_space(fci_utf8_decode(low, n, &len));
    while (i < n) {
        uint32_t c = fci_utf8_decode(low + i, n - i, &len);
        if (fci_cp_is_space(c) != in_ws) {
            if (start < i) {
                if (in_ws) push(t, start, i - start);
                else split_piece(low, start, i - start, t);
            }
            start = c == ' ' ? i + 1 : i;
            in_ws = !in_ws;
        }
        i += (size_t)len;
    }
    if (start < i) {
        if (in_ws) push(t, start, i - start);
        else split_piece(low, start, i - start, t);
    }
}

/* ---- public ---- */

void fc_tokens_free(fc_tokens *t) {
    if (!t) return;
    free(t->tok);
    *t = (fc_tokens){0};
}

/* The spans of text as n strings in one allocation; fastai's replace_space turns ' ' inside a token
 * (a whitespace token such as "\n ") into U+2581. */
static fc_status pack(const char *text, const spans *t, fc_tokens *out) {
    size_t bytes = t->n * sizeof(char *);
    for (size_t k = 0; k < t->n; k++) {
        bytes += t->v[k].n + 1;
        for (size_t j = 0; j < t->v[k].n; j++) bytes += text[t->v[k].a + j] == ' ' ? 2 : 0;
    }
    char **tok = malloc(bytes ? bytes : 1);
    if (!tok) return fc_fail(FC_ERR_NOMEM, "tokenize: out of memory (%zu bytes for %zu tokens)", bytes, t->n);
    char *w = (char *)(tok + t->n);
    for (size_t k = 0; k < t->n; k++) {
        tok[k] = w;
        for (size_t j = 0; j < t->v[k].n; j++) {
            char c = text[t->v[k].a + j];
            if (c == ' ') memcpy(w, "\xe2\x96\x81", 3), w += 3;
            else *w++ = c;
        }
        *w++ = '\0';
    }
    out->n = (int64_t)t->n;
    out->tok = tok;
    return FC_OK;
}

fc_status fc_tokenize_(const char *text, fc_tokens *out, const fc_tokenize_opts *o) {
    static const fc_tokenize_opts none = {0};
    if (!o) o = &none;
    if (!out) return fc_fail(FC_ERR_ARG, "tokenize: expected an output fc_tokens, found NULL");
    *out = (fc_tokens){0};
    if (!text) return fc_fail(FC_ERR_ARG, "tokenize: expected a text, found NULL");
    pthread_once(&excs_once, excs_init);
    char *s = fci_text_rules(text, o);
    if (!s) return FC_ERR_NOMEM;
    size_t n = strlen(s);
    char *low = s;
    if (o->no_lower) { /* decisions on a lowercase copy (same offsets), tokens cut from the text */
        low = malloc(n + 1);
        if (!low) {
            free(s);
            return fc_fail(FC_ERR_NOMEM, "tokenize: out of memory (%zu bytes)", n + 1);
        }
        memcpy(low, s, n + 1);
        fci_utf8_lower_inplace(low, n);
    }
    spans t = {0};
    split_text(low, n, &t);
    fc_status st = t.oom ? fc_fail(FC_ERR_NOMEM, "tokenize: out of memory (%zu tokens)", t.n) : pack(s, &t, out);
    free(t.v);
    if (low != s) free(low);
    free(s);
    return st;
}

/* ---- documents in parallel ---- */

typedef struct tok_job {
    const char *const *texts;
    fc_tokens *out;
    int64_t n;
    const fc_tokenize_opts *o;
    pthread_mutex_t mu;
    int64_t next;          /* the next document to take                          */
    int64_t failed;        /* lowest failing document, n when none                */
    fc_status code;
    char msg[512];
} tok_job;

enum { DOCS_PER_TAKE = 16 };

static void *tok_worker(void *arg) {
    tok_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int64_t a = j->next, b = a + DOCS_PER_TAKE < j->n ? a + DOCS_PER_TAKE : j->n;
        j->next = b;
        int stop = j->failed < j->n;
        pthread_mutex_unlock(&j->mu);
        if (a >= j->n || stop) return NULL;
        for (int64_t i = a; i < b; i++) {
            fc_status st = fc_tokenize_(j->texts[i], &j->out[i], j->o);
            if (st == FC_OK) continue;
            /* errors are thread-local: carry the message to the caller's thread */
            pthread_mutex_lock(&j->mu);
            if (i < j->failed) {
                j->failed = i, j->code = st;
                snprintf(j->msg, sizeof j->msg, "%s", fc_error_message());
            }
            pthread_mutex_unlock(&j->mu);
            fc_error_clear();
            return NULL;
        }
    }
}

fc_status fc_tokenize_docs_(const char *const *texts, int64_t n, fc_tokens *out, const fc_tokenize_opts *o) {
    static const fc_tokenize_opts none = {0};
    if (!o) o = &none;
    if (n < 0) return fc_fail(FC_ERR_ARG, "tokenize_docs: expected n >= 0, found %lld", (long long)n);
    if (n > 0 && (!texts || !out))
        return fc_fail(FC_ERR_ARG, "tokenize_docs: expected texts and out arrays, found NULL");
    if (o->n_threads < 0)
        return fc_fail(FC_ERR_ARG, "tokenize_docs: .n_threads must be >= 0, found %d", o->n_threads);
    for (int64_t i = 0; i < n; i++) out[i] = (fc_tokens){0};
    for (int64_t i = 0; i < n; i++)
        if (!texts[i]) return fc_fail(FC_ERR_ARG, "tokenize_docs: texts[%lld] is NULL", (long long)i);
    int n_threads = o->n_threads ? o->n_threads : fc_num_threads();
    if (n_threads < 1) n_threads = 1;
    if ((int64_t)n_threads > (n + DOCS_PER_TAKE - 1) / DOCS_PER_TAKE) n_threads = (int)((n + DOCS_PER_TAKE - 1) / DOCS_PER_TAKE);
    if (n_threads < 1) n_threads = 1;
    pthread_once(&excs_once, excs_init);
    tok_job j = {.texts = texts, .out = out, .n = n, .o = o, .failed = n};
    pthread_mutex_init(&j.mu, NULL);
    pthread_t *th = n_threads > 1 ? calloc((size_t)n_threads - 1, sizeof *th) : NULL;
    int started = 0;
    for (int k = 0; th && k < n_threads - 1; k++, started++)
        if (pthread_create(&th[k], NULL, tok_worker, &j) != 0) break; /* fewer threads, same result */
    tok_worker(&j);
    for (int k = 0; k < started; k++) pthread_join(th[k], NULL);
    free(th);
    pthread_mutex_destroy(&j.mu);
    if (j.failed < n) {
        for (int64_t i = 0; i < n; i++) fc_tokens_free(&out[i]);
        return fc_fail(j.code, "tokenize_docs: document %lld: %s", (long long)j.failed, j.msg);
    }
    return FC_OK;
}
