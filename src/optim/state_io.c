/* Optimizer state on disk. Format (little endian, the host's floats):
 *   "FCOS", u32 version 1, then the optimizer record, then u64 FNV-1a of everything before it.
 *   record: u32 kind, u32 n_groups, u32 n_params;
 *           per group: f64 lr, mom, sqr_mom, eps, wd; i32 decouple_wd, nesterov, centered;
 *           lookahead only: i64 count, i32 k, f64 alpha;
 *           per parameter: i64 numel, i64 step, u32 buffer mask, then numel f32 per buffer in mask;
 *           lookahead only: the inner optimizer's record.
 * Save writes a temporary file, fsyncs and renames it over path. Load reads the whole file, checks
 * it against the optimizer in a first pass (allocating missing buffers, which start at zero and so
 * change nothing), then copies in a second pass (that fails only when a device copy does). State
 * on a CUDA device is copied to the host to be written and back when read: a file does not say
 * where the state lived, so it loads onto whatever device the parameters are on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/core_impl.h"
#include "optim_impl.h"
#if FASTC_CUDA
#include "../core/cuda_impl.h"
#endif

fc_status fci_optim_ensure_bufs(fci_pstate *ps, unsigned mask);

#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * FNV_PRIME;
    return h;
}

typedef struct writer {
    FILE *f;
    const char *tmp;
    uint64_t h;
    fc_status st;
} writer;

static void put(writer *w, const void *p, size_t n) {
    if (w->st != FC_OK || n == 0) return;
    w->h = fnv(w->h, p, n);
    if (fwrite(p, 1, n, w->f) != n)
        w->st = fc_fail(FC_ERR_IO, "optimizer_state_save: cannot write '%s': %s", w->tmp, strerror(errno));
}
#define PUT(w, type, v) do { type put_v = (v); put((w), &put_v, sizeof put_v); } while (0)

/* One state buffer (numel floats): device buffers go through a host copy. */
static void put_buf(writer *w, const fci_pstate *ps, const float *buf) {
    size_t nb = (size_t)ps->numel * sizeof(float);
#if FASTC_CUDA
    if (ps->buf_device.type == FC_DEVICE_CUDA && nb > 0) {
        if (w->st != FC_OK) return;
        float *h = malloc(nb);
        if (!h) {
            w->st = fc_fail(FC_ERR_NOMEM, "optimizer_state_save: out of memory (%zu bytes)", nb);
            return;
        }
        fc_status st = fci_cuda_d2h(ps->buf_device.index, h, buf, nb);
        if (st != FC_OK) w->st = st;
        else put(w, h, nb);
        free(h);
        return;
    }
#endif
    put(w, buf, nb);
}

static void put_record(writer *w, const fc_optimizer *o) {
    PUT(w, uint32_t, (uint32_t)o->kind);
    PUT(w, uint32_t, (uint32_t)o->n_groups);
    PUT(w, uint32_t, (uint32_t)o->n_params);
    for (int i = 0; i < o->n_groups; i++) {
        const fci_hp *h = &o->hp[i];
        double d[5] = {h->lr, h->mom, h->sqr_mom, h->eps, h->wd};
        int32_t f[3] = {h->decouple_wd, h->nesterov, h->centered};
        put(w, d, sizeof d);
        put(w, f, sizeof f);
    }
    if (o->kind == FCI_OPT_LOOKAHEAD) {
        PUT(w, int64_t, o->count);
        PUT(w, int32_t, o->k);
        PUT(w, double, o->alpha);
    }
    for (int i = 0; i < o->n_params; i++) {
        const fci_pstate *ps = &o->ps[i];
        uint32_t mask = 0;
        for (int b = 0; b < FCI_OPT_MAX_BUFS; b++) mask |= ps->buf[b] ? 1u << b : 0u;
        PUT(w, int64_t, ps->numel);
        PUT(w, int64_t, ps->step);
        PUT(w, uint32_t, mask);
        for (int b = 0; b < FCI_OPT_MAX_BUFS; b++)
            if (ps->buf[b]) put_buf(w, ps, ps->buf[b]);
    }
    if (o->inner) put_record(w, o->inner);
}

