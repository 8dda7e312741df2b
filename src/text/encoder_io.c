/* fastai's save_encoder / load_encoder: the AWD_LSTM's weights with the vocabulary they were
 * trained on, so a classifier can check it reads the same token ids.
 *
 * File layout (little-endian): "FCENC01\n", u64 n_tokens, u64 vocab_bytes, the tokens each as a
 * u32 byte length and its UTF-8 bytes (a token may be "\n": fastai keeps newlines as tokens),
 * u64 weights_bytes, then the encoder's weights as a safetensors file (fc_module_save's,
 * names as fastai's AWD_LSTM state_dict: encoder.weight, rnns.0.weight_hh_l0_raw, ...), so the
 * weights part can be cut out and read by any safetensors reader. Written atomically; loading
 * checks the vocabulary and then the weights (fc_module_load checks names, dtypes and shapes)
 * before touching the model. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlearn_impl.h"

static const char MAGIC[8] = {'F', 'C', 'E', 'N', 'C', '0', '1', '\n'};

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Reads a whole file into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *len, const char *who) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fc_fail(FC_ERR_IO, "%s: cannot open '%s': %s", who, path, strerror(errno));
        return NULL;
    }
    unsigned char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fc_fail(FC_ERR_IO, "%s: cannot read '%s'", who, path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) *len = (size_t)n;
    return buf;
}

static fc_status write_all(FILE *f, const void *p, size_t n, const char *tmp) {
    if (n && fwrite(p, 1, n, f) != n) return fc_fail(FC_ERR_IO, "save_encoder: cannot write '%s': %s", tmp, strerror(errno));
    return FC_OK;
}

static fc_status write_file(const char *path, const fc_vocab *vocab, const unsigned char *st, size_t st_len) {
    int64_t nv = fc_vocab_len(vocab);
    size_t vbytes = 0;
    for (int64_t i = 0; i < nv; i++) vbytes += 4 + strlen(fc_vocab_token(vocab, i));
    size_t plen = strlen(path);
    char *tmp = fci_calloc(plen + 8, 1);
    if (!tmp) return fc_error_code();
    snprintf(tmp, plen + 8, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    fc_status st_ = f ? FC_OK : fc_fail(FC_ERR_IO, "save_encoder: cannot create '%s': %s", tmp, strerror(errno));
    unsigned char head[24];
    memcpy(head, MAGIC, 8);
    put_u64(head + 8, (uint64_t)nv);
    put_u64(head + 16, (uint64_t)vbytes);
    if (st_ == FC_OK) st_ = write_all(f, head, sizeof head, tmp);
    for (int64_t i = 0; i < nv && st_ == FC_OK; i++) {
        const char *t = fc_vocab_token(vocab, i);
        size_t len = strlen(t);
        unsigned char l4[4] = {(unsigned char)len, (unsigned char)(len >> 8), (unsigned char)(len >> 16),
                               (unsigned char)(len >> 24)};
        st_ = write_all(f, l4, 4, tmp);
        if (st_ == FC_OK) st_ = write_all(f, t, len, tmp);
    }
    unsigned char wl[8];
    put_u64(wl, (uint64_t)st_len);
    if (st_ == FC_OK) st_ = write_all(f, wl, 8, tmp);
    if (st_ == FC_OK) st_ = write_all(f, st, st_len, tmp);
    if (st_ == FC_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        st_ = fc_fail(FC_ERR_IO, "save_encoder: cannot flush '%s': %s", tmp, strerror(errno));
    if (f && fclose(f) != 0 && st_ == FC_OK) st_ = fc_fail(FC_ERR_IO, "save_encoder: cannot close '%s'", tmp);
    if (st_ == FC_OK && rename(tmp, path) != 0)
        st_ = fc_fail(FC_ERR_IO, "save_encoder: cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (st_ != FC_OK) remove(tmp);
    fci_free(tmp);
    return st_;
}

fc_status fc_learner_save_encoder(fc_learner *learn, const char *path) {
    if (!learn || !path) return fc_fail(FC_ERR_ARG, "save_encoder: expected a learner and a path, found NULL");
    const fc_vocab *vocab = fc_text_dls_vocab(fc_learner_dls(learn));
    if (!vocab) return fc_error_code();
    fc_module *awd = fci_find_awd_lstm(fc_learner_model(learn), "save_encoder", NULL);
    if (!awd) return fc_error_code();
    /* the weights go through fc_module_save (one safetensors writer), then into the one file */
    size_t plen = strlen(path);
    char *wpath = fci_calloc(plen + 16, 1);
    if (!wpath) return fc_error_code();
    snprintf(wpath, plen + 16, "%s.weights.tmp", path);
    fc_status st = fc_module_save(awd, wpath);
    size_t len = 0;
    unsigned char *w = st == FC_OK ? slurp(wpath, &len, "save_encoder") : NULL;
    if (st == FC_OK && !w) st = fc_error_code();
    remove(wpath);
    if (st == FC_OK) st = write_file(path, vocab, w, len);
    free(w);
    fci_free(wpath);
    return st;
}

