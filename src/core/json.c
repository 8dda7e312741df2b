/* A small JSON reader and writer (RFC 8259): enough for safetensors headers and exported learners'
 * metadata. The reader builds a tree, checks every byte it is given and never reads past len. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_impl.h"

/* ---- writing ---- */

void fci_sb_put(fci_sbuf *b, const char *s, size_t len) {
    if (b->failed) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            fc_fail(FC_ERR_NOMEM, "json: out of memory building a text of %zu bytes", cap);
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = 0;
}

void fci_sb_puts(fci_sbuf *b, const char *s) { fci_sb_put(b, s, strlen(s)); }

void fci_sb_printf(fci_sbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (len < 0) return;
    if ((size_t)len < sizeof tmp) {
        fci_sb_put(b, tmp, (size_t)len);
        return;
    }
    char *big = malloc((size_t)len + 1);
    if (!big) {
        b->failed = 1;
        fc_fail(FC_ERR_NOMEM, "json: out of memory (%d bytes)", len);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)len + 1, fmt, ap);
    va_end(ap);
    fci_sb_put(b, big, (size_t)len);
    free(big);
}

void fci_sb_json_string(fci_sbuf *b, const char *s) {
    fci_sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fci_sb_put(b, "\\", 1);
            fci_sb_put(b, s, 1);
        } else if (c < 0x20) {
            fci_sb_printf(b, "\\u%04x", c);
        } else {
            fci_sb_put(b, s, 1);
        }
    }
    fci_sb_put(b, "\"", 1);
}

void fci_sb_json_number(fci_sbuf *b, double v) {
    if (!isfinite(v)) fci_sb_puts(b, "null");
    else fci_sb_printf(b, "%.17g", v);
}

/* ---- reading ---- */

typedef struct reader {
    const char *p, *start, *end;
    const char *who, *name;
    fc_status st;
} reader;

static int rfail(reader *r, const char *expected) {
    if (r->st == FC_OK) {
        char found[16];
        size_t k = 0;
        for (const char *c = r->p; c < r->end && k < 12; c++) found[k++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
        found[k] = 0;
        r->st = fc_fail(FC_ERR_FORMAT, "%s: '%s': invalid JSON at byte %ld: expected %s, found '%s'", r->who,
                        r->name, (long)(r->p - r->start), expected, r->p < r->end ? found : "(end)");
    }
    return 0;
}

static void ws(reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int lit(reader *r, char c) {
    ws(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return 1;
    }
    return 0;
}

static int hex4(const char *c, unsigned *v) {
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char h = c[k];
        unsigned d = h >= '0' && h <= '9' ? (unsigned)(h - '0') : h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10)
                   : h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10) : 16u;
        if (d == 16) return 0;
        *v = *v * 16 + d;
    }
    return 1;
}