fc_status fc_optimizer_state_save(const fc_optimizer *opt, const char *path) {
    if (!opt || !path)
        return fc_error_code() != FC_OK ? fc_error_code()
                                        : fc_fail(FC_ERR_ARG, "optimizer_state_save: NULL optimizer or path");
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp) return fc_fail(FC_ERR_NOMEM, "optimizer_state_save: out of memory (%zu bytes)", n);
    snprintf(tmp, n, "%s.tmp", path);
    writer w = {.f = fopen(tmp, "wb"), .tmp = tmp, .h = FNV_OFFSET};
    if (!w.f) {
        fc_status st = fc_fail(FC_ERR_IO, "optimizer_state_save: cannot open '%s': %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    put(&w, "FCOS", 4);
    PUT(&w, uint32_t, 1);
    put_record(&w, opt);
    uint64_t sum = w.h;
    if (w.st == FC_OK && fwrite(&sum, 1, 8, w.f) != 8)
        w.st = fc_fail(FC_ERR_IO, "optimizer_state_save: cannot write '%s': %s", tmp, strerror(errno));
    if (w.st == FC_OK && (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0))
        w.st = fc_fail(FC_ERR_IO, "optimizer_state_save: cannot flush '%s': %s", tmp, strerror(errno));
    if (fclose(w.f) != 0 && w.st == FC_OK)
        w.st = fc_fail(FC_ERR_IO, "optimizer_state_save: cannot close '%s': %s", tmp, strerror(errno));
    if (w.st == FC_OK && rename(tmp, path) != 0)
        w.st = fc_fail(FC_ERR_IO, "optimizer_state_save: cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (w.st != FC_OK) remove(tmp);
    free(tmp);
    return w.st;
}

/* ---- load ---- */

typedef struct reader {
    const unsigned char *p;
    size_t n, at;
    const char *path;
    int apply; /* 0: check, 1: copy in */
} reader;

static fc_status get(reader *r, void *dst, size_t n) {
    if (n > r->n - r->at)
        return fc_fail(FC_ERR_FORMAT, "optimizer_state_load: '%s' is truncated (byte %zu, %zu more expected)", r->path,
                       r->at, n);
    if (dst) memcpy(dst, r->p + r->at, n);
    r->at += n;
    return FC_OK;
}

static fc_status bad(const reader *r, fc_status code, const char *what, long long want, long long found) {
    return fc_fail(code, "optimizer_state_load: '%s': expected %s %lld, found %lld", r->path, what, want, found);
}

static const char *const kind_names[] = {"?", "sgd", "adam", "rmsprop", "lamb", "radam", "lookahead"};

static fc_status get_record(reader *r, fc_optimizer *o) {
    uint32_t kind = 0, ng = 0, np = 0;
    fc_status st;
    if ((st = get(r, &kind, 4)) || (st = get(r, &ng, 4)) || (st = get(r, &np, 4))) return st;
    if (kind != (uint32_t)o->kind)
        return fc_fail(FC_ERR_FORMAT, "optimizer_state_load: '%s' holds a %s state, the optimizer is %s", r->path,
                       kind >= 1 && kind <= 6 ? kind_names[kind] : "unknown", o->name);
    if (ng != (uint32_t)o->n_groups) return bad(r, FC_ERR_SHAPE, "parameter groups:", o->n_groups, ng);
    if (np != (uint32_t)o->n_params) return bad(r, FC_ERR_SHAPE, "parameters:", o->n_params, np);
    for (int i = 0; i < o->n_groups; i++) {
        double d[5];
        int32_t f[3];
        if ((st = get(r, d, sizeof d)) || (st = get(r, f, sizeof f))) return st;
        for (int j = 0; j < 5; j++)
            if (!(d[j] >= 0 && d[j] < 1e30))
                return fc_fail(FC_ERR_FORMAT, "optimizer_state_load: '%s': group %d hyper-parameter %d is %g", r->path,
                               i, j, d[j]);
        if (r->apply)
            o->hp[i] = (fci_hp){d[0], d[1], d[2], d[3], d[4], f[0], f[1], f[2]};
    }
    if (o->kind == FCI_OPT_LOOKAHEAD) {
        int64_t count = 0;
        int32_t k = 0;
        double alpha = 0;
        if ((st = get(r, &count, 8)) || (st = get(r, &k, 4)) || (st = get(r, &alpha, 8))) return st;
        if (count < 0 || k < 1 || !(alpha > 0 && alpha <= 1))
            return fc_fail(FC_ERR_FORMAT, "optimizer_state_load: '%s': bad lookahead count %lld, k %d, alpha %g",
                           r->path, (long long)count, k, alpha);
        if (r->apply) {
            o->count = count;
            o->k = k;
            o->alpha = alpha;
        }
    }
    for (int i = 0; i < o->n_params; i++) {
        fci_pstate *ps = &o->ps[i];
        int64_t numel = 0, step = 0;
        uint32_t mask = 0;
        if ((st = get(r, &numel, 8)) || (st = get(r, &step, 8)) || (st = get(r, &mask, 4))) return st;
        if (numel != ps->numel) {
            return fc_fail(FC_ERR_SHAPE, "optimizer_state_load: '%s': parameter %d: expected %lld elements, found %lld",
                           r->path, i, (long long)ps->numel, (long long)numel);
        }
        if (step < 0 || mask >> FCI_OPT_MAX_BUFS)
            return fc_fail(FC_ERR_FORMAT, "optimizer_state_load: '%s': parameter %d: bad step %lld or buffer mask %u",
                           r->path, i, (long long)step, mask);
        if (!r->apply && (st = fci_optim_ensure_bufs(ps, mask))) return st;
        for (int b = 0; b < FCI_OPT_MAX_BUFS; b++) {
            size_t nb = (size_t)numel * sizeof(float);
#if FASTC_CUDA
            if (r->apply && ps->buf[b] && ps->buf_device.type == FC_DEVICE_CUDA) { /* device state: copied in */
                if (mask >> b & 1u) {
                    size_t at = r->at;
                    if ((st = get(r, NULL, nb))) return st;
                    if (nb && (st = fci_cuda_h2d(ps->buf_device.index, ps->buf[b], r->p + at, nb))) return st;
                } else if (nb && (st = fci_cuda_memset0(ps->buf_device.index, ps->buf[b], nb))) {
                    return st;
                }
                continue;
            }
#endif
            if (mask >> b & 1u) {
                if ((st = get(r, r->apply ? ps->buf[b] : NULL, nb))) return st;
            } else if (r->apply && ps->buf[b]) {
                memset(ps->buf[b], 0, nb); /* zero is the same as absent */
            }
        }
        if (r->apply) ps->step = step;
    }
    return o->inner ? get_record(r, o->inner) : FC_OK;
}

static fc_status read_file(const char *path, unsigned char **data, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return fc_fail(FC_ERR_IO, "optimizer_state_load: cannot open '%s': %s", path, strerror(errno));
    fc_status st = FC_OK;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = fc_fail(FC_ERR_IO, "optimizer_state_load: cannot read '%s': %s", path, strerror(errno));
    } else if (!(*data = malloc(len ? (size_t)len : 1))) {
        st = fc_fail(FC_ERR_NOMEM, "optimizer_state_load: out of memory (%ld bytes)", len);
    } else if (fread(*data, 1, (size_t)len, f) != (size_t)len) {
        st = fc_fail(FC_ERR_IO, "optimizer_state_load: cannot read '%s': %s", path, strerror(errno));
        free(*data);
        *data = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return st;
}

fc_status fc_optimizer_state_load(fc_optimizer *opt, const char *path) {
    if (!opt || !path)
        return fc_error_code() != FC_OK ? fc_error_code()
                                        : fc_fail(FC_ERR_ARG, "optimizer_state_load: NULL optimizer or path");
    unsigned char *data = NULL;
    size_t n = 0;
    fc_status st = read_file(path, &data, &n);
    if (st != FC_OK) return st;
    uint64_t sum;
    uint32_t version;
    if (n < 16 || memcmp(data, "FCOS", 4) != 0) {
        st = fc_fail(FC_ERR_FORMAT, "optimizer_state_load: '%s' is not an optimizer state (no FCOS header)", path);
    } else if (memcpy(&sum, data + n - 8, 8), sum != fnv(FNV_OFFSET, data, n - 8)) {
        st = fc_fail(FC_ERR_FORMAT, "optimizer_state_load: '%s' is corrupt (checksum mismatch)", path);
    } else if (memcpy(&version, data + 4, 4), version != 1) {
        st = fc_fail(FC_ERR_FORMAT, "optimizer_state_load: '%s': expected version 1, found %u", path, version);
    }
    for (int apply = 0; apply < 2 && st == FC_OK; apply++) {
        reader r = {data, n - 8, 8, path, apply};
        st = get_record(&r, opt);
        if (st == FC_OK && r.at != r.n)
            st = fc_fail(FC_ERR_FORMAT, "optimizer_state_load: '%s': %zu unexpected bytes after the state", path,
                         r.n - r.at);
    }
    free(data);
    return st;
}