int fci_is_encoder_file(const char *path) {
    char head[8];
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return 0;
    int ok = fread(head, 1, 8, f) == 8 && memcmp(head, MAGIC, 8) == 0;
    fclose(f);
    return ok;
}

/* Compares the file's tokens (n length-prefixed strings in p[vbytes]) with vocab's. */
static fc_status check_vocab(const unsigned char *p, size_t vbytes, uint64_t n, const fc_vocab *vocab, const char *path,
                             const char *who) {
    if ((int64_t)n != fc_vocab_len(vocab))
        return fc_fail(FC_ERR_ARG, "%s: '%s' was trained on a vocabulary of %llu tokens, the data's has %lld", who, path,
                       (unsigned long long)n, (long long)fc_vocab_len(vocab));
    size_t at = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t len = at + 4 <= vbytes ? (size_t)p[at] | (size_t)p[at + 1] << 8 | (size_t)p[at + 2] << 16 | (size_t)p[at + 3] << 24 : 0;
        if (at + 4 > vbytes || len > vbytes - at - 4)
            return fc_fail(FC_ERR_FORMAT, "%s: '%s' is corrupt: its vocabulary ends at token %llu of %llu", who, path,
                           (unsigned long long)i, (unsigned long long)n);
        at += 4;
        const char *t = fc_vocab_token(vocab, (int64_t)i);
        if (strlen(t) != len || memcmp(t, p + at, len) != 0)
            return fc_fail(FC_ERR_ARG, "%s: '%s' was trained on another vocabulary: token %llu is '%.*s', the data's is '%s'",
                           who, path, (unsigned long long)i, (int)(len > 40 ? 40 : len), (const char *)p + at, t);
        at += len;
    }
    return FC_OK;
}

/* The vocabulary an encoder file was trained on (new), read from its header (h-textreal). */
fc_vocab *fci_encoder_file_vocab(const char *path, const char *who) {
    size_t len = 0;
    unsigned char *buf = path ? slurp(path, &len, who) : NULL;
    if (!buf) {
        if (!path) fc_fail(FC_ERR_ARG, "%s: expected an encoder file path, found NULL", who);
        return NULL;
    }
    fc_vocab *v = NULL;
    uint64_t n = 0, vbytes = 0;
    if (len < 24 || memcmp(buf, MAGIC, 8) != 0) {
        fc_fail(FC_ERR_FORMAT, "%s: '%s' is not an encoder file (fc_learner_save_encoder's): no FCENC01 header", who, path);
    } else if ((n = get_u64(buf + 8), vbytes = get_u64(buf + 16)) > len - 24 || n > vbytes / 4) {
        fc_fail(FC_ERR_FORMAT, "%s: '%s' is truncated (in its vocabulary)", who, path);
    } else {
        char **toks = fci_calloc((size_t)(n ? n : 1), sizeof *toks);
        size_t at = 24, end = 24 + (size_t)vbytes;
        uint64_t i = 0;
        for (; toks && i < n; i++) {
            size_t tl = at + 4 <= end ? (size_t)buf[at] | (size_t)buf[at + 1] << 8 | (size_t)buf[at + 2] << 16 |
                                            (size_t)buf[at + 3] << 24
                                      : 0;
            if (at + 4 > end || tl > end - at - 4) break;
            toks[i] = fci_calloc(tl + 1, 1);
            if (!toks[i]) break;
            memcpy(toks[i], buf + at + 4, tl);
            at += 4 + tl;
        }
        if (toks && i == n) v = fc_vocab_new((const char *const *)toks, (int64_t)n);
        else if (toks && fc_error_code() == FC_OK)
            fc_fail(FC_ERR_FORMAT, "%s: '%s' is corrupt: its vocabulary ends at token %llu of %llu", who, path,
                    (unsigned long long)i, (unsigned long long)n);
        for (uint64_t j = 0; toks && j < n; j++) fci_free(toks[j]);
        fci_free(toks);
    }
    free(buf);
    return v;
}

