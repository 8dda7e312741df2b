/* Helpers shared by the text model tests: weights from a fixture, <a, b> losses. */
#ifndef FASTC_TEST_TEXT_MODELS_UTIL_H
#define FASTC_TEST_TEXT_MODELS_UTIL_H

#include <string.h>

#include "fastc/text.h"
#include "fct.h"

/* Copies every tensor of f into the parameter of m with its name; counts a failure for a name m
 * lacks or a shape that differs. Returns the number copied. */
static inline int load_params(fc_module *m, const fct_fixture *f) {
    int n = 0;
    for (int i = 0; i < f->n; i++) {
        fc_tensor *p = fc_module_get(m, f->names[i]);
        if (!fct_check(p && fc_tensor_numel(p) == fc_tensor_numel(f->t[i]), __FILE__, __LINE__,
                       "expected a parameter '%s' of %lld elements", f->names[i],
                       (long long)fc_tensor_numel(f->t[i])))
            continue;
        memcpy(fc_tensor_data(p), fc_tensor_data(f->t[i]), sizeof(float) * (size_t)fc_tensor_numel(p));
        n++;
    }
    return n;
}

/* Every parameter's .grad against the fixture's "d<name>". */
static inline void check_grads(fc_module *m, const fct_fixture *io, double atol, double rtol) {
    char key[64];
    for (int i = 0, n = fc_module_n_parameters(m); i < n; i++) {
        const char *name;
        fc_tensor *p = fc_module_parameter(m, i, &name);
        snprintf(key, sizeof key, "d%s", name);
        fc_tensor *want = fct_get(io, key), *got = fc_tensor_grad(p);
        if (!fct_check(got != NULL, __FILE__, __LINE__, "expected a gradient for %s", name)) continue;
        if (want && !fct_close(got, want, atol, rtol, key, __FILE__, __LINE__))
            fprintf(stderr, "  (parameter %s)\n", name);
    }
}

static inline fc_tensor *dot(fc_tensor *a, fc_tensor *b) { return fc_sum(fc_mul(a, b), FC_ALL_DIMS, 0); }

/* The dropouts off (each probability negative means none). */
#define NO_DROPOUT .embed_p = -1, .input_p = -1, .hidden_p = -1, .weight_p = -1, .output_p = -1

#endif
