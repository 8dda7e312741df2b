/* Checks on exported learner files shared by the export tests (export_checks.h). */
#include "export_checks.h"

#include <stdlib.h>
#include <string.h>

#include "fct.h"

size_t fct_fcm_export_bytes(fc_learner *learn, const char *path, unsigned char **out) {
    *out = NULL;
    if (!FCT_OK(fc_learner_export(learn, path))) return 0;
    size_t n = fct_read_file(path, out);
    FCT_TRUE(n > 24);
    return n > 24 ? n : 0;
}

uint64_t fct_fcm_meta_len(const unsigned char *b) {
    uint64_t meta = 0;
    for (int i = 7; i >= 0; i--) meta = meta << 8 | b[16 + i];
    return meta;
}

int fct_fcm_patch(const unsigned char *b, size_t n, const char *from, const char *to, const char *dst) {
    uint64_t meta = fct_fcm_meta_len(b);
    const unsigned char *hit = NULL;
    size_t lf = strlen(from), lt = strlen(to);
    for (size_t i = 24; i + lf <= 24 + meta && !hit; i++)
        if (!memcmp(b + i, from, lf)) hit = b + i;
    unsigned char *c = hit ? malloc(n + lt + 1) : NULL;
    if (!c) return 0;
    size_t at = (size_t)(hit - b);
    memcpy(c, b, at);
    memcpy(c + at, to, lt);
    memcpy(c + at + lt, hit + lf, n - at - lf);
    meta = meta + lt - lf;
    for (int i = 0; i < 8; i++) c[16 + i] = (unsigned char)(meta >> (8 * i));
    fct_write_file(dst, c, n + lt - lf);
    free(c);
    return 1;
}

void fct_fcm_load_fails(const char *file, fc_status code, const char *fragment) {
    fc_learner *l = fc_load_learner(file);
    FCT_NULL(l);
    fc_learner_free(l);
    FCT_TRUE(strstr(fc_error_message(), file) != NULL);
    FCT_ERROR(code, fragment);
}

int fct_fcm_truncations_fail(const unsigned char *b, size_t n, const char *bad, size_t dense, size_t step) {
    uint64_t meta = fct_fcm_meta_len(b);
    int clean = 1;
    for (size_t len = 0; len < n && clean; len += len < 24 + meta + dense ? 1 : step) {
        fct_write_file(bad, b, len);
        fc_learner *l = fc_load_learner(bad);
        clean = !l && fc_error_code() == FC_ERR_FORMAT && strstr(fc_error_message(), bad) != NULL;
        if (!clean) fprintf(stderr, "truncated to %zu of %zu bytes: %s\n", len, n, l ? "loaded" : fc_error_message());
        fc_learner_free(l);
        fc_error_clear();
    }
    return clean;
}