/* A string literal into a new buffer; \u escapes to UTF-8 (a lone surrogate is kept as 3 bytes). */
static int rstring(reader *r, char **out) {
    ws(r);
    if (r->p >= r->end || *r->p != '"') return rfail(r, "a string");
    const char *s = ++r->p;
    while (r->p < r->end && *r->p != '"') {
        if ((unsigned char)*r->p < 0x20) return rfail(r, "no control character in a string");
        r->p += (*r->p == '\\') ? 2 : 1;
    }
    if (r->p >= r->end) {
        r->p = r->end;
        return rfail(r, "the end of a string");
    }
    char *d = malloc((size_t)(r->p - s) + 1), *q = d;
    if (!d) {
        if (r->st == FC_OK) r->st = fc_fail(FC_ERR_NOMEM, "%s: out of memory reading '%s'", r->who, r->name);
        return 0;
    }
    for (const char *c = s; c < r->p; c++) {
        if (*c != '\\') {
            *q++ = *c;
            continue;
        }
        c++;
        switch (*c) {
        case 'n': *q++ = '\n'; break;
        case 't': *q++ = '\t'; break;
        case 'r': *q++ = '\r'; break;
        case 'b': *q++ = '\b'; break;
        case 'f': *q++ = '\f'; break;
        case '"': case '\\': case '/': *q++ = *c; break;
        case 'u': {
            unsigned v;
            if (r->p - c < 5 || !hex4(c + 1, &v)) {
                free(d);
                r->p = c;
                return rfail(r, "4 hex digits after \\u");
            }
            c += 4;
            if (v == 0) v = 0xFFFD; /* strings are C strings: no NUL inside */
            if (v < 0x80) *q++ = (char)v;
            else if (v < 0x800) *q++ = (char)(0xC0 | v >> 6), *q++ = (char)(0x80 | (v & 63));
            else *q++ = (char)(0xE0 | v >> 12), *q++ = (char)(0x80 | ((v >> 6) & 63)), *q++ = (char)(0x80 | (v & 63));
            break;
        }
        default:
            free(d);
            r->p = c;
            return rfail(r, "an escape (\\n \\t \\r \\b \\f \\\" \\\\ \\/ \\u)");
        }
    }
    *q = 0;
    r->p++;
    *out = d;
    return 1;
}

static int rnumber(reader *r, double *out) {
    const char *s = r->p;
    char buf[64];
    size_t k = 0;
    while (r->p < r->end && (strchr("+-.eE", *r->p) || (*r->p >= '0' && *r->p <= '9'))) {
        if (k + 1 >= sizeof buf) return rfail(r, "a number of at most 63 characters");
        buf[k++] = *r->p++;
    }
    buf[k] = 0;
    char *e = NULL;
    errno = 0;
    double v = k ? strtod(buf, &e) : 0;
    if (!k || *e || !isfinite(v)) {
        r->p = s;
        return rfail(r, "a number");
    }
    *out = v;
    return 1;
}

static int rvalue(reader *r, fci_json *v, int depth);

static int grow(reader *r, fci_json *v, int64_t *cap, int with_keys) {
    if (v->n < *cap) return 1;
    int64_t c = *cap ? 2 * *cap : 4;
    fci_json *items = realloc(v->items, (size_t)c * sizeof *items);
    if (items) v->items = items;
    char **keys = with_keys && items ? realloc(v->keys, (size_t)c * sizeof *keys) : NULL;
    if (keys) v->keys = keys;
    if (!items || (with_keys && !keys)) {
        if (r->st == FC_OK) r->st = fc_fail(FC_ERR_NOMEM, "%s: out of memory reading '%s'", r->who, r->name);
        return 0;
    }
    *cap = c;
    return 1;
}

static int rcontainer(reader *r, fci_json *v, int depth, int object) {
    char close = object ? '}' : ']';
    int64_t cap = 0;
    v->type = object ? FCI_JSON_OBJECT : FCI_JSON_ARRAY;
    r->p++;
    if (lit(r, close)) return 1;
    do {
        if (!grow(r, v, &cap, object)) return 0;
        char *key = NULL;
        if (object && (!rstring(r, &key) || !(lit(r, ':') || rfail(r, "':'")))) {
            free(key);
            return 0;
        }
        if (object) v->keys[v->n] = key;
        v->items[v->n] = (fci_json){0};
        v->n++;
        if (!rvalue(r, &v->items[v->n - 1], depth + 1)) return 0;
    } while (lit(r, ','));
    return lit(r, close) || rfail(r, object ? "',' or '}'" : "',' or ']'");
}

static int rword(reader *r, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(r->end - r->p) >= n && !memcmp(r->p, w, n)) {
        r->p += n;
        return 1;
    }
    return 0;
}

