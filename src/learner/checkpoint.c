/* Checkpoints: one file with the weights, the optimizer state, the epochs done and the global RNG.
 * Format (little endian): "FCLK", u32 version 1, i32 epochs done, u64 RNG seed, u64 RNG offset,
 * u64 n_model, the model as a safetensors file (n_model bytes), u64 n_opt, the optimizer state
 * file (n_opt bytes, 0: none), u64 FNV-1a of everything before it. The parts reuse
 * fc_module_save/load and fc_optimizer_state_save/load through temporary files, so each part keeps
 * its own checks. Load checks the container (size, checksum) before touching anything; then loads
 * the weights (all-or-nothing), then the optimizer state (all-or-nothing), and if that fails puts
 * the previous weights back, so a failed load leaves the learner as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/core_impl.h"
#include "learner_impl.h"

#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME 1099511628211ull
#define HEADER 36 /* magic, version, epoch, seed, offset, n_model */

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

/* A fresh temporary path (the file exists, empty) in $TMPDIR or /tmp. */
static fc_status tmp_path(char *buf, size_t n, const char *what) {
    const char *dir = getenv("TMPDIR");
    snprintf(buf, n, "%s/fastc_%s_XXXXXX", dir && *dir ? dir : "/tmp", what);
    int fd = mkstemp(buf);
    if (fd < 0) return fc_fail(FC_ERR_IO, "learner: cannot create a temporary file '%s': %s", buf, strerror(errno));
    close(fd);
    return FC_OK;
}

static fc_status read_all(const char *fn, const char *path, unsigned char **data, size_t *n) {
    *data = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return fc_fail(FC_ERR_IO, "%s: cannot open '%s': %s", fn, path, strerror(errno));
    fc_status st = FC_OK;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0)
        st = fc_fail(FC_ERR_IO, "%s: cannot read '%s': %s", fn, path, strerror(errno));
    else if (!(*data = malloc(len ? (size_t)len : 1)))
        st = fc_fail(FC_ERR_NOMEM, "%s: out of memory (%ld bytes)", fn, len);
    else if (fread(*data, 1, (size_t)len, f) != (size_t)len)
        st = fc_fail(FC_ERR_IO, "%s: cannot read '%s': %s", fn, path, strerror(errno));
    fclose(f);
    if (st != FC_OK) {
        free(*data);
        *data = NULL;
    } else {
        *n = (size_t)len;
    }
    return st;
}

/* Writes data to path atomically: path.tmp.<pid>, fsync, rename. */
static fc_status write_atomic(const char *fn, const char *path, const unsigned char *data, size_t n) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return fc_fail(FC_ERR_IO, "%s: cannot open '%s': %s", fn, tmp, strerror(errno));
    fc_status st = FC_OK;
    if (n && fwrite(data, 1, n, f) != n) st = fc_fail(FC_ERR_IO, "%s: cannot write '%s': %s", fn, tmp, strerror(errno));
    if (st == FC_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        st = fc_fail(FC_ERR_IO, "%s: cannot flush '%s': %s", fn, tmp, strerror(errno));
    if (fclose(f) != 0 && st == FC_OK) st = fc_fail(FC_ERR_IO, "%s: cannot close '%s': %s", fn, tmp, strerror(errno));
    if (st == FC_OK && rename(tmp, path) != 0)
        st = fc_fail(FC_ERR_IO, "%s: cannot rename '%s' to '%s': %s", fn, tmp, path, strerror(errno));
    if (st != FC_OK) remove(tmp);
    return st;
}

/* The bytes fc_module_save / fc_optimizer_state_save write. */
static fc_status part_bytes(fc_learner *learn, int opt, unsigned char **data, size_t *n) {
    char tmp[4200];
    fc_status st = tmp_path(tmp, sizeof tmp, opt ? "opt" : "model");
    if (st != FC_OK) return st;
    st = opt ? fc_optimizer_state_save(learn->opt, tmp) : fc_module_save(learn->model, tmp);
    if (st == FC_OK) st = read_all("learner_save", tmp, data, n);
    remove(tmp);
    return st;
}

static void put(unsigned char **w, const void *p, size_t n) {
    memcpy(*w, p, n);
    *w += n;
}

fc_status fci_learner_snapshot(fc_learner *learn, unsigned char **data, size_t *n) {
    unsigned char *model = NULL, *opt = NULL;
    size_t n_model = 0, n_opt = 0;
    fc_status st = part_bytes(learn, 0, &model, &n_model);
    if (st == FC_OK && learn->opt) st = part_bytes(learn, 1, &opt, &n_opt);
    *data = NULL;
    if (st == FC_OK) {
        *n = HEADER + n_model + 8 + n_opt + 8;
        *data = malloc(*n);
        if (!*data) st = fc_fail(FC_ERR_NOMEM, "learner_save: out of memory (%zu bytes)", *n);
    }
    if (st == FC_OK) {
        unsigned char *w = *data;
        uint32_t version = 1;
        int32_t epoch = learn->epochs_done;
        uint64_t seed, offset, nm = n_model, no = n_opt;
        fci_rng_get_state(&seed, &offset);
        put(&w, "FCLK", 4);
        put(&w, &version, 4);
        put(&w, &epoch, 4);
        put(&w, &seed, 8);
        put(&w, &offset, 8);
        put(&w, &nm, 8);
        put(&w, model, n_model);
        put(&w, &no, 8);
        if (n_opt) put(&w, opt, n_opt);
        uint64_t sum = fnv(FNV_OFFSET, *data, *n - 8);
        put(&w, &sum, 8);
    }
    free(model);
    free(opt);
    return st;
}