fc_status fci_load_encoder_into(fc_module *awd, const fc_vocab *vocab, const char *path, const char *who) {
    if (!awd || !path) return fc_fail(FC_ERR_ARG, "%s: expected an encoder and a path, found NULL", who);
    size_t len = 0;
    unsigned char *buf = slurp(path, &len, who);
    if (!buf) return fc_error_code();
    fc_status st = FC_OK;
    uint64_t n = 0, vbytes = 0, wbytes = 0;
    if (len < 24 || memcmp(buf, MAGIC, 8) != 0)
        st = fc_fail(FC_ERR_FORMAT, "%s: '%s' is not an encoder file (fc_learner_save_encoder's): no FCENC01 header", who, path);
    if (st == FC_OK) {
        n = get_u64(buf + 8), vbytes = get_u64(buf + 16);
        if (vbytes > len - 24 || len - 24 - vbytes < 8) st = fc_fail(FC_ERR_FORMAT, "%s: '%s' is truncated (in its vocabulary)", who, path);
    }
    if (st == FC_OK) {
        wbytes = get_u64(buf + 24 + vbytes);
        if (wbytes != len - 32 - vbytes)
            st = fc_fail(FC_ERR_FORMAT, "%s: '%s' is truncated or corrupt: expected %llu bytes of weights, found %llu", who,
                         path, (unsigned long long)wbytes, (unsigned long long)(len - 32 - vbytes));
    }
    if (st == FC_OK && vocab) st = check_vocab(buf + 24, (size_t)vbytes, n, vocab, path, who);
    char tmp[] = "/tmp/fastc_encoder_XXXXXX";
    int fd = -1;
    if (st == FC_OK && (fd = mkstemp(tmp)) < 0) st = fc_fail(FC_ERR_IO, "%s: cannot create a temporary file: %s", who, strerror(errno));
    if (st == FC_OK) {
        const unsigned char *w = buf + 32 + vbytes;
        size_t done = 0;
        while (done < wbytes) {
            ssize_t k = write(fd, w + done, (size_t)(wbytes - done));
            if (k <= 0) break;
            done += (size_t)k;
        }
        if (done != wbytes) st = fc_fail(FC_ERR_IO, "%s: cannot write a temporary file: %s", who, strerror(errno));
    }
    if (fd >= 0) close(fd);
    /* fc_module_load checks every name, dtype and shape before copying: awd is unchanged on failure */
    if (st == FC_OK && (st = fc_module_load(awd, tmp)) != FC_OK) {
        /* fc_module_load names the scratch copy: name the encoder file too (h-textreal) */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", fc_error_message());
        fc_error_clear();
        st = fc_fail(st, "%s: the weights of '%s' do not fit the model (%s)", who, path, msg);
    }
    if (fd >= 0) unlink(tmp);
    free(buf);
    return st;
}

fc_status fc_learner_load_encoder(fc_learner *learn, const char *path) {
    if (!learn || !path) return fc_fail(FC_ERR_ARG, "load_encoder: expected a learner and a path, found NULL");
    const fc_vocab *vocab = fc_text_dls_vocab(fc_learner_dls(learn));
    if (!vocab) return fc_error_code();
    fc_module *awd = fci_find_awd_lstm(fc_learner_model(learn), "load_encoder", NULL);
    if (!awd) return fc_error_code();
    fc_status st = fci_load_encoder_into(awd, vocab, path, "load_encoder");
    /* fastai's load_encoder freezes: the new head trains first (ULMFiT's gradual unfreezing) */
    if (st == FC_OK) st = fc_learner_freeze(learn);
    return st;
}