static int rvalue(reader *r, fci_json *v, int depth) {
    ws(r);
    if (depth > 64) return rfail(r, "nesting at most 64 deep");
    if (r->p >= r->end) return rfail(r, "a value");
    char c = *r->p;
    if (c == '{' || c == '[') return rcontainer(r, v, depth, c == '{');
    if (c == '"') {
        v->type = FCI_JSON_STRING;
        return rstring(r, &v->str);
    }
    if (rword(r, "true")) return v->type = FCI_JSON_BOOL, v->num = 1, 1;
    if (rword(r, "false")) return v->type = FCI_JSON_BOOL, v->num = 0, 1;
    if (rword(r, "null")) return v->type = FCI_JSON_NULL, 1;
    v->type = FCI_JSON_NUMBER;
    return rnumber(r, &v->num);
}

fc_status fci_json_parse(const char *text, size_t len, const char *who, const char *name, fci_json *out) {
    *out = (fci_json){0};
    reader r = {text, text, text + len, who, name, FC_OK};
    if (rvalue(&r, out, 0)) {
        ws(&r);
        if (r.p != r.end) rfail(&r, "the end of the text");
    }
    if (r.st != FC_OK) {
        fci_json_free(out);
        return r.st;
    }
    return FC_OK;
}

void fci_json_free(fci_json *j) {
    if (!j) return;
    for (int64_t i = 0; i < j->n; i++) {
        if (j->keys) free(j->keys[i]);
        if (j->items) fci_json_free(&j->items[i]);
    }
    free(j->keys);
    free(j->items);
    free(j->str);
    *j = (fci_json){0};
}

const fci_json *fci_json_get(const fci_json *j, const char *key) {
    if (!j || j->type != FCI_JSON_OBJECT) return NULL;
    for (int64_t i = 0; i < j->n; i++)
        if (j->keys[i] && !strcmp(j->keys[i], key)) return &j->items[i];
    return NULL;
}

int fci_json_num(const fci_json *j, const char *key, double *out) {
    const fci_json *v = fci_json_get(j, key);
    if (!v || (v->type != FCI_JSON_NUMBER && v->type != FCI_JSON_BOOL)) return 0;
    *out = v->num;
    return 1;
}

const char *fci_json_str(const fci_json *j, const char *key) {
    const fci_json *v = fci_json_get(j, key);
    return v && v->type == FCI_JSON_STRING ? v->str : NULL;
}

fc_status fci_json_write(fci_sbuf *b, const fci_json *j) {
    switch (j->type) {
    case FCI_JSON_NULL: fci_sb_puts(b, "null"); break;
    case FCI_JSON_BOOL: fci_sb_puts(b, j->num ? "true" : "false"); break;
    case FCI_JSON_NUMBER: fci_sb_json_number(b, j->num); break;
    case FCI_JSON_STRING: fci_sb_json_string(b, j->str); break;
    case FCI_JSON_ARRAY:
    case FCI_JSON_OBJECT:
        fci_sb_puts(b, j->type == FCI_JSON_ARRAY ? "[" : "{");
        for (int64_t i = 0; i < j->n; i++) {
            if (i) fci_sb_puts(b, ",");
            if (j->type == FCI_JSON_OBJECT) {
                fci_sb_json_string(b, j->keys[i]);
                fci_sb_puts(b, ":");
            }
            fci_json_write(b, &j->items[i]);
        }
        fci_sb_puts(b, j->type == FCI_JSON_ARRAY ? "]" : "}");
        break;
    }
    return b->failed ? fc_error_code() : FC_OK;
}

/* ---- typed members for export configs ---- */

int fci_json_int(const fci_json *j, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    double v;
    if (!fci_json_num(j, key, &v) || v != floor(v) || v < (double)lo || v > (double)hi) {
        fc_fail(FC_ERR_FORMAT, "expected '%s' to be an integer in [%lld, %lld]", key, (long long)lo, (long long)hi);
        return 0;
    }
    *out = (int64_t)v;
    return 1;
}