static fc_status write_part(const char *path, const unsigned char *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return fc_fail(FC_ERR_IO, "learner_load: cannot open '%s': %s", path, strerror(errno));
    size_t w = fwrite(p, 1, n, f);
    int c = fclose(f);
    if (w != n || c != 0) return fc_fail(FC_ERR_IO, "learner_load: cannot write '%s': %s", path, strerror(errno));
    return FC_OK;
}

/* The container's checks: magic, version, sizes, checksum. */
static fc_status check_container(const unsigned char *d, size_t n, const char *name, size_t *n_model, size_t *n_opt) {
    if (n < 4 || memcmp(d, "FCLK", 4) != 0)
        return fc_fail(FC_ERR_FORMAT, "learner_load: '%s' is not a fastc checkpoint (no FCLK header)", name);
    if (n < HEADER + 16)
        return fc_fail(FC_ERR_FORMAT, "learner_load: '%s' is truncated (%zu bytes, the header alone is %d)", name, n,
                       HEADER + 16);
    uint32_t version;
    uint64_t nm, no = 0;
    memcpy(&version, d + 4, 4);
    if (version != 1) return fc_fail(FC_ERR_FORMAT, "learner_load: '%s': expected version 1, found %u", name, version);
    memcpy(&nm, d + HEADER - 8, 8);
    if (nm > n - HEADER - 16)
        return fc_fail(FC_ERR_FORMAT, "learner_load: '%s' is truncated or corrupt (%zu bytes, the weights alone claim %llu)",
                       name, n, (unsigned long long)nm);
    memcpy(&no, d + HEADER + nm, 8);
    size_t want = HEADER + (size_t)nm + 8 + 8;
    if (no > n - want || want + no != n)
        return fc_fail(FC_ERR_FORMAT, "learner_load: '%s' is %s (%zu bytes, expected %llu)", name,
                       want + no > n ? "truncated" : "corrupt: wrong size", n, (unsigned long long)(want + no));
    uint64_t sum;
    memcpy(&sum, d + n - 8, 8);
    if (sum != fnv(FNV_OFFSET, d, n - 8))
        return fc_fail(FC_ERR_FORMAT, "learner_load: '%s' is corrupt (checksum mismatch)", name);
    *n_model = (size_t)nm;
    *n_opt = (size_t)no;
    return FC_OK;
}

fc_status fci_learner_restore(fc_learner *learn, const unsigned char *d, size_t n, const char *name, int restore_rng) {
    size_t n_model = 0, n_opt = 0;
    fc_status st = check_container(d, n, name, &n_model, &n_opt);
    if (st != FC_OK) return st;
    char mpath[4200], opath[4200], backup[4200];
    int created_opt = 0, have_o = 0, have_b = 0;
    st = tmp_path(mpath, sizeof mpath, "model");
    if (st != FC_OK) return st;
    st = write_part(mpath, d + HEADER, n_model);
    if (st == FC_OK && n_opt) {
        st = tmp_path(opath, sizeof opath, "opt");
        have_o = st == FC_OK;
        if (st == FC_OK) st = write_part(opath, d + HEADER + n_model + 8, n_opt);
        if (st == FC_OK && !learn->opt) {
            created_opt = 1;
            st = fci_learner_ensure_opt(learn);
        }
        if (st == FC_OK) st = tmp_path(backup, sizeof backup, "backup");
        have_b = st == FC_OK;
        if (st == FC_OK) st = fc_module_save(learn->model, backup);
    }
    if (st == FC_OK) st = fc_module_load(learn->model, mpath);
    if (st == FC_OK && n_opt) {
        st = fc_optimizer_state_load(learn->opt, opath);
        if (st != FC_OK) {
            fc_status keep = fc_error_code();
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", fc_error_message());
            fc_error_clear();
            if (fc_module_load(learn->model, backup) != FC_OK) fc_error_clear(); /* the same shapes: cannot fail */
            fc_fail(keep, "%s", msg);
        }
    }
    if (st != FC_OK && created_opt) {
        fc_optimizer_free(learn->opt);
        learn->opt = NULL;
    }
    if (st == FC_OK) {
        int32_t epoch;
        uint64_t seed, offset;
        memcpy(&epoch, d + 8, 4);
        memcpy(&seed, d + 12, 8);
        memcpy(&offset, d + 20, 8);
        learn->epochs_done = epoch;
        if (restore_rng) { /* a load (lr_find's own snapshot keeps the RNG and saved_epoch) */
            learn->saved_epoch = epoch;
            fci_rng_set_state(seed, offset);
        }
    } else {
        fci_error_prefix("learner_load: '%s': ", name);
    }
    remove(mpath);
    if (have_o) remove(opath);
    if (have_b) remove(backup);
    return st;
}

fc_status fc_learner_save(fc_learner *learn, const char *path) {
    if (!learn || !path)
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "learner_save: NULL learner or path");
    if (fci_dist_rank() > 0) return FC_OK; /* data-parallel: only rank 0 writes (h-mpi) */
    unsigned char *d = NULL;
    size_t n = 0;
    fc_status st = fci_learner_snapshot(learn, &d, &n);
    if (st == FC_OK) st = write_atomic("learner_save", path, d, n);
    free(d);
    return st;
}

fc_status fc_learner_load(fc_learner *learn, const char *path) {
    if (!learn || !path)
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "learner_load: NULL learner or path");
    /* between batches (a saver's after_fit, as fastai's SaveModelCallback) is fine */
    if (learn->has_batch) return fc_fail(FC_ERR_STATE, "learner_load: cannot load during a batch");
    unsigned char *d = NULL;
    size_t n = 0;
    fc_status st = read_all("learner_load", path, &d, &n);
    if (st == FC_OK) st = fci_learner_restore(learn, d, n, path, 1);
    free(d);
    return st;
}