int fci_json_real(const fci_json *j, const char *key, double lo, double hi, double *out) {
    double v;
    if (!fci_json_num(j, key, &v) || !(v >= lo && v <= hi)) {
        fc_fail(FC_ERR_FORMAT, "expected '%s' to be a number in [%g, %g]", key, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

/* The array member key with a length that fits, or NULL with the error naming what was expected. */
static const fci_json *array_of(const fci_json *j, const char *key, int64_t n_exact, int64_t max_n,
                                const char *what) {
    const fci_json *a = fci_json_get(j, key);
    if (a && a->type == FCI_JSON_ARRAY && (n_exact >= 0 ? a->n == n_exact : a->n <= max_n)) return a;
    if (n_exact >= 0)
        fc_fail(FC_ERR_FORMAT, "expected '%s' to be an array of %lld %s", key, (long long)n_exact, what);
    else
        fc_fail(FC_ERR_FORMAT, "expected '%s' to be an array of at most %lld %s", key, (long long)max_n, what);
    return NULL;
}

int64_t *fci_json_ints_new(const fci_json *j, const char *key, int64_t lo, int64_t hi, int64_t n_exact,
                           int64_t max_n, int64_t *n) {
    const fci_json *a = array_of(j, key, n_exact, max_n, "integers");
    int64_t *out = a ? malloc(((size_t)a->n + 1) * sizeof *out) : NULL;
    if (a && !out) fc_fail(FC_ERR_NOMEM, "json: out of memory");
    for (int64_t i = 0; out && i < a->n; i++) {
        const fci_json *v = &a->items[i];
        if (v->type != FCI_JSON_NUMBER || v->num != floor(v->num) || v->num < (double)lo || v->num > (double)hi) {
            fc_fail(FC_ERR_FORMAT, "expected '%s' to hold integers in [%lld, %lld], found a bad item at %lld", key,
                    (long long)lo, (long long)hi, (long long)i);
            free(out);
            return NULL;
        }
        out[i] = (int64_t)v->num;
    }
    if (out) *n = a->n;
    return out;
}

double *fci_json_reals_new(const fci_json *j, const char *key, int64_t n_exact, int64_t max_n, int64_t *n) {
    const fci_json *a = array_of(j, key, n_exact, max_n, "numbers");
    double *out = a ? malloc(((size_t)a->n + 1) * sizeof *out) : NULL;
    if (a && !out) fc_fail(FC_ERR_NOMEM, "json: out of memory");
    for (int64_t i = 0; out && i < a->n; i++) {
        const fci_json *v = &a->items[i];
        if (v->type != FCI_JSON_NUMBER && v->type != FCI_JSON_NULL) {
            fc_fail(FC_ERR_FORMAT, "expected '%s' to hold numbers, found another value at %lld", key, (long long)i);
            free(out);
            return NULL;
        }
        out[i] = v->type == FCI_JSON_NULL ? NAN : v->num;
    }
    if (out) *n = a->n;
    return out;
}

void fci_json_strs_free(char **s, int64_t n) {
    for (int64_t i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

char **fci_json_strs_new(const fci_json *j, const char *key, int64_t n_exact, int64_t max_n, int64_t *n) {
    const fci_json *a = array_of(j, key, n_exact, max_n, "strings");
    char **out = a ? calloc((size_t)a->n + 1, sizeof *out) : NULL;
    if (a && !out) fc_fail(FC_ERR_NOMEM, "json: out of memory");
    for (int64_t i = 0; out && i < a->n; i++) {
        const fci_json *v = &a->items[i];
        if (v->type != FCI_JSON_STRING) {
            fc_fail(FC_ERR_FORMAT, "expected '%s' to hold strings, found another value at %lld", key, (long long)i);
        } else if ((out[i] = strdup(v->str))) {
            continue;
        } else {
            fc_fail(FC_ERR_NOMEM, "json: out of memory");
        }
        fci_json_strs_free(out, i);
        return NULL;
    }
    if (out) *n = a->n;
    return out;
}
